"""PowerCOM's subdriver (NUT 2.8.0's powercom-hid, "PowerCOM HID 0.6").

The usage names, HID-to-NUT rows, lookups and USB IDs are data reproduced from NUT so that
paths, variables and values match; the code around them is nutwist's.  PowerCOM packs its
delays as byte-swapped minutes (start) or minutes and seconds (shutdown), and its status as
bit fields.
"""

from __future__ import annotations

from nutwist.drivers.hid.engine import (
    POSSIBLY_SUPPORTED,
    SUPPORTED,
    Session,
    Subdriver,
    UsbDevice,
    device_supported,
    possibly_supported,
)
from nutwist.drivers.hid.tables import DeviceTable, Fun, HidInfo, Lookup, Nuf, UsageTable, c_long
from nutwist.drivers.hid.usages import GENERIC_USAGES

NAME = "PowerCOM HID 0.6"

POWERCOM_USAGE_LKP: UsageTable = (
    ("PowercomUPS", 0x00020004),
    ("PowercomBatterySystem", 0x00020010),
    ("PowercomPowerConverter", 0x00020016),
    ("PowercomInput", 0x0002001A),
    ("PowercomOutput", 0x0002001C),
    ("PowercomVoltage", 0x00020030),
    ("PowercomFrequency", 0x00020032),
    ("PowercomPercentLoad", 0x00020035),
    ("PowercomTemperature", 0x00020036),
    ("PowercomDelayBeforeStartup", 0x00020056),
    ("PowercomDelayBeforeShutdown", 0x00020057),
    ("PowercomTest", 0x00020058),
    ("PowercomShutdownRequested", 0x00020068),
    ("PowercomInternalChargeController", 0x00020081),
    ("PowercomPrimaryBatterySupport", 0x00020082),
    ("PowercomDesignCapacity", 0x00020083),
    ("PowercomSpecificationInfo", 0x00020084),
    ("PowercomManufacturerDate", 0x00020085),
    ("PowercomSerialNumber", 0x00020086),
    ("PowercomManufacturerName", 0x00020087),
    ("POWERCOM1", 0x0084002F),
    ("POWERCOM2", 0xFF860060),
    ("POWERCOM3", 0xFF860080),
    ("PCMDelayBeforeStartup", 0x00FF0056),
    ("PCMDelayBeforeShutdown", 0x00FF0057),
)

POWERCOM_STARTUP_INFO: Lookup = ((0, None, "powercom_startup_fun", "powercom_startup_nuf"),)

POWERCOM_SHUTDOWN_INFO: Lookup = ((0, None, "powercom_shutdown_fun", "powercom_shutdown_nuf"),)

POWERCOM_STAYOFF_INFO: Lookup = ((0, None, None, "powercom_stayoff_nuf"),)

POWERCOM_BEEPER_INFO: Lookup = (
    (1, "enabled", None, None),
    (2, "disabled", None, None),
)

POWERCOM_VOLTAGE_CONVERSION: Lookup = ((0, None, "powercom_voltage_conversion_fun", None),)

POWERCOM_UPSFAIL_CONVERSION: Lookup = ((0, None, "powercom_upsfail_conversion_fun", None),)

POWERCOM_REPLACEBATT_CONVERSION: Lookup = ((0, None, "powercom_replacebatt_conversion_fun", None),)

POWERCOM_TEST_CONVERSION: Lookup = ((0, None, "powercom_test_conversion_fun", None),)

POWERCOM_SHUTDOWNIMM_CONVERSION: Lookup = ((0, None, "powercom_shutdownimm_conversion_fun", None),)

POWERCOM_ONLINE_CONVERSION: Lookup = ((0, None, "powercom_online_conversion_fun", None),)

POWERCOM_LOWBATT_CONVERSION: Lookup = ((0, None, "powercom_lowbatt_conversion_fun", None),)

POWERCOM_TRIM_CONVERSION: Lookup = ((0, None, "powercom_trim_conversion_fun", None),)

POWERCOM_BOOST_CONVERSION: Lookup = ((0, None, "powercom_boost_conversion_fun", None),)

POWERCOM_OVERLOAD_CONVERSION: Lookup = ((0, None, "powercom_overload_conversion_fun", None),)

POWERCOM_HID2NUT: tuple[HidInfo, ...] = (
    HidInfo("BOOL", 0, 0, "UPS.PowerSummary.PresentStatus.ACPresent", None, 0, "online_info"),
    HidInfo(
        "BOOL", 0, 0, "UPS.PowerSummary.PresentStatus.BatteryPresent", None, 0, "nobattery_info"
    ),
    HidInfo(
        "BOOL",
        0,
        0,
        "UPS.PowerSummary.PresentStatus.BelowRemainingCapacityLimit",
        None,
        0,
        "lowbatt_info",
    ),
    HidInfo("BOOL", 0, 0, "UPS.PowerSummary.PresentStatus.Charging", None, 0, "charging_info"),
    HidInfo(
        "BOOL", 0, 0, "UPS.PowerSummary.PresentStatus.CommunicationLost", None, 0, "commfault_info"
    ),
    HidInfo(
        "BOOL", 0, 0, "UPS.PowerSummary.PresentStatus.Discharging", None, 0, "discharging_info"
    ),
    HidInfo(
        "BOOL", 0, 0, "UPS.PowerSummary.PresentStatus.NeedReplacement", None, 0, "replacebatt_info"
    ),
    HidInfo("BOOL", 0, 0, "UPS.PowerSummary.PresentStatus.Overload", None, 0, "overload_info"),
    HidInfo(
        "BOOL",
        0,
        0,
        "UPS.PowerSummary.PresentStatus.RemainingTimeLimitExpired",
        None,
        0,
        "timelimitexpired_info",
    ),
    HidInfo(
        "BOOL", 0, 0, "UPS.PowerSummary.PresentStatus.ShutdownImminent", None, 0, "shutdownimm_info"
    ),
    HidInfo("BOOL", 0, 0, "UPS.PresentStatus.ACPresent", None, 0, "online_info"),
    HidInfo("BOOL", 0, 0, "UPS.PresentStatus.BatteryPresent", None, 0, "nobattery_info"),
    HidInfo("BOOL", 0, 0, "UPS.PresentStatus.BelowRemainingCapacityLimit", None, 0, "lowbatt_info"),
    HidInfo("BOOL", 0, 0, "UPS.PresentStatus.Boost", None, 0, "boost_info"),
    HidInfo("BOOL", 0, 0, "UPS.PresentStatus.Buck", None, 0, "trim_info"),
    HidInfo("BOOL", 0, 0, "UPS.PresentStatus.Charging", None, 0, "charging_info"),
    HidInfo("BOOL", 0, 0, "UPS.PresentStatus.CommunicationLost", None, 0, "commfault_info"),
    HidInfo("BOOL", 0, 0, "UPS.PresentStatus.Discharging", None, 0, "discharging_info"),
    HidInfo("BOOL", 0, 0, "UPS.PresentStatus.NeedReplacement", None, 0, "replacebatt_info"),
    HidInfo("BOOL", 0, 0, "UPS.PresentStatus.Overload", None, 0, "overload_info"),
    HidInfo(
        "BOOL",
        0,
        0,
        "UPS.PresentStatus.RemainingTimeLimitExpired",
        None,
        0,
        "timelimitexpired_info",
    ),
    HidInfo("BOOL", 0, 0, "UPS.PresentStatus.ShutdownImminent", None, 0, "shutdownimm_info"),
    HidInfo("battery.charge", 0, 0, "UPS.PowerSummary.RemainingCapacity", "%.0f", 0, None),
    HidInfo("battery.charge", 0, 0, "UPS.Battery.RemainingCapacity", "%.0f", 0, None),
    HidInfo("battery.charge.low", 0, 0, "UPS.PowerSummary.RemainingCapacityLimit", "%.0f", 0, None),
    HidInfo(
        "battery.charge.warning", 0, 0, "UPS.PowerSummary.WarningCapacityLimit", "%.0f", 0, None
    ),
    HidInfo("battery.runtime", 0, 0, "UPS.PowerSummary.RunTimeToEmpty", "%.0f", 0, None),
    HidInfo("battery.date", 0, 0, "UPS.Battery.ManufacturerDate", "%s", 2, "date_conversion"),
    HidInfo(
        "battery.type", 0, 0, "UPS.PowerSummary.iDeviceChemistry", "%s", 2, "stringid_conversion"
    ),
    HidInfo(
        "ups.beeper.status",
        0,
        0,
        "UPS.PowerSummary.AudibleAlarmControl",
        "%s",
        0,
        "powercom_beeper_info",
    ),
    HidInfo("ups.beeper.status", 0, 0, "UPS.AudibleAlarmControl", "%s", 0, "powercom_beeper_info"),
    HidInfo("ups.load", 0, 0, "UPS.Output.PercentLoad", "%.0f", 0, None),
    HidInfo("ups.date", 0, 0, "UPS.PowerSummary.ManufacturerDate", "%s", 2, "date_conversion"),
    HidInfo("ups.test.result", 0, 0, "UPS.Battery.Test", "%s", 0, "test_read_info"),
    HidInfo("ups.delay.start", 3, 8, "UPS.PowerSummary.DelayBeforeStartup", "60", 8, None),
    HidInfo(
        "ups.timer.start",
        0,
        0,
        "UPS.PowerSummary.DelayBeforeStartup",
        "%.0f",
        0,
        "powercom_startup_info",
    ),
    HidInfo("ups.delay.shutdown", 3, 8, "UPS.PowerSummary.DelayBeforeShutdown", "20", 8, None),
    HidInfo(
        "ups.timer.shutdown",
        0,
        0,
        "UPS.PowerSummary.DelayBeforeShutdown",
        "%.0f",
        16,
        "powercom_shutdown_info",
    ),
    HidInfo("ups.delay.shutdown", 3, 8, "UPS.PowerSummary.PCMDelayBeforeShutdown", "20", 8, None),
    HidInfo(
        "ups.timer.shutdown",
        0,
        0,
        "UPS.PowerSummary.PCMDelayBeforeShutdown",
        "%.0f",
        16,
        "powercom_shutdown_info",
    ),
    HidInfo("input.voltage", 0, 0, "UPS.Input.Voltage", "%.1f", 0, None),
    HidInfo("input.voltage.nominal", 0, 0, "UPS.Input.ConfigVoltage", "%.0f", 2, None),
    HidInfo("input.frequency", 0, 0, "UPS.Input.Frequency", "%.1f", 0, None),
    HidInfo("output.voltage", 0, 0, "UPS.Output.Voltage", "%.1f", 0, None),
    HidInfo("output.voltage.nominal", 0, 0, "UPS.Output.ConfigVoltage", "%.0f", 2, None),
    HidInfo("output.frequency", 0, 0, "UPS.Output.Frequency", "%.1f", 0, None),
    HidInfo("beeper.toggle", 0, 0, "UPS.PowerSummary.AudibleAlarmControl", "1", 64, None),
    HidInfo("beeper.enable", 0, 0, "UPS.PowerSummary.AudibleAlarmControl", "1", 64, None),
    HidInfo("beeper.disable", 0, 0, "UPS.PowerSummary.AudibleAlarmControl", "0", 64, None),
    HidInfo("test.battery.start.quick", 0, 0, "UPS.Battery.Test", "1", 64, None),
    HidInfo(
        "load.on.delay",
        0,
        0,
        "UPS.PowerSummary.DelayBeforeStartup",
        None,
        64,
        "powercom_startup_info",
    ),
    HidInfo(
        "shutdown.return",
        0,
        0,
        "UPS.PowerSummary.DelayBeforeShutdown",
        None,
        64,
        "powercom_shutdown_info",
    ),
    HidInfo(
        "shutdown.stayoff",
        0,
        0,
        "UPS.PowerSummary.DelayBeforeShutdown",
        None,
        64,
        "powercom_stayoff_info",
    ),
    HidInfo(
        "load.on", 0, 0, "UPS.PowerSummary.PCMDelayBeforeStartup", "0", 64, "powercom_startup_info"
    ),
    HidInfo(
        "load.off",
        0,
        0,
        "UPS.PowerSummary.PCMDelayBeforeShutdown",
        "0",
        64,
        "powercom_stayoff_info",
    ),
    HidInfo(
        "shutdown.return",
        0,
        0,
        "UPS.PowerSummary.PCMDelayBeforeShutdown",
        None,
        64,
        "powercom_shutdown_info",
    ),
    HidInfo(
        "shutdown.stayoff",
        0,
        0,
        "UPS.PowerSummary.PCMDelayBeforeShutdown",
        None,
        64,
        "powercom_stayoff_info",
    ),
    HidInfo("ups.serial", 0, 0, "PowercomUPS.PowercomSerialNumber", "%s", 0, "stringid_conversion"),
    HidInfo(
        "ups.mfr", 0, 0, "PowercomUPS.PowercomManufacturerName", "%s", 0, "stringid_conversion"
    ),
    HidInfo(
        "ups.mfr.date", 0, 0, "PowercomUPS.PowercomManufacturerDate", "%s", 0, "date_conversion"
    ),
    HidInfo(
        "battery.temperature",
        0,
        0,
        "PowercomUPS.PowercomBatterySystem.PowercomTemperature",
        "%.0f",
        0,
        None,
    ),
    HidInfo("battery.temperature", 0, 0, "UPS.Battery.Temperature", "%.1f", 0, None),
    HidInfo(
        "battery.charge", 0, 0, "PowercomUPS.PowercomBatterySystem.PowercomVoltage", "%.0f", 0, None
    ),
    HidInfo(
        "input.frequency",
        0,
        0,
        "PowercomUPS.PowercomPowerConverter.PowercomInput.PowercomFrequency",
        "%.0f",
        0,
        None,
    ),
    HidInfo(
        "input.voltage",
        0,
        0,
        "PowercomUPS.PowercomPowerConverter.PowercomInput.PowercomVoltage",
        "%.0f",
        0,
        "powercom_voltage_conversion",
    ),
    HidInfo(
        "output.voltage",
        0,
        0,
        "PowercomUPS.PowercomPowerConverter.PowercomOutput.PowercomVoltage",
        "%.0f",
        0,
        "powercom_voltage_conversion",
    ),
    HidInfo(
        "ups.load",
        0,
        0,
        "PowercomUPS.PowercomPowerConverter.PowercomOutput.PowercomPercentLoad",
        "%.0f",
        0,
        None,
    ),
    HidInfo(
        "BOOL",
        0,
        0,
        "PowercomUPS.PowercomPowerConverter.PowercomOutput.PowercomInternalChargeController",
        None,
        16,
        "powercom_upsfail_conversion",
    ),
    HidInfo(
        "BOOL",
        0,
        0,
        "PowercomUPS.PowercomPowerConverter.PowercomOutput.PowercomInternalChargeController",
        None,
        16,
        "powercom_replacebatt_conversion",
    ),
    HidInfo(
        "BOOL",
        0,
        0,
        "PowercomUPS.PowercomPowerConverter.PowercomOutput.PowercomInternalChargeController",
        None,
        16,
        "powercom_test_conversion",
    ),
    HidInfo(
        "BOOL",
        0,
        0,
        "PowercomUPS.PowercomPowerConverter.PowercomOutput.PowercomInternalChargeController",
        None,
        16,
        "powercom_shutdownimm_conversion",
    ),
    HidInfo(
        "BOOL",
        0,
        0,
        "PowercomUPS.PowercomPowerConverter.PowercomOutput.PowercomPrimaryBatterySupport",
        None,
        16,
        "powercom_online_conversion",
    ),
    HidInfo(
        "BOOL",
        0,
        0,
        "PowercomUPS.PowercomPowerConverter.PowercomOutput.PowercomPrimaryBatterySupport",
        None,
        16,
        "powercom_lowbatt_conversion",
    ),
    HidInfo(
        "BOOL",
        0,
        0,
        "PowercomUPS.PowercomPowerConverter.PowercomOutput.PowercomPrimaryBatterySupport",
        None,
        16,
        "powercom_trim_conversion",
    ),
    HidInfo(
        "BOOL",
        0,
        0,
        "PowercomUPS.PowercomPowerConverter.PowercomOutput.PowercomPrimaryBatterySupport",
        None,
        16,
        "powercom_boost_conversion",
    ),
    HidInfo(
        "BOOL",
        0,
        0,
        "PowercomUPS.PowercomPowerConverter.PowercomOutput.PowercomPrimaryBatterySupport",
        None,
        16,
        "powercom_overload_conversion",
    ),
    HidInfo(
        "output.frequency",
        0,
        0,
        "PowercomUPS.PowercomPowerConverter.PowercomOutput.PowercomFrequency",
        "%.0f",
        0,
        None,
    ),
    HidInfo(
        "ups.test.result",
        0,
        0,
        "PowercomUPS.PowercomPowerConverter.PowercomTest",
        "%s",
        0,
        "test_read_info",
    ),
    HidInfo(
        "ups.delay.shutdown",
        0,
        0,
        "PowercomUPS.PowercomPowerConverter.PowercomDelayBeforeShutdown",
        "%.0f",
        0,
        None,
    ),
    HidInfo(
        "ups.delay.start",
        0,
        0,
        "PowercomUPS.PowercomPowerConverter.PowercomDelayBeforeStartup",
        "%.0f",
        0,
        None,
    ),
    HidInfo(
        "load.off",
        0,
        0,
        "PowercomUPS.PowercomPowerConverter.PowercomDelayBeforeShutdown",
        "0",
        64,
        None,
    ),
)

POWERCOM_USB_DEVICE_TABLE: DeviceTable = (
    (0x0D9F, 0x00A2, None),
    (0x0D9F, 0x00A3, None),
    (0x0D9F, 0x00A4, None),
    (0x0D9F, 0x00A5, None),
    (0x0D9F, 0x00A6, None),
    (0x0D9F, 0x0004, None),
    (0x0D9F, 0x0001, None),
)


def _atoi(text: str | None) -> int:
    from nutwist.drivers.hid.engine import c_atol

    return c_atol(text)


def powercom_startup_fun(s: Session, value: float) -> str | None:
    i = c_long(value) & 0xFFFF
    return str(60 * (((i & 0x00FF) << 8) + (i >> 8)))


def powercom_startup_nuf(s: Session, text: str | None) -> float:
    minutes = int(_atoi(text if text is not None else s.dstate.get("ups.delay.start")) / 60)
    if not 0 <= minutes <= 0xFFFF:
        return 0.0
    return float(((minutes << 8) & 0xFFFF) + (minutes >> 8))


def powercom_shutdown_fun(s: Session, value: float) -> str | None:
    i = c_long(value) & 0xFFFF
    return str(60 * (i & 0x00FF) + (i >> 8))


def _shutdown_command(s: Session, text: str | None, flag: int) -> float:
    seconds = _atoi(text if text is not None else s.dstate.get("ups.delay.shutdown"))
    if not 0 <= seconds <= 0xFFFF:
        return 0.0
    seconds = seconds or 1  # 0 would set the longest delay
    command = ((((seconds % 60) << 8) & 0xFFFF) + seconds // 60) & 0xFFFF
    return float(command | flag)


def powercom_shutdown_nuf(s: Session, text: str | None) -> float:
    return _shutdown_command(s, text, 0x4000)  # restart when the power comes back


def powercom_stayoff_nuf(s: Session, text: str | None) -> float:
    return _shutdown_command(s, text, 0x8000)  # stay off


def powercom_voltage_conversion_fun(s: Session, value: float) -> str | None:
    return f"{value * 4:0.0f}"


def _bit(mask: int, word: str, equal: int | None = None) -> Fun:
    def fun(s: Session, value: float) -> str | None:
        bits = c_long(value) & mask
        hit = bits == equal if equal is not None else bool(bits)
        return word if hit else "!" + word

    return fun


def powercom_online_conversion_fun(s: Session, value: float) -> str | None:
    return "!online" if c_long(value) & 0x0001 else "online"


_FUNS: dict[str, Fun] = {
    "powercom_startup_fun": powercom_startup_fun,
    "powercom_shutdown_fun": powercom_shutdown_fun,
    "powercom_voltage_conversion_fun": powercom_voltage_conversion_fun,
    "powercom_upsfail_conversion_fun": _bit(0x0001, "fanfail"),
    "powercom_replacebatt_conversion_fun": _bit(0x0002, "replacebatt"),
    "powercom_test_conversion_fun": _bit(0x0004, "cal"),
    "powercom_shutdownimm_conversion_fun": _bit(0x0010, "shutdownimm"),
    "powercom_online_conversion_fun": powercom_online_conversion_fun,
    "powercom_lowbatt_conversion_fun": _bit(0x0002, "lowbatt"),
    "powercom_trim_conversion_fun": _bit(0x0018, "trim", 0x0008),
    "powercom_boost_conversion_fun": _bit(0x0018, "boost", 0x0018),
    "powercom_overload_conversion_fun": _bit(0x0020, "overload"),
}
_NUFS: dict[str, Nuf] = {
    "powercom_startup_nuf": powercom_startup_nuf,
    "powercom_shutdown_nuf": powercom_shutdown_nuf,
    "powercom_stayoff_nuf": powercom_stayoff_nuf,
}


def _claim(s: Session, dev: UsbDevice) -> bool:
    status = device_supported(s, POWERCOM_USB_DEVICE_TABLE, dev, {})
    if status == SUPPORTED:
        if dev.product_id == 0x0001:
            s.interrupt_only = True
            s.interrupt_size = 8
        return True
    if status != POSSIBLY_SUPPORTED:
        return False
    if dev.product_id == 0x0002:
        s.log(
            "info",
            f"This Powercom device ({dev.vendor_id:04x}/{dev.product_id:04x}) is not supported"
            " by usbhid-ups.\nPlease use the 'powercom' driver instead.\n",
        )
        return False
    if s.getval("productid") is not None:
        return True
    s.log("info", possibly_supported("PowerCOM", dev))
    return False


SUBDRIVER = Subdriver(
    name=NAME,
    claim=_claim,
    usages=(POWERCOM_USAGE_LKP, GENERIC_USAGES),
    hid2nut=POWERCOM_HID2NUT,
    lookups={
        "powercom_startup_info": POWERCOM_STARTUP_INFO,
        "powercom_shutdown_info": POWERCOM_SHUTDOWN_INFO,
        "powercom_stayoff_info": POWERCOM_STAYOFF_INFO,
        "powercom_beeper_info": POWERCOM_BEEPER_INFO,
        "powercom_voltage_conversion": POWERCOM_VOLTAGE_CONVERSION,
        "powercom_upsfail_conversion": POWERCOM_UPSFAIL_CONVERSION,
        "powercom_replacebatt_conversion": POWERCOM_REPLACEBATT_CONVERSION,
        "powercom_test_conversion": POWERCOM_TEST_CONVERSION,
        "powercom_shutdownimm_conversion": POWERCOM_SHUTDOWNIMM_CONVERSION,
        "powercom_online_conversion": POWERCOM_ONLINE_CONVERSION,
        "powercom_lowbatt_conversion": POWERCOM_LOWBATT_CONVERSION,
        "powercom_trim_conversion": POWERCOM_TRIM_CONVERSION,
        "powercom_boost_conversion": POWERCOM_BOOST_CONVERSION,
        "powercom_overload_conversion": POWERCOM_OVERLOAD_CONVERSION,
    },
    funs=_FUNS,
    nufs=_NUFS,
    format_model=lambda s, d: d.product,
    format_mfr=lambda s, d: d.vendor if d.vendor is not None else "PowerCOM",
    format_serial=lambda s, d: d.serial,
)
