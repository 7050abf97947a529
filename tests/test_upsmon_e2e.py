"""upsmon end to end: NUT 2.8.0's C upsmon and nutwist's, side by side, on a real outage.

NUT's C dummy-ups plays a `.seq` outage (on line, on battery, low battery);
NUT's C upsd serves it.  NUT's upsmon (in a mount namespace of its own, since
NUT 2.8.0's upsmon always writes /run/nut/upsmon.pid) and nutwist's upsmon
watch it as secondaries with NOTIFYFLAG EXEC on NUT 2.8.0's types and a
SHUTDOWNCMD that records the time.  They must send the same notifications in
the same order and shut down within one POLLFREQ of each other.

The mixed cases follow: each side's upsmon as a secondary of the other side's
upsd and primary; FSD propagates, both SHUTDOWNCMDs run, the primary's last.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.nut import NutProcess, free_port, have_nut, nut_env, wait_for_port, wait_for_socket

pytestmark = [
    pytest.mark.nut,
    pytest.mark.skipif(
        not have_nut("upsd", "dummy-ups", "upsmon") or shutil.which("unshare") is None,
        reason="NUT 2.8.0's programs (and unshare) are needed",
    ),
]

BIN = Path(sys.executable).parent
SEQ = """ups.mfr: E2E
ups.status: OL
battery.charge: 100
TIMER 5
ups.status: OB
battery.charge: 60
TIMER 5
ups.status: OB LB
battery.charge: 10
TIMER 600
"""
USERS = "[pri]\n\tpassword = p\n\tupsmon primary\n[sec]\n\tpassword = s\n\tupsmon secondary\n"
TYPES = (
    "ONLINE",
    "ONBATT",
    "LOWBATT",
    "FSD",
    "COMMOK",
    "COMMBAD",
    "SHUTDOWN",
    "REPLBATT",
    "NOCOMM",
)


def upsmon_conf(d: Path, port: int, role: str) -> Path:
    user, pw = ("pri", "p") if role == "primary" else ("sec", "s")
    notify = d / "notify.sh"
    notify.write_text(
        f'#!/bin/sh\necho "$(date +%s.%N) $NOTIFYTYPE $UPSNAME $1" >> {d}/notify.log\n'
    )
    notify.chmod(0o755)
    (d / "upsmon.conf").write_text(
        f"MONITOR seq@127.0.0.1:{port} 1 {user} {pw} {role}\n"
        "POLLFREQ 1\nPOLLFREQALERT 1\nHOSTSYNC 4\nDEADTIME 6\nFINALDELAY 0\n"
        f'SHUTDOWNCMD "date +%s.%N >> {d}/shutdown.log"\n'
        f"NOTIFYCMD {notify}\n"
        f"POWERDOWNFLAG {d}/killpower\n" + "".join(f"NOTIFYFLAG {t} SYSLOG+EXEC\n" for t in TYPES)
    )
    (d / "upsmon.conf").chmod(0o600)
    return d


def nut_upsmon(d: Path, state: Path) -> NutProcess:
    """NUT's upsmon in its own mount namespace, with a private /run/nut."""
    script = "mount -t tmpfs none /run/nut && exec /lib/nut/upsmon -F -u root"
    return NutProcess(["unshare", "-m", "sh", "-c", script], nut_env(d, state), d / "upsmon.log")


def nutwist_upsmon(d: Path, state: Path) -> NutProcess:
    env = nut_env(d, state)
    env["NUT_ALTPIDPATH"] = str(d)
    return NutProcess([str(BIN / "upsmon"), "-F", "-u", "root"], env, d / "upsmon.log")


def notifications(d: Path) -> list[tuple[float, str]]:
    log = d / "notify.log"
    if not log.exists():
        return []
    out = []
    for line in log.read_text().splitlines():
        stamp, ntype, *_ = line.split(" ", 2)
        out.append((float(stamp), ntype))
    return sorted(out)


def shutdowns(d: Path) -> list[float]:
    log = d / "shutdown.log"
    return [float(x) for x in log.read_text().split()] if log.exists() else []


def wait_until(check: object, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.2)


@pytest.fixture
def nut_server(tmp_path: Path) -> Iterator[tuple[int, Path, Path, int]]:
    """NUT's upsd on the outage, and nutwist's drop-in upsd on the same driver socket."""
    conf, state = tmp_path / "conf", tmp_path / "state"
    conf.mkdir()
    state.mkdir()
    port = free_port()
    (conf / "outage.seq").write_text(SEQ)
    (conf / "ups.conf").write_text(
        "[seq]\n\tdriver = dummy-ups\n\tport = outage.seq\n\tmode = dummy-once\n"
    )
    (conf / "upsd.conf").write_text(f"LISTEN 127.0.0.1 {port}\n")
    (conf / "upsd.users").write_text(USERS)
    for f in conf.iterdir():
        f.chmod(0o600)
    env = nut_env(conf, state)
    procs = [
        NutProcess(["/lib/nut/dummy-ups", "-a", "seq", "-u", "root", "-F"], env, tmp_path / "d.log")
    ]
    try:
        wait_for_socket(state / "dummy-ups-seq", probe=False)
        procs.append(NutProcess(["/lib/nut/upsd", "-u", "root", "-F"], env, tmp_path / "upsd.log"))
        nw_conf = tmp_path / "nwconf"
        nw_conf.mkdir()
        nw_port = free_port()
        for name in ("ups.conf", "upsd.users"):
            (nw_conf / name).write_text((conf / name).read_text())
        (nw_conf / "upsd.conf").write_text(f"LISTEN 127.0.0.1 {nw_port}\n")
        for f in nw_conf.iterdir():
            f.chmod(0o600)
        procs.append(
            NutProcess(
                [str(BIN / "upsd"), "-F", "-u", "root"],
                nut_env(nw_conf, state),
                tmp_path / "nw.log",
            )
        )
        wait_for_port(port)
        wait_for_port(nw_port)
        yield port, state, tmp_path, nw_port
    finally:
        for p in reversed(procs):
            p.stop()


def test_same_notifications_and_shutdown_as_nut(nut_server: tuple[int, Path, Path, int]) -> None:
    port, state, tmp, _ = nut_server
    theirs, ours = tmp / "nut", tmp / "nutwist"
    theirs.mkdir()
    ours.mkdir()
    procs = [
        nut_upsmon(upsmon_conf(theirs, port, "secondary"), state),
        nutwist_upsmon(upsmon_conf(ours, port, "secondary"), state),
    ]
    try:
        wait_until(lambda: shutdowns(theirs) and shutdowns(ours), 40)
        wait_until(
            lambda: all(
                [t for _, t in notifications(d)][-1:] == ["SHUTDOWN"] for d in (theirs, ours)
            ),
            5,
        )
    finally:
        for p in procs:
            p.stop()
    n_theirs, n_ours = notifications(theirs), notifications(ours)
    assert [t for _, t in n_ours] == [t for _, t in n_theirs], (
        (theirs / "upsmon.log").read_text()[-2000:],
        (ours / "upsmon.log").read_text()[-2000:],
    )
    assert [t for _, t in n_ours] == ["ONBATT", "LOWBATT", "SHUTDOWN"]
    assert len(shutdowns(ours)) == 1 and len(shutdowns(theirs)) == 1
    gap = shutdowns(ours)[0] - shutdowns(theirs)[0]
    print(
        f"\n[e2e] same notifications {[t for _, t in n_ours]}; SHUTDOWNCMD {gap:+.2f} s from NUT's"
    )
    assert abs(gap) <= 1.0 + 0.5  # one POLLFREQ
    # the privileged side wrote NUT's flag, which `upsmon -K` recognises
    assert (
        (ours / "killpower").read_text()
        == (theirs / "killpower").read_text()
        == "upsmon-shutdown-file"
    )
    env = nut_env(ours, state)
    assert subprocess.run([str(BIN / "upsmon"), "-K"], env=env, capture_output=True).returncode == 0
    assert subprocess.run(["/lib/nut/upsmon", "-K"], env=env, capture_output=True).returncode == 0


@pytest.mark.parametrize("primary_is", ["nut", "nutwist"])
def test_mixed_primary_and_secondary(
    nut_server: tuple[int, Path, Path, int], primary_is: str
) -> None:
    """NUT's primary on NUT's upsd with nutwist's secondary; nutwist's primary on nutwist's
    upsd with NUT's secondary."""
    nut_port, state, tmp, nw_port = nut_server
    port = nut_port if primary_is == "nut" else nw_port
    pri, sec = tmp / "pri", tmp / "sec"
    pri.mkdir()
    sec.mkdir()
    upsmon_conf(pri, port, "primary")
    upsmon_conf(sec, port, "secondary")
    start_pri = nut_upsmon if primary_is == "nut" else nutwist_upsmon
    start_sec = nutwist_upsmon if primary_is == "nut" else nut_upsmon
    procs = [start_pri(pri, state), start_sec(sec, state)]
    try:
        wait_until(lambda: shutdowns(pri) and shutdowns(sec), 40)
    finally:
        for p in procs:
            p.stop()
    assert len(shutdowns(sec)) == 1 and len(shutdowns(pri)) == 1
    assert shutdowns(pri)[0] >= shutdowns(sec)[0]  # the primary's runs last
    # the secondary saw the primary's FSD
    assert "FSD" in [t for _, t in notifications(sec)]
