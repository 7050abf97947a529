"""NUT's C driver and nutwist's, each on its own copy of the same simulated UPS.

``Twin`` builds two directories (``nut`` and ``nutwist``), each with a
simulator, a ups.conf whose ``port`` is that simulator, and a state path.
Then it can run both drivers with ``-d 1`` and compare the dumps, start both as
socket-serving drivers and compare DUMPALL, send an instant command to both
and compare the bytes each simulator received, or run ``-k`` on both.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from support.nut import NUT_LIB, DriverPeer, NutProcess, nut_env
from support.sim.base import PtySim

#: lines that differ by design (nutwist's identity; NUT's build options)
IGNORED_PREFIXES = ("driver.version", "driver.state", "driver.parameter.synchronous")


def nutwist_driver_argv(driver: str) -> list[str]:
    return [sys.executable, "-m", "nutwist.cli.driver", driver]


def normalise_dump(text: str, port: str) -> list[str]:
    """`-d` output lines without the ones that differ by design; the port as PORT."""
    out = []
    for line in text.splitlines():
        if not line or line.startswith(
            ("Network UPS Tools", "USB communication", "APC command table")
        ):
            continue
        if line.startswith(IGNORED_PREFIXES):
            continue
        out.append(line.replace(port, "PORT"))
    return out


def normalise_dumpall(lines: list[str], port: str) -> list[str]:
    out = []
    for line in lines:
        words = line.split(" ", 2)
        if len(words) > 1 and words[1].startswith(IGNORED_PREFIXES):
            continue
        out.append(line.replace(port, "PORT"))
    return out


class Side:
    def __init__(self, name: str, root: Path, sim: PtySim, driver: str) -> None:
        self.name = name
        self.dir = root
        self.sim = sim
        self.driver = driver
        self.proc: NutProcess | None = None
        self.peer: DriverPeer | None = None

    @property
    def env(self) -> dict[str, str]:
        return nut_env(self.dir, self.dir)

    @property
    def is_nut(self) -> bool:
        return self.name == "nut"

    def argv(self, *args: str) -> list[str]:
        if self.is_nut:
            return [str(NUT_LIB / self.driver), *args, "-u", "root"]
        return [*nutwist_driver_argv(self.driver), *args, "-u", "root"]

    def run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        p = subprocess.run(
            self.argv(*args), env=self.env, capture_output=True, text=True, timeout=timeout
        )
        self.settle()
        return p

    def settle(self, quiet: float = 0.2, timeout: float = 10) -> None:
        """Until the simulator has received nothing for ``quiet`` seconds (a driver's last
        bytes may still be in the pty when it exits or reports a command done)."""
        deadline = time.monotonic() + timeout
        last, since = -1, time.monotonic()
        while time.monotonic() < deadline:
            now = len(self.sim.received)
            if now != last:
                last, since = now, time.monotonic()
            elif time.monotonic() - since >= quiet:
                return
            time.sleep(0.05)

    def dump(self, upsname: str = "ups", count: int = 1) -> list[str]:
        p = self.run("-d", str(count), "-a", upsname)
        assert p.returncode == 0, f"{self.name}: rc {p.returncode}: {p.stderr[-2000:]}"
        return normalise_dump(p.stdout, str(self.sim.path))

    @property
    def socket(self) -> Path:
        return self.dir / f"{self.driver}-ups"

    def start(self) -> None:
        self.proc = NutProcess(self.argv("-a", "ups", "-F"), self.env, self.dir / "driver.log")
        deadline = time.monotonic() + 60
        while not self.socket.exists():
            if self.proc.proc.poll() is not None:
                raise AssertionError(f"{self.name} driver exited: {self.log()}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.name}: no socket; {self.log()}")
            time.sleep(0.05)
        # NUT's C drivers dislike peers that come and go: one connection for the whole test
        deadline = time.monotonic() + 10
        while True:
            try:
                self.peer = DriverPeer(self.socket)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def log(self) -> str:
        try:
            return (self.dir / "driver.log").read_text(errors="replace")[-3000:]
        except OSError:
            return ""

    def dumpall(self) -> list[str]:
        assert self.peer is not None
        return normalise_dumpall(self.peer.dumpall(), str(self.sim.path))

    def request(self, line: str, tracking: str, timeout: float = 30) -> str:
        """Send a command with a TRACKING id and wait for its result."""
        assert self.peer is not None
        self.peer.sock.sendall(f"{line} TRACKING {tracking}\n".encode())
        want = f"TRACKING {tracking} ".encode()
        deadline = time.monotonic() + timeout
        while True:
            for raw in self.peer.buf.split(b"\n"):
                if raw.startswith(want):
                    self.peer.buf = self.peer.buf.replace(raw + b"\n", b"", 1)
                    self.settle()
                    return raw[len(want) :].decode()
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.name}: no TRACKING answer to {line!r}")
            self.peer.sock.settimeout(max(0.05, deadline - time.monotonic()))
            chunk = self.peer.sock.recv(65536)
            if not chunk:
                raise AssertionError(f"{self.name}: driver closed the socket")
            self.peer.buf += chunk

    def getvar(self, name: str) -> str | None:
        for line in self.dumpall():
            words = line.split(" ", 2)
            if len(words) == 3 and words[0] == "SETINFO" and words[1] == name:
                return words[2].strip('"')
        return None

    def stop(self) -> None:
        if self.peer is not None:
            self.peer.close()
            self.peer = None
        if self.proc is not None:
            self.proc.stop()
            self.proc = None


class Twin:
    """Two copies of one simulator, one for NUT's C driver and one for nutwist's."""

    def __init__(
        self,
        tmp: Path,
        make_sim: Callable[[Path], PtySim],
        driver: str,
        conf: str = "",
    ) -> None:
        self.sides: dict[str, Side] = {}
        for name in ("nut", "nutwist"):
            root = tmp / name
            root.mkdir(parents=True, exist_ok=True)
            os.chmod(root, 0o755)
            sim = make_sim(root).start()
            (root / "ups.conf").write_text(
                f"[ups]\n\tdriver = {driver}\n\tport = {sim.path}\n{conf}"
            )
            self.sides[name] = Side(name, root, sim, driver)

    @property
    def nut(self) -> Side:
        return self.sides["nut"]

    @property
    def nutwist(self) -> Side:
        return self.sides["nutwist"]

    def both(self) -> list[Side]:
        return [self.nut, self.nutwist]

    def set(self, **kw: Any) -> None:
        for side in self.both():
            side.sim.set(**kw)

    def settle(self, quiet: float = 0.3, timeout: float = 10) -> None:
        """Until neither simulator has received a byte for ``quiet`` seconds: a driver's
        last bytes may still be in the pty when it reports the command done."""
        deadline = time.monotonic() + timeout
        last = [-1, -1]
        since = time.monotonic()
        while time.monotonic() < deadline:
            now = [len(side.sim.received) for side in self.both()]
            if now != last:
                last, since = now, time.monotonic()
            elif time.monotonic() - since >= quiet:
                return
            time.sleep(0.05)

    def clear_logs(self) -> None:
        self.settle()
        for side in self.both():
            side.sim.clear_log()

    def dumps(self, count: int = 1) -> tuple[list[str], list[str]]:
        return self.nut.dump(count=count), self.nutwist.dump(count=count)

    def stop(self) -> None:
        for side in self.both():
            side.stop()
            side.sim.stop()

    def same_dumpall(self, timeout: float = 45) -> list[str]:
        """Until both drivers publish the same DUMPALL (each polls on its own clock, so
        a value refreshed by one's full poll may take the other's next one); then that."""
        deadline = time.monotonic() + timeout
        while True:
            nut, ours = self.nut.dumpall(), self.nutwist.dumpall()
            if nut == ours or time.monotonic() > deadline:
                assert ours == nut
                return nut
            time.sleep(0.2)

    def wait_until(self, pred: Callable[[Side], bool], timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        pending = self.both()
        while pending:
            pending = [s for s in pending if not pred(s)]
            if not pending:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"{[s.name for s in pending]}: condition never held")
            time.sleep(0.1)
