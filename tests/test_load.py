"""Load, all at once, bounded and loopback only; a polite upsmon must not notice.

nutwist's upsd (``twistd nut upsd``) serves many UPSes while, at the same time:
many connections poll every 5 s (from load processes of their own), a client
sends a megabyte a second of garbage, slowloris clients dribble bytes, and a
client sends requests and never reads.  Meanwhile a polite client must get
every answer within upsmon's POLLFREQ (2 s), and nutwist's upsmon watching one
UPS must see no communication trouble.

Profiles (``NUTWIST_PROFILE``): ``ci`` (default: 2,000 connections, 200 UPSes,
30 s) and ``release`` (10,000 connections, 1,000 UPSes, 10 minutes):
``NUTWIST_PROFILE=release make test PYTEST_ARGS='-q -s tests/test_load.py'``.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from support.nut import free_port, start_nutwist_upsd, wait_for_port, wait_until
from test_faults import events, rss_mb, start_upsmon, upsmon_dir, write_conf

PROFILE = os.environ.get("NUTWIST_PROFILE", "ci")
SIZES = {
    "ci": {"conns": 2000, "upses": 200, "seconds": 30},
    "release": {"conns": 10000, "upses": 1000, "seconds": 600},
}[PROFILE]
POLLFREQ = 2.0

HOLDER = r"""
import json, resource, selectors, socket, sys, time
port, conns, seconds, ups_count = (int(a) for a in sys.argv[1:5])
resource.setrlimit(resource.RLIMIT_NOFILE, (20000, 20000))
sel = selectors.DefaultSelector()
socks = []
for i in range(conns):
    s = socket.socket()
    s.setblocking(False)
    s.connect_ex(("127.0.0.1", port))
    socks.append(s)
    if i % 200 == 199:
        time.sleep(0.02)
for s in socks:
    sel.register(s, selectors.EVENT_READ)
start = time.monotonic() + 1
nxt = {s: start + 5.0 * i / conns for i, s in enumerate(socks)}
req = {s: b"GET VAR u%d battery.charge\n" % (1 + i % ups_count) for i, s in enumerate(socks)}
sent, answers, dropped, lat = {}, 0, 0, []
end = start + seconds
while time.monotonic() < end:
    now = time.monotonic()
    for s, t in nxt.items():
        if t <= now and s not in sent:
            try:
                s.send(req[s])
                sent[s] = now
            except OSError:
                pass
            nxt[s] = t + 5.0
    for key, _ in sel.select(0.05):
        s = key.fileobj
        try:
            data = s.recv(4096)
        except OSError:
            data = b""
        if not data:
            dropped += 1
            sel.unregister(s)
            nxt.pop(s, None)
            continue
        answers += data.count(b"\n")
        if s in sent:
            lat.append(time.monotonic() - sent.pop(s))
lat.sort()
print(json.dumps({"answers": answers, "dropped": dropped,
                  "p99_ms": 1000 * lat[int(0.99 * len(lat))] if lat else None}), flush=True)
"""

GARBAGE = r"""
import os, socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
end = time.monotonic() + float(sys.argv[2])
sent = 0
while time.monotonic() < end:
    t = time.monotonic()
    try:
        s.sendall(os.urandom(1 << 20))   # a megabyte a second
        sent += 1 << 20
    except OSError:
        s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
    time.sleep(max(0, 1 - (time.monotonic() - t)))
print(sent, flush=True)
"""


class Polite(threading.Thread):
    def __init__(self, port: int) -> None:
        super().__init__(daemon=True)
        self.port = port
        self.lat: list[float] = []
        self.bad = 0
        self.done = threading.Event()

    def run(self) -> None:
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=POLLFREQ)
        f = sock.makefile("rb")
        while not self.done.is_set():
            t0 = time.monotonic()
            try:
                sock.sendall(b"GET VAR u1 ups.status\n")
                ok = f.readline() == b'VAR u1 ups.status "OL"\n'
            except OSError:
                ok = False
            self.lat.append(time.monotonic() - t0)
            self.bad += not ok
            time.sleep(0.5)


def slowloris(port: int, n: int, stop: threading.Event) -> int:
    socks = [socket.create_connection(("127.0.0.1", port)) for _ in range(n)]
    sent = 0
    while not stop.wait(1.0):
        for s in socks:
            try:
                s.send(b"G")
                sent += 1
            except OSError:
                pass
    for s in socks:
        s.close()
    return sent


def test_everything_at_once_while_upsmon_polls(tmp_path: Path) -> None:
    port, upses, seconds = free_port(), SIZES["upses"], SIZES["seconds"]
    files = {
        "u.dev": "ups.status: OL\nbattery.charge: 90\n",
        "ups.conf": "".join(
            f"[u{i}]\n\tdriver = dummy-ups\n\tport = u.dev\n" for i in range(1, upses + 1)
        ),
        "upsd.conf": f"LISTEN 127.0.0.1 {port}\nMAXCONN 30000\n",
        "upsd.users": "[sec]\n\tpassword = s\n\tupsmon secondary\n[mon]\n\tpassword = mp\n\tupsmon primary\n",
    }
    conf = write_conf(tmp_path / "conf", files)
    state = tmp_path / "state"
    state.mkdir()
    upsd = start_nutwist_upsd(conf, state, tmp_path / "upsd.log")
    wait_for_port(port, timeout=60)
    mon = upsmon_dir(tmp_path / "mon", port, "")
    (mon / "upsmon.conf").write_text(
        (mon / "upsmon.conf").read_text().replace("MONITOR u@", "MONITOR u1@")
    )
    (mon / "upsmon.conf").write_text(
        (mon / "upsmon.conf").read_text().replace("POLLFREQ 1\n", "POLLFREQ 2\n")
    )
    monitor = start_upsmon(mon, state)
    wait_until(
        lambda: "logged into UPS [u1]" in (tmp_path / "upsd.log").read_text(),
        what="upsmon to log in",
    )
    rss_before = rss_mb(upsd.proc.pid)
    polite = Polite(port)
    polite.start()
    (tmp_path / "holder.py").write_text(HOLDER)
    (tmp_path / "garbage.py").write_text(GARBAGE)
    per = 1000
    holders = [
        subprocess.Popen(
            [
                sys.executable,
                str(tmp_path / "holder.py"),
                str(port),
                str(min(per, SIZES["conns"] - i)),
                str(seconds),
                str(upses),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        for i in range(0, SIZES["conns"], per)
    ]
    garbage = subprocess.Popen(
        [sys.executable, str(tmp_path / "garbage.py"), str(port), str(seconds)],
        stdout=subprocess.PIPE,
        text=True,
    )
    stop = threading.Event()
    slow_sent: list[int] = []
    slow = threading.Thread(target=lambda: slow_sent.append(slowloris(port, 50, stop)), daemon=True)
    slow.start()
    # a client that sends and never reads
    mute = socket.create_connection(("127.0.0.1", port))
    mute.setblocking(False)
    mute_sent = 0
    try:
        end = time.monotonic() + seconds
        peak = rss_before
        while time.monotonic() < end:
            try:
                mute_sent += mute.send(b"LIST VAR u1\n" * 1000)
            except OSError:
                pass
            peak = max(peak, rss_mb(upsd.proc.pid))
            time.sleep(0.2)
        stats = [
            json.loads(h.communicate(timeout=120)[0].strip().splitlines()[-1]) for h in holders
        ]
        garbage_sent = int(garbage.communicate(timeout=60)[0].strip() or 0)
    finally:
        stop.set()
        polite.done.set()
        polite.join(10)
        slow.join(10)
        mute.close()
        for p in [*holders, garbage]:
            if p.poll() is None:
                p.kill()
        monitor.stop()
        rss_after = rss_mb(upsd.proc.pid)
        upsd.stop()
    answers = sum(s["answers"] for s in stats)
    dropped = sum(s["dropped"] for s in stats)
    worst = max(polite.lat)
    print(
        f"\n[load:{PROFILE}] {SIZES['conns']} connections x {upses} UPSes for {seconds} s with 1 MB/s of "
        f"garbage ({garbage_sent >> 20} MB), 50 slowloris, a mute client ({mute_sent >> 10} kB unread): "
        f"{answers} answers, {dropped} connections dropped, pollers' p99 "
        f"{max(s['p99_ms'] or 0 for s in stats):.1f} ms; polite client {len(polite.lat)} answers, "
        f"worst {worst * 1000:.1f} ms, {polite.bad} bad; upsd RSS {rss_before:.1f} -> peak {peak:.1f} -> "
        f"{rss_after:.1f} MB; upsmon notifications {events(mon)}"
    )
    assert polite.bad == 0 and worst < POLLFREQ
    assert dropped == 0
    assert answers >= SIZES["conns"] * (seconds // 5 - 1)
    assert not [e for e in events(mon) if e in ("COMMBAD", "NOCOMM", "SHUTDOWN")]
    assert peak - rss_before < 300
