"""Running NUT 2.8.0's own programs beside nutwist in tests (loopback, temp dirs)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

# re-exported: the tests import them from here; bench/ imports tests.support.net itself
from support.net import (  # noqa: F401
    free_port,
    nutwist_upsd_argv,
    wait_for_answers,
    wait_for_port,
    wait_until,
)

NUT_LIB = Path("/lib/nut")
ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared"
DDL = SHARED / "data" / "nut-ddl"


def have_nut(*programs: str) -> bool:
    """NUT's programs are installed (and not hidden with NUTWIST_TEST_HIDE_NUT=1, which
    makes the tests behave as on a machine without NUT)."""
    if os.environ.get("NUTWIST_TEST_HIDE_NUT") == "1":
        return False
    return all((NUT_LIB / p).exists() or shutil.which(p) for p in programs)


def require_nut(*programs: str) -> None:
    if not have_nut(*programs):
        pytest.skip(f"NUT's {', '.join(programs)} not installed (Debian nut-server/nut-client)")


def nut_env(confdir: Path, statepath: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        NUT_CONFPATH=str(confdir), NUT_STATEPATH=str(statepath), NUT_ALTPIDPATH=str(statepath)
    )
    return env


def wait_for_socket(path: Path, timeout: float = 10.0, probe: bool = True) -> None:
    """Wait until a driver socket listens: with ``probe``, by connecting to it; without,
    by reading /proc/net/unix (no connection).

    Never probe NUT 2.8.0's C drivers: they abort ("bit out of range 0 - FD_SETSIZE")
    when they later broadcast to a peer that has gone away.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and not probe:
            if _listening(path) is not False:
                return
            time.sleep(0.05)
            continue
        if path.exists():
            s = socket.socket(socket.AF_UNIX)
            try:
                s.connect(str(path))
                return
            except OSError:
                pass
            finally:
                s.close()
        time.sleep(0.05)
    raise TimeoutError(f"{path} never accepted a connection")


def _listening(path: Path) -> bool | None:
    """Whether a Unix socket at ``path`` listens (accepts connections), read from
    /proc/net/unix without connecting; None when /proc/net/unix cannot be read."""
    try:
        table = Path("/proc/net/unix").read_text().splitlines()[1:]
    except OSError:
        return None
    for line in table:
        fields = line.split()
        # Num RefCount Protocol Flags Type St Inode Path; flag 0x10000 is __SO_ACCEPTCON
        if len(fields) >= 8 and fields[7] == str(path) and int(fields[3], 16) & 0x10000:
            return True
    return False


class DriverPeer:
    """One long-lived connection to a driver socket (C drivers dislike short ones)."""

    def __init__(self, path: Path, timeout: float = 10.0) -> None:
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.settimeout(timeout)
        self.sock.connect(str(path))
        self.buf = b""

    def dumpall(self) -> list[str]:
        self.sock.sendall(b"DUMPALL\n")
        while b"DUMPDONE\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                break
            self.buf += chunk
        text, _, self.buf = self.buf.partition(b"DUMPDONE\n")
        return [*text.decode("ascii", "replace").splitlines(), "DUMPDONE"]

    def close(self) -> None:
        self.sock.close()


def dumpall(path: Path, timeout: float = 10.0) -> list[str]:
    """DUMPALL over a driver socket: the lines up to DUMPDONE."""
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(timeout)
    s.connect(str(path))
    s.sendall(b"DUMPALL\n")
    buf = b""
    while b"DUMPDONE\n" not in buf:
        chunk = s.recv(65536)
        if not chunk:
            break
        buf += chunk
    s.close()
    lines = buf.decode("ascii", "replace").split("\n")
    return lines[: lines.index("DUMPDONE") + 1] if "DUMPDONE" in lines else lines


class NutProcess:
    """A NUT C program started in the foreground, killed at the end of the test."""

    def __init__(self, argv: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        self.proc = subprocess.Popen(
            argv, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True
        )

    def stop(self) -> None:
        """End the program and every process it started (upsmon forks a child)."""
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)


def start_nutwist_upsd(conf: Path, state: Path, log: Path) -> NutProcess:
    """``twistd nut upsd`` from the installed copy, as a process of its own."""
    return NutProcess(nutwist_upsd_argv(conf, state), nut_env(conf, state), log)
