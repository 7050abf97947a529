"""Clients that exist today against nutwist's upsd: NUT 2.8.0's own, and PyPI's.

nutwist's upsd runs with its own dummy-ups in-process (``twistd nut upsd``).
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
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

DEV = """ups.mfr: Client Test
ups.model: CT-1
ups.status: OL
ups.id: rack1
ups.load: 31
battery.charge: 88
battery.charge.low: 20
input.voltage: 230.1
"""
USERS = "[admin]\n\tpassword = pw\n\tactions = SET\n\tinstcmds = ALL\n[mon]\n\tpassword = mp\n\tupsmon secondary\n"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, dict[str, str]]]:
    tmp = tmp_path_factory.mktemp("clients")
    conf, state = tmp / "conf", tmp / "state"
    conf.mkdir()
    state.mkdir()
    port = free_port()
    (conf / "ups.dev").write_text(DEV)
    (conf / "ups.conf").write_text(
        '[ct]\n\tdriver = dummy-ups\n\tport = ups.dev\n\tdesc = "client test"\n'
    )
    (conf / "upsd.conf").write_text(f"LISTEN 127.0.0.1 {port}\n")
    (conf / "upsd.users").write_text(USERS)
    env = nut_env(conf, state)
    proc = start_nutwist_upsd(conf, state, tmp / "upsd.log")
    wait_for_port(port)
    try:
        yield port, env
    finally:
        proc.stop()
        assert "Traceback" not in (tmp / "upsd.log").read_text()


def nut_cli(*argv: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    require_nut(argv[0])
    return subprocess.run(list(argv), env=env, capture_output=True, text=True, timeout=30)


@pytest.mark.nut
def test_nut_upsc_every_form(server: tuple[int, dict[str, str]]) -> None:
    port, env = server
    ups = f"ct@127.0.0.1:{port}"
    out = nut_cli("upsc", ups, env=env)
    assert (
        out.returncode == 0
        and "battery.charge: 88\n" in out.stdout
        and "ups.id: rack1\n" in out.stdout
    )
    assert nut_cli("upsc", ups, "ups.load", env=env).stdout == "31\n"
    assert nut_cli("upsc", "-l", f"127.0.0.1:{port}", env=env).stdout == "ct\n"
    assert nut_cli("upsc", "-L", f"127.0.0.1:{port}", env=env).stdout == "ct: client test\n"
    assert nut_cli("upsc", "-c", ups, env=env).returncode == 0
    bad = nut_cli("upsc", ups, "no.such", env=env)
    assert bad.returncode == 1 and "Error: Variable not supported by UPS" in bad.stderr
    bad = nut_cli("upsc", f"nosuch@127.0.0.1:{port}", env=env)
    assert bad.returncode == 1 and "Error: Unknown UPS" in bad.stderr


@pytest.mark.nut
def test_nut_upsrw_and_upscmd(server: tuple[int, dict[str, str]]) -> None:
    port, env = server
    ups = f"ct@127.0.0.1:{port}"
    listing = nut_cli("upsrw", ups, env=env)
    assert (
        listing.returncode == 0
        and "[ups.id]\nUPS system identifier\nType: STRING\n" in listing.stdout
    )
    setting = nut_cli("upsrw", "-s", "ups.id=rack 7", "-u", "admin", "-p", "pw", "-w", ups, env=env)
    assert setting.returncode == 0 and "SUCCESS" in setting.stderr
    assert nut_cli("upsc", ups, "ups.id", env=env).stdout == "rack 7\n"
    cmds = nut_cli("upscmd", "-l", ups, env=env)
    assert "load.off - Turn off the load immediately" in cmds.stdout
    run = nut_cli("upscmd", "-u", "admin", "-p", "pw", "-w", ups, "load.off", env=env)
    # dummy-ups has no command handler: the driver answers "unknown", as NUT's does
    assert "ERR UNKNOWN" in run.stdout + run.stderr
    denied = nut_cli("upscmd", "-u", "admin", "-p", "wrong", ups, "load.off", env=env)
    assert denied.returncode == 1 and denied.stderr.endswith("ERR ACCESS-DENIED\n")


@pytest.mark.nut
def test_nut_upslog(server: tuple[int, dict[str, str]], tmp_path: Path) -> None:
    port, env = server
    require_nut("upslog")
    log = tmp_path / "ups.log"
    p = subprocess.Popen(
        ["upslog", "-s", f"ct@127.0.0.1:{port}", "-l", str(log), "-i", "1", "-F", "-f", "%VAR battery.charge% %VAR ups.status%"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 15
        while not (log.exists() and "88 OL" in log.read_text()):
            assert time.monotonic() < deadline
            time.sleep(0.2)
    finally:
        p.send_signal(signal.SIGTERM)
        p.wait(10)


def test_pynutclient(server: tuple[int, dict[str, str]]) -> None:
    from PyNUTClient import PyNUT

    port, _ = server
    c = PyNUT.PyNUTClient(host="127.0.0.1", port=port, login="admin", password="pw")
    assert c.GetUPSList() == {b"ct": b"client test"} or c.GetUPSList() == {"ct": "client test"}
    vars_ = c.GetUPSVars("ct")
    assert vars_.get(b"battery.charge", vars_.get("battery.charge")) in (b"88", "88")
    assert c.CheckUPSAvailable("ct")
    assert c.SetRWVar("ct", "ups.load", "33") in (b"OK", "OK", None)
    cmds = c.GetUPSCommands("ct")
    assert any(k in (b"load.off", "load.off") for k in cmds)


def test_nut2(server: tuple[int, dict[str, str]]) -> None:
    import nut2

    port, _ = server
    c = nut2.PyNUTClient(host="127.0.0.1", port=port, login="admin", password="pw")
    assert c.list_ups() == {"ct": "client test"}
    assert c.get_var("ct", "ups.model") == "CT-1"
    assert c.var_type("ct", "ups.model") == "RW STRING:32"
    assert c.var_description("ct", "ups.status") == "UPS status"
    assert c.command_description("ct", "load.off") == "Turn off the load immediately"
    assert "load.off" in c.list_commands("ct")
    assert "ups.id" in c.list_rw_vars("ct")
    assert c.num_logins("ct") == 0
    c.set_var("ct", "input.voltage", "231")


def test_aionut(server: tuple[int, dict[str, str]]) -> None:
    import aionut

    port, _ = server

    async def go() -> tuple[object, object, object]:
        c = aionut.AIONUTClient(host="127.0.0.1", port=port, username="admin", password="pw")
        try:
            return await c.list_ups(), await c.list_vars("ct"), await c.description("ct")
        finally:
            c.disconnect()

    ups, vars_, desc = asyncio.run(go())
    assert ups == {"ct": "client test"}
    assert isinstance(vars_, dict) and vars_["ups.status"] == "OL"
    assert desc == "client test"


@pytest.mark.nut
def test_nut_upsmon_secondary_logs_in_and_polls(
    server: tuple[int, dict[str, str]], tmp_path: Path
) -> None:
    port, env = server
    require_nut("upsmon")
    pidfile = Path("/run/nut/upsmon.pid")
    if pidfile.exists():
        try:
            os.kill(int(pidfile.read_text().strip()), 0)
            pytest.skip("another NUT upsmon owns /run/nut/upsmon.pid (2.8.0 always uses it)")
        except (ProcessLookupError, ValueError):
            pidfile.unlink()
    Path("/run/nut").mkdir(parents=True, exist_ok=True)
    conf = tmp_path / "mon"
    conf.mkdir()
    record = tmp_path / "shutdown-ran"
    (conf / "upsmon.conf").write_text(
        f"MONITOR ct@127.0.0.1:{port} 1 mon mp secondary\n"
        f'SHUTDOWNCMD "/bin/touch {record}"\n'
        "POLLFREQ 1\nPOLLFREQALERT 1\n"
        + "".join(f"NOTIFYFLAG {t} SYSLOG\n" for t in ("ONLINE", "COMMOK", "COMMBAD", "NOCOMM"))
    )
    (conf / "upsmon.conf").chmod(0o640)
    mon = NutProcess(
        ["/lib/nut/upsmon", "-F", "-u", "root"],
        dict(env, NUT_CONFPATH=str(conf)),
        tmp_path / "upsmon.log",
    )

    def logins() -> bytes:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(b"GET NUMLOGINS ct\nLIST CLIENT ct\nLOGOUT\n")
            out = b""
            while chunk := s.recv(4096):
                out += chunk
        return out

    try:
        deadline = time.monotonic() + 20
        while b"NUMLOGINS ct 1\n" not in logins():
            assert time.monotonic() < deadline, (tmp_path / "upsmon.log").read_text()
            time.sleep(0.3)
        assert b"CLIENT ct 127.0.0.1\n" in logins()
        time.sleep(2.5)  # part of the scenario: a few polls of ups.status, and no shutdown
    finally:
        mon.stop()
    deadline = time.monotonic() + 10
    while b"NUMLOGINS ct 0\n" not in logins():
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert not record.exists()
