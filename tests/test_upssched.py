"""upssched: the timer daemon's protocol and timers, and the drop-in client.

Unit tests drive the daemon with a task.Clock and StringTransport.  End-to-end
tests run nutwist's upssched and NUT 2.8.0's /sbin/upssched with the same
upssched.conf in a temp NUT_CONFPATH, each side's client against the other
side's daemon too, with a CMDSCRIPT that appends what it was called with.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from support.nut import have_nut
from twisted.internet.error import ProcessDone, ProcessTerminated
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure

from nutwist.cli import upssched as cli
from nutwist.services import upssched as svc

# --- unit: the daemon ---------------------------------------------------------


class Recorder:
    """Stands in for CommandRunner: what the queue asked to run."""

    def __init__(self) -> None:
        self.ran: list[tuple[str, Mapping[str, str] | None]] = []

    def __call__(self, command: str, env: Mapping[str, str] | None = None) -> None:
        self.ran.append((command, env))

    @property
    def commands(self) -> list[str]:
        return [c for c, _ in self.ran]


def connect(
    clock: Clock | None = None,
) -> tuple[svc.TimerProtocol, StringTransport, Clock, Recorder]:
    clock = clock or Clock()
    ran = Recorder()
    factory = svc.TimerFactory(svc.TimerQueue(clock, ran))
    proto = factory.buildProtocol(None)
    assert isinstance(proto, svc.TimerProtocol)
    transport = StringTransport()
    proto.makeConnection(transport)
    return proto, transport, clock, ran


def ask(proto: svc.TimerProtocol, transport: StringTransport, data: bytes) -> bytes:
    transport.clear()
    proto.dataReceived(data)
    return transport.value()


def test_nut_constants() -> None:
    assert svc.EMPTY_WAIT == 15
    assert svc.PASS_INTERVAL == 1.0
    assert (cli.MAX_TRIES, cli.RETRY_DELAY) == (30, 0.25)


def test_start_answers_ok_and_runs_the_timer_when_due() -> None:
    proto, t, clock, ran = connect()
    assert ask(proto, t, b'START "t1" "5"\n') == b"OK\n"
    clock.advance(4.9)
    assert ran.ran == []
    clock.advance(0.1)
    # no recorded UPS: CMDSCRIPT keeps the daemon's environment, as in NUT 2.8.0
    assert ran.ran == [("t1", None)]
    assert len(proto.factory.queue) == 0


def test_same_name_twice_gives_two_timers_and_cancel_takes_the_first() -> None:
    proto, t, clock, ran = connect()
    assert ask(proto, t, b"START a 1\nSTART a 3\n") == b"OK\nOK\n"
    assert proto.factory.queue.names() == ["a", "a"]
    assert ask(proto, t, b"CANCEL a\n") == b"OK\n"
    clock.advance(2)
    assert ran.commands == []
    clock.advance(1)
    assert ran.commands == ["a"]


@pytest.mark.parametrize(
    ("offset", "fires_at"),
    [("0", 0), ("+2", 2), (" 3x", 3), ("abc", 0), ("", 0), ("1.9", 1)],
)
def test_offset_is_read_as_strtol(offset: str, fires_at: int) -> None:
    proto, t, clock, ran = connect()
    assert ask(proto, t, f'START n "{offset}"\n'.encode()) == b"OK\n"
    if fires_at:
        clock.advance(fires_at - 0.01)
        assert ran.commands == []
    clock.advance(0.01)
    assert ran.commands == ["n"]


def test_negative_offset_is_ignored_but_answered_ok() -> None:
    proto, t, clock, ran = connect()
    assert ask(proto, t, b"START n -5\n") == b"OK\n"
    assert len(proto.factory.queue) == 0
    clock.advance(10)
    assert ran.commands == []


def test_cancel_without_timer_runs_the_command_if_given() -> None:
    proto, t, _, ran = connect()
    assert ask(proto, t, b"CANCEL nope\n") == b"OK\n"
    assert ask(proto, t, b'CANCEL nope ""\n') == b"OK\n"
    assert ran.commands == []
    assert ask(proto, t, b'CANCEL "nope" "back online"\n') == b"OK\n"
    assert ran.commands == ["back online"]
    assert ask(proto, t, b"CANCEL\n") == b"OK\n"


def test_cancel_with_a_running_timer_runs_nothing() -> None:
    proto, t, clock, ran = connect()
    ask(proto, t, b"START t 5\n")
    assert ask(proto, t, b"CANCEL t cmd\n") == b"OK\n"
    clock.advance(10)
    assert ran.commands == []


@pytest.mark.parametrize(
    "line",
    [b"\n", b"START a\n", b"start a 1\n", b"FOO\n", b"LIST-TIMERS\n", b"START-SHARED a\n"],
)
def test_anything_else_is_err_unknown(line: bytes) -> None:
    proto, t, _, _ = connect()
    assert ask(proto, t, line) == b"ERR UNKNOWN\n"
    assert len(proto.factory.queue) == 0


def test_extra_words_are_ignored() -> None:
    proto, t, _, _ = connect()
    assert ask(proto, t, b"START c 1 extra words\n") == b"OK\n"
    assert proto.factory.queue.names() == ["c"]


def test_requests_are_tokenized_as_nut_does() -> None:
    proto, t, clock, ran = connect()
    # escapes, a quoted LF that continues the line, and a line in pieces
    assert ask(proto, t, b'START "a \\"b\\" \\\\ \\# c" 1\n') == b"OK\n"
    assert ask(proto, t, b'START "q\nr" 1\n') == b"OK\n"
    assert ask(proto, t, b"STA") == b""
    assert ask(proto, t, b"RT x 1") == b""
    assert ask(proto, t, b"\nSTART y 1\n") == b"OK\nOK\n"
    clock.advance(1)
    assert ran.commands == ['a "b" \\ # c', "qr", "x", "y"]


def test_hash_in_quotes_gets_no_answer_and_the_rest_is_read_as_nut_does() -> None:
    proto, t, _, _ = connect()
    # NUT 2.8.0: no answer for the broken part; 'b" 1' is then a line of two words
    assert ask(proto, t, b'START "a#b" 1\n') == b"ERR UNKNOWN\n"
    assert len(proto.factory.queue) == 0


def test_an_endless_line_is_dropped() -> None:
    proto, t, _, _ = connect()
    proto.dataReceived(b"x" * (svc.MAX_PENDING + 10))
    assert t.disconnecting


def test_start_shared_joins_a_running_timer_and_names_every_ups() -> None:
    proto, t, clock, ran = connect()
    assert ask(proto, t, b'START-SHARED "off" "10" "ONBATT" "ups1" "msg"\n') == b"OK\n"
    clock.advance(5)
    # a second UPS neither restarts the timer nor adds one
    assert ask(proto, t, b'START-SHARED "off" "10" "ONBATT" "ups2" ""\n') == b"OK\n"
    assert ask(proto, t, b'START-SHARED "off" "10" "LOWBATT" "ups1" ""\n') == b"OK\n"
    assert proto.factory.queue.names() == ["off"]
    clock.advance(5)
    assert ran.ran == [("off", {"UPSNAME": "ups1,ups2", "NOTIFYTYPE": "ONBATT,LOWBATT"})]


def test_cancel_matched_waits_until_no_ups_is_left() -> None:
    proto, t, clock, ran = connect()
    ask(proto, t, b'START-SHARED "off" "10" "ONBATT" "ups1" ""\n')
    ask(proto, t, b'START-SHARED "off" "10" "ONBATT" "ups2" ""\n')
    # a UPS that never started it changes nothing
    assert ask(proto, t, b'CANCEL-MATCHED "off" "" "ONLINE" "ups3" ""\n') == b"OK\n"
    assert ask(proto, t, b'CANCEL-MATCHED "off" "" "ONLINE" "ups1" ""\n') == b"OK\n"
    assert proto.factory.queue.names() == ["off"]
    assert ask(proto, t, b'CANCEL-MATCHED "off" "" "ONLINE" "ups2" ""\n') == b"OK\n"
    assert proto.factory.queue.names() == []
    # nothing left to cancel: the command runs, as with CANCEL
    ask(proto, t, b'CANCEL-MATCHED "off" "late" "ONLINE" "ups2" ""\n')
    clock.advance(20)
    assert ran.commands == ["late"]


def test_plain_cancel_drops_a_shared_timer_whoever_started_it() -> None:
    proto, t, clock, ran = connect()
    ask(proto, t, b'START-SHARED "off" "10" "ONBATT" "ups1" ""\n')
    assert ask(proto, t, b"CANCEL off\n") == b"OK\n"
    clock.advance(20)
    assert ran.ran == []


class IdleDaemon:
    def __init__(self, empty_wait: int = svc.EMPTY_WAIT) -> None:
        self.clock = Clock()
        self.ran = Recorder()
        self.busy = False
        self.daemon = svc.TimerDaemon(
            self.clock, "/nonexistent", self.ran, busy=lambda: self.busy, empty_wait=empty_wait
        )
        self.daemon.start_passes()

    @property
    def stopped(self) -> bool:
        return self.daemon.done.called


def test_daemon_exits_after_fifteen_empty_passes() -> None:
    d = IdleDaemon()
    d.clock.advance(14)
    assert not d.stopped
    d.clock.advance(1)
    assert d.stopped


def test_a_timer_or_a_running_command_keeps_the_daemon() -> None:
    d = IdleDaemon()
    d.clock.advance(10)
    d.daemon.queue.start("t", "20")
    d.clock.advance(20)
    assert d.ran.commands == ["t"]
    # the count starts again once the queue is empty
    d.clock.advance(14)
    assert not d.stopped
    d.busy = True
    d.clock.advance(30)
    assert not d.stopped
    d.busy = False
    d.clock.advance(15)
    assert d.stopped


class FakeProcessReactor:
    def __init__(self) -> None:
        self.spawned: list[tuple[Any, str, list[str], dict[str, str], Any]] = []

    def spawnProcess(self, proto: Any, exe: str, args: list[str], env: Any, **kw: Any) -> None:
        self.spawned.append((proto, exe, args, env, kw.get("childFDs")))


def test_command_runner_uses_sh_like_system_and_does_not_wait() -> None:
    reactor = FakeProcessReactor()
    runner = svc.CommandRunner(reactor, "/x/cmd", environ={"UPSNAME": "first", "PATH": "/bin"})  # type: ignore[arg-type]
    runner("one")
    runner("two", {"UPSNAME": "ups1,ups2"})
    assert runner.running == 2
    (p1, exe, args, env, fds), (p2, _, args2, env2, _) = reactor.spawned
    assert exe == "/bin/sh"
    assert args == ["sh", "-c", "/x/cmd one"]
    assert args2 == ["sh", "-c", "/x/cmd two"]
    assert env == {"UPSNAME": "first", "PATH": "/bin"}
    assert env2["UPSNAME"] == "ups1,ups2"
    assert fds == {0: 0, 1: 1, 2: 2}
    p1.processEnded(Failure(ProcessDone(0)))
    p2.processEnded(Failure(ProcessTerminated(3)))
    assert runner.running == 0


def test_command_line_is_cut_as_nut_cuts_it() -> None:
    reactor = FakeProcessReactor()
    runner = svc.CommandRunner(reactor, "/x/cmd", environ={})  # type: ignore[arg-type]
    runner("y" * 5000)
    assert len(reactor.spawned[0][2][2]) == svc.COMMAND_LIMIT


# --- unit: the client ---------------------------------------------------------


def test_requests_are_quoted_as_nut_sends_them() -> None:
    c = cli.Upssched("ups1", "ONBATT", "UPS ups1 on battery")
    assert c.request("START", 'a "b"#\\', "5", False) == b'START "a \\"b\\"\\#\\\\" "5"\n'
    assert c.request("CANCEL", "t", None, False) == b'CANCEL "t"\n'
    assert c.request("CANCEL", "t", "cmd", False) == b'CANCEL "t" "cmd"\n'
    assert (
        c.request("START-SHARED", "t", "5", True)
        == b'START-SHARED "t" "5" "ONBATT" "ups1" "UPS ups1 on battery"\n'
    )
    assert c.request("CANCEL-MATCHED", "t", None, True).startswith(
        b'CANCEL-MATCHED "t" "" "ONBATT" "ups1" "UPS'
    )
    assert len(c.request("START", "n" * 600, "1", False)) == cli.SMALLBUF


# --- end to end ---------------------------------------------------------------

NUT_UPSSCHED = "/sbin/upssched"
SCRIPT = """#!/bin/sh
# who ran us: the upssched process (through sh if sh did not exec us)
p=$PPID
exe=$(readlink /proc/$p/exe)
case "$exe" in */sh|*/dash|*/bash) p=$(cut -d' ' -f4 /proc/$p/stat); exe=$(readlink /proc/$p/exe);; esac
case "$1" in slow*) sleep 3;; esac
echo "$1 $(date +%s.%N) ${UPSNAME:--} ${NOTIFYTYPE:--} $exe" >> "$(dirname "$0")/out"
"""


def nutwist_upssched() -> list[str]:
    script = Path(sys.executable).parent / "upssched"
    return [str(script)] if script.exists() else [sys.executable, "-m", "nutwist.cli.upssched"]


PROGRAMS = {"nut": [NUT_UPSSCHED], "nutwist": nutwist_upssched()}


def daemon_kind(exe: str) -> str:
    return "nut" if exe.endswith("upssched") else "nutwist" if "python" in exe else exe


class Sched:
    """A temp NUT_CONFPATH with upssched.conf, CMDSCRIPT, PIPEFN and LOCKFN."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.cmd = root / "cmd.sh"
        self.cmd.write_text(SCRIPT)
        self.cmd.chmod(0o755)
        self.pipe = root / "pipe"
        self.lock = root / "lock"
        self.out = root / "out"
        self.env = {k: v for k, v in os.environ.items() if k not in ("UPSNAME", "NOTIFYTYPE")}
        self.env.update(NUT_CONFPATH=str(root), **{cli.EMPTY_WAIT_ENV: "2"})

    def conf(self, body: str, header: bool = True) -> None:
        head = f"CMDSCRIPT {self.cmd}\nPIPEFN {self.pipe}\nLOCKFN {self.lock}\n" if header else ""
        (self.root / "upssched.conf").write_text(head + body)

    def run(
        self, prog: str, ups: str | None = "ups1", ntype: str | None = "ONBATT", **env: str
    ) -> subprocess.CompletedProcess[str]:
        e = dict(self.env, **env)
        if ups is not None:
            e["UPSNAME"] = ups
        if ntype is not None:
            e["NOTIFYTYPE"] = ntype
        return subprocess.run(
            PROGRAMS[prog], env=e, capture_output=True, text=True, timeout=20, cwd=self.root
        )

    def events(self) -> list[tuple[str, float, str, str, str]]:
        if not self.out.exists():
            return []
        rows = []
        for line in self.out.read_text().splitlines():
            name, when, ups, ntype, exe = line.split(" ")
            rows.append((name, float(when), ups, ntype, daemon_kind(exe)))
        return rows

    def names(self) -> list[str]:
        return [e[0] for e in self.events()]

    def wait_for(self, *names: str, timeout: float = 8.0) -> dict[str, tuple[float, str, str, str]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            seen = {e[0]: e[1:] for e in self.events()}
            if all(n in seen for n in names):
                return seen
            time.sleep(0.05)
        raise AssertionError(f"{names} never ran; ran: {self.names()}")

    def processes(self) -> list[int]:
        """Our daemons: live processes whose environment names this NUT_CONFPATH."""
        marker = f"NUT_CONFPATH={self.root}".encode()
        pids = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) == os.getpid():
                continue
            try:
                if marker in (entry / "environ").read_bytes().split(b"\0"):
                    pids.append(int(entry.name))
            except OSError:
                continue
        return pids

    def daemons(self) -> list[int]:
        """Of those, the timer daemons (not a CMDSCRIPT still finishing)."""
        found = []
        for pid in self.processes():
            try:
                exe = os.readlink(f"/proc/{pid}/exe")
            except OSError:
                continue
            if daemon_kind(exe) in ("nut", "nutwist"):
                found.append(pid)
        return found

    def cleanup(self) -> None:
        for pid in self.processes():
            try:
                os.kill(pid, signal.SIGTERM)
            except OSError:
                pass


@pytest.fixture
def sched(tmp_path: Path) -> Iterator[Sched]:
    # a short root keeps PIPEFN within sun_path
    s = Sched(tmp_path)
    yield s
    s.cleanup()


needs_nut = pytest.mark.skipif(
    not (os.access(NUT_UPSSCHED, os.X_OK) and have_nut("upssched")),
    reason="NUT 2.8.0's upssched is not installed",
)
BOTH = pytest.mark.parametrize(
    "prog", [pytest.param("nut", marks=[needs_nut, pytest.mark.nut]), "nutwist"]
)


def both(s: Sched, ups: str | None = "ups1", ntype: str | None = "ONBATT") -> tuple[Any, Any]:
    """The same run by NUT's program and by nutwist's: (stdout, stderr, status) each."""
    results = []
    for prog in ("nut", "nutwist"):
        r = s.run(prog, ups, ntype)
        results.append((r.stdout, r.stderr.replace(str(s.root), "<root>"), r.returncode))
    return results[0], results[1]


@needs_nut
@pytest.mark.nut
@pytest.mark.parametrize(("ups", "ntype"), [(None, None), ("ups1", None), (None, "ONBATT")])
def test_missing_environment_as_nut(sched: Sched, ups: str | None, ntype: str | None) -> None:
    sched.conf("AT ONBATT * EXECUTE never\n")
    nut, ours = both(sched, ups, ntype)
    assert ours == nut
    assert ours == (
        "Error: UPSNAME and NOTIFYTYPE must be set.\nThis program should only be run from upsmon.\n",
        "",
        1,
    )
    assert not sched.out.exists()


CONFIG_CASES = {
    "at-before-cmdscript": ("AT ONBATT * EXECUTE x\nCMDSCRIPT /bin/true\n", False),
    "at-before-pipefn": ("CMDSCRIPT {cmd}\nAT OTHER * EXECUTE x\nPIPEFN p\nLOCKFN l\n", False),
    "at-before-lockfn": ("CMDSCRIPT {cmd}\nPIPEFN p\nAT OTHER * EXECUTE x\nLOCKFN l\n", False),
    "short-at-is-not-fatal": ("AT ONBATT * EXECUTE\n", False),
    "messages": (
        "bogus line here\nCMDSCRIPT\nAT ONBATT\nAT ONBATT * FOO x\nAT ONBATT ups2 FOO x\n"
        'AT ONBATT * EXECUTE ""\nAT onbatt * EXECUTE "x y" extra\nAT ONBATT ups1 EXECUTE z\n'
        'AT ONBATT * EXECUTE "a\tb\x01c"\nAT OTHER * EXECUTE never\n'
        "AT ONBATT * START-TIMER\nAT ONBATT * CANCEL-TIMER never-started\n",
        True,
    ),
    "failing-cmdscript": (
        'CMDSCRIPT "exit 3;"\nPIPEFN p\nLOCKFN l\nAT ONBATT * EXECUTE x\n',
        False,
    ),
}


@needs_nut
@pytest.mark.nut
@pytest.mark.parametrize("case", sorted(CONFIG_CASES))
def test_configuration_handling_as_nut(sched: Sched, case: str) -> None:
    body, header = CONFIG_CASES[case]
    sched.conf(body.format(cmd=sched.cmd), header=header)
    nut, ours = both(sched)
    assert ours == nut
    if case == "messages":
        assert [e[0] for e in sched.events()] == ["x", "z", "abc"] * 2
        assert not sched.pipe.exists()


@needs_nut
@pytest.mark.nut
def test_missing_configuration_as_nut(sched: Sched) -> None:
    nut, ours = both(sched)
    assert ours == nut == ("", "Can't open <root>/upssched.conf: No such file or directory\n", 1)


@needs_nut
@pytest.mark.nut
def test_at_before_cmdscript_text(sched: Sched) -> None:
    sched.conf("AT ONBATT * EXECUTE x\n", header=False)
    message = "CMDSCRIPT must be set before any ATs in the config file!\n"
    assert both(sched)[1] == (message, message, 1)


@BOTH
def test_execute_runs_cmdscript_at_once(sched: Sched, prog: str) -> None:
    sched.conf("AT ONBATT * EXECUTE now\n")
    r = sched.run(prog)
    assert (r.stdout, r.stderr, r.returncode) == ("", "Executing command: now\n", 0)
    ((name, _, ups, ntype, by),) = sched.events()
    assert (name, ups, ntype, by) == ("now", "ups1", "ONBATT", prog)
    assert not sched.pipe.exists()


@BOTH
def test_start_then_expiry_runs_cmdscript(sched: Sched, prog: str) -> None:
    sched.conf("AT ONBATT * START-TIMER t1 1\n")
    t0 = time.time()
    r = sched.run(prog)
    assert (r.stdout, r.stderr, r.returncode) == ("", "", 0)
    assert sched.pipe.is_socket()
    assert (sched.pipe.stat().st_mode & 0o777) == 0o660
    assert not sched.lock.exists()
    when, ups, ntype, by = sched.wait_for("t1")["t1"]
    # NUT counts whole seconds; nutwist's timer is exact
    assert 0.0 <= when - t0 < 2.5
    assert (ups, ntype, by) == ("ups1", "ONBATT", prog)


@BOTH
def test_start_then_cancel_prevents_it(sched: Sched, prog: str) -> None:
    sched.conf(
        "AT ONBATT * START-TIMER t1 2\n"
        # 'after' is due no sooner than t1 was, so t1 would have run first
        "AT ONLINE * START-TIMER after 2\nAT ONLINE * CANCEL-TIMER t1\n"
    )
    assert sched.run(prog).returncode == 0
    assert sched.run(prog, ntype="ONLINE").returncode == 0
    sched.wait_for("after")
    assert sched.names() == ["after"]


@BOTH
def test_cancel_with_command_when_no_timer_runs_it(sched: Sched, prog: str) -> None:
    sched.conf("AT ONLINE * CANCEL-TIMER t1 was-not-running\n")
    r = sched.run(prog, ntype="ONLINE")
    assert (r.stdout, r.stderr, r.returncode) == ("", "", 0)
    (_, _, _, by) = sched.wait_for("was-not-running")["was-not-running"]
    assert by == prog


@BOTH
def test_cancel_without_command_starts_no_daemon(sched: Sched, prog: str) -> None:
    sched.conf("AT ONLINE * CANCEL-TIMER t1\n")
    r = sched.run(prog, ntype="ONLINE")
    assert (r.stdout, r.stderr, r.returncode) == ("", "", 0)
    assert not sched.pipe.exists() and not sched.lock.exists()


@BOTH
def test_a_stale_lock_is_cleared(sched: Sched, prog: str) -> None:
    sched.lock.write_text("")
    # left by an upssched that died: older than any daemon takes to start
    past = time.time() - 10
    os.utime(sched.lock, (past, past))
    sched.conf("AT ONBATT * START-TIMER t1 0\n")
    assert sched.run(prog).returncode == 0
    sched.wait_for("t1")
    assert not sched.lock.exists()


MIXED = (
    "AT ONBATT * START-TIMER t1 2\nAT LOWBATT * START-TIMER t2 1\n"
    "AT ONLINE * START-TIMER after 2\nAT ONLINE * CANCEL-TIMER t1\n"
)


@needs_nut
@pytest.mark.nut
@pytest.mark.parametrize(("daemon", "client"), [("nutwist", "nut"), ("nut", "nutwist")])
def test_one_side_client_with_the_other_side_daemon(sched: Sched, daemon: str, client: str) -> None:
    sched.conf(MIXED)
    t0 = time.time()
    assert sched.run(daemon).returncode == 0  # starts `daemon`'s timer daemon
    assert sched.run(client, ntype="LOWBATT").returncode == 0
    # START before CANCEL: NUT's daemon leaves as soon as its queue is empty
    assert sched.run(client, ntype="ONLINE").returncode == 0
    seen = sched.wait_for("t2", "after")
    assert seen["t2"][0] - t0 < 2.5
    assert {seen["t2"][3], seen["after"][3]} == {daemon}
    assert "t1" not in sched.names()


def test_one_daemon_for_racing_clients(sched: Sched) -> None:
    sched.conf("".join(f"AT ONBATT ups{i} START-TIMER t{i} 1\n" for i in range(4)))
    procs = [
        subprocess.Popen(
            PROGRAMS["nutwist"],
            env=dict(sched.env, UPSNAME=f"ups{i}", NOTIFYTYPE="ONBATT"),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for i in range(4)
    ]
    for p in procs:
        _, err = p.communicate(timeout=20)
        assert (p.returncode, err) == (0, b"")
    seen = sched.wait_for("t0", "t1", "t2", "t3")
    assert len(sched.daemons()) == 1
    # UPSNAME is the one of the upssched that started the daemon (NUT 2.8.0's quirk)
    assert len({row[1] for row in seen.values()}) == 1


def test_idle_daemon_exits_and_removes_pipefn(sched: Sched) -> None:
    sched.conf("AT ONBATT * START-TIMER t1 0\n")
    assert sched.run("nutwist").returncode == 0
    sched.wait_for("t1")
    assert len(sched.daemons()) == 1
    # the test's NUTWIST_UPSSCHED_EMPTY_WAIT is 2 passes of one second
    deadline = time.monotonic() + 6
    while sched.pipe.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not sched.pipe.exists()
    while sched.daemons() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert sched.daemons() == []


def test_slow_cmdscript_does_not_delay_another_timer(sched: Sched) -> None:
    sched.conf("AT ONBATT * START-TIMER slow 1\nAT ONBATT * START-TIMER fast 2\n")
    t0 = time.time()
    assert sched.run("nutwist").returncode == 0
    seen = sched.wait_for("slow", "fast", timeout=10)
    # 'slow' writes its line after sleeping 3 s; NUT's daemon would run 'fast' after that
    assert seen["fast"][0] - t0 < 3.0
    assert seen["fast"][0] < seen["slow"][0]
    assert seen["slow"][0] - t0 >= 3.9


def test_shared_timer_end_to_end(sched: Sched) -> None:
    sched.conf(
        "AT ONBATT * START-TIMER-SHARED off 1\nAT ONLINE * CANCEL-TIMER-MATCHED off\n"
        "AT LOWBATT * START-TIMER done 1\n"
    )
    for ups in ("ups1", "ups2", "ups3"):
        assert sched.run("nutwist", ups=ups).returncode == 0
    assert sched.run("nutwist", ups="ups2", ntype="ONLINE").returncode == 0
    seen = sched.wait_for("off")
    assert seen["off"][1:3] == ("ups1,ups3", "ONBATT")
    assert sched.names() == ["off"]
