"""The drop-in upsd command: NUT's flags, pid file, -c reload|stop, and reload itself."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support.nut import free_port, nut_env

DEV = "ups.status: OL\nbattery.charge: 70\n"


def ask(port: int, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(request + b"LOGOUT\n")
        out = b""
        while chunk := s.recv(65536):
            out += chunk
    return out


def upsd(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nutwist.cli.upsd", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def driver(name: str, env: dict[str, str]) -> None:
    rc = subprocess.run(
        [sys.executable, "-m", "nutwist.cli.driver", "dummy-ups", "-a", name, "-u", "root", "-q"],
        env=env,
        timeout=60,
    ).returncode
    assert rc == 0


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Path, Path, int, dict[str, str]]:
    conf, state = tmp_path / "c", tmp_path / "s"
    conf.mkdir()
    state.mkdir()
    port = free_port()
    (conf / "u.dev").write_text(DEV)
    (conf / "ups.conf").write_text(
        '[one]\n\tdriver = dummy-ups\n\tport = u.dev\n\tdesc = "first"\n'
    )
    (conf / "upsd.conf").write_text(f"LISTEN 127.0.0.1 {port}\n")
    (conf / "upsd.users").write_text("[a]\n\tpassword = p\n\tupsmon secondary\n")
    return conf, state, port, nut_env(conf, state)


def test_flags(setup: tuple[Path, Path, int, dict[str, str]]) -> None:
    env = setup[3]
    v = upsd("-V", env=env)
    assert v.returncode == 0 and v.stdout.startswith("Network UPS Tools upsd ")
    assert upsd("-h", env=env).stdout.count("-c <cmd>") == 1
    assert upsd("-i", "1.2.3.4", env=env).returncode == 1
    r = upsd("-c", "reload", env=env)
    assert r.returncode == 1 and "upsd.pid: No such file" in r.stderr


def test_start_reload_stop(setup: tuple[Path, Path, int, dict[str, str]]) -> None:
    conf, state, port, env = setup
    driver("one", env)
    started = upsd("-u", "root", env=env)
    assert started.returncode == 0, started.stderr
    pid = int((state / "upsd.pid").read_text())
    try:
        assert upsd("-u", "root", env=env).stderr.endswith(
            "A previous upsd instance is already running!\n"
        )
        deadline = time.monotonic() + 15
        while b'"OL"' not in ask(port, b"GET VAR one ups.status\n"):
            assert time.monotonic() < deadline
            time.sleep(0.2)
        # a client logged in to [one] stays connected across a reload that keeps [one]
        keeper = socket.create_connection(("127.0.0.1", port), timeout=10)
        keeper.sendall(b"USERNAME a\nPASSWORD p\nLOGIN one\n")
        answers = keeper.makefile("rb")  # answers may come in separate segments
        assert [answers.readline() for _ in range(3)] == [b"OK\n"] * 3
        # add a UPS: it appears first, as in NUT
        (conf / "ups.conf").write_text(
            '[one]\n\tdriver = dummy-ups\n\tport = u.dev\n\tdesc = "first, renamed"\n'
            '[two]\n\tdriver = dummy-ups\n\tport = u.dev\n\tdesc = "second"\n'
        )
        driver("two", env)
        assert upsd("-c", "reload", env=env).returncode == 0
        deadline = time.monotonic() + 15
        while b'"OL"' not in ask(port, b"GET VAR two ups.status\n"):
            assert time.monotonic() < deadline
            time.sleep(0.2)
        assert ask(port, b"LIST UPS\n").startswith(
            b'BEGIN LIST UPS\nUPS two "second"\nUPS one "first, renamed"\nEND LIST UPS\n'
        )
        keeper.sendall(b"GET NUMLOGINS one\n")
        assert answers.readline() == b"NUMLOGINS one 1\n"
        # an invalid configuration is refused and the old one kept
        (conf / "ups.conf").write_text(
            '[one]\n\tdriver = dummy-ups\n\tport = u.dev\n\tdesc = "broken#"\n'
        )
        assert upsd("-c", "reload", env=env).returncode == 0
        # a refused reload changes nothing that can be polled for (the daemon logs to
        # syslog): the one fixed wait, to give upsd time to read and refuse the file
        time.sleep(1)
        assert b"UPS two" in ask(port, b"LIST UPS\n")
        # remove a UPS
        (conf / "ups.conf").write_text(
            '[two]\n\tdriver = dummy-ups\n\tport = u.dev\n\tdesc = "second"\n'
        )
        assert upsd("-c", "reload", env=env).returncode == 0
        deadline = time.monotonic() + 10
        while b"UPS one" in ask(port, b"LIST UPS\n"):
            assert time.monotonic() < deadline
            time.sleep(0.2)
        assert answers.readline() == b""  # its UPS is gone: the client was let go
        keeper.close()
    finally:
        assert upsd("-c", "stop", env=env).returncode == 0
        deadline = time.monotonic() + 10
        while (state / "upsd.pid").exists():
            assert time.monotonic() < deadline
            time.sleep(0.1)
        for name in ("one", "two"):
            pidfile = state / f"dummy-ups-{name}.pid"
            if pidfile.exists():
                subprocess.run(["kill", pidfile.read_text().strip()], check=False)
    assert pid > 0
