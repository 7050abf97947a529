"""``usbhid-ups``: USB HID Power Device Class UPSes, NUT 2.8.0's most used driver.

The HID work (:class:`~nutwist.drivers.hid.engine.Session`) and every USB transfer run on a
one-thread pool of this driver's own, never on the reactor thread; each call hands back the
state changes, which are made here, on the reactor.  Interrupt-in reports are read at every
poll (up to 750 ms, on the I/O thread), the quick walk runs every ``pollinterval`` and the full
one every ``pollfreq``; an unplugged device leaves the data stale until it answers again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from twisted.internet import defer
from twisted.internet.interfaces import IReactorTime

from nutwist.config.ups import UpsSection
from nutwist.drivers.core import DeviceError, Driver
from nutwist.drivers.hid.engine import Backend, Op, Session, Subdriver

RunIO = Callable[..., "defer.Deferred[Any]"]


class UsbHidUps(Driver):
    name = "usbhid-ups"
    version = "0.47"
    description = "Generic HID driver"
    default_pollinterval = 2
    #: set by the ``usbhid-ups`` command: find the device when the driver is made, and fail then
    preflight = False
    options = {
        "lowbatt": "Set low battery level, in % (default=30)",
        "offdelay": "Set shutdown delay, in seconds (default=20)",
        "ondelay": "Set startup delay, in seconds (default=30)",
        "pollfreq": "Set polling frequency, in seconds, to reduce data flow (default=30)",
        "pollonly": "Don't use interrupt pipe, only use polling",
        "onlinedischarge": "Set to treat discharging while online as being offline",
        "vendor": "Regular expression to match UPS Manufacturer string",
        "product": "Regular expression to match UPS Product string",
        "serial": "Regular expression to match UPS Serial number",
        "vendorid": "Regular expression to match UPS Manufacturer numerical ID (4 digits hexadecimal)",
        "productid": "Regular expression to match UPS Product numerical ID (4 digits hexadecimal)",
        "bus": "Regular expression to match USB bus name",
        "device": "Regular expression to match USB device name",
        "usb_set_altinterface": "Force redundant call to usb_set_altinterface() (value=bAlternateSetting; default=0)",
        "explore": "Diagnostic matching of unsupported UPS",
        "maxreport": "Activate tweak for buggy APC Back-UPS firmware",
        "interruptonly": "Don't use polling, only use interrupt pipe",
        "interruptsize": "Number of bytes to read from interrupt pipe",
    }  # fmt: skip

    def __init__(
        self,
        upsname: str,
        section: UpsSection | None = None,
        *,
        confdir: str = ".",
        clock: IReactorTime | None = None,
        extra: Iterable[tuple[str, str]] = (),
        backend: Backend | None = None,
        subdrivers: Iterable[Subdriver] | None = None,
        run_io: RunIO | None = None,
    ) -> None:
        super().__init__(upsname, section, confdir=confdir, clock=clock, extra=extra)
        if backend is None:
            from nutwist.drivers.hid.usb import PyUsbBackend

            backend = PyUsbBackend()
        if subdrivers is None:
            from nutwist.drivers.hid.subdrivers import SUBDRIVERS

            subdrivers = SUBDRIVERS
        self.backend = backend
        self.session = Session(
            backend,
            list(subdrivers),
            self.params,
            self.flags,
            upsname=upsname,
            now=self.clock.seconds,
        )
        self.session.poll_interval = max(1, int(self.pollinterval))
        self.session.overridden = set(self._overridden)
        self._run_io = run_io
        self._pool: Any = None
        self._ready = False
        self._pending: list[Op] | None = None
        if self.preflight:
            # the drop-in command finds its device before it serves anything, as NUT's does
            # (no reactor runs yet, so nothing waits on this)
            try:
                self._pending = self.session.initups()
            except (LookupError, ValueError) as e:
                raise DeviceError(str(e)) from None

    # --- alarms: NUT marks the status ALARM only from the last committed alarm list --------

    _alarm_active = False

    def alarm_init(self) -> None:
        super().alarm_init()
        self._alarm_active = False

    def alarm_commit(self) -> None:
        super().alarm_commit()
        self._alarm_active = bool(self._alarm)

    def status_commit(self) -> None:
        # alarms set by a quick walk wait for the next full walk's commit, as in NUT
        pending, self._alarm = self._alarm, (self._alarm if self._alarm_active else [])
        try:
            super().status_commit()
        finally:
            self._alarm = pending

    # --- the I/O thread ---------------------------------------------------------------------

    def _io(self, fn: Callable[..., Any], *args: Any) -> defer.Deferred[Any]:
        if self._run_io is not None:
            return self._run_io(fn, *args)
        from twisted.internet import reactor, threads
        from twisted.python.threadpool import ThreadPool

        if self._pool is None:
            self._pool = ThreadPool(minthreads=1, maxthreads=1, name=f"usbhid-{self.upsname}")
            self._pool.start()
            reactor.addSystemEventTrigger("during", "shutdown", self._stop_pool)
        return threads.deferToThreadPool(reactor, self._pool, fn, *args)  # type: ignore[arg-type]

    def _stop_pool(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.stop()

    # --- applying what the session decided --------------------------------------------------

    def apply(self, ops: list[Op]) -> None:
        for op in ops:
            kind = op[0]
            if kind == "setinfo":
                self.setinfo(op[1], op[2])
            elif kind == "delinfo":
                self.delinfo(op[1])
            elif kind == "setflags":
                self.setflags(op[1], op[2])
            elif kind == "setaux":
                self.setaux(op[1], op[2])
            elif kind == "addenum":
                self.addenum(op[1], op[2])
            elif kind == "addcmd":
                self.addcmd(op[1])
            elif kind == "status_init":
                self.status_init()
            elif kind == "status_set":
                self.status_set(op[1])
            elif kind == "status_commit":
                self.status_commit()
            elif kind == "alarm_init":
                self.alarm_init()
            elif kind == "alarm_set":
                self.alarm_set(op[1])
            elif kind == "alarm_commit":
                self.alarm_commit()
            elif kind == "dataok":
                self.dataok()
            elif kind == "datastale":
                self.datastale()
            elif kind == "log":
                level, text = op[1], op[2]
                emit = {"warn": self.log.warn, "info": self.log.info}.get(level, self.log.debug)
                emit("{ups}: {text}", ups=self.upsname, text=text)

    # --- the driver hooks -------------------------------------------------------------------

    async def _init(self) -> None:
        if self._pending is not None:
            ops, self._pending = self._pending, None
        else:
            try:
                ops = await self._io(self.session.initups)
            except (LookupError, ValueError) as e:
                raise DeviceError(str(e)) from None
        self.setinfo("driver.version.usb", self.backend.version())
        self.apply(ops)
        self.apply(await self._io(self.session.initinfo))
        for line in self.session.explore_lines:
            self.log.info("{line}", line=line)
        self._ready = True

    async def _first_init(self) -> None:
        try:
            await self._init()
        except DeviceError as e:
            # no traceback: say why, stay stale, and look again at every poll
            self.log.error("{ups}: {e}", ups=self.upsname, e=e)
            self.datastale()

    def initinfo(self) -> defer.Deferred[None]:
        return defer.Deferred.fromCoroutine(self._first_init())

    async def _hid_poll(self) -> None:
        if not self._ready:
            await self._init()
        self.apply(await self._io(self.session.update))

    def updateinfo(self) -> defer.Deferred[None]:
        return defer.Deferred.fromCoroutine(self._hid_poll())

    def next_delay(self) -> float:
        # the session throttles reconnection itself, every pollinterval as NUT does
        return self.pollinterval

    async def _command(self, fn: Callable[..., Any], *args: Any) -> int:
        if not self._ready:
            return 1
        status, ops = await self._io(fn, *args)
        self.apply(ops)
        return int(status)

    def instcmd(self, cmd: str, param: str | None) -> defer.Deferred[int]:
        return defer.Deferred.fromCoroutine(self._command(self.session.instcmd, cmd, param))

    def setvar(self, var: str, value: str) -> defer.Deferred[int]:
        return defer.Deferred.fromCoroutine(self._command(self.session.setvar, var, value))

    async def _shutdown(self) -> None:
        ok, ops = await self._io(self.session.shutdown)
        self.apply(ops)
        if not ok:
            raise DeviceError("Shutdown failed!")

    def shutdown(self) -> defer.Deferred[None]:
        return defer.Deferred.fromCoroutine(self._shutdown())

    def stop(self) -> None:
        super().stop()
        if self._pool is not None:
            self._io(self.session.close).addBoth(lambda _: self._stop_pool())
