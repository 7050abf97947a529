"""The privileged half of upsmon: it can do one thing, shut the system down.

NUT's upsmon keeps a root parent whose only job is to run SHUTDOWNCMD when the
unprivileged child asks over a pipe.  nutwist forks the same tiny helper before
privileges drop (and before the reactor runs): it blocks on one end of a
socket pair, and on the byte ``\\x01`` writes POWERDOWNFLAG (NUT's exact
content) and runs SHUTDOWNCMD.  When the monitor side goes away it exits; when
the helper dies, the monitor sees end-of-file and raises NOPARENT.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys

from nutwist.config.upsmon import UpsmonConf

#: POWERDOWNFLAG's content, byte for byte as NUT writes and checks it
POWERDOWN_MAGIC = "upsmon-shutdown-file"
REQUEST_SHUTDOWN = b"\x01"


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


def run_shutdown(conf: UpsmonConf) -> int:
    """Write the flag and run SHUTDOWNCMD through the shell (both halves use this).

    A flag that cannot be written (a full or read-only filesystem) is reported on
    one line and never stops the shutdown itself.
    """
    try:
        write_powerdownflag(conf.powerdownflag)
    except OSError as e:
        sys.stderr.write(
            f"upsmon: cannot write POWERDOWNFLAG {conf.powerdownflag}: {e.strerror}; "
            "shutting down anyway (the UPS will not be told to cut power)\n"
        )
        sys.stderr.flush()
    if not conf.shutdowncmd:
        return 0
    return subprocess.call(["/bin/sh", "-c", conf.shutdowncmd])


def start_helper(conf: UpsmonConf) -> socket.socket:
    """Fork the helper; returns the monitor's end of the socket pair.

    Call before privileges drop and before the reactor starts.
    """
    mine, theirs = socket.socketpair()
    pid = os.fork()
    if pid:
        theirs.close()
        return mine
    # the helper: keep nothing of the monitor but the socket; signals meant for
    # upsmon (stop, reload, fsd) are not its business: it ends when upsmon does
    try:
        import signal

        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2):
            signal.signal(sig, signal.SIG_IGN)
        mine.close()
        keep = theirs.fileno()
        os.closerange(3, keep)
        os.closerange(keep + 1, 1024)
        while True:
            data = theirs.recv(1)
            if not data:
                break
            if data == REQUEST_SHUTDOWN:
                sys.stderr.flush()
                run_shutdown(conf)
                theirs.sendall(b"\x02")
    finally:
        os._exit(0)
