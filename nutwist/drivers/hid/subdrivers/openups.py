"""openUPS's subdriver (NUT 2.8.0's openups-hid, "openUPS HID 0.5").

The usage names, HID-to-NUT rows, lookups, thermistor table and USB IDs are data reproduced
from NUT so that variables and values match; the code around them is nutwist's.
"""

from __future__ import annotations

from nutwist.drivers.hid.engine import Session, Subdriver, UsbDevice, table_claim
from nutwist.drivers.hid.tables import DeviceTable, Fun, HidInfo, Lookup, UsageTable
from nutwist.drivers.hid.usages import GENERIC_USAGES

NAME = "openUPS HID 0.5"

OPENUPS_USAGE_LKP: UsageTable = (
    ("Cell1", 0x00000001),
    ("Cell2", 0x00000002),
    ("Cell3", 0x00000003),
    ("Cell4", 0x00000004),
    ("Cell5", 0x00000005),
    ("Cell6", 0x00000006),
)

OPENUPS_CHARGING_INFO: Lookup = ((0, None, "openups_charging_fun", None),)

OPENUPS_DISCHARGING_INFO: Lookup = ((0, None, "openups_discharging_fun", None),)

OPENUPS_ONLINE_INFO: Lookup = ((0, None, "openups_online_fun", None),)

OPENUPS_NOBATTERY_INFO: Lookup = ((0, None, "openups_nobattery_fun", None),)

OPENUPS_OFF_INFO: Lookup = ((0, None, "openups_off_fun", None),)

OPENUPS_VIN_INFO: Lookup = ((0, None, "openups_scale_vin_fun", None),)

OPENUPS_VOUT_INFO: Lookup = ((0, None, "openups_scale_vout_fun", None),)

OPENUPS_CCHARGE_INFO: Lookup = ((0, None, "openups_scale_ccharge_fun", None),)

OPENUPS_CDISCHARGE_INFO: Lookup = ((0, None, "openups_scale_cdischarge_fun", None),)

OPENUPS_TEMPERATURE_INFO: Lookup = ((0, None, "openups_temperature_fun", None),)

OPENUPS_HID2NUT: tuple[HidInfo, ...] = (
    HidInfo("ups.serial", 0, 0, "UPS.PowerSummary.iSerialNumber", "%s", 0, "stringid_conversion"),
    HidInfo(
        "battery.type", 0, 0, "UPS.PowerSummary.iDeviceChemistry", "%s", 2, "stringid_conversion"
    ),
    HidInfo(
        "battery.mfr.date", 0, 0, "UPS.PowerSummary.iOEMInformation", "%s", 2, "stringid_conversion"
    ),
    HidInfo("battery.voltage", 0, 0, "UPS.PowerSummary.Voltage", "%.2f", 16, None),
    HidInfo("battery.current", 0, 0, "UPS.PowerSummary.Current", "%.3f", 16, None),
    HidInfo("battery.capacity", 0, 0, "UPS.PowerSummary.DesignCapacity", "%.0f", 2, None),
    HidInfo("battery.charge", 0, 0, "UPS.PowerSummary.RemainingCapacity", "%.0f", 16, None),
    HidInfo(
        "battery.charge.low", 0, 0, "UPS.PowerSummary.RemainingCapacityLimit", "%.0f", 16, None
    ),
    HidInfo(
        "battery.charge.warning", 0, 0, "UPS.PowerSummary.WarningCapacityLimit", "%.0f", 0, None
    ),
    HidInfo("battery.runtime", 0, 0, "UPS.PowerSummary.RunTimeToEmpty", "%.0f", 16, None),
    HidInfo(
        "battery.temperature",
        0,
        0,
        "UPS.PowerSummary.Temperature",
        None,
        16,
        "openups_temperature_info",
    ),
    HidInfo(
        "output.voltage", 0, 0, "UPS.PowerSummary.Output.Voltage", None, 16, "openups_vout_info"
    ),
    HidInfo(
        "output.current",
        0,
        0,
        "UPS.PowerSummary.Output.Current",
        None,
        16,
        "openups_cdischarge_info",
    ),
    HidInfo("input.voltage", 0, 0, "UPS.PowerSummary.Input.Voltage", None, 16, "openups_vin_info"),
    HidInfo(
        "input.current", 0, 0, "UPS.PowerSummary.Input.Current", None, 16, "openups_ccharge_info"
    ),
    HidInfo("BOOL", 0, 0, "UPS.PowerSummary.PresentStatus.Good", None, 16, "openups_off_info"),
    HidInfo(
        "BOOL", 0, 0, "UPS.PowerSummary.PresentStatus.InternalFailure", None, 16, "commfault_info"
    ),
    HidInfo("BOOL", 0, 0, "UPS.PowerSummary.PresentStatus.Overload", None, 16, "overload_info"),
    HidInfo(
        "BOOL", 0, 0, "UPS.PowerSummary.PresentStatus.OverTemperature", None, 16, "overheat_info"
    ),
    HidInfo(
        "BOOL",
        0,
        0,
        "UPS.PowerSummary.PresentStatus.ShutdownImminent",
        None,
        16,
        "shutdownimm_info",
    ),
    HidInfo(
        "BOOL",
        0,
        0,
        "UPS.PowerSummary.PresentStatus.BelowRemainingCapacityLimit",
        None,
        16,
        "lowbatt_info",
    ),
    HidInfo(
        "BOOL",
        0,
        0,
        "UPS.PowerSummary.PresentStatus.RemainingTimeLimitExpired",
        None,
        16,
        "timelimitexpired_info",
    ),
    HidInfo(
        "BOOL", 0, 0, "UPS.PowerSummary.PresentStatus.Charging", None, 16, "openups_charging_info"
    ),
    HidInfo(
        "BOOL",
        0,
        0,
        "UPS.PowerSummary.PresentStatus.Discharging",
        None,
        16,
        "openups_discharging_info",
    ),
    HidInfo(
        "BOOL", 0, 0, "UPS.PowerSummary.PresentStatus.NeedReplacement", None, 0, "replacebatt_info"
    ),
    HidInfo(
        "BOOL", 0, 0, "UPS.PowerSummary.PresentStatus.ACPresent", None, 16, "openups_online_info"
    ),
    HidInfo(
        "BOOL",
        0,
        0,
        "UPS.PowerSummary.PresentStatus.BatteryPresent",
        None,
        16,
        "openups_nobattery_info",
    ),
)

OPENUPS_USB_DEVICE_TABLE: DeviceTable = (
    (0x04D8, 0xD004, "get_voltage_multiplier"),
    (0x04D8, 0xD005, "get_voltage_multiplier"),
)


# the scale factors of each model, set when the device is claimed (1 otherwise)
_SCALES = {
    0xD004: (0.03545 * 100, 0.02571 * 100, 0.8274 / 10, 16.113 / 10),
    0xD005: (0.1, 0.1, 0.1, 0.1),
}


def _get_voltage_multiplier(session: Session, dev: UsbDevice) -> None:
    scales = _SCALES.get(dev.product_id)
    if scales is not None:
        session.vendor.update(zip(("vin", "vout", "ccharge", "cdischarge"), scales, strict=True))


# thermistor readings (x100) at -40, -35 ... 125 degrees C
THERM_TBL = (
    0x31, 0x40, 0x53, 0x68, 0x82, 0xA0, 0xC3, 0xE9, 0x113, 0x13F, 0x16E, 0x19F, 0x1CF, 0x200,
    0x22F, 0x25C, 0x286, 0x2AE, 0x2D3, 0x2F4, 0x312, 0x32D, 0x345, 0x35A, 0x36D, 0x37E, 0x38C,
    0x399, 0x3A5, 0x3AF, 0x3B7, 0x3BF, 0x3C6, 0x3CC,
)  # fmt: skip


def openups_temperature_fun(s: Session, value: float) -> str | None:
    thermistor = int(value * 100) & 0xFFFFFFFF
    if thermistor <= THERM_TBL[0]:
        return "-40"
    if thermistor >= THERM_TBL[-1]:
        return "125"
    pos = 0
    for i in range(len(THERM_TBL) - 1, -1, -1):
        if thermistor >= THERM_TBL[i]:
            pos = i
            break
    if thermistor == THERM_TBL[pos]:
        return str(pos * 5 - 40)
    t1, t2 = pos * 5 - 40, (pos + 1) * 5 - 40
    d1, d2 = THERM_TBL[pos], THERM_TBL[pos + 1]
    return f"{(thermistor - d1) * (t2 - t1) / (d2 - d1) + t1:.2f}"


def _flag(on: str, off: str) -> Fun:
    return lambda s, value: on if value else off


def _scaled(key: str, digits: int) -> Fun:
    return lambda s, value: f"{value * s.vendor.get(key, 1.0):.{digits}f}"


_FUNS: dict[str, Fun] = {
    "openups_charging_fun": _flag("chrg", "!chrg"),
    "openups_discharging_fun": _flag("dischrg", "!dischrg"),
    "openups_online_fun": _flag("online", "!online"),
    "openups_nobattery_fun": _flag("nobattery", "!nobattery"),
    "openups_off_fun": _flag("!off", "off"),
    "openups_scale_vin_fun": _scaled("vin", 2),
    "openups_scale_vout_fun": _scaled("vout", 2),
    "openups_scale_ccharge_fun": _scaled("ccharge", 3),
    "openups_scale_cdischarge_fun": _scaled("cdischarge", 3),
    "openups_temperature_fun": openups_temperature_fun,
}

SUBDRIVER = Subdriver(
    name=NAME,
    claim=table_claim(
        OPENUPS_USB_DEVICE_TABLE, {"get_voltage_multiplier": _get_voltage_multiplier}, "openUPS"
    ),
    usages=(OPENUPS_USAGE_LKP, GENERIC_USAGES),
    hid2nut=OPENUPS_HID2NUT,
    lookups={
        "openups_charging_info": OPENUPS_CHARGING_INFO,
        "openups_discharging_info": OPENUPS_DISCHARGING_INFO,
        "openups_online_info": OPENUPS_ONLINE_INFO,
        "openups_nobattery_info": OPENUPS_NOBATTERY_INFO,
        "openups_off_info": OPENUPS_OFF_INFO,
        "openups_vin_info": OPENUPS_VIN_INFO,
        "openups_vout_info": OPENUPS_VOUT_INFO,
        "openups_ccharge_info": OPENUPS_CCHARGE_INFO,
        "openups_cdischarge_info": OPENUPS_CDISCHARGE_INFO,
        "openups_temperature_info": OPENUPS_TEMPERATURE_INFO,
    },
    funs=_FUNS,
    format_model=lambda s, d: d.product,
    format_mfr=lambda s, d: d.vendor if d.vendor is not None else "openUPS",
    format_serial=lambda s, d: d.serial,
)
