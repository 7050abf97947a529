"""upsd's connections in one inner epoll (nutwist.services.writethrough.ConnectionSet).

Each test runs a real epoll reactor (not installed globally, iterated by hand)
with a :class:`WriteThroughPort` listening on loopback, and real client sockets.
The connections' reactor is the port's :class:`ConnectionSet`: they must be
served as the reactor itself would serve them (half-close, errors, producers,
TLS, shutdown), while the real reactor sees one reader for all of them.
"""

from __future__ import annotations

import socket
import ssl
import struct
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from twisted.internet import epollreactor, error, protocol
from twisted.internet import ssl as tssl
from twisted.internet.interfaces import IHalfCloseableProtocol
from twisted.python import failure, log
from zope.interface import implementer

from nutwist.services.writethrough import (
    ConnectionSet,
    WriteThroughPort,
    WriteThroughServer,
    connection_set,
)
from nutwist.tls import certs


class Echo(protocol.Protocol):
    """Answers each line with ``OK <line>``; ``boom`` raises; records its end."""

    def __init__(self, rig: Rig) -> None:
        self.rig = rig
        self.lost: list[failure.Failure] = []
        self.received = b""
        rig.protocols.append(self)

    def dataReceived(self, data: bytes) -> None:
        self.received += data
        for line in data.splitlines():
            if line == b"boom":
                raise RuntimeError("boom from dataReceived")
            self.transport.write(b"OK " + line + b"\n")  # type: ignore[union-attr]

    def connectionLost(self, reason: failure.Failure = protocol.connectionDone) -> None:
        self.lost.append(reason)


@implementer(IHalfCloseableProtocol)
class HalfClose(Echo):
    def __init__(self, rig: Rig) -> None:
        super().__init__(rig)
        self.read_lost = 0

    def readConnectionLost(self) -> None:
        self.read_lost += 1
        self.transport.write(b"BYE after half-close\n")  # type: ignore[union-attr]
        self.transport.loseConnection()  # type: ignore[union-attr]

    def writeConnectionLost(self) -> None:
        pass


class Rig:
    def __init__(self, proto: type[Echo] = Echo, reactor: Any = None) -> None:
        self.private = reactor is None
        self.reactor = reactor if reactor is not None else epollreactor.EPollReactor()
        self.protocols: list[Echo] = []
        factory = protocol.Factory()
        factory.buildProtocol = lambda addr: proto(self)  # type: ignore[method-assign]
        self.port = WriteThroughPort(0, factory, 50, "127.0.0.1", self.reactor)
        self.port.startListening()
        self.portno = self.port.getHost().port
        self.clients: list[socket.socket] = []

    @property
    def set(self) -> ConnectionSet:
        return connection_set(self.reactor)

    def spin(self, until: Callable[[], Any], timeout: float = 5) -> None:
        """Iterate the reactor at least once, then until ``until()`` is true."""
        deadline = time.monotonic() + timeout
        while True:
            self.reactor.runUntilCurrent()
            self.reactor.doIteration(0.01)
            if until():
                return
            if time.monotonic() > deadline:
                raise AssertionError("timed out")

    def connect(self, n: int = 1) -> list[socket.socket]:
        new = []
        for _ in range(n):
            c = socket.create_connection(("127.0.0.1", self.portno))
            c.settimeout(5)
            new.append(c)
        self.clients += new
        want = len(self.protocols) + n
        self.spin(lambda: len(self.protocols) >= want)
        return new

    def recv_line(self, c: socket.socket) -> bytes:
        buf = b""
        c.setblocking(False)
        try:
            deadline = time.monotonic() + 5
            while not buf.endswith(b"\n"):
                assert time.monotonic() < deadline, buf
                try:
                    got = c.recv(4096)
                except BlockingIOError:
                    self.spin(lambda: True)
                    continue
                if not got:
                    break
                buf += got
        finally:
            c.setblocking(True)
        return buf

    def close(self) -> None:
        for c in self.clients:
            c.close()
        self.port.stopListening()
        if self.private:
            self.reactor.disconnectAll()
        for p in self.protocols:
            t = p.transport
            if t is not None and t.connected:  # type: ignore[attr-defined]
                t.abortConnection()  # type: ignore[attr-defined]


@pytest.fixture
def rig() -> Iterator[Rig]:
    r = Rig()
    yield r
    r.close()


def test_one_reactor_event_serves_every_ready_connection(rig: Rig) -> None:
    clients = rig.connect(20)
    assert all(isinstance(p.transport, WriteThroughServer) for p in rig.protocols)
    # the real reactor sees one reader for all of them (and the listening port)
    readers = rig.reactor.getReaders()
    assert not any(isinstance(r, WriteThroughServer) for r in readers)
    assert len(rig.set.getReaders()) == 20
    for i, c in enumerate(clients):
        c.sendall(b"req %d\n" % i)
    # wait until the kernel has every request queued, then one reactor iteration
    deadline = time.monotonic() + 5
    while len(rig.set._poller.poll(0)) < 20:
        assert time.monotonic() < deadline
        time.sleep(0.005)
    dispatched = []
    hub = rig.set._hub
    real = hub.doRead

    def counted() -> None:
        dispatched.append(1)
        real()

    hub.doRead = counted  # type: ignore[method-assign]
    rig.reactor.doIteration(0)
    assert len(dispatched) == 1
    for i, c in enumerate(clients):
        assert c.recv(100) == b"OK req %d\n" % i


def test_an_exception_ends_that_connection_only(rig: Rig) -> None:
    a, b = rig.connect(2)
    errors: list[Any] = []
    log.addObserver(errors.append)
    try:
        a.sendall(b"boom\n")
        rig.spin(lambda: rig.protocols[0].lost)
    finally:
        log.removeObserver(errors.append)
    assert any(e.get("isError") for e in errors)
    assert rig.protocols[0].lost[0].check(RuntimeError)
    assert a.recv(10) == b""
    # the other connection, and the hub, carry on
    b.sendall(b"still\n")
    assert rig.recv_line(b) == b"OK still\n"
    assert not rig.protocols[1].lost
    rig.spin(lambda: True)
    assert len(rig.protocols[0].lost) == 1


def test_a_half_close_is_a_half_close() -> None:
    r = Rig(HalfClose)
    try:
        (c,) = r.connect()
        c.sendall(b"last\n")
        c.shutdown(socket.SHUT_WR)
        data = b""
        deadline = time.monotonic() + 10
        while True:
            assert time.monotonic() < deadline, data
            r.spin(lambda: True)
            c.setblocking(False)
            try:
                got = c.recv(4096)
            except BlockingIOError:
                continue
            finally:
                c.setblocking(True)
            if not got:
                break
            data += got
        assert data == b"OK last\nBYE after half-close\n"
        p = r.protocols[0]
        assert isinstance(p, HalfClose)
        r.spin(lambda: p.lost)
        assert p.read_lost == 1
        assert len(p.lost) == 1
        assert p.lost[0].check(error.ConnectionDone)
    finally:
        r.close()


def test_a_plain_close_ends_the_connection_once(rig: Rig) -> None:
    (c,) = rig.connect()
    c.sendall(b"x\n")
    assert rig.recv_line(c) == b"OK x\n"
    c.close()
    p = rig.protocols[0]
    rig.spin(lambda: p.lost)
    assert p.lost[0].check(error.ConnectionDone)
    rig.spin(lambda: True)
    assert len(p.lost) == 1
    assert not rig.set.getReaders() and not rig.set.getWriters()
    # an empty set lets go of the real reactor
    assert rig.set._hub not in rig.reactor.getReaders()


def test_a_reset_while_not_reading_is_a_lost_connection(rig: Rig) -> None:
    (c,) = rig.connect()
    p = rig.protocols[0]
    t = p.transport
    t.stopReading()  # type: ignore[union-attr]
    t.write(b"y" * 8_000_000)  # type: ignore[union-attr]  # more than the kernel takes
    assert t in rig.set.getWriters() and t not in rig.set.getReaders()
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    c.close()
    rig.clients.remove(c)
    rig.spin(lambda: p.lost)
    assert p.lost[0].check(error.ConnectionLost)
    rig.spin(lambda: True)
    assert len(p.lost) == 1
    assert not rig.set.getWriters()


def test_a_paused_producer_reads_nothing_until_resumed(rig: Rig) -> None:
    (c,) = rig.connect()
    p = rig.protocols[0]
    t = p.transport
    t.pauseProducing()  # type: ignore[union-attr]
    assert t not in rig.set.getReaders()
    c.sendall(b"held\n")
    deadline = time.monotonic() + 0.3
    while time.monotonic() < deadline:
        rig.reactor.doIteration(0.02)
    assert p.received == b""
    t.resumeProducing()  # type: ignore[union-attr]
    assert rig.recv_line(c) == b"OK held\n"


def test_lose_connection_after_a_write_delivers_it(rig: Rig) -> None:
    (c,) = rig.connect()
    p = rig.protocols[0]
    p.transport.write(b"a" * 3_000_000)  # type: ignore[union-attr]
    p.transport.write(b"END\n")  # type: ignore[union-attr]
    p.transport.loseConnection()  # type: ignore[union-attr]
    data = b""
    c.setblocking(False)
    deadline = time.monotonic() + 10
    while True:
        assert time.monotonic() < deadline, len(data)
        rig.spin(lambda: True)
        try:
            got = c.recv(1 << 20)
        except BlockingIOError:
            continue
        if not got:
            break
        data += got
    assert data == b"a" * 3_000_000 + b"END\n"
    rig.spin(lambda: p.lost)
    assert len(p.lost) == 1 and p.lost[0].check(error.ConnectionDone)


def test_abort_connection_ends_it_once(rig: Rig) -> None:
    rig.connect()
    p = rig.protocols[0]
    p.transport.write(b"b" * 3_000_000)  # type: ignore[union-attr]
    p.transport.abortConnection()  # type: ignore[union-attr]
    rig.spin(lambda: p.lost)
    rig.spin(lambda: True)
    assert len(p.lost) == 1 and p.lost[0].check(error.ConnectionAborted)
    assert not rig.set.getReaders() and not rig.set.getWriters()


def test_reactor_shutdown_ends_every_connection(rig: Rig) -> None:
    a, _, c = rig.connect(3)
    writer = rig.protocols[1].transport
    writer.stopReading()  # type: ignore[union-attr]
    writer.write(b"w" * 8_000_000)  # type: ignore[union-attr]  # a writer only
    assert writer in rig.set.getWriters()
    rig.port.stopListening()
    # what the reactor does when it stops ('during shutdown')
    rig.reactor.disconnectAll()
    for p in rig.protocols:
        assert len(p.lost) == 1, p
    assert not rig.set.getReaders() and not rig.set.getWriters()
    for s in (a, c):
        assert s.recv(10) == b""


def test_connections_outlive_their_listening_port(rig: Rig) -> None:
    (c,) = rig.connect()
    rig.port.stopListening()
    rig.spin(lambda: not rig.port.connected)
    c.sendall(b"after\n")
    assert rig.recv_line(c) == b"OK after\n"


def test_a_descriptor_gone_to_minus_one_is_ended(rig: Rig) -> None:
    (c,) = rig.connect()
    p = rig.protocols[0]
    t = p.transport
    real = t.fileno  # type: ignore[union-attr]
    n = real()
    t.fileno = lambda: -1  # type: ignore[union-attr]
    c.sendall(b"never\n")
    rig.spin(lambda: p.lost)
    assert p.lost[0].check(error.ConnectionFdescWentAway)
    assert p.received == b""
    t.fileno = real  # type: ignore[union-attr]
    assert n not in rig.set._selectables


def test_starttls_through_the_set() -> None:
    ca = certs.make_ca("test CA")
    leaf = certs.issue(ca, "upsd", ["127.0.0.1"])
    opts = tssl.PrivateCertificate.loadPEM(leaf.cert_pem() + leaf.key_pem()).options()

    class TLSEcho(Echo):
        def dataReceived(self, data: bytes) -> None:
            if data == b"STARTTLS\n":
                self.transport.write(b"OK STARTTLS\n")  # type: ignore[union-attr]
                self.transport.startTLS(opts)  # type: ignore[union-attr]
                return
            super().dataReceived(data)

    # the TLS layer schedules its writes on the global reactor
    from twisted.internet import reactor

    if not isinstance(reactor, epollreactor.EPollReactor):
        pytest.skip("the global reactor is not the epoll reactor")
    r = Rig(TLSEcho, reactor)
    try:
        (c,) = r.connect()
        c.sendall(b"STARTTLS\n")
        assert r.recv_line(c) == b"OK STARTTLS\n"
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        tls = ctx.wrap_socket(c, do_handshake_on_connect=False)
        tls.setblocking(False)
        deadline = time.monotonic() + 10
        while True:
            try:
                tls.do_handshake()
                break
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
                assert time.monotonic() < deadline
                r.spin(lambda: True)
        big = b"q" * 200_000
        tls.sendall(b"secret\n")
        out = b""
        while not out.endswith(b"\n"):
            assert time.monotonic() < deadline
            r.spin(lambda: True)
            try:
                out += tls.recv(4096)
            except ssl.SSLWantReadError:
                pass
        assert out == b"OK secret\n"
        # a TLS write larger than the socket takes goes out whole and in order
        r.protocols[0].transport.write(big + b"\n")  # type: ignore[union-attr]
        out = b""
        while len(out) < len(big) + 1:
            assert time.monotonic() < deadline
            r.spin(lambda: True)
            try:
                out += tls.recv(1 << 16)
            except ssl.SSLWantReadError:
                pass
        assert out == big + b"\n"
        r.clients.remove(c)
        tls.close()
    finally:
        r.close()
