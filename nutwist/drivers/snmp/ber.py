"""A small BER codec for SNMP v1/v2c messages (RFC 1157, RFC 3416).

Only what SNMP needs: one-byte tags, definite lengths, INTEGER, OCTET STRING,
NULL, OBJECT IDENTIFIER, the application types (IpAddress, Counter32, Gauge32,
TimeTicks, Opaque, Counter64) and the v2c exceptions.  Decoding never trusts a
length: anything malformed or truncated raises :class:`BerError`, and nothing
else.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

# universal and application tags
INTEGER = 0x02
OCTET_STRING = 0x04
NULL = 0x05
OBJECT_ID = 0x06
SEQUENCE = 0x30
IP_ADDRESS = 0x40
COUNTER32 = 0x41
GAUGE32 = 0x42
TIMETICKS = 0x43
OPAQUE = 0x44
COUNTER64 = 0x46
# v2c exceptions in a varbind
NO_SUCH_OBJECT = 0x80
NO_SUCH_INSTANCE = 0x81
END_OF_MIB_VIEW = 0x82
EXCEPTIONS = frozenset({NO_SUCH_OBJECT, NO_SUCH_INSTANCE, END_OF_MIB_VIEW})
# PDU types
GET = 0xA0
GETNEXT = 0xA1
RESPONSE = 0xA2
SET = 0xA3
TRAP_V1 = 0xA4
GETBULK = 0xA5
INFORM = 0xA6
TRAP_V2 = 0xA7
REPORT = 0xA8
PDU_TYPES = frozenset({GET, GETNEXT, RESPONSE, SET, GETBULK, INFORM, TRAP_V2, REPORT})

INTEGER_TYPES = frozenset({INTEGER, COUNTER32, GAUGE32, TIMETICKS, COUNTER64})

# error-status values
NO_ERROR = 0
TOO_BIG = 1
NO_SUCH_NAME = 2
BAD_VALUE = 3
READ_ONLY = 4
GEN_ERR = 5
NOT_WRITABLE = 17

V1 = 0
V2C = 1
V3 = 3

OID = tuple[int, ...]
Value = tuple[int, object]  # (tag, int | bytes | OID | None)


class BerError(ValueError):
    """A message that is not well-formed BER/SNMP."""


@dataclass
class Pdu:
    type: int
    request_id: int
    error_status: int
    error_index: int
    varbinds: list[tuple[OID, Value]]


@dataclass
class Message:
    version: int
    community: bytes
    pdu: Pdu


# --- OIDs --------------------------------------------------------------------------


def parse_oid(text: str) -> OID:
    """'.1.3.6.1' or '1.3.6.1' -> (1, 3, 6, 1); ValueError on anything else."""
    parts = text.strip().lstrip(".").split(".")
    oid = tuple(int(p) for p in parts)
    if len(oid) < 2 or any(p < 0 for p in oid):
        raise ValueError(f"not an OID: {text!r}")
    return oid


def format_oid(oid: OID) -> str:
    return "." + ".".join(str(p) for p in oid)


# --- encoding --------------------------------------------------------------------


def _length(n: int) -> bytes:
    if n < 0x80:
        return bytes((n,))
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(body),)) + body


def tlv(tag: int, body: bytes) -> bytes:
    return bytes((tag,)) + _length(len(body)) + body


def _int_body(v: int) -> bytes:
    n = (v.bit_length() + 8) // 8  # room for the sign bit
    return v.to_bytes(n, "big", signed=True)


def _uint_body(v: int) -> bytes:
    body = _int_body(v)
    return body


@lru_cache(maxsize=1 << 16)
def _oid_body(oid: OID) -> bytes:
    if len(oid) < 2:
        raise ValueError("an OID needs two arcs")
    out = bytearray()
    first = oid[0] * 40 + oid[1]
    for arc in (first, *oid[2:]):
        if arc < 0:
            raise ValueError("negative OID arc")
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        out.extend(reversed(chunk))
    return bytes(out)


def encode_value(value: Value) -> bytes:
    tag, v = value
    if tag in (INTEGER,):
        assert isinstance(v, int)
        return tlv(tag, _int_body(v))
    if tag in (COUNTER32, GAUGE32, TIMETICKS, COUNTER64):
        assert isinstance(v, int)
        return tlv(tag, _uint_body(v))
    if tag in (OCTET_STRING, IP_ADDRESS, OPAQUE):
        assert isinstance(v, bytes | bytearray)
        return tlv(tag, bytes(v))
    if tag == OBJECT_ID:
        assert isinstance(v, tuple)
        return tlv(tag, _oid_body(v))
    if tag in (NULL, NO_SUCH_OBJECT, NO_SUCH_INSTANCE, END_OF_MIB_VIEW):
        return tlv(tag, b"")
    raise ValueError(f"cannot encode tag 0x{tag:02x}")


def encode_pdu(pdu: Pdu) -> bytes:
    binds = b"".join(
        tlv(SEQUENCE, tlv(OBJECT_ID, _oid_body(oid)) + encode_value(val))
        for oid, val in pdu.varbinds
    )
    body = (
        tlv(INTEGER, _int_body(pdu.request_id))
        + tlv(INTEGER, _int_body(pdu.error_status))
        + tlv(INTEGER, _int_body(pdu.error_index))
        + tlv(SEQUENCE, binds)
    )
    return tlv(pdu.type, body)


def encode_message(msg: Message) -> bytes:
    return tlv(
        SEQUENCE,
        tlv(INTEGER, _int_body(msg.version))
        + tlv(OCTET_STRING, msg.community)
        + encode_pdu(msg.pdu),
    )


# --- decoding --------------------------------------------------------------------


def read_tlv(data: bytes, pos: int, end: int) -> tuple[int, int, int]:
    """The tag at ``pos`` and the [start, stop) of its contents, all within ``end``."""
    if pos + 2 > end:
        raise BerError("truncated header")
    tag = data[pos]
    if tag & 0x1F == 0x1F:
        raise BerError("multi-byte tags are not SNMP")
    first = data[pos + 1]
    pos += 2
    if first < 0x80:
        length = first
    elif first == 0x80:
        raise BerError("indefinite length")
    else:
        n = first & 0x7F
        if n > 4 or pos + n > end:
            raise BerError("bad length")
        length = int.from_bytes(data[pos : pos + n], "big")
        pos += n
    if pos + length > end:
        raise BerError("truncated contents")
    return tag, pos, pos + length


def _expect(data: bytes, pos: int, end: int, tag: int) -> tuple[int, int]:
    t, start, stop = read_tlv(data, pos, end)
    if t != tag:
        raise BerError(f"expected tag 0x{tag:02x}, got 0x{t:02x}")
    return start, stop


def decode_int(body: bytes) -> int:
    if not body or len(body) > 9:
        raise BerError("bad integer length")
    return int.from_bytes(body, "big", signed=True)


@lru_cache(maxsize=1 << 16)
def decode_oid(body: bytes) -> OID:
    if not body or len(body) > 512:
        raise BerError("bad OID length")
    arcs: list[int] = []
    arc = 0
    started = False
    for b in body:
        if not started and b == 0x80:
            raise BerError("OID arc with a leading zero byte")
        arc = (arc << 7) | (b & 0x7F)
        started = True
        if not b & 0x80:
            arcs.append(arc)
            arc = 0
            started = False
    if started:
        raise BerError("truncated OID arc")
    first = arcs[0]
    head = (first // 40, first % 40) if first < 80 else (2, first - 80)
    return (*head, *arcs[1:])


def decode_value(tag: int, body: bytes) -> Value:
    if tag == INTEGER:
        return tag, decode_int(body)
    if tag in (COUNTER32, GAUGE32, TIMETICKS):
        v = decode_int(body)
        return tag, v & 0xFFFFFFFF
    if tag == COUNTER64:
        v = decode_int(body)
        return tag, v & 0xFFFFFFFFFFFFFFFF
    if tag in (OCTET_STRING, IP_ADDRESS, OPAQUE):
        return tag, bytes(body)
    if tag == OBJECT_ID:
        return tag, decode_oid(body)
    if tag in (NULL, NO_SUCH_OBJECT, NO_SUCH_INSTANCE, END_OF_MIB_VIEW):
        return tag, None
    raise BerError(f"unknown value tag 0x{tag:02x}")


def decode_pdu(data: bytes, pos: int, end: int) -> Pdu:
    ptype, start, stop = read_tlv(data, pos, end)
    if ptype not in PDU_TYPES:
        raise BerError(f"unknown PDU type 0x{ptype:02x}")
    s, e = _expect(data, start, stop, INTEGER)
    request_id = decode_int(data[s:e])
    s2, e2 = _expect(data, e, stop, INTEGER)
    error_status = decode_int(data[s2:e2])
    s3, e3 = _expect(data, e2, stop, INTEGER)
    error_index = decode_int(data[s3:e3])
    vs, ve = _expect(data, e3, stop, SEQUENCE)
    varbinds: list[tuple[OID, Value]] = []
    p = vs
    while p < ve:
        bs, be = _expect(data, p, ve, SEQUENCE)
        os_, oe = _expect(data, bs, be, OBJECT_ID)
        oid = decode_oid(data[os_:oe])
        vtag, vs2, ve2 = read_tlv(data, oe, be)
        if ve2 != be:
            raise BerError("trailing bytes in a varbind")
        varbinds.append((oid, decode_value(vtag, data[vs2:ve2])))
        p = be
    return Pdu(ptype, request_id, error_status, error_index, varbinds)


def decode_message(data: bytes) -> Message:
    """A v1/v2c message; BerError for anything else (v3 included)."""
    try:
        s, e = _expect(data, 0, len(data), SEQUENCE)
        vs, ve = _expect(data, s, e, INTEGER)
        version = decode_int(data[vs:ve])
        if version not in (V1, V2C):
            raise BerError(f"SNMP version {version} is not v1/v2c")
        cs, ce = _expect(data, ve, e, OCTET_STRING)
        community = bytes(data[cs:ce])
        pdu = decode_pdu(data, ce, e)
    except (IndexError, ValueError) as exc:  # BerError is a ValueError
        if isinstance(exc, BerError):
            raise
        raise BerError(str(exc)) from None
    return Message(version, community, pdu)


def message_version(data: bytes) -> int | None:
    """The version field of a message, or None if it is not readable."""
    try:
        s, e = _expect(data, 0, len(data), SEQUENCE)
        vs, ve = _expect(data, s, e, INTEGER)
        return decode_int(data[vs:ve])
    except (BerError, IndexError):
        return None
