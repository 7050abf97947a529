"""upsmon's parts: notifications, the privileged helper, POWERDOWNFLAG, the drop-in's checks."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from twisted.internet.task import Clock

from nutwist.config.base import Source
from nutwist.config.upsmon import parse as parse_upsmon
from nutwist.monitor import helper
from nutwist.monitor.notify import Notifier, render

BIN = Path(sys.executable).parent


class FakeReactor(Clock):
    def __init__(self) -> None:
        super().__init__()
        self.spawned: list[dict[str, Any]] = []

    def spawnProcess(
        self,
        proto: Any,
        exe: str,
        argv: list[str],
        env: dict[str, str],
        childFDs: Any,  # noqa: N803
        **ids: int,
    ) -> None:
        class T:
            signals: list[str] = []

            def write(self, data: bytes) -> None:
                rec["stdin"] = data

            def closeStdin(self) -> None:
                pass

            def signalProcess(self, sig: str) -> None:
                rec["killed"] = sig

        rec: dict[str, Any] = {"exe": exe, "argv": argv, "env": env, "proto": proto}
        self.spawned.append(rec)
        proto.transport = T()
        proto.connectionMade()


def conf(text: str) -> Any:
    return parse_upsmon(
        Source.from_text(
            "MONITOR u@h 1 a b secondary\nSHUTDOWNCMD /bin/true\n" + text, "upsmon.conf"
        )
    )


def test_render_is_nuts_printf() -> None:
    assert render("UPS %s on battery", "u@h") == "UPS u@h on battery"
    assert render("100%% %s, alarm [%s]", "u@h", "x") == "100% u@h, alarm [x]"
    assert render("no args %s %s", "a") == "no args a "


def test_exec_gets_the_message_and_nuts_environment(tmp_path: Path) -> None:
    r = FakeReactor()
    n = Notifier(
        conf('NOTIFYCMD "/usr/local/bin/notify me"\nNOTIFYFLAG ONBATT EXEC\n'),
        r,
        env={"PATH": "/bin"},
    )
    n.notify("ONBATT", "u@h")
    (rec,) = r.spawned
    assert rec["argv"] == ["/bin/sh", "-c", '/usr/local/bin/notify me "$NOTIFYMSG"']
    assert rec["env"]["NOTIFYTYPE"] == "ONBATT" and rec["env"]["UPSNAME"] == "u@h"
    assert rec["env"]["NOTIFYMSG"] == "UPS u@h on battery"
    # the shell sees the message as one argument, whatever it holds
    out = subprocess.run(
        [
            *rec["argv"][:2],
            rec["argv"][2].replace("/usr/local/bin/notify me", "printf '%s|' "),
            "x",
        ],
        env={"NOTIFYMSG": 'a "b" $(id) `x`'},
        capture_output=True,
        text=True,
    ).stdout
    assert out == 'a "b" $(id) `x`|'


def test_flags_wall_ignore_and_shutdown_names_no_ups(tmp_path: Path) -> None:
    wall = tmp_path / "wall"
    wall.write_text("#!/bin/sh\ncat >> /dev/null\n")
    wall.chmod(0o755)
    r = FakeReactor()
    n = Notifier(
        conf("NOTIFYCMD /x\nNOTIFYFLAG ONLINE IGNORE\nNOTIFYFLAG SHUTDOWN WALL+EXEC\n"),
        r,
        env={"PATH": str(tmp_path)},
    )
    n.notify("ONLINE", "u@h")
    assert r.spawned == []
    n.notify("SHUTDOWN", None)
    assert [s["exe"] for s in r.spawned] == [str(wall), "/bin/sh"]
    assert r.spawned[0]["stdin"] == b"Auto logout and shutdown proceeding\n"
    assert r.spawned[1]["env"]["UPSNAME"] == ""
    # CAL is SYSLOG only by default: no wall
    n.notify("CAL", "u@h")
    assert len(r.spawned) == 2


def test_a_hanging_notifycmd_is_killed_after_its_time() -> None:
    r = FakeReactor()
    n = Notifier(
        conf("NOTIFYCMD /x\nNOTIFYFLAG ONBATT EXEC\n"), r, timeout=30, env={"PATH": "/bin"}
    )
    n.notify("ONBATT", "u@h")
    r.advance(29)
    assert "killed" not in r.spawned[0]
    r.advance(2)
    assert r.spawned[0]["killed"] == "KILL"


def test_powerdownflag_content_and_checks(tmp_path: Path) -> None:
    flag = tmp_path / "killpower"
    helper.write_powerdownflag(str(flag))
    assert flag.read_bytes() == b"upsmon-shutdown-file"
    assert helper.check_powerdownflag(str(flag))
    assert helper.clear_powerdownflag(str(flag)) is None and not flag.exists()
    flag.write_text("something else")
    assert "doesn't look like a valid powerdown flag file" in (
        helper.clear_powerdownflag(str(flag)) or ""
    )
    assert flag.exists() and not helper.check_powerdownflag(str(flag))


def test_the_helper_runs_shutdowncmd_only_when_asked(tmp_path: Path) -> None:
    out = tmp_path / "ran"
    c = conf(f'SHUTDOWNCMD "echo ran >> {out}"\nPOWERDOWNFLAG {tmp_path}/flag\n')
    sock = helper.start_helper(c)
    try:
        time.sleep(0.2)  # part of the scenario: nothing runs unasked (an absence: no polling)
        assert not out.exists()
        sock.sendall(helper.REQUEST_SHUTDOWN)
        sock.settimeout(10)
        assert sock.recv(1) == b"\x02"
        assert out.read_text() == "ran\n"
        assert (tmp_path / "flag").read_text() == "upsmon-shutdown-file"
    finally:
        sock.close()


def test_the_helper_exits_with_the_monitor(tmp_path: Path) -> None:
    sock = helper.start_helper(conf(""))
    sock.close()  # the monitor side is gone: the helper must not linger
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if pid:
            break
        time.sleep(0.05)
    else:
        pytest.fail("helper still running")


def run_upsmon(args: list[str], confdir: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, NUT_CONFPATH=str(confdir), NUT_ALTPIDPATH=str(confdir))
    return subprocess.run(
        [str(BIN / "upsmon"), *args], env=env, capture_output=True, text=True, timeout=30
    )


def test_dropin_refuses_bad_configs_with_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "upsmon.conf").write_text("MONITOR u@h 1 a b secondary\nPOLLFREQ x\n")
    p = run_upsmon(["-F"], tmp_path)
    assert p.returncode == 1 and "upsmon.conf:2" in p.stderr
    (tmp_path / "upsmon.conf").write_text("MINSUPPLIES 1\n")
    p = run_upsmon(["-F"], tmp_path)
    assert p.returncode == 1 and "insufficient power configured" in p.stderr
    (tmp_path / "upsmon.conf").write_text("MONITOR u@h 1 a b secondary\nMINSUPPLIES 2\n")
    p = run_upsmon(["-F"], tmp_path)
    assert p.returncode == 1 and "insufficient power configured" in p.stderr


def test_dropin_k(tmp_path: Path) -> None:
    flag = tmp_path / "killpower"
    (tmp_path / "upsmon.conf").write_text(f"MONITOR u@h 1 a b secondary\nPOWERDOWNFLAG {flag}\n")
    assert run_upsmon(["-K"], tmp_path).returncode == 1
    flag.write_text("upsmon-shutdown-file")
    assert run_upsmon(["-K"], tmp_path).returncode == 0
    flag.write_text("nope")
    assert run_upsmon(["-K"], tmp_path).returncode == 1


def test_world_readable_config_warns_loudly_but_starts(tmp_path: Path) -> None:
    from nutwist.cli.upsmon import warn_permissions

    path = tmp_path / "upsmon.conf"
    path.write_text("x")
    path.chmod(0o644)
    assert any("readable by every user" in w for w in warn_permissions(str(path), None))
    path.chmod(0o600)
    assert warn_permissions(str(path), None) == []


def test_c_without_a_running_upsmon(tmp_path: Path) -> None:
    (tmp_path / "upsmon.conf").write_text("MONITOR u@h 1 a b secondary\n")
    p = run_upsmon(["-c", "fsd"], tmp_path)
    assert p.returncode == 1 and "upsmon.pid" in p.stderr


def test_explain_shutdown_decisions() -> None:
    from nutwist.monitor.explain import _Quiet, explain
    from nutwist.monitor.logic import MonitorLogic

    c = parse_upsmon(
        Source.from_text(
            "MONITOR a@h 1 u p primary\nMONITOR b@h 1 u p secondary\nMINSUPPLIES 2\n"
            'SHUTDOWNCMD "/sbin/shutdown -h now"\n',
            "upsmon.conf",
        )
    )
    clock = Clock()
    logic = MonitorLogic(c, clock.seconds, _Quiet())
    a, b = logic.tracks.values()
    a.primary_granted = True
    logic.polled(a, "OL")
    logic.polled(b, "OB")
    down, lines = explain(c, logic, {})
    assert not down
    assert "Decision: no shutdown; losing any UPS that counts would shut it down" in lines
    assert any(
        "becomes critical when the UPS reports LB and the primary sets FSD" in x for x in lines
    )
    logic.polled(a, "OB LB")
    down, lines = explain(c, logic, {})
    assert down and "Decision: this host would shut down now" in lines
    assert any("critical: on battery with a low battery" in x for x in lines)


def test_explain_shutdown_command_with_upsd_unreachable(tmp_path: Path) -> None:
    from support.nut import free_port

    (tmp_path / "upsmon.conf").write_text(f"MONITOR u@127.0.0.1:{free_port()} 1 a b secondary\n")
    p = subprocess.run(
        [str(BIN / "nutwist"), "explain-shutdown", "--confdir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    # upsmon could not connect: that is a failure to report, not a host that is safe
    assert p.returncode == 1, p.stderr
    assert "upsmon is NOT connected" in p.stdout
    assert "Connection failure: Connection refused" in p.stdout
    assert "Decision: no shutdown" in p.stdout


def test_an_unwritable_powerdownflag_never_stops_the_shutdown(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "ran"
    flag = tmp_path / "no" / "such" / "dir" / "killpower"
    c = conf(f'SHUTDOWNCMD "echo ran >> {out}"\nPOWERDOWNFLAG {flag}\n')
    assert helper.run_shutdown(c) == 0
    assert out.read_text() == "ran\n"
    err = capfd.readouterr().err
    assert "cannot write POWERDOWNFLAG" in err and len(err.strip().splitlines()) == 1


def test_intervals_count_whole_seconds_as_nut() -> None:
    """NUT's upsmon keeps time in time_t: a secondary last non-critical at 100.75 (second 100)
    gives the primary until second 105 under HOSTSYNC 4, not until 104.75.  (Times are
    binary fractions, so that the Clock's sums are exact.)"""
    from nutwist.monitor.explain import _Quiet
    from nutwist.monitor.logic import MonitorLogic

    c = parse_upsmon(Source.from_text("MONITOR a@h 1 u p secondary\nHOSTSYNC 4\n", "upsmon.conf"))
    clock = Clock()
    logic = MonitorLogic(c, clock.seconds, _Quiet())
    (a,) = logic.tracks.values()
    clock.advance(100.75)
    logic.polled(a, "OB LB")  # the first such poll still counts as non-critical (at its OB)
    clock.advance(4.125)  # 104.875: 4.125 s of real time, 4 whole seconds
    logic.polled(a, "OB LB")
    assert not logic.recalc()
    clock.advance(0.125)  # second 105
    logic.polled(a, "OB LB")
    assert logic.recalc()
