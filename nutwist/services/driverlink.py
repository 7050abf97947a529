"""upsd's side of a driver: a cached copy of its state, kept fresh.

A :class:`DriverLink` reaches its driver either in-process (it becomes one of
the driver's listeners: no socket, no text) or through the driver's unix socket,
whether that socket is served by nutwist or by NUT's C driver.  It follows NUT
2.8.0's upsd (sstate.c):

* on every (re)connection the copy is flushed, ``DUMPALL`` is sent, and
  ``ups.status`` reads ``WAIT`` until the driver says otherwise;
* staleness is judged only once DUMPDONE came, and a dump without DATAOK is stale;
* the data is stale when nothing was heard for MAXAGE seconds; after MAXAGE/3
  of silence a PING asks the driver to show it is alive;
* a lost or refused socket is retried every few seconds; a refusal is logged
  as NUT's ``Can't connect to UPS [x] (driver-x): <reason>``, at most once every
  five minutes;
* SET/INSTCMD go to the driver with their TRACKING id.
"""

from __future__ import annotations

import errno
import os
import socket
from collections.abc import Callable
from typing import Any

from twisted.internet import protocol
from twisted.internet.interfaces import IReactorSocket, IReactorTime
from twisted.internet.task import LoopingCall
from twisted.logger import Logger

from nutwist.model.state import UpsState, atoi
from nutwist.protocols.sock import DriverBackend, DriverClientProtocol
from nutwist.services.loops import guarded

TrackingCallback = Callable[[str, int], None]

#: NUT's upsd complains about a driver it cannot reach once every five minutes
CONNFAIL_INTERVAL = 300.0
#: first and longest wait before connecting again (NUT retries on every 2 s loop)
RETRY_FIRST = 0.5
RETRY_MAX = 2.0


class InProcessChannel:
    """An in-process driver: the link is one of its listeners; SET and INSTCMD are
    direct calls, with no wire words."""

    def __init__(self, link: DriverLink, driver: DriverBackend) -> None:
        self.link = link
        self.driver = driver

    def start(self) -> None:
        link = self.link
        link.reset()
        link.connected = True
        self.driver.attach(link)
        for words in self.driver.dump():
            link.message(words)

    def stop(self) -> Any:
        self.driver.detach(self.link)
        self.link.connected = False
        return None

    def ping(self) -> bool:
        if not self.link.connected:
            return False
        self.link.message(["PONG"])
        return True

    def setvar(self, var: str, value: str, tracking: str | None) -> bool:
        if not self.link.connected:
            return False
        self.driver.handle_setvar(var, value, tracking)
        return True

    def instcmd(self, cmd: str, param: str | None, tracking: str | None) -> bool:
        if not self.link.connected:
            return False
        self.driver.handle_instcmd(cmd, param, tracking)
        return True


class _AdoptFactory(protocol.ServerFactory):
    """Hands an adopted, already connected driver socket its protocol."""

    noisy = False

    def __init__(self, channel: SocketChannel) -> None:
        self.channel = channel

    def buildProtocol(self, addr: Any) -> DriverClientProtocol:
        return self.channel.build_protocol()


class SocketChannel:
    """A driver's unix socket (nutwist's or NUT's C driver): connection and retries
    live here; words go out with NUT's quoting.

    Each attempt is one ``connect()``, as NUT's sstate_connect: a refusal is logged
    in NUT's words (at most every five minutes) and retried within 2 s.
    """

    def __init__(self, link: DriverLink, socket_path: str, reactor: Any) -> None:
        self.link = link
        self.socket_path = socket_path
        self.reactor = reactor
        self.proto: DriverClientProtocol | None = None
        self._running = False
        self._retry: Any = None
        self._delay = RETRY_FIRST
        self._last_complaint: float | None = None

    def build_protocol(self) -> DriverClientProtocol:
        return DriverClientProtocol(self, self.link.upsname)

    def start(self) -> None:
        self._running = True
        self._retry = self.link.clock.callLater(0, self._connect)

    def stop(self) -> Any:
        self._running = False
        if self._retry is not None and self._retry.active():
            self._retry.cancel()
        self._retry = None
        proto = self.proto
        if proto is not None and proto.transport is not None:
            proto.transport.loseConnection()
        return None

    def _connect(self) -> None:
        self._retry = None
        if not self._running or self.proto is not None:
            return
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.setblocking(False)
        try:
            s.connect(self.socket_path)
        except OSError as e:
            s.close()
            self._connect_failed(e)
            return
        reactor: IReactorSocket = self.reactor
        try:
            reactor.adoptStreamConnection(s.fileno(), socket.AF_UNIX, _AdoptFactory(self))
        except OSError as e:
            self._connect_failed(e)
        finally:
            s.close()  # the reactor holds its own copy of the descriptor
        self._delay = RETRY_FIRST

    def _connect_failed(self, e: OSError) -> None:
        link = self.link
        now = link.clock.seconds()
        if self._last_complaint is None or now - self._last_complaint >= CONNFAIL_INTERVAL:
            self._last_complaint = now
            reason = os.strerror(e.errno) if e.errno else str(e)
            if e.errno in (errno.EAGAIN, errno.EINPROGRESS):
                reason = os.strerror(errno.EAGAIN)
            link.log.error(
                "Can't connect to UPS [{ups}] ({fn}): {reason}",
                ups=link.upsname,
                fn=os.path.basename(self.socket_path),
                reason=reason,
            )
        self._schedule_retry()

    def _schedule_retry(self) -> None:
        if not self._running or self._retry is not None:
            return
        delay, self._delay = self._delay, min(self._delay * 2, RETRY_MAX)
        self._retry = self.link.clock.callLater(delay, self._connect)

    # --- DriverClientListener

    def driver_connected(self, proto: DriverClientProtocol) -> None:
        self.proto = proto
        link = self.link
        link.reset()
        link.connected = True
        link.log.info("Connected to UPS [{ups}]: {path}", ups=link.upsname, path=self.socket_path)
        proto.send(["DUMPALL"])

    def message(self, words: list[str]) -> None:
        self.link.message(words)

    def driver_disconnected(self, proto: DriverClientProtocol) -> None:
        if self.proto is proto:
            self.proto = None
            link = self.link
            link.connected = False
            link.state = UpsState()
            if self._running:
                link.log.warn("Driver for UPS [{ups}] disconnected", ups=link.upsname)
                self._schedule_retry()

    # --- what the link sends

    def send(self, words: list[str]) -> bool:
        """Send a message to the driver; False when it is not connected."""
        if self.proto is None or self.proto.transport is None:
            return False
        self.proto.send(words)
        return True

    def ping(self) -> bool:
        return self.send(["PING"])

    def setvar(self, var: str, value: str, tracking: str | None) -> bool:
        words = ["SET", var, value]
        if tracking is not None:
            words += ["TRACKING", tracking]
        return self.send(words)

    def instcmd(self, cmd: str, param: str | None, tracking: str | None) -> bool:
        words = ["INSTCMD", cmd]
        if param is not None:
            words.append(param)
        if tracking is not None:
            words += ["TRACKING", tracking]
        return self.send(words)


def _LinkProtocol(link: DriverLink) -> DriverClientProtocol:
    """The connecting end of ``link``'s driver socket."""
    assert isinstance(link.channel, SocketChannel)
    return link.channel.build_protocol()


class DriverLink:
    """upsd's cached copy of one driver's state, its freshness (DUMPDONE, DATAOK,
    MAXAGE) and the PINGs that keep it fresh.

    How the driver is reached is its channel's business: :class:`InProcessChannel`
    or :class:`SocketChannel`; SET and INSTCMD go through it.
    """

    log = Logger()

    def __init__(
        self,
        upsname: str,
        *,
        clock: IReactorTime,
        maxage: float = 15,
        socket_path: str | None = None,
        driver: DriverBackend | None = None,
        on_tracking: TrackingCallback | None = None,
        reactor: Any = None,
    ) -> None:
        assert (socket_path is None) != (driver is None), "a link needs a socket or a driver"
        self.upsname = upsname
        self.clock = clock
        self.maxage = maxage
        self.socket_path = socket_path
        self.driver = driver
        self.on_tracking = on_tracking
        self.reactor = reactor if reactor is not None else clock
        self.state = UpsState()
        self.connected = False
        self.dumpdone = False
        self.data_ok = False
        self.last_heard = 0.0
        self.last_ping = 0.0
        #: None until the first check, so start-up logs no spurious change
        self.was_stale: bool | None = None
        self.channel: InProcessChannel | SocketChannel
        if driver is not None:
            self.channel = InProcessChannel(self, driver)
        else:
            assert socket_path is not None
            self.channel = SocketChannel(self, socket_path, self.reactor)
        self._checker = LoopingCall(guarded(self.check, f"driver link {upsname} check"))
        self._checker.clock = clock

    # --- lifecycle ---------------------------------------------------------------

    def start(self) -> None:
        self.channel.start()
        self._checker.start(max(0.5, self.maxage / 3), now=False)

    def stop(self) -> Any:
        if self._checker.running:
            self._checker.stop()
        return self.channel.stop()

    def reset(self) -> None:
        """A (re)connection: flush the copy; ups.status reads WAIT until the dump."""
        self.state = UpsState()
        self.dumpdone = False
        self.data_ok = False
        self.last_heard = self.clock.seconds()
        self.last_ping = 0.0
        self.state.setinfo("ups.status", "WAIT")

    # --- what upsd asks -----------------------------------------------------------

    def is_stale(self) -> bool:
        if not self.connected:
            return True
        if self.dumpdone and not self.data_ok:
            return True
        return self.clock.seconds() - self.last_heard > self.maxage

    def check(self) -> None:
        """Ping a quiet driver and log staleness changes (NUT's main loop does both)."""
        now = self.clock.seconds()
        third = self.maxage / 3
        if self.connected and now - self.last_heard > third and now - self.last_ping > third:
            self.last_ping = now
            self.send(["PING"])
        stale = self.is_stale()
        if self.was_stale is None:
            self.was_stale = stale
        elif stale != self.was_stale:
            self.was_stale = stale
            if stale:
                self.log.warn("Data for UPS [{ups}] is stale - check driver", ups=self.upsname)
            else:
                self.log.info("UPS [{ups}] data is no longer stale", ups=self.upsname)

    def send(self, words: list[str]) -> bool:
        """A control message to the driver: the link sends only ``PING``."""
        if words != ["PING"]:
            raise ValueError(f"not a control message: {words!r}")
        return self.channel.ping()

    def instcmd(self, cmd: str, param: str | None = None, tracking: str | None = None) -> bool:
        """Forward INSTCMD to the driver; False when it is not connected."""
        return self.channel.instcmd(cmd, param, tracking)

    def setvar(self, var: str, value: str, tracking: str | None = None) -> bool:
        """Forward SET to the driver; False when it is not connected."""
        return self.channel.setvar(var, value, tracking)

    # --- what the driver says (DriverListener) ---------------------------------------

    def message(self, words: list[str]) -> None:
        handler = _HANDLERS.get(words[0].upper())
        if handler is None:
            return
        try:
            handled = handler(self, words[1:])
        except (IndexError, ValueError):
            handled = False
        if handled is not False:
            self.last_heard = self.clock.seconds()


def _setinfo(link: DriverLink, a: list[str]) -> None:
    link.state.setinfo(a[0], a[1])


def _delinfo(link: DriverLink, a: list[str]) -> None:
    link.state.delinfo(a[0])


def _addenum(link: DriverLink, a: list[str]) -> None:
    link.state.addenum(a[0], a[1])


def _delenum(link: DriverLink, a: list[str]) -> None:
    link.state.delenum(a[0], a[1])


def _addrange(link: DriverLink, a: list[str]) -> None:
    link.state.addrange(a[0], atoi(a[1]), atoi(a[2]))


def _delrange(link: DriverLink, a: list[str]) -> None:
    link.state.delrange(a[0], atoi(a[1]), atoi(a[2]))


def _setaux(link: DriverLink, a: list[str]) -> None:
    link.state.setaux(a[0], atoi(a[1]))


def _setflags(link: DriverLink, a: list[str]) -> None:
    link.state.setflags(a[0], a[1:])


def _addcmd(link: DriverLink, a: list[str]) -> None:
    link.state.addcmd(a[0])


def _delcmd(link: DriverLink, a: list[str]) -> None:
    link.state.delcmd(a[0])


def _dataok(link: DriverLink, a: list[str]) -> None:
    link.data_ok = True


def _datastale(link: DriverLink, a: list[str]) -> None:
    link.data_ok = False


def _dumpdone(link: DriverLink, a: list[str]) -> None:
    link.dumpdone = True


def _pong(link: DriverLink, a: list[str]) -> None:
    return None


def _tracking(link: DriverLink, a: list[str]) -> None:
    if link.on_tracking is not None:
        link.on_tracking(a[0], atoi(a[1]))


_HANDLERS: dict[str, Callable[[DriverLink, list[str]], Any]] = {
    "SETINFO": _setinfo,
    "DELINFO": _delinfo,
    "ADDENUM": _addenum,
    "DELENUM": _delenum,
    "ADDRANGE": _addrange,
    "DELRANGE": _delrange,
    "SETAUX": _setaux,
    "SETFLAGS": _setflags,
    "ADDCMD": _addcmd,
    "DELCMD": _delcmd,
    "DATAOK": _dataok,
    "DATASTALE": _datastale,
    "DUMPDONE": _dumpdone,
    "PONG": _pong,
    "TRACKING": _tracking,
}
