"""What both benchmarks need: a free port, and the command that runs nutwist's upsd."""

from __future__ import annotations

import socket
import sys
from pathlib import Path


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = int(s.getsockname()[1])
    s.close()
    return port


def nutwist_upsd_argv(conf: Path, state: Path) -> list[str]:
    """``twistd nut upsd`` from the installed copy: upsd plus nutwist's own drivers."""
    twistd = Path(sys.executable).with_name("twistd")
    return [
        str(twistd),
        "--pidfile=",
        "-n",
        "nut",
        "upsd",
        "--confdir",
        str(conf),
        "--statepath",
        str(state),
    ]
