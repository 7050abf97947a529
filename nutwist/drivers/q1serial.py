"""What NUT's two Megatec/Q1 serial drivers share: blazer_ser and nutdrv_qx.

Both open the port at 2400 8N1 with DTR/RTS from ``cablepower``, lock it unless
``nolock``, keep NUT's whole-second clock, serialise device I/O behind one lock,
and close the port when start-up fails.
"""

from __future__ import annotations

from typing import Any

from twisted.internet import defer

from nutwist.drivers.core import DeviceError, Driver
from nutwist.drivers.serialport import SerialLine


class Q1SerialDriver(Driver):
    """A driver on one Megatec/Q1 serial port; subclasses fill in ``_initinfo``."""

    #: cablepower -> (DTR, RTS)
    CABLEPOWER = {"normal": (True, False), "reverse": (False, True), "both": (True, True), "none": (False, False)}  # fmt: skip

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.line: SerialLine | None = None
        self.initialised = False
        self._io = defer.DeferredLock()

    def _check_port(self) -> None:
        if not self.getval("port"):
            raise DeviceError("Error: you must specify a port name in ups.conf")

    def _read_cablepower(self) -> None:
        cp = (self.getval("cablepower") or "normal").lower()
        if cp not in self.CABLEPOWER:
            raise DeviceError(f"Value '{self.getval('cablepower')}' not valid for 'cablepower'")
        self.cablepower = self.CABLEPOWER[cp]

    def now(self) -> int:
        """NUT's time(): whole seconds."""
        return int(self.clock.seconds())

    def open_port(self) -> SerialLine:
        if self.line is None:
            dtr, rts = self.cablepower
            self.line = SerialLine(
                self.params["port"],
                clock=self.clock,
                baudrate=2400,
                dtr=dtr,
                rts=rts,
                lock=not self.testvar("nolock"),
            )
        self.line.ensure_open()
        return self.line

    async def _initinfo(self) -> None:
        raise NotImplementedError

    def initinfo(self) -> defer.Deferred[None]:
        return defer.Deferred.fromCoroutine(self._initinfo_guarded())

    async def _initinfo_guarded(self) -> None:
        try:
            await self._initinfo()
        except DeviceError:
            if self.line is not None:
                self.line.close()
            raise
