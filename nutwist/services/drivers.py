"""Every ups.conf section nutwist can drive, as child services of one process.

Used by ``twistd nut upsd`` and ``standalone``: each implemented driver runs
in-process and serves its socket in upsd's state path; a section whose socket
is already live (a driver started elsewhere) is left alone, and a section for a
driver nutwist lacks is expected to be served by NUT's C driver.  One driver
failing to start or crashing never stops the others.
"""

from __future__ import annotations

import os

from twisted.application import service
from twisted.logger import Logger

from nutwist.config.ups import UpsConf, UpsSection
from nutwist.drivers import driver_class, implemented
from nutwist.drivers.core import DeviceError, Driver
from nutwist.paths import socket_name
from nutwist.services.driver import DriverService, socket_is_live


class DriversService(service.MultiService):
    """The in-process drivers of one ups.conf, one child service each.

    :meth:`plan` starts a child for every section nutwist implements whose socket is
    not live already (those, and sections for NUT's C drivers, are ``external``);
    :meth:`sync` follows a reloaded ups.conf.  ``drivers`` maps each section name to
    its running driver, which upsd reads directly.
    """

    log = Logger()

    def __init__(self, conf: UpsConf, *, confdir: str, statepath: str) -> None:
        super().__init__()
        self.conf = conf
        self.confdir = confdir
        self.statepath = statepath
        self.drivers: dict[str, Driver] = {}
        #: sections served by some other process (C drivers, or drivers started earlier)
        self.external: dict[str, str] = {}

    def plan(self) -> None:
        self.plan_new(set())

    def _add(self, section: UpsSection) -> None:
        assert section.driver is not None
        try:
            driver = driver_class(section.driver)(section.name, section, confdir=self.confdir)
        except DeviceError as e:
            self.log.error(
                "[{ups}]: {driver} cannot start: {e}", ups=section.name, driver=section.driver, e=e
            )
            return
        self.drivers[section.name] = driver
        _Guarded(driver, self.statepath).setServiceParent(self)

    def sync(self, conf: UpsConf) -> dict[str, Driver]:
        """Follow a reloaded ups.conf: start new sections, stop removed ones, keep the rest."""
        keep = {s.name for s in conf.sections.values() if s.driver and s.port}
        for name in list(self.drivers):
            section = conf.find(name)
            if name not in keep or section is None or not implemented(section.driver, section):
                child = self.getServiceNamed(name)
                child.disownServiceParent()
                del self.drivers[name]
        self.conf = conf
        before = set(self.drivers)
        self.plan_new(before)
        for name in set(self.drivers) - before:
            child = self.getServiceNamed(name)
            if self.running and not child.running:
                child.startService()
        return dict(self.drivers)

    def plan_new(self, existing: set[str]) -> None:
        """Add a driver for every implemented section not in ``existing`` nor served elsewhere."""
        for section in self.conf.sections.values():
            if section.name in existing or section.name in self.external:
                continue
            if not section.driver or not section.port:
                continue
            path = os.path.join(self.statepath, socket_name(section.driver, section.name))
            if not implemented(section.driver, section):
                self.external[section.name] = path
                continue
            if os.path.exists(path) and socket_is_live(path):
                self.log.info(
                    "[{ups}]: a driver already serves {path}; attaching to it",
                    ups=section.name,
                    path=path,
                )
                self.external[section.name] = path
                continue
            self._add(section)


class _Guarded(DriverService):
    """A driver service whose start failure is logged, not raised into twistd."""

    def startService(self) -> None:
        try:
            super().startService()
        except Exception as e:
            self.log.error("[{ups}]: driver not started: {e}", ups=self.driver.upsname, e=e)
