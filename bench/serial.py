"""200 simulated serial UPSes: nutwist's nutdrv_qx in one process against NUT's, one process each.

One simulator process serves N Megatec UPSes on N pseudo-terminals (one
thread, one select loop).  Each side gets the same ups.conf shape (N sections,
``driver = nutdrv_qx``, ``protocol = megatec``) and is measured the same way,
in the same run:

* start: from launch until every UPS has data: NUT's drivers create their
  socket only then (they are launched in parallel batches of 50); nutwist's
  upsd is asked for every UPS's ups.status;
* memory: PSS summed over the driver processes (smaps_rollup);
* idle CPU: the CPU time the driver processes use over a quiet window (each
  still polls its UPS every 2 s), from the scheduler's exact per-thread
  accounting, as a share of one core; the simulator's own CPU is reported
  apart.

Usage: python -m bench.serial [--count 200] [--idle 20] [--only nut|nutwist]
"""

from __future__ import annotations

import argparse
import os
import resource
import select
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import free_port, nutwist_upsd_argv
from bench.drivers import pss_kb

ROOT = Path(__file__).resolve().parent.parent


def cpu_seconds(pid: int) -> float:
    """CPU time of a process and its threads, from the scheduler (nanoseconds, exact):
    tick-sampled utime/stime miss the short bursts of a driver that polls every 2 s."""
    total = 0
    try:
        for task_id in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task_id}/schedstat") as f:
                total += int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        pass
    return total / 1e9


def upsd_port(conf: Path) -> int:
    return int((conf / "upsd.conf").read_text().split()[-1])


def wait_data(port: int, names: list[str], timeout: float) -> None:
    """Until upsd gives every UPS's ups.status (its driver found the device and polled it)."""
    import socket

    deadline = time.monotonic() + timeout
    pending = list(names)
    while pending:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
                f = s.makefile("rwb")
                still = []
                for name in pending:
                    f.write(f"GET VAR {name} ups.status\n".encode())
                f.flush()
                for name in pending:
                    if not f.readline().startswith(b"VAR "):
                        still.append(name)
                pending = still
        except OSError:
            pass
        if pending:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(pending)} UPSes never had data")
            time.sleep(0.05)


def serve(directory: Path, count: int) -> None:
    """The simulator process: N Megatec UPSes, one select loop."""
    sys.path.insert(0, str(ROOT / "tests"))
    from support.sim.megatec import MegatecSim

    sims = []
    for i in range(count):
        sim = MegatecSim(directory, name=f"tty{i:04d}")
        sim._open_pty()
        sims.append(sim)
    by_fd = {s.master: s for s in sims}
    bufs = {fd: b"" for fd in by_fd}
    print("ready", flush=True)
    while True:
        ready, _, _ = select.select(list(by_fd), [], [], 1.0)
        for fd in ready:
            try:
                data = os.read(fd, 4096)
            except OSError:
                continue
            bufs[fd] += data
            while b"\r" in bufs[fd]:
                cmd, _, bufs[fd] = bufs[fd].partition(b"\r")
                reply = by_fd[fd].answer(cmd + b"\r")
                if reply:
                    try:
                        os.write(fd, reply)
                    except OSError:
                        pass


def make_conf(tmp: Path, ttys: Path, count: int) -> tuple[Path, list[str]]:
    conf = tmp / "conf"
    conf.mkdir()
    names = [f"s{i:04d}" for i in range(count)]
    with open(conf / "ups.conf", "w") as f:
        for i, name in enumerate(names):
            f.write(
                f"[{name}]\n\tdriver = nutdrv_qx\n\tport = {ttys / f'tty{i:04d}'}\n"
                "\tprotocol = megatec\n"
            )
    (conf / "upsd.conf").write_text(f"LISTEN 127.0.0.1 {free_port()}\n")
    (conf / "upsd.users").write_text("")
    return conf, names


def wait_all(state: Path, names: list[str], timeout: float) -> float:
    t0 = time.monotonic()
    pending = set(names)
    while pending:
        pending = {n for n in pending if not (state / f"nutdrv_qx-{n}").exists()}
        if time.monotonic() - t0 > timeout:
            raise TimeoutError(f"{len(pending)} drivers never started")
        time.sleep(0.05)
    return time.monotonic() - t0


def measure(
    label: str, pids: list[int], sim_pid: int, start: float, idle: float
) -> dict[str, float]:
    time.sleep(5)  # let the first polls settle
    pss = sum(pss_kb(p) for p in pids) / 1024
    c0 = sum(cpu_seconds(p) for p in pids)
    s0 = cpu_seconds(sim_pid)
    time.sleep(idle)
    cpu = 100 * (sum(cpu_seconds(p) for p in pids) - c0) / idle
    sim = 100 * (cpu_seconds(sim_pid) - s0) / idle
    res = {
        "start_s": start,
        "pss_mb": pss,
        "idle_cpu_pct": cpu,
        "sim_cpu_pct": sim,
        "processes": len(pids),
    }
    print(f"{label:8s} " + "  ".join(f"{k}={v:.2f}" for k, v in res.items()), flush=True)
    return res


def run_nutwist(
    tmp: Path, conf: Path, names: list[str], sim_pid: int, idle: float
) -> dict[str, float]:
    state = tmp / "state-nutwist"
    state.mkdir()
    t0 = time.monotonic()
    with open(tmp / "nutwist.log", "wb") as log:
        proc = subprocess.Popen(
            nutwist_upsd_argv(conf, state), stdout=log, stderr=subprocess.STDOUT, cwd=tmp
        )
    try:
        # the sockets exist before the drivers have found their devices: wait for data
        wait_all(state, names, 300)
        wait_data(upsd_port(conf), names, 300)
        return measure("nutwist", [proc.pid], sim_pid, time.monotonic() - t0, idle)
    finally:
        proc.terminate()
        proc.wait(60)


def run_nut(tmp: Path, conf: Path, names: list[str], sim_pid: int, idle: float) -> dict[str, float]:
    state = tmp / "state-nut"
    state.mkdir()
    env = dict(
        os.environ, NUT_CONFPATH=str(conf), NUT_STATEPATH=str(state), NUT_ALTPIDPATH=str(state)
    )
    procs: list[subprocess.Popen[bytes]] = []
    t0 = time.monotonic()
    try:
        for i in range(0, len(names), 50):
            for name in names[i : i + 50]:
                procs.append(
                    subprocess.Popen(
                        ["/lib/nut/nutdrv_qx", "-a", name, "-u", "root", "-F"],
                        env=env,
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    )
                )
            wait_all(state, names[i : i + 50], 300)
        return measure("NUT", [p.pid for p in procs], sim_pid, time.monotonic() - t0, idle)
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
    ap.add_argument("--count", type=int, default=200)
    ap.add_argument("--idle", type=float, default=20)
    ap.add_argument("--only", choices=["nut", "nutwist"])
    ap.add_argument("--serve", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if args.serve:
        serve(args.serve, args.count)
        return
    tmp = Path(tempfile.mkdtemp(prefix="nws"))
    results = {}
    try:
        for side, run in (("nutwist", run_nutwist), ("nut", run_nut)):
            if args.only and args.only != side:
                continue
            if side == "nut" and not Path("/lib/nut/nutdrv_qx").exists():
                continue
            ttys = tmp / f"tty-{side}"
            ttys.mkdir()
            sim = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "bench.serial",
                    "--count",
                    str(args.count),
                    "--serve",
                    str(ttys),
                ],
                stdout=subprocess.PIPE,
                cwd=ROOT,
            )
            try:
                assert sim.stdout is not None
                sim.stdout.readline()
                conf, names = (
                    make_conf(tmp / side, ttys, args.count)
                    if (tmp / side).mkdir() is None
                    else (None, [])
                )
                assert conf is not None
                if side == "nutwist":
                    print(f"{args.count} Megatec UPSes on ptys; {os.cpu_count()} cores", flush=True)
                results[side] = run(tmp / side, conf, names, sim.pid, args.idle)
            finally:
                sim.terminate()
                sim.wait(10)
        if len(results) == 2:
            ours, theirs = results["nutwist"], results["nut"]
            print(
                "ratio NUT/nutwist: "
                + "  ".join(
                    f"{k}={theirs[k] / ours[k]:.1f}x"
                    for k in ("start_s", "pss_mb", "idle_cpu_pct")
                    if ours[k]
                )
            )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
