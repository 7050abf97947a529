"""upsd throughput and latency: NUT's C upsd against nutwist's, in the same run.

Both servers read the same NUT C dummy-ups socket (a 30-variable UPS), so only
the server differs.  The load client is a non-blocking selectors loop in its
own processes (two, one per core, each with half of the connections).

* GET VAR request/response on 64 connections, one request in flight each:
  requests per second, three paired runs (NUT, then nutwist, three times), the
  median ratio and the spread printed;
* 32 requests in flight on each of 8 connections: requests per second;
* LIST VAR of the 30-variable UPS on one connection: p50 / p99 latency;
* 10,000 connections polling every 5 s: latency, RSS, dropped connections.

The load client for the rates is ``bench/rrload.c``, compiled with the
system's C compiler at start, so that it drives NUT's C upsd to its full rate;
without a compiler the Python client below stands in (and says so).

Usage: python -m bench.upsd [--seconds 10] [--conns 10000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import selectors
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from tests.support.net import free_port, nutwist_upsd_argv, wait_for_answers, wait_for_port

ROOT = Path(__file__).resolve().parent.parent
DEV = (
    "".join(f"bench.var{i:02d}: value {i}\n" for i in range(27))
    + "ups.status: OL\nups.load: 30\nbattery.charge: 100\n"
)


def load(port: int, conns: int, pipeline: int, seconds: float, out: mp.Queue) -> None:  # type: ignore[type-arg]
    """Each connection sends ``pipeline`` requests, waits for as many answers, repeats."""
    sel = selectors.DefaultSelector()
    request = b"GET VAR bench ups.status\n" * pipeline
    state = {}
    for _ in range(conns):
        s = socket.create_connection(("127.0.0.1", port))
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
        state[s] = [0, b""]
        s.sendall(request)
    done = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for key, _ in sel.select(0.5):
            s = key.fileobj
            data = s.recv(65536)  # type: ignore[union-attr]
            if not data:
                sel.unregister(s)
                continue
            st = state[s]  # type: ignore[index]
            n = data.count(b"\n")
            st[0] += n
            if st[0] >= pipeline:
                done += pipeline
                st[0] -= pipeline
                s.sendall(request)  # type: ignore[union-attr]
    out.put(done)


def build_rrload(tmp: Path) -> Path | None:
    """Compile bench/rrload.c into ``tmp``; None when there is no C compiler."""
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        return None
    exe = tmp / "rrload"
    subprocess.run([cc, "-O2", "-o", str(exe), str(ROOT / "bench" / "rrload.c")], check=True)
    return exe


RRLOAD: Path | None = None
REQUEST = "GET VAR bench ups.status"


def rate(port: int, conns: int, pipeline: int, seconds: float) -> float:
    if RRLOAD is not None:
        out = subprocess.run(
            [str(RRLOAD), str(port), str(conns), str(pipeline), str(seconds), REQUEST],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        return float(json.loads(out)["rps"])
    return py_rate(port, conns, pipeline, seconds)


def py_rate(port: int, conns: int, pipeline: int, seconds: float) -> float:
    q: mp.Queue = mp.Queue()  # type: ignore[type-arg]
    procs = [
        mp.Process(target=load, args=(port, conns // 2, pipeline, seconds, q)) for _ in range(2)
    ]
    for p in procs:
        p.start()
    total = sum(q.get(timeout=seconds + 60) for _ in procs)
    for p in procs:
        p.join()
    return total / seconds


def list_latency(port: int, n: int = 300) -> tuple[float, float]:
    s = socket.create_connection(("127.0.0.1", port))
    f = s.makefile("rb")
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        s.sendall(b"LIST VAR bench\n")
        while not f.readline().startswith(b"END LIST"):
            pass
        times.append(time.perf_counter() - t0)
    s.close()
    times.sort()
    return 1000 * statistics.median(times), 1000 * times[int(0.99 * len(times))]


def many(port: int, conns: int, period: float, seconds: float, pid: int) -> dict[str, float]:
    """``conns`` connections each polling GET VAR every ``period`` s: latency, RSS, drops.

    Polls are kept in a heap by due time, and each one is timed from its own send, so the
    generator's cost per loop stays small next to the latency it measures.
    """
    import heapq
    import resource

    resource.setrlimit(resource.RLIMIT_NOFILE, (20000, 20000))
    sel = selectors.DefaultSelector()
    socks = []
    for i in range(conns):
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", port))
        socks.append(s)
        if i % 200 == 199:
            time.sleep(0.05)  # NUT's listen backlog is 16: connect in gentle batches
    start = time.monotonic() + 2
    due = [(start + period * i / conns, i) for i in range(conns)]  # already a heap
    sent_at: dict[int, float] = {}
    alive = set(range(conns))
    lat: list[float] = []
    dropped = 0
    for i, s in enumerate(socks):
        sel.register(s, selectors.EVENT_READ, i)
    end = start + seconds
    peak = 0.0
    next_rss = 0.0
    now = time.monotonic()
    while now < end:
        while due and due[0][0] <= now:
            _, i = heapq.heappop(due)
            if i not in alive:
                continue
            try:
                socks[i].send(b"GET VAR bench ups.status\n")
                sent_at[i] = time.monotonic()
            except OSError:
                dropped += 1
                alive.discard(i)
        wait = max(0.0, min(due[0][0] if due else end, end) - time.monotonic())
        for key, _ in sel.select(wait):
            i = key.data
            try:
                data = socks[i].recv(4096)
            except OSError:
                data = b""
            if not data:
                sel.unregister(socks[i])
                dropped += 1
                alive.discard(i)
                continue
            t0 = sent_at.pop(i, None)
            if t0 is not None:
                lat.append(time.monotonic() - t0)
                heapq.heappush(due, (t0 + period, i))
        now = time.monotonic()
        if now >= next_rss:
            peak = max(peak, rss_mb(pid))
            next_rss = now + 0.5
    for s in socks:
        s.close()
    lat.sort()
    return {
        "conns": conns,
        "answers": len(lat),
        "p50_ms": 1000 * statistics.median(lat) if lat else -1,
        "p99_ms": 1000 * lat[int(0.99 * len(lat))] if lat else -1,
        "rss_mb": peak,
        "dropped": dropped,
    }


def rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--rounds", type=int, default=3, help="paired request/response runs")
    ap.add_argument(
        "--conns", type=int, default=10000, help="connections for the many-clients run (0: skip)"
    )
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="nwu"))
    procs = []
    global RRLOAD
    try:
        RRLOAD = build_rrload(tmp)
        if RRLOAD is None:
            print("no C compiler: the Python load client stands in (it cannot saturate NUT's upsd)")
        state = tmp / "state"
        state.mkdir()
        (tmp / "bench.dev").write_text(DEV)
        ports = {}
        confs = {}
        for name in ("nut", "nutwist"):
            conf = tmp / name
            conf.mkdir()
            ports[name] = free_port()
            (conf / "ups.conf").write_text(
                f"[bench]\n\tdriver = dummy-ups\n\tport = {tmp / 'bench.dev'}\n"
            )
            (conf / "upsd.conf").write_text(f"LISTEN 127.0.0.1 {ports[name]}\nMAXCONN 19000\n")
            (conf / "upsd.users").write_text("")
            confs[name] = conf
        env = dict(os.environ, NUT_STATEPATH=str(state), NUT_ALTPIDPATH=str(state))
        devnull = subprocess.DEVNULL
        procs.append(
            subprocess.Popen(
                ["/lib/nut/dummy-ups", "-a", "bench", "-u", "root", "-F"],
                env=dict(env, NUT_CONFPATH=str(confs["nut"])),
                stdout=devnull,
                stderr=devnull,
            )
        )
        while not (state / "dummy-ups-bench").exists():
            time.sleep(0.1)
        time.sleep(0.5)
        procs.append(
            subprocess.Popen(
                ["/lib/nut/upsd", "-u", "root", "-F"],
                env=dict(env, NUT_CONFPATH=str(confs["nut"])),
                stdout=devnull,
                stderr=devnull,
            )
        )
        procs.append(
            subprocess.Popen(
                nutwist_upsd_argv(confs["nutwist"], state),
                env=dict(env, NUT_CONFPATH=str(confs["nutwist"])),
                stdout=devnull,
                stderr=devnull,
                cwd=tmp,
            )
        )
        for port in ports.values():
            wait_for_port(port)
            wait_for_answers(
                port, {b"GET VAR bench ups.status\n": b'VAR bench ups.status "OL"\n'}, timeout=30
            )
        pids = {"nut": procs[1].pid, "nutwist": procs[2].pid}
        ratios = []
        for rnd in range(args.rounds):
            rr = {name: rate(port, 64, 1, args.seconds) for name, port in ports.items()}
            ratios.append(rr["nutwist"] / rr["nut"])
            print(
                f"request/response, 64 connections x 1 in flight, run {rnd + 1}: "
                f"NUT {rr['nut']:,.0f} req/s, nutwist {rr['nutwist']:,.0f} req/s, "
                f"ratio {ratios[-1]:.2f}x",
                flush=True,
            )
        results: dict[str, dict[str, float]] = {}
        for name, port in ports.items():
            r = {"pipelined32_8conn_rps": rate(port, 8, 32, args.seconds)}
            r["listvar_p50_ms"], r["listvar_p99_ms"] = list_latency(port)
            results[name] = r
            print(f"{name:8s} " + "  ".join(f"{k}={v:,.2f}" for k, v in r.items()), flush=True)
        ours, theirs = results["nutwist"], results["nut"]
        print(
            f"ratio nutwist/NUT: request/response median {statistics.median(ratios):.2f}x "
            f"(runs {', '.join(f'{x:.2f}' for x in ratios)})  "
            + "  ".join(f"{k}={ours[k] / theirs[k]:.2f}x" for k in ours if theirs[k]),
            flush=True,
        )
        if args.conns:
            for name, port in ports.items():
                m = many(port, args.conns, 5.0, args.seconds * 2, pids[name])
                print(
                    f"{name:8s} {args.conns} connections polling every 5 s: "
                    + "  ".join(f"{k}={v:,.1f}" for k, v in m.items()),
                    flush=True,
                )
    finally:
        for p in reversed(procs):
            p.terminate()
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
