"""blazer_ser: NUT 2.8.0's older Megatec/Q1 serial driver, which it still ships.

Unlike nutdrv_qx it reads the status answer as space-separated words (not
fixed columns), polls the status at every update, publishes ``ups.mfr`` and
``ups.model`` (not ``device.*``), tries the protocols megatec, mustek,
megatec/old and zinto (Q1, QS, D, Q1 with FW?) three times each, and takes
``ondelay`` in minutes.  ``ups.delay.*`` are read-only here and it has no SET
handler.  Serial settings and timeouts are those of nutdrv_qx.
"""

# printf formats on purpose: the values must be formatted as NUT's C code does
# ruff: noqa: UP031

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from twisted.internet import defer

from nutwist.drivers.core import (
    TRACKING_FAILED,
    TRACKING_SUCCESS,
    TRACKING_UNKNOWN,
    DeviceError,
)
from nutwist.drivers.q1serial import Q1SerialDriver
from nutwist.drivers.qx.cstr import cstr, eq, strspn, strtod, strtol
from nutwist.drivers.serialport import PortError, canonical_line

MAXTRIES = 3
SER_WAIT_SEC = 1.0

#: name, status, rating and vendor queries, in the order tried
PROTOCOLS = (
    ("megatec", "Q1\r", "F\r", "I\r"),
    ("mustek", "QS\r", "F\r", "I\r"),
    ("megatec/old", "D\r", "F\r", "I\r"),
    ("zinto", "Q1\r", "F\r", "FW?\r"),
)

INSTCMDS = {
    "beeper.toggle": "Q\r",
    "load.off": "S00R0000\r",
    "load.on": "C\r",
    "shutdown.stop": "C\r",
    "test.battery.start.deep": "TL\r",
    "test.battery.start.quick": "T\r",
    "test.battery.stop": "CT\r",
}
CMD_LIST = (
    "beeper.toggle", "load.off", "load.on", "shutdown.return", "shutdown.stayoff",
    "shutdown.stop", "test.battery.start", "test.battery.start.deep",
    "test.battery.start.quick", "test.battery.stop",
)  # fmt: skip


class _Strtok:
    """strtok_r over a C string."""

    def __init__(self, s: str) -> None:
        self.s = cstr(s)
        self.pos = 0

    def next(self, delims: str) -> str | None:
        s, i = self.s, self.pos
        while i < len(s) and s[i] in delims:
            i += 1
        if i >= len(s):
            self.pos = i
            return None
        j = i
        while j < len(s) and s[j] not in delims:
            j += 1
        self.pos = j + 1 if j < len(s) else j
        return s[i:j]


class BlazerSer(Q1SerialDriver):
    name = "blazer_ser"
    version = "1.58"
    description = "Megatec/Q1 protocol serial driver"
    default_pollinterval = 2
    options = {
        "cablepower": "Set cable power for serial interface",
        "ondelay": "Delay before UPS startup (minutes)",
        "offdelay": "Delay before UPS shutdown (seconds)",
        "runtimecal": "Parameters used for runtime calculation",
        "chargetime": "Nominal charge time for UPS battery",
        "idleload": "Minimum load to be used for runtime calculation",
        "norating": "Skip reading rating information from UPS",
        "novendor": "Skip reading vendor information from UPS",
        "protocol": "Preselect communication protocol (skip autodetection)",
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._check_port()
        self._read_cablepower()
        self.ondelay = 3
        self.offdelay = 30
        self.proto = 0
        self.online = True
        self.packs = 1.0
        self.runt_nom = -1.0
        self.runt_est = 0.0
        self.runt_exp = 0.0
        self.volt_act = -1.0
        self.volt_high = -1.0
        self.volt_nom = -1.0
        self.volt_low = -1.0
        self.chrg_act = -1.0
        self.chrg_time = 43200
        self.load_act = 0.0
        self.load_low = 0.1
        self.load_eff = 1.0
        self.lastpoll = 0
        self.retry = 0
        self._initups_options()

    # --- I/O ----------------------------------------------------------------------------------

    async def command(self, cmd: str) -> tuple[int, str]:
        try:
            line = self.open_port()
            raw = await line.command(cmd.encode("latin-1"), canonical_line(), SER_WAIT_SEC)
        except PortError as e:
            self.log.debug("{ups}: {e}", ups=self.upsname, e=e)
            return -1, ""
        return len(raw), raw.decode("latin-1")

    # --- conversions ----------------------------------------------------------------------------

    def _battery(self, val: str) -> float:
        self.volt_act = self.packs * strtod(val)
        if (not self.getval("runtimecal") or self.getinfo("battery.charge") is None) and (
            self.volt_low > 0 and self.volt_high > self.volt_low
        ):
            self.chrg_act = 100 * (self.volt_act - self.volt_low) / (self.volt_high - self.volt_low)
            self.chrg_act = min(100.0, max(0.0, self.chrg_act))
            self.setinfo("battery.charge", "%.0f" % self.chrg_act)
        return self.volt_act

    def _load(self, val: str) -> float:
        self.load_act = strtod(val)
        try:
            self.load_eff = math.pow(self.load_act / 100, self.runt_exp)
        except (ValueError, OverflowError, ZeroDivisionError):
            self.load_eff = self.load_low
        self.load_eff = max(self.load_eff, self.load_low)
        return self.load_act

    def _packs(self, val: str) -> float:
        nominal = self.getinfo("battery.voltage.nominal")
        self.volt_nom = strtod(nominal if nominal is not None else val)
        for packs in (120, 100, 80, 60, 48, 36, 30, 24, 18, 12, 8, 6, 4, 3, 2, 1, 0.5):
            if packs * self.volt_act > 1.2 * self.volt_nom:
                continue
            if packs * self.volt_act < 0.8 * self.volt_nom:
                self.log.info("Can't autodetect number of battery packs")
                break
            self.packs = packs
            break
        return self.volt_nom

    # --- the queries ----------------------------------------------------------------------------

    async def status(self, cmd: str) -> int:
        n, buf = await self.command(cmd)
        if n < 46 or not buf.startswith("("):
            return -1
        conv: list[tuple[str, str, Callable[[str], float]]] = [
            ("input.voltage", "%.1f", strtod),
            ("input.voltage.fault", "%.1f", strtod),
            ("output.voltage", "%.1f", strtod),
            ("ups.load", "%.0f", self._load),
            ("input.frequency", "%.1f", strtod),
            ("battery.voltage", "%.2f", self._battery),
            ("ups.temperature", "%.1f", strtod),
        ]
        tok = _Strtok(buf[1:])
        val = tok.next(" ")
        for var, fmt, fn in conv:
            if val is None:
                return -1
            if strspn(val, "0123456789.") == len(val):
                self.setinfo(var, fmt % fn(val))
            val = tok.next(" \r\n")
        if val is None or strspn(val, "01") != 8:
            return -1
        self.setinfo("ups.beeper.status", "enabled" if val[7] == "1" else "disabled")
        self.setinfo("ups.type", "offline / line interactive" if val[4] == "1" else "online")
        self.status_init()
        if val[0] == "1":
            self.status_set("OB")
            self.online = False
        else:
            self.status_set("OL")
            self.online = True
        if val[1] == "1":
            self.status_set("LB")
        if val[2] == "1":
            vi = strtod(self.getinfo("input.voltage") or "")
            vo = strtod(self.getinfo("output.voltage") or "")
            if vo < 0.5 * vi:
                pass
            elif vo < 0.95 * vi:
                self.status_set("TRIM")
            elif vo < 1.05 * vi:
                self.status_set("BYPASS")
            elif vo < 1.5 * vi:
                self.status_set("BOOST")
        if val[5] == "1":
            self.status_set("CAL")
        self.alarm_init()
        if val[3] == "1":
            self.alarm_set("UPS selftest failed!")
        if val[6] == "1":
            self.alarm_set("Shutdown imminent!")
            self.status_set("FSD")
        self.alarm_commit()
        self.status_commit()
        return 0

    async def rating(self, cmd: str) -> int:
        n, buf = await self.command(cmd)
        if n < 22 or not buf.startswith("#"):
            return -1
        conv: list[tuple[str, str, Callable[[str], float]]] = [
            ("input.voltage.nominal", "%.0f", strtod),
            ("input.current.nominal", "%.1f", strtod),
            ("battery.voltage.nominal", "%.1f", self._packs),
            ("input.frequency.nominal", "%.0f", strtod),
        ]
        tok = _Strtok(buf[1:])
        val = tok.next(" ")
        for var, fmt, fn in conv:
            if val is None:
                return -1
            if strspn(val, "0123456789.") == len(val):
                self.setinfo(var, fmt % fn(val))
            val = tok.next(" \r\n")
        return 0

    async def vendor(self, cmd: str) -> int:
        n, buf = await self.command(cmd)
        if n < 39 or not buf.startswith("#"):
            return -1
        buf = cstr(buf)
        index = 1
        for var, length in (("ups.mfr", 15), ("ups.model", 10), ("ups.firmware", 10)):
            self.setinfo(var, buf[index : index + length].rstrip(" "))
            index += length + 1
        return 0

    # --- start-up -----------------------------------------------------------------------------

    def _initups_options(self) -> None:
        val = self.getval("ondelay")
        if val:
            self.ondelay = strtol(val)
        if self.ondelay < 0 or self.ondelay > 9999:
            raise DeviceError(f"Start delay '{self.ondelay}' out of range [0..9999]")
        val = self.getval("offdelay")
        if val:
            self.offdelay = strtol(val)
        if self.offdelay < 12 or self.offdelay > 600:
            raise DeviceError(f"Shutdown delay '{self.offdelay}' out of range [12..600]")
        self.offdelay -= self.offdelay % 6 if self.offdelay < 60 else self.offdelay % 60

    async def open_device(self) -> None:
        try:
            line = self.open_port()
        except PortError as e:
            raise DeviceError(str(e)) from None
        line.set_dtr(self.cablepower[0])
        line.set_rts(self.cablepower[1])
        d: defer.Deferred[None] = defer.Deferred()
        self.clock.callLater(0.1, d.callback, None)
        await d
        # battery.voltage.high/low from ups.conf (default.*) count as given
        for var in ("battery.voltage.high", "battery.voltage.low"):
            val = self.getinfo(var) or self.defaults.get(var) or self.overrides.get(var)
            if val is not None:
                if var.endswith("high"):
                    self.volt_high = strtod(val)
                else:
                    self.volt_low = strtod(val)

    async def _initinfo(self) -> None:
        async with self._io:
            await self.open_device()
            protocol = self.getval("protocol")
            found = False
            for i, (name, status, _, _) in enumerate(PROTOCOLS):
                if protocol and not eq(protocol, name):
                    continue
                ret = -1
                for _ in range(MAXTRIES):
                    ret = await self.status(status)
                    if ret >= 0:
                        break
                if ret == 0:
                    self.proto = i
                    self.log.info("Supported UPS detected with {p} protocol", p=name)
                    found = True
                    break
            if not found:
                raise DeviceError("No supported UPS detected")
            _, _, rating, vendor = PROTOCOLS[self.proto]
            if not self.testvar("norating"):
                for _ in range(MAXTRIES):
                    if await self.rating(rating) >= 0:
                        break
            if not self.testvar("novendor"):
                for _ in range(MAXTRIES):
                    if await self.vendor(vendor) >= 0:
                        break
            self.initbattery()
            self.setinfo("ups.delay.start", str(60 * self.ondelay))
            self.setinfo("ups.delay.shutdown", str(self.offdelay))
            for cmd in CMD_LIST:
                self.addcmd(cmd)
            self.initialised = True

    def initbattery(self) -> None:
        if self.volt_nom != 1 and (self.volt_high == -1 or self.volt_low == -1):
            self.log.info("No values provided for battery high/low voltages in ups.conf")
            self.volt_low = 104 * self.volt_nom / 120
            self.volt_high = 130 * self.volt_nom / 120
            self.setinfo("battery.voltage.low", "%.2f" % self.volt_low)
            self.setinfo("battery.voltage.high", "%.2f" % self.volt_high)
        val = self.getval("runtimecal")
        if not val:
            self.log.info("Battery runtime will not be calculated (runtimecal not set)")
            return
        self.lastpoll = self.now()
        try:
            rh, lh, rl, ll = (float(x) for x in val.split(",")[:4])
        except ValueError:
            raise DeviceError("Insufficient parameters for runtimecal") from None
        if rl < rh or rh <= 0:
            raise DeviceError("Parameter out of range (runtime)")
        if lh > 100 or ll > lh or ll <= 0:
            raise DeviceError("Parameter out of range (load)")
        self.runt_exp = math.log(rl / rh) / math.log(lh / ll)
        self.runt_nom = rh * math.pow(lh / 100, self.runt_exp)
        if self.chrg_act < 0:
            self.volt_low = self.volt_nom
            self.volt_high = 1.15 * self.volt_nom
            self._battery(self.getinfo("battery.voltage") or "")
        charge = self.getinfo("battery.charge")
        if charge is None:
            raise DeviceError("Initial battery charge undetermined")
        self.runt_est = self.runt_nom * strtod(charge) / 100
        ct = self.getval("chargetime")
        if ct:
            self.chrg_time = strtol(ct)
            if self.chrg_time <= 0:
                raise DeviceError("Charge time out of range [1..s]")
        il = self.getval("idleload")
        if il:
            self.load_low = strtod(il) / 100
            if self.load_low <= 0 or self.load_low > 1:
                raise DeviceError("Idle load out of range [0..100]")

    # --- polling ------------------------------------------------------------------------------

    def updateinfo(self) -> defer.Deferred[None]:
        return defer.Deferred.fromCoroutine(self._updateinfo())

    async def _updateinfo(self) -> None:
        if not self.initialised:
            await self._initinfo_guarded()
        async with self._io:
            if await self.status(PROTOCOLS[self.proto][1]):
                if self.retry < MAXTRIES:
                    self.retry += 1
                elif self.retry == MAXTRIES:
                    self.log.warn("Communications with UPS lost: status read failed!")
                    self.retry += 1
                else:
                    self.datastale()
                return
            if self.getval("runtimecal"):
                now = self.now()
                if self.online:
                    self.runt_est += self.runt_nom * (now - self.lastpoll) / self.chrg_time
                    self.runt_est = min(self.runt_est, self.runt_nom)
                else:
                    self.runt_est -= self.load_eff * (now - self.lastpoll)
                    self.runt_est = max(self.runt_est, 0.0)
                self.setinfo("battery.charge", "%.0f" % (100 * self.runt_est / self.runt_nom))
                self.setinfo("battery.runtime", "%.0f" % (self.runt_est / self.load_eff))
                self.lastpoll = now
            if self.retry > MAXTRIES:
                self.log.info("Communications with UPS re-established")
            self.retry = 0
            self.dataok()

    # --- commands -----------------------------------------------------------------------------

    def handle_instcmd(self, cmd: str, param: str | None, tracking: str | None) -> None:
        # NUT's driver core hands every command to the driver, listed or not
        self._reply_tracking(tracking, defer.maybeDeferred(self.instcmd, cmd, param))

    def handle_setvar(self, var: str, value: str, tracking: str | None) -> None:
        # blazer_ser has no SET handler: NUT's core logs it and answers nothing
        self.log.info("Got SET, but driver lacks a handler")

    def instcmd(self, cmd: str, param: str | None) -> defer.Deferred[int]:
        async def go() -> int:
            async with self._io:
                return await self.blazer_instcmd(cmd, param)

        return defer.Deferred.fromCoroutine(go())

    async def _send_checked(self, cmd: str) -> bool:
        n, answer = await self.command(cmd)
        return not (n > 0 and not (answer.startswith("ACK") or answer.startswith("(ACK")))

    async def blazer_instcmd(self, cmdname: str, extra: str | None) -> int:
        self.log.info("instcmd({c}, {x})", c=cmdname, x=extra if extra else "[NULL]")
        for name, ups in INSTCMDS.items():
            if eq(cmdname, name):
                return TRACKING_SUCCESS if await self._send_checked(ups) else TRACKING_FAILED
        off, on = self.offdelay, self.ondelay
        if eq(cmdname, "shutdown.return"):
            if on == 0:
                buf = "S.%d\r" % (off // 6) if off < 60 else "S%02d\r" % (off // 60)
            elif off < 60:
                buf = "S.%dR%04d\r" % (off // 6, on)
            else:
                buf = "S%02dR%04d\r" % (off // 60, on)
        elif eq(cmdname, "shutdown.stayoff"):
            buf = "S.%dR0000\r" % (off // 6) if off < 60 else "S%02dR0000\r" % (off // 60)
        elif eq(cmdname, "test.battery.start"):
            delay = strtol(extra) if extra is not None else 10
            if delay < 1 or delay > 99:
                self.log.error("instcmd: command [{c}] failed, delay out of range", c=cmdname)
                return TRACKING_FAILED
            buf = "T%02d\r" % delay
        else:
            self.log.error("instcmd: command [{c}] not found", c=cmdname)
            return TRACKING_UNKNOWN
        return TRACKING_SUCCESS if await self._send_checked(buf) else TRACKING_FAILED

    # --- shutdown -----------------------------------------------------------------------------

    def shutdown_prepare(self) -> defer.Deferred[None]:
        """NUT's -k opens the port (upsdrv_initups) and goes straight to the shutdown."""
        return defer.Deferred.fromCoroutine(self.open_device())

    def shutdown(self) -> defer.Deferred[None]:
        async def go() -> None:
            async with self._io:
                for _ in range(MAXTRIES):
                    if await self.blazer_instcmd("shutdown.stop", None) == TRACKING_SUCCESS:
                        break
                else:
                    self.log.info("No shutdown pending")
                for _ in range(MAXTRIES):
                    if await self.blazer_instcmd("shutdown.return", None) == TRACKING_SUCCESS:
                        self.log.info("Shutting down in {s} seconds", s=self.offdelay)
                        return
                raise DeviceError("Shutdown failed!")

        return defer.Deferred.fromCoroutine(go())

    def stop(self) -> None:
        super().stop()
        if self.line is not None:
            self.line.set_dtr(False)
            self.line.close()
