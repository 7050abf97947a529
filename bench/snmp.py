"""1,000 SNMP UPSes polled by one nutwist process, beside NUT's C snmp-ups processes.

Stand-in agents (nutwist's simulated agent, each in a process of its own) serve
the RFC 1628 recording once per community string, so one UDP port plays many
UPSes.  In the same run:

* nutwist: one process runs ``--count`` snmp-ups drivers (each with its driver
  socket) on one shared SNMP engine; ``pollinterval = 2``, ``pollfreq = 0``, so
  each UPS is walked every 2 s.  Measured over ``--seconds`` after a warm-up:
  CPU (share of one core), memory (PSS), walks completed against the ideal
  count, and the share of walks that started within 2.5 s of the previous one
  ("on time");
* NUT: ``--nut`` C snmp-ups processes, one per UPS, same settings, measured the
  same way (CPU, PSS; walks counted from the agent's requests), and the figures
  per UPS scaled to ``--count``.

Usage: python -m bench.snmp [--count 1000] [--nut 50] [--seconds 30] [--agents 2]
"""

from __future__ import annotations

import argparse
import itertools
import json
import multiprocessing
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RECORDING = ROOT / "tests" / "data" / "snmp" / "ietf-ups.snmprec"
TICK = os.sysconf("SC_CLK_TCK")
POLLINTERVAL = 2


def pss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        return 0
    return 0


def cpu_seconds(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICK
    except OSError:
        return 0.0


def run_agent(port: int, communities: list[str], counts: Any) -> None:
    """One agent process serving every community in ``communities``."""
    from nutwist.drivers.snmp.simagent import Agent, load_snmprec

    values = load_snmprec(RECORDING)
    agent = Agent(port=port)
    for c in communities:
        agent.add_device(c, values)
    real = agent.answer
    per: dict[bytes, int] = {}

    def answer(data: bytes) -> bytes | None:
        from nutwist.drivers.snmp import ber

        try:
            community = ber.decode_message(data).community
        except ber.BerError:
            community = b""
        per[community] = per.get(community, 0) + 1
        return real(data)

    agent.answer = answer  # type: ignore[method-assign]
    agent.start()
    while True:
        time.sleep(1)
        counts[port] = json.dumps({k.decode(): v for k, v in per.items()})


def nutwist_side(count: int, ports: list[int], warmup: float, seconds: float) -> None:
    """The nutwist process: ``count`` drivers on one engine; prints its figures as JSON."""
    from twisted.internet import reactor

    from nutwist.config.ups import UpsSection
    from nutwist.drivers.snmp.driver import SnmpUps
    from nutwist.services.driver import DriverService

    state = tempfile.mkdtemp(prefix="bench-snmp-")
    starts: dict[str, list[float]] = {}
    ends: dict[str, list[float]] = {}

    class Timed(SnmpUps):
        async def _poll_once(self) -> None:
            before = self.lastpoll
            t0 = time.monotonic()
            await super()._poll_once()
            if self.lastpoll != before:
                starts.setdefault(self.upsname, []).append(t0)
                ends.setdefault(self.upsname, []).append(time.monotonic())

    services = []
    for i in range(count):
        port = ports[i % len(ports)]
        values = {
            "driver": "snmp-ups",
            "port": f"127.0.0.1:{port}",
            "community": f"ups{i}",
            "pollfreq": "0",
            "pollinterval": str(POLLINTERVAL),
            "snmp_retries": "1",
        }
        drv = Timed(f"ups{i}", UpsSection(f"ups{i}", i + 1, values=values))
        services.append(DriverService(drv, state))
    figures: dict[str, Any] = {}

    def start() -> None:
        for s in services:
            s.startService()

    def window_start() -> None:
        figures["t0"] = time.monotonic()
        figures["cpu0"] = _own_cpu()

    def window_end() -> None:
        t1 = time.monotonic()
        t0 = figures["t0"]
        cpu = _own_cpu() - figures["cpu0"]
        walks = on_time = gaps = 0
        durations = []
        for name in starts:
            s = [x for x in starts[name] if t0 <= x <= t1]
            e = [y for x, y in zip(starts[name], ends[name], strict=True) if t0 <= x <= t1]
            walks += len(s)
            durations.extend(b - a for a, b in zip(s, e, strict=True))
            for a, b in itertools.pairwise(s):
                gaps += 1
                on_time += b - a <= POLLINTERVAL + 0.5
        durations.sort()
        engine = services[0].driver.engine
        out = {
            "ups": count,
            "seconds": t1 - t0,
            "cpu_share": cpu / (t1 - t0),
            "pss_kb": pss_kb(os.getpid()),
            "walks": walks,
            "ideal_walks": count * (t1 - t0) / POLLINTERVAL,
            "on_time": on_time / gaps if gaps else 0.0,
            "walk_p50": durations[len(durations) // 2] if durations else None,
            "walk_p99": durations[int(len(durations) * 0.99)] if durations else None,
            "stale": sum(1 for s in services if s.driver.stale),
            "requests": engine.stats.sent if engine else 0,
            "timeouts": engine.stats.timeouts if engine else 0,
            "queued_max": engine.stats.queued_max if engine else 0,
        }
        print(json.dumps(out), flush=True)
        reactor.stop()

    reactor.callWhenRunning(start)
    reactor.callLater(warmup, window_start)
    reactor.callLater(warmup + seconds, window_end)
    reactor.run()
    shutil.rmtree(state, ignore_errors=True)


def _own_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def nut_side(n: int, ports: list[int], warmup: float, seconds: float, tmp: Path) -> dict[str, Any]:
    conf, state = tmp / "conf", tmp / "state"
    conf.mkdir()
    state.mkdir()
    sections = []
    for i in range(n):
        port = ports[i % len(ports)]
        sections.append(
            f"[c{i}]\n\tdriver = snmp-ups\n\tport = 127.0.0.1:{port}\n\tcommunity = c{i}\n"
            f"\tpollfreq = 0\n\tpollinterval = {POLLINTERVAL}\n\tsnmp_retries = 1\n"
            "\tsynchronous = yes\n"
        )
    (conf / "ups.conf").write_text("".join(sections))
    env = dict(os.environ, NUT_CONFPATH=str(conf), NUT_STATEPATH=str(state))
    procs = [
        subprocess.Popen(
            ["/lib/nut/snmp-ups", "-a", f"c{i}", "-u", "root", "-F"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for i in range(n)
    ]
    time.sleep(warmup)
    cpu0 = sum(cpu_seconds(p.pid) for p in procs)
    t0 = time.monotonic()
    time.sleep(seconds)
    cpu = sum(cpu_seconds(p.pid) for p in procs) - cpu0
    t1 = time.monotonic()
    pss = sum(pss_kb(p.pid) for p in procs)
    alive = sum(1 for p in procs if p.poll() is None)
    for p in procs:
        p.terminate()
    for p in procs:
        p.wait(10)
    return {
        "ups": n,
        "seconds": t1 - t0,
        "cpu_share": cpu / (t1 - t0),
        "pss_kb": pss,
        "alive": alive,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--count", type=int, default=1000)
    p.add_argument("--nut", type=int, default=50)
    p.add_argument("--seconds", type=float, default=30)
    p.add_argument("--warmup", type=float, default=15)
    p.add_argument("--agents", type=int, default=2)
    p.add_argument("--only", choices=("nut", "nutwist"))
    p.add_argument("--nutwist-child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--ports", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.nutwist_child:
        nutwist_side(args.count, [int(x) for x in args.ports.split(",")], args.warmup, args.seconds)
        return
    import socket

    ports = []
    for _ in range(args.agents + 1):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        ports.append(s.getsockname()[1])
        s.close()
    ours_ports, nut_port = ports[:-1], ports[-1]
    manager = multiprocessing.Manager()
    counts = manager.dict()
    agents = []
    for k, port in enumerate(ours_ports):
        names = [f"ups{i}" for i in range(args.count) if i % len(ours_ports) == k]
        agents.append(multiprocessing.Process(target=run_agent, args=(port, names, counts)))
    agents.append(
        multiprocessing.Process(
            target=run_agent, args=(nut_port, [f"c{i}" for i in range(args.nut)], counts)
        )
    )
    for a in agents:
        a.daemon = True
        a.start()
    time.sleep(1)
    print(
        f"snmp bench: {args.count} UPSes for nutwist, {args.nut} for NUT's C snmp-ups", flush=True
    )
    results: dict[str, Any] = {}
    try:
        if args.only != "nut":
            child = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "bench.snmp",
                    "--nutwist-child",
                    "--count",
                    str(args.count),
                    "--ports",
                    ",".join(map(str, ours_ports)),
                    "--warmup",
                    str(args.warmup),
                    "--seconds",
                    str(args.seconds),
                ],
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=args.warmup + args.seconds + 300,
            )
            lines = [x for x in child.stdout.splitlines() if x.startswith("{")]
            if not lines:
                print(child.stderr[-3000:], file=sys.stderr)
                raise SystemExit("the nutwist side printed no figures")
            results["nutwist"] = json.loads(lines[-1])
        if args.only != "nutwist" and Path("/lib/nut/snmp-ups").exists():
            tmp = Path(tempfile.mkdtemp(prefix="bench-snmp-nut-"))
            before = json.loads(counts.get(nut_port, "{}"))
            results["nut"] = nut_side(args.nut, [nut_port], args.warmup, args.seconds, tmp)
            after = json.loads(counts.get(nut_port, "{}"))
            results["nut"]["requests"] = sum(after.values()) - sum(before.values())
            shutil.rmtree(tmp, ignore_errors=True)
    finally:
        for a in agents:
            a.terminate()
    report(results, args.count)


def report(results: dict[str, Any], count: int) -> None:
    ours = results.get("nutwist")
    if ours:
        print(
            f"nutwist, 1 process, {ours['ups']} UPSes: CPU {100 * ours['cpu_share']:.0f}% of a core, "
            f"PSS {ours['pss_kb'] / 1024:.0f} MB, walks {ours['walks']}/{ours['ideal_walks']:.0f} "
            f"({100 * ours['walks'] / ours['ideal_walks']:.1f}%), on time {100 * ours['on_time']:.1f}%, "
            f"walk p50 {1000 * (ours['walk_p50'] or 0):.0f} ms p99 {1000 * (ours['walk_p99'] or 0):.0f} ms, "
            f"stale {ours['stale']}, requests {ours['requests']}, timeouts {ours['timeouts']}, "
            f"queued max {ours['queued_max']}"
        )
    nut = results.get("nut")
    if nut:
        scale = count / nut["ups"]
        print(
            f"NUT C snmp-ups, {nut['ups']} processes: CPU {100 * nut['cpu_share']:.0f}% of a core, "
            f"PSS {nut['pss_kb'] / 1024:.0f} MB, {nut['alive']} alive, "
            f"{nut['requests'] / nut['seconds'] / nut['ups']:.1f} requests/s per UPS; "
            f"scaled to {count}: CPU {100 * nut['cpu_share'] * scale:.0f}% of a core, "
            f"PSS {nut['pss_kb'] * scale / 1024:.0f} MB"
        )
    print(json.dumps(results))


if __name__ == "__main__":
    main()
