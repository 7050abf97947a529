"""The twistd plugins: discoverable from an installed copy, with NUT-style options."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from support.nut import dumpall, wait_for_socket
from twisted.application.service import IServiceCollection
from twisted.python import usage

from nutwist import monitor_tap, tap
from nutwist.services.drivers import DriversService
from nutwist.services.upsd import UpsdService

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "etc" / "demo"
TWISTD = Path(sys.executable).with_name("twistd")


def run_twistd(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run(
        [str(TWISTD), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A working directory away from the checkout, so only the installed copy is seen."""
    return tmp_path


def test_installed_twistd_lists_both_plugins(outside: Path) -> None:
    if not TWISTD.exists():
        pytest.fail(f"{TWISTD} missing: run the tests through `make test`")
    out = run_twistd("--help", cwd=outside)
    assert out.returncode == 0, out.stderr
    commands = {line.split()[0] for line in out.stdout.splitlines() if line.startswith("    ")}
    assert {"nut", "nut-monitor"} <= commands, out.stdout
    # and it was the installed copy that answered, not the checkout
    probe = subprocess.run(
        [sys.executable, "-c", "import nutwist; print(nutwist.__file__)"],
        cwd=outside,
        capture_output=True,
        text=True,
        check=True,
    )
    assert not probe.stdout.strip().startswith(str(ROOT / "nutwist")), probe.stdout


@pytest.mark.parametrize(
    "args", [("nut", "--help"), ("nut", "upsd", "--help"), ("nut-monitor", "--help")]
)
def test_installed_help(outside: Path, args: tuple[str, ...]) -> None:
    out = run_twistd(*args, cwd=outside)
    assert out.returncode == 0, out.stderr
    if args[-2] != "nut":
        assert "--confdir" in out.stdout and "--statepath" in out.stdout


def test_installed_driver_serves_its_socket(outside: Path) -> None:
    state = outside / "state"
    state.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.Popen(
        [str(TWISTD), "--pidfile=", "-n", "nut", "driver", "-a", "demo", "--confdir", str(DEMO),
         "--statepath", str(state)],
        cwd=outside, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        wait_for_socket(state / "dummy-ups-demo", timeout=30)
        lines = dumpall(state / "dummy-ups-demo")
        assert 'SETINFO device.model "Demo 1500"' in lines and lines[-1] == "DUMPDONE"
    finally:
        proc.terminate()
        out = proc.communicate(timeout=30)[0].decode()
    assert "Traceback" not in out
    assert not (state / "dummy-ups-demo").exists()


def test_installed_driver_not_implemented_says_so(outside: Path) -> None:
    conf = outside / "conf"
    conf.mkdir()
    (conf / "ups.conf").write_text("[u]\n driver = nutdrv_atcl_usb\n port = auto\n")
    out = run_twistd(
        "--pidfile=", "-n", "nut", "driver", "-a", "u", "--confdir", str(conf), cwd=outside
    )
    assert out.returncode == 1
    assert "'nutdrv_atcl_usb' is not one nutwist implements" in out.stderr
    assert "Traceback" not in out.stderr


def test_installed_bad_config_one_line_and_exit_1(outside: Path) -> None:
    conf = outside / "conf"
    conf.mkdir()
    (conf / "ups.conf").write_text('[a]\n driver = dummy-ups\n port = x.dev\n desc = "no#"\n')
    (conf / "upsd.conf").write_text("")
    (conf / "upsd.users").write_text("")
    (conf / "upsmon.conf").write_text("MINSUPPLIES 1\n")
    out = run_twistd("--pidfile=", "-n", "nut", "standalone", "--confdir", str(conf), cwd=outside)
    assert out.returncode == 1
    assert "Traceback" not in out.stderr
    assert f"{conf}/ups.conf:4: error: Unbalanced word due to unescaped # in quotes" in out.stderr
    assert f"{conf}/upsmon.conf" in out.stderr


# --- the options in-process ---------------------------------------------------


def test_options_require_a_subcommand() -> None:
    with pytest.raises(usage.UsageError):
        tap.Options().parseOptions([])


def test_driver_needs_upsname() -> None:
    with pytest.raises(usage.UsageError):
        tap.Options().parseOptions(["driver"])


def test_driver_options(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NUT_CONFPATH", "/srv/nut")
    o = tap.Options()
    o.parseOptions(["driver", "-a", "demo", "-x", "port=other.dev", "-D"])
    sub = o.subOptions
    assert sub["upsname"] == "demo" and sub["extra"] == [("port", "other.dev")] and sub["debug"]
    assert sub.confdir == "/srv/nut"
    o = tap.Options()
    o.parseOptions(["driver", "-a", "demo", "--confdir", "/x"])
    assert o.subOptions.confdir == "/x"


def test_make_service_on_demo_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    from nutwist.monitor import helper
    from nutwist.monitor.service import UpsmonService

    ends = socket.socketpair()
    monkeypatch.setattr(helper, "start_helper", lambda conf, **kw: ends[0])  # no fork in a test
    o = tap.Options()
    o.parseOptions(["standalone", "--confdir", str(DEMO), "--statepath", str(tmp_path)])
    svc = tap.makeService(o)
    children = list(IServiceCollection(svc))
    drivers = children[0]
    assert isinstance(drivers, DriversService)
    assert list(drivers.drivers) == ["demo"] and drivers.external == {}
    assert isinstance(children[1], UpsdService) and [
        e.name for e in children[1].state.ups_list()
    ] == ["demo"]
    monitor = children[2]
    assert isinstance(monitor, UpsmonService)
    assert [t.system for t in monitor.logic.tracks.values()] == ["demo@localhost"]


def test_make_service_unknown_ups(capsys: pytest.CaptureFixture[str]) -> None:
    o = tap.Options()
    o.parseOptions(["driver", "-a", "nosuch", "--confdir", str(DEMO)])
    with pytest.raises(SystemExit) as e:
        tap.makeService(o)
    assert e.value.code == 1
    assert "no [nosuch] section" in capsys.readouterr().err


def test_monitor_refuses_missing_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    o = monitor_tap.Options()
    o.parseOptions(["--confdir", str(tmp_path)])
    with pytest.raises(SystemExit):
        monitor_tap.makeService(o)
    assert f"{tmp_path}/upsmon.conf: error: cannot open" in capsys.readouterr().err


def test_no_dropin_cache_committed() -> None:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    tracked = subprocess.run(
        ["git", "ls-files", "twisted"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    assert tracked == ["twisted/plugins/nutwist_plugins.py"]
