"""What the tests and the benchmarks share, and nothing of nutwist's: a free loopback port,
the command line that runs nutwist's upsd, and waiting with a deadline (for a port to
listen, for upsd to answer, for any condition) instead of sleeping a fixed time.

It imports only the standard library, so that ``bench/`` (which is not installed) can
import it as ``tests.support.net`` from the checkout, and the tests as ``support.net``.
"""

from __future__ import annotations

import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


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


def wait_until(
    check: Callable[[], T], timeout: float = 15, what: str = "the condition", step: float = 0.05
) -> T:
    """Call ``check`` until it returns something true, and return that; TimeoutError after
    ``timeout`` seconds (saying ``what`` was awaited)."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {timeout} s for {what}")
        time.sleep(step)


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
