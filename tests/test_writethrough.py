"""Write-through TCP connections (nutwist.services.writethrough) over real sockets.

Each test accepts a real loopback connection and wraps the server end in a
:class:`WriteThroughServer` driven by a recording reactor, so the test decides
when ``doWrite`` runs.  A naive write-through (send whenever asked, ignoring
what is buffered or how much the kernel took) fails the ordering, partial-send
and producer cases.
"""

from __future__ import annotations

import errno
import socket
import struct
import time
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from support.nut import free_port, start_nutwist_upsd, wait_for_port
from twisted.internet import main, protocol
from twisted.python import failure

from nutwist.services.writethrough import WriteThroughServer
from nutwist.tls import certs


class FDReactor:
    """Just enough of IReactorFDSet to see which descriptors want writing."""

    def __init__(self) -> None:
        self.readers: set[Any] = set()
        self.writers: set[Any] = set()

    def addReader(self, r: Any) -> None:
        self.readers.add(r)

    def removeReader(self, r: Any) -> None:
        self.readers.discard(r)

    def addWriter(self, w: Any) -> None:
        self.writers.add(w)

    def removeWriter(self, w: Any) -> None:
        self.writers.discard(w)

    def callLater(self, *a: Any, **kw: Any) -> None:
        raise AssertionError("no timed calls expected")


class Recorder(protocol.Protocol):
    def __init__(self) -> None:
        self.lost: list[Any] = []

    def connectionLost(self, reason: Any = None) -> None:
        self.lost.append(reason)


class Pair:
    def __init__(self, sndbuf: int | None = None, rcvbuf: int | None = None) -> None:
        lsock = socket.socket()
        lsock.bind(("127.0.0.1", 0))
        lsock.listen(1)
        self.client = socket.socket()
        if rcvbuf:
            self.client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.client.connect(lsock.getsockname())
        srv, addr = lsock.accept()
        lsock.close()
        if sndbuf:
            srv.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, sndbuf)
        srv.setblocking(False)
        self.reactor = FDReactor()
        self.proto = Recorder()
        port = SimpleNamespace(_realPortNumber=0)
        self.transport = WriteThroughServer(srv, self.proto, addr, port, 1, self.reactor)  # type: ignore[arg-type]
        self.proto.makeConnection(self.transport)

    def want_write(self) -> bool:
        return self.transport in self.reactor.writers

    def recv_all(self, n: int, timeout: float = 5.0) -> bytes:
        self.client.settimeout(timeout)
        out = b""
        while len(out) < n:
            chunk = self.client.recv(n - len(out))
            if not chunk:
                break
            out += chunk
        return out

    def drain(self, total: int) -> bytes:
        """Read while running doWrite whenever the transport wants to write."""
        got = b""
        self.client.settimeout(0.2)
        deadline = time.monotonic() + 10
        while len(got) < total and time.monotonic() < deadline:
            if self.want_write():
                self.transport.doWrite()
            try:
                got += self.client.recv(65536)
            except TimeoutError:
                pass
        return got

    def close(self) -> None:
        self.client.close()
        if self.transport.connected:
            self.transport.socket.close()


@pytest.fixture
def pair() -> Iterator[Pair]:
    p = Pair()
    yield p
    p.close()


def test_a_write_with_nothing_buffered_goes_out_at_once(pair: Pair) -> None:
    pair.transport.write(b'VAR ups ups.status "OL"\n')
    assert not pair.want_write()  # no epoll registration, no second dispatch
    assert pair.recv_all(24) == b'VAR ups ups.status "OL"\n'


def test_full_send_buffer_keeps_the_rest_in_order() -> None:
    p = Pair(sndbuf=4096, rcvbuf=4096)
    try:
        big = b"".join(b"%07d\n" % i for i in range(200_000))  # 1.6 MB, far over both buffers
        p.transport.write(big)
        assert p.want_write()  # the kernel took only part: the rest waits for doWrite
        assert p.transport._tempDataLen > 0
        # A later small write must queue behind the buffered rest, never jump ahead.
        p.transport.write(b"TAIL\n")
        assert p.transport._tempDataBuffer[-1] == b"TAIL\n"
        got = p.drain(len(big) + 5)
        assert got == big + b"TAIL\n"
        assert not p.want_write()
        # Drained: the next write goes straight out again.
        p.transport.write(b"NEXT\n")
        assert not p.want_write()
        assert p.recv_all(5) == b"NEXT\n"
    finally:
        p.close()


def test_partial_send_pauses_a_registered_producer() -> None:
    p = Pair(sndbuf=4096, rcvbuf=4096)
    try:
        paused: list[bool] = []

        class Producer:
            def pauseProducing(self) -> None:
                paused.append(True)

            def resumeProducing(self) -> None:
                paused.append(False)

            def stopProducing(self) -> None:
                pass

        p.transport.registerProducer(Producer(), True)
        p.transport.write(b"x" * (4 * p.transport.bufferSize))
        assert paused == [True]  # a client that never reads is paused as before
        p.drain(4 * p.transport.bufferSize)
        assert paused == [True, False]
    finally:
        p.close()


def test_lose_connection_right_after_a_write_delivers_it(pair: Pair) -> None:
    pair.transport.write(b"OK Goodbye\n")
    pair.transport.loseConnection()
    assert pair.want_write()  # loseConnection waits for doWrite, as Twisted's does
    rc = pair.transport.doWrite()
    assert rc is main.CONNECTION_DONE
    pair.transport.connectionLost(failure.Failure(rc))  # as the reactor does on CONNECTION_DONE
    assert pair.proto.lost
    pair.client.settimeout(2)
    assert pair.client.recv(100) == b"OK Goodbye\n"
    assert pair.client.recv(100) == b""


def test_a_peer_reset_during_a_send_ends_the_connection_normally(pair: Pair) -> None:
    pair.client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    pair.client.close()  # RST
    deadline = time.monotonic() + 5
    while True:  # the first send after an RST may still succeed; the next fails
        pair.transport.write(b'VAR ups ups.status "OL"\n' * 10)
        if pair.want_write() or time.monotonic() > deadline:
            break
    assert pair.want_write()  # the failed data waits for doWrite, which meets the error
    rc = pair.transport.doWrite()
    assert isinstance(rc, Exception) or rc == main.CONNECTION_LOST


def test_eagain_is_not_an_error(pair: Pair, monkeypatch: pytest.MonkeyPatch) -> None:
    sock = pair.transport.socket

    class Busy:
        def __getattr__(self, name: str) -> Any:
            return getattr(sock, name)

        def send(self, data: bytes) -> int:
            raise OSError(errno.EAGAIN, "busy")

    pair.transport.socket = Busy()  # type: ignore[assignment]
    pair.transport.write(b"A\n")
    assert pair.want_write()
    pair.transport.socket = sock
    pair.transport.write(b"B\n")  # behind A, not before it
    assert pair.drain(4) == b"A\nB\n"


def test_after_starttls_writes_take_twisteds_path(pair: Pair) -> None:
    pair.transport.TLS = True
    sent: list[bytes] = []
    pair.proto.transport = pair.transport
    pair.transport.protocol = SimpleNamespace(write=sent.append)  # type: ignore[assignment]
    pair.transport.write(b"secret\n")
    assert sent == [b"secret\n"]  # through the TLS layer, never raw onto the socket
    pair.client.setblocking(False)
    with pytest.raises(BlockingIOError):
        pair.client.recv(100)


# Over the real upsd: STARTTLS ordering and the answers themselves.

DEV = "ups.status: OL\nbattery.charge: 77\n"


@pytest.fixture(scope="module")
def upsd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    tmp = tmp_path_factory.mktemp("wt")
    conf, state = tmp / "c", tmp / "s"
    conf.mkdir()
    state.mkdir()
    port = free_port()
    ca = certs.make_ca("test CA")
    certs.write_bundle(str(conf / "upsd.pem"), certs.issue(ca, "upsd", ["127.0.0.1"]))
    (conf / "w.dev").write_text(DEV)
    (conf / "ups.conf").write_text("[w]\n\tdriver = dummy-ups\n\tport = w.dev\n")
    lines = [f"LISTEN 127.0.0.1 {port}"]
    lines.append(f"CERTFILE {conf / 'upsd.pem'}")
    (conf / "upsd.conf").write_text("\n".join(lines) + "\n")
    (conf / "upsd.users").write_text("")
    proc = start_nutwist_upsd(conf, state, tmp / "upsd.log")
    wait_for_port(port)
    try:
        yield port
    finally:
        proc.stop()
        assert "Traceback" not in (tmp / "upsd.log").read_text()


def test_starttls_answer_precedes_the_handshake_and_tls_answers_follow(upsd: int) -> None:
    import ssl

    s = socket.create_connection(("127.0.0.1", upsd), timeout=5)
    # Both requests in one write: the plaintext answer to the first, then OK STARTTLS,
    # must both arrive before any TLS byte.
    s.sendall(b"GET VAR w battery.charge\nSTARTTLS\n")
    want = b'VAR w battery.charge "77"\nOK STARTTLS\n'
    got = b""
    while len(got) < len(want):
        got += s.recv(len(want) - len(got))
    assert got == want
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    t = ctx.wrap_socket(s)
    for _ in range(50):
        t.sendall(b"GET VAR w ups.status\n")
        assert t.recv(100) == b'VAR w ups.status "OL"\n'
    t.close()


def test_many_one_at_a_time_answers_are_exact(upsd: int) -> None:
    s = socket.create_connection(("127.0.0.1", upsd), timeout=5)
    f = s.makefile("rb")
    for _ in range(2000):
        s.sendall(b"GET VAR w ups.status\n")
        assert f.readline() == b'VAR w ups.status "OL"\n'
    s.close()
