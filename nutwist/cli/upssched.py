"""upssched: the NOTIFYCMD that turns upsmon's notifications into timers.

A drop-in for NUT 2.8.0's program.  upsmon runs it with ``UPSNAME`` and
``NOTIFYTYPE`` set; it reads ``$NUT_CONFPATH/upssched.conf`` line by line, as
NUT does, and acts on each matching AT line as it reaches it:

* ``EXECUTE <cmd>`` runs ``CMDSCRIPT <cmd>`` through /bin/sh, here and now;
* ``START-TIMER`` and ``CANCEL-TIMER`` go to the timer daemon on PIPEFN, in
  NUT's line protocol, so either side may be NUT's own program.  With no daemon
  listening, the one upssched that creates LOCKFN forks one (see
  :mod:`nutwist.services.upssched`); a CANCEL-TIMER with nothing to run needs none.

Messages, exit codes and retries (30 tries, 250 ms apart) are NUT's: messages
go to stderr and to syslog (daemon facility).  Later NUT's START-TIMER-SHARED
and CANCEL-TIMER-MATCHED are understood as well; they send later NUT's longer
requests, which NUT 2.8.0's daemon refuses.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import syslog
import time
from collections.abc import Mapping

from nutwist import paths, process
from nutwist.config.tokenizer import ConfLine, ConfLineError, iter_conf_lines, quote
from nutwist.config.upssched import (
    CANCEL_TIMER,
    CANCEL_TIMER_MATCHED,
    EXECUTE,
    START_TIMER,
    START_TIMER_SHARED,
    AtRule,
)

#: attempts to deliver one request, and to reach or start the daemon (NUT's MAX_TRIES)
MAX_TRIES = 30
#: pause before trying again while another upssched holds LOCKFN
RETRY_DELAY = 0.25
#: NUT's buffer sizes, which truncate what it sends and runs
SMALLBUF = 512
LARGEBUF = 4096
#: seconds after which a LOCKFN nobody removed is taken for a dead upssched's
STALE_LOCK = 2.0
#: sun_path's size on Linux
SUN_PATH = 108
#: testing knob: the daemon's idle passes before it exits (default EMPTY_WAIT)
EMPTY_WAIT_ENV = "NUTWIST_UPSSCHED_EMPTY_WAIT"

_SETTINGS = ("CMDSCRIPT", "PIPEFN", "LOCKFN")
#: config action -> (daemon verb, whether it is later NUT's longer request)
_VERBS = {
    START_TIMER: ("START", False),
    CANCEL_TIMER: ("CANCEL", False),
    START_TIMER_SHARED: ("START-SHARED", True),
    CANCEL_TIMER_MATCHED: ("CANCEL-MATCHED", True),
}


def _fit(verb: str, words: list[str], limit: int) -> str:
    """``verb`` and the quoted ``words`` in at most ``limit`` bytes, shortening the
    last words as needed (each character cut saves at least one byte)."""
    words = list(words)

    def line() -> str:
        return verb + "".join(" " + quote(w) for w in words)

    for i in reversed(range(len(words))):
        excess = len(line().encode("ascii", "replace")) - limit
        if excess <= 0:
            break
        words[i] = words[i][: max(0, len(words[i]) - excess)]
    return line()


class Fatal(Exception):
    """NUT's fatalx(): the message is already logged; exit with ``status``."""

    def __init__(self, status: int = 1) -> None:
        super().__init__(status)
        self.status = status


def upslogx(priority: int, message: str) -> None:
    """NUT's upslogx: one line on stderr and the same in syslog."""
    sys.stderr.write(message + "\n")
    sys.stderr.flush()
    syslog.syslog(priority, message)


def fatalx(message: str) -> Fatal:
    upslogx(syslog.LOG_ERR, message)
    return Fatal(1)


class _Started:
    """check_parent's answer when it has just started a daemon (``ready``: it listens)."""

    def __init__(self, ready: bool) -> None:
        self.ready = ready


_UNNECESSARY = object()


class Upssched:
    """One run: the settings seen so far, and the notification being handled."""

    def __init__(
        self,
        upsname: str,
        notifytype: str,
        message: str = "",
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.upsname = upsname
        self.notifytype = notifytype
        self.message = message
        self.environ = os.environ if environ is None else environ
        self.cmdscript: str | None = None
        self.pipefn: str | None = None
        self.lockfn: str | None = None

    # --- the configuration, acted on line by line ---

    def checkconf(self, path: str) -> None:
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError as e:
            raise fatalx(f"Can't open {path}: {os.strerror(e.errno or 0)}") from None
        for item in iter_conf_lines(data):
            if isinstance(item, ConfLineError):
                upslogx(syslog.LOG_ERR, f"Parse error: {path}:{item.lineno}: {item.message}")
            elif isinstance(item, ConfLine):
                for byte in item.dropped:
                    upslogx(
                        syslog.LOG_WARNING, f"addchar: discarding invalid character (0x{byte:02x})!"
                    )
                if not self.conf_arg(item):
                    self.invalid(item)

    def invalid(self, item: ConfLine) -> None:
        """NUT names a line it did not take, word by word."""
        text = "upssched.conf: invalid directive" + "".join(" " + w for w in item.words)
        upslogx(syslog.LOG_WARNING, text[: SMALLBUF - 1])

    def conf_arg(self, line: ConfLine) -> bool:
        words = line.words
        if len(words) < 2:
            return False
        if words[0] in _SETTINGS:
            setattr(self, words[0].lower(), words[1])
            return True
        if len(words) < 5 or words[0] != "AT":
            return False
        # NUT reads at most two words after the action
        self.parse_at(AtRule(line.lineno, words[1], words[2], words[3], tuple(words[4:6])))
        return True

    def parse_at(self, rule: AtRule) -> None:
        for setting in _SETTINGS:
            if getattr(self, setting.lower()) is None:
                message = f"{setting} must be set before any ATs in the config file!"
                # NUT says it on stdout as well, in case nobody reads the log
                print(message, flush=True)
                raise fatalx(message)
        if not rule.matches(self.notifytype, self.upsname):
            return
        first = rule.args[0]
        second = rule.args[1] if len(rule.args) > 1 else None
        if rule.action in _VERBS:
            verb, later = _VERBS[rule.action]
            self.sendcmd(verb, first, second, later=later)
        elif rule.action == EXECUTE:
            if not first:
                upslogx(syslog.LOG_ERR, "Empty EXECUTE command argument")
                return
            upslogx(syslog.LOG_INFO, f"Executing command: {first}")
            self.exec_cmd(first)
        else:
            upslogx(syslog.LOG_ERR, f"Invalid command: {rule.action}")

    # --- running CMDSCRIPT here ---

    def exec_cmd(self, command: str) -> None:
        """``system("CMDSCRIPT command")``, reporting a failure as NUT does."""
        line = f"{self.cmdscript} {command}"[: LARGEBUF - 1]
        sys.stdout.flush()
        try:
            status = subprocess.call(["sh", "-c", line], executable="/bin/sh")
        except OSError:
            upslogx(syslog.LOG_ERR, f"Execute command failure: {line}")
            return
        if status > 0:
            upslogx(syslog.LOG_INFO, f"exec_cmd({line}) returned {status}")
        elif status < 0:
            upslogx(syslog.LOG_WARNING, f"exec_cmd({line}) terminated with signal {-status}")

    # --- talking to the timer daemon ---

    def request(self, verb: str, first: str, second: str | None, later: bool) -> bytes:
        """One request line, quoted and escaped as NUT's client sends it.

        Later NUT builds the longer requests in a 4096-byte buffer, NUT 2.8.0 the
        short ones in 512 bytes.  What does not fit is cut from the last words (the
        message first), never from the middle of a quoted word: a line cut there
        leaves its quote open, and the daemon then waits for the rest of a line that
        never comes while this program waits for the daemon's answer.
        """
        if later:
            words = [first, second or "", self.notifytype, self.upsname, self.message]
        else:
            words = [first] if second is None else [first, second]
        return (_fit(verb, words, (LARGEBUF if later else SMALLBUF) - 1) + "\n").encode(
            "ascii", "replace"
        )

    def sendcmd(self, verb: str, first: str, second: str | None, *, later: bool = False) -> None:
        data = self.request(verb, first, second, later)
        for _ in range(MAX_TRIES):
            conn = self.check_parent(verb, second)
            if isinstance(conn, _Started):
                # NUT always pauses here; a daemon that said it listens needs no pause
                if not conn.ready:
                    time.sleep(RETRY_DELAY)
                continue
            if not isinstance(conn, socket.socket):
                return  # a CANCEL with no daemon: nothing to cancel
            with conn:
                try:
                    conn.sendall(data)
                except OSError:
                    upslogx(syslog.LOG_ERR, "write failed, trying again")
                    continue
                try:
                    reply = conn.recv(SMALLBUF)
                except OSError:
                    reply = b""
            if len(reply) < 2:
                upslogx(syslog.LOG_ERR, "read confirmation failed, trying again")
                continue
            if reply.startswith(b"OK"):
                return
            text = reply.decode("ascii", "replace")
            upslogx(syslog.LOG_ERR, f"read confirmation got [{text}]")
        raise fatalx("Unable to connect to daemon and unable to start daemon")

    def try_connect(self) -> socket.socket | None:
        pipefn = self.pipefn or ""
        size = len(os.fsencode(pipefn))
        if size >= SUN_PATH:
            raise fatalx(
                f"Can't create a unix domain socket: pathname '{pipefn}' is too long ({size}) "
                f"for 'struct sockaddr_un->sun_path' on this system ({SUN_PATH})"
            )
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(pipefn)
        except OSError:
            s.close()
            return None
        return s

    def check_parent(self, verb: str, second: str | None) -> socket.socket | _Started | object:
        """A connection to the daemon; else start one if LOCKFN can be had."""
        error: OSError | None = None
        lockfn = self.lockfn or ""
        for _ in range(MAX_TRIES):
            conn = self.try_connect()
            if conn is not None:
                return conn
            if verb in ("CANCEL", "CANCEL-MATCHED") and second is None:
                return _UNNECESSARY
            try:
                lockfd = os.open(lockfn, os.O_RDONLY | os.O_CREAT | os.O_EXCL, 0)
            except OSError as e:
                error = e
            else:
                return _Started(self.start_daemon(lockfd))
            # another upssched is starting it, or one died holding the lock
            if self.stale(lockfn):
                try:
                    os.unlink(lockfn)
                except OSError as e:
                    error = e
            time.sleep(RETRY_DELAY)
        reason = os.strerror(error.errno or 0) if error is not None else "Success"
        upslogx(
            syslog.LOG_ERR, f"Failed to connect to parent and failed to create parent: {reason}"
        )
        raise Fatal(1)

    @staticmethod
    def stale(lockfn: str) -> bool:
        """Whether LOCKFN is older than a daemon takes to start.

        NUT removes it whenever it cannot take it, which lets a third upssched
        start a second daemon while the first is still starting.
        """
        try:
            age = time.time() - os.stat(lockfn).st_mtime
        except FileNotFoundError:
            return False
        except OSError:
            return True
        return not 0 <= age < STALE_LOCK

    def start_daemon(self, lockfd: int) -> bool:
        """Fork the timer daemon; return once it listens (True) or has given up (False)."""
        try:
            empty_wait = int(self.environ.get(EMPTY_WAIT_ENV, ""))
        except ValueError:
            empty_wait = 0
        try:
            pid, fd = process.fork_with_pipe()
        except OSError as e:
            raise fatalx(f"Unable to enter background: {e.strerror}") from None
        if pid == 0:
            os._exit(self._daemon_child(lockfd, fd, empty_wait))
        ready = process.read_ready(fd) == process.READY
        os.close(lockfd)
        return ready

    def _daemon_child(self, lockfd: int, ready_w: int, empty_wait: int) -> int:
        try:
            # leave upsmon's session, and the stdio of whoever ran us
            process.new_session()
            process.stdio_to_devnull()
            from nutwist.services.upssched import EMPTY_WAIT, run_daemon

            return run_daemon(
                self.pipefn or "",
                self.lockfn or "",
                self.cmdscript or "",
                lockfd,
                ready_w,
                empty_wait if empty_wait > 0 else EMPTY_WAIT,
            )
        except BaseException as e:  # nothing may unwind into the upssched that forked us
            syslog.syslog(syslog.LOG_ERR, f"timer daemon failed: {e!r}")
            return 1


def run(environ: Mapping[str, str], argv: list[str]) -> int:
    upsname = environ.get("UPSNAME")
    notifytype = environ.get("NOTIFYTYPE")
    if upsname is None or notifytype is None:
        print("Error: UPSNAME and NOTIFYTYPE must be set.")
        print("This program should only be run from upsmon.")
        return 1
    client = Upssched(upsname, notifytype, argv[0] if argv else "", environ)
    try:
        client.checkconf(f"{paths.confpath(environ=environ)}/upssched.conf")
    except Fatal as e:
        return e.status
    return 0


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    syslog.openlog("upssched", syslog.LOG_PID, syslog.LOG_DAEMON)
    status = run(os.environ, argv)
    sys.stdout.flush()
    sys.exit(status)


if __name__ == "__main__":
    main()
