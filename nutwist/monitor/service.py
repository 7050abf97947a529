"""upsmon as a Twisted service: polls, sessions to upsd, and the shutdown sequence.

The poll cycle is NUT 2.8.0's: a user FSD first, then each MONITOR in turn
(connecting and logging in when needed), then the decision; the next cycle
comes POLLFREQ seconds later on line, POLLFREQALERT on battery, and 5 seconds
until the first status.  The decisions are :class:`MonitorLogic`'s; this
module talks to upsd (with :mod:`nutwist.client`) and runs the sequence:

* primary: ``FSD`` on each UPS it is primary of, then ``GET NUMLOGINS`` every
  250 ms until only itself is left or HOSTSYNC passes;
* then: the log line and ``wall``, the SHUTDOWN notification, FINALDELAY, and
  the privileged side runs SHUTDOWNCMD.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from twisted.application.service import Service
from twisted.internet import defer, task
from twisted.logger import Logger

from nutwist.client import NutClient, connect, errors
from nutwist.client.session import Backoff, Credentials, Refusals, ignore, log_in
from nutwist.config.upsmon import UpsmonConf
from nutwist.monitor.logic import MonitorLogic, UpsTrack
from nutwist.monitor.notify import Notifier
from nutwist.tls.context import client_tls_for_upsmon

#: NUT's client library gives up on an answer after 5 s (DEFAULT_NETWORK_TIMEOUT);
#: its alarm(10) around a poll never comes into play before that
POLL_TIMEOUT = 5.0
#: how often the primary counts the secondaries still logged in
SYNC_INTERVAL = 0.25
#: NOPARENT repeats this often while the privileged side is gone
NOPARENT_EVERY = 120.0
#: the longest wait between two attempts to reach an upsd that is down
MAX_BACKOFF = 8.0
SHUTDOWN_TEXT = "Executing automatic power-fail shutdown"


class _Effects:
    def __init__(self, owner: UpsmonService) -> None:
        self.owner = owner

    def notify(self, ntype: str, ups: UpsTrack | None) -> None:
        self.owner.notifier.notify(
            ntype, ups.system if ups else None, ups.alarm_text if ups else ""
        )

    def log(self, level: str, text: str) -> None:
        getattr(self.owner.log, level)("{text}", text=text)


class UpsmonService(Service):
    """upsmon at run time: one session to upsd per MONITOR entry, the polls, and
    the shutdown sequence.

    Every POLLFREQ (POLLFREQALERT on battery) it polls each UPS and feeds the
    answers to its :class:`~nutwist.monitor.logic.MonitorLogic`, whose decisions
    come back through ``_Effects`` as notifications (``notifier``) and log lines.
    When the logic says the host must go down it runs the sequence (FSD for the UPSes
    it is primary of, waiting for the secondaries, FINALDELAY) and then calls
    ``shutdown`` (the privileged helper, or SHUTDOWNCMD in-process with ``-p``) and
    ``on_exit``.  ``connector`` opens a connection (tests give a fake one).
    """

    log = Logger(namespace="upsmon")

    def __init__(
        self,
        conf: UpsmonConf,
        reactor: Any,
        shutdown: Callable[[], Any],
        notifier: Notifier | None = None,
        connector: Callable[..., defer.Deferred[NutClient]] | None = None,
        on_exit: Callable[[], None] | None = None,
    ) -> None:
        self.conf = conf
        self.reactor = reactor
        self.notifier = notifier or Notifier(conf, reactor)
        self.logic = MonitorLogic(conf, reactor.seconds, _Effects(self))
        self.shutdown_cmd = shutdown
        self.connector = connector or (
            lambda host, port: connect(reactor, host, port, timeout=POLL_TIMEOUT)
        )
        self.on_exit = on_exit
        self.sessions: dict[str, NutClient] = {}
        self.user_fsd = False
        self.shutting_down = False
        self.shutdown_done: defer.Deferred[None] = defer.Deferred()
        self.parent_gone_since: float | None = None
        self._next: Any = None
        self._cycle_running = False
        self._last_noparent: float | None = None
        #: per UPS: consecutive failed connects, and when the next attempt may be made
        self._backoff = Backoff(MAX_BACKOFF)
        #: sessions upsd closed since the last poll
        self._lost: set[str] = set()

    # --- lifecycle ---------------------------------------------------------------------

    def startService(self) -> None:
        super().startService()
        self._schedule(0)

    def stopService(self) -> defer.Deferred[None]:
        super().stopService()
        if self._next is not None and self._next.active():
            self._next.cancel()
        ds = [defer.ensureDeferred(c.logout()) for c in self.sessions.values()]
        self.sessions.clear()
        return defer.DeferredList(ds, consumeErrors=True).addCallback(lambda _: None)

    def _schedule(self, delay: float) -> None:
        if self.running and not self.shutting_down:
            self._next = self.reactor.callLater(delay, self._cycle)

    def request_fsd(self) -> None:
        """``upsmon -c fsd`` / SIGUSR1: shut down as if the UPSes were critical."""
        self.log.info("Signal: user requested FSD")
        self.user_fsd = True
        if self._next is not None and self._next.active() and not self._cycle_running:
            self._next.reset(0)

    def reload(self, conf: UpsmonConf) -> None:
        for gone in self.logic.reconfigure(conf):
            client = self.sessions.pop(gone.system, None)
            if client is not None:
                defer.ensureDeferred(client.logout())
        self.conf = conf
        self.notifier.conf = conf

    def parent_died(self) -> None:
        """The privileged side is gone: nothing can shut this system down any more."""
        if self.parent_gone_since is None:
            self.parent_gone_since = self.reactor.seconds()
            self._noparent()

    def _noparent(self) -> None:
        now = self.reactor.seconds()
        if self._last_noparent is None or now - self._last_noparent >= NOPARENT_EVERY:
            self._last_noparent = now
            self.notifier.notify("NOPARENT", None)

    # --- the poll cycle ----------------------------------------------------------------

    def _cycle(self) -> None:
        defer.ensureDeferred(self.cycle()).addErrback(
            lambda f: self.log.failure("poll cycle failed", f)
        )

    async def cycle(self) -> None:
        if self._cycle_running or self.shutting_down:
            return
        self._cycle_running = True
        try:
            if self.user_fsd:
                await self.forceshutdown()
                return
            for track in list(self.logic.tracks.values()):
                await self._poll_safely(track)
            if self.logic.recalc():
                await self.forceshutdown()
                return
            if self.parent_gone_since is not None:
                self._noparent()
        except Exception:
            # whatever went wrong, the next poll still comes: a loop that stopped
            # would leave this system unprotected while looking healthy
            self.log.failure("poll cycle failed")
        finally:
            self._cycle_running = False
            # a no-op once shutting down
            self._schedule(self.logic.sleepval)

    async def _poll_safely(self, track: UpsTrack) -> None:
        """Poll one UPS; anything unexpected counts as one failed poll of it."""
        try:
            await self.poll(track)
        except Exception as e:
            self.log.failure("UPS [{ups}]: poll failed", ups=track.system)
            self.logic.poll_failed(track, f"{type(e).__name__}: {e}")
            client = self.sessions.get(track.system)
            if client is not None:
                self._drop(track, client)  # its state is unknown: start afresh

    async def _session(self, track: UpsTrack) -> NutClient | None:
        client = self.sessions.get(track.system)
        if client is not None:
            return client
        mon = track.mon
        now = self.reactor.seconds()
        if not self._backoff.ready(track.system, now):
            self.logic.gone(track)  # still unreachable, as far as upsmon knows
            return None
        try:
            client = await self.connector(mon.host, mon.port)
        except errors.NutError as e:
            self.log.error("UPS [{ups}]: connect failed: {err}", ups=track.system, err=e.message)
            # back off: 1, 2, 4, 8 s between attempts (NUT tries at every poll)
            self._backoff.failed(track.system, now)
            self.logic.gone(track)
            return None
        self._backoff.succeeded(track.system)

        def tls_failed(e: Exception) -> None:
            if isinstance(e, errors.SslError | errors.SslNotAvailable):
                self.log.error(
                    "Can not connect to NUT server {host} in SSL, disconnect: {err}",
                    host=mon.host,
                    err=e.message,
                )
            raise e

        def password_refused(e: Exception) -> None:
            assert isinstance(e, errors.ServerError)
            raise errors.ProtocolError(f"Password set failed: {e.reply}") from None

        try:
            await log_in(
                client,
                mon.host,
                tls=client_tls_for_upsmon(self.conf, mon.host),
                try_starttls=True,
                credentials=Credentials(
                    username=mon.username, password=mon.password, login=mon.upsname
                ),
                # as NUT's upsmon, the USERNAME answer is not checked
                refused=Refusals(tls=tls_failed, username=ignore, password=password_refused),
            )
            track.primary_granted = False
            if mon.primary:
                refusals: list[Exception] = []
                await log_in(
                    client,
                    mon.host,
                    credentials=Credentials(primary=mon.upsname),
                    refused=Refusals(primary=refusals.append),
                )
                for refusal in refusals:
                    assert isinstance(refusal, errors.ServerError)
                    self.log.error(
                        "Unable to raise privilege level on UPS [{ups}]: {err}",
                        ups=track.system,
                        err=refusal.reply,
                    )
                track.primary_granted = not refusals
        except errors.NutError as e:
            self.log.error(
                "Login on UPS [{ups}] failed - got [{err}]", ups=track.system, err=str(e)
            )
            if client.transport is not None:
                client.transport.loseConnection()
            self.logic.gone(track)
            return None
        self.log.info("Logged into UPS {ups}", ups=track.system)
        self.sessions[track.system] = client
        client.closed.addCallback(lambda _: self._closed(track, client))
        return client

    def _closed(self, track: UpsTrack, client: NutClient) -> None:
        # NUT notices a closed session only when the next poll fails on it
        if self.sessions.get(track.system) is client:
            del self.sessions[track.system]
            self._lost.add(track.system)

    async def poll(self, track: UpsTrack) -> None:
        if track.system in self._lost:
            self._lost.discard(track.system)
            self.logic.poll_failed(track, errors.ServerDisconnected.message)
            self.logic.connection_dropped(track)
            return
        client = await self._session(track)
        if client is None:
            return
        try:
            status = await client.get_var(track.mon.upsname, "ups.status")
        except errors.UnknownUps:
            self.logic.poll_failed(
                track, f"[{track.mon.upsname}] does not exist on server {track.mon.host}"
            )
            return
        except errors.NutError as e:
            self.logic.poll_failed(track, e.message)
            if (
                client.transport is None
                or client.closed.called
                or isinstance(e, errors.ServerDisconnected | errors.Timeout)
            ):
                self._drop(track, client)
            return
        if "ALARM" in status.upper().split():
            try:
                track.alarm_text = await client.get_var(track.mon.upsname, "ups.alarm")
            except errors.NutError:
                track.alarm_text = ""
        self.logic.polled(track, status)

    def _drop(self, track: UpsTrack, client: NutClient) -> None:
        if self.sessions.get(track.system) is client:
            del self.sessions[track.system]
        self._lost.discard(track.system)
        self.logic.connection_dropped(track)
        if client.transport is not None:
            client.transport.abortConnection()  # type: ignore[attr-defined]

    # --- shutting down -----------------------------------------------------------------

    async def forceshutdown(self) -> None:
        if self.shutting_down:
            return
        self.shutting_down = True
        primaries = self.logic.primaries()
        for track in primaries:
            client = self.sessions.get(track.system)
            if client is None:
                continue
            try:
                await client.fsd(track.mon.upsname)
                self.log.info("Set FSD on UPS [{ups}]", ups=track.system)
            except errors.NutError as e:
                self.log.error("FSD set on UPS [{ups}] failed: {err}", ups=track.system, err=str(e))
        if primaries:
            await self.sync_secondaries(primaries)
        await self.doshutdown()

    async def sync_secondaries(self, primaries: list[UpsTrack]) -> None:
        start = self.reactor.seconds()
        announced = False
        while True:
            most = 0
            for track in primaries:
                client = self.sessions.get(track.system)
                if client is None:
                    continue
                try:
                    most = max(most, await client.get_numlogins(track.mon.upsname))
                except (errors.NutError, ValueError):
                    continue
            if most <= 1:
                return
            if not announced:
                announced = True
                self.notifier.notify("SHUTDOWN_HOSTSYNC", None)
            if self.reactor.seconds() - start > self.conf.hostsync:
                self.log.info("Host sync timer expired, forcing shutdown")
                return
            await task.deferLater(self.reactor, SYNC_INTERVAL, lambda: None)

    async def doshutdown(self) -> None:
        self.log.critical("{text}", text=SHUTDOWN_TEXT)
        self.notifier.wall(SHUTDOWN_TEXT)
        self.notifier.notify("SHUTDOWN", None)
        await task.deferLater(self.reactor, self.conf.finaldelay, lambda: None)
        try:
            result = self.shutdown_cmd()
            if isinstance(result, defer.Deferred):
                await result
        finally:
            self.shutdown_done.callback(None)
        wait = self.conf.shutdownexit
        if wait is None or wait == 0:
            self._exit()
        elif wait > 0:
            self.reactor.callLater(wait, self._exit)
        # wait < 0: stay

    def _exit(self) -> None:
        if self.on_exit is not None:
            self.on_exit()


def in_process_shutdown(conf: UpsmonConf) -> Callable[[], Any]:
    """``upsmon -p``: one process that runs SHUTDOWNCMD itself (and warns if not root)."""

    def run() -> Any:
        from twisted.internet import threads

        from nutwist.monitor.helper import run_shutdown

        if os.geteuid() != 0:
            Logger(namespace="upsmon").warn("Not root, shutdown may fail")
        return threads.deferToThread(run_shutdown, conf)

    return run
