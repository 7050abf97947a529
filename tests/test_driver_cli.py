"""The drop-in driver commands and upsdrvctl, run as processes (nutwist only)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support.nut import dumpall, wait_for_socket
from twisted.internet.task import Clock

from nutwist.config import ups as upsconf
from nutwist.config.base import Source
from nutwist.services.drivers import DriversService

DEV = "ups.status: OL\nbattery.charge: 80\n"


@pytest.fixture
def conf(tmp_path: Path) -> tuple[Path, Path, dict[str, str]]:
    c, s = tmp_path / "conf", tmp_path / "state"
    c.mkdir()
    s.mkdir()
    (c / "u.dev").write_text(DEV)
    (c / "ups.conf").write_text(
        "[u]\n\tdriver = dummy-ups\n\tport = u.dev\n[w]\n\tdriver = dummy-ups\n\tport = u.dev\n\tsdorder = -1\n"
    )
    env = dict(os.environ, NUT_CONFPATH=str(c), NUT_STATEPATH=str(s), NUT_ALTPIDPATH=str(s))
    return c, s, env


def drv(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nutwist.cli.driver", "dummy-ups", *args, "-u", "root"],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_help_and_version(conf: tuple[Path, Path, dict[str, str]]) -> None:
    out = drv("-h", env=conf[2])
    assert out.returncode == 0 and "-a <id>" in out.stdout and "mode" in out.stdout
    v = drv("-V", env=conf[2])
    assert v.returncode == 0 and v.stdout.startswith("Network UPS Tools - dummy-ups (nutwist ")


def test_missing_a_and_unknown_section(conf: tuple[Path, Path, dict[str, str]]) -> None:
    out = drv(env=conf[2])
    assert out.returncode == 1 and "specifying '-a id' is now mandatory" in out.stderr
    out = drv("-a", "nosuch", env=conf[2])
    assert out.returncode == 1 and "Section nosuch not found" in out.stderr
    assert "Traceback" not in out.stderr


def test_kill_power_needs_no_state_path(conf: tuple[Path, Path, dict[str, str]]) -> None:
    env = dict(conf[2], NUT_STATEPATH="/nonexistent/state", NUT_ALTPIDPATH="/nonexistent/state")
    out = drv("-a", "u", "-k", env=env)
    assert out.returncode == 0, out.stderr
    assert "simulates the shutdown" in out.stderr


def test_background_start_x_option_and_stop(conf: tuple[Path, Path, dict[str, str]]) -> None:
    _, s, env = conf
    out = drv("-a", "u", "-x", "pollinterval=1", "-x", "mode=dummy-loop", env=env)
    assert out.returncode == 0, out.stderr
    pid = int((s / "dummy-ups-u.pid").read_text())
    try:
        lines = dumpall(s / "dummy-ups-u")
        assert 'SETINFO driver.parameter.pollinterval "1"' in lines
        assert 'SETINFO driver.parameter.mode "dummy-loop"' in lines
        second = drv("-a", "u", "-F", env=env)
        assert second.returncode == 1 and "another driver is serving u" in second.stderr
    finally:
        os.kill(pid, 15)
    deadline = time.monotonic() + 10
    while (s / "dummy-ups-u").exists():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert not (s / "dummy-ups-u.pid").exists()


def test_upsdrvctl_shutdown_runs_k_in_sdorder(conf: tuple[Path, Path, dict[str, str]]) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "nutwist.cli.upsdrvctl", "shutdown"],
        env=conf[2], capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert (
        "Shutdown UPS: u" in out.stderr and "Shutdown UPS: w" not in out.stderr
    )  # sdorder -1: never


def test_upsdrvctl_errors(conf: tuple[Path, Path, dict[str, str]]) -> None:
    base = [sys.executable, "-m", "nutwist.cli.upsdrvctl"]
    env = conf[2]
    assert subprocess.run([*base, "frob"], env=env, capture_output=True).returncode == 1
    out = subprocess.run([*base, "stop", "u"], env=env, capture_output=True, text=True)
    assert out.returncode == 1 and "dummy-ups-u.pid" in out.stderr
    out = subprocess.run([*base, "start", "nosuch"], env=env, capture_output=True, text=True)
    assert out.returncode == 1 and "UPS nosuch not found" in out.stderr


def test_one_broken_driver_does_not_stop_the_others(tmp_path: Path) -> None:
    (tmp_path / "ok.dev").write_text(DEV)
    conf = upsconf.parse(
        Source.from_text(
            "[ok]\n driver = dummy-ups\n port = ok.dev\n"
            "[badmode]\n driver = dummy-ups\n port = ok.dev\n mode = bogus\n"
            "[nofile]\n driver = dummy-ups\n port = missing.dev\n"
            "[c]\n driver = nutdrv_atcl_usb\n port = auto\n",
            "ups.conf",
        )
    )
    svc = DriversService(conf, confdir=str(tmp_path), statepath=str(tmp_path))
    svc.plan()
    assert sorted(svc.drivers) == ["nofile", "ok"]
    assert svc.external == {"c": str(tmp_path / "nutdrv_atcl_usb-c")}
    svc.startService()
    try:
        wait_for_socket(tmp_path / "dummy-ups-ok")
        wait_for_socket(tmp_path / "dummy-ups-nofile")
        assert svc.drivers["nofile"].stale and not svc.drivers["ok"].stale
    finally:
        svc.stopService()


def test_driver_core_survives_a_listener_that_raises(tmp_path: Path) -> None:
    from nutwist.drivers.dummy_ups import DummyUps

    (tmp_path / "u.dev").write_text(DEV)
    section = upsconf.UpsSection("u", 1, values={"port": "u.dev"})
    d = DummyUps("u", section, confdir=str(tmp_path), clock=Clock())
    d.start()

    class Broken:
        def message(self, words: list[str]) -> None:
            raise RuntimeError("listener bug")

    got: list[list[str]] = []

    class Good:
        def message(self, words: list[str]) -> None:
            got.append(words)

    d.attach(Broken())
    d.attach(Good())
    d.setinfo("battery.charge", "1")
    d.setinfo("battery.charge", "2")
    assert got == [["SETINFO", "battery.charge", "1"], ["SETINFO", "battery.charge", "2"]]
    assert len(d.listeners) == 1
