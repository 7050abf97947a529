"""The lookup tables and conversions shared by every usbhid-ups subdriver (NUT 2.8.0's).

A lookup is a tuple of ``(hid_value, nut_value, fun, nuf)`` rows, as in NUT: with a ``fun``
in its first row, the NUT value is computed by that conversion (and a HID value from a NUT one
by ``nuf``); otherwise the HID value indexes the rows.  Lower-case NUT values (``online``,
``!online``) are status bits collected for ``ups.status``, not published strings.

The rows are data reproduced from NUT for compatibility; the conversions are nutwist's.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nutwist.drivers.hid.engine import Session

Row = tuple[int, "str | None", "str | None", "str | None"]
Lookup = tuple[Row, ...]
UsageTable = tuple[tuple[str, int], ...]
#: (vendor ID, product ID, name of the device's tweak function or None)
DeviceTable = tuple[tuple[int, int, "str | None"], ...]

# variable flags (upsd's) and the driver's own item flags
ST_FLAG_RW = 1
ST_FLAG_STRING = 2
HU_FLAG_STATIC = 2
HU_FLAG_SEMI_STATIC = 4
HU_FLAG_ABSENT = 8
HU_FLAG_QUICK_POLL = 16
HU_FLAG_STALE = 32
HU_TYPE_CMD = 64
HU_FLAG_ENUM = 128

DEFAULT_LOWBATT = "30"
DEFAULT_ONDELAY = "30"
DEFAULT_OFFDELAY = "20"
DEFAULT_POLLFREQ = 30


@dataclass(frozen=True)
class HidInfo:
    """One row of a subdriver's HID-to-NUT table (NUT's hid_info_t)."""

    var: str
    info_flags: int
    info_len: int
    hidpath: str | None
    dfl: str | None
    hidflags: int
    lookup: str | None


#: a conversion: (session, HID value) -> NUT string or None
Fun = Callable[["Session", float], "str | None"]
#: a reverse conversion: (session, NUT string) -> HID value
Nuf = Callable[["Session", "str | None"], float]

ONLINE_INFO: Lookup = (
    (1, "online", None, None),
    (0, "!online", None, None),
)

DISCHARGING_INFO: Lookup = (
    (1, "dischrg", None, None),
    (0, "!dischrg", None, None),
)

CHARGING_INFO: Lookup = (
    (1, "chrg", None, None),
    (0, "!chrg", None, None),
)

LOWBATT_INFO: Lookup = (
    (1, "lowbatt", None, None),
    (0, "!lowbatt", None, None),
)

OVERLOAD_INFO: Lookup = (
    (1, "overload", None, None),
    (0, "!overload", None, None),
)

REPLACEBATT_INFO: Lookup = (
    (1, "replacebatt", None, None),
    (0, "!replacebatt", None, None),
)

TRIM_INFO: Lookup = (
    (1, "trim", None, None),
    (0, "!trim", None, None),
)

BOOST_INFO: Lookup = (
    (1, "boost", None, None),
    (0, "!boost", None, None),
)

BYPASS_AUTO_INFO: Lookup = (
    (1, "bypassauto", None, None),
    (0, "!bypassauto", None, None),
)

BYPASS_MANUAL_INFO: Lookup = (
    (1, "bypassman", None, None),
    (0, "!bypassman", None, None),
)

OFF_INFO: Lookup = (
    (0, "off", None, None),
    (1, "!off", None, None),
)

CALIBRATION_INFO: Lookup = (
    (1, "cal", None, None),
    (0, "!cal", None, None),
)

NOBATTERY_INFO: Lookup = (
    (1, "!nobattery", None, None),
    (0, "nobattery", None, None),
)

FANFAIL_INFO: Lookup = (
    (1, "fanfail", None, None),
    (0, "!fanfail", None, None),
)

SHUTDOWNIMM_INFO: Lookup = (
    (1, "shutdownimm", None, None),
    (0, "!shutdownimm", None, None),
)

OVERHEAT_INFO: Lookup = (
    (1, "overheat", None, None),
    (0, "!overheat", None, None),
)

AWAITINGPOWER_INFO: Lookup = (
    (1, "awaitingpower", None, None),
    (0, "!awaitingpower", None, None),
)

COMMFAULT_INFO: Lookup = (
    (1, "commfault", None, None),
    (0, "!commfault", None, None),
)

TIMELIMITEXPIRED_INFO: Lookup = (
    (1, "timelimitexp", None, None),
    (0, "!timelimitexp", None, None),
)

BATTVOLTLO_INFO: Lookup = (
    (1, "battvoltlo", None, None),
    (0, "!battvoltlo", None, None),
)

BATTVOLTHI_INFO: Lookup = (
    (1, "battvolthi", None, None),
    (0, "!battvolthi", None, None),
)

CHARGERFAIL_INFO: Lookup = (
    (1, "chargerfail", None, None),
    (0, "!chargerfail", None, None),
)

FULLYCHARGED_INFO: Lookup = (
    (1, "fullycharged", None, None),
    (0, "!fullycharged", None, None),
)

DEPLETED_INFO: Lookup = (
    (1, "depleted", None, None),
    (0, "!depleted", None, None),
)

VRANGE_INFO: Lookup = (
    (0, "!vrange", None, None),
    (1, "vrange", None, None),
)

FRANGE_INFO: Lookup = (
    (0, "!frange", None, None),
    (1, "frange", None, None),
)

TEST_WRITE_INFO: Lookup = (
    (0, "No test", None, None),
    (1, "Quick test", None, None),
    (2, "Deep test", None, None),
    (3, "Abort test", None, None),
)

TEST_READ_INFO: Lookup = (
    (1, "Done and passed", None, None),
    (2, "Done and warning", None, None),
    (3, "Done and error", None, None),
    (4, "Aborted", None, None),
    (5, "In progress", None, None),
    (6, "No test initiated", None, None),
    (7, "Test scheduled", None, None),
)

BEEPER_INFO: Lookup = (
    (1, "disabled", None, None),
    (2, "enabled", None, None),
    (3, "muted", None, None),
)

YES_NO_INFO: Lookup = (
    (0, "no", None, None),
    (1, "yes", None, None),
)

ON_OFF_INFO: Lookup = (
    (0, "off", None, None),
    (1, "on", None, None),
)

DATE_CONVERSION: Lookup = ((0, None, "date_conversion_fun", "date_conversion_reverse"),)

HEX_CONVERSION: Lookup = ((0, None, "hex_conversion_fun", None),)

STRINGID_CONVERSION: Lookup = ((0, None, "stringid_conversion_fun", None),)

DIVIDE_BY_10_CONVERSION: Lookup = ((0, None, "divide_by_10_conversion_fun", None),)

KELVIN_CELSIUS_CONVERSION: Lookup = ((0, None, "kelvin_celsius_conversion_fun", None),)


# --- conversions -----------------------------------------------------------------------------


def c_long(value: float) -> int:
    """C's (long) cast of a double: truncation toward zero."""
    if value != value or value in (float("inf"), float("-inf")):
        return 0
    return int(value)


def date_conversion_fun(session: Session, value: float) -> str | None:
    """A packed HID date: (year - 1980) << 9 | month << 5 | day."""
    v = c_long(value)
    if v == 0:
        return "not set"
    return f"{1980 + (v >> 9):04d}/{(v >> 5) & 0x0F:02d}/{v & 0x1F:02d}"


def _scan_date(text: str) -> tuple[int, int, int] | None:
    m = re.match(r"\s*([+-]?\d{1,4})/\s*([+-]?\d{1,2})/\s*([+-]?\d{1,2})", text)
    if not m:
        return None
    return int(m.group(1)), int(m.group(2)), int(m.group(3))


def date_conversion_reverse(session: Session, text: str | None) -> float:
    ymd = _scan_date(text or "")
    if ymd is None:
        return 0.0
    year, month, day = ymd
    if year - 1980 > 127 or month > 12 or day > 31:
        return 0.0
    return float(((year - 1980) << 9) + (month << 5) + day)


def hex_conversion_fun(session: Session, value: float) -> str | None:
    return f"{c_long(value) & 0xFFFFFFFFFFFFFFFF:08x}"


def stringid_conversion_fun(session: Session, value: float) -> str | None:
    """A string descriptor index: the string, read into NUT's 20-byte buffer."""
    return session.get_index_string(c_long(value), 20)


def divide_by_10_conversion_fun(session: Session, value: float) -> str | None:
    return f"{value * 0.1:.1f}"


def kelvin_celsius_conversion_fun(session: Session, value: float) -> str | None:
    # some devices already report degrees Celsius: only 273..373 is taken for kelvin
    if 273 <= value <= 373:
        return f"{value - 273.15:.1f}"
    return f"{value:.1f}"


FUNS: dict[str, Fun] = {
    "date_conversion_fun": date_conversion_fun,
    "hex_conversion_fun": hex_conversion_fun,
    "stringid_conversion_fun": stringid_conversion_fun,
    "divide_by_10_conversion_fun": divide_by_10_conversion_fun,
    "kelvin_celsius_conversion_fun": kelvin_celsius_conversion_fun,
}
NUFS: dict[str, Nuf] = {"date_conversion_reverse": date_conversion_reverse}

#: the shared lookups, by their NUT names
LOOKUPS: dict[str, Lookup] = {
    "online_info": ONLINE_INFO,
    "discharging_info": DISCHARGING_INFO,
    "charging_info": CHARGING_INFO,
    "lowbatt_info": LOWBATT_INFO,
    "overload_info": OVERLOAD_INFO,
    "replacebatt_info": REPLACEBATT_INFO,
    "trim_info": TRIM_INFO,
    "boost_info": BOOST_INFO,
    "bypass_auto_info": BYPASS_AUTO_INFO,
    "bypass_manual_info": BYPASS_MANUAL_INFO,
    "off_info": OFF_INFO,
    "calibration_info": CALIBRATION_INFO,
    "nobattery_info": NOBATTERY_INFO,
    "fanfail_info": FANFAIL_INFO,
    "shutdownimm_info": SHUTDOWNIMM_INFO,
    "overheat_info": OVERHEAT_INFO,
    "awaitingpower_info": AWAITINGPOWER_INFO,
    "commfault_info": COMMFAULT_INFO,
    "timelimitexpired_info": TIMELIMITEXPIRED_INFO,
    "battvoltlo_info": BATTVOLTLO_INFO,
    "battvolthi_info": BATTVOLTHI_INFO,
    "chargerfail_info": CHARGERFAIL_INFO,
    "fullycharged_info": FULLYCHARGED_INFO,
    "depleted_info": DEPLETED_INFO,
    "vrange_info": VRANGE_INFO,
    "frange_info": FRANGE_INFO,
    "test_write_info": TEST_WRITE_INFO,
    "test_read_info": TEST_READ_INFO,
    "beeper_info": BEEPER_INFO,
    "yes_no_info": YES_NO_INFO,
    "on_off_info": ON_OFF_INFO,
    "date_conversion": DATE_CONVERSION,
    "hex_conversion": HEX_CONVERSION,
    "stringid_conversion": STRINGID_CONVERSION,
    "divide_by_10_conversion": DIVIDE_BY_10_CONVERSION,
    "kelvin_celsius_conversion": KELVIN_CELSIUS_CONVERSION,
}
