"""What the benchmarks and the tests share: a free port, the command that runs nutwist's upsd,
and waiting for a server to listen and to answer."""

from __future__ import annotations

import socket
import sys
import time
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


def wait_for_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing listens on 127.0.0.1:{port}") from None
            time.sleep(0.05)


def wait_for_answers(port: int, expected: dict[bytes, bytes], timeout: float = 15) -> None:
    """Until upsd answers each request line with exactly the expected line (data dumped)."""
    deadline = time.monotonic() + timeout
    while True:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(b"".join(expected))
            f = s.makefile("rb")
            answers = [f.readline() for _ in expected]
        if answers == list(expected.values()):
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"upsd on {port} is not ready: {answers}")
        time.sleep(0.1)
