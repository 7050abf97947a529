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


# --- check-config: what stops the daemons ------------------------------------------------------


def server_conf(d: Path, ups: str = "", upsd: str = "", upsmon: str = "") -> Path:
    (d / "ups.conf").write_text(ups or "[u1]\n\tdriver = dummy-ups\n\tport = u1.dev\n")
    (d / "u1.dev").write_text("ups.status: OL\nbattery.charge.low: 20\n")
    (d / "upsd.conf").write_text(upsd or "LISTEN 127.0.0.1 3493\n")
    (d / "upsd.users").write_text("[mon]\n\tpassword = pw\n\tupsmon primary\n")
    (d / "upsmon.conf").write_text(
        (upsmon or "MONITOR u1@localhost 1 mon pw primary\n") + 'SHUTDOWNCMD "/bin/true"\n'
    )
    for f in ("upsd.users", "upsmon.conf"):
        (d / f).chmod(0o600)
    return d


def check_lines(confdir: Path) -> list[str]:
    from nutwist.config.check import check

    return [str(x) for x in check(str(confdir), environ={}).diagnostics]


def test_check_config_reports_missing_tls_files(tmp_path: Path) -> None:
    server_conf(
        tmp_path,
        upsd=f"LISTEN 127.0.0.1 3493\nCERTFILE {tmp_path}/no/upsd.pem\n",
        upsmon=f"MONITOR u1@localhost 1 mon pw primary\nCERTPATH {tmp_path}/no/ca.pem\n",
    )
    found = check_lines(tmp_path)
    assert any(
        x.startswith(f"{tmp_path}/upsd.conf:2: error: CERTFILE {tmp_path}/no/upsd.pem")
        and "upsd refuses to start" in x
        for x in found
    ), found
    assert any(
        x.startswith(f"{tmp_path}/upsmon.conf:2: error: CERTPATH {tmp_path}/no/ca.pem")
        and "upsmon refuses to start" in x
        for x in found
    ), found
    p = nutwist("check-config", "--confdir", str(tmp_path))
    assert p.returncode == 1


def test_check_config_reports_a_driver_nobody_provides(tmp_path: Path) -> None:
    drivers = tmp_path / "drivers"
    drivers.mkdir()
    fake = drivers / "fake-ups"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    server_conf(
        tmp_path,
        ups=f"driverpath = {drivers}\n[u1]\n\tdriver = dummy-ups\n\tport = u1.dev\n"
        "[u2]\n\tdriver = fake-ups\n\tport = auto\n"
        "[u3]\n\tport = auto\n\tdriver = usbhid-upz\n",
    )
    found = [x for x in check_lines(tmp_path) if "driver" in x]
    assert found == [
        f"{tmp_path}/ups.conf:10: error: [u3] driver usbhid-upz: not one of nutwist's drivers, "
        f"and {drivers}/usbhid-upz is not an executable (driverpath in ups.conf, default "
        "/lib/nut): upsdrvctl cannot start it"
    ]


def test_check_config_reports_ports_out_of_range(tmp_path: Path) -> None:
    server_conf(
        tmp_path,
        ups="[u1]\n\tdriver = dummy-ups\n\tport = u1.dev\n"
        "[rep]\n\tdriver = dummy-ups\n\tport = u1@localhost:99999\n",
        upsd="LISTEN 127.0.0.1 70000\nLISTEN ::1 0\n",
    )
    found = check_lines(tmp_path)
    assert (
        f"{tmp_path}/upsd.conf:1: error: LISTEN 127.0.0.1 70000: the port must be a number from 1 to 65535"
        in found
    )
    assert (
        f"{tmp_path}/upsd.conf:2: error: LISTEN ::1 0: the port must be a number from 1 to 65535"
        in found
    )
    assert any(
        x.startswith(f"{tmp_path}/ups.conf:6: error: [rep] port u1@localhost:99999") for x in found
    )


@pytest.mark.parametrize("how", ["twistd", "upsd"])
def test_upsd_refuses_a_listen_port_out_of_range(tmp_path: Path, how: str) -> None:
    conf, state = tmp_path / "conf", tmp_path / "state"
    conf.mkdir()
    state.mkdir()
    server_conf(conf, upsd="LISTEN 127.0.0.1 70000\n")
    env = nut_env(conf, state)
    if how == "twistd":
        argv = [str(BIN / "twistd"), "--pidfile=", "-n", "nut", "upsd", "--confdir", str(conf)]
        argv += ["--statepath", str(state)]
    else:
        argv = [str(BIN / "upsd"), "-F"]
    # before the fix upsd went on to listen on 3493: it would still be running at the timeout
    p = subprocess.run(argv, capture_output=True, text=True, timeout=15, env=env)
    assert p.returncode == 1, p.stdout + p.stderr
    assert "LISTEN 127.0.0.1 70000: the port must be a number from 1 to 65535" in p.stderr


# --- tls init: advice that keeps plain clients working --------------------------------------


def tls_init(cwd: Path, *extra: str) -> list[str]:
    p = subprocess.run(
        [str(BIN / "nutwist"), "tls", "init", "--dir", "pki", "--name", "localhost",
         "--name", "127.0.0.1", "--client", "mon1", *extra],
        capture_output=True, text=True, timeout=60, cwd=cwd,
    )  # fmt: skip
    assert p.returncode == 0, p.stderr
    return p.stdout.splitlines()


def directives(out: list[str]) -> list[str]:
    return [x for x in out if x and not x.startswith("#")]


def test_tls_init_advises_request_absolute_paths_and_explains_each_line(tmp_path: Path) -> None:
    out = tls_init(tmp_path)
    lines = directives(out)
    assert "CERTREQUEST REQUEST" in lines and "CERTREQUEST REQUIRE" not in lines
    for line in lines:
        if line.startswith(("CERTFILE", "CERTPATH")):
            path = line.split()[-1]
            assert os.path.isabs(path) and Path(path).exists(), line
            assert path.startswith(str(tmp_path / "pki")), line
    for i, line in enumerate(out):
        if line and not line.startswith("#"):
            assert out[i - 1].startswith("# "), f"{line!r} has no comment saying what it does"


def test_tls_init_require_only_when_asked(tmp_path: Path) -> None:
    lines = directives(tls_init(tmp_path, "--require-client-cert"))
    assert "CERTREQUEST REQUIRE" in lines and "CERTREQUEST REQUEST" not in lines


def test_tls_init_advice_keeps_clients_without_certificates_working(tmp_path: Path) -> None:
    """upsd set up with the pasted lines still serves NUT-style clients (STARTTLS, no
    certificate), as nutwist's upsc is one."""
    out = tls_init(tmp_path)
    server = []
    for line in out:
        if line.startswith("# upsmon.conf"):
            break
        if line and not line.startswith("#"):
            server.append(line)
    conf, state = tmp_path / "conf", tmp_path / "state"
    conf.mkdir()
    state.mkdir()
    port = free_port()
    server_conf(conf, upsd=f"LISTEN 127.0.0.1 {port}\n" + "\n".join(server) + "\n")
    proc = start_nutwist_upsd(conf, state, tmp_path / "upsd.log")
    try:
        wait_for_port(port)
        p = subprocess.run(
            [str(BIN / "upsc"), "-A", "none", f"u1@127.0.0.1:{port}", "ups.status"],
            capture_output=True, text=True, timeout=30,
        )  # fmt: skip
        assert (p.returncode, p.stdout) == (0, "OL\n"), p.stderr
    finally:
        proc.stop()
