"""The flags and the ``-c`` signalling that NUT's daemons share (upsd, upsmon).

``-c <command>`` sends the running instance a signal through its pid file (or to
``-P <pid>``), with NUT's words when that fails; a second instance refuses to start
while the pid file names a live process.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping

from nutwist import process


def daemon_parser(prog: str) -> argparse.ArgumentParser:
    """The flags NUT's daemons share: -c -P -D -F -B -h -u -V -4 -6."""
    p = argparse.ArgumentParser(prog=prog, add_help=False)
    p.add_argument("-c", dest="command")
    p.add_argument("-P", dest="pid", type=int)
    p.add_argument("-D", dest="debug", action="count", default=0)
    p.add_argument("-F", dest="foreground", action="count", default=0)
    p.add_argument("-B", dest="background", action="store_true")
    p.add_argument("-h", dest="help", action="store_true")
    p.add_argument("-u", dest="user")
    p.add_argument("-V", dest="version", action="store_true")
    # the last of -4 / -6 wins, as in NUT
    p.add_argument("-4", dest="family", action="store_const", const=4)
    p.add_argument("-6", dest="family", action="store_const", const=6)
    return p


def already_running(path: str, name: str) -> bool:
    """Another instance's pid file names a live process: NUT's complaint, then True."""
    old = process.read_pid(path)
    if old is not None and old != os.getpid() and process.alive(old):
        print(f"Fatal error: A previous {name} instance is already running!", file=sys.stderr)
        return True
    return False


def signal_running(command: str, table: Mapping[str, int], pid: int | None, path: str) -> int:
    """``-c <command>``: the signal for it, to ``-P <pid>`` or the pid in ``path`` (NUT's words)."""
    sig = table.get(command)
    if sig is None:
        print(f"Error: unknown command '{command}' (use {' or '.join(table)})", file=sys.stderr)
        return 1
    if pid is None:
        pid = process.read_pid(path)
    if pid is None:
        print(f"Can't open {path}: No such file or directory", file=sys.stderr)
        return 1
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        print(f"Can't send signal to PID {pid}: No such process", file=sys.stderr)
        return 1
    return 0
