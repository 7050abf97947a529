"""upsmon's notifications: syslog, ``wall`` and NOTIFYCMD, one process per event.

Each event is logged (SYSLOG), written to ``wall`` from PATH (WALL) and handed
to NOTIFYCMD (EXEC) with the message as its one argument and ``NOTIFYTYPE``,
``UPSNAME`` and ``NOTIFYMSG`` in its environment, as NUT's upsmon does (plus
NOTIFYMSG).  Children run on their own: a NOTIFYCMD that hangs is killed after
``timeout`` seconds and never holds up polling or a shutdown.

Children never run as root: when this process still is root (``twistd nut
standalone``, ``upsmon -p``), each child is switched to RUN_AS_USER, else
``nut``, before it executes, as NUT's unprivileged upsmon runs them.
"""

from __future__ import annotations

import os
import shutil
from typing import Any

from twisted.internet import protocol
from twisted.internet.interfaces import IProcessTransport
from twisted.logger import Logger

from nutwist.config.upsmon import EXEC, IGNORE, SYSLOG, WALL, UpsmonConf
from nutwist.privs import PrivilegeError, child_ids_for

#: seconds a NOTIFYCMD or wall may run before it is killed
CHILD_TIMEOUT = 120.0


def render(template: str, *args: str) -> str:
    """NUT's snprintf of a NOTIFYMSG: each ``%s`` takes the next argument, ``%%`` is ``%``."""
    out = []
    i = 0
    it = iter(args)
    while i < len(template):
        c = template[i]
        if c == "%" and i + 1 < len(template):
            nxt = template[i + 1]
            if nxt == "s":
                out.append(next(it, ""))
                i += 2
                continue
            if nxt == "%":
                out.append("%")
                i += 2
                continue
        out.append(c)
        i += 1
    return "".join(out)


class _Child(protocol.ProcessProtocol):
    transport: IProcessTransport | None

    def __init__(self, stdin: bytes | None, clock: Any, timeout: float, what: str) -> None:
        self.stdin = stdin
        self.what = what
        self.timer = clock.callLater(timeout, self._kill)

    def connectionMade(self) -> None:
        assert self.transport is not None
        if self.stdin is not None:
            self.transport.write(self.stdin)
        self.transport.closeStdin()

    def _kill(self) -> None:
        Notifier.log.warn("{what} still running after its time: killed", what=self.what)
        transport = self.transport
        if transport is None:
            return
        try:
            transport.signalProcess("KILL")
        except Exception:
            pass  # it ended meanwhile

    def processEnded(self, reason: Any) -> None:
        if self.timer.active():
            self.timer.cancel()


class Notifier:
    log = Logger(namespace="upsmon")

    def __init__(
        self,
        conf: UpsmonConf,
        reactor: Any,
        timeout: float = CHILD_TIMEOUT,
        env: dict[str, str] | None = None,
        run_as: str | None = None,
    ) -> None:
        self.conf = conf
        self.reactor = reactor
        self.timeout = timeout
        self.env = dict(os.environ if env is None else env)
        #: who children run as when this process is root (None: RUN_AS_USER, else nut);
        #: upsmon's ``-u``
        self.run_as = run_as
        #: every event as (type, UPS system or "", message), for tests and explain-shutdown
        self.sent: list[tuple[str, str, str]] = []

    def message(self, ntype: str, system: str, alarm: str = "") -> str:
        return render(self.conf.message_for(ntype), system, alarm)

    def notify(self, ntype: str, system: str | None, alarm: str = "") -> None:
        flags = self.conf.flags_for(ntype)
        msg = self.message(ntype, system or "", alarm)
        self.sent.append((ntype, system or "", msg))
        if not flags or IGNORE in flags:
            return
        if SYSLOG in flags:
            self.log.info("{msg}", msg=msg)
        if WALL in flags:
            self.wall(msg)
        if EXEC in flags and (self.conf.notifycmd or self.conf.notifycmd_argv):
            self.execute(ntype, system or "", msg)

    def wall(self, msg: str) -> None:
        self._spawn(["wall"], (msg + "\n").encode(), self.env, "wall")

    def execute(self, ntype: str, system: str, msg: str) -> None:
        env = dict(self.env, NOTIFYTYPE=ntype, UPSNAME=system, NOTIFYMSG=msg)
        if self.conf.notifycmd_argv:
            argv = [*self.conf.notifycmd_argv, msg]
        else:
            # NUT runs `NOTIFYCMD "msg"` through the shell; the message goes in as a
            # variable, so a UPS name can never inject shell syntax
            argv = ["/bin/sh", "-c", f'{self.conf.notifycmd} "$NOTIFYMSG"']
        self._spawn(argv, None, env, "NOTIFYCMD")

    def _spawn(self, argv: list[str], stdin: bytes | None, env: dict[str, str], what: str) -> None:
        exe = argv[0]
        if "/" not in exe:
            found = shutil.which(exe, path=env.get("PATH", os.defpath))
            if found is None:
                self.log.warn("{what}: {exe} not found on PATH", what=what, exe=exe)
                return
            exe = found
        try:
            ids = child_ids_for(self.run_as or self.conf.run_as_user)
        except PrivilegeError as e:
            self.log.error("{what} not run: {e}", what=what, e=e)
            return
        try:
            self.reactor.spawnProcess(
                _Child(stdin, self.reactor, self.timeout, what),
                exe,
                argv,
                env=env,
                childFDs={0: "w", 1: 1, 2: 2},
                **ids,
            )
        except OSError as e:
            self.log.warn("{what} could not start: {err}", what=what, err=e)
