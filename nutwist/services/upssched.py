"""upssched's timer daemon: named timers behind the PIPEFN socket.

The daemon speaks NUT 2.8.0's line protocol, so NUT's own upssched client can
use it and nutwist's client can use NUT's daemon:

* ``START <name> <seconds>`` adds a timer (a second one of the same name too;
  a negative offset is ignored) and answers ``OK``;
* ``CANCEL <name> [<cmd>]`` removes the first timer of that name or, if there
  is none, runs ``CMDSCRIPT <cmd>``; it always answers ``OK``;
* anything else answers ``ERR UNKNOWN``.

Lines go through NUT's tokenizer, so quoting and escapes are NUT's.  Later NUT
adds ``START-SHARED`` and ``CANCEL-MATCHED`` with the caller's NOTIFYTYPE,
UPSNAME and message as three more words; they are understood too (see
:meth:`TimerQueue.start` and :meth:`TimerQueue.cancel`).

Unlike NUT, whose loop waits for each CMDSCRIPT with ``system()``, a command
runs as a child process that nobody waits for, so a slow script never holds
back another timer.  The daemon exits, removing PIPEFN, after
:data:`EMPTY_WAIT` one-second passes with no timer and no command running.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from twisted.internet import defer
from twisted.internet.endpoints import UNIXServerEndpoint
from twisted.internet.error import ProcessDone, ProcessTerminated
from twisted.internet.interfaces import (
    IDelayedCall,
    IListeningPort,
    IReactorProcess,
    IReactorTime,
    IReactorUNIX,
)
from twisted.internet.protocol import Factory, ProcessProtocol
from twisted.internet.task import LoopingCall
from twisted.logger import Logger
from twisted.python.failure import Failure

from nutwist.config.tokenizer import TokenizerError
from nutwist.model.state import strtol
from nutwist.protocols.framing import WordReceiver
from nutwist.services.loops import guarded

log = Logger()

#: one-second passes with an empty queue before the daemon exits (NUT's EMPTY_WAIT)
EMPTY_WAIT = 15
#: seconds between the daemon's passes over its queue
PASS_INTERVAL = 1.0
#: NUT builds ``CMDSCRIPT <cmd>`` in a LARGEBUF (4096 bytes, NUL included)
COMMAND_LIMIT = 4095
#: pending bytes of an unfinished request line before the connection is dropped
MAX_PENDING = 65536
#: NUT's listen() backlog for PIPEFN
BACKLOG = 16

OK = b"OK\n"
ERR_UNKNOWN = b"ERR UNKNOWN\n"

#: runs one command for the queue: (command, environment overrides or None)
Execute = Callable[[str, Mapping[str, str] | None], None]


@dataclass
class Timer:
    """One pending timer; ``upsnames``/``notifytypes`` are known only from later clients."""

    name: str
    call: IDelayedCall | None = None
    upsnames: list[str] = field(default_factory=list)
    notifytypes: list[str] = field(default_factory=list)

    def environment(self) -> dict[str, str] | None:
        """What CMDSCRIPT gets instead of the daemon's own UPSNAME/NOTIFYTYPE, if anything."""
        env: dict[str, str] = {}
        if self.upsnames:
            env["UPSNAME"] = ",".join(self.upsnames)
        if self.notifytypes:
            env["NOTIFYTYPE"] = ",".join(self.notifytypes)
        return env or None


def _add_unique(values: list[str], value: str | None) -> None:
    if value and value not in values:
        values.append(value)


class TimerQueue:
    """The daemon's timers, in the order they were started."""

    def __init__(self, clock: IReactorTime, execute: Execute) -> None:
        self.clock = clock
        self.execute = execute
        self.timers: list[Timer] = []

    def __len__(self) -> int:
        return len(self.timers)

    def names(self) -> list[str]:
        return [t.name for t in self.timers]

    def start(
        self,
        name: str,
        offset: str,
        notifytype: str | None = None,
        upsname: str | None = None,
        *,
        shared: bool = False,
    ) -> None:
        """START (and later NUT's START-SHARED, which joins a running timer of that name)."""
        seconds = strtol(offset)
        if seconds < 0:
            log.info("bogus offset for timer, ignoring")
            return
        if shared:
            for timer in self.timers:
                if timer.name == name:
                    _add_unique(timer.upsnames, upsname)
                    _add_unique(timer.notifytypes, notifytype)
                    log.info("Shared timer: {name} ({ups})", name=name, ups=upsname)
                    return
        log.info("New timer: {name} ({seconds} seconds)", name=name, seconds=seconds)
        timer = Timer(name)
        _add_unique(timer.upsnames, upsname)
        _add_unique(timer.notifytypes, notifytype)
        # far beyond any real offset, and still a delay the reactor can hold
        timer.call = self.clock.callLater(min(seconds, 2**40), self._expire, timer)
        self.timers.append(timer)

    def _expire(self, timer: Timer) -> None:
        self.timers.remove(timer)
        log.info("Event: {name}", name=timer.name)
        self.execute(timer.name, timer.environment())

    def cancel(
        self,
        name: str | None,
        command: str | None = None,
        upsname: str | None = None,
        *,
        matched: bool = False,
    ) -> None:
        """CANCEL: drop the first timer called ``name``, else run ``command`` if given.

        CANCEL-MATCHED (later NUT) only touches timers that ``upsname`` started:
        it takes that UPS off a shared timer and drops the timer once no UPS is left.
        """
        if name is None:
            return
        for timer in self.timers:
            if timer.name != name:
                continue
            if matched and upsname and timer.upsnames:
                if upsname not in timer.upsnames:
                    continue
                timer.upsnames.remove(upsname)
                if timer.upsnames:
                    log.info("Timer {name} no longer waits for {ups}", name=name, ups=upsname)
                    return
            log.info("Cancelling timer: {name}", name=name)
            if timer.call is not None:
                timer.call.cancel()
            self.timers.remove(timer)
            return
        if command:
            log.info("Cancel {name}, event: {command}", name=name, command=command)
            self.execute(command, None)


class TimerProtocol(WordReceiver):
    """One client connection on PIPEFN; the client, never the daemon, hangs up."""

    factory: TimerFactory
    max_line = MAX_PENDING

    def parseError(self, error: TokenizerError) -> bool:
        # NUT answers nothing to a line it cannot parse
        log.warn("Parse error on sock: {message}", message=error.message)
        return False

    def wordsReceived(self, words: list[str]) -> None:
        transport = self.transport
        assert transport is not None
        transport.write(self.answer(words))

    def lineTooLong(self) -> None:
        transport = self.transport
        assert transport is not None
        transport.loseConnection()

    def answer(self, words: list[str]) -> bytes:
        queue = self.factory.queue
        verb = words[0] if words else None
        if verb in ("CANCEL", "CANCEL-MATCHED"):
            queue.cancel(
                words[1] if len(words) > 1 else None,
                words[2] if len(words) > 2 else None,
                words[4] if len(words) > 4 else None,
                matched=verb == "CANCEL-MATCHED",
            )
            return OK
        if verb in ("START", "START-SHARED") and len(words) >= 3:
            queue.start(
                words[1],
                words[2],
                words[3] if len(words) > 3 else None,
                words[4] if len(words) > 4 else None,
                shared=verb == "START-SHARED",
            )
            return OK
        log.info("Unknown command on socket: {words}", words=words)
        return ERR_UNKNOWN


class TimerFactory(Factory[TimerProtocol]):
    protocol = TimerProtocol
    noisy = False

    def __init__(self, queue: TimerQueue) -> None:
        self.queue = queue


class _CommandProtocol(ProcessProtocol):
    def __init__(self, runner: CommandRunner, line: str) -> None:
        self.runner = runner
        self.line = line

    def processEnded(self, reason: Failure) -> None:
        self.runner.running -= 1
        if reason.check(ProcessDone):
            return
        value = reason.value
        if isinstance(value, ProcessTerminated) and value.signal is not None:
            log.warn(
                "exec_cmd({line}) terminated with signal {signal}",
                line=self.line,
                signal=value.signal,
            )
        elif isinstance(value, ProcessTerminated) and value.exitCode is not None:
            log.info("exec_cmd({line}) returned {code}", line=self.line, code=value.exitCode)
        else:
            log.error("Execute command failure: {line}", line=self.line)


class CommandRunner:
    """Runs ``CMDSCRIPT <cmd>`` through /bin/sh, as NUT's system() does, without waiting."""

    def __init__(
        self,
        reactor: IReactorProcess,
        cmdscript: str,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.reactor = reactor
        self.cmdscript = cmdscript
        self.environ = os.environ if environ is None else environ
        self.running = 0

    def __call__(self, command: str, env: Mapping[str, str] | None = None) -> None:
        line = f"{self.cmdscript} {command}"[:COMMAND_LIMIT]
        environ = dict(self.environ)
        if env:
            environ.update(env)
        try:
            # the daemon's 0-2 are /dev/null, which the script inherits as under system()
            self.reactor.spawnProcess(
                _CommandProtocol(self, line),
                "/bin/sh",
                ["sh", "-c", line],
                env=environ,
                childFDs={0: 0, 1: 1, 2: 2},
            )
        except OSError as e:
            log.error("Execute command failure: {line} ({error})", line=line, error=e)
            return
        self.running += 1


class TimerDaemon:
    """PIPEFN's listener, the queue, and the idle count that ends the daemon.

    ``done`` fires once the daemon has stopped listening (PIPEFN removed).
    """

    def __init__(
        self,
        reactor: IReactorTime,
        pipefn: str,
        execute: Execute,
        *,
        busy: Callable[[], bool] = lambda: False,
        empty_wait: int = EMPTY_WAIT,
    ) -> None:
        self.reactor = reactor
        self.pipefn = pipefn
        self.queue = TimerQueue(reactor, execute)
        self.factory = TimerFactory(self.queue)
        self.busy = busy
        self.empty_wait = empty_wait
        self.empty = 0
        self.port: IListeningPort | None = None
        self.done: defer.Deferred[None] = defer.Deferred()
        # passes the reactor could not make on time (a suspended host) count too
        self._passes = LoopingCall.withCount(guarded(self.check, "timer daemon pass", log))
        self._passes.clock = reactor

    async def listen(self, reactor: IReactorUNIX) -> None:
        """Take over PIPEFN (a leftover socket file is removed first, as NUT does)."""
        try:
            os.unlink(self.pipefn)
        except FileNotFoundError:
            pass
        endpoint = UNIXServerEndpoint(reactor, self.pipefn, backlog=BACKLOG, mode=0o660)
        self.port = await endpoint.listen(self.factory)
        log.info("Timer daemon started")
        self.start_passes()

    def start_passes(self) -> None:
        self._passes.start(PASS_INTERVAL, now=False).addErrback(
            lambda f: log.failure("timer daemon pass failed", f)
        )

    def check(self, passes: int = 1) -> None:
        """A pass: count it if nothing is pending, and stop after ``empty_wait`` of them."""
        if len(self.queue) or self.busy():
            self.empty = 0
            return
        self.empty += passes
        if self.empty >= self.empty_wait:
            log.info("Timer queue empty, exiting")
            self.stop()

    def stop(self) -> None:
        if self._passes.running:
            self._passes.stop()
        port, self.port = self.port, None
        d = defer.maybeDeferred(port.stopListening) if port is not None else defer.succeed(None)
        d.addBoth(lambda _: self.done.callback(None) if not self.done.called else None)


def _log_to_syslog() -> None:
    import syslog

    from twisted.logger import LegacyLogObserverWrapper, globalLogBeginner
    from twisted.python.syslog import SyslogObserver

    observer = SyslogObserver("upssched", options=syslog.LOG_PID, facility=syslog.LOG_DAEMON)
    globalLogBeginner.beginLoggingTo(
        [LegacyLogObserverWrapper(observer.emit)],  # type: ignore[arg-type]
        redirectStandardIO=False,
    )


def run_daemon(
    pipefn: str,
    lockfn: str,
    cmdscript: str,
    lockfd: int,
    ready_fd: int,
    empty_wait: int = EMPTY_WAIT,
) -> int:
    """The forked daemon's life: listen, release the starter, serve until idle.

    ``ready_fd`` gets ``1`` once PIPEFN listens, and is closed either way, which
    is what the upssched that forked us waits for; then LOCKFN goes.
    """
    from twisted.internet import reactor as _reactor

    reactor = cast(Any, _reactor)
    _log_to_syslog()
    # as NUT's daemon: PIPEFN and whatever CMDSCRIPT creates stay out of reach of others
    os.umask(0o007)
    runner = CommandRunner(reactor, cmdscript)
    daemon = TimerDaemon(
        reactor, pipefn, runner, busy=lambda: runner.running > 0, empty_wait=empty_wait
    )
    status = [0]

    def started(_: object) -> None:
        os.write(ready_fd, b"1")
        os.close(ready_fd)
        try:
            os.unlink(lockfn)
        except OSError:
            pass
        os.close(lockfd)

    def failed(f: Failure) -> None:
        log.error("bind {pipefn} failed: {error}", pipefn=pipefn, error=f.getErrorMessage())
        status[0] = 1
        os.close(ready_fd)
        reactor.stop()

    def begin() -> None:
        d = defer.Deferred.fromCoroutine(daemon.listen(reactor))
        d.addCallbacks(started, failed)

    daemon.done.addCallback(lambda _: reactor.stop())
    reactor.callWhenRunning(begin)
    reactor.run()
    return status[0]
