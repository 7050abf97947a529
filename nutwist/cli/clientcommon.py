"""What NUT's command-line clients share: UPS names, errors, prompts, running.

``split_name`` and ``split_addr`` (from :mod:`nutwist.client.names`) read
``ups[@host[:port]]`` and ``host[:port]`` with the rules (and the complaints) of
NUT 2.8.0's client library; ``run``
drives an ``async`` main on the reactor and turns client errors into NUT's
``Error: ...`` line and exit status 1.
"""

from __future__ import annotations

import functools
import getpass
import os
import signal
import sys
from collections.abc import Callable, Coroutine, Iterator
from typing import Any, NoReturn

from nutwist import __version__
from nutwist.client import errors
from nutwist.client.names import DEFAULT_PORT as DEFAULT_PORT
from nutwist.client.names import AddrError as AddrError
from nutwist.client.names import split_addr as split_addr
from nutwist.client.names import split_name as split_name

BAD_UPS = "Error: invalid UPS definition.\nRequired format: upsname[@hostname[:port]]"
#: upsrw's and upscmd's wording of the same complaint
BAD_UPS_ONE_LINE = "Error: invalid UPS definition.  Required format: upsname[@hostname[:port]]"


class Exit(Exception):
    """Leave with this status (after the output so far)."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


def banner(program: str) -> str:
    """The first line of ``-h`` and ``-V``: NUT's wording, nutwist's version (the one line
    of the output that differs from NUT's by design)."""
    return f"Network UPS Tools {program} {__version__} (nutwist)"


def stderr(line: str) -> None:
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


def fatal(message: str, status: int = 1) -> NoReturn:
    """NUT's fatalx: the message on stderr, then exit."""
    sys.stdout.flush()
    stderr(message)
    raise Exit(status)


def parse_ups_or_die(text: str, message: str = BAD_UPS) -> tuple[str, str, int]:
    try:
        return split_name(text)
    except AddrError as e:
        stderr(str(e))
        fatal(message)


def prompt_username() -> str | None:
    """NUT's prompt: ``Username (<login name>): `` on stdout, a line from stdin.

    An empty answer means the login name; None at the end of input.
    """
    try:
        me = getpass.getuser()
    except (KeyError, OSError):
        me = "unknown"
    sys.stdout.write(f"Username ({me}): ")
    sys.stdout.flush()
    line = sys.stdin.readline()
    if not line:
        return None
    return line.rstrip("\n") or me


def prompt_password() -> str | None:
    """``Password: `` without echo on a terminal; else (as getpass(3)) on stderr and stdin."""
    if sys.stdin.isatty():
        try:
            return getpass.getpass("Password: ")
        except EOFError:
            return None
    sys.stderr.write("Password: ")
    sys.stderr.flush()
    line = sys.stdin.readline()
    if not line:
        return None
    return line.rstrip("\n")


def broken_pipe(status: int | None = None) -> NoReturn:
    """Standard output's reader has gone (``| head``): end quietly, as NUT's C clients do.

    ``None``: die of SIGPIPE as upsrw and upscmd do (141 in the shell); else exit
    with ``status`` (upsc ignores SIGPIPE and exits 0).
    """
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    if status is None:
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGPIPE)
        status = 141
    sys.exit(status)


def run(
    main: Callable[[Any], Coroutine[Any, Any, int | None]], pipe_status: int | None = None
) -> NoReturn:
    """Run ``main(reactor)``; NUT's exit status; client errors as ``Error: <message>``.

    A reader of standard output that goes away ends the program as :func:`broken_pipe`
    says (``pipe_status``), never with a traceback.
    """
    from twisted.internet import defer, task

    status: list[int] = [0]
    pipe_broken = [False]

    async def wrapped(reactor: Any) -> None:
        try:
            result = await main(reactor)
            status[0] = int(result or 0)
        except Exit as e:
            status[0] = e.status
        except BrokenPipeError:
            pipe_broken[0] = True
        except errors.NutError as e:
            try:
                sys.stdout.flush()
            except BrokenPipeError:
                pipe_broken[0] = True
            stderr(f"Error: {e.message}")
            status[0] = 1

    def start(reactor: Any) -> Any:
        return defer.ensureDeferred(wrapped(reactor))

    try:
        task.react(start)
    except SystemExit:
        pass
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        pipe_broken[0] = True
    if pipe_broken[0]:
        broken_pipe(pipe_status)
    sys.exit(status[0])


def iter_getopt(
    argv: list[str], optstring: str, prog: str, operands: list[str]
) -> Iterator[tuple[str, str]]:
    """POSIX getopt as NUT's clients call it (``+`` first: stop at the first operand),
    one option at a time, so that an option can act before a later bad one is
    complained about; ``operands`` receives what follows the options.

    An unknown option or a missing argument is reported on stderr as glibc words it
    and comes back as ``?``.
    """
    takes = {c: optstring[i + 1 : i + 2] == ":" for i, c in enumerate(optstring) if c not in ":+"}
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            i += 1
            break
        if not arg.startswith("-") or arg == "-":
            break
        j = 1
        while j < len(arg):
            c = arg[j]
            if c not in takes:
                stderr(f"{prog}: invalid option -- '{c}'")
                yield "?", ""
                j += 1
                continue
            if takes[c]:
                value = arg[j + 1 :]
                if not value:
                    i += 1
                    if i >= len(argv):
                        stderr(f"{prog}: option requires an argument -- '{c}'")
                        yield "?", ""
                        break
                    value = argv[i]
                yield c, value
                break
            yield c, ""
            j += 1
        i += 1
    operands[:] = argv[i:]


def getopt(argv: list[str], optstring: str, prog: str) -> tuple[list[tuple[str, str]], list[str]]:
    """:func:`iter_getopt` all at once: every complaint first, then the options."""
    rest: list[str] = []
    found = list(iter_getopt(argv, optstring, prog, rest))
    return found, rest


#: NUT's default -t for -w (seconds)
DEFAULT_TRACKING_TIMEOUT = 10


def parse_timeout(value: str) -> int:
    """``-t``: an unsigned decimal, or NUT's complaint and exit 1."""
    if not value.isdigit():
        fatal(
            "Could not convert the provided value for timeout ('-t' option) to unsigned int: "
            "Invalid argument"
        )
    return int(value)


@functools.cache
def nutauth_for(authconf: str | None, username: str | None, host: str, port: int) -> Any:
    """nutauth.conf's entry (``-A``, or its search order) for this server, read once.

    The user given with -u picks the section; a file that is refused ends the
    program with its one-line reason.
    """
    from nutwist.config import nutauth

    try:
        return nutauth.credentials_for(authconf, username, host, port)
    except nutauth.NutAuthError as e:
        fatal(f"Error: {e}")


def stored_credentials(
    authconf: str | None, username: str | None, host: str, port: int
) -> tuple[str | None, str | None]:
    """The user name and password nutauth.conf holds for this server."""
    found = nutauth_for(authconf, username, host, port)
    return found.username, found.password


def ask_credentials(
    username: str | None,
    password: str | None,
    eof_fatal: bool,
    stored: tuple[str | None, str | None] = (None, None),
) -> tuple[str, str]:
    """Fill in what -u and -p left out: from nutauth.conf, else prompting as NUT does."""
    if username is None and stored[0] is not None:
        username = stored[0]
    if password is None and stored[1] is not None:
        password = stored[1]  # nutauth's lookup already matched it to this user
    if username is None:
        answer = prompt_username()
        if answer is None:
            if eof_fatal:
                fatal("Error reading from stdin!")
            answer = getpass.getuser()
        username = answer
    if password is None:
        password = prompt_password() or ""
    return username, password


async def send_credentials(client: Any, username: str, password: str) -> None:
    """USERNAME and PASSWORD; like NUT's tools, their answers are not checked.

    A value with spaces or quotes is quoted (NUT sends it bare, and upsd then
    rejects the line); an empty one goes bare, as NUT sends it.
    """
    from nutwist.client.session import Credentials, Refusals, ignore, log_in

    await log_in(
        client,
        "",
        credentials=Credentials(username=username, password=password, bare_empty=True),
        refused=Refusals(username=ignore, password=ignore),
    )


async def enable_tracking(client: Any, what: str) -> None:
    try:
        reply = await client.raw("SET TRACKING ON")
    except errors.ServerError as e:
        reply = e.reply
    if not reply.startswith("OK"):
        fatal(f"Enabling {what} status tracking failed. upsd answered: {reply}")


async def request_and_report(reactor: Any, client: Any, line: str, opts: dict[str, Any]) -> None:
    """SET VAR or INSTCMD as upsrw/upscmd send it: anything but ``OK...`` is fatal; then
    the answer (or, with -w, the tracked result) goes to stderr."""
    try:
        reply = await client.raw(line)
    except errors.ServerError as e:
        reply = e.reply
    if not reply.startswith("OK"):
        fatal(f"Unexpected response from upsd: {reply}")
    await report_result(reactor, client, reply, opts["wait"], opts["timeout"])


async def report_result(
    reactor: Any, client: Any, reply: str, tracking: bool, timeout: int
) -> None:
    """NUT's ending of upsrw/upscmd: the answer (or the tracked result) on stderr."""
    prefix = "OK TRACKING "
    if not tracking or len(reply) != len(prefix) + 36 or not reply.startswith(prefix):
        stderr(reply)
        return
    from twisted.internet import task

    tracking_id = reply[len(prefix) :]
    start = reactor.seconds()
    while True:
        if reactor.seconds() - start >= timeout:
            fatal("Can't receive status tracking information: timeout")
        try:
            result = await client.raw(f"GET TRACKING {tracking_id}")
        except errors.ServerError as e:
            result = e.reply
        if not result.startswith("PENDING"):
            stderr(result)
            return
        await task.deferLater(reactor, 1.0, lambda: None)


async def secure(
    client: Any, authconf: str | None, user: str | None, host: str, port: int, opportunistic: bool
) -> None:
    """TLS as nutauth.conf asks for this server; else NUT 2.8.0's habit.

    ``opportunistic``: upsc tries STARTTLS unverified (as NUT's does); upsrw and
    upscmd stay in clear unless nutauth.conf sets TLS keys.  Strict settings
    (CERTVERIFY, FORCESSL) fail closed with NUT's ``Error: ...`` line.
    """
    from nutwist.client.session import Refusals, log_in
    from nutwist.tls.context import TlsConfigError, client_tls_from_credentials

    settings = client_tls_from_credentials(nutauth_for(authconf, user, host, port))

    def tls_failed(e: Exception) -> None:
        if settings is not None and isinstance(e, TlsConfigError):
            fatal(f"Error: {e}")
        raise e

    await log_in(
        client, host, tls=settings, try_starttls=opportunistic, refused=Refusals(tls=tls_failed)
    )


def admin_options(
    argv: list[str],
    optstring: str,
    usage: Callable[[], None],
    version: Callable[[], object],
    **own: str,
) -> tuple[dict[str, Any], list[str]]:
    """upsrw's and upscmd's shared options: -u -p -w -t -A (-h, -V, unknown: help).

    ``own`` maps a program's own letters to the key they set: a letter followed by
    ``:`` in ``optstring`` stores its argument, else True.
    """
    opts: dict[str, Any] = {
        "user": None,
        "password": None,
        "wait": False,
        "timeout": DEFAULT_TRACKING_TIMEOUT,
        "authconf": None,
        **{key: None for key in own.values()},
    }
    found, args = getopt(argv, optstring, sys.argv[0])
    common = {"u": "user", "p": "password", "A": "authconf"}
    for c, value in found:
        if c in common:
            opts[common[c]] = value
        elif c == "t":
            opts["timeout"] = parse_timeout(value)
        elif c == "w":
            opts["wait"] = True
        elif c in own:
            opts[own[c]] = value if f"{c}:" in optstring else True
        elif c == "V":
            version()
            raise Exit(0)
        else:
            usage()
            raise Exit(0)
    return opts, args


def main_with(
    parse: Callable[[], tuple[dict[str, Any], list[str]]],
    run_: Callable[..., Any],
    pipe_status: int | None = None,
) -> None:
    """Parse the options (help and errors exit here), then run on the reactor."""
    try:
        opts, args = parse()
    except Exit as e:
        try:
            sys.stdout.flush()
        except BrokenPipeError:
            broken_pipe(pipe_status)
        sys.exit(e.status)
    except BrokenPipeError:
        broken_pipe(pipe_status)
    run(lambda reactor: run_(reactor, opts, args), pipe_status)
