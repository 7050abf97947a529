"""SNMPv3 with the User-based Security Model (RFC 3414, RFC 3826, RFC 7860).

What NUT 2.8.0's snmp-ups offers: ``secLevel`` noAuthNoPriv, authNoPriv or
authPriv; ``authProtocol`` MD5, SHA, SHA256, SHA384, SHA512 (HMAC, truncated
as the RFCs say); ``privProtocol`` DES (CBC) and AES (128-bit CFB), and
AES192/AES256 with keys extended as Net-SNMP extends them.  Keys come from the
pass phrases by the RFC 3414 password-to-key algorithm, localized to the
agent's engine ID, which the manager discovers with an unauthenticated probe.

Used by both ends: the driver's sessions and the simulated agent.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import struct
from dataclasses import dataclass
from functools import lru_cache

from cryptography.hazmat.primitives.ciphers import Cipher, modes
from cryptography.hazmat.primitives.ciphers.algorithms import AES

try:  # CFB and single-DES live among the "decrepit" primitives of newer cryptography
    from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
    from cryptography.hazmat.decrepit.ciphers.modes import CFB
except ImportError:  # pragma: no cover - older cryptography
    from cryptography.hazmat.primitives.ciphers.algorithms import (  # type: ignore[no-redef,unused-ignore]
        TripleDES,
    )
    from cryptography.hazmat.primitives.ciphers.modes import CFB  # type: ignore[no-redef,unused-ignore]

from nutwist.drivers.snmp import ber
from nutwist.drivers.snmp.ber import BerError, Pdu

AUTH = {  # name: (hash, MAC length)
    "MD5": ("md5", 12),
    "SHA": ("sha1", 12),
    "SHA256": ("sha256", 24),
    "SHA384": ("sha384", 32),
    "SHA512": ("sha512", 48),
}
PRIV_KEY_LEN = {"DES": 16, "AES": 16, "AES192": 24, "AES256": 32}
FLAG_AUTH, FLAG_PRIV, FLAG_REPORTABLE = 0x01, 0x02, 0x04
LEVELS = {"noAuthNoPriv": 0, "authNoPriv": FLAG_AUTH, "authPriv": FLAG_AUTH | FLAG_PRIV}
USM = 3
USM_STATS = (1, 3, 6, 1, 6, 3, 15, 1, 1)
NOT_IN_TIME_WINDOW = (*USM_STATS, 2, 0)
UNKNOWN_ENGINE_ID = (*USM_STATS, 4, 0)
MAX_SIZE = 65507


@lru_cache(maxsize=256)
def password_to_key(password: str, auth: str) -> bytes:
    """RFC 3414 A.2: hash one megabyte of the repeated pass phrase."""
    pw = password.encode("utf-8")
    if not pw:
        raise ValueError("empty pass phrase")
    n = 1048576
    return hashlib.new(AUTH[auth][0], (pw * (n // len(pw) + 1))[:n]).digest()


def localize(key: bytes, engine_id: bytes, auth: str) -> bytes:
    return hashlib.new(AUTH[auth][0], key + engine_id + key).digest()


def extend_key(key: bytes, need: int, auth: str) -> bytes:
    """Longer privacy keys for AES192/256, as Net-SNMP grows them: append the hash
    of everything so far until it is long enough."""
    out = key
    while len(out) < need:
        out += hashlib.new(AUTH[auth][0], out).digest()
    return out[:need]


@dataclass
class User:
    name: str
    level: int = 0
    auth: str = "MD5"
    priv: str = "DES"
    auth_password: str | None = None
    priv_password: str | None = None

    def __post_init__(self) -> None:
        if self.auth not in AUTH:
            raise ValueError(f"Bad SNMPv3 authProtocol: {self.auth}")
        if self.priv not in PRIV_KEY_LEN:
            raise ValueError(f"Bad SNMPv3 privProtocol: {self.priv}")
        self._ku_auth = (
            password_to_key(self.auth_password or "", self.auth) if self.level & FLAG_AUTH else b""
        )
        self._ku_priv = (
            password_to_key(self.priv_password or "", self.auth) if self.level & FLAG_PRIV else b""
        )
        self._keys: dict[bytes, tuple[bytes, bytes]] = {}

    def keys(self, engine_id: bytes) -> tuple[bytes, bytes]:
        """(auth key, priv key) localized to ``engine_id``."""
        found = self._keys.get(engine_id)
        if found is None:
            auth_key = localize(self._ku_auth, engine_id, self.auth) if self._ku_auth else b""
            priv_key = b""
            if self._ku_priv:
                priv_key = extend_key(
                    localize(self._ku_priv, engine_id, self.auth),
                    PRIV_KEY_LEN[self.priv],
                    self.auth,
                )
            found = self._keys[engine_id] = (auth_key, priv_key)
        return found


@dataclass
class V3Message:
    msg_id: int
    flags: int
    engine_id: bytes
    boots: int
    time: int
    user: bytes
    auth_params: bytes
    priv_params: bytes
    context_engine_id: bytes
    pdu: Pdu | None  # None while still encrypted
    encrypted: bytes = b""
    auth_offset: int = -1  # where auth_params sits in the raw message


def _int(v: int) -> bytes:
    return ber.tlv(ber.INTEGER, ber._int_body(v))


def _oct(v: bytes) -> bytes:
    return ber.tlv(ber.OCTET_STRING, v)


def encode(
    msg_id: int,
    flags: int,
    user: User | None,
    user_name: bytes,
    engine_id: bytes,
    boots: int,
    engine_time: int,
    pdu: Pdu,
    salt: int = 0,
) -> bytes:
    """A whole v3 message, encrypted and signed as ``flags`` say."""
    scoped = ber.tlv(ber.SEQUENCE, _oct(engine_id) + _oct(b"") + ber.encode_pdu(pdu))
    priv_params = b""
    if flags & FLAG_PRIV:
        assert user is not None
        _, priv_key = user.keys(engine_id)
        priv_params, data = _encrypt(user.priv, priv_key, boots, engine_time, salt, scoped)
        msg_data = _oct(data)
    else:
        msg_data = scoped
    mac_len = AUTH[user.auth][1] if user is not None and flags & FLAG_AUTH else 0
    marker = os.urandom(mac_len) if mac_len else b""
    sec = ber.tlv(
        ber.SEQUENCE,
        _oct(engine_id)
        + _int(boots)
        + _int(engine_time)
        + _oct(user_name)
        + _oct(marker)
        + _oct(priv_params),
    )
    header = ber.tlv(ber.SEQUENCE, _int(msg_id) + _int(MAX_SIZE) + _oct(bytes([flags])) + _int(USM))
    whole = ber.tlv(ber.SEQUENCE, _int(3) + header + _oct(sec) + msg_data)
    if mac_len:
        assert user is not None
        at = whole.find(marker)
        zeroed = whole[:at] + bytes(mac_len) + whole[at + mac_len :]
        auth_key, _ = user.keys(engine_id)
        mac = hmac.new(auth_key, zeroed, AUTH[user.auth][0]).digest()[:mac_len]
        whole = zeroed[:at] + mac + zeroed[at + mac_len :]
    return whole


def decode(data: bytes) -> V3Message:
    """Parse a v3 message (the PDU stays encrypted when privacy is on)."""
    try:
        s, e = ber._expect(data, 0, len(data), ber.SEQUENCE)
        vs, ve = ber._expect(data, s, e, ber.INTEGER)
        if ber.decode_int(data[vs:ve]) != 3:
            raise BerError("not SNMPv3")
        hs, he = ber._expect(data, ve, e, ber.SEQUENCE)
        a, b = ber._expect(data, hs, he, ber.INTEGER)
        msg_id = ber.decode_int(data[a:b])
        a, b = ber._expect(data, b, he, ber.INTEGER)
        a, b = ber._expect(data, b, he, ber.OCTET_STRING)
        if b - a != 1:
            raise BerError("bad msgFlags")
        flags = data[a]
        a, b = ber._expect(data, b, he, ber.INTEGER)
        if ber.decode_int(data[a:b]) != USM:
            raise BerError("not the USM")
        ss, se = ber._expect(data, he, e, ber.OCTET_STRING)
        qs, qe = ber._expect(data, ss, se, ber.SEQUENCE)
        fields = []
        p = qs
        for tag in (
            ber.OCTET_STRING,
            ber.INTEGER,
            ber.INTEGER,
            ber.OCTET_STRING,
            ber.OCTET_STRING,
            ber.OCTET_STRING,
        ):
            a, b = ber._expect(data, p, qe, tag)
            fields.append((a, b))
            p = b
        engine_id = bytes(data[fields[0][0] : fields[0][1]])
        boots = ber.decode_int(data[fields[1][0] : fields[1][1]])
        etime = ber.decode_int(data[fields[2][0] : fields[2][1]])
        user = bytes(data[fields[3][0] : fields[3][1]])
        auth_params = bytes(data[fields[4][0] : fields[4][1]])
        priv_params = bytes(data[fields[5][0] : fields[5][1]])
        msg = V3Message(
            msg_id, flags, engine_id, boots, etime, user, auth_params, priv_params, b"", None
        )
        msg.auth_offset = fields[4][0]
        if flags & FLAG_PRIV:
            es, ee = ber._expect(data, se, e, ber.OCTET_STRING)
            msg.encrypted = bytes(data[es:ee])
        else:
            msg.context_engine_id, msg.pdu = decode_scoped(data, se, e)
    except (IndexError, ValueError) as exc:
        if isinstance(exc, BerError):
            raise
        raise BerError(str(exc)) from None
    return msg


def decode_scoped(data: bytes, start: int, end: int) -> tuple[bytes, Pdu]:
    s, e = ber._expect(data, start, end, ber.SEQUENCE)
    a, b = ber._expect(data, s, e, ber.OCTET_STRING)
    ctx = bytes(data[a:b])
    _, b = ber._expect(data, b, e, ber.OCTET_STRING)
    return ctx, ber.decode_pdu(data, b, e)


def verify(data: bytes, msg: V3Message, user: User, engine_id: bytes) -> bool:
    mac_len = AUTH[user.auth][1]
    if len(msg.auth_params) != mac_len or msg.auth_offset < 0:
        return False
    at = msg.auth_offset
    zeroed = data[:at] + bytes(mac_len) + data[at + mac_len :]
    auth_key, _ = user.keys(engine_id)
    mac = hmac.new(auth_key, zeroed, AUTH[user.auth][0]).digest()[:mac_len]
    return hmac.compare_digest(mac, msg.auth_params)


def decrypt_pdu(msg: V3Message, user: User, engine_id: bytes) -> None:
    """Fill in ``msg.pdu`` from its encrypted scoped PDU; BerError if it is garbage."""
    _, priv_key = user.keys(engine_id)
    plain = _decrypt(user.priv, priv_key, msg.boots, msg.time, msg.priv_params, msg.encrypted)
    # DES pads to 8 bytes: the scoped PDU's own length tells where it ends
    msg.context_engine_id, msg.pdu = decode_scoped(plain, 0, len(plain))


def _encrypt(
    priv: str, key: bytes, boots: int, etime: int, salt: int, plain: bytes
) -> tuple[bytes, bytes]:
    if priv == "DES":
        salt_b = struct.pack(">II", boots & 0xFFFFFFFF, salt & 0xFFFFFFFF)
        iv = bytes(a ^ b for a, b in zip(key[8:16], salt_b, strict=True))
        padded = plain + bytes(-len(plain) % 8)
        enc = Cipher(TripleDES(key[:8] * 3), modes.CBC(iv)).encryptor()
        return salt_b, enc.update(padded) + enc.finalize()
    salt_b = struct.pack(">Q", salt & 0xFFFFFFFFFFFFFFFF)
    iv = struct.pack(">II", boots & 0xFFFFFFFF, etime & 0xFFFFFFFF) + salt_b
    enc = Cipher(AES(key), CFB(iv)).encryptor()
    return salt_b, enc.update(plain) + enc.finalize()


def _decrypt(priv: str, key: bytes, boots: int, etime: int, salt: bytes, data: bytes) -> bytes:
    if len(salt) != 8:
        raise BerError("bad privacy parameters")
    if priv == "DES":
        if len(data) % 8:
            raise BerError("DES data is not whole blocks")
        iv = bytes(a ^ b for a, b in zip(key[8:16], salt, strict=True))
        dec = Cipher(TripleDES(key[:8] * 3), modes.CBC(iv)).decryptor()
        return dec.update(data) + dec.finalize()
    iv = struct.pack(">II", boots & 0xFFFFFFFF, etime & 0xFFFFFFFF) + salt
    dec = Cipher(AES(key), CFB(iv)).decryptor()
    return dec.update(data) + dec.finalize()


def peek_msg_id(data: bytes) -> int | None:
    """The msgID of a v3 message, to find the request it answers."""
    try:
        s, e = ber._expect(data, 0, len(data), ber.SEQUENCE)
        vs, ve = ber._expect(data, s, e, ber.INTEGER)
        if ber.decode_int(data[vs:ve]) != 3:
            return None
        hs, he = ber._expect(data, ve, e, ber.SEQUENCE)
        a, b = ber._expect(data, hs, he, ber.INTEGER)
        return ber.decode_int(data[a:b])
    except (BerError, IndexError):
        return None
