"""A simulated SNMP v1/v2c agent (standard library only) for tests and benchmarks.

It serves ``.snmprec`` recordings (snmpsim's format: ``oid|tag|value`` lines,
a tag ending in ``x`` means a hex-encoded value) and answers GET, GETNEXT,
GETBULK and SET.  A test changes ``agent.values`` to switch the UPS to battery,
sets ``mute`` to play a dead agent or ``delay`` for a slow one, and reads
``agent.sets`` to see which SETs arrived.  One agent can play many devices:
each community string may map to a recording of its own.

    python -m nutwist.drivers.snmp.simagent FILE.snmprec [--port 1161]
"""

from __future__ import annotations

import bisect
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nutwist.drivers.snmp import ber
from nutwist.drivers.snmp.ber import OID, Value

TAGS = {
    2: ber.INTEGER,
    4: ber.OCTET_STRING,
    5: ber.NULL,
    6: ber.OBJECT_ID,
    64: ber.IP_ADDRESS,
    65: ber.COUNTER32,
    66: ber.GAUGE32,
    67: ber.TIMETICKS,
    68: ber.OPAQUE,
    70: ber.COUNTER64,
}


def parse_snmprec(text: str) -> dict[OID, Value]:
    """The OID -> value map of a recording; bad lines raise ValueError with their number."""
    out: dict[OID, Value] = {}
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        try:
            oid_s, tag_s, value_s = line.split("|", 2)
            hexed = tag_s.endswith("x")
            tag_num = int(tag_s.rstrip("x").split(":")[0])
            tag = TAGS[tag_num]
            oid = ber.parse_oid(oid_s)
            raw_value = bytes.fromhex(value_s) if hexed else value_s.encode("latin-1")
            value: object
            if tag in ber.INTEGER_TYPES:
                value = int(raw_value)
            elif tag == ber.OBJECT_ID:
                value = ber.parse_oid(raw_value.decode())
            elif tag == ber.NULL:
                value = None
            elif tag == ber.IP_ADDRESS and not hexed:
                value = socket.inet_aton(value_s)
            else:
                value = raw_value
        except (ValueError, KeyError) as e:
            raise ValueError(f"line {n}: {e}") from None
        out[oid] = (tag, value)
    return out


def load_snmprec(path: str | Path) -> dict[OID, Value]:
    return parse_snmprec(Path(path).read_text(encoding="latin-1"))


class Mib:
    """One device's values, kept sorted for GETNEXT."""

    def __init__(self, values: dict[OID, Value]) -> None:
        self.values = dict(values)
        self._order: list[OID] = sorted(self.values)
        #: encoded answers to GETs, by the OIDs asked (dropped when a value changes)
        self.answers: dict[tuple[int, tuple[OID, ...]], bytes] = {}

    def set(self, oid: OID, value: Value) -> None:
        if oid not in self.values:
            bisect.insort(self._order, oid)
        self.values[oid] = value
        self.answers.clear()

    def delete(self, oid: OID) -> None:
        if oid in self.values:
            del self.values[oid]
            self._order.remove(oid)
            self.answers.clear()

    def next(self, oid: OID) -> OID | None:
        i = bisect.bisect_right(self._order, oid)
        return self._order[i] if i < len(self._order) else None


class Agent:
    """A UDP agent on a thread of its own; ``start()`` binds, ``stop()`` ends it."""

    def __init__(
        self,
        values: dict[OID, Value] | None = None,
        *,
        community: str = "public",
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.mibs: dict[bytes, Mib] = {}
        if values is not None:
            self.mibs[community.encode()] = Mib(values)
        self.host = host
        self.port = port
        self.mute = False
        self.delay = 0.0
        #: replaces each answer's bytes (fuzzing); None: answer normally
        self.mangle: Callable[[bytes], bytes | None] | None = None
        #: every SET received: (community, oid, value)
        self.sets: list[tuple[bytes, OID, Value]] = []
        self.requests = 0
        self.read_only: set[OID] = set()
        #: SNMPv3 users by name (usm.User), and this agent's engine
        self.users: dict[bytes, Any] = {}
        self.engine_id = b"\x80\x00\x1f\x88\x04nutwist-sim"
        self.boots = 1
        self.started = time.monotonic()
        self._salt = 0
        self.v3_requests = 0
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def mib(self) -> Mib:
        return next(iter(self.mibs.values()))

    @property
    def values(self) -> dict[OID, Value]:
        """The first device's values (read them; change them with set_value/update)."""
        return self.mib.values

    def add_device(self, community: str, values: dict[OID, Value]) -> Mib:
        mib = Mib(values)
        self.mibs[community.encode()] = mib
        return mib

    def set_value(self, oid: str | OID, value: Value, community: str | None = None) -> None:
        key = ber.parse_oid(oid) if isinstance(oid, str) else oid
        mib = self.mibs[community.encode()] if community else self.mib
        with self._lock:
            mib.set(key, value)

    def update(self, changes: dict[str, Value], community: str | None = None) -> None:
        """Change several values at once (no request sees half of the change)."""
        mib = self.mibs[community.encode()] if community else self.mib
        with self._lock:
            for oid, value in changes.items():
                mib.set(ber.parse_oid(oid), value)

    def delete(self, oid: str | OID) -> None:
        key = ber.parse_oid(oid) if isinstance(oid, str) else oid
        with self._lock:
            self.mib.delete(key)

    # --- serving ---------------------------------------------------------------------

    def start(self) -> int:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self._sock.bind((self.host, self.port))
        self.port = self._sock.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, name="snmp-agent", daemon=True)
        self._thread.start()
        return self.port

    def stop(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            try:
                sock.sendto(b"", (self.host, self.port))  # wake the thread up
            except OSError:
                pass
            sock.close()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def _serve(self) -> None:
        sock = self._sock
        assert sock is not None
        while self._sock is not None:
            try:
                data, peer = sock.recvfrom(65535)
            except OSError:
                return
            if self._sock is None:
                return
            answer = self.answer(data)
            if answer is None or self.mute:
                continue
            if self.delay:
                time.sleep(self.delay)
            if self.mangle is not None:
                answer = self.mangle(answer)
                if answer is None:
                    continue
            try:
                sock.sendto(answer, peer)
            except OSError:
                pass

    def add_user(self, user: Any) -> None:
        self.users[user.name.encode()] = user

    def answer(self, data: bytes) -> bytes | None:
        """The response to one request datagram (None: stay silent, as agents do)."""
        if ber.message_version(data) == ber.V3:
            try:
                return self._answer_v3(data)
            except ber.BerError:
                return None
        try:
            msg = ber.decode_message(data)
        except ber.BerError:
            return None
        mib = self.mibs.get(msg.community)
        if mib is None:
            return None
        self.requests += 1
        req = msg.pdu
        key = None
        if req.type == ber.GET:
            key = (msg.version, tuple(oid for oid, _ in req.varbinds))
            cached = mib.answers.get(key)
            if cached is not None:
                return _wrap(msg.version, msg.community, req.request_id, cached)
        with self._lock:
            pdu = self._handle(msg.version, msg.community, mib, req)
        if pdu is None:
            return None
        if key is None:
            return ber.encode_message(ber.Message(msg.version, msg.community, pdu))
        # everything after the request id, kept for the next identical GET
        body = ber.encode_pdu(pdu)
        _, start, _ = ber.read_tlv(body, 0, len(body))
        _, _, rid_end = ber.read_tlv(body, start, len(body))
        rest = body[rid_end:]
        if len(mib.answers) < 4096:
            mib.answers[key] = rest
        return _wrap(msg.version, msg.community, req.request_id, rest)

    def _answer_v3(self, data: bytes) -> bytes | None:
        from nutwist.drivers.snmp import usm

        msg = usm.decode(data)
        now = int(time.monotonic() - self.started)
        mib = next(iter(self.mibs.values()))
        self._salt += 1

        def report(oid: OID, flags: int, user: Any, rid: int) -> bytes:
            pdu = ber.Pdu(ber.REPORT, rid, 0, 0, [(oid, (ber.COUNTER32, 1))])
            return usm.encode(
                msg.msg_id, flags, user, msg.user, self.engine_id, self.boots, now, pdu
            )

        if msg.engine_id != self.engine_id:
            rid = msg.pdu.request_id if msg.pdu is not None else 0
            return report(usm.UNKNOWN_ENGINE_ID, 0, None, rid)
        user = self.users.get(msg.user)
        if user is None:
            return None
        level = msg.flags & (usm.FLAG_AUTH | usm.FLAG_PRIV)
        if level & ~user.level:  # more security than the user has keys for
            return None
        if level & usm.FLAG_AUTH and not usm.verify(data, msg, user, self.engine_id):
            return None
        if level & usm.FLAG_PRIV:
            usm.decrypt_pdu(msg, user, self.engine_id)
        assert msg.pdu is not None
        if level & usm.FLAG_AUTH and (msg.boots != self.boots or abs(msg.time - now) > 150):
            return report(usm.NOT_IN_TIME_WINDOW, usm.FLAG_AUTH, user, msg.pdu.request_id)
        self.requests += 1
        self.v3_requests += 1
        with self._lock:
            pdu = self._handle(ber.V2C, msg.user, mib, msg.pdu)
        if pdu is None:
            return None
        return usm.encode(
            msg.msg_id, level, user, msg.user, self.engine_id, self.boots, now, pdu, self._salt
        )

    def _handle(self, version: int, community: bytes, mib: Mib, req: ber.Pdu) -> ber.Pdu | None:
        v1 = version == ber.V1
        out: list[tuple[OID, Value]] = []

        def fail(status: int, index: int) -> ber.Pdu:
            return ber.Pdu(ber.RESPONSE, req.request_id, status, index, req.varbinds)

        if req.type == ber.GET:
            for i, (oid, _) in enumerate(req.varbinds, 1):
                value = mib.values.get(oid)
                if value is None:
                    if v1:
                        return fail(ber.NO_SUCH_NAME, i)
                    value = (ber.NO_SUCH_INSTANCE, None)
                out.append((oid, value))
        elif req.type in (ber.GETNEXT, ber.GETBULK):
            binds = req.varbinds
            repeat = 1
            if req.type == ber.GETBULK:
                if v1:
                    return None
                nonrep = max(0, req.error_status)
                repeat = max(0, min(req.error_index, 50))
                for oid, _ in binds[:nonrep]:
                    nxt = mib.next(oid)
                    out.append(
                        (oid, (ber.END_OF_MIB_VIEW, None))
                        if nxt is None
                        else (nxt, mib.values[nxt])
                    )
                binds = binds[nonrep:]
            cursors = [oid for oid, _ in binds]
            for _ in range(repeat):
                for i, oid in enumerate(cursors):
                    nxt = mib.next(oid)
                    if nxt is None:
                        if v1:
                            return fail(ber.NO_SUCH_NAME, i + 1)
                        out.append((oid, (ber.END_OF_MIB_VIEW, None)))
                    else:
                        out.append((nxt, mib.values[nxt]))
                        cursors[i] = nxt
        elif req.type == ber.SET:
            for i, (oid, value) in enumerate(req.varbinds, 1):
                self.sets.append((community, oid, value))
                if oid not in mib.values:
                    return fail(ber.NO_SUCH_NAME if v1 else ber.NOT_WRITABLE, i)
                if oid in self.read_only:
                    return fail(ber.NO_SUCH_NAME if v1 else ber.NOT_WRITABLE, i)
            for oid, value in req.varbinds:
                mib.set(oid, value)
            out = list(req.varbinds)
        else:
            return None
        return ber.Pdu(ber.RESPONSE, req.request_id, 0, 0, out)


def _wrap(version: int, community: bytes, rid: int, rest: bytes) -> bytes:
    pdu = ber.tlv(ber.RESPONSE, ber.tlv(ber.INTEGER, ber._int_body(rid)) + rest)
    return ber.tlv(
        ber.SEQUENCE,
        ber.tlv(ber.INTEGER, ber._int_body(version)) + ber.tlv(ber.OCTET_STRING, community) + pdu,
    )


def main(argv: list[str] | None = None) -> int:
    import argparse

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("recording")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=1161)
    p.add_argument("--community", default="public")
    args = p.parse_args(argv)
    agent = Agent(
        load_snmprec(args.recording), community=args.community, host=args.host, port=args.port
    )
    agent.start()
    print(f"serving {args.recording} on {args.host}:{agent.port}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        agent.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
