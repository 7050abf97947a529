"""upslog: the format engine, the options, the schedule, and NUT 2.8.0's upslog side by side.

Unit tests run the format and the schedule without sockets or sleeping (a
task.Clock, clients on transports that answer as upsd at once).  The end-to-end
tests start NUT's C dummy-ups and C upsd, and nutwist's upsd on the same driver
socket; NUT's /bin/upslog and nutwist's run with the same arguments against each,
and their output must match byte for byte after normalising only what differs
by design: the banner, and the %TIME%, %ETIME% and %PID% fields (plus the line
NUT's NSS library prints, as the other client differentials do).
"""

from __future__ import annotations

import os
import re
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.nut import (
    NutProcess,
    free_port,
    have_nut,
    nut_env,
    wait_for_answers,
    wait_for_port,
    wait_for_socket,
)
from twisted.internet import defer
from twisted.internet.error import ConnectionDone
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure

from nutwist.cli import upslog
from nutwist.cli.clientcommon import AddrError, Exit, split_name
from nutwist.client import NutClient, errors

# --- the format ---------------------------------------------------------------------------


def P(kind: str, arg: str | None = None) -> upslog.Piece:
    return upslog.Piece(kind, arg)


@pytest.mark.parametrize(
    ("fmt", "pieces"),
    [
        ("plain", [P("text", "plain")]),
        ("100%%", [P("text", "100%")]),
        ("%VAR ups.load%", [P("VAR", "ups.load")]),
        ("%var ups.load%", [P("VAR", "ups.load")]),
        # a command is known by its first letters; the argument follows the first space
        ("%VARIABLE ups.load%", [P("VAR", "ups.load")]),
        ("%hostname%", [P("HOST")]),
        ("%UPSHOSTX%", [P("UPSHOST")]),
        ("%ETIMEX arg%", [P("ETIME", "arg")]),
        ("%pidfoo%", [P("PID")]),
        ("%TIME @H:@M%", [P("TIME", "@H:@M")]),
        ("%TIME %", [P("TIME", "")]),
        ("%VAR  two spaces%", [P("VAR", " two spaces")]),
        ("%VAR%", [P("VAR")]),
        ("%TEXT%", [P("text", "INVALID")]),
        ("% VAR x%", [P("text", "INVALID")]),
        ("a%broken", [P("text", "aINVALIDbroken")]),
        ("%TIME @Q@%%]", [P("TIME", "@Q@"), P("text", "INVALID]")]),
        ("[%VAR a.b%]", [P("text", "["), P("VAR", "a.b"), P("text", "]")]),
        ("", []),
    ],
)
def test_compile_format(fmt: str, pieces: list[upslog.Piece]) -> None:
    assert upslog.compile_format(fmt) == pieces


def ctx(now: float = 1_700_000_000.0) -> upslog.Context:
    return upslog.Context(monhost="dev@h:1", now=now, pid=4242, hostname="box")


def line(fmt: str, values: dict[str, str | None] | None = None, now: float = 1.7e9) -> bytes:
    return upslog.render(upslog.compile_format(fmt), ctx(now), values or {})


def test_render_every_token() -> None:
    fmt = "%%|%ETIME%|%HOST%|%UPSHOST%|%PID%|%VAR a.b%|%VAR no.such%|%VAR nodot%|%VAR%|%VAR %|%X%"
    assert line(fmt, {"a.b": 'two "words"'}) == (
        b'%|1700000000|box|dev@h:1|4242|two "words"|NA|INVALID|INVALID|INVALID|INVALID'
    )


def test_render_time_uses_at_signs_and_local_time() -> None:
    when = 1_700_000_000.0
    expected = time.strftime("%Y%m%d %H%M%S", time.localtime(when)).encode()
    assert line("%TIME @Y@m@d @H@M@S%", now=when) == expected
    # glibc's strftime keeps what it does not know, and a lone % at the end
    assert line("%TIME @Q@%", now=when) == b"%Q%"
    # NUT crashes here; nutwist writes nothing
    assert line("[%TIME%]") == b"[]"


def test_render_default_format_with_missing_values() -> None:
    values: dict[str, str | None] = {"battery.charge": "97", "ups.status": "OL CHRG"}
    got = line(upslog.DEFAULT_FORMAT, values, now=1_700_000_000.0)
    assert re.fullmatch(rb"\d{8} \d{6} 97 NA NA \[OL CHRG\] NA NA", got), got


def test_render_limits_as_nut() -> None:
    """NUT's buffers: 1022 bytes a line, 511 a %TIME% (glibc keeps what fits whole)."""
    assert len(line("b" * 1500)) == 1022
    assert len(line("[%TIME " + "a" * 600 + "%]")) == 513
    year = line("%TIME @Y%")
    assert line("%TIME @Y" + "a" * 511 + "%") == year + b"a" * (511 - len(year))
    assert line("%TIME " + "a" * 510 + "@Y%") == b"a" * 510


def test_variables_asked_once_in_order() -> None:
    pieces = upslog.compile_format("%VAR b.b% %VAR a.a% %VAR b.b% %VAR nodot% %VAR%")
    assert upslog.variables(pieces) == ["b.b", "a.a"]


# --- the options ----------------------------------------------------------------------------


def parse(*argv: str) -> upslog.Options:
    return upslog.parse_args(list(argv), "upslog", "upslog")


def test_options_and_defaults() -> None:
    opts = parse("-s", "dev@h:1234", "-l", "/x/log")
    assert [(m.monhost, m.logfn) for m in opts.monitored] == [("dev@h:1234", "/x/log")]
    assert (opts.interval, opts.format, opts.user, opts.pidbase) == (
        30,
        upslog.DEFAULT_FORMAT,
        "nut",
        "upslog",
    )
    assert opts.stays_foreground is False
    assert parse("-s", "a", "-l", "-").stays_foreground is True
    assert parse("-s", "a", "-l", "-", "-B").stays_foreground is False
    assert parse("-s", "a", "-l", "f", "-F").stays_foreground is True
    opts = parse(
        "-s", "a", "-s", "b", "-l", "f", "-i", "7x", "-u", "root", "-p", "pb", "-f", "%PID%"
    )
    assert opts.monitored[0].monhost == "b"  # the last -s wins, as in NUT
    assert (opts.interval, opts.user, opts.pidbase, opts.format) == (7, "root", "pb", "%PID%")


def test_old_positional_form() -> None:
    opts = parse("-i", "2", "dev@h", "-", "5", "%VAR", "ups.load%", "x")
    assert [(m.monhost, m.logfn) for m in opts.monitored] == [("dev@h", "-")]
    assert opts.interval == 5
    assert opts.format == "%VAR ups.load% x "  # NUT joins the words with a space after each


def test_tuples() -> None:
    opts = parse("-m", "a@h1,/l/a", "-m", "b@h2:99,-")
    assert [(m.monhost, m.logfn) for m in opts.monitored] == [("a@h1", "/l/a"), ("b@h2:99", "-")]
    assert opts.stays_foreground is True  # one of them logs to stdout
    opts = parse("-m", "a,/l/a", "-s", "c", "-l", "/l/c")
    assert [m.monhost for m in opts.monitored] == ["a", "c"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["-m", "a"], upslog.BAD_TUPLE),
        (["-m", "a,b,c"], upslog.BAD_TUPLE),
        (["-m", "a,"], upslog.BAD_TUPLE),
        ([], "No UPS defined for monitoring - use -s <system>"),
        (["-l", "x"], "No UPS defined for monitoring - use -s <system>"),
        (["-s", "a"], "No filename defined for logging - use -l <file>"),
        (["-m", "a,b", "-s", "c"], "No filename defined for logging - use -l <file> when using"),
        (["-m", "a,b", "-l", "c"], "No UPS defined for monitoring - use -s <system> when using"),
    ],
)
def test_option_errors(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(Exit) as e:
        parse(*argv)
    assert e.value.status == 1
    assert capsys.readouterr().err.startswith(message)


def test_getopt_complains_and_carries_on(capsys: pytest.CaptureFixture[str]) -> None:
    opts = parse("-x", "-s", "a", "-l", "f")
    assert opts.monitored[0].monhost == "a"
    assert capsys.readouterr().err == "upslog: invalid option -- 'x'\n"


@pytest.mark.parametrize(
    ("text", "value"),
    [("30", 30), (" 12abc", 12), ("x", 0), ("-3", -3), ("+4", 4), ("4294967297", 1)],
)
def test_atoi(text: str, value: int) -> None:
    assert upslog.atoi(text) == value


def test_split_name() -> None:
    assert split_name("dev") == ("dev", "localhost", 3493)
    assert split_name("dev@h:99") == ("dev", "h", 99)
    # strtok: the UPS name is the first non-empty part, the host what follows the first @
    assert split_name("@h") == ("h", "h", 3493)
    with pytest.raises(AddrError, match="can't parse empty string"):
        split_name("")
    with pytest.raises(AddrError, match="no port specified"):
        split_name("a@h:0")


# --- the schedule, without sockets ------------------------------------------------------------


class AnsweringTransport(StringTransport):
    """Answers each request line as upsd would, at once, so entries finish synchronously."""

    def __init__(self, values: dict[str, dict[str, str]]) -> None:
        super().__init__()
        self.values = values
        self.lines: list[str] = []
        self.proto: NutClient | None = None

    def write(self, data: bytes) -> None:
        super().write(data)
        for raw in data.decode().splitlines():
            self.lines.append(raw)
            assert self.proto is not None
            self.proto.dataReceived(self.answer(raw).encode())

    def answer(self, line: str) -> str:
        words = line.split()
        if words[:2] == ["GET", "VAR"]:
            ups, var = words[2], words[3]
            if ups not in self.values:
                return "ERR UNKNOWN-UPS\n"
            if var not in self.values[ups]:
                return "ERR VAR-NOT-SUPPORTED\n"
            return f'VAR {ups} {var} "{self.values[ups][var]}"\n'
        if words == ["STARTTLS"]:
            return "ERR FEATURE-NOT-CONFIGURED\n"
        return "OK Goodbye\n"

    def loseConnection(self) -> None:
        if not self.disconnecting:
            super().loseConnection()
            assert self.proto is not None
            self.proto.connectionLost(Failure(ConnectionDone()))


class FakeNetwork:
    """The connector UpsLog is given: records connections, refuses hosts that are down."""

    def __init__(self, values: dict[str, dict[str, str]]) -> None:
        self.values = values
        self.down: set[str] = set()
        self.connects: list[tuple[str, int, bool]] = []
        self.transports: list[AnsweringTransport] = []

    async def __call__(self, host: str, port: int, first: bool) -> NutClient:
        self.connects.append((host, port, first))
        if host in self.down:
            raise errors.ConnectionFailed("Connection refused")
        client = NutClient(None, None)
        t = AnsweringTransport(self.values)
        t.proto = client
        client.makeConnection(t)
        self.transports.append(t)
        if first:
            await client.starttls_try()
        return client

    def drop(self, host: str) -> None:
        for t in self.transports:
            if not t.disconnecting:
                t.loseConnection()


def make_logger(
    tmp_path: Path,
    fmt: str = "%VAR ups.load% %VAR ups.status%",
    monitored: list[tuple[str, str]] | None = None,
    interval: int = 30,
) -> tuple[upslog.UpsLog, Clock, FakeNetwork, list[str], dict[str, Path]]:
    clock = Clock()
    clock.advance(1000)
    net = FakeNetwork({"dev": {"ups.load": "23", "ups.status": "OL"}, "two": {"ups.load": "5"}})
    pairs = monitored or [("dev@h1", "a.log")]
    mons = []
    for monhost, name in pairs:
        m = upslog.Monitored(monhost, str(tmp_path / name))
        m.ups, m.host, m.port = split_name(monhost)
        mons.append(m)
    files = {m.logfn: upslog.LogFile(m.logfn) for m in mons}
    for f in files.values():
        f.open()
    said: list[str] = []
    logger = upslog.UpsLog(
        clock,
        mons,
        files,
        upslog.compile_format(fmt),
        interval,
        net,
        said.append,
        hostname=lambda: "box",
    )
    return logger, clock, net, said, {p[1]: tmp_path / p[1] for p in pairs}


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def start(logger: upslog.UpsLog) -> defer.Deferred[None]:
    async def go() -> None:
        for addr in dict.fromkeys(m.addr for m in logger.monitored):
            await logger.connect(addr, True)
        await logger.run()

    return defer.Deferred.fromCoroutine(go())


def test_an_entry_at_once_then_every_interval(tmp_path: Path) -> None:
    logger, clock, net, _, path = make_logger(tmp_path)
    start(logger)
    assert lines(path["a.log"]) == ["23 OL"]
    clock.advance(29)
    assert len(lines(path["a.log"])) == 1
    clock.advance(1)
    clock.advance(30)
    assert lines(path["a.log"]) == ["23 OL"] * 3
    # one connection, STARTTLS tried on it, then the same GETs every time
    assert net.connects == [("h1", 3493, True)]
    assert net.transports[0].lines == [
        "STARTTLS",
        *["GET VAR dev ups.load", "GET VAR dev ups.status"] * 3,
    ]


def test_sigusr1_entry_takes_the_place_of_the_next(tmp_path: Path) -> None:
    logger, clock, _, said, path = make_logger(tmp_path, fmt="%ETIME%")
    start(logger)
    clock.advance(10)
    logger.signal(signal.SIGUSR1)
    # as NUT: the forced entry now, then the schedule moves on by one interval (1060)
    clock.advance(49)
    assert len(lines(path["a.log"])) == 2
    clock.advance(1)
    clock.advance(30)
    assert lines(path["a.log"]) == ["1000", "1010", "1060", "1090"]
    assert said == []


def test_sigterm_writes_a_last_entry_and_stops(tmp_path: Path) -> None:
    logger, clock, _, said, path = make_logger(tmp_path)
    d = start(logger)
    clock.advance(5)
    logger.signal(signal.SIGTERM)
    assert lines(path["a.log"]) == ["23 OL", "23 OL"]
    assert said == ["Signal 15: exiting"]
    assert d.called
    assert not clock.getDelayedCalls()


def test_sighup_reopens_the_log(tmp_path: Path) -> None:
    logger, clock, _, said, path = make_logger(tmp_path)
    start(logger)
    path["a.log"].rename(tmp_path / "a.log.1")
    logger.signal(signal.SIGHUP)
    assert said == ["Signal 1: reopening log file"]
    assert lines(tmp_path / "a.log.1") == ["23 OL"]
    assert lines(path["a.log"]) == ["23 OL"]
    clock.advance(59)  # HUP's entry, like USR1's, took the place of the one due at 1030
    assert lines(path["a.log"]) == ["23 OL"]
    clock.advance(1)
    assert lines(path["a.log"]) == ["23 OL"] * 2


def test_reopen_failure_is_fatal(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    logger, _, _, _, path = make_logger(tmp_path, monitored=[("dev@h1", "d/a.log")])
    d = start(logger)
    (tmp_path / "d/a.log").unlink()
    (tmp_path / "d").rmdir()
    logger.signal(signal.SIGHUP)
    failure = []
    d.addErrback(failure.append)
    assert failure and isinstance(failure[0].value, upslog.Fatal)
    assert str(failure[0].value).startswith(f"could not reopen logfile {path['d/a.log']}: ")


def test_upsd_gone_logs_na_and_reconnects(tmp_path: Path) -> None:
    logger, clock, net, said, path = make_logger(tmp_path, interval=1)
    start(logger)
    net.down.add("h1")
    net.drop("h1")
    clock.advance(1)
    clock.advance(1)
    net.down.clear()
    clock.advance(1)
    assert lines(path["a.log"]) == ["23 OL", "NA NA", "NA NA", "23 OL"]
    # NUT 2.8.0 tries STARTTLS on the first connection only, and logs nothing about it
    assert net.connects == [("h1", 3493, True)] + [("h1", 3493, False)] * 3
    assert said == []


def test_one_connection_per_host_and_one_line_per_ups(tmp_path: Path) -> None:
    pairs = [("dev@h1", "a.log"), ("two@h1", "b.log"), ("nosuch@h1", "a.log"), ("dev@h2", "c.log")]
    logger, clock, net, _, path = make_logger(
        tmp_path, fmt="%UPSHOST% %VAR ups.load%", monitored=pairs
    )
    net.down.add("h2")
    start(logger)
    clock.advance(30)
    assert lines(path["a.log"]) == ["dev@h1 23", "nosuch@h1 NA"] * 2
    assert lines(path["b.log"]) == ["two@h1 5"] * 2
    assert lines(path["c.log"]) == ["dev@h2 NA"] * 2
    assert [c for c in net.connects if c[0] == "h1"] == [("h1", 3493, True)]


def test_long_intervals_disconnect_between_entries(tmp_path: Path) -> None:
    logger, clock, net, _, path = make_logger(tmp_path, interval=31)
    start(logger)
    assert net.transports[0].lines[-1] == "LOGOUT" and net.transports[0].disconnecting
    clock.advance(31)
    assert lines(path["a.log"]) == ["23 OL"] * 2
    assert len(net.connects) == 2 and net.transports[1].lines[-1] == "LOGOUT"


def test_stdout_is_buffered_as_c_stdio(tmp_path: Path) -> None:
    r, w = os.pipe()
    try:
        out = upslog.CStdout(w)
        out.write("banner\n")
        assert out.pending == b"banner\n"  # a pipe: kept until a log line flushes it
        upslog.LogFile("-", out).write(b"line")
        os.close(w)
        assert os.read(r, 100) == b"banner\nline\n"
    finally:
        os.close(r)


# --- end to end: the programs ------------------------------------------------------------------

NUT_UPSLOG = Path("/bin/upslog")
BIN = Path(sys.executable).parent
OURS = BIN / "upslog"
needs_nut = pytest.mark.skipif(
    not (have_nut("upsd", "dummy-ups") and NUT_UPSLOG.exists()),
    reason="NUT 2.8.0's upsd, dummy-ups and upslog are not installed",
)

DEV = """ups.mfr: Diff Inc
ups.status: OL CHRG
ups.load: 23
battery.charge: 97
input.voltage: 229.5
custom.text: "two words"
custom.quote: a\\"b
"""
EVERY = (
    "%%|T[%TIME @Y-@m-@d @H:@M:@S@@%]|E[%ETIME%]|%HOST%|%UPSHOST%|P[%PID%]|%VAR battery.charge%|"
    "%VAR custom.text%|%VAR custom.quote%|%VAR no.such%|%VAR nodot%|%VAR%|%TEXT%|"
    "%var ups.load%|%hostname%|%VARIABLE ups.status%|%broken"
)


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """NUT's C dummy-ups; NUT's C upsd and nutwist's upsd both serving its socket."""
    if not (have_nut("upsd", "dummy-ups") and NUT_UPSLOG.exists()):
        pytest.skip("NUT 2.8.0's upsd, dummy-ups and upslog are not installed")
    tmp = tmp_path_factory.mktemp("upslog")
    state = tmp / "state"
    state.mkdir()
    confs = {}
    ports = {"nut": free_port(), "nutwist": free_port()}
    for name, port in ports.items():
        conf = tmp / name
        conf.mkdir()
        (conf / "ups.conf").write_text(f"[dev]\n\tdriver = dummy-ups\n\tport = {tmp / 'dev.dev'}\n")
        (conf / "upsd.conf").write_text(f"LISTEN 127.0.0.1 {port}\n")
        (conf / "upsd.users").write_text("[admin]\n\tpassword = pw\n")
        for f in conf.iterdir():
            f.chmod(0o600)
        confs[name] = conf
    (tmp / "dev.dev").write_text(DEV)
    env = nut_env(confs["nut"], state)
    procs = [
        NutProcess(["/lib/nut/dummy-ups", "-a", "dev", "-u", "root", "-F"], env, tmp / "d.log")
    ]
    try:
        wait_for_socket(state / "dummy-ups-dev", probe=False)
        procs.append(NutProcess(["/lib/nut/upsd", "-u", "root", "-F"], env, tmp / "upsd.log"))
        procs.append(
            NutProcess(
                [str(BIN / "upsd"), "-F", "-u", "root"],
                nut_env(confs["nutwist"], state),
                tmp / "nw.log",
            )
        )
        for port in ports.values():
            wait_for_port(port)
            wait_for_answers(port, {b"GET VAR dev ups.status\n": b'VAR dev ups.status "OL CHRG"\n'})
        yield {"ports": ports, "env": env, "tmp": tmp}
    finally:
        for p in reversed(procs):
            p.stop()


class Run:
    """One upslog process: NUT's or nutwist's, called by the same argv[0]."""

    counter = 0

    def __init__(self, program: Path, args: list[str], env: dict[str, str], tmp: Path) -> None:
        Run.counter += 1
        self.log = tmp / f"log-{Run.counter}"
        self.args = [a.replace("{log}", str(self.log)) for a in args]
        # NUT backgrounds when it logs to a file, unless -F; with -B in any case
        self.background = "-B" in args or ("{log}" in args and "-F" not in args)
        self.pidfile = tmp / f"pid-{Run.counter}"
        # an absolute -p: NUT 2.8.0 writes the file there, not in /run/nut
        argv = [str(OURS), "-u", "root", "-p", str(self.pidfile), *self.args]
        self.proc = subprocess.Popen(
            argv,
            executable=str(program),
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        self.out = b""

    def wait_lines(self, n: int, timeout: float = 8) -> None:
        """Until the log (file or stdout) has n lines."""
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        to_stdout = "-" in self.args
        while True:
            if to_stdout:
                ready, _, _ = select.select([self.proc.stdout], [], [], 0.05)
                if ready:
                    self.out += os.read(self.proc.stdout.fileno(), 65536)
                if self.out.count(b"\n") >= n + 2:  # the banner and the "logging status" line
                    return
            else:
                if self.log.exists() and self.log.read_bytes().count(b"\n") >= n:
                    return
                time.sleep(0.05)
            gone = self.proc.poll() is not None and not self.daemon()
            if gone or time.monotonic() > deadline:
                raise AssertionError(f"no {n} log lines from {self.args}: {self.finish()}")

    def daemon(self) -> int | None:
        """The pid of the upslog this one left in the background (NUT's way: it exited 0)."""
        if not self.background or self.proc.poll() != 0:
            return None
        deadline = time.monotonic() + 5
        while not self.pidfile.exists() or not self.pidfile.read_text().endswith("\n"):
            assert time.monotonic() < deadline, "no pid file"
            time.sleep(0.05)
        return int(self.pidfile.read_text())

    def finish(self, sig: int | None = signal.SIGTERM) -> tuple[int, bytes, bytes, bytes]:
        if sig is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, sig)
        elif sig is not None and (pid := self.daemon()):
            os.kill(pid, sig)
            stopped(pid)
        try:
            out, err = self.proc.communicate(timeout=8)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            out, err = self.proc.communicate()
        log = self.log.read_bytes() if self.log.exists() else b""
        # each run logs to a file of its own: the name is the one difference
        out, err = (x.replace(bytes(self.log), b"{log}") for x in (self.out + out, err))
        return self.proc.returncode, normalise(out), normalise_err(err), normalise(log)


def stopped(pid: int, timeout: float = 8) -> None:
    """Until a process that is not our child has exited."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            return
        if state == "Z":
            return
        assert time.monotonic() < deadline, f"{pid} still runs"
        time.sleep(0.02)


def normalise(data: bytes) -> bytes:
    data = re.sub(rb"(?m)^Network UPS Tools upslog .*$", b"<BANNER>", data)
    data = re.sub(rb"(?m)^\d{8} \d{6} ", b"<TIME> ", data)  # the default format's %TIME%
    data = re.sub(rb"T\[[^]]*\]", b"T[]", data)
    data = re.sub(rb"E\[\d+\]", b"E[]", data)
    return re.sub(rb"P\[\d+\]", b"P[]", data)


def normalise_err(data: bytes) -> bytes:
    return b"".join(line for line in data.splitlines(True) if b"Init SSL without" not in line)


def side_by_side(args: list[str], env: dict[str, str], tmp: Path, entries: int = 1) -> None:
    """Both upslogs at once: wait for their first entries, SIGTERM, compare everything."""
    runs = [Run(NUT_UPSLOG, args, env, tmp), Run(OURS, args, env, tmp)]
    try:
        for r in runs:
            r.wait_lines(entries)
    finally:
        nut, ours = (r.finish() for r in runs)
    assert ours == nut
    if runs[0].daemon():  # in the background: stdout and stderr were let go
        assert nut[:3] == (0, b"", b"")
    else:
        assert nut[0] == 0 and nut[1].startswith(b"<BANNER>\nlogging status of ")
        assert runs[1].pidfile.read_text() == f"{runs[1].proc.pid}\n"


UPS = "dev@127.0.0.1:{port}"
LIVE = [
    pytest.param(["-s", UPS, "-l", "-"], id="default-stdout"),
    pytest.param(["-s", UPS, "-l", "{log}"], id="default-file"),
    pytest.param(["-s", UPS, "-l", "-", "-f", EVERY], id="every-token-stdout"),
    pytest.param(["-s", UPS, "-l", "{log}", "-f", EVERY, "-F"], id="every-token-file"),
    pytest.param(["-s", UPS.replace("dev", "nosuch"), "-l", "-", "-f", EVERY], id="unknown-ups"),
    pytest.param(["-i", "5", UPS, "-", "30", "%VAR", "ups.load%", "[%UPSHOST%]"], id="old-form"),
]


@needs_nut
@pytest.mark.nut
@pytest.mark.parametrize("server", ["nut", "nutwist"])
@pytest.mark.parametrize("args", LIVE)
def test_same_log_as_nut(servers: dict[str, Any], server: str, args: list[str]) -> None:
    port = servers["ports"][server]
    side_by_side([a.replace("{port}", str(port)) for a in args], servers["env"], servers["tmp"])


@needs_nut
@pytest.mark.nut
def test_same_log_as_nut_every_second(servers: dict[str, Any]) -> None:
    """-i 1: every line the same once normalised, on both servers, from both programs."""
    env, tmp = servers["env"], servers["tmp"]
    runs = [
        Run(
            program,
            ["-s", UPS.format(port=port), "-l", "{log}", "-F", "-i", "1", "-f", EVERY],
            env,
            tmp,
        )
        for port in servers["ports"].values()
        for program in (NUT_UPSLOG, OURS)
    ]
    try:
        for r in runs:
            r.wait_lines(3)
    finally:
        results = [r.finish() for r in runs]
    for nut, ours in (results[0:2], results[2:4]):
        expected = nut[3].splitlines()[0]
        assert b"|23|" in expected
        for status, _out, err, log in (nut, ours):
            assert status == 0 and err == b"Signal 15: exiting\n"
            assert len(log.splitlines()) >= 3 and set(log.splitlines()) == {expected}


@needs_nut
@pytest.mark.nut
def test_upsd_unreachable_same_as_nut(servers: dict[str, Any]) -> None:
    args = ["-s", f"dev@127.0.0.1:{free_port()}", "-l", "-", "-f", EVERY]
    side_by_side(args, servers["env"], servers["tmp"])


BAD = [
    [],
    ["-V"],
    ["-x"],
    ["-s"],
    ["-s", "dev@127.0.0.1:1"],
    ["-l", "-"],
    ["-s", "foo@", "-l", "-"],
    ["-s", "foo@bar:0", "-l", "-"],
    ["-s", "", "-l", "-"],
    ["-s", "a@[::1", "-l", "-"],
    ["-s", "a", "-l"],
    ["-s", "dev@127.0.0.1:1", "-l", "/nonexistent/dir/log"],
    ["-s", "dev@127.0.0.1:1", "-l", "-", "-u", "no-such-user"],
    ["-s", "dev@127.0.0.1:1", "-l", "{log}"],  # goes to the background: nothing on stdout
    ["-s", "dev@127.0.0.1:1", "-l", "-", "-B"],
    ["a", "b"],
    ["-h"],
]


@needs_nut
@pytest.mark.nut
@pytest.mark.parametrize("args", BAD, ids=lambda a: " ".join(a) or "none")
def test_start_up_same_as_nut(args: list[str], tmp_path: Path) -> None:
    env = nut_env(tmp_path, tmp_path)
    runs = [Run(program, args, env, tmp_path) for program in (NUT_UPSLOG, OURS)]
    if "{log}" in args and "-h" not in args:
        for (
            r
        ) in runs:  # the daemon's first entry (NA: nothing listens), before anything is compared
            r.wait_lines(1)
    nut, ours = (r.finish(sig=None) for r in runs)
    if "-h" in args or (len(args) == 2 and not args[0].startswith("-")):
        # the help: nutwist words its own; the usage line and the exit code are NUT's
        assert nut[0] == ours[0] == 0 and nut[2] == ours[2] == b""
        for out in (nut[1], ours[1]):
            assert out.startswith(b"<BANNER>\n") and b"\nusage: upslog [OPTIONS]\n\n" in out
        return
    for r in runs:  # one went to the background: stop the daemon it left
        if (pid := r.daemon()) is not None:
            os.kill(pid, signal.SIGTERM)
            stopped(pid)
    assert ours == nut


# --- end to end: -m, SIGUSR1, SIGHUP ----------------------------------------------------------


@needs_nut
@pytest.mark.nut
def test_tuples_log_several_upses_to_several_files(servers: dict[str, Any], tmp_path: Path) -> None:
    nut, nw = servers["ports"]["nut"], servers["ports"]["nutwist"]
    a, b = tmp_path / "a.log", tmp_path / "b.log"
    args = [
        "-m", f"dev@127.0.0.1:{nut},{a}",
        "-m", f"dev@127.0.0.1:{nw},{b}",
        "-m", f"nosuch@127.0.0.1:{nw},{a}",
        "-s", f"dev@127.0.0.1:{nw}", "-l", "-",
        "-f", "%UPSHOST% %VAR ups.load% %VAR ups.status%",
    ]  # fmt: skip
    run = Run(OURS, args, servers["env"], tmp_path)
    run.wait_lines(1)
    deadline = time.monotonic() + 8
    while len(lines(a)) < 2 or not lines(b):
        assert time.monotonic() < deadline, (lines(a), lines(b))
        time.sleep(0.05)
    status, out, err, _ = run.finish()
    assert status == 0 and err == b"Signal 15: exiting\n"
    assert out.splitlines() == [
        b"<BANNER>",
        f"logging status of dev@127.0.0.1:{nut} to {a} (30s intervals)".encode(),
        f"logging status of dev@127.0.0.1:{nw} to {b} (30s intervals)".encode(),
        f"logging status of nosuch@127.0.0.1:{nw} to {a} (30s intervals)".encode(),
        f"logging status of dev@127.0.0.1:{nw} to - (30s intervals)".encode(),
        f"dev@127.0.0.1:{nw} 23 OL CHRG".encode(),
        f"dev@127.0.0.1:{nw} 23 OL CHRG".encode(),  # the entry SIGTERM causes
    ]
    assert lines(a) == [f"dev@127.0.0.1:{nut} 23 OL CHRG", f"nosuch@127.0.0.1:{nw} NA NA"] * 2
    assert lines(b) == [f"dev@127.0.0.1:{nw} 23 OL CHRG"] * 2


@needs_nut
@pytest.mark.nut
def test_sigusr1_and_sighup_as_nut(servers: dict[str, Any], tmp_path: Path) -> None:
    """USR1: an entry now; HUP: the file reopened (logrotate), and an entry in the new one."""
    port = servers["ports"]["nutwist"]
    args = ["-s", UPS.format(port=port), "-l", "{log}", "-F", "-f", "%VAR ups.load% P[%PID%]"]
    runs = [Run(program, args, servers["env"], tmp_path) for program in (NUT_UPSLOG, OURS)]
    try:
        for r in runs:
            r.wait_lines(1)
        for r in runs:
            os.kill(r.proc.pid, signal.SIGUSR1)
        for r in runs:
            r.wait_lines(2, timeout=3)
            r.log.rename(r.log.with_suffix(".1"))
            os.kill(r.proc.pid, signal.SIGHUP)
        for r in runs:
            r.wait_lines(1, timeout=3)
    finally:
        nut, ours = (r.finish() for r in runs)
    assert ours == nut
    assert nut[2] == b"Signal 1: reopening log file\nSignal 15: exiting\n"
    for r in runs:
        assert lines(r.log.with_suffix(".1")) == [f"23 P[{r.proc.pid}]"] * 2
        assert lines(r.log) == [f"23 P[{r.proc.pid}]"] * 2  # HUP's entry, then SIGTERM's
