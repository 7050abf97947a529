"""Process plumbing every nutwist daemon shares: one leaf, imported by all of them.

- pid files: :func:`write_pidfile` (a new file, never written through a planted
  link), :func:`read_pid`, :func:`alive`;
- going to the background with a readiness pipe: :func:`fork_with_pipe` forks,
  the parent waits on :func:`read_ready` until the child says it is ready
  (:func:`signal_ready`) or dies; :func:`new_session` and :func:`stdio_to_devnull`
  detach the child;
- :func:`raise_nofile_limit` (each client and driver is an open file);
- :func:`start_logging` (stderr in the foreground, syslog in the background);
- privileges: :func:`drop_privileges` and :func:`run_as_user`, from
  :mod:`nutwist.privs`, which says who a daemon runs as and how it switches.

It imports nothing of nutwist's but :mod:`nutwist.privs` (itself a leaf), and no
Twisted when it is imported: upssched, started for every notification, uses it.
The top service that owns a daemon's signals is
:class:`nutwist.services.top.ProcessService`.
"""

from __future__ import annotations

import os
import sys

from nutwist.privs import PrivilegeError, drop_privileges, run_as_user

__all__ = [
    "PrivilegeError",
    "alive",
    "drop_privileges",
    "fork_with_pipe",
    "new_session",
    "raise_nofile_limit",
    "read_pid",
    "read_ready",
    "run_as_user",
    "signal_ready",
    "start_logging",
    "stdio_to_devnull",
    "write_pidfile",
]

#: the byte a background child writes once it is ready; anything else (or end of
#: file, the child died) means it failed
READY = b"1"
NOT_READY = b"0"


# --- pid files --------------------------------------------------------------------------------


def write_pidfile(path: str) -> None:
    """Write our pid to ``path`` as a new file: whatever was there (a link planted
    in a directory the run-as user may write) is replaced, never written through."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    with os.fdopen(fd, "w") as f:
        f.write(f"{os.getpid()}\n")


def read_pid(path: str) -> int | None:
    """The pid in a pid file; None if it cannot be read or holds no number."""
    try:
        with open(path) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


def alive(pid: int) -> bool:
    """Whether a process ``pid`` exists (one we may not signal counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# --- the background ---------------------------------------------------------------------------


def fork_with_pipe() -> tuple[int, int]:
    """Fork with a readiness pipe: ``(child pid, read end)`` in the parent,
    ``(0, write end)`` in the child.  Python's buffered standard streams are
    flushed first, so that nothing buffered is written twice."""
    sys.stdout.flush()
    sys.stderr.flush()
    ready_r, ready_w = os.pipe()
    try:
        pid = os.fork()
    except OSError:
        os.close(ready_r)
        os.close(ready_w)
        raise
    if pid == 0:
        os.close(ready_r)
        return 0, ready_w
    os.close(ready_w)
    return pid, ready_r


def read_ready(fd: int) -> bytes:
    """The parent's wait: the child's first byte, or ``b""`` when it ended without one.
    Closes ``fd``."""
    try:
        return os.read(fd, 1)
    finally:
        os.close(fd)


def signal_ready(fd: int, ok: bool = True) -> None:
    """The child's word to the waiting parent; closes ``fd``.  A parent gone already
    is no error."""
    try:
        os.write(fd, READY if ok else NOT_READY)
    except OSError:
        pass
    finally:
        try:
            os.close(fd)
        except OSError:
            pass


def new_session() -> None:
    """Leave the starting terminal's session and process group."""
    os.setsid()


def stdio_to_devnull() -> None:
    """Standard input, output and error to /dev/null (a daemon keeps no terminal)."""
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    if null > 2:
        os.close(null)


# --- resources and logging --------------------------------------------------------------------


def raise_nofile_limit() -> tuple[int, int]:
    """Raise the soft open-file limit to the hard one (each client and driver is a file)."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError):
            pass
    return soft, hard


def start_logging(debug: int, syslog_prefix: str | None = None) -> None:
    """Log to stderr (``syslog_prefix`` None: the foreground), else to syslog (daemon
    facility) under that name; debug messages only with ``debug``."""
    from twisted.logger import (
        FilteringLogObserver,
        ILogObserver,
        LegacyLogObserverWrapper,
        LogLevel,
        LogLevelFilterPredicate,
        globalLogBeginner,
        textFileLogObserver,
    )

    sink: ILogObserver
    if syslog_prefix is None:
        sink = textFileLogObserver(sys.stderr)
    else:
        from twisted.python.syslog import SyslogObserver

        sink = LegacyLogObserverWrapper(SyslogObserver(syslog_prefix).emit)  # type: ignore[arg-type]
    level = LogLevel.debug if debug else LogLevel.info
    observer = FilteringLogObserver(sink, [LogLevelFilterPredicate(defaultLogLevel=level)])
    globalLogBeginner.beginLoggingTo([observer], redirectStandardIO=False)
