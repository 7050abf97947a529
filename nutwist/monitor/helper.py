"""The privileged half of upsmon: it can do one thing, shut the system down.

NUT's upsmon keeps a root parent whose only job is to run SHUTDOWNCMD when the
unprivileged child asks over a pipe.  nutwist forks the same tiny helper before
privileges drop (and before the reactor runs): it blocks on one end of a
socket pair, and on the byte ``\\x01`` writes POWERDOWNFLAG (NUT's exact
content) and runs SHUTDOWNCMD.  When the monitor side goes away it exits quietly;
when the helper dies, the monitor sees end-of-file and raises NOPARENT.

The monitor's side of the socket is :class:`HelperLink`, here beside the helper's
so that both ends of the byte protocol (``\x01`` asks, ``\x02`` answers, ``\x03``
starts a complaint line) are read in one place.

The helper holds no descriptor but its socket: its standard input and output are
/dev/null (so ``upsmon | cat`` ends when upsmon has gone to the background), its
standard error too unless upsmon stays in the foreground, and what it has to say
goes to the monitor over the socket, which logs it.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Callable
from typing import Any

from twisted.internet import defer, protocol
from twisted.internet.interfaces import ITransport
from twisted.python.failure import Failure

from nutwist.config.upsmon import UpsmonConf

#: POWERDOWNFLAG's content, byte for byte as NUT writes and checks it
POWERDOWN_MAGIC = "upsmon-shutdown-file"
REQUEST_SHUTDOWN = b"\x01"
#: the helper's answer: SHUTDOWNCMD ran
SHUTDOWN_DONE = b"\x02"
#: the helper's complaint, one line of text up to a newline, for the monitor to log
COMPLAINT = b"\x03"


class HelperLink(protocol.Protocol):
    """The monitor's end of the helper's socket.

    :meth:`request_shutdown` asks the helper to run SHUTDOWNCMD; its Deferred fires
    when the helper says it ran, or when the helper is gone.  Each complaint line
    goes to ``complain``; ``lost`` is called when the socket closes (the helper died,
    or the monitor is ending).
    """

    transport: ITransport | None

    def __init__(self, complain: Callable[[str], None], lost: Callable[[], None]) -> None:
        self.complain = complain
        self.lost = lost
        self.done: defer.Deferred[None] | None = None
        self.buf = b""

    def request_shutdown(self) -> defer.Deferred[None] | None:
        """Ask the helper; done when it says SHUTDOWNCMD ran (or is gone)."""
        if self.transport is None:
            return None
        self.done = defer.Deferred()
        self.transport.write(REQUEST_SHUTDOWN)
        return self.done

    def dataReceived(self, data: bytes) -> None:
        self.buf += data
        while self.buf:
            if self.buf.startswith(COMPLAINT):
                line, nl, rest = self.buf[1:].partition(b"\n")
                if not nl:
                    return
                self.buf = rest
                self.complain(line.decode("utf-8", "replace"))
                continue
            byte, self.buf = self.buf[:1], self.buf[1:]
            # the helper ran SHUTDOWNCMD
            if byte == SHUTDOWN_DONE and self.done is not None and not self.done.called:
                self.done.callback(None)

    def connectionLost(self, reason: Failure | None = None) -> None:
        if self.done is not None and not self.done.called:
            self.done.callback(None)
        self.lost()


def adopt_helper(reactor: Any, sock: socket.socket, link: HelperLink) -> None:
    """Hand the monitor's end of the socket pair to the reactor, speaking ``link``."""
    factory = protocol.Factory.forProtocol(lambda: link)
    factory.noisy = False
    reactor.adoptStreamConnection(sock.fileno(), sock.family, factory)
    sock.close()  # the reactor holds its own copy of the descriptor


def write_powerdownflag(path: str | None) -> None:
    if not path:
        return
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    with os.fdopen(fd, "w") as f:
        f.write(POWERDOWN_MAGIC)


def check_powerdownflag(path: str | None) -> bool:
    """``upsmon -K``: the flag exists and holds the magic."""
    if not path:
        return False
    try:
        with open(path) as f:
            return f.read(len(POWERDOWN_MAGIC)) == POWERDOWN_MAGIC
    except OSError:
        return False


def clear_powerdownflag(path: str | None) -> str | None:
    """At start: remove a flag NUT would remove; returns a complaint if it is foreign."""
    if not path or not os.path.exists(path):
        return None
    if check_powerdownflag(path):
        try:
            os.unlink(path)
        except OSError as e:
            return f"Failed to remove POWERDOWNFLAG {path}: {e.strerror}"
        return None
    return f"{path} doesn't look like a valid powerdown flag file - disabling it"


def _to_stderr(line: str) -> None:
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


def run_shutdown(conf: UpsmonConf, complain: Callable[[str], None] = _to_stderr) -> int:
    """Write the flag and run SHUTDOWNCMD through the shell (both halves use this).

    A flag that cannot be written (a full or read-only filesystem) is reported on
    one line and never stops the shutdown itself.
    """
    try:
        write_powerdownflag(conf.powerdownflag)
    except OSError as e:
        complain(
            f"upsmon: cannot write POWERDOWNFLAG {conf.powerdownflag}: {e.strerror}; "
            "shutting down anyway (the UPS will not be told to cut power)"
        )
    if not conf.shutdowncmd:
        return 0
    return subprocess.call(["/bin/sh", "-c", conf.shutdowncmd])


def start_helper(conf: UpsmonConf, keep_stderr: bool = False) -> socket.socket:
    """Fork the helper; returns the monitor's end of the socket pair.

    Call before privileges drop and before the reactor starts.  ``keep_stderr``
    (upsmon in the foreground) leaves SHUTDOWNCMD's error output on the terminal.
    """
    mine, theirs = socket.socketpair()
    pid = os.fork()
    if pid:
        theirs.close()
        return mine
    # the helper: keep nothing of the monitor but the socket; signals meant for
    # upsmon (stop, reload, fsd) are not its business: it ends when upsmon does
    try:
        _helper_main(conf, mine, theirs, keep_stderr)
    except BaseException:
        pass  # nothing to print to: the helper has no output of its own
    finally:
        os._exit(0)


def _helper_main(
    conf: UpsmonConf, mine: socket.socket, theirs: socket.socket, keep_stderr: bool
) -> None:
    import signal

    # the monitor's signal handling (a reactor's wake-up pipe, its SIGCHLD handler)
    # is not the helper's: a write to a closed wake-up pipe would print on stderr
    signal.set_wakeup_fd(-1)
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2):
        signal.signal(sig, signal.SIG_IGN)
    for sig in (signal.SIGCHLD, signal.SIGPIPE):
        signal.signal(sig, signal.SIG_DFL)
    mine.close()
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)
    if not keep_stderr:
        os.dup2(devnull, 2)
    keep = theirs.fileno()
    for fd in (devnull,):
        if fd > 2 and fd != keep:
            os.close(fd)
    os.closerange(3, keep)
    os.closerange(keep + 1, _max_fd())

    def complain(line: str) -> None:
        if keep_stderr:
            _to_stderr(line)
        try:
            theirs.sendall(COMPLAINT + line.encode("utf-8", "replace").replace(b"\n", b" ") + b"\n")
        except OSError:
            pass

    while True:
        try:
            data = theirs.recv(1)
        except OSError:
            break
        if not data:
            break
        if data == REQUEST_SHUTDOWN:
            run_shutdown(conf, complain)
            try:
                theirs.sendall(SHUTDOWN_DONE)
            except OSError:
                break


def _max_fd() -> int:
    try:
        n = os.sysconf("SC_OPEN_MAX")
    except (ValueError, OSError):
        n = 1024
    return n if n > 0 else 1024
