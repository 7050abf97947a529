"""1,000 dummy-ups drivers: nutwist in one process against NUT's C drivers, one process each.

Both sides read the same ups.conf (N sections, each a DDL device dump) and are
measured the same way, in the same run:

* start: from launch until every driver socket exists (NUT's drivers are
  launched in parallel batches, not one by one, to save time; say so);
* memory: PSS summed over the processes (smaps_rollup);
* idle CPU: CPU seconds used over a quiet window, as a share of one core;
* latency: a SET sent on one connection to a driver's socket until the new
  value reaches a second listener of that driver (N drivers running).

Usage: python -m bench.drivers [--count 1000] [--samples 300] [--idle 20] [--only nut|nutwist]
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from tests.support.net import nutwist_upsd_argv

ROOT = Path(__file__).resolve().parent.parent
DDL = ROOT.parent / "shared" / "data" / "nut-ddl"
TICK = os.sysconf("SC_CLK_TCK")


def pss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        return 0
    return 0


def system_busy() -> float:
    """CPU seconds the whole machine has spent busy (all cores), from /proc/stat."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    return (user + nice + system + irq + softirq + steal) / TICK


def idle_share(seconds: float) -> float:
    """Share of one core the machine uses over ``seconds`` (percent)."""
    b0 = system_busy()
    time.sleep(seconds)
    return 100 * (system_busy() - b0) / seconds


def make_conf(tmp: Path, count: int) -> tuple[Path, list[str]]:
    conf = tmp / "conf"
    conf.mkdir()
    files = sorted(DDL.rglob("*.dev"))
    names = []
    with open(conf / "ups.conf", "w") as f:
        for i in range(count):
            name = f"d{i:04d}"
            names.append(name)
            f.write(
                f'[{name}]\n\tdriver = dummy-ups\n\tport = {files[i % len(files)]}\n\tdesc = "bench"\n'
            )
    (conf / "upsd.conf").write_text("")
    (conf / "upsd.users").write_text("")
    return conf, names


def wait_all(state: Path, names: list[str], timeout: float) -> float:
    t0 = time.monotonic()
    pending = set(names)
    while pending:
        pending = {n for n in pending if not (state / f"dummy-ups-{n}").exists()}
        if time.monotonic() - t0 > timeout:
            raise TimeoutError(f"{len(pending)} drivers never started")
        time.sleep(0.05)
    return time.monotonic() - t0


def latency(state: Path, names: list[str], samples: int) -> list[float]:
    """SET on connection A, wait for the SETINFO on connection B; seconds each."""
    rng = random.Random(1)
    chosen = rng.sample(names, min(samples, len(names)))
    out = []
    peers = []
    for i, name in enumerate(chosen):
        path = str(state / f"dummy-ups-{name}")
        a = socket.socket(socket.AF_UNIX)
        b = socket.socket(socket.AF_UNIX)
        a.connect(path)
        b.connect(path)
        b.settimeout(10)
        peers += [a, b]
        time.sleep(0.01)
        want = f'SETINFO ups.id "bench{i}"\n'.encode()
        t0 = time.perf_counter()
        a.sendall(f'SET ups.id "bench{i}"\n'.encode())
        buf = b""
        while want not in buf:
            chunk = b.recv(65536)
            if not chunk:
                raise RuntimeError(f"{name} closed the connection")
            buf += chunk
        out.append(time.perf_counter() - t0)
    # keep the peers open until the driver processes are gone: NUT 2.8.0's C drivers
    # abort when they broadcast to a peer that went away
    latency.peers = peers  # type: ignore[attr-defined]
    return out


def measure(
    label: str,
    pids: list[int],
    state: Path,
    names: list[str],
    start: float,
    args: argparse.Namespace,
) -> dict[str, float]:
    time.sleep(3)  # let the first polls settle
    pss = sum(pss_kb(p) for p in pids) / 1024
    # per-process accounting misses the tiny slices of 1,000 processes: measure the
    # whole (otherwise quiet) machine and subtract what it used before any driver ran
    busy = max(0.0, idle_share(args.idle) - args.baseline)
    lat = sorted(latency(state, names, args.samples))
    res = {
        "start_s": start,
        "pss_mb": pss,
        "idle_cpu_pct": busy,
        "lat_p50_ms": 1000 * statistics.median(lat),
        "lat_p99_ms": 1000 * lat[min(len(lat) - 1, int(0.99 * len(lat)))],
        "processes": len(pids),
    }
    print(f"{label:8s} " + "  ".join(f"{k}={v:.1f}" for k, v in res.items()), flush=True)
    return res


def run_nutwist(
    tmp: Path, conf: Path, names: list[str], args: argparse.Namespace
) -> dict[str, float]:
    state = tmp / "state-nutwist"
    state.mkdir()
    t0 = time.monotonic()
    argv = nutwist_upsd_argv(conf, state)
    with open(tmp / "nutwist.log", "wb") as log:
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, cwd=tmp)
    try:
        wait_all(state, names, 300)
        start = time.monotonic() - t0
        return measure("nutwist", [proc.pid], state, names, start, args)
    finally:
        proc.terminate()
        proc.wait(60)


def run_nut(tmp: Path, conf: Path, names: list[str], args: argparse.Namespace) -> dict[str, float]:
    state = tmp / "state-nut"
    state.mkdir()
    env = dict(
        os.environ, NUT_CONFPATH=str(conf), NUT_STATEPATH=str(state), NUT_ALTPIDPATH=str(state)
    )
    procs: list[subprocess.Popen[bytes]] = []
    t0 = time.monotonic()
    try:
        # launched in parallel batches of 100; one by one takes NUT about 17 minutes
        for i in range(0, len(names), 100):
            for name in names[i : i + 100]:
                procs.append(
                    subprocess.Popen(
                        ["/lib/nut/dummy-ups", "-a", name, "-u", "root", "-F"],
                        env=env,
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    )
                )
            wait_all(state, names[i : i + 100], 300)
        wait_all(state, names, 300)
        start = time.monotonic() - t0
        return measure("NUT", [p.pid for p in procs], state, names, start, args)
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=1000)
    ap.add_argument("--samples", type=int, default=300)
    ap.add_argument("--idle", type=float, default=20)
    ap.add_argument("--only", choices=["nut", "nutwist"])
    args = ap.parse_args()
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    tmp = Path(tempfile.mkdtemp(prefix="nwb"))
    try:
        conf, names = make_conf(tmp, args.count)
        args.baseline = idle_share(min(10.0, args.idle))
        print(
            f"{args.count} dummy-ups drivers on DDL dumps; {os.cpu_count()} cores; "
            f"machine baseline {args.baseline:.1f}% of a core (subtracted)",
            flush=True,
        )
        ours = run_nutwist(tmp, conf, names, args) if args.only != "nut" else None
        theirs = (
            run_nut(tmp, conf, names, args)
            if args.only != "nutwist" and shutil.which("/lib/nut/dummy-ups")
            else None
        )
        if ours and theirs:
            print(
                "ratio NUT/nutwist: "
                + "  ".join(
                    f"{k}={theirs[k] / ours[k]:.1f}x"
                    for k in ("start_s", "pss_mb", "idle_cpu_pct", "lat_p99_ms")
                    if ours[k]
                )
            )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
