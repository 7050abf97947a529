"""Hashed passwords and login throttling (nutwist extensions; NUT 2.8.0 has neither)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from test_upsd_unit import client, make_state
from twisted.logger import globalLogPublisher

from nutwist import auth
from nutwist.config.base import Source
from nutwist.config.users import parse as parse_users


def test_hash_and_verify() -> None:
    h = auth.hash_password("s3cret", n=1024)
    assert h.startswith("$scrypt$n=1024,r=8,p=1$") and "s3cret" not in h
    assert auth.verify_password(h, "s3cret") and auth.verify_password(h, "s3cret")
    assert not auth.verify_password(h, "S3cret")
    assert not auth.verify_password("$scrypt$garbage", "x")
    assert auth.verify_password("plain", "plain") and not auth.verify_password("plain", "plainx")


def test_passwd_command_and_hashed_login(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "nutwist.cli.main", "passwd", "--stdin"],
        input="mon pass\n", capture_output=True, text=True, check=True,
    )  # fmt: skip
    line = out.stdout.strip()
    assert line.startswith('password = "$scrypt$')
    users = parse_users(Source.from_text(f"[mon]\n\t{line}\n\tupsmon primary\n", "upsd.users"))
    assert [str(d) for d in users.diagnostics] == []
    state, _, _ = make_state(tmp_path)
    state.users = users
    p, t = client(state)
    p.dataReceived(b'USERNAME mon\nPASSWORD "mon pass"\nLOGIN u\nPRIMARY u\n')
    assert t.value() == b"OK\nOK\nOK\nOK PRIMARY-GRANTED\n"


def test_throttling_locks_a_user_at_an_address_then_releases_it(tmp_path: Path) -> None:
    state, clock, _ = make_state(tmp_path)
    events: list[str] = []

    def observe(e: dict[str, object]) -> None:
        if "login throttling" in str(e.get("log_format", "")):
            events.append(str(e["log_format"]))

    globalLogPublisher.addObserver(observe)
    try:
        for _ in range(10):
            bad, bt = client(state)
            bad.dataReceived(b"USERNAME a\nPASSWORD wrong\nFSD u\n")
            assert bt.value().endswith(b"ERR ACCESS-DENIED\n")
        late, lt = client(state)
        late.dataReceived(b"USERNAME a\nPASSWORD p\nFSD u\n")
        # right password, but never seen before, for a user locked at this address
        assert lt.value().endswith(b"ERR ACCESS-DENIED\n")
        clock.advance(61)
        again, at = client(state)
        again.dataReceived(b"USERNAME a\nPASSWORD p\nFSD u\n")
        assert at.value().endswith(b"OK FSD-SET\n")
    finally:
        globalLogPublisher.removeObserver(observe)
    assert len(events) == 2 and "locked out" in events[0] and "no longer" in events[1]


def test_throttling_off(tmp_path: Path) -> None:
    state, _, _ = make_state(tmp_path, "LOGIN_THROTTLE 0 60\n")
    for _ in range(30):
        bad, _t = client(state)
        bad.dataReceived(b"USERNAME a\nPASSWORD wrong\nFSD u\n")
    ok, ot = client(state)
    ok.dataReceived(b"USERNAME a\nPASSWORD p\nFSD u\n")
    assert ot.value().endswith(b"OK FSD-SET\n")
