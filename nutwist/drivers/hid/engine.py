"""usbhid-ups's logic, apart from USB and from Twisted: NUT 2.8.0's walk, status and commands.

A :class:`Session` owns one HID UPS: its parsed descriptor, the report buffer, the subdriver
and its table of HID paths to NUT variables, and the status bits collected from the device.
It runs on the driver's I/O thread only.  Each call returns a list of *ops*, the state
changes to make on the reactor thread (``("setinfo", var, value)``, ``("addcmd", cmd)``,
``("status_set", "OL")``, ``("dataok",)``, ...), so the driver never touches its state from
another thread.

What it reproduces, because clients see it:

- a report is read once and reused while younger than the poll interval (seconds, as NUT's
  ``time()``), and an interrupt-in report refreshes the buffer the same way;
- the first pass (*init*) binds each table row to a field, skipping a variable already bound
  by an earlier row, publishes flags, string lengths and enumerations, and adds a command
  only when its report could be read;
- a *full* walk every ``pollfreq`` seconds or after a command or a change, otherwise a
  *quick* walk of the rows marked quick-poll;
- the status bits become ``ups.status`` and ``ups.alarm`` as NUT builds them;
- commands, composite commands (``shutdown.return``, ``shutdown.stayoff``, ``load.on``,
  ``load.off``) and writable variables become SET_REPORTs of the whole report buffer.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from nutwist.drivers.hid import parser
from nutwist.drivers.hid import tables as tb
from nutwist.drivers.hid.parser import HIDData, PathNames, ReportDescriptor

Op = tuple[Any, ...]

STAT_HANDLED = 0
STAT_UNKNOWN = 1
STAT_INVALID = 2
STAT_FAILED = 3

MAX_TS = 2  # seconds a report read for explore or a lookup stays fresh
SMALLBUF = 512  # bytes asked of the interrupt endpoint
MAX_EVENTS = 32
MAX_RETRY = 3


class UsbGone(Exception):
    """The device is gone (unplugged, no permission, taken by another driver)."""


class Handle(Protocol):
    """One opened USB device, as usbhid-ups needs it (see :mod:`nutwist.drivers.hid.usb`)."""

    def get_report(self, report_id: int, length: int) -> bytes | None: ...

    def set_report(self, report_id: int, data: bytes) -> bool: ...

    def get_string(self, index: int, buflen: int) -> str | None: ...

    def get_interrupt(self, size: int, timeout_ms: int) -> bytes | None: ...

    def close(self) -> None: ...


class Candidate(Protocol):
    """A USB device found on the bus, before it is claimed."""

    vendor_id: int
    product_id: int
    bcd: int
    bus: int

    def open(self) -> None: ...

    def strings(self) -> tuple[str | None, str | None, str | None]: ...

    def claim(self) -> Handle: ...

    def report_descriptor(self) -> bytes | None: ...

    def close(self) -> None: ...


class Backend(Protocol):
    def devices(self) -> Sequence[Candidate]: ...

    def version(self) -> str: ...


@dataclass
class UsbDevice:
    """What identifies a device (NUT's USBDevice_t)."""

    vendor_id: int
    product_id: int
    vendor: str | None = None
    product: str | None = None
    serial: str | None = None
    bus: str | None = None
    device: str | None = None
    bcd: int = 0


@dataclass
class Subdriver:
    """A vendor's tables and quirks (NUT's subdriver_t)."""

    name: str
    claim: Callable[[Session, UsbDevice], bool]
    usages: tuple[tb.UsageTable, ...]
    hid2nut: tuple[tb.HidInfo, ...]
    lookups: dict[str, tb.Lookup] = field(default_factory=dict)
    funs: dict[str, tb.Fun] = field(default_factory=dict)
    nufs: dict[str, tb.Nuf] = field(default_factory=dict)
    format_model: Callable[[Session, UsbDevice], str | None] = lambda s, d: d.product
    format_mfr: Callable[[Session, UsbDevice], str | None] = lambda s, d: d.vendor
    format_serial: Callable[[Session, UsbDevice], str | None] = lambda s, d: d.serial
    fix_report_desc: Callable[[Session, UsbDevice, ReportDescriptor], bool] = lambda s, d, r: False


# --- device matching ------------------------------------------------------------------------

SUPPORTED, POSSIBLY_SUPPORTED, NOT_SUPPORTED = 2, 1, 0


def device_supported(
    session: Session, table: tb.DeviceTable, dev: UsbDevice, tweaks: dict[str, Callable[..., Any]]
) -> int:
    """NUT's is_usb_device_supported: run the row's tweak when the device is known."""
    result = NOT_SUPPORTED
    for vid, pid, fun in table:
        if vid != dev.vendor_id:
            continue
        result = POSSIBLY_SUPPORTED
        if pid != dev.product_id:
            continue
        if fun is not None and fun in tweaks:
            tweaks[fun](session, dev)
        return SUPPORTED
    return result


def possibly_supported(mfr: str, dev: UsbDevice) -> str:
    return (
        f"This {mfr} device ({dev.vendor_id:04x}:{dev.product_id:04x}) is not (or perhaps not"
        " yet) supported\nby usbhid-ups. Please make sure you have an up-to-date version of"
        " NUT. If\nthis does not fix the problem, try running the driver with the\n"
        f"'-x productid={dev.product_id:04x}' option. Please report your results to the NUT"
        " user's\nmailing list <nut-upsuser@lists.alioth.debian.org>.\n"
    )


def table_claim(
    table: tb.DeviceTable, tweaks: dict[str, Callable[..., Any]], mfr: str
) -> Callable[[Session, UsbDevice], bool]:
    """A subdriver's usual claim: a known ID, or a known vendor with ``productid`` given."""

    def claim(session: Session, dev: UsbDevice) -> bool:
        status = device_supported(session, table, dev, tweaks)
        if status == SUPPORTED:
            return True
        if status == POSSIBLY_SUPPORTED:
            if session.getval("productid") is not None:
                return True
            session.log("info", possibly_supported(mfr, dev))
        return False

    return claim


class RegexMatcher:
    """``vendorid``, ``productid``, ``vendor``, ``product``, ``serial``, ``bus``, ``device``:
    extended regular expressions, case-insensitive, matching the whole (trimmed) value."""

    KEYS = ("vendorid", "productid", "vendor", "product", "serial", "bus", "device")

    def __init__(self, params: dict[str, str]) -> None:
        self.patterns: list[re.Pattern[str] | None] = []
        for key in self.KEYS:
            value = params.get(key)
            if value is None:
                self.patterns.append(None)
                continue
            try:
                self.patterns.append(re.compile(value, re.IGNORECASE))
            except re.error as e:
                raise ValueError(f"invalid regular expression: {value} ({e})") from None

    @staticmethod
    def _match(pattern: re.Pattern[str] | None, text: str | None) -> bool:
        if pattern is None:
            return True
        return pattern.fullmatch((text or "").strip(" \t\n")) is not None

    def __call__(self, dev: UsbDevice) -> bool:
        values = (
            f"{dev.vendor_id:04x}",
            f"{dev.product_id:04x}",
            dev.vendor,
            dev.product,
            dev.serial,
            dev.bus,
            dev.device,
        )
        return all(self._match(p, v) for p, v in zip(self.patterns, values, strict=True))


def exact_matcher(want: UsbDevice) -> Callable[[UsbDevice], bool]:
    """After the first connection only the same device is taken back."""

    def match(dev: UsbDevice) -> bool:
        return (
            dev.vendor_id,
            dev.product_id,
            dev.vendor,
            dev.product,
            dev.serial,
            dev.bus,
            dev.device,
        ) == (
            want.vendor_id,
            want.product_id,
            want.vendor,
            want.product,
            want.serial,
            want.bus,
            want.device,
        )

    return match


# --- value helpers --------------------------------------------------------------------------


def c_atol(text: str | None) -> int:
    """C's atol: leading blanks, a sign, digits; anything else stops (0 if none)."""
    m = re.match(r"\s*([+-]?\d+)", text or "")
    return int(m.group(1)) if m else 0


_CONV = re.compile(r"%([-+ #0]*)(\d*)(?:\.(\d+))?([a-zA-Z])")


def c_format(fmt: str, value: float) -> str:
    """printf(fmt, double) for the formats the tables use (``%.0f``, ``%.1f``, ``%s``...)."""

    def one(m: re.Match[str]) -> str:
        flags, width, prec, conv = m.groups()
        spec = "%" + flags + width + (f".{prec}" if prec is not None else "")
        if conv in "feEgG":
            return (spec + conv) % value
        if conv in "diu":
            return (spec + "d") % int(value)
        if conv in "xX":
            return (spec + conv) % (int(value) & 0xFFFFFFFFFFFFFFFF)
        return (spec + "s") % parser.format_g(value)

    return _CONV.sub(one, fmt.replace("%%", "\0")).replace("\0", "%")


def _flag_words(flags: int) -> list[str]:
    words = []
    if flags & tb.ST_FLAG_RW:
        words.append("RW")
    if flags & tb.ST_FLAG_STRING:
        words.append("STRING")
    return words


# status bits, in NUT's order
_STATUS_BITS = (
    "online", "dischrg", "chrg", "lowbatt", "overload", "replacebatt", "shutdownimm", "trim",
    "boost", "bypassauto", "bypassman", "off", "cal", "overheat", "commfault", "depleted",
    "timelimitexp", "fullycharged", "awaitingpower", "fanfail", "nobattery", "battvoltlo",
    "battvolthi", "chargerfail", "vrange", "frange",
)  # fmt: skip
_ALARMS = (
    ("replacebatt", "Replace battery!"),
    ("shutdownimm", "Shutdown imminent!"),
    ("fanfail", "Fan failure!"),
    ("nobattery", "No battery installed!"),
    ("battvoltlo", "Battery voltage too low!"),
    ("battvolthi", "Battery voltage too high!"),
    ("chargerfail", "Battery charger fail!"),
    ("overheat", "Temperature too high!"),
    ("commfault", "Internal UPS fault!"),
    ("awaitingpower", "Awaiting power!"),
    ("bypassauto", "Automatic bypass mode!"),
    ("bypassman", "Manual bypass mode!"),
)

WALK_INIT, WALK_QUICK, WALK_FULL = 0, 1, 2


class Item:
    """A table row bound to a field of this device (NUT keeps the pointer in the row)."""

    __slots__ = ("data", "info")

    def __init__(self, info: tb.HidInfo) -> None:
        self.info = info
        self.data: HIDData | None = None


class Session:
    """One HID UPS, driven from the I/O thread."""

    def __init__(
        self,
        backend: Backend,
        subdrivers: Sequence[Subdriver],
        params: dict[str, str],
        flags: Sequence[str] = (),
        *,
        upsname: str = "ups",
        now: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.backend = backend
        self.subdrivers = list(subdrivers)
        self.params = dict(params)
        self.flags = set(flags)
        self.upsname = upsname
        self._now = now
        self._sleep = sleep
        self.handle: Handle | None = None
        self.device: UsbDevice | None = None
        self.desc: ReportDescriptor | None = None
        self.subdriver: Subdriver | None = None
        self.names = PathNames()
        self.items: list[Item] = []
        self.connected = False
        # the report buffer: id -> bytes, length, time read
        self.buf: dict[int, bytearray] = {}
        self.buflen: dict[int, int] = {}
        self.ts: dict[int, float] = {}
        # tweaks set by subdrivers and options
        self.max_report_size = False
        self.interrupt_only = False
        self.interrupt_size = 0
        self.use_interrupt_pipe = True
        self.onlinedischarge = False
        self.pollfreq = tb.DEFAULT_POLLFREQ
        self.poll_interval = 2
        self.lastpoll = 0
        self.data_has_changed = False
        self.ups_status: set[str] = set()
        #: the values this driver has published (NUT's dstate, as far as the HID logic reads it)
        self.dstate: dict[str, str] = {}
        self.overridden: set[str] = set()
        self.ops: list[Op] = []
        self._regex: RegexMatcher | None = None
        self._exact: Callable[[UsbDevice], bool] | None = None
        self.explore_lines: list[str] = []
        self.debug = 0
        #: subdrivers' own state for this device (scale factors found on the way...)
        self.vendor: dict[str, Any] = {}

    # --- state changes, queued for the reactor --------------------------------------------

    def testvar(self, key: str) -> bool:
        return key in self.params or key in self.flags

    def getval(self, key: str) -> str | None:
        return self.params.get(key)

    def setinfo(self, var: str, value: str) -> None:
        if var.lower() in self.overridden:
            return
        self.dstate[var] = value
        self.ops.append(("setinfo", var, value))

    def delinfo(self, var: str) -> None:
        self.dstate.pop(var, None)
        self.ops.append(("delinfo", var))

    def log(self, level: str, text: str) -> None:
        self.ops.append(("log", level, text))

    def take_ops(self) -> list[Op]:
        ops, self.ops = self.ops, []
        return ops

    def now(self) -> int:
        return int(self._now())

    # --- opening ----------------------------------------------------------------------------

    def _claims(self, dev: UsbDevice) -> bool:
        return any(sub.claim(self, dev) for sub in self.subdrivers)

    def open(self, first: bool) -> bool:
        """Find, claim and (the first time) parse the device; NUT's comm_driver->open."""
        if self.handle is not None:
            try:
                self.handle.close()
            except Exception:
                pass
            self.handle = None
        try:
            candidates = list(self.backend.devices())
        except UsbGone:
            return False
        for cand in candidates:
            try:
                cand.open()
                vendor, product, serial = cand.strings()
            except UsbGone:
                continue
            dev = UsbDevice(
                vendor_id=cand.vendor_id,
                product_id=cand.product_id,
                vendor=vendor,
                product=product,
                serial=serial,
                bus=f"{cand.bus:03d}",
                bcd=cand.bcd,
            )
            matchers: list[Callable[[UsbDevice], bool]] = [self._claims]
            if self._regex is not None:
                matchers.append(self._regex)
            if self._exact is not None:
                matchers.append(self._exact)
            if not all(m(dev) for m in matchers):
                cand.close()
                continue
            try:
                handle = cand.claim()
            except UsbGone:
                cand.close()
                continue
            if not first:
                self.handle, self.device = handle, dev
                return True
            try:
                rdesc = cand.report_descriptor()
            except UsbGone:
                rdesc = None
            if not rdesc or not self._accept(handle, dev, rdesc):
                handle.close()
                continue
            return True
        return False

    def _accept(self, handle: Handle, dev: UsbDevice, rdesc: bytes) -> bool:
        """NUT's callback: parse the descriptor, pick the subdriver, publish who it is."""
        desc = parser.parse(rdesc)
        if not desc.items:
            self.log("debug", "Failed to parse report descriptor!")
            return False
        for warning in desc.warnings:
            self.log("warn", warning)
        sub = next((s for s in self.subdrivers if s.claim(self, dev)), None)
        if sub is None:
            self.log("debug", "Manufacturer not supported!")
            return False
        self.handle, self.device, self.desc, self.subdriver = handle, dev, desc, sub
        self.names = PathNames(*sub.usages)
        self.buf = {}
        self.buflen = {}
        self.ts = {}
        for item in desc.items:
            rid = item.report_id
            if rid not in self.buf:
                self.buflen[rid] = desc.replen.get(rid, 0) + 1
                self.buf[rid] = bytearray(self.buflen[rid])
        self.log("info", f"Using subdriver: {sub.name}")
        if sub.fix_report_desc(self, dev, desc):
            self.log("debug", "Report Descriptor Fixed")
        if self.testvar("explore") or self.debug:
            self.explore_lines = self.dump_tree()
        self._exact = exact_matcher(dev)
        mfr = sub.format_mfr(self, dev)
        model = sub.format_model(self, dev)
        serial = sub.format_serial(self, dev)
        for var, value in (("ups.mfr", mfr), ("ups.model", model), ("ups.serial", serial)):
            if value is not None:
                self.setinfo(var, value)
            else:
                self.delinfo(var)
        self.setinfo("ups.vendorid", f"{dev.vendor_id:04x}")
        self.setinfo("ups.productid", f"{dev.product_id:04x}")
        self.items = [Item(info) for info in sub.hid2nut]
        return True

    def _tripplite_su3000(self) -> bool:
        dev = self.device
        return dev is not None and (dev.vendor_id, dev.product_id) == (0x09AE, 0x1330)

    def dump_tree(self) -> list[str]:
        assert self.desc is not None
        lines = []
        for data in self.desc.items:
            if data.report_id in (254, 255):
                continue
            if data.report_id == 0x54 and self._tripplite_su3000():
                continue
            value = self.get_data_value(data, MAX_TS)
            lines.append(parser.listing_line(self.names, data, value))
        return lines

    # --- the report buffer ------------------------------------------------------------------

    def _refresh(self, data: HIDData, age: float) -> bool:
        rid = data.report_id
        if self.interrupt_only or self.ts.get(rid, 0) + age > self.now():
            return True
        assert self.handle is not None
        length = 8 if self.max_report_size else self.buflen.get(rid, 1)
        answer = self.handle.get_report(rid, length)
        if not answer:
            return False
        buf = self.buf.setdefault(rid, bytearray(self.buflen.get(rid, 1)))
        n = min(len(answer), len(buf))
        buf[:n] = answer[:n]
        self.ts[rid] = self.now()
        return True

    def get_data_value(self, data: HIDData | None, age: float) -> float | None:
        """The physical value of a field, or None when its report cannot be read."""
        if data is None:
            return None
        if not self._refresh(data, age):
            return None
        logical = parser.get_value(bytes(self.buf[data.report_id]), data)
        return parser.to_physical(data, logical)

    def set_data_value(self, data: HIDData | None, value: float) -> bool:
        if data is None or data.attribute == parser.ATTR_DATA_CST:
            return False
        logical = parser.to_logical(data, value)
        rid = data.report_id
        buf = self.buf.setdefault(rid, bytearray(self.buflen.get(rid, 1)))
        buf[0] = rid
        parser.set_value(data, buf, logical)
        assert self.handle is not None
        if not self.handle.set_report(rid, bytes(buf)):
            return False
        self.ts = {}
        return True

    def find_path(self, path: str, type_: int | None = None) -> HIDData | None:
        if self.desc is None:
            return None
        nodes = self.names.string_to_path(path)
        if not nodes:
            return None
        if type_ is None:
            type_ = parser.ITEM_INPUT if self.interrupt_only else parser.ITEM_FEATURE
        return self.desc.find_raw(nodes, type_)

    def get_index_string(self, index: int, buflen: int = 20) -> str:
        if self.handle is None or not 0 <= index <= 255:
            return ""
        text = self.handle.get_string(index, buflen)
        return (text or "").rstrip("\n")

    # --- lookups ----------------------------------------------------------------------------

    def _lookup(self, name: str | None) -> tb.Lookup | None:
        if name is None:
            return None
        assert self.subdriver is not None
        return self.subdriver.lookups.get(name) or tb.LOOKUPS.get(name)

    def find_infoval(self, table: tb.Lookup, value: float) -> str | None:
        if table and table[0][2] is not None:
            fun = self._fun(table[0][2])
            return fun(self, value) if fun is not None else None
        for hid_value, nut_value, _f, _n in table:
            if nut_value is not None and hid_value == int(value):
                return nut_value
        return None

    def find_valinfo(self, table: tb.Lookup, text: str | None) -> float:
        if table and table[0][3] is not None:
            nuf = self._nuf(table[0][3])
            if nuf is not None:
                return nuf(self, text)
        for hid_value, nut_value, _f, _n in table:
            if nut_value is not None and nut_value == text:
                return hid_value
        return -1

    def _fun(self, name: str) -> tb.Fun | None:
        assert self.subdriver is not None
        return self.subdriver.funs.get(name) or tb.FUNS.get(name)

    def _nuf(self, name: str) -> tb.Nuf | None:
        assert self.subdriver is not None
        return self.subdriver.nufs.get(name) or tb.NUFS.get(name)

    # --- status -----------------------------------------------------------------------------

    def process_boolean(self, nutvalue: str) -> None:
        clear = nutvalue.startswith("!")
        name = nutvalue[1:] if clear else nutvalue
        if name.lower() not in _STATUS_BITS:
            return
        if clear:
            self.ups_status.discard(name.lower())
        else:
            self.ups_status.add(name.lower())

    def infoval_set(self, item: Item, value: float) -> int:
        info = item.info
        table = self._lookup(info.lookup)
        if table is not None:
            nutvalue = self.find_infoval(table, value)
            if nutvalue is None:
                return -1
            if info.var.startswith("BOOL"):
                self.process_boolean(nutvalue)
                return 0
            if info.var.startswith("ups.alarm"):
                self.ops.append(("alarm_set", nutvalue))
                return 0
            self.setinfo(info.var, nutvalue)
        else:
            self.setinfo(info.var, c_format(info.dfl or "%s", value))
        return 1

    def status_ops(self) -> None:
        st = self.ups_status
        if "vrange" in st:
            self.setinfo("input.transfer.reason", "input voltage out of range")
        elif "frange" in st:
            self.setinfo("input.transfer.reason", "input frequency out of range")
        elif "input.transfer.reason" in self.dstate:
            self.delinfo("input.transfer.reason")
        if "online" not in st:
            self.ops.append(("status_set", "OB"))
        elif "dischrg" in st:
            if self.onlinedischarge:
                self.ops.append(("status_set", "OB"))
            else:
                if "cal" not in st:
                    self.log(
                        "warn",
                        f"ups_status_set: seems that UPS [{self.upsname}] is in OL+DISCHRG state"
                        " now. Is it calibrating or do you perhaps want to set 'onlinedischarge'"
                        " option? Some UPS models (e.g. CyberPower UT series) emit OL+DISCHRG"
                        " when offline.",
                    )
                self.ops.append(("status_set", "OL"))
        else:
            self.ops.append(("status_set", "OL"))
        if "dischrg" in st and "depleted" not in st:
            self.ops.append(("status_set", "DISCHRG"))
        if "chrg" in st and "fullycharged" not in st:
            self.ops.append(("status_set", "CHRG"))
        if st & {"lowbatt", "timelimitexp", "shutdownimm"}:
            self.ops.append(("status_set", "LB"))
        for bit, token in (("overload", "OVER"), ("replacebatt", "RB"), ("trim", "TRIM")):
            if bit in st:
                self.ops.append(("status_set", token))
        if "boost" in st:
            self.ops.append(("status_set", "BOOST"))
        if st & {"bypassauto", "bypassman"}:
            self.ops.append(("status_set", "BYPASS"))
        if "off" in st:
            self.ops.append(("status_set", "OFF"))
        if "cal" in st:
            self.ops.append(("status_set", "CAL"))

    def alarm_ops(self) -> None:
        for bit, text in _ALARMS:
            if bit in self.ups_status:
                self.ops.append(("alarm_set", text))

    # --- the walk ---------------------------------------------------------------------------

    def walk(self, mode: int) -> bool:
        """NUT's hid_ups_walk; False when the device went away."""
        for item in self.items:
            info = item.info
            if mode == WALK_INIT:
                if item.data is None:
                    if info.hidpath is None:
                        continue
                    item.data = self.find_path(info.hidpath)
                    if item.data is None:
                        continue
                    if info.hidflags & tb.HU_FLAG_ABSENT:
                        if info.var in self.dstate:
                            continue
                        self.setinfo(info.var, info.dfl or "")
                        self.ops.append(("setflags", info.var, _flag_words(info.info_flags)))
                        if info.info_flags & tb.ST_FLAG_STRING:
                            self.ops.append(("setaux", info.var, info.info_len))
                        continue
                    if not info.var.startswith("ups.alarm") and info.var in self.dstate:
                        item.data = None
                        continue
            elif mode == WALK_QUICK:
                if not info.hidflags & tb.HU_FLAG_QUICK_POLL:
                    continue
            else:
                if info.hidflags & (tb.HU_FLAG_ABSENT | tb.HU_TYPE_CMD | tb.HU_FLAG_STATIC):
                    continue
                if info.hidflags & tb.HU_FLAG_SEMI_STATIC and not self.data_has_changed:
                    continue
            if item.data is None:
                continue
            # a Tripp Lite SU3000LCD2UHV firmware bug: report 0x54 is skipped
            if item.data.report_id == 0x54 and self._tripplite_su3000():
                continue
            try:
                value = self.get_data_value(item.data, self.poll_interval)
            except UsbGone:
                self.connected = False
                return False
            if value is None:
                continue
            if info.hidflags & tb.HU_TYPE_CMD:
                self.ops.append(("addcmd", info.var))
                continue
            if self.infoval_set(item, value) != 1:
                continue
            if mode == WALK_INIT:
                self.ops.append(("setflags", info.var, _flag_words(info.info_flags)))
                if info.info_flags & tb.ST_FLAG_STRING:
                    self.ops.append(("setaux", info.var, info.info_len))
                if not info.hidflags & tb.HU_FLAG_ENUM or not info.info_flags & tb.ST_FLAG_RW:
                    continue
                table = self._lookup(info.lookup) or ()
                for hid_value, nut_value, _f, _n in table:
                    if nut_value is None:
                        continue
                    if self.find_infoval(table, hid_value) is not None:
                        self.ops.append(("addenum", info.var, nut_value))
        return True

    def find_nut_info(self, var: str) -> Item | None:
        low = var.lower()
        for item in self.items:
            if item.info.var.lower() == low and item.data is not None:
                return item
        return None

    def find_hid_info(self, data: HIDData) -> Item | None:
        for item in self.items:
            if item.info.hidflags & tb.HU_FLAG_ABSENT:
                continue
            if item.data is data:
                return item
        return None

    # --- the driver's calls -----------------------------------------------------------------

    def initups(self) -> list[Op]:
        """Find the device and read it all once (upsdrv_initups); raise ValueError if none."""
        if self.testvar("explore") and self.getval("vendorid") is None:
            raise ValueError('must specify "vendorid" when using "explore"')
        if self.testvar("maxreport"):
            self.max_report_size = True
        self._regex = RegexMatcher(self.params)
        if not self.open(first=True):
            raise LookupError("No matching HID UPS found")
        self.connected = True
        if self.testvar("interruptonly"):
            self.interrupt_only = True
        if self.testvar("onlinedischarge"):
            self.onlinedischarge = True
        size = self.getval("interruptsize")
        if size is not None:
            n = c_atol(size)
            if n <= 0:
                raise ValueError(f"Error: invalid interruptsize: {n}")
            self.interrupt_size = n
        if not self.walk(WALK_INIT):
            raise LookupError("Can't initialize data from HID UPS")
        for var, key in (
            ("battery.charge.low", "lowbatt"),
            ("ups.delay.start", "ondelay"),
            ("ups.delay.shutdown", "offdelay"),
        ):
            if var in self.dstate and self.getval(key) is not None:
                self.setinfo(var, str(c_atol(self.getval(key))))
        if self.find_nut_info("load.off.delay"):
            self.ops.append(("addcmd", "load.off"))
        if self.find_nut_info("load.on.delay"):
            self.ops.append(("addcmd", "load.on"))
        if self.find_nut_info("load.off.delay") and self.find_nut_info("load.on.delay"):
            self.ops.append(("addcmd", "shutdown.return"))
            self.ops.append(("addcmd", "shutdown.stayoff"))
        return self.take_ops()

    def initinfo(self) -> list[Op]:
        """upsdrv_initinfo: the subdriver's name, pollfreq, pollonly."""
        assert self.subdriver is not None
        self.setinfo("driver.version.data", self.subdriver.name)
        value = self.getval("pollfreq")
        if value is not None:
            self.pollfreq = c_atol(value)
        self.setinfo("driver.parameter.pollfreq", str(self.pollfreq))
        if self.testvar("pollonly"):
            self.use_interrupt_pipe = False
        self.lastpoll = self.now()
        return self.take_ops()

    def _events(self) -> list[HIDData] | None:
        """Read the interrupt endpoint once; None when the device is gone."""
        assert self.handle is not None and self.desc is not None
        size = self.interrupt_size or SMALLBUF
        try:
            data = self.handle.get_interrupt(size, 750)
        except UsbGone:
            return None
        if not data:
            return []
        rid = data[0]
        buf = self.buf.get(rid)
        if buf is not None:
            n = min(len(data), len(buf))
            buf[:n] = data[:n]
        self.ts[rid] = self.now()
        events = [d for d in self.desc.items if d.report_id == rid and d.type == parser.ITEM_INPUT]
        return events[:MAX_EVENTS]

    def update(self) -> list[Op]:
        """upsdrv_updateinfo: interrupt reports first, then a quick or a full walk."""
        now = self.now()
        if not self.connected:
            if now < self.lastpoll + self.poll_interval:
                return self.take_ops()
            if not self.open(first=False):
                self.lastpoll = now
                self.ops.append(("datastale",))
                return self.take_ops()
            self.connected = True
            self.log("info", "device answers again")
            if not self.walk(WALK_INIT):
                self.connected = False
                return self.take_ops()
        events: list[HIDData] = []
        if self.use_interrupt_pipe:
            got = self._events()
            if got is None:
                self.connected = False
                return self.take_ops()
            events = got
        assert self.desc is not None
        for event in events:
            try:
                value = self.get_data_value(event, self.poll_interval)
            except UsbGone:
                self.connected = False
                return self.take_ops()
            if value is None:
                continue
            kind = parser.ITEM_INPUT if self.interrupt_only else parser.ITEM_FEATURE
            found = self.desc.find_raw(event.path, kind)
            if found is None and not self.interrupt_only:
                found = self.desc.find_raw(event.path, parser.ITEM_INPUT)
            if found is None:
                continue
            item = self.find_hid_info(found)
            if item is None:
                continue
            self.infoval_set(item, value)
        self.ops.append(("status_init",))
        if now > self.lastpoll + self.pollfreq or self.data_has_changed:
            self.ops.append(("alarm_init",))
            if not self.walk(WALK_FULL):
                return self.take_ops()
            self.lastpoll = now
            self.data_has_changed = False
            self.alarm_ops()
            self.ops.append(("alarm_commit",))
        else:
            if not self.walk(WALK_QUICK):
                return self.take_ops()
        self.status_ops()
        self.ops.append(("status_commit",))
        self.ops.append(("dataok",))
        return self.take_ops()

    def instcmd(self, cmd: str, extra: str | None) -> tuple[int, list[Op]]:
        try:
            status = self._instcmd(cmd, extra)
        except UsbGone:
            self.connected = False
            status = STAT_FAILED
        return status, self.take_ops()

    def _instcmd(self, cmd: str, extra: str | None) -> int:
        low = cmd.lower()
        if low == "beeper.off":
            self.log("warn", "The 'beeper.off' command has been renamed to 'beeper.disable'")
            return self._instcmd("beeper.disable", None)
        if low == "beeper.on":
            self.log("warn", "The 'beeper.on' command has been renamed to 'beeper.enable'")
            return self._instcmd("beeper.enable", None)
        item = self.find_nut_info(cmd)
        if item is None:
            if low == "load.on":
                return self._instcmd("load.on.delay", "0")
            if low == "load.off":
                return self._instcmd("load.off.delay", "0")
            if low in ("shutdown.return", "shutdown.stayoff"):
                stay = low == "shutdown.stayoff"
                if "ups.start.auto" in self.dstate:
                    self._setvar("ups.start.auto", "no" if stay else "yes")
                ret = self._instcmd(
                    "load.on.delay", "-1" if stay else self.dstate.get("ups.delay.start")
                )
                if ret != STAT_HANDLED:
                    return ret
                self._sleep(0.125)
                return self._instcmd("load.off.delay", self.dstate.get("ups.delay.shutdown"))
            return STAT_INVALID
        info = item.info
        if not info.hidflags & tb.HU_TYPE_CMD:
            return STAT_INVALID
        text = extra if extra is not None else info.dfl
        table = self._lookup(info.lookup)
        value = self.find_valinfo(table, text) if table is not None else c_atol(text)
        if self.set_data_value(item.data, value):
            self.data_has_changed = True
            return STAT_HANDLED
        return STAT_FAILED

    def setvar(self, var: str, value: str) -> tuple[int, list[Op]]:
        try:
            status = self._setvar(var, value)
        except UsbGone:
            self.connected = False
            status = STAT_UNKNOWN
        return status, self.take_ops()

    def _setvar(self, var: str, text: str) -> int:
        item = self.find_nut_info(var)
        if item is None:
            return STAT_UNKNOWN
        info = item.info
        if not info.info_flags & tb.ST_FLAG_RW:
            return STAT_UNKNOWN
        if info.hidflags & tb.HU_FLAG_ABSENT:
            self.setinfo(info.var, text)
            return STAT_HANDLED
        if info.hidpath is None:
            return STAT_UNKNOWN
        table = self._lookup(info.lookup)
        value = self.find_valinfo(table, text) if table is not None else c_atol(text)
        if self.set_data_value(item.data, value):
            self.data_has_changed = True
            return STAT_HANDLED
        return STAT_UNKNOWN

    def shutdown(self) -> tuple[bool, list[Op]]:
        """upsdrv_shutdown: shutdown.return, else shutdown.reboot, else load.off.delay."""
        for cmd in ("shutdown.return", "shutdown.reboot", "load.off.delay"):
            try:
                if self._instcmd(cmd, None) == STAT_HANDLED:
                    return True, self.take_ops()
            except UsbGone:
                break
        return False, self.take_ops()

    def close(self) -> None:
        if self.handle is not None:
            try:
                self.handle.close()
            except Exception:
                pass
            self.handle = None
        self.connected = False
