"""nutdrv_qx: the Q* (Megatec family) UPS driver, ported from NUT 2.8.0.

Each subdriver is a table of items (as NUT's ``item_t``): which query gives a
variable, where in the answer its value sits, how it is checked and formatted,
and which items are instant commands or settable variables.  The walk over the
table is NUT's: an init walk that finds what the device answers (items that
fail there are skipped from then on), a quick update every poll (only the
items flagged QUICK_POLL: the status) and a full update every ``pollfreq``
seconds (default 30) or after a command.  Items that share a query reuse the
previous answer instead of asking again.  Serial I/O: 2400 8N1, a flush before
each command, one line (up to CR or LF) back within one second.

A device that stops answering keeps its last values until three more updates
have failed, then the data goes stale; the first good update brings it back.
"""

# printf formats on purpose: the values must be formatted as NUT's C code does
# ruff: noqa: UP031

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any

from twisted.internet import defer

from nutwist.drivers.core import (
    TRACKING_FAILED,
    TRACKING_INVALID,
    TRACKING_SUCCESS,
    TRACKING_UNKNOWN,
    DeviceError,
)
from nutwist.drivers.q1serial import Q1SerialDriver
from nutwist.drivers.qx.cstr import cformat, cstr, eq, strcspn, strspn, strtod, strtol, trim
from nutwist.drivers.serialport import PortError, canonical_line

# NUT's ST_FLAG_* for info_flags
ST_FLAG_RW = 1
ST_FLAG_STRING = 2

# nutdrv_qx's own item flags (qxflags)
QX_FLAG_STATIC = 2
QX_FLAG_SEMI_STATIC = 4
QX_FLAG_ABSENT = 8
QX_FLAG_QUICK_POLL = 16
QX_FLAG_CMD = 32
QX_FLAG_SETVAR = 64
QX_FLAG_TRIM = 128
QX_FLAG_ENUM = 256
QX_FLAG_RANGE = 512
QX_FLAG_NONUT = 1024
QX_FLAG_SKIP = 2048

MAXTRIES = 3
SMALLBUF = 512
DEFAULT_ONDELAY = "180"
DEFAULT_OFFDELAY = "30"
DEFAULT_POLLFREQ = 30
SER_WAIT_SEC = 1.0

# results of instcmd/setvar, as NUT's STAT_* (mapped to TRACKING_* for the socket)
STAT_HANDLED = "handled"
STAT_UNKNOWN = "unknown"
STAT_INVALID = "invalid"
STAT_FAILED = "failed"
_TRACKING = {
    STAT_HANDLED: TRACKING_SUCCESS,
    STAT_UNKNOWN: TRACKING_UNKNOWN,
    STAT_INVALID: TRACKING_INVALID,
    STAT_FAILED: TRACKING_FAILED,
}

# status bits (qx_status)
OL, LB, RB, CHRG, DISCHRG, BYPASS, CAL, OFF, OVER, TRIM, BOOST, FSD = range(12)
STATUS_NAMES = {
    "OL": OL, "LB": LB, "RB": RB, "CHRG": CHRG, "DISCHRG": DISCHRG, "BYPASS": BYPASS,
    "CAL": CAL, "OFF": OFF, "OVER": OVER, "TRIM": TRIM, "BOOST": BOOST, "FSD": FSD,
}  # fmt: skip


_STATUS_LOWER = {k.lower(): v for k, v in STATUS_NAMES.items()}


def STATUS(bit: int) -> int:
    return 1 << bit


# --- the item table ------------------------------------------------------------------

QxValueFn = Callable[["QxDriver", "Item", str], "str | None"]
QxCommandFn = Callable[["QxDriver", "Item", str], "str | None"]
QxAnswerFn = Callable[["QxDriver", "Item", int], int]
RwFn = Callable[["QxDriver", str], "str | None"]


@dataclass
class RW:
    """One info_rw entry: an enum value, a range bound, or a string length.

    ``preprocess`` returns the (possibly rewritten) value, or None when the
    device does not support it.
    """

    value: str
    preprocess: RwFn | None = None


@dataclass
class Item:
    info_type: str
    info_flags: int
    info_rw: list[RW] | None
    command: str | None
    answer_len: int
    leading: str
    from_: int
    to: int
    dfl: str | None
    qxflags: int
    preprocess_command: QxCommandFn | None = None
    preprocess_answer: QxAnswerFn | None = None
    preprocess: QxValueFn | None = None
    answer: str = ""
    value: str = ""


def I(  # noqa: E743 - one short name keeps the tables as readable as NUT's
    info_type: str,
    info_flags: int,
    info_rw: list[RW] | None,
    command: str | None,
    answer_len: int,
    leading: str,
    from_: int,
    to: int,
    dfl: str | None,
    qxflags: int,
    preprocess_command: QxCommandFn | None = None,
    preprocess_answer: QxAnswerFn | None = None,
    preprocess: QxValueFn | None = None,
) -> Item:
    return Item(
        info_type, info_flags, info_rw, command, answer_len, leading, from_, to, dfl, qxflags,
        preprocess_command, preprocess_answer, preprocess,
    )  # fmt: skip


@dataclass
class Subdriver:
    name: str
    claim: Callable[[QxDriver], Awaitable[bool]]
    table: list[Item]
    initups: Callable[[QxDriver], None] | None = None
    initinfo: Callable[[QxDriver], None] | None = None
    #: ups.conf options this subdriver adds: name -> help text
    options: dict[str, str] = field(default_factory=dict)
    accepted: str | None = None
    rejected: str | None = None
    #: False: nutwist knows only how NUT's claim probes this protocol
    implemented: bool = True

    @property
    def protocol(self) -> str:
        return self.name.split(" ", 1)[0]

    def fresh(self) -> Subdriver:
        """A copy with its own items (the walk sets SKIP flags and answers on them)."""
        return replace(self, table=[replace(i) for i in self.table])


# --- the driver --------------------------------------------------------------------


@dataclass
class _Battery:
    packs: float = 1.0
    runt_act: float = -1.0
    runt_nom: float = -1.0
    runt_est: float = 0.0
    runt_exp: float = 0.0
    volt_act: float = -1.0
    volt_high: float = -1.0
    volt_nom: float = -1.0
    volt_low: float = -1.0
    chrg_act: float = -1.0
    chrg_time: int = 43200


class QxDriver(Q1SerialDriver):
    name = "nutdrv_qx"
    version = "0.32"
    description = "Generic Q* Serial driver"
    default_pollinterval = 2
    options = {
        "offdelay": "Set shutdown delay, in seconds (default=30)",
        "ondelay": "Set startup delay, in seconds (default=180)",
        "stayoff": "If invoked the UPS won't return after a shutdown when FSD arises",
        "pollfreq": "Set polling frequency, in seconds, to reduce data flow (default=30)",
        "protocol": "Preselect communication protocol (skip autodetection)",
        "runtimecal": "Parameters used for runtime calculation",
        "chargetime": "Nominal charge time for UPS battery",
        "idleload": "Minimum load to be used for runtime calculation",
        "cablepower": "Set cable power for serial interface",
        "norating": "Skip reading rating information from UPS",
        "novendor": "Skip reading vendor information from UPS",
        "ignoresab": "Ignore 'Shutdown Active' bit in UPS status",
    }
    #: the subdrivers in NUT's autodetection order (set in nutwist.drivers.qx)
    subdrivers: list[Subdriver] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.subdriver: Subdriver | None = None
        self.pollfreq = DEFAULT_POLLFREQ
        self.ups_status = 0
        self.data_has_changed = False
        self.lastpoll = 0
        self.retry = 0
        self.batt = _Battery()
        self.load_act = 0.0
        self.load_low = 0.1
        self.load_eff = 1.0
        self.battery_lastpoll = 0
        self.prev_command = ""
        self.prev_answer = ""
        self._read_cablepower()
        self._check_port()
        from nutwist.drivers import qx_is_serial

        if not qx_is_serial(self.params):
            raise DeviceError(
                "nutwist's nutdrv_qx drives serial ports only: use NUT's own nutdrv_qx "
                "for a USB device (port = auto, subdriver, vendorid, ...)"
            )

    # --- I/O --------------------------------------------------------------------------------

    async def qx_command(self, cmd: str) -> tuple[int, str]:
        """Send ``cmd`` and read one line: (length, answer); length < 0 on I/O errors."""
        try:
            line = self.open_port()
        except PortError as e:
            self.log.debug("{ups}: {e}", ups=self.upsname, e=e)
            return -1, ""
        try:
            raw = await line.command(
                cmd.encode("latin-1", "replace"), canonical_line(), SER_WAIT_SEC
            )
        except PortError as e:
            self.log.debug("{ups}: {e}", ups=self.upsname, e=e)
            return -1, ""
        return len(raw), raw.decode("latin-1")

    # --- NUT's exported helpers -------------------------------------------------------------

    @property
    def table(self) -> list[Item]:
        assert self.subdriver is not None
        return self.subdriver.table

    def find_nut_info(self, varname: str, flag: int = 0, noflag: int = 0) -> Item | None:
        for item in self.table:
            if not eq(item.info_type, varname):
                continue
            if flag and (item.qxflags & flag) != flag:
                continue
            if noflag and (item.qxflags & noflag):
                continue
            return item
        return None

    def qx_process_answer(self, item: Item, length: int) -> int:
        assert self.subdriver is not None
        answer = cstr(item.answer)
        if self.subdriver.rejected and eq(answer, self.subdriver.rejected):
            return -1
        if item.answer_len and length < item.answer_len:
            return -1
        if item.leading and (answer[:1] or "\0") != item.leading:
            return -1
        if item.to and item.to < item.from_:
            return -1
        if answer:
            rest = answer[item.from_ :]
            n = 1 + item.to - item.from_ if item.to else strcspn(answer, "\r") - item.from_
            item.value = rest if n < 0 else rest[:n]
            item.value = item.value[: SMALLBUF - 1]
        else:
            item.value = ""
        return 0

    async def qx_process(self, item: Item, command: str | None = None) -> int:
        """Send the item's command (or ``command``), keep the answer; 0 if it fits."""
        cmd = command if command is not None else (item.command or "")
        if item.preprocess_command is not None:
            out = item.preprocess_command(self, item, cmd)
            if out is None:
                return -1
            cmd = out
        length, answer = await self.qx_command(cmd)
        item.answer = ""
        if length < 0:
            return -1
        item.answer = answer[: SMALLBUF - 1]
        if item.preprocess_answer is not None:
            length = item.preprocess_answer(self, item, length)
            if length < 0:
                item.answer = ""
                return -1
        return self.qx_process_answer(item, length)

    def update_status(self, value: str) -> None:
        clear = value.startswith("!")
        if clear:
            value = value[1:]
        bit = _STATUS_LOWER.get(cstr(value).lower())
        if bit is not None:
            if clear:
                self.ups_status &= ~STATUS(bit)
            else:
                self.ups_status |= STATUS(bit)

    def qx_status(self) -> int:
        return self.ups_status

    def ups_infoval_set(self, item: Item) -> int:
        """Store the item's value in its variable: -1 error, 0 status/alarm, 1 otherwise."""
        if item.preprocess is not None:
            value = item.preprocess(self, item, "")
            if value is None:
                return -1
            value = cstr(value)[: SMALLBUF - 1]
            if item.info_type.startswith("ups.status"):
                if value:
                    self.update_status(value)
                return 0
            if item.info_type.startswith("ups.alarm"):
                if value:
                    self.alarm_set(value)
                return 0
        else:
            value = cstr(item.value)
            if item.qxflags & QX_FLAG_TRIM:
                value = trim(value, "# ")
            if not eq(item.dfl, "%s"):
                if strspn(value, "0123456789 .") != len(value):
                    return -1
                value = cformat(item.dfl or "", strtod(value))
        if item.qxflags & QX_FLAG_NONUT:
            self.log.info("{t}: {v}", t=item.info_type, v=value)
            return 1
        if not value:
            return -1
        self.setinfo(item.info_type, value)
        if eq(item.info_type, "battery.charge"):
            self.batt.chrg_act = strtol(value)
        elif eq(item.info_type, "battery.runtime"):
            self.batt.runt_act = strtol(value)
        return 1

    # NUT's alarms: alarm_set fills a buffer that only alarm_commit (at a full
    # update) publishes; ups.status says ALARM from that commit on
    def alarm_init(self) -> None:
        self._alarm_buf: list[str] = []
        self._alarm = []

    def alarm_set(self, text: str) -> None:
        # every alarm, repeated ones too
        if not hasattr(self, "_alarm_buf"):
            self._alarm_buf = []
        self._alarm_buf.append(text)

    def dstate_setinfo(self, var: str, value: str) -> None:
        self.setinfo(var, value)

    # --- the walk -----------------------------------------------------------------------

    def qx_set_var(self, item: Item) -> None:
        if not (item.qxflags & QX_FLAG_NONUT):
            words = []
            if item.info_flags & ST_FLAG_RW:
                words.append("RW")
            if item.info_flags & ST_FLAG_STRING:
                words.append("STRING")
            self.setflags(item.info_type, words)
        if item.info_flags & ST_FLAG_STRING and not (item.qxflags & QX_FLAG_NONUT):
            self.setaux(item.info_type, strtol(item.info_rw[0].value if item.info_rw else "0"))
        if item.qxflags & QX_FLAG_ENUM:
            for rw in item.info_rw or []:
                value = rw.value
                if rw.preprocess is not None:
                    out = rw.preprocess(self, value)
                    if out is None:
                        continue
                    value = out
                if not (item.qxflags & QX_FLAG_NONUT):
                    self.addenum(item.info_type, value)
        if item.qxflags & QX_FLAG_RANGE:
            lo: str | None = None
            for rw in item.info_rw or []:
                value = rw.value
                if rw.preprocess is not None:
                    out = rw.preprocess(self, value)
                    if out is None:
                        continue
                    value = out
                if lo is None:
                    lo = value
                    continue
                if not (item.qxflags & QX_FLAG_NONUT):
                    a, b = strtol(lo), strtol(value)
                    if a <= 2**31 - 1 and b <= 2**31 - 1:
                        self.addrange(item.info_type, a, b)
                lo = None

    async def qx_ups_walk(self, mode: str) -> bool:
        """NUT's qx_ups_walk: mode is "init", "quick" or "full"."""
        if mode == "full":
            self.batt.runt_act = -1
            self.batt.chrg_act = -1
        self.prev_command = ""
        self.prev_answer = ""
        for item in self.table:
            if item.qxflags & QX_FLAG_SKIP:
                continue
            if mode == "init":
                if item.qxflags & QX_FLAG_ABSENT:
                    if self.getinfo(item.info_type) is not None:
                        continue
                    self.setinfo(item.info_type, item.dfl or "")
                    self.qx_set_var(item)
                    continue
                if (
                    not (
                        item.info_type.startswith("ups.alarm")
                        or item.info_type.startswith("ups.status")
                    )
                    and self.getinfo(item.info_type) is not None
                ):
                    continue
            elif mode == "quick":
                if not (item.qxflags & QX_FLAG_QUICK_POLL):
                    continue
            else:
                if item.qxflags & (QX_FLAG_ABSENT | QX_FLAG_CMD | QX_FLAG_SETVAR | QX_FLAG_STATIC):
                    continue
                if (item.qxflags & QX_FLAG_SEMI_STATIC) and not self.data_has_changed:
                    continue
            if item.qxflags & QX_FLAG_CMD:
                self.addcmd(item.info_type)
                continue
            if item.qxflags & QX_FLAG_SETVAR:
                if item.qxflags & QX_FLAG_NONUT:
                    await self.qx_setvar(item.info_type, None)
                    item.qxflags |= QX_FLAG_SKIP
                continue
            if self.prev_command and self.prev_answer and eq(self.prev_command, item.command):
                item.answer = self.prev_answer
                retcode = self.qx_process_answer(item, len(cstr(item.answer)))
            else:
                retcode = await self.qx_process(item)
            self.prev_command = (item.command or "")[: SMALLBUF - 1]
            self.prev_answer = cstr(item.answer)
            if retcode:
                item.answer = ""
                item.value = ""
                if item.qxflags & QX_FLAG_QUICK_POLL:
                    return False
                if mode == "init":
                    item.qxflags |= QX_FLAG_SKIP
                continue
            retcode = self.ups_infoval_set(item)
            item.answer = ""
            item.value = ""
            if retcode == -1:
                if item.qxflags & QX_FLAG_QUICK_POLL:
                    return False
                continue
            if retcode and mode == "init":
                self.qx_set_var(item)
        if mode == "full" and (self.batt.runt_act == -1 or self.batt.chrg_act == -1):
            if self.getval("runtimecal"):
                self._runtime_estimate()
            else:
                self.qx_battery()
        return True

    # --- battery guesstimation (NUT's qx_battery/qx_load/qx_initbattery) ----------------------

    def qx_battery(self) -> int:
        val = self.getinfo("battery.voltage")
        if val is None:
            return -1
        b = self.batt
        b.volt_act = b.packs * strtod(val)
        if b.chrg_act == -1 and b.volt_low > 0 and b.volt_high > b.volt_low:
            b.chrg_act = 100 * (b.volt_act - b.volt_low) / (b.volt_high - b.volt_low)
            b.chrg_act = min(100.0, max(0.0, b.chrg_act))
            self.setinfo("battery.charge", "%.0f" % b.chrg_act)
        return 0

    def qx_load(self) -> int:
        val = self.getinfo("ups.load")
        if val is None:
            return -1
        self.load_act = strtod(val)
        try:
            self.load_eff = math.pow(self.load_act / 100, self.batt.runt_exp)
        except (ValueError, OverflowError, ZeroDivisionError):
            self.load_eff = self.load_low
        if self.load_eff < self.load_low:
            self.load_eff = self.load_low
        return 0

    def qx_initbattery(self) -> None:
        b = self.batt
        if (
            self.getinfo("battery.charge") is not None
            and self.getinfo("battery.runtime") is not None
        ):
            return
        val = self.getinfo("battery.voltage.high")
        if val is not None:
            b.volt_high = strtod(val)
        val = self.getinfo("battery.voltage.low")
        if val is not None:
            b.volt_low = strtod(val)
        val = self.getinfo("battery.voltage.nominal")
        if val is not None:
            b.volt_nom = strtod(val)
        if b.volt_nom != -1 and (b.volt_low == -1 or b.volt_high == -1):
            self.log.info("No values for battery high/low voltages")
            b.volt_low = 104 * b.volt_nom / 120
            b.volt_high = 130 * b.volt_nom / 120
            self.setinfo("battery.voltage.low", "%.2f" % b.volt_low)
            self.setinfo("battery.voltage.high", "%.2f" % b.volt_high)
        val = self.getinfo("battery.packs")
        if val is not None and strspn(val, "0123456789 .") == len(val):
            b.packs = strtod(val)
        elif not self.qx_battery() and b.volt_nom != -1:
            for packs in (120, 100, 80, 60, 48, 36, 30, 24, 18, 12, 8, 6, 4, 3, 2, 1, 0.5):
                if packs * b.volt_act > 1.2 * b.volt_nom:
                    continue
                if packs * b.volt_act < 0.8 * b.volt_nom:
                    self.log.info("Can't autodetect number of battery packs")
                    break
                b.packs = packs
                break
        else:
            self.log.info("Can't autodetect number of battery packs")
        self.qx_battery()
        val = self.getval("runtimecal")
        if not val:
            self.log.info("Battery runtime will not be calculated (runtimecal not set)")
            return
        self.battery_lastpoll = self.now()
        try:
            rh, lh, rl, ll = (float(x) for x in val.split(",")[:4])
        except ValueError:
            raise DeviceError("Insufficient parameters for runtimecal") from None
        if rl < rh or rh <= 0:
            raise DeviceError("Parameter out of range (runtime)")
        if lh > 100 or ll > lh or ll <= 0:
            raise DeviceError("Parameter out of range (load)")
        b.runt_exp = math.log(rl / rh) / math.log(lh / ll)
        b.runt_nom = rh * math.pow(lh / 100, b.runt_exp)
        val = self.getinfo("battery.charge")
        if val is None and b.volt_nom != -1:
            b.volt_low = b.volt_nom
            b.volt_high = 1.15 * b.volt_nom
            if self.qx_battery():
                raise DeviceError("Initial battery charge undetermined")
            val = self.getinfo("battery.charge")
        if val is None:
            raise DeviceError("Initial battery charge undetermined")
        b.runt_est = b.runt_nom * strtod(val) / 100
        ct = self.getval("chargetime")
        if ct:
            b.chrg_time = strtol(ct)
            if b.chrg_time <= 0:
                raise DeviceError("Charge time out of range [1..s]")
        il = self.getval("idleload")
        if il:
            self.load_low = strtod(il) / 100
            if self.load_low <= 0 or self.load_low > 1:
                raise DeviceError("Idle load out of range [0..100]")

    def _runtime_estimate(self) -> None:
        b = self.batt
        now = self.now()
        if self.ups_status & STATUS(OL):
            b.runt_est += b.runt_nom * (now - self.battery_lastpoll) / b.chrg_time
            b.runt_est = min(b.runt_est, b.runt_nom)
        else:
            b.runt_est -= self.load_eff * (now - self.battery_lastpoll)
            b.runt_est = max(b.runt_est, 0.0)
        val = self.getinfo("battery.voltage")
        if val is not None:
            b.volt_act = b.packs * strtod(val)
            if b.volt_act > 0 and b.volt_low > 0 and b.volt_high > b.volt_low:
                vbc = (b.volt_act - b.volt_low) / (b.volt_high - b.volt_low)
                vbc = min(1.0, max(0.0, vbc))
                if vbc < b.runt_est / b.runt_nom:
                    b.runt_est = vbc * b.runt_nom
        if b.chrg_act == -1:
            self.setinfo("battery.charge", "%.0f" % (100 * b.runt_est / b.runt_nom))
        if b.runt_act == -1 and not self.qx_load():
            self.setinfo("battery.runtime", "%.0f" % (b.runt_est / self.load_eff))
        self.battery_lastpoll = now

    # --- start-up: upsdrv_initups and upsdrv_initinfo -----------------------------------------

    async def subdriver_matcher(self) -> bool:
        protocol = self.getval("protocol")
        for candidate in self.subdrivers:
            if protocol and not eq(candidate.protocol, protocol):
                continue
            for _ in range(MAXTRIES):
                self.subdriver = candidate.fresh()
                if await self.subdriver.claim(self):
                    break
                self.subdriver = None
            if self.subdriver is not None:
                break
        if self.subdriver is None:
            self.log.error("{ups}: Device not supported!", ups=self.upsname)
            return False
        self.log.info("{ups}: Using protocol: {p}", ups=self.upsname, p=self.subdriver.name)
        return True

    async def open_device(self) -> None:
        """Open the port, set its lines and find the subdriver (NUT's upsdrv_initups)."""
        try:
            line = self.open_port()
        except PortError as e:
            raise DeviceError(str(e)) from None
        dtr, rts = self.cablepower
        line.set_dtr(dtr)
        line.set_rts(rts)
        await _sleep(self.clock, 0.1)
        if not await self.subdriver_matcher():
            raise DeviceError("Device not supported!")
        assert self.subdriver is not None
        if not self.subdriver.implemented:
            proto = self.subdriver.protocol
            self.subdriver = None
            raise DeviceError(f"protocol {proto}: not implemented in nutwist yet")
        if self.subdriver.initups is not None:
            self.subdriver.initups(self)

    async def _initinfo(self) -> None:
        async with self._io:
            await self.open_device()
            assert self.subdriver is not None
            self.setinfo("driver.version.data", self.subdriver.name)
            if not await self.qx_ups_walk("init"):
                raise DeviceError("Can't initialise data from the UPS")
            self.qx_initbattery()
            for var, opt, what in (
                ("ups.delay.start", "ondelay", "Start"),
                ("ups.delay.shutdown", "offdelay", "Shutdown"),
            ):
                if self.getinfo(var) is not None:
                    val = self.getval(opt)
                    if val and await self.qx_setvar(var, val) != STAT_HANDLED:
                        raise DeviceError(f"{what} delay '{val}' out of range")
            for cmd in ("load.off", "load.on"):
                if not self.find_nut_info(cmd, QX_FLAG_CMD, QX_FLAG_SKIP) and self.find_nut_info(
                    f"{cmd}.delay", QX_FLAG_CMD, QX_FLAG_SKIP
                ):
                    self.addcmd(cmd)
            val = self.getval("pollfreq")
            if val:
                self.pollfreq = strtol(val)
            self.setinfo("driver.parameter.pollfreq", str(self.pollfreq))
            self.lastpoll = self.now()
            if self.subdriver.initinfo is not None:
                self.subdriver.initinfo(self)
            self.initialised = True

    # --- polling (upsdrv_updateinfo) -----------------------------------------------------------

    def updateinfo(self) -> defer.Deferred[None]:
        return defer.Deferred.fromCoroutine(self._updateinfo())

    async def _updateinfo(self) -> None:
        if not self.initialised:
            # the device was absent at start-up: look for it again (the core backs off)
            await self._initinfo_guarded()
        async with self._io:
            await self._update_locked()

    async def _update_locked(self) -> None:
        now = self.now()
        self.status_init()
        if now > self.lastpoll + self.pollfreq or self.data_has_changed:
            self.ups_status = 0
            self.alarm_init()
            if not await self.qx_ups_walk("full"):
                self._walk_failed()
                return
            self.lastpoll = now
            self.data_has_changed = False
            if self.ups_status & STATUS(RB):
                self.alarm_set("Replace battery!")
            if self.ups_status & STATUS(FSD):
                self.alarm_set("Shutdown imminent!")
            self.alarm_commit()
        else:
            if not await self.qx_ups_walk("quick"):
                self._walk_failed()
                return
        self.ups_status_set()
        self.status_commit()
        if self.retry > MAXTRIES:
            self.log.info("{ups}: Communications with the UPS re-established", ups=self.upsname)
        self.retry = 0
        self.dataok()

    def _walk_failed(self) -> None:
        if self.retry <= MAXTRIES:
            self.log.debug(
                "{ups}: Communications with the UPS lost: status read failed!", ups=self.upsname
            )
            self.retry += 1
        else:
            self.datastale()

    def alarm_commit(self) -> None:
        buf = getattr(self, "_alarm_buf", [])
        self._alarm = list(buf)
        if buf:
            self.setinfo("ups.alarm", " ".join(buf))
        else:
            self.delinfo("ups.alarm")

    def ups_status_set(self) -> None:
        s = self.ups_status
        self.status_set("OL" if s & STATUS(OL) else "OB")
        for bit, word in (
            (DISCHRG, "DISCHRG"), (CHRG, "CHRG"), (LB, "LB"), (OVER, "OVER"), (RB, "RB"),
            (TRIM, "TRIM"), (BOOST, "BOOST"), (BYPASS, "BYPASS"), (OFF, "OFF"), (CAL, "CAL"),
            (FSD, "FSD"),
        ):  # fmt: skip
            if s & STATUS(bit):
                self.status_set(word)

    # --- instant commands and variables ----------------------------------------------------------

    def handle_instcmd(self, cmd: str, param: str | None, tracking: str | None) -> None:
        # NUT's driver core hands every command to the driver, listed or not
        # (nutdrv_qx answers an unknown one with "invalid", and maps old names)
        self._reply_tracking(tracking, defer.maybeDeferred(self.instcmd, cmd, param))

    def instcmd(self, cmd: str, param: str | None) -> defer.Deferred[int]:
        async def go() -> int:
            async with self._io:
                return _TRACKING[await self.qx_instcmd(cmd, param)]

        return defer.Deferred.fromCoroutine(go())

    def setvar(self, var: str, value: str) -> defer.Deferred[int]:
        async def go() -> int:
            async with self._io:
                return _TRACKING[await self.qx_setvar(var, value)]

        return defer.Deferred.fromCoroutine(go())

    async def qx_instcmd(self, cmdname: str, extradata: str | None) -> str:
        if self.subdriver is None:
            return STAT_FAILED
        if eq(cmdname, "beeper.off"):
            self.log.warn("The 'beeper.off' command has been renamed to 'beeper.disable'")
            return await self.qx_instcmd("beeper.disable", None)
        if eq(cmdname, "beeper.on"):
            self.log.warn("The 'beeper.on' command has been renamed to 'beeper.enable'")
            return await self.qx_instcmd("beeper.enable", None)
        self.log.info("instcmd({c}, {x})", c=cmdname, x=extradata if extradata else "[NULL]")
        item = self.find_nut_info(cmdname, QX_FLAG_CMD, QX_FLAG_SKIP)
        if item is None:
            if eq(cmdname, "load.on"):
                return await self.qx_instcmd("load.on.delay", "0")
            if eq(cmdname, "load.off"):
                return await self.qx_instcmd("load.off.delay", "0")
            if eq(cmdname, "shutdown.return") or eq(cmdname, "shutdown.stayoff"):
                stayoff = eq(cmdname, "shutdown.stayoff")
                if self.getinfo("ups.start.auto") is not None and (
                    await self.qx_setvar("ups.start.auto", "no" if stayoff else "yes")
                    != STAT_HANDLED
                ):
                    return STAT_FAILED
                ret = await self.qx_instcmd(
                    "load.on.delay", "-1" if stayoff else self.getinfo("ups.delay.start")
                )
                if ret != STAT_HANDLED:
                    return ret
                return await self.qx_instcmd("load.off.delay", self.getinfo("ups.delay.shutdown"))
            return STAT_INVALID
        extradata = extradata if extradata is not None else item.dfl
        value = (extradata or "")[: SMALLBUF - 1]
        if item.preprocess is not None:
            out = item.preprocess(self, item, value)
            if out is None:
                self.log.error("instcmd: FAILED")
                return STAT_FAILED
            value = out
        else:
            value = ""
        if await self.qx_process(item, value if value else None):
            self.log.error("instcmd: FAILED")
            return STAT_FAILED
        return self._accepted(item, STAT_FAILED, "instcmd")

    def _accepted(self, item: Item, failed: str, what: str) -> str:
        assert self.subdriver is not None
        if item.value:
            if self.subdriver.accepted is not None and eq(item.value, self.subdriver.accepted):
                self.log.info("{w}: SUCCEED", w=what)
                self.data_has_changed = True
                return STAT_HANDLED
            self.log.error("{w}: FAILED", w=what)
            return failed
        self.log.info("{w}: SUCCEED", w=what)
        self.data_has_changed = True
        return STAT_HANDLED

    async def qx_setvar(self, varname: str, val: str | None) -> str:
        if self.subdriver is None:
            return STAT_UNKNOWN
        item = self.find_nut_info(varname, QX_FLAG_SETVAR, QX_FLAG_SKIP)
        if item is None:
            return STAT_UNKNOWN
        if item.qxflags & QX_FLAG_NONUT:
            if not self.testvar(item.info_type):
                return STAT_HANDLED
            value = self.getval(item.info_type) or ""
        else:
            val = val or ""
            if not val:
                self.log.error("setvar: value not given for {v}", v=item.info_type)
                return STAT_UNKNOWN
            value = val[: SMALLBUF - 1]
            if eq(self.getinfo(item.info_type) or "", value):
                self.log.info("setvar: nothing to do... [{v}]", v=item.info_type)
                return STAT_HANDLED
        ok = False
        if item.qxflags & QX_FLAG_RANGE:
            if strspn(value, "0123456789 .") != len(value):
                self.log.error("setvar: non numerical value [{v}: {x}]", v=item.info_type, x=value)
                return STAT_UNKNOWN
            want = strtol(value)
            if item.qxflags & QX_FLAG_NONUT:
                if not value:
                    return STAT_UNKNOWN
                bounds = self._rw_values(item)
                for lo, hi in zip(bounds[::2], bounds[1::2], strict=False):
                    if strtol(lo) <= want <= strtol(hi):
                        ok = True
                        break
            else:
                var = self.state.get(item.info_type)
                if var is None or not var.ranges:
                    return STAT_UNKNOWN
                ok = any(lo <= want <= hi for lo, hi in var.ranges)
            if not ok:
                self.log.error("setvar: value out of range [{v}: {x}]", v=item.info_type, x=value)
                return STAT_UNKNOWN
        elif item.qxflags & QX_FLAG_ENUM:
            if item.qxflags & QX_FLAG_NONUT:
                if not value:
                    return STAT_UNKNOWN
                ok = any(eq(v, value) for v in self._rw_values(item))
            else:
                var = self.state.get(item.info_type)
                if var is None or not var.enums:
                    return STAT_UNKNOWN
                ok = any(eq(self._enum_text(e), value) for e in var.enums)
            if not ok:
                self.log.error("setvar: value out of range [{v}: {x}]", v=item.info_type, x=value)
                return STAT_UNKNOWN
        elif item.info_flags & ST_FLAG_STRING:
            var = self.state.get(item.info_type)
            if var is None:
                return STAT_UNKNOWN
            if (var.aux or 0) < len(value):
                self.log.error("setvar: value is too long [{v}: {x}]", v=item.info_type, x=value)
                return STAT_UNKNOWN
        if item.preprocess is not None:
            out = item.preprocess(self, item, value)
            if out is None:
                self.log.error("setvar: FAILED")
                return STAT_UNKNOWN
            value = out
        if item.qxflags & QX_FLAG_ABSENT:
            self.setinfo(item.info_type, value)
            self.log.info("setvar: SUCCEED")
            return STAT_HANDLED
        if item.preprocess is None:
            value = ""
        if await self.qx_process(item, value if value else None):
            self.log.error("setvar: FAILED")
            return STAT_UNKNOWN
        return self._accepted(item, STAT_UNKNOWN, "setvar")

    def _rw_values(self, item: Item) -> list[str]:
        out = []
        for rw in item.info_rw or []:
            value = rw.value
            if rw.preprocess is not None:
                got = rw.preprocess(self, value)
                if got is None:
                    continue
                value = got
            out.append(value)
        return out

    @staticmethod
    def _enum_text(e: str) -> str:
        from nutwist.config.tokenizer import unescape

        return unescape(e)

    # --- shutdown (upsdrv_shutdown) --------------------------------------------------------------

    async def prepare_shutdown(self) -> None:
        """What NUT's driver does before ``-k``: open the port and find the subdriver."""
        async with self._io:
            await self.open_device()

    def shutdown_prepare(self) -> defer.Deferred[None]:
        return defer.Deferred.fromCoroutine(self.prepare_shutdown())

    def shutdown(self) -> defer.Deferred[None]:
        return defer.Deferred.fromCoroutine(self._shutdown())

    async def _shutdown(self) -> None:
        async with self._io:
            for var, opt, what in (
                ("ups.delay.start", "ondelay", "start"),
                ("ups.delay.shutdown", "offdelay", "shutdown"),
            ):
                item = self.find_nut_info(var, 0, QX_FLAG_SKIP)
                if item is None:
                    raise DeviceError(f"Unable to set {what} delay")
                self.setinfo(item.info_type, item.dfl or "")
                self.qx_set_var(item)
                val = self.getval(opt)
                if val and await self.qx_setvar(item.info_type, val) != STAT_HANDLED:
                    raise DeviceError(f"{what.capitalize()} delay '{val}' out of range")
            if self.find_nut_info("shutdown.stop", QX_FLAG_CMD, QX_FLAG_SKIP):
                for _ in range(MAXTRIES):
                    if await self.qx_instcmd("shutdown.stop", None) == STAT_HANDLED:
                        break
                else:
                    self.log.info("No shutdown pending")
            cmd = "shutdown.stayoff" if self.testvar("stayoff") else "shutdown.return"
            for _ in range(MAXTRIES):
                if await self.qx_instcmd(cmd, None) != STAT_HANDLED:
                    continue
                self.log.info("Shutting down in {s} seconds", s=self.getinfo("ups.delay.shutdown"))
                return
            raise DeviceError("Shutdown failed!")

    def stop(self) -> None:
        super().stop()
        if self.line is not None:
            self.line.set_dtr(False)
            self.line.close()


def _sleep(clock: Any, seconds: float) -> defer.Deferred[None]:
    d: defer.Deferred[None] = defer.Deferred()
    clock.callLater(seconds, d.callback, None)
    return d


def wall_time() -> float:
    return time.time()
