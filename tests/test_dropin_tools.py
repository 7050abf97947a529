"""What a NUT administrator meets first with nutwist's own tools: explain-shutdown, check-config,
tls init, the demo, the man pages and the drop-ins' -h notes."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
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


def serve_tls_init_advice(tmp_path: Path, *extra: str) -> tuple[NutProcess, int]:
    """nutwist's upsd with the upsd.conf lines ``tls init`` printed, pasted as they are."""
    out = tls_init(tmp_path, *extra)
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
    wait_for_port(port)
    return proc, port


def test_tls_init_advice_keeps_clients_without_certificates_working(tmp_path: Path) -> None:
    """upsd set up with the pasted lines still serves NUT-style clients (STARTTLS, no
    certificate), as nutwist's upsc is one."""
    proc, port = serve_tls_init_advice(tmp_path)
    try:
        p = subprocess.run(
            [str(BIN / "upsc"), "-A", "none", f"u1@127.0.0.1:{port}", "ups.status"],
            capture_output=True, text=True, timeout=30,
        )  # fmt: skip
        assert (p.returncode, p.stdout) == (0, "OL\n"), p.stderr
    finally:
        proc.stop()


@pytest.mark.nut
@pytest.mark.parametrize("require", [False, True])
def test_nut_upsc_against_tls_init_advice(tmp_path: Path, require: bool) -> None:
    """NUT 2.8.0's own upsc (STARTTLS, no client certificate) is served under the default
    advice, and refused only when REQUIRE was asked for."""
    require_nut("upsc")
    proc, port = serve_tls_init_advice(tmp_path, *(["--require-client-cert"] if require else []))
    try:
        p = subprocess.run(
            ["upsc", f"u1@127.0.0.1:{port}", "ups.status"],
            capture_output=True, text=True, timeout=30, env=nut_env(tmp_path, tmp_path),
        )  # fmt: skip
    finally:
        proc.stop()
    if require:
        assert p.returncode != 0 and p.stdout == "", p.stdout
    else:
        assert (p.returncode, p.stdout) == (0, "OL\n"), p.stderr


# --- the demo -------------------------------------------------------------------------------

DEMO = ROOT / "etc" / "demo"


def demo_copy(dest: Path, port: int) -> Path:
    """etc/demo with another port, as ``make demo PORT=...`` copies it."""
    dest.mkdir()
    for f in DEMO.iterdir():
        text = f.read_text()
        if f.name == "upsd.conf":
            text = text.replace(" 3493\n", f" {port}\n")
        if f.name == "upsmon.conf":
            text = text.replace("MONITOR demo@localhost ", f"MONITOR demo@localhost:{port} ")
        (dest / f.name).write_text(text)
    for f in ("upsd.users", "upsmon.conf"):
        (dest / f).chmod(0o600)
    return dest


def standalone_argv(conf: Path, state: Path) -> list[str]:
    return [str(BIN / "twistd"), "--pidfile=", "-n", "nut", "standalone", "--confdir", str(conf),
            "--statepath", str(state)]  # fmt: skip


def hold_port() -> tuple[socket.socket, int]:
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen()
    return s, s.getsockname()[1]


def test_make_demo_stops_with_a_message_when_the_port_is_taken(tmp_path: Path) -> None:
    held, port = hold_port()
    try:
        # -o install: the demo's recipe alone (the installed copy is the one under test)
        p = subprocess.Popen(
            ["make", "-s", "-o", "install", "demo", f"PORT={port}", f"STATE={tmp_path}"],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            start_new_session=True,
        )  # fmt: skip
        try:
            out, _ = p.communicate(timeout=30)
        finally:
            if p.poll() is None:
                os.killpg(p.pid, 15)
                p.wait(10)
    finally:
        held.close()
    assert p.returncode != 0, out
    assert f"port {port} is taken" in out and "make demo PORT=" in out


def test_standalone_exits_1_when_upsd_cannot_listen(tmp_path: Path) -> None:
    held, port = hold_port()
    try:
        conf = demo_copy(tmp_path / "etc", port)
        (tmp_path / "state").mkdir()
        p = subprocess.run(
            standalone_argv(conf, tmp_path / "state"), capture_output=True, text=True, timeout=30
        )
    finally:
        held.close()
    assert p.returncode == 1, p.stdout + p.stderr
    assert f"not listening on 127.0.0.1 port {port}" in p.stdout + p.stderr


def test_the_demo_logs_lines_a_person_reads(tmp_path: Path) -> None:
    port = free_port()
    conf = demo_copy(tmp_path / "etc", port)
    (tmp_path / "state").mkdir()
    log = tmp_path / "demo.log"
    proc = NutProcess(standalone_argv(conf, tmp_path / "state"), dict(os.environ), log)
    try:
        wait_for_port(port)
        deadline = time.monotonic() + 20
        while "Logged into UPS" not in log.read_text():
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
    finally:
        proc.stop()
    text = log.read_text()
    assert "Starting factory" not in text and "Stopping factory" not in text
    assert " object at 0x" not in text
    assert f"listening on 127.0.0.1 port {port}" in text  # NUT's words


def demo_rounds(rounds: int) -> list[tuple[float, str]]:
    """(time, ups.status) as demo.seq plays it, looping ``rounds`` times."""
    out: list[tuple[float, str]] = []
    t = 0.0
    for _ in range(rounds):
        for line in (DEMO / "demo.seq").read_text().splitlines():
            if line.startswith("ups.status:"):
                out.append((t, line.split(":", 1)[1].strip()))
            elif line.startswith("TIMER"):
                t += float(line.split()[1])
    return out


def test_every_round_of_the_demo_outage_is_visible() -> None:
    """The demo's upsmon, fed demo.seq on a clock, notifies ONBATT, LOWBATT and ONLINE on every
    round and never decides to shut down (which would latch FSD and end the show)."""
    from twisted.internet.task import Clock

    from nutwist.config.base import Source
    from nutwist.config.upsmon import parse
    from nutwist.monitor.logic import MonitorLogic

    conf = parse(Source.from_path(str(DEMO / "upsmon.conf")))
    assert not conf.diagnostics.errors
    sent: list[str] = []

    class Effects:
        def notify(self, ntype: str, ups: object) -> None:
            sent.append(ntype)

        def log(self, level: str, text: str) -> None:
            pass

    clock = Clock()
    logic = MonitorLogic(conf, clock.seconds, Effects())
    (track,) = logic.tracks.values()
    track.primary_granted = True
    timeline = demo_rounds(3)
    end = timeline[-1][0] + 20
    status = timeline[0][1]
    while clock.seconds() < end:
        now = clock.seconds()
        status = [s for t, s in timeline if t <= now][-1]
        logic.polled(track, status)
        assert not logic.recalc(), f"the demo's upsmon would shut down at {now} s ({status})"
        clock.advance(logic.sleepval)
    rounds = "".join({"ONBATT": "b", "LOWBATT": "l", "ONLINE": "o"}.get(n, "?") for n in sent)
    assert rounds.startswith("blo" * 3), sent


# --- the repository: LICENSE, man pages, -h notes, no citations outside it ------------------


def test_license_is_gpl2_or_later() -> None:
    text = (ROOT / "LICENSE").read_text()
    assert "GNU GENERAL PUBLIC LICENSE" in text and "Version 2, June 1991" in text
    assert "or (at your option) any later version" in text


@pytest.mark.parametrize("command", ["check-config", "explain-shutdown", "passwd", "tls"])
def test_man_pages_for_nutwist_commands(command: str) -> None:
    page = ROOT / "man" / f"nutwist-{command}.1"
    text = page.read_text()
    assert text.startswith(f".TH NUTWIST-{command.upper()} 1 ")
    assert ".SH NAME" in text and ".SH SYNOPSIS" in text and ".SH DESCRIPTION" in text
    man = subprocess.run(["man", "-l", str(page)], capture_output=True, text=True, timeout=30,
                         env={**os.environ, "MANWIDTH": "80", "MAN_KEEP_FORMATTING": ""})  # fmt: skip
    if man.returncode == 0:
        assert f"nutwist {command}" in man.stdout.replace("\u2010", "-")
    assert "recursive-include man *.1" in (ROOT / "MANIFEST.in").read_text()
    # installed with the package, where man finds it beside the venv's bin/
    assert (BIN.parent / "share" / "man" / "man1" / page.name).read_text() == text


@pytest.mark.parametrize(
    "program", ["upsc", "upsrw", "upscmd", "upslog", "upsd", "upsmon", "upsdrvctl", "dummy-ups"]
)
def test_each_dropin_help_ends_with_how_it_differs_from_nut(program: str) -> None:
    p = subprocess.run([str(BIN / program), "-h"], capture_output=True, text=True, timeout=30)
    last = [x for x in (p.stdout + p.stderr).splitlines() if x.strip()][-1]
    assert "NUT 2.8.0" in last, last


def test_no_comment_or_readme_cites_a_document_outside_the_repository() -> None:
    import re

    cite = re.compile(r"reference (§|section )?\d|§\s*\d|\.\./shared|/work/shared", re.I)
    found = []
    for path in [ROOT / "README.md", *ROOT.glob("nutwist/**/*.py"), *ROOT.glob("tests/*.py"),
                 *ROOT.glob("bench/*.py"), *ROOT.glob("etc/**/*"), ROOT / "Makefile",
                 *ROOT.glob("fuzz/*.py"), *ROOT.glob("man/*"), *ROOT.glob("tests/support/*.py")]:  # fmt: skip
        if path.is_file() and path.name != "test_dropin_tools.py":
            for n, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
                if cite.search(line):
                    found.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert found == []


def test_explain_says_when_a_low_battery_becomes_critical() -> None:
    from twisted.internet.task import Clock

    from nutwist.config.base import Source
    from nutwist.config.upsmon import parse
    from nutwist.monitor.explain import _Quiet, explain
    from nutwist.monitor.logic import MonitorLogic

    conf = parse(Source.from_path(str(DEMO / "upsmon.conf")))
    logic = MonitorLogic(conf, Clock().seconds, _Quiet())
    (track,) = logic.tracks.values()
    track.primary_granted = True
    logic.polled(track, "OB LB DISCHRG")
    down, lines = explain(conf, logic, {})
    assert not down
    assert "  on battery with a low battery: critical once that lasts OBLBDURATION (30 s)" in lines
