"""One SNMP manager engine per process: one UDP socket, many agents, bounded in-flight.

Requests are v1/v2c messages encoded by :mod:`nutwist.drivers.snmp.ber` and sent
from one Twisted UDP port (one per address family), so a thousand UPSes cost a
thousand timers, not a thousand sockets or threads.  Each request is retried
``retries`` times, ``timeout`` seconds apart, as Net-SNMP's sessions do; at most
``max_in_flight`` requests wait for an answer at once and the rest queue.  A
datagram that does not decode, or that answers no pending request from the
agent it was sent to, is dropped.

:class:`Session` speaks to one agent and packs several OIDs in one GET where
NUT's driver sends one OID per request, falling back as agents require (a v1
``noSuchName`` drops the named varbind and asks again, ``tooBig`` halves the
batch).
"""

from __future__ import annotations

import random
import socket
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from twisted.internet import defer, protocol
from twisted.internet.interfaces import IReactorTime, IReactorUDP
from twisted.logger import Logger

from nutwist.drivers.snmp import ber
from nutwist.drivers.snmp.ber import OID, Value

log = Logger()


class SnmpError(Exception):
    """The agent did not answer (Timeout) or answered with an error status."""


class Timeout(SnmpError):
    pass


class ErrorStatus(SnmpError):
    def __init__(self, status: int, index: int) -> None:
        super().__init__(f"error-status {status} at varbind {index}")
        self.status = status
        self.index = index


@dataclass
class _Pending:
    request_id: int
    addr: tuple[str, int]
    data: bytes
    timeout: float
    tries_left: int
    deferred: defer.Deferred[tuple[bytes, ber.Message | None]]
    timer: Any = None
    sent: int = 0


@dataclass
class EngineStats:
    sent: int = 0
    retries: int = 0
    timeouts: int = 0
    answers: int = 0
    dropped: int = 0
    queued_max: int = 0
    extra: dict[str, int] = field(default_factory=dict)


class _Port(protocol.DatagramProtocol):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def datagramReceived(self, data: bytes, addr: Any) -> None:
        self.engine.received(data, (addr[0], addr[1]))


class Engine:
    """The shared manager side: request ids, retries, timers and the in-flight bound."""

    def __init__(self, reactor: Any = None, *, max_in_flight: int = 256) -> None:
        if reactor is None:
            from twisted.internet import reactor as default_reactor

            reactor = default_reactor
        self.reactor: Any = reactor
        self.clock: IReactorTime = reactor
        self.max_in_flight = max_in_flight
        self.pending: dict[int, _Pending] = {}
        self.queue: deque[_Pending] = deque()
        self.stats = EngineStats()
        self._next_id = random.randrange(1, 1 << 30)
        self._ports: dict[int, Any] = {}
        #: tests replace this to send through something other than a UDP port
        self.transport_for: Any = None
        #: drivers using this engine (they spread their first polls when there are many)
        self.users = 0

    # --- sockets ----------------------------------------------------------------------

    def _port(self, family: int) -> Any:
        port: Any = self._ports.get(family)
        if port is None:
            udp: IReactorUDP = self.reactor
            iface = "::" if family == socket.AF_INET6 else ""
            port = udp.listenUDP(0, _Port(self), interface=iface, maxPacketSize=65535)
            _grow_buffers(port.getHandle())
            self._ports[family] = port
        return port

    def close(self) -> None:
        for p in self.pending.values():
            if p.timer is not None and p.timer.active():
                p.timer.cancel()
        self.pending.clear()
        self.queue.clear()
        for port in self._ports.values():
            port.stopListening()
        self._ports.clear()

    # --- requests ---------------------------------------------------------------------

    def new_request_id(self) -> int:
        self._next_id = self._next_id + 1 if self._next_id < (1 << 31) - 1 else 1
        return self._next_id

    def send(
        self, addr: tuple[str, int], msg: ber.Message, timeout: float, retries: int
    ) -> defer.Deferred[ber.Message]:
        """Send a v1/v2c ``msg`` (its request id is set here); fire with the answer."""
        rid = self.new_request_id()
        msg.pdu.request_id = rid
        d = self.send_raw(addr, ber.encode_message(msg), rid, timeout, retries)

        def decoded(answer: tuple[bytes, ber.Message | None]) -> ber.Message:
            assert answer[1] is not None
            return answer[1]

        return d.addCallback(decoded)

    def send_raw(
        self, addr: tuple[str, int], data: bytes, rid: int, timeout: float, retries: int
    ) -> defer.Deferred[tuple[bytes, ber.Message | None]]:
        """Send an encoded request whose answer carries ``rid`` (request id or v3 msgID)."""
        d: defer.Deferred[tuple[bytes, ber.Message | None]] = defer.Deferred(
            lambda _: self._cancel(rid)
        )
        p = _Pending(rid, addr, data, timeout, max(0, retries) + 1, d)
        if len(self.pending) >= self.max_in_flight:
            self.queue.append(p)
            self.stats.queued_max = max(self.stats.queued_max, len(self.queue))
        else:
            self._launch(p)
        return d

    def _launch(self, p: _Pending) -> None:
        self.pending[p.request_id] = p
        self._transmit(p)

    def _transmit(self, p: _Pending) -> None:
        p.tries_left -= 1
        p.sent += 1
        self.stats.sent += 1
        if p.sent > 1:
            self.stats.retries += 1
        try:
            if self.transport_for is not None:
                self.transport_for(p.addr).write(p.data, p.addr)
            else:
                family = socket.AF_INET6 if ":" in p.addr[0] else socket.AF_INET
                self._port(family).write(p.data, p.addr)
        except OSError as e:
            log.debug("send to {addr} failed: {e}", addr=p.addr, e=e)
        p.timer = self.clock.callLater(p.timeout, self._expired, p.request_id)

    def _expired(self, rid: int) -> None:
        p = self.pending.get(rid)
        if p is None:
            return
        if p.tries_left > 0:
            self._transmit(p)
            return
        del self.pending[rid]
        self.stats.timeouts += 1
        self._next()
        p.deferred.errback(Timeout(f"Timeout: no response from {p.addr[0]}:{p.addr[1]}"))

    def _cancel(self, rid: int) -> None:
        p = self.pending.pop(rid, None)
        if p is not None and p.timer is not None and p.timer.active():
            p.timer.cancel()
        self.queue = deque(q for q in self.queue if q.request_id != rid)
        self._next()

    def _next(self) -> None:
        while self.queue and len(self.pending) < self.max_in_flight:
            self._launch(self.queue.popleft())

    def received(self, data: bytes, addr: tuple[str, int]) -> None:
        msg: ber.Message | None = None
        if ber.message_version(data) == ber.V3:
            from nutwist.drivers.snmp.usm import peek_msg_id

            rid = peek_msg_id(data)
        else:
            try:
                msg = ber.decode_message(data)
            except ber.BerError:
                self.stats.dropped += 1
                return
            rid = msg.pdu.request_id if msg.pdu.type in (ber.RESPONSE, ber.REPORT) else None
        p = self.pending.get(rid) if rid is not None else None
        if p is None or not _same(addr, p.addr):
            self.stats.dropped += 1
            return
        del self.pending[p.request_id]
        if p.timer is not None and p.timer.active():
            p.timer.cancel()
        self.stats.answers += 1
        self._next()
        p.deferred.callback((data, msg))


def _grow_buffers(sock: socket.socket, size: int = 4 << 20) -> None:
    """Room for a burst of answers: the default buffer drops some when many agents reply."""
    for force, plain in (
        (getattr(socket, "SO_RCVBUFFORCE", None), socket.SO_RCVBUF),
        (getattr(socket, "SO_SNDBUFFORCE", None), socket.SO_SNDBUF),
    ):
        for opt in (force, plain):
            if opt is None:
                continue
            try:
                sock.setsockopt(socket.SOL_SOCKET, opt, size)
                break
            except OSError:
                continue


def _same(a: tuple[str, int], b: tuple[str, int]) -> bool:
    if a[1] != b[1]:
        return False
    return a[0] == b[0] or a[0].removeprefix("::ffff:") == b[0].removeprefix("::ffff:")


_engines: dict[int, Engine] = {}


def shared_engine(reactor: Any = None) -> Engine:
    """The process's engine (one per reactor)."""
    if reactor is None:
        from twisted.internet import reactor as default_reactor

        reactor = default_reactor
    key = id(reactor)
    eng = _engines.get(key)
    if eng is None:
        eng = _engines[key] = Engine(reactor)
    return eng


#: varbinds packed in one GET; an agent that finds the answer too big says so (tooBig)
#: and the batch is halved
PACK = 20

MISSING: Value = (ber.NO_SUCH_INSTANCE, None)


class Session:
    """One agent: community/version, timeout and retries, as a NUT ``snmp-ups`` section."""

    def __init__(
        self,
        engine: Engine,
        host: str,
        port: int = 161,
        *,
        version: int = ber.V1,
        community: str = "public",
        timeout: float = 1.0,
        retries: int = 5,
    ) -> None:
        self.engine = engine
        self.addr = (host, port)
        self.version = version
        self.community = community.encode("latin-1", "replace")
        self.timeout = timeout
        self.retries = retries

    def _message(self, ptype: int, binds: list[tuple[OID, Value]]) -> ber.Message:
        return ber.Message(self.version, self.community, ber.Pdu(ptype, 0, 0, 0, binds))

    async def request(self, ptype: int, binds: list[tuple[OID, Value]]) -> ber.Pdu:
        """One request/answer; Timeout, or ErrorStatus for a non-zero error-status."""
        msg = await self.engine.send(
            self.addr, self._message(ptype, binds), self.timeout, self.retries
        )
        pdu = msg.pdu
        if pdu.error_status != ber.NO_ERROR:
            raise ErrorStatus(pdu.error_status, pdu.error_index)
        return pdu

    async def get(self, oid: OID) -> Value:
        """GET one OID, as NUT does: an exception value or error status comes back MISSING."""
        try:
            pdu = await self.request(ber.GET, [(oid, (ber.NULL, None))])
        except ErrorStatus:
            return MISSING
        if len(pdu.varbinds) != 1:
            return MISSING
        return pdu.varbinds[0][1]

    async def get_many(self, oids: list[OID]) -> dict[OID, Value]:
        """GET every OID, several per request; unknown ones come back MISSING.

        Raises Timeout as soon as one request goes unanswered: a dead agent costs
        one timeout, not one per OID.
        """
        out: dict[OID, Value] = {}
        todo = list(dict.fromkeys(oids))
        batches = [todo[i : i + PACK] for i in range(0, len(todo), PACK)]
        pending = [self._get_batch(b, out) for b in batches]
        results = await defer.DeferredList(
            [defer.Deferred.fromCoroutine(c) for c in pending], consumeErrors=True
        )
        for ok, result in results:
            if not ok:
                assert result is not None
                result.raiseException()
        return out

    async def _get_batch(self, batch: list[OID], out: dict[OID, Value]) -> None:
        while batch:
            try:
                pdu = await self.request(ber.GET, [(o, (ber.NULL, None)) for o in batch])
            except ErrorStatus as e:
                if e.status == ber.TOO_BIG and len(batch) > 1:
                    half = len(batch) // 2
                    await self._get_batch(batch[:half], out)
                    batch = batch[half:]
                    continue
                if 1 <= e.index <= len(batch):
                    out[batch[e.index - 1]] = MISSING
                    batch = batch[: e.index - 1] + batch[e.index :]
                    continue
                # an error with no usable index: one OID at a time
                for o in batch:
                    out[o] = await self.get(o)
                return
            if len(pdu.varbinds) != len(batch):
                for o in batch:
                    out[o] = await self.get(o)
                return
            for want, (got, value) in zip(batch, pdu.varbinds, strict=True):
                out[want] = value if got == want else MISSING
            return

    async def get_next(self, oid: OID) -> tuple[OID, Value] | None:
        try:
            pdu = await self.request(ber.GETNEXT, [(oid, (ber.NULL, None))])
        except ErrorStatus:
            return None
        if len(pdu.varbinds) != 1 or pdu.varbinds[0][1][0] in ber.EXCEPTIONS:
            return None
        return pdu.varbinds[0]

    async def set(self, oid: OID, value: Value) -> bool:
        """SET one OID; True if the agent accepted it."""
        try:
            await self.request(ber.SET, [(oid, value)])
        except SnmpError as e:
            log.error("{addr}: can't set {oid}: {e}", addr=self.addr, oid=ber.format_oid(oid), e=e)
            return False
        return True


class V3Session(Session):
    """An SNMPv3 agent: engine discovery, time synchronisation, USM auth and privacy."""

    def __init__(
        self,
        engine: Engine,
        host: str,
        port: int = 161,
        *,
        user: Any,
        timeout: float = 1.0,
        retries: int = 5,
    ) -> None:
        super().__init__(engine, host, port, version=ber.V3, timeout=timeout, retries=retries)
        self.user = user
        self.engine_id: bytes | None = None
        self.boots = 0
        self.time = 0
        self.time_at = 0.0
        self.salt = random.randrange(1 << 62)

    def _now(self) -> int:
        return self.time + int(self.engine.clock.seconds() - self.time_at)

    async def _exchange(self, flags: int, pdu_type: int, binds: list[tuple[OID, Value]]) -> Any:
        from nutwist.drivers.snmp import usm

        rid = self.engine.new_request_id()
        self.salt += 1
        pdu = ber.Pdu(pdu_type, rid, 0, 0, binds)
        engine_id = self.engine_id or b""
        data = usm.encode(
            rid,
            flags | usm.FLAG_REPORTABLE,
            self.user if flags else None,
            self.user.name.encode() if engine_id else b"",
            engine_id,
            self.boots if engine_id else 0,
            self._now() if engine_id else 0,
            pdu,
            self.salt,
        )
        raw, _ = await self.engine.send_raw(self.addr, data, rid, self.timeout, self.retries)
        try:
            msg = usm.decode(raw)
            if msg.flags & usm.FLAG_AUTH and not usm.verify(raw, msg, self.user, msg.engine_id):
                raise SnmpError("answer failed authentication")
            if msg.flags & usm.FLAG_PRIV:
                usm.decrypt_pdu(msg, self.user, msg.engine_id)
        except ber.BerError as e:
            raise SnmpError(f"bad SNMPv3 answer: {e}") from None
        return msg

    async def discover(self) -> None:
        from nutwist.drivers.snmp import usm

        msg = await self._exchange(0, ber.GET, [])
        if not msg.engine_id:
            raise SnmpError("the agent gave no engine ID")
        self.engine_id = msg.engine_id
        self.boots, self.time, self.time_at = msg.boots, msg.time, self.engine.clock.seconds()
        if self.user.level & usm.FLAG_AUTH:
            # an authenticated probe learns the clock the agent will check
            probe = await self._exchange(usm.FLAG_AUTH, ber.GET, [])
            if probe.flags & usm.FLAG_AUTH:
                self.boots, self.time = probe.boots, probe.time
                self.time_at = self.engine.clock.seconds()

    async def request(self, ptype: int, binds: list[tuple[OID, Value]]) -> ber.Pdu:
        from nutwist.drivers.snmp import usm

        for _ in range(3):
            if self.engine_id is None:
                await self.discover()
            msg = await self._exchange(self.user.level, ptype, binds)
            pdu = msg.pdu
            if pdu is None:
                raise SnmpError("no PDU in the answer")
            if pdu.type == ber.REPORT:
                oid = pdu.varbinds[0][0] if pdu.varbinds else None
                if oid == usm.NOT_IN_TIME_WINDOW and msg.flags & usm.FLAG_AUTH:
                    self.boots, self.time = msg.boots, msg.time
                    self.time_at = self.engine.clock.seconds()
                    continue
                if oid == usm.UNKNOWN_ENGINE_ID:
                    self.engine_id = None
                    continue
                raise SnmpError(f"report {ber.format_oid(oid) if oid else ''}")
            if pdu.error_status != ber.NO_ERROR:
                raise ErrorStatus(pdu.error_status, pdu.error_index)
            return pdu
        raise SnmpError("the agent keeps reporting")
