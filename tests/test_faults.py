"""Fault injection over real loopback processes; each case asserts what happened.

Every case is bounded (at most ~30 s in the CI profile) and prints its numbers
(requests served during the fault, time to recover, memory before and after)
with ``-s``; the closing note quotes them.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.nut import (
    NutProcess,
    free_port,
    nut_env,
    require_nut,
    start_nutwist_upsd,
    wait_for_answers,
    wait_for_port,
    wait_for_socket,
    wait_until,
)

BIN = Path(sys.executable).parent
USERS = "[mon]\n\tpassword = mp\n\tupsmon primary\n[sec]\n\tpassword = s\n\tupsmon secondary\n"


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def child_pid(proc: NutProcess) -> int:
    return proc.proc.pid


class Poller(threading.Thread):
    """One persistent connection asking GET VAR every ``period`` s; records answers."""

    def __init__(self, port: int, request: bytes, period: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.port, self.request, self.period = port, request, period
        self.answers: list[tuple[float, bytes, float]] = []  # (when, answer, latency)
        self.stop_flag = threading.Event()
        self.errors = 0

    def run(self) -> None:
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        f = sock.makefile("rb")
        while not self.stop_flag.is_set():
            t0 = time.monotonic()
            try:
                sock.sendall(self.request)
                line = f.readline()
            except OSError:
                self.errors += 1
                break
            self.answers.append((t0, line, time.monotonic() - t0))
            time.sleep(self.period)
        sock.close()

    def stop(self) -> None:
        self.stop_flag.set()
        self.join(10)


def write_conf(d: Path, files: dict[str, str]) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (d / name).write_text(text)
        (d / name).chmod(0o600)
    return d


@pytest.fixture
def dropin(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """nutwist's drop-in upsd reading the socket of a nutwist dummy-ups process."""
    port = free_port()
    conf = write_conf(
        tmp_path / "conf",
        {
            "u.dev": "ups.status: OL\nbattery.charge: 90\n",
            "ups.conf": "[u]\n\tdriver = dummy-ups\n\tport = u.dev\n",
            "upsd.conf": f"LISTEN 127.0.0.1 {port}\nMAXAGE 4\n",
            "upsd.users": USERS,
        },
    )
    state = tmp_path / "state"
    state.mkdir()
    env = nut_env(conf, state)
    ctx: dict[str, Any] = {"port": port, "conf": conf, "state": state, "env": env, "tmp": tmp_path}

    def driver() -> NutProcess:
        p = NutProcess(
            [str(BIN / "dummy-ups"), "-a", "u", "-u", "root", "-F"], env, tmp_path / "driver.log"
        )
        wait_for_socket(state / "dummy-ups-u")
        return p

    ctx["driver"] = driver
    ctx["drv"] = driver()
    ctx["upsd"] = NutProcess([str(BIN / "upsd"), "-F", "-u", "root"], env, tmp_path / "upsd.log")
    wait_for_port(port)
    # until the driver's dump is in: before it, upsd answers VAR-NOT-SUPPORTED, as NUT's does
    wait_for_answers(port, {b"GET VAR u battery.charge\n": b'VAR u battery.charge "90"\n'})
    yield ctx
    ctx["drv"].stop()
    ctx["upsd"].stop()


def test_driver_killed_then_restarted(dropin: dict[str, Any]) -> None:
    poll = Poller(dropin["port"], b"GET VAR u battery.charge\n")
    poll.start()
    wait_until(lambda: len(poll.answers) >= 5, what="the poller's first answers")
    before = rss_mb(child_pid(dropin["upsd"]))
    os.kill(dropin["drv"].proc.pid, signal.SIGKILL)
    killed = time.monotonic()
    dropin["drv"].proc.wait(5)
    time.sleep(5)  # part of the scenario: the driver stays away longer than MAXAGE (4 s)
    restarted = time.monotonic()
    dropin["drv"] = dropin["driver"]()
    wait_until(
        lambda: any(t >= restarted and a.startswith(b"VAR") for t, a, _ in poll.answers),
        what="upsd to serve the restarted driver's data",
    )
    poll.stop()
    after = rss_mb(child_pid(dropin["upsd"]))
    during = [a for t, a, _ in poll.answers if killed <= t < restarted]
    first_err = next(t for t, a, _ in poll.answers if t >= killed and a.startswith(b"ERR"))
    back = next(t for t, a, _ in poll.answers if t >= restarted and a.startswith(b"VAR"))
    assert poll.errors == 0  # the client's one connection was never dropped
    assert first_err - killed <= 4 + 0.5  # within MAXAGE
    assert all(a in (b"ERR DATA-STALE\n", b"ERR DRIVER-NOT-CONNECTED\n") for a in during[5:])
    assert back - restarted < 4
    print(
        f"\n[fault] driver kill -9: {len(during)} requests answered during the outage, "
        f"error after {first_err - killed:.2f} s, recovered {back - restarted:.2f} s after restart, "
        f"upsd RSS {before:.1f} -> {after:.1f} MB"
    )


def test_sighup_storm_under_load(dropin: dict[str, Any]) -> None:
    polls = [Poller(dropin["port"], b"GET VAR u battery.charge\n", 0.01) for _ in range(4)]
    for p in polls:
        p.start()
    pid = dropin["upsd"].proc.pid
    before = rss_mb(pid)
    end = time.monotonic() + 5
    hups = 0
    while time.monotonic() < end:
        os.kill(pid, signal.SIGHUP)
        hups += 1
        time.sleep(0.02)
    for p in polls:
        p.stop()
    answers = [a for p in polls for _, a, _ in p.answers]
    worst = max(lat for p in polls for _, _, lat in p.answers)
    assert answers and all(a == b'VAR u battery.charge "90"\n' for a in answers)
    assert all(p.errors == 0 for p in polls)
    print(
        f"\n[fault] {hups} SIGHUPs in 5 s: {len(answers)} answers, all correct, worst latency "
        f"{worst * 1000:.1f} ms, RSS {before:.1f} -> {rss_mb(pid):.1f} MB"
    )


FLOOD = """
import os, socket, sys, time
path = sys.argv[1]
if os.path.exists(path):
    os.unlink(path)
srv = socket.socket(socket.AF_UNIX)
srv.bind(path)
srv.listen(4)
conn, _ = srv.accept()
buf = b""
while b"DUMPALL" not in buf:
    buf += conn.recv(4096)
conn.sendall(b'SETINFO ups.status "OL"\\nSETINFO battery.charge "90"\\nDATAOK\\nDUMPDONE\\n')
conn.setblocking(False)
n = 0
end = time.monotonic() + float(sys.argv[2])
while time.monotonic() < end:
    batch = b"".join(b'SETINFO flood.counter "%d"\\n' % (n + i) for i in range(200))
    try:
        conn.sendall(batch)
        n += 200
    except BlockingIOError:
        time.sleep(0.001)
    try:
        if conn.recv(4096).startswith(b"PING"):
            conn.sendall(b"PONG\\n")
    except BlockingIOError:
        pass
print(n, flush=True)
time.sleep(30)
"""


def test_a_driver_flooding_updates(tmp_path: Path) -> None:
    port = free_port()
    conf = write_conf(
        tmp_path / "conf",
        {
            "ups.conf": "[f]\n\tdriver = flood\n\tport = none\n",
            "upsd.conf": f"LISTEN 127.0.0.1 {port}\n",
            "upsd.users": USERS,
        },
    )
    state = tmp_path / "state"
    state.mkdir()
    env = nut_env(conf, state)
    (tmp_path / "flood.py").write_text(FLOOD)
    flood = subprocess.Popen(
        [sys.executable, str(tmp_path / "flood.py"), str(state / "flood-f"), "8"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    wait_for_socket(state / "flood-f", probe=False)
    upsd = NutProcess([str(BIN / "upsd"), "-F", "-u", "root"], env, tmp_path / "upsd.log")
    try:
        wait_for_port(port)
        wait_for_answers(port, {b"GET VAR f battery.charge\n": b'VAR f battery.charge "90"\n'})
        poll = Poller(port, b"GET VAR f battery.charge\n", 0.1)
        poll.start()
        rss = [rss_mb(upsd.proc.pid)]
        for _ in range(7):
            time.sleep(1)  # part of the scenario: a memory sample each second of the flood
            rss.append(rss_mb(upsd.proc.pid))
        poll.stop()
        sent = int(flood.stdout.readline() or 0)  # type: ignore[union-attr]
    finally:
        flood.kill()
        upsd.stop()
    worst = max(lat for _, _, lat in poll.answers)
    assert all(a == b'VAR f battery.charge "90"\n' for _, a, _ in poll.answers)
    assert worst < 1.0
    assert max(rss) - rss[0] < 50
    print(
        f"\n[fault] driver flood: {sent} updates in 8 s; polite client {len(poll.answers)} answers, "
        f"worst {worst * 1000:.1f} ms; upsd RSS {rss[0]:.1f} -> {max(rss):.1f} MB"
    )


def nutwist_server(tmp_path: Path, files: dict[str, str]) -> tuple[int, Path, Path, NutProcess]:
    """``twistd nut upsd`` on a free port with these files (plus upsd.conf and upsd.users)."""
    port = free_port()
    conf = write_conf(
        tmp_path / "conf", {**files, "upsd.conf": f"LISTEN 127.0.0.1 {port}\n", "upsd.users": USERS}
    )
    state = tmp_path / "state"
    state.mkdir()
    upsd = start_nutwist_upsd(conf, state, tmp_path / "upsd.log")
    wait_for_port(port)
    return port, conf, state, upsd


def upsmon_dir(d: Path, port: int, extra: str, role: str = "secondary") -> Path:
    user, pw = ("mon", "mp") if role == "primary" else ("sec", "s")
    d.mkdir(parents=True)
    notify = d / "notify.sh"
    notify.write_text(f'#!/bin/sh\necho "$(date +%s.%N) $NOTIFYTYPE" >> {d}/notify.log\n')
    notify.chmod(0o755)
    (d / "upsmon.conf").write_text(
        f"MONITOR u@127.0.0.1:{port} 1 {user} {pw} {role}\n"
        "POLLFREQ 1\nPOLLFREQALERT 1\nHOSTSYNC 3\nDEADTIME 4\nFINALDELAY 0\nNOCOMMWARNTIME 3\n"
        f'SHUTDOWNCMD "date +%s.%N >> {d}/shutdown.log"\nNOTIFYCMD {notify}\n'
        + "".join(f"NOTIFYFLAG {t} SYSLOG+EXEC\n" for t in ("ONLINE", "ONBATT", "LOWBATT", "COMMOK",
                                                           "COMMBAD", "NOCOMM", "SHUTDOWN", "FSD"))
        + extra
    )  # fmt: skip
    (d / "upsmon.conf").chmod(0o600)
    return d


def events(d: Path) -> list[str]:
    log = d / "notify.log"
    return [line.split()[1] for line in log.read_text().splitlines()] if log.exists() else []


def shutdowns(d: Path) -> list[float]:
    log = d / "shutdown.log"
    return [float(x) for x in log.read_text().split()] if log.exists() else []


def start_upsmon(d: Path, state: Path) -> NutProcess:
    env = dict(nut_env(d, state), NUT_ALTPIDPATH=str(d))
    return NutProcess([str(BIN / "upsmon"), "-F", "-u", "root"], env, d / "upsmon.log")


def test_upsd_killed_and_restarted_while_on_line(tmp_path: Path) -> None:
    port, conf, state, upsd = nutwist_server(
        tmp_path,
        {"u.dev": "ups.status: OL\n", "ups.conf": "[u]\n\tdriver = dummy-ups\n\tport = u.dev\n"},
    )
    mon = upsmon_dir(tmp_path / "mon", port, "")
    monitor = start_upsmon(mon, state)
    try:
        wait_until(
            lambda: "logged into UPS [u]" in (tmp_path / "upsd.log").read_text(),
            what="upsmon to log in",
        )
        os.kill(upsd.proc.pid, signal.SIGKILL)
        down = time.monotonic()
        time.sleep(9)  # part of the scenario: upsd stays away 9 s (COMMBAD, then NOCOMM)
        upsd = start_nutwist_upsd(conf, state, tmp_path / "upsd2.log")
        wait_for_port(port)
        up = time.monotonic()
        with contextlib.suppress(TimeoutError):
            wait_until(lambda: "COMMOK" in events(mon), what="COMMOK")
        back = time.monotonic() - up
    finally:
        monitor.stop()
        upsd.stop()
    got = events(mon)
    assert got[:2] == ["COMMBAD", "NOCOMM"] and got[-1] == "COMMOK", got
    assert shutdowns(mon) == []  # last state on line: never a shutdown
    assert "logged into UPS [u]" in (tmp_path / "upsd2.log").read_text()
    print(
        f"\n[fault] upsd kill -9 for {up - down:.1f} s while on line: upsmon said {got}; "
        f"logged in again {back:.1f} s after upsd returned; no shutdown"
    )


def test_a_hanging_notifycmd_never_delays_the_shutdown(tmp_path: Path) -> None:
    port, _, state, upsd = nutwist_server(
        tmp_path,
        {
            "u.seq": "ups.status: OL\nTIMER 2\nups.status: OB\nTIMER 2\nups.status: OB LB\nTIMER 600\n",
            "ups.conf": "[u]\n\tdriver = dummy-ups\n\tport = u.seq\n\tmode = dummy-once\n",
        },
    )
    mon = upsmon_dir(tmp_path / "mon", port, "", role="primary")
    text = (
        (mon / "upsmon.conf")
        .read_text()
        .replace(f"NOTIFYCMD {mon}/notify.sh", "NOTIFYCMD /bin/sleep 600 #")
    )
    (mon / "upsmon.conf").write_text(text)
    monitor = start_upsmon(mon, state)
    start = time.monotonic()
    try:
        with contextlib.suppress(TimeoutError):
            wait_until(lambda: shutdowns(mon), 25, "SHUTDOWNCMD")
        took = time.monotonic() - start
    finally:
        monitor.stop()
        upsd.stop()
        subprocess.run(["pkill", "-f", "sleep 600"], capture_output=True)
    assert len(shutdowns(mon)) == 1
    assert took < 4 + 1 + 3  # OL 2 s, OB 2 s, then at once as primary (no secondaries)
    print(f"\n[fault] NOTIFYCMD hangs (sleep 600): shutdown still {took:.1f} s after start")


def test_powerdownflag_on_a_read_only_place(tmp_path: Path) -> None:
    port, _, state, upsd = nutwist_server(
        tmp_path,
        {"u.dev": "ups.status: OB LB\n", "ups.conf": "[u]\n\tdriver = dummy-ups\n\tport = u.dev\n"},
    )
    mon = upsmon_dir(
        tmp_path / "mon", port, "POWERDOWNFLAG /proc/nutwist-killpower\n", role="primary"
    )
    monitor = start_upsmon(mon, state)
    try:
        wait_until(lambda: shutdowns(mon), what="SHUTDOWNCMD")
        wait_until(
            lambda: "cannot write POWERDOWNFLAG" in (mon / "upsmon.log").read_text(),
            what="the POWERDOWNFLAG log line",
        )
    finally:
        monitor.stop()
        upsd.stop()
    assert len(shutdowns(mon)) == 1
    assert "cannot write POWERDOWNFLAG /proc/nutwist-killpower" in (mon / "upsmon.log").read_text()
    print("\n[fault] POWERDOWNFLAG on /proc (read-only): one clear line, SHUTDOWNCMD ran")


@pytest.mark.nut
def test_network_cut_on_battery_follows_deadtime_as_nut(tmp_path: Path) -> None:
    """Both upsmons watch as secondaries; upsd freezes (SIGSTOP: the network is cut)."""
    require_nut("upsd", "dummy-ups", "upsmon")
    port = free_port()
    conf = write_conf(
        tmp_path / "conf",
        {
            "u.seq": "ups.status: OL\nTIMER 3\nups.status: OB\nTIMER 600\n",
            "ups.conf": "[u]\n\tdriver = dummy-ups\n\tport = u.seq\n\tmode = dummy-once\n",
            "upsd.conf": f"LISTEN 127.0.0.1 {port}\n",
            "upsd.users": USERS,
        },
    )
    state = tmp_path / "state"
    state.mkdir()
    env = nut_env(conf, state)
    procs = [
        NutProcess(["/lib/nut/dummy-ups", "-a", "u", "-u", "root", "-F"], env, tmp_path / "d.log")
    ]
    wait_for_socket(state / "dummy-ups-u", probe=False)
    upsd = NutProcess(["/lib/nut/upsd", "-u", "root", "-F"], env, tmp_path / "upsd.log")
    procs.append(upsd)
    wait_for_port(port)
    ours, theirs = (
        upsmon_dir(tmp_path / "ours", port, ""),
        upsmon_dir(tmp_path / "theirs", port, ""),
    )
    procs.append(start_upsmon(ours, state))
    script = "mount -t tmpfs none /run/nut && exec /lib/nut/upsmon -F -u root"
    procs.append(
        NutProcess(
            ["unshare", "-m", "sh", "-c", script], nut_env(theirs, state), theirs / "upsmon.log"
        )
    )
    try:
        wait_until(lambda: "ONBATT" in events(ours) and "ONBATT" in events(theirs), what="ONBATT")
        time.sleep(1)  # part of the scenario: both have seen OB for a poll before the cut
        os.kill(upsd.proc.pid, signal.SIGSTOP)
        cut = time.time()
        with contextlib.suppress(TimeoutError):
            wait_until(lambda: shutdowns(ours) and shutdowns(theirs), 30, "both shutdowns")
    finally:
        try:
            os.kill(upsd.proc.pid, signal.SIGCONT)
        except ProcessLookupError:
            pass
        for p in reversed(procs):
            p.stop()
    assert len(shutdowns(ours)) == 1 and len(shutdowns(theirs)) == 1, (events(ours), events(theirs))
    t_ours, t_theirs = shutdowns(ours)[0] - cut, shutdowns(theirs)[0] - cut
    assert abs(t_ours - t_theirs) <= 2.0  # one POLLFREQ, plus whole-second clocks in NUT
    assert events(ours)[:1] == events(theirs)[:1] == ["ONBATT"]
    print(
        f"\n[fault] network cut on battery (upsd frozen): nutwist shut down {t_ours:.1f} s after, "
        f"NUT {t_theirs:.1f} s after; notifications nutwist {events(ours)}, NUT {events(theirs)}"
    )
