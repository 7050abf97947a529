"""A driver as a Twisted service: runs the driver and serves its socket.

The socket is ``<statepath>/<driver>-<upsname>``, mode 0660, exactly where NUT's
upsd looks for it.  A live socket of the same name means another driver already
serves this UPS, and we refuse to start a second one; a stale file is removed.

The state directory is writable by the run-as user, so nothing done to the path
may follow a link planted there: the socket gets its mode from the umask at
``bind()`` (which never follows a link: it fails if the name exists) and is never
chmod'ed by name; at the end it is removed only if the name is still our socket.
"""

from __future__ import annotations

import os
import socket
from typing import Any

from twisted.application import service
from twisted.internet import tcp, unix
from twisted.logger import Logger

from nutwist.drivers.core import Driver
from nutwist.paths import socket_name
from nutwist.protocols.sock import DriverServerFactory


class DriverAlreadyRunning(Exception):
    pass


def socket_is_live(path: str) -> bool:
    """True if something accepts connections on the unix socket ``path``."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(1.0)
    try:
        s.connect(path)
    except OSError:
        return False
    finally:
        s.close()
    return True


def bind_unix_socket(path: str, mode: int = 0o660, backlog: int = 128) -> socket.socket:
    """A listening unix socket at ``path`` created with ``mode``; no chmod by name."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o777 & ~mode)
    try:
        s.bind(path)
    except OSError:
        s.close()
        raise
    finally:
        os.umask(old)
    s.listen(backlog)
    s.setblocking(False)
    return s


class _BoundUnixPort(unix.Port):
    """Twisted's unix port over a socket bound already; it neither chmods nor
    follows the path, and removes the name only while it is still this socket."""

    def __init__(self, skt: socket.socket, factory: Any, reactor: Any) -> None:
        super().__init__(skt.getsockname(), factory, reactor=reactor)
        self._skt: socket.socket | None = skt
        st = os.lstat(self._bindPath)
        self._ident = (st.st_dev, st.st_ino)

    def startListening(self) -> None:
        skt, self._skt = self._skt, None
        assert skt is not None
        tcp._reservedFD.reserve()
        self.factory.doStart()  # type: ignore[union-attr]
        self.connected = True
        self.socket = skt
        self.fileno = skt.fileno  # type: ignore[method-assign]
        self.numberAccepts = 100
        self.startReading()

    def connectionLost(self, reason: Any) -> None:
        try:
            st = os.lstat(self._bindPath)
            if (st.st_dev, st.st_ino) == self._ident:
                os.unlink(self._bindPath)
        except OSError:
            pass
        tcp.Port.connectionLost(self, reason)


class DriverService(service.Service):
    log = Logger()

    def __init__(self, driver: Driver, statepath: str, reactor: Any = None) -> None:
        if reactor is None:
            from twisted.internet import reactor as default_reactor

            reactor = default_reactor
        self.driver = driver
        self.statepath = statepath
        self.reactor = reactor
        self.path = os.path.join(statepath, socket_name(driver.name, driver.upsname))
        self.name = driver.upsname
        self.port: Any = None

    def startService(self) -> None:
        super().startService()
        if os.path.lexists(self.path):
            if not os.path.islink(self.path) and socket_is_live(self.path):
                raise DriverAlreadyRunning(
                    f"{self.path}: another driver is serving {self.driver.upsname}"
                )
            os.unlink(self.path)  # the name itself, never what a link points at
        try:
            skt = bind_unix_socket(self.path)
        except OSError as e:
            raise OSError(e.errno, f"Can't create socket {self.path}: {e.strerror}") from None
        port = _BoundUnixPort(
            skt, DriverServerFactory(self.driver, self.driver.upsname), self.reactor
        )
        port.startListening()
        self.port = port
        self.log.info(
            "{ups}: {driver} serving {path}",
            ups=self.driver.upsname,
            driver=self.driver.name,
            path=self.path,
        )
        self.driver.start()

    def stopService(self) -> Any:
        super().stopService()
        self.driver.stop()
        port, self.port = self.port, None
        if port is not None:
            # the UNIX port removes its socket file itself
            return port.stopListening()
        return None
