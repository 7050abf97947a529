"""nutwist's upsd under bad input, over loopback: it keeps answering, memory stays bounded.

Every load here is bounded in count and time and stops by itself.
"""

from __future__ import annotations

import random
import selectors
import socket
import threading
import time
from collections.abc import Iterator

import pytest
from support.nut import free_port, start_nutwist_upsd, wait_for_port

DEV = "ups.status: OL\nbattery.charge: 77\n" + "".join(f"x.var{i}: {i}\n" for i in range(30))


def rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, int]]:
    tmp = tmp_path_factory.mktemp("robust")
    conf, state = tmp / "c", tmp / "s"
    conf.mkdir()
    state.mkdir()
    port = free_port()
    (conf / "r.dev").write_text(DEV)
    (conf / "ups.conf").write_text("[r]\n\tdriver = dummy-ups\n\tport = r.dev\n")
    (conf / "upsd.conf").write_text(f"LISTEN 127.0.0.1 {port}\n")
    (conf / "upsd.users").write_text("")
    proc = start_nutwist_upsd(conf, state, tmp / "upsd.log")
    wait_for_port(port)
    try:
        yield port, proc.proc.pid
    finally:
        proc.stop()
        assert "Traceback" not in (tmp / "upsd.log").read_text()


def polite(port: int, seconds: float, failures: list[str]) -> int:
    """A well-behaved client: one GET every 50 ms; each answer must be right and quick."""
    s = socket.create_connection(("127.0.0.1", port), timeout=2)
    f = s.makefile("rb")
    n = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        t0 = time.monotonic()
        s.sendall(b"GET VAR r battery.charge\n")
        line = f.readline()
        if line != b'VAR r battery.charge "77"\n' or time.monotonic() - t0 > 1.0:
            failures.append(repr(line))
        n += 1
        time.sleep(0.05)
    s.close()
    return n


def test_keeps_answering_under_garbage_floods_and_idle_connections(server: tuple[int, int]) -> None:
    port, pid = server
    rss_before = rss_kb(pid)
    rng = random.Random(42)
    stop = time.monotonic() + 6
    socks: list[socket.socket] = []

    def garbage() -> None:
        s = socket.create_connection(("127.0.0.1", port))
        try:
            while time.monotonic() < stop:
                s.sendall(rng.randbytes(4096))
                time.sleep(0.004)  # about a megabyte a second
        except OSError:
            pass  # being dropped is fine
        finally:
            s.close()

    def endless() -> None:
        s = socket.create_connection(("127.0.0.1", port))
        try:
            while time.monotonic() < stop:
                s.sendall(b"A" * 4096)
                time.sleep(0.01)
        except OSError:
            pass
        finally:
            s.close()

    def never_reads() -> None:
        s = socket.create_connection(("127.0.0.1", port))
        s.setblocking(False)
        sent = 0
        try:
            while time.monotonic() < stop and sent < 50_000_000:
                try:
                    sent += s.send(b"LIST VAR r\n" * 400)
                except BlockingIOError:
                    time.sleep(0.01)
        except OSError:
            pass
        finally:
            s.close()

    for _ in range(500):  # half-open: connected, never a word
        socks.append(socket.create_connection(("127.0.0.1", port)))
    threads = [threading.Thread(target=t) for t in (garbage, garbage, endless, never_reads)]
    for t in threads:
        t.start()
    failures: list[str] = []
    answered = polite(port, 5, failures)
    for t in threads:
        t.join(30)
    for s in socks:
        s.close()
    assert failures == [] and answered > 50
    rss_after = rss_kb(pid)
    print(f"\nrobustness: {answered} polite answers, RSS {rss_before} kB -> {rss_after} kB")
    assert rss_after - rss_before < 100_000, (rss_before, rss_after)


def test_burst_of_2000_simultaneous_connects(server: tuple[int, int]) -> None:
    port, _ = server
    sel = selectors.DefaultSelector()
    socks = []
    for _ in range(2000):
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", port))
        socks.append(s)
        sel.register(s, selectors.EVENT_WRITE)
    served = 0
    deadline = time.monotonic() + 60
    pending = {s: b"" for s in socks}
    while pending and time.monotonic() < deadline:
        for key, events in sel.select(1):
            s = key.fileobj
            assert isinstance(s, socket.socket)
            if events & selectors.EVENT_WRITE:
                s.send(b"NETVER\n")
                sel.modify(s, selectors.EVENT_READ)
                continue
            try:
                data = s.recv(100)
            except ConnectionResetError:
                pytest.fail("a connection of the burst was reset")
            pending[s] += data
            if pending[s] == b"1.3\n":
                served += 1
                sel.unregister(s)
                del pending[s]
    for s in socks:
        s.close()
    print(f"\nburst: {served} of 2000 simultaneous connects served")
    assert served == 2000
