"""What a NUT administrator meets first with nutwist's own tools: explain-shutdown, check-config,
tls init, the demo, the man pages and the drop-ins' -h notes."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.nut import (
    NutProcess,
    free_port,
    nut_env,
    require_nut,
    start_nutwist_upsd,
    wait_for_port,
)

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def nutwist(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "nutwist"), *args], capture_output=True, text=True, timeout=60, env=env
    )


# --- explain-shutdown: upsmon's own connection ----------------------------------------------


class Upsd:
    def __init__(self, conf: Path, port: int, tls: Path, other_ca: Path) -> None:
        self.conf, self.port, self.tls, self.other_ca = conf, port, tls, other_ca

    def upsmon_conf(self, body: str) -> None:
        path = self.conf / "upsmon.conf"
        path.write_text(body + 'SHUTDOWNCMD "/bin/true"\n')
        path.chmod(0o600)


@pytest.fixture(scope="module")
def tls_upsd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Upsd]:
    """nutwist's upsd with TLS on, serving u1 whose status is ``OB DISCHRG``."""
    base = tmp_path_factory.mktemp("explain")
    conf, state = base / "conf", base / "state"
    conf.mkdir()
    state.mkdir()
    for d in ("tls", "other"):
        p = nutwist("tls", "init", "--dir", str(base / d), "--name", "localhost")
        assert p.returncode == 0, p.stderr
    port = free_port()
    (conf / "ups.conf").write_text("[u1]\n\tdriver = dummy-ups\n\tport = u1.dev\n")
    (conf / "u1.dev").write_text("ups.status: OB DISCHRG\nbattery.charge: 80\n")
    (conf / "upsd.conf").write_text(
        f"LISTEN 127.0.0.1 {port}\nCERTFILE {base / 'tls' / 'upsd.pem'}\n"
    )
    (conf / "upsd.users").write_text("[mon]\n\tpassword = pw\n\tupsmon primary\n")
    (conf / "upsd.users").chmod(0o600)
    proc = start_nutwist_upsd(conf, state, base / "upsd.log")
    try:
        wait_for_port(port)
        yield Upsd(conf, port, base / "tls", base / "other")
    finally:
        proc.stop()


def test_explain_shows_the_status_as_upsd_sends_it(tls_upsd: Upsd) -> None:
    s = tls_upsd
    s.upsmon_conf(
        f"MONITOR u1@localhost:{s.port} 1 mon pw primary\n"
        f"CERTPATH {s.tls / 'ca.pem'}\nCERTVERIFY 1\nFORCESSL 1\n"
    )
    p = nutwist("explain-shutdown", "--confdir", str(s.conf))
    assert p.returncode == 0, p.stdout + p.stderr
    assert f"u1@localhost:{s.port} (primary, power 1): status OB DISCHRG" in p.stdout


def test_explain_with_a_wrong_ca_says_upsmon_is_not_connected(tls_upsd: Upsd) -> None:
    s = tls_upsd
    s.upsmon_conf(
        f"MONITOR u1@localhost:{s.port} 1 mon pw primary\n"
        f"CERTPATH {s.other_ca / 'ca.pem'}\nCERTVERIFY 1\nFORCESSL 1\n"
    )
    p = nutwist("explain-shutdown", "--confdir", str(s.conf))
    assert p.returncode == 1, p.stdout
    assert "upsmon is NOT connected" in p.stdout
    assert "certificate verify failed" in p.stdout
    assert "NOCOMM" in p.stdout and "DEADTIME (15 s)" in p.stdout
    assert "status OB" not in p.stdout


def test_explain_with_a_misspelled_ups_name(tls_upsd: Upsd) -> None:
    s = tls_upsd
    s.upsmon_conf(f"MONITOR u2@localhost:{s.port} 1 mon pw primary\n")
    p = nutwist("explain-shutdown", "--confdir", str(s.conf))
    assert p.returncode == 1, p.stdout
    assert "upsmon is NOT connected" in p.stdout
    assert "UNKNOWN-UPS" in p.stdout and "has no UPS called u2" in p.stdout


def test_explain_with_a_wrong_password(tls_upsd: Upsd) -> None:
    s = tls_upsd
    s.upsmon_conf(f"MONITOR u1@localhost:{s.port} 1 mon wrong primary\n")
    p = nutwist("explain-shutdown", "--confdir", str(s.conf))
    assert p.returncode == 1, p.stdout
    assert "upsmon is NOT connected" in p.stdout and "ACCESS-DENIED" in p.stdout
