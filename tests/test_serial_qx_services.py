"""nutdrv_qx as a service: in-process under ``twistd nut upsd``, and started by upsdrvctl.

NUT's own upsc reads a simulated Megatec UPS through nutwist's upsd, whose
driver runs in-process; nutwist's upsdrvctl starts and stops the drop-in
driver command.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support.nut import free_port, nut_env, require_nut, start_nutwist_upsd, wait_for_port
from support.sim import MegatecSim

pytestmark = pytest.mark.nut


def _conf(tmp: Path, port_path: Path, listen: int | None = None) -> tuple[Path, Path]:
    conf, state = tmp / "conf", tmp / "state"
    conf.mkdir()
    state.mkdir()
    (conf / "ups.conf").write_text(
        f"[qx]\n\tdriver = nutdrv_qx\n\tport = {port_path}\n\tprotocol = megatec\n\tpollinterval = 1\n"
    )
    (conf / "upsd.conf").write_text(f"LISTEN 127.0.0.1 {listen or free_port()}\n")
    (conf / "upsd.users").write_text("")
    for f in conf.iterdir():
        f.chmod(0o640)
    return conf, state


def _upsc(target: str, var: str, env: dict[str, str]) -> str:
    p = subprocess.run(["upsc", target, var], capture_output=True, text=True, env=env, timeout=20)
    return p.stdout.strip()


def test_in_process_under_upsd(tmp_path: Path) -> None:
    require_nut("upsc")
    with MegatecSim(tmp_path, status="OB", vin=0.0) as sim:
        port = free_port()
        conf, state = _conf(tmp_path, sim.path, port)
        upsd = start_nutwist_upsd(conf, state, tmp_path / "upsd.log")
        try:
            wait_for_port(port)
            env = nut_env(conf, state)
            deadline = time.monotonic() + 60
            while _upsc(f"qx@127.0.0.1:{port}", "ups.status", env) != "OB":
                assert time.monotonic() < deadline, (tmp_path / "upsd.log").read_text()
                time.sleep(0.2)
            assert _upsc(f"qx@127.0.0.1:{port}", "driver.version.data", env) == "Megatec 0.06"
            assert _upsc(f"qx@127.0.0.1:{port}", "device.mfr", env) == "FakeMegatec"
            sim.set(status="OL", vin=231.0)
            while _upsc(f"qx@127.0.0.1:{port}", "ups.status", env) != "OL":
                assert time.monotonic() < deadline + 30
                time.sleep(0.2)
        finally:
            upsd.stop()


def test_upsdrvctl_starts_the_dropin_driver(tmp_path: Path) -> None:
    with MegatecSim(tmp_path) as sim:
        conf, state = _conf(tmp_path, sim.path)
        env = nut_env(conf, state)
        upsdrvctl = [sys.executable, "-m", "nutwist.cli.upsdrvctl", "-u", "root"]
        p = subprocess.run(
            [*upsdrvctl, "-t", "start"], env=env, capture_output=True, text=True, timeout=60
        )
        assert "nutwist.cli.driver nutdrv_qx -a qx" in p.stdout
        rc = subprocess.run([*upsdrvctl, "start"], env=env, timeout=120).returncode
        try:
            assert rc == 0
            sock = state / "nutdrv_qx-qx"
            assert sock.exists()
            assert (state / "nutdrv_qx-qx.pid").exists()
        finally:
            subprocess.run([*upsdrvctl, "stop"], env=env, timeout=60)
        deadline = time.monotonic() + 10
        while (state / "nutdrv_qx-qx.pid").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not (state / "nutdrv_qx-qx.pid").exists()


def test_dropin_command_is_installed() -> None:
    exe = Path(sys.executable).with_name("nutdrv_qx")
    assert exe.exists()
    p = subprocess.run([str(exe), "-h"], capture_output=True, text=True, timeout=30)
    assert p.returncode == 0 and "protocol" in p.stdout and "-d <count>" in p.stdout
    assert os.access(exe, os.X_OK)


@pytest.mark.parametrize("driver", ["nutdrv_qx", "blazer_ser", "apcsmart"])
def test_twistd_nut_driver(tmp_path: Path, driver: str) -> None:
    from support.nut import NutProcess, dumpall
    from support.sim.apc import ApcSim

    sim = (ApcSim(tmp_path) if driver == "apcsmart" else MegatecSim(tmp_path)).start()
    try:
        conf, state = tmp_path / "conf", tmp_path / "state"
        conf.mkdir()
        state.mkdir()
        (conf / "ups.conf").write_text(f"[u]\n\tdriver = {driver}\n\tport = {sim.path}\n")
        twistd = Path(sys.executable).with_name("twistd")
        argv = [str(twistd), "--pidfile=", "-n", "nut", "driver", "-a", "u"]
        argv += ["--confdir", str(conf), "--statepath", str(state)]
        proc = NutProcess(argv, nut_env(conf, state), tmp_path / "twistd.log")
        try:
            sock = state / f"{driver}-u"
            deadline = time.monotonic() + 60
            while not (sock.exists() and any("ups.status" in line for line in dumpall(sock))):
                assert proc.proc.poll() is None, (tmp_path / "twistd.log").read_text()
                assert time.monotonic() < deadline, (tmp_path / "twistd.log").read_text()
                time.sleep(0.1)
            assert f'SETINFO driver.name "{driver}"' in dumpall(sock)
        finally:
            proc.stop()
    finally:
        sim.stop()


@pytest.mark.parametrize(
    "extra", ["\tport = auto\n", "\tport = /dev/null\n\tvendorid = 0665\n\tproductid = 5161\n"]
)
def test_usb_sections_are_left_to_nut(tmp_path: Path, extra: str) -> None:
    """nutwist's nutdrv_qx drives serial ports: a USB section runs NUT's C driver."""
    from nutwist.config import ups as upsconf
    from nutwist.drivers import implemented

    conf, state = tmp_path / "conf", tmp_path / "state"
    conf.mkdir()
    state.mkdir()
    (conf / "ups.conf").write_text(f"[usb]\n\tdriver = nutdrv_qx\n{extra}")
    section = upsconf.load(str(conf / "ups.conf")).find("usb")
    assert section is not None and not implemented("nutdrv_qx", section)
    env = nut_env(conf, state)
    p = subprocess.run(
        [sys.executable, "-m", "nutwist.cli.upsdrvctl", "-t", "start"],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert "exec: /lib/nut/nutdrv_qx -a usb" in p.stdout
    p = subprocess.run(
        [sys.executable, "-m", "nutwist.cli.driver", "nutdrv_qx", "-a", "usb", "-d", "1"],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert p.returncode == 1 and "serial ports only" in p.stderr and "Traceback" not in p.stderr
