"""A driver as a Twisted service: runs the driver and serves its socket.

The socket is ``<statepath>/<driver>-<upsname>``, mode 0660, exactly where NUT's
upsd looks for it.  A live socket of the same name means another driver already
serves this UPS, and we refuse to start a second one; a stale file is removed.
"""

from __future__ import annotations

import os
import socket
from typing import Any

from twisted.application import service
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
        if os.path.exists(self.path):
            if socket_is_live(self.path):
                raise DriverAlreadyRunning(
                    f"{self.path}: another driver is serving {self.driver.upsname}"
                )
            os.unlink(self.path)
        self.port = self.reactor.listenUNIX(
            self.path,
            DriverServerFactory(self.driver, self.driver.upsname),
            mode=0o660,
            backlog=128,
        )
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
