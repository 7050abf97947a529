"""``nutwist check-config``: errors, warnings and exit statuses."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from nutwist.cli.main import main
from nutwist.config.check import check

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "etc" / "demo"
SAMPLES = ROOT.parent / "shared" / "data" / "conf-samples"

UPS = '[ups1]\n\tdriver = dummy-ups\n\tport = ups1.dev\n\tdesc = "test"\n'
DEV = "ups.status: OL\nbattery.charge: 100\nbattery.charge.low: 20\n"
USERS = "[mon]\n\tpassword = pw\n\tupsmon primary\n"
UPSMON = 'MONITOR ups1@localhost 1 mon pw primary\nSHUTDOWNCMD "/bin/true"\n'


def write_conf(d: Path, **files: str) -> Path:
    d.mkdir(exist_ok=True)
    for name, text in files.items():
        p = d / name.replace("_", ".")
        p.write_text(text)
        p.chmod(0o640)
    return d


@pytest.fixture
def good(tmp_path: Path) -> Path:
    conf = write_conf(
        tmp_path / "conf",
        ups_conf=UPS,
        upsd_conf="LISTEN 127.0.0.1 3493\n",
        upsmon_conf=UPSMON,
        nut_conf="MODE=standalone\n",
    )
    (conf / "upsd.users").write_text(USERS)
    (conf / "upsd.users").chmod(0o640)
    (conf / "ups1.dev").write_text(DEV)
    return conf


def lines_of(conf: Path) -> list[str]:
    return [str(d) for d in check(str(conf), environ={}).diagnostics]


def test_complete_valid_config_exits_0(good: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert lines_of(good) == []
    assert main(["check-config", "--confdir", str(good)]) == 0
    assert main(["check-config", "--confdir", str(good), "--strict"]) == 0
    assert capsys.readouterr().out == ""


def test_malformed_line_one_line_and_exit_1(good: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (good / "ups.conf").write_text(UPS + "\tthis is wrong\n")
    assert main(["check-config", "--confdir", str(good)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out == [
        f"{good}/ups.conf:5: error: expected 'key = value', a lone flag word, or '[upsname]'"
    ]


def test_warnings_exit_0_or_2_with_strict(good: Path) -> None:
    (good / "upsd.conf").write_text("LISTEN 127.0.0.1 3493\nFROB 1\n")
    assert lines_of(good) == [f"{good}/upsd.conf:2: warning: unknown directive 'FROB'"]
    assert main(["check-config", "--confdir", str(good)]) == 0
    assert main(["check-config", "--confdir", str(good), "--strict"]) == 2


def test_no_ups_without_allow_no_device(good: Path) -> None:
    (good / "ups.conf").write_text("maxretry = 3\n")
    (good / "upsmon.conf").write_text(
        'MONITOR r@remote.example 1 mon pw secondary\nSHUTDOWNCMD "x"\n'
    )
    found = lines_of(good)
    assert len(found) == 1 and "no UPS is defined" in found[0]
    (good / "upsd.conf").write_text("ALLOW_NO_DEVICE true\n")
    assert lines_of(good) == []
    (good / "upsd.conf").write_text("")
    assert check(str(good), environ={"ALLOW_NO_DEVICE": "yes"}).errors == 0


def test_monitor_of_unknown_local_ups(good: Path) -> None:
    (good / "upsmon.conf").write_text('MONITOR other@127.0.0.1 1 mon pw primary\nSHUTDOWNCMD "x"\n')
    assert lines_of(good) == [
        f"{good}/upsmon.conf:1: error: MONITOR other@127.0.0.1: no [other] in {good}/ups.conf; "
        "upsd will answer UNKNOWN-UPS"
    ]


def test_monitor_user_problems(good: Path) -> None:
    (good / "upsmon.conf").write_text(
        "MONITOR ups1@localhost 1 nobody pw primary\n"
        "MONITOR ups1@[::1]:3493 1 mon wrong primary\n"
        'SHUTDOWNCMD "x"\n'
    )
    (good / "upsd.users").write_text(USERS + "[plain]\n\tpassword = p\n\tactions = SET\n")
    found = lines_of(good)
    assert found == [
        f"{good}/upsmon.conf:1: error: MONITOR ups1@localhost: user nobody is not in {good}/upsd.users",
        f"{good}/upsmon.conf:2: error: MONITOR ups1@[::1]:3493: the password does not match user "
        f"mon in {good}/upsd.users",
    ]
    assert "wrong" not in "".join(found[:1]) and "pw" not in found[1].replace("upsmon", "")
    (good / "upsmon.conf").write_text('MONITOR ups1@localhost 1 plain p primary\nSHUTDOWNCMD "x"\n')
    assert [x.split(": error: ")[1] for x in lines_of(good)] == [
        "MONITOR ups1@localhost: user plain lacks the upsmon role "
        "(add 'upsmon primary' to its section)"
    ]


def test_remote_monitors_are_not_checked_against_local_files(good: Path) -> None:
    (good / "upsmon.conf").write_text(
        'MONITOR x@ups.example.net 1 who pw secondary\nSHUTDOWNCMD "x"\n'
    )
    assert lines_of(good) == []


def test_power_below_minsupplies_and_no_shutdowncmd(good: Path) -> None:
    (good / "upsmon.conf").write_text("MONITOR ups1@localhost 1 mon pw primary\nMINSUPPLIES 2\n")
    found = lines_of(good)
    assert any(": error: " in x and "insufficient power" in x for x in found), found
    assert any(": warning: " in x and "SHUTDOWNCMD" in x for x in found), found


def test_secret_files_readable_by_others(good: Path) -> None:
    (good / "upsd.users").chmod(0o644)
    (good / "upsmon.conf").chmod(0o604)
    found = lines_of(good)
    assert found == [
        f"{good}/upsd.users: warning: readable by all users, and it holds passwords: "
        "chmod 640 (owner root, group nut)",
        f"{good}/upsmon.conf: warning: readable by all users, and it holds passwords: "
        "chmod 640 (owner root, group nut)",
    ]


def test_upsmon_conf_writable_by_run_as_user(good: Path) -> None:
    try:
        import pwd

        nobody = pwd.getpwnam("nobody")
    except KeyError:
        pytest.skip("no user nobody")
    (good / "upsmon.conf").write_text(UPSMON + "RUN_AS_USER nobody\n")
    if os.geteuid() != 0:
        pytest.skip("needs root to chown")
    os.chown(good / "upsmon.conf", nobody.pw_uid, -1)
    found = lines_of(good)
    assert len(found) == 1 and "writable by RUN_AS_USER nobody" in found[0]


def test_lb_impossible_warning(good: Path) -> None:
    (good / "ups1.dev").write_text("ups.status: OL\nbattery.charge: 100\n")
    found = lines_of(good)
    assert len(found) == 1 and "can never report a low battery" in found[0]
    (good / "ups1.dev").write_text("ups.status: OL\nbattery.runtime.low: 120\n")
    assert lines_of(good) == []


def test_missing_file_for_mode(good: Path) -> None:
    (good / "upsd.users").unlink()
    assert lines_of(good) == [f"{good}/upsd.users: error: missing, and MODE=standalone needs it"]


def test_demo_config_is_clean() -> None:
    assert [x for x in lines_of(DEMO) if ": error: " in x] == []


def test_nut_samples_report_what_nut_refuses_without_syntax_errors(tmp_path: Path) -> None:
    if not SAMPLES.is_dir():
        pytest.skip("shared samples absent")
    conf = tmp_path / "samples"
    conf.mkdir()
    for p in SAMPLES.iterdir():
        shutil.copy(p, conf / p.name.removesuffix(".in").removesuffix(".sample"))
    for name in ("upsd.users", "upsmon.conf"):
        (conf / name).chmod(0o640)
    found = lines_of(conf)
    errors = [x for x in found if ": error: " in x]
    assert not any("Unbalanced" in x or "expected" in x for x in errors), errors
    assert any("upsmon.conf" in x and "insufficient power" in x for x in errors), errors
    assert any("ups.conf" in x and "no UPS is defined" in x for x in errors), errors


def test_debian_etc_nut(tmp_path: Path) -> None:
    if not Path("/etc/nut/upsmon.conf").exists():
        pytest.skip("Debian's nut-client is not installed")
    found = lines_of(Path("/etc/nut"))
    errors = [x for x in found if ": error: " in x]
    assert not any("Unbalanced" in x or "expected" in x for x in errors), errors
    assert any("insufficient power" in x for x in errors), errors


def test_command_line_entry_point(good: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "nutwist.cli.main", "check-config", "--confdir", str(good / "none")],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert out.returncode == 1
    assert "not a directory" in out.stdout and "Traceback" not in out.stderr
