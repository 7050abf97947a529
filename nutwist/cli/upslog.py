"""``upslog``: write a line of UPS values to a log file every interval.

A drop-in for NUT 2.8.0's upslog: the same options (and the old positional
form ``upslog <ups> <file> <interval> [<format>...]``), the same start-up lines,
log lines, error messages and exit codes; SIGUSR1 writes an entry at once,
SIGHUP reopens the log files, SIGTERM/SIGINT/SIGQUIT write a last entry and exit.
``-m ups,file`` (later NUT) adds a UPS with its own log file, and may be
repeated; UPSes on the same upsd share one connection.

The format is compiled once into pieces (:func:`compile_format`) and rendered
for each entry (:func:`render`); :class:`UpsLog` keeps NUT's schedule on an
injected clock and talks to upsd through :mod:`nutwist.client`.
"""

from __future__ import annotations

import os
import pwd
import socket
import sys
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, Any, NoReturn

from twisted.internet import defer, task
from twisted.internet.interfaces import IDelayedCall, IReactorTime

from nutwist import paths, process
from nutwist.cli import clientcommon as cc
from nutwist.client import NutClient, errors
from nutwist.model.state import atoi

DEFAULT_FORMAT = (
    "%TIME @Y@m@d @H@M@S% %VAR battery.charge% %VAR input.voltage% %VAR ups.load% "
    "[%VAR ups.status%] %VAR ups.temperature% %VAR input.frequency%"
)
DEFAULT_INTERVAL = 30
#: NUT builds each line in a 1024-byte buffer and keeps at most this much of it
MAX_LINE = 1022
#: ... and each %TIME% in a 512-byte one
MAX_TIME = 511
#: upslog closes its connections between entries when they are further apart than this
KEEP_CONNECTED = 30
#: seconds: an answer from upsd (NUT's client library waits 5 s), a TCP connect
NET_TIMEOUT = 5.0
CONNECT_TIMEOUT = 10.0

BAD_TUPLE = "Argument '-m upsspec,logfile' requires exactly 2 components in the tuple"
#: NUT's message ends with a newline of its own, so an empty line follows it
BAD_UPS = cc.BAD_UPS_ONE_LINE + "\n"

USAGE = """\
Write the values of a UPS to a log file, one line every interval.

usage: {prog} [OPTIONS]

  -s <ups>       the UPS to log: <upsname>[@<hostname>[:<port>]], e.g. -s myups@server
  -l <logfile>   the file to append to; - is standard output (and keeps {prog} in
                 the foreground)
  -m <ups,file>  one more UPS and its own log file ('-' is standard output); repeat
                 it for several UPSes; -s and -l are then optional
  -i <interval>  seconds between two entries (default: 30)
  -f <format>    what each line holds (see below); quote it for the shell
  -F             stay in the foreground, even when logging to a file
  -B             go to the background, even when logging to standard output
  -p <pidbase>   name of the PID file in the state directory (default: "{prog}")
  -u <user>      the user to run as when started as root
  -V             the version
  -h             this help

The format is copied as it is, except for these sequences:
  %%               a % sign
  %TIME format%    the local time, strftime's format with @ in place of %
  %ETIME%          seconds since the epoch
  %HOST%           the name of this machine
  %UPSHOST%        the UPS as given with -s or -m
  %PID%            the process id of {prog}
  %VAR varname%    the value of a UPS variable, or NA when there is none

The default format:
{default}

SIGUSR1 writes an entry at once; SIGHUP reopens the log files (for logrotate).
Not in NUT 2.8.0's upslog: -A <file> (nutauth.conf: credentials, TLS settings).
"""


# --- the format ---------------------------------------------------------------------------

#: the format's commands; a command is recognised by its first letters, in any case
COMMANDS = ("HOST", "UPSHOST", "PID", "TIME", "VAR", "ETIME")


@dataclass(frozen=True)
class Piece:
    """One compiled piece of the format: ``kind`` is "text" or one of :data:`COMMANDS`."""

    kind: str
    arg: str | None = None


def compile_format(fmt: str) -> list[Piece]:
    """The format as NUT's upslog reads it: ``%%``, ``%CMD[ arg]%`` and literal text.

    An unknown command, or a ``%`` with no closing ``%``, becomes the text ``INVALID``
    (and in the second case the rest is read on as text).
    """
    pieces: list[Piece] = []
    i = 0
    while i < len(fmt):
        c = fmt[i]
        if c != "%":
            pieces.append(Piece("text", c))
            i += 1
            continue
        if fmt[i + 1 : i + 2] == "%":
            pieces.append(Piece("text", "%"))
            i += 2
            continue
        end = fmt.find("%", i + 1)
        if end < 0:
            pieces.append(Piece("text", "INVALID"))
            i += 1
            continue
        body = fmt[i + 1 : end]
        cmd, space, arg = body.partition(" ")
        known = next((name for name in COMMANDS if cmd.upper().startswith(name)), None)
        pieces.append(Piece(known, arg if space else None) if known else Piece("text", "INVALID"))
        i = end + 1
    return _merge(pieces)


def _merge(pieces: list[Piece]) -> list[Piece]:
    """Adjacent text pieces as one (rendering is then a join)."""
    out: list[Piece] = []
    for p in pieces:
        if p.kind == "text" and out and out[-1].kind == "text":
            out[-1] = Piece("text", (out[-1].arg or "") + (p.arg or ""))
        else:
            out.append(p)
    return out


def valid_var(arg: str | None) -> bool:
    """``%VAR x%`` asks upsd only for a name with a dot; anything else logs INVALID."""
    return bool(arg) and "." in (arg or "")


def variables(pieces: Sequence[Piece]) -> list[str]:
    """The variables an entry needs, in order, each once."""
    seen: dict[str, None] = {}
    for p in pieces:
        if p.kind == "VAR" and p.arg is not None and valid_var(p.arg):
            seen.setdefault(p.arg)
    return list(seen)


_SPEC_FLAGS = "_-0^#"


def _strftime_units(fmt: str) -> Iterator[str]:
    """The format cut where C's strftime works: one conversion, or one plain character."""
    i = 0
    while i < len(fmt):
        if fmt[i] != "%" or i + 1 == len(fmt):
            yield fmt[i]
            i += 1
            continue
        j = i + 1
        while j < len(fmt) and fmt[j] in _SPEC_FLAGS:
            j += 1
        while j < len(fmt) and fmt[j].isdigit():
            j += 1
        if j < len(fmt) and fmt[j] in "EO":
            j += 1
        yield fmt[i : j + 1]
        i = j + 1


def nut_strftime(fmt: str, when: time.struct_time) -> str:
    """strftime into NUT's 512-byte buffer: what fits whole, up to 511 characters.

    glibc stops at the first conversion that does not fit and leaves what it wrote,
    so a long format is cut rather than lost.
    """
    out = ""
    for unit in _strftime_units(fmt):
        try:
            text = time.strftime(unit, when) if unit.startswith("%") else unit
        except (ValueError, UnicodeError):
            text = unit
        if len(out) + len(text) > MAX_TIME:
            if not unit.startswith("%"):
                out += text[: MAX_TIME - len(out)]
            break
        out += text
    return out


@dataclass
class Context:
    """What a line is made of besides its variables."""

    monhost: str
    now: float
    pid: int
    hostname: str


def render(pieces: Sequence[Piece], ctx: Context, values: Mapping[str, str | None]) -> bytes:
    """One log line (without its newline); a variable upsd did not give is ``NA``."""
    parts: list[str] = []
    for p in pieces:
        if p.kind == "text":
            parts.append(p.arg or "")
        elif p.kind == "HOST":
            parts.append(ctx.hostname)
        elif p.kind == "UPSHOST":
            parts.append(ctx.monhost)
        elif p.kind == "PID":
            parts.append(str(ctx.pid))
        elif p.kind == "ETIME":
            parts.append(str(int(ctx.now)))
        elif p.kind == "TIME":
            # NUT crashes on %TIME% without a format; nutwist writes nothing for it
            fmt = (p.arg or "").replace("@", "%")
            parts.append(nut_strftime(fmt, time.localtime(ctx.now)))
        elif p.kind == "VAR":
            if not valid_var(p.arg):
                parts.append("INVALID")
            else:
                value = values.get(p.arg or "")
                parts.append("NA" if value is None else value)
    return "".join(parts).encode("utf-8", "surrogateescape")[:MAX_LINE]


# --- the command line -----------------------------------------------------------------------


@dataclass
class Monitored:
    """One UPS to log (``-s``/``-l`` or ``-m``), as given and as split."""

    monhost: str
    logfn: str
    ups: str = ""
    host: str = "localhost"
    port: int = cc.DEFAULT_PORT

    @property
    def addr(self) -> tuple[str, int]:
        return self.host, self.port


@dataclass
class Options:
    monitored: list[Monitored] = field(default_factory=list)
    #: -A: nutauth.conf (its TLS keys; upslog never logs in)
    authconf: str | None = None
    interval: int = DEFAULT_INTERVAL
    format: str = DEFAULT_FORMAT
    user: str = paths.DEFAULT_USER
    pidbase: str = "upslog"
    foreground: bool | None = None

    @property
    def stays_foreground(self) -> bool:
        if self.foreground is not None:
            return self.foreground
        return any(m.logfn == "-" for m in self.monitored)


def usage(prog: str) -> None:
    STDOUT.write(USAGE.format(prog=prog, default=DEFAULT_FORMAT))


def parse_args(argv: list[str], prog: str, argv0: str) -> Options:
    """NUT 2.8.0's reading of the options; raises :class:`cc.Exit` where it stops."""
    opts = Options(pidbase=prog)
    tuples: list[Monitored] = []
    monhost: str | None = None
    logfn: str | None = None
    rest: list[str] = []
    for c, value in cc.iter_getopt(argv, "+hs:l:i:f:u:Vp:FBm:A:", argv0, rest):
        if c == "h":
            usage(prog)
            raise cc.Exit(0)
        if c == "V":
            raise cc.Exit(0)  # the banner is already out
        if c == "m":
            parts = value.split(",")
            if len(parts) != 2 or not parts[0] or not parts[1]:
                cc.fatal(BAD_TUPLE)
            tuples.append(Monitored(parts[0], parts[1]))
        elif c == "s":
            monhost = value
        elif c == "l":
            logfn = value
        elif c == "i":
            opts.interval = atoi(value)
        elif c == "f":
            opts.format = value
        elif c == "u":
            opts.user = value
        elif c == "p":
            opts.pidbase = value
        elif c == "F":
            opts.foreground = True
        elif c == "B":
            opts.foreground = False
        elif c == "A":
            opts.authconf = value
        # NUT 2.8.0 carries on after an unknown option (getopt has complained)
    if len(rest) in (1, 2):
        usage(prog)
        raise cc.Exit(0)
    if len(rest) >= 3:  # the old form: <ups> <logfile> <interval> [<format> ...]
        monhost, logfn, opts.interval = rest[0], rest[1], atoi(rest[2])
    if len(rest) >= 4:
        opts.format = "".join(f"{word} " for word in rest[3:])[:MAX_LINE]
    opts.monitored = tuples
    if not tuples:
        if monhost is None:
            cc.fatal("No UPS defined for monitoring - use -s <system>")
        if logfn is None:
            cc.fatal("No filename defined for logging - use -l <file>")
    elif monhost is not None or logfn is not None:
        if monhost is None:
            cc.fatal(
                "No UPS defined for monitoring - use -s <system> when using -l <file>, "
                "or use -m <ups,logfile>"
            )
        if logfn is None:
            cc.fatal(
                "No filename defined for logging - use -l <file> when using -s <system>, "
                "or use -m <ups,logfile>"
            )
    if monhost is not None and logfn is not None:
        opts.monitored.append(Monitored(monhost, logfn))
    return opts


# --- log files and messages -------------------------------------------------------------------


class CStdout:
    """Standard output kept as C's stdio keeps it, since NUT's output depends on it.

    On a terminal each line goes out at once; otherwise the text waits until a
    log line is written to stdout, or upslog exits, and is lost when upslog goes
    to the background (NUT's start-up lines vanish that way when redirected).
    """

    def __init__(self, fd: int = 1) -> None:
        self.fd = fd
        try:
            self.tty = os.isatty(fd)
        except OSError:
            self.tty = False
        self.pending = b""

    def write(self, text: str | bytes) -> None:
        data = text.encode("utf-8", "surrogateescape") if isinstance(text, str) else text
        self.pending += data
        if self.tty and b"\n" in self.pending:
            self.flush()

    def flush(self) -> None:
        data, self.pending = self.pending, b""
        while data:
            try:
                n = os.write(self.fd, data)
            except OSError:
                return
            data = data[n:]

    def drop(self) -> None:
        self.pending = b""


STDOUT = CStdout()


class Fatal(Exception):
    """NUT's fatalx: the message is logged, and upslog exits 1."""


class LogFile:
    """One log target, shared by every UPS that logs to it."""

    def __init__(self, name: str, stdout: CStdout | None = None) -> None:
        self.name = name
        self._stdout = stdout
        self._fh: IO[bytes] | None = None

    @property
    def is_stdout(self) -> bool:
        return self.name == "-"

    def open(self) -> None:
        if self.is_stdout:
            return
        try:
            self._fh = open(self.name, "ab")  # noqa: SIM115 - kept open for the run
        except OSError as e:
            raise Fatal(f"could not open logfile {self.name}: {e.strerror}") from None

    def reopen(self) -> None:
        """After logrotate moved the file: a new one by the same name."""
        self.close()
        try:
            self._fh = open(self.name, "ab")  # noqa: SIM115
        except OSError as e:
            raise Fatal(f"could not reopen logfile {self.name}: {e.strerror}") from None

    def write(self, line: bytes) -> None:
        if self.is_stdout:
            out = self._stdout or STDOUT
            out.write(line + b"\n")
            out.flush()
            return
        if self._fh is not None:
            try:
                self._fh.write(line + b"\n")
                self._fh.flush()
            except OSError:
                pass  # as NUT's fprintf: a full disk loses lines, not the logger

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None


class Messages:
    """NUT's upslogx: stderr until upslog backgrounds, syslog once it is opened."""

    def __init__(self) -> None:
        self.to_stderr = True
        self.syslog_open = False

    def open_syslog(self, prog: str) -> None:
        import syslog

        syslog.openlog(prog, syslog.LOG_PID, syslog.LOG_DAEMON)
        self.syslog_open = True

    def __call__(self, message: str, error: bool = False) -> None:
        """The message on stderr and in syslog (priority LOG_ERR for a fatal one)."""
        if self.to_stderr:
            cc.stderr(message)
        if self.syslog_open:
            import syslog

            syslog.syslog(syslog.LOG_ERR if error else syslog.LOG_INFO, message)


# --- the logger -------------------------------------------------------------------------------

Connector = Callable[[str, int, bool], Awaitable[NutClient]]


class UpsLog:
    """Writes an entry for every monitored UPS, on NUT's schedule.

    NUT's loop: the first entry at once, then one every ``interval`` seconds.  A
    signal cuts the wait short; the entry it causes takes the place of the next
    scheduled one.  SIGHUP reopens the log files first; an exit signal lets the
    entry be written and then stops.  upsd connections (one per host:port) are
    made again at the start of an entry when they went away; while a UPS cannot
    be read, its variables log as NA.
    """

    def __init__(
        self,
        clock: IReactorTime,
        monitored: Sequence[Monitored],
        files: Mapping[str, LogFile],
        pieces: Sequence[Piece],
        interval: int,
        connector: Connector,
        messages: Callable[..., None] = cc.stderr,
        hostname: Callable[[], str] = socket.gethostname,
    ) -> None:
        self.clock = clock
        self.monitored = list(monitored)
        self.files = files
        self.pieces = list(pieces)
        self.vars = variables(pieces)
        self.interval = interval
        self.connector = connector
        self.messages = messages
        self.hostname = hostname
        self.clients: dict[tuple[str, int], NutClient] = {}
        self.exit_signal = 0
        self.reopen_signal = 0
        self._wake: defer.Deferred[None] | None = None
        self._timer: IDelayedCall | None = None

    # --- connections

    def _keep(self, addr: tuple[str, int], client: NutClient) -> None:
        self.clients[addr] = client

        def lost(_: object) -> None:
            if self.clients.get(addr) is client:
                del self.clients[addr]

        client.closed.addCallback(lost)

    async def connect(self, addr: tuple[str, int], first: bool) -> errors.NutError | None:
        try:
            client = await self.connector(addr[0], addr[1], first)
        except errors.NutError as e:
            return e
        self._keep(addr, client)
        return None

    async def _reconnect(self) -> None:
        missing = {m.addr for m in self.monitored if m.addr not in self.clients}
        try:
            await defer.gatherResults(
                [defer.Deferred.fromCoroutine(self.connect(a, False)) for a in sorted(missing)],
                consumeErrors=True,
            )
        except defer.FirstError as e:
            e.subFailure.raiseException()  # cc.fatal's Exit, not a FirstError traceback

    def disconnect(self) -> list[defer.Deferred[None]]:
        """LOGOUT and close, as NUT's client library does, without waiting for the answer."""
        closing = []
        for client in list(self.clients.values()):
            if client.transport is not None:
                client.transport.write(b"LOGOUT\n")
                client.transport.loseConnection()
            closing.append(client.closed)
        self.clients.clear()
        return closing

    # --- entries

    async def _value(self, client: NutClient | None, ups: str, var: str) -> str | None:
        if client is None:
            return None
        try:
            return await client.get_var(ups, var)
        except (errors.NutError, IndexError):
            return None

    async def line(self, m: Monitored) -> bytes:
        client = self.clients.get(m.addr)
        now = self.clock.seconds()
        answers = await defer.gatherResults(
            [defer.Deferred.fromCoroutine(self._value(client, m.ups, v)) for v in self.vars]
        )
        ctx = Context(m.monhost, now, os.getpid(), self.hostname())
        return render(self.pieces, ctx, dict(zip(self.vars, answers, strict=True)))

    async def entry(self) -> None:
        """One line for every UPS, written in the order they were given."""
        await self._reconnect()
        lines = await defer.gatherResults(
            [defer.Deferred.fromCoroutine(self.line(m)) for m in self.monitored]
        )
        for m, text in zip(self.monitored, lines, strict=True):
            self.files[m.logfn].write(text)

    # --- the schedule

    def _sleep(self, delay: float) -> defer.Deferred[None]:
        self._wake = defer.Deferred()
        self._timer = self.clock.callLater(delay, self.wake)
        return self._wake

    def wake(self) -> None:
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None
        d, self._wake = self._wake, None
        if d is not None:
            d.callback(None)

    def signal(self, signum: int) -> None:
        """What NUT's handlers do: set a flag, and cut the wait short."""
        import signal as sig

        if signum == sig.SIGHUP:
            self.reopen_signal = signum
        elif signum in (sig.SIGINT, sig.SIGQUIT, sig.SIGTERM):
            self.exit_signal = signum
        self.wake()

    def reopen(self) -> None:
        for f in self.files.values():
            if f.is_stdout:
                self.messages("logging to stdout")
            else:
                f.reopen()

    async def run(self) -> None:
        nextpoll: float | None = None
        while not self.exit_signal:
            now = self.clock.seconds()
            if nextpoll is not None and nextpoll > now:
                await self._sleep(nextpoll - now)
                nextpoll += self.interval
            else:
                nextpoll = now + self.interval
                if self.interval <= 0:  # NUT polls back to back; let signals in
                    await task.deferLater(self.clock, 0, lambda: None)
            if self.reopen_signal:
                self.messages(f"Signal {self.reopen_signal}: reopening log file")
                self.reopen()
                self.reopen_signal = 0
            try:
                await self.entry()
            except cc.Exit:
                raise  # cc.fatal: upslog ends with its one line
            except Exception as e:
                # one bad entry (a full disk, an odd answer) never ends the logging
                self.messages(f"log entry failed: {type(e).__name__}: {e}")
            if self.interval > KEEP_CONNECTED:
                self.disconnect()
        self.messages(f"Signal {self.exit_signal}: exiting")


# --- running ----------------------------------------------------------------------------------


def _program(argv0: str) -> str:
    name = os.path.basename(argv0)
    return "upslog" if not name or name.endswith(".py") or name == "__main__" else name


async def _connector(
    reactor: Any, host: str, port: int, first: bool, authconf: str | None = None
) -> NutClient:
    from nutwist.client import connect
    from nutwist.client.session import Refusals, log_in
    from nutwist.tls.context import TlsConfigError, client_tls_from_credentials

    client = await connect(
        reactor, host, port, timeout=NET_TIMEOUT, connect_timeout=CONNECT_TIMEOUT
    )
    tls = client_tls_from_credentials(cc.nutauth_for(authconf, None, host, port))

    def tls_failed(e: Exception) -> None:
        if tls is not None and isinstance(e, TlsConfigError):
            cc.fatal(f"Error: {e}")  # nutauth.conf's TLS: fails closed
        if tls is None and isinstance(e, errors.NutError):
            return  # the unverified try: a refusal keeps the link in clear
        raise e

    # NUT 2.8.0 tries STARTTLS on the first connection only
    await log_in(client, host, tls=tls, try_starttls=first, refused=Refusals(tls=tls_failed))
    return client


def _writepid(pidbase: str, messages: Messages) -> None:
    path = pidbase if pidbase.startswith("/") else f"{paths.altpidpath()}/{pidbase}.pid"
    mask = os.umask(0o022)
    try:
        process.write_pidfile(path)
    except OSError as e:
        messages(f"writepid: fopen {path}: {e.strerror}")
    finally:
        os.umask(mask)


def _become_user(pw: pwd.struct_passwd) -> None:
    try:
        process.drop_privileges(pw.pw_name)
    except process.PrivilegeError as e:
        raise Fatal(str(e)) from None
    except OSError as e:
        raise Fatal(f"setuid: {e.strerror}") from None


def _background(ready_fd: int | None, messages: Messages) -> None:
    """The rest of NUT's background(): standard streams to /dev/null, a new session."""
    STDOUT.drop()  # as the C library's buffer, never flushed, goes with fork
    process.stdio_to_devnull()
    process.new_session()
    messages.to_stderr = False
    if ready_fd is not None:
        process.signal_ready(ready_fd)
    messages("Startup successful")


def _fork_and_wait() -> int | None:
    """Fork; the parent waits until the child is in the background (or died) and exits.

    The child does all of upslog's start-up, so its messages reach the terminal as
    NUT's do, and a start-up failure is the parent's exit status too.
    """
    pid, fd = process.fork_with_pipe()
    if pid == 0:
        return fd
    if process.read_ready(fd):
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    os._exit(code if code >= 0 else 1)


def _install_signals(reactor: Any, logger: UpsLog) -> None:
    import signal

    def handler(signum: int, frame: object) -> None:
        reactor.callFromThread(logger.signal, signum)

    for s in (signal.SIGHUP, signal.SIGINT, signal.SIGQUIT, signal.SIGTERM, signal.SIGUSR1):
        signal.signal(s, handler)


async def _start(
    reactor: Any, opts: Options, prog: str, ready_fd: int | None, messages: Messages
) -> None:
    files: dict[str, LogFile] = {}
    pieces = compile_format(opts.format)
    logger = UpsLog(
        reactor,
        opts.monitored,
        files,
        pieces,
        opts.interval,
        lambda host, port, first: _connector(reactor, host, port, first, opts.authconf),
        messages,
    )
    seen: dict[tuple[str, int], errors.NutError | None] = {}
    for m in opts.monitored:
        STDOUT.write(f"logging status of {m.monhost} to {m.logfn} ({opts.interval}s intervals)\n")
        try:
            m.ups, m.host, m.port = cc.split_name(m.monhost)
        except cc.AddrError as e:
            cc.stderr(str(e))
            raise Fatal(BAD_UPS) from None
        if m.addr not in seen:
            seen[m.addr] = await logger.connect(m.addr, True)
        err = seen[m.addr]
        if err is not None:
            cc.stderr(f"Warning: initial connect failed: {err.message}")
        if m.logfn in files:
            if "%UPSHOST%" not in opts.format:
                if m.logfn != "-":
                    messages(f"NOTE: File {m.logfn} is already receiving other logs")
                messages("NOTE: Consider adding %UPSHOST% to the log formatting string")
        else:
            files[m.logfn] = LogFile(m.logfn)
            files[m.logfn].open()
    try:
        pw = pwd.getpwnam(opts.user)
    except KeyError:
        raise Fatal(f"user {opts.user} not found") from None
    messages.open_syslog(prog)
    if not opts.stays_foreground:
        _background(ready_fd, messages)
    _install_signals(reactor, logger)
    _writepid(opts.pidbase, messages)
    _become_user(pw)
    try:
        await logger.run()
    finally:
        for f in files.values():
            f.close()
        closing = logger.disconnect()
    if closing:
        done = defer.DeferredList(closing)
        timeout = reactor.callLater(1.0, done.cancel)
        await done
        if timeout.active():
            timeout.cancel()


def run(opts: Options, prog: str) -> NoReturn:
    ready_fd = None if opts.stays_foreground else _fork_and_wait()
    from twisted.internet import reactor as installed

    reactor: Any = installed
    messages = Messages()
    status = [0]

    async def main() -> None:
        try:
            await _start(reactor, opts, prog, ready_fd, messages)
        except Fatal as e:
            messages(str(e), error=True)
            status[0] = 1
        except cc.Exit as e:  # cc.fatal: its one line is out already
            status[0] = e.status
        except Exception:
            from twisted.python import failure

            messages(failure.Failure().getTraceback(), error=True)
            status[0] = 1

    def go() -> None:
        d = defer.Deferred.fromCoroutine(main())
        d.addBoth(lambda _: reactor.stop())

    reactor.callWhenRunning(go)
    reactor.run(installSignalHandlers=False)
    STDOUT.flush()
    sys.exit(status[0])


def main(argv: list[str] | None = None) -> None:
    import signal

    argv0 = sys.argv[0] if sys.argv and sys.argv[0] else "upslog"
    argv = sys.argv[1:] if argv is None else argv
    prog = _program(argv0)
    if argv0.endswith(".py"):
        argv0 = prog
    # until upslog sets its own, these signals end it as they end NUT's
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    STDOUT.write(cc.banner(prog) + "\n")
    try:
        opts = parse_args(argv, prog, argv0)
    except cc.Exit as e:
        STDOUT.flush()
        sys.exit(e.status)
    run(opts, prog)


if __name__ == "__main__":
    main()
