"""Belkin's subdriver, Liebert's too (NUT 2.8.0's belkin-hid, "Belkin/Liebert HID 0.18").

The usage names, HID-to-NUT rows, lookups and USB IDs are data reproduced from NUT so that
paths, variables and values match; the code around them is nutwist's.
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
from nutwist.drivers.hid.tables import DeviceTable, Fun, HidInfo, Lookup, UsageTable, c_long
from nutwist.drivers.hid.usages import GENERIC_USAGES

NAME = "Belkin/Liebert HID 0.18"
BELKIN_VENDORID = 0x050D
LIEBERT_VENDORID = 0x10AF

BELKIN_USAGE_LKP: UsageTable = (
    ("BELKINConfig", 0x00860026),
    ("BELKINConfigVoltage", 0x00860040),
    ("BELKINConfigFrequency", 0x00860042),
    ("BELKINConfigApparentPower", 0x00860043),
    ("BELKINConfigBatteryVoltage", 0x00860044),
    ("BELKINConfigOverloadTransfer", 0x00860045),
    ("BELKINLowVoltageTransfer", 0x00860053),
    ("BELKINHighVoltageTransfer", 0x00860054),
    ("BELKINLowVoltageTransferMax", 0x0086005B),
    ("BELKINLowVoltageTransferMin", 0x0086005C),
    ("BELKINHighVoltageTransferMax", 0x0086005D),
    ("BELKINHighVoltageTransferMin", 0x0086005E),
    ("BELKINControls", 0x00860027),
    ("BELKINLoadOn", 0x00860050),
    ("BELKINLoadOff", 0x00860051),
    ("BELKINLoadToggle", 0x00860052),
    ("BELKINDelayBeforeReboot", 0x00860055),
    ("BELKINDelayBeforeStartup", 0x00860056),
    ("BELKINDelayBeforeShutdown", 0x00860057),
    ("BELKINTest", 0x00860058),
    ("BELKINAudibleAlarmControl", 0x0086005A),
    ("BELKINDevice", 0x00860029),
    ("BELKINVoltageSensitivity", 0x00860074),
    ("BELKINModelString", 0x00860075),
    ("BELKINModelStringOffset", 0x00860076),
    ("BELKINUPSType", 0x0086007C),
    ("BELKINPowerState", 0x0086002A),
    ("BELKINInput", 0x0086001A),
    ("BELKINOutput", 0x0086001C),
    ("BELKINBatterySystem", 0x00860010),
    ("BELKINVoltage", 0x00860030),
    ("BELKINFrequency", 0x00860032),
    ("BELKINPower", 0x00860034),
    ("BELKINPercentLoad", 0x00860035),
    ("BELKINTemperature", 0x00860036),
    ("BELKINCharge", 0x00860039),
    ("BELKINRunTimeToEmpty", 0x0086006C),
    ("BELKINStatus", 0x00860028),
    ("BELKINBatteryStatus", 0x00860022),
    ("BELKINPowerStatus", 0x00860021),
)

LIEBERT_ONLINE_INFO: Lookup = ((0, None, "liebert_online_fun", None),)

LIEBERT_DISCHARGING_INFO: Lookup = ((0, None, "liebert_discharging_fun", None),)

LIEBERT_CHARGING_INFO: Lookup = ((0, None, "liebert_charging_fun", None),)

LIEBERT_LOWBATT_INFO: Lookup = ((0, None, "liebert_lowbatt_fun", None),)

LIEBERT_REPLACEBATT_INFO: Lookup = ((0, None, "liebert_replacebatt_fun", None),)

LIEBERT_SHUTDOWNIMM_INFO: Lookup = ((0, None, "liebert_shutdownimm_fun", None),)

LIEBERT_CONFIG_VOLTAGE_INFO: Lookup = ((0, None, "liebert_config_voltage_fun", None),)

LIEBERT_LINE_VOLTAGE_INFO: Lookup = ((0, None, "liebert_line_voltage_fun", None),)

BELKIN_FIRMWARE_CONVERSION: Lookup = ((0, None, "belkin_firmware_conversion_fun", None),)

BELKIN_UPSTYPE_CONVERSION: Lookup = ((0, None, "belkin_upstype_conversion_fun", None),)

BELKIN_SENSITIVITY_CONVERSION: Lookup = ((0, None, "belkin_sensitivity_conversion_fun", None),)

BELKIN_TEST_INFO: Lookup = (
    (0, "No test initiated", None, None),
    (1, "Done and passed", None, None),
    (2, "Done and warning", None, None),
    (3, "Done and error", None, None),
    (4, "Aborted", None, None),
    (5, "In progress", None, None),
)

BELKIN_OVERLOAD_CONVERSION: Lookup = ((0, None, "belkin_overload_conversion_fun", None),)

BELKIN_OVERHEAT_CONVERSION: Lookup = ((0, None, "belkin_overheat_conversion_fun", None),)

BELKIN_COMMFAULT_CONVERSION: Lookup = ((0, None, "belkin_commfault_conversion_fun", None),)

BELKIN_AWAITINGPOWER_CONVERSION: Lookup = ((0, None, "belkin_awaitingpower_conversion_fun", None),)

BELKIN_ONLINE_CONVERSION: Lookup = ((0, None, "belkin_online_conversion_fun", None),)

BELKIN_LOWBATT_CONVERSION: Lookup = ((0, None, "belkin_lowbatt_conversion_fun", None),)

BELKIN_DEPLETED_CONVERSION: Lookup = ((0, None, "belkin_depleted_conversion_fun", None),)

BELKIN_REPLACEBATT_CONVERSION: Lookup = ((0, None, "belkin_replacebatt_conversion_fun", None),)

BELKIN_HID2NUT: tuple[HidInfo, ...] = (
    HidInfo("battery.charge", 0, 0, "UPS.BELKINBatterySystem.BELKINCharge", "%.0f", 0, None),
    HidInfo("battery.charge.low", 0, 0, "UPS.PowerSummary.RemainingCapacityLimit", "%.0f", 0, None),
    HidInfo(
        "battery.charge.warning", 0, 0, "UPS.PowerSummary.WarningCapacityLimit", "%.0f", 0, None
    ),
    HidInfo("battery.runtime", 0, 0, "UPS.PowerSummary.RunTimeToEmpty", "%.0f", 0, None),
    HidInfo(
        "battery.type", 0, 0, "UPS.PowerSummary.iDeviceChemistry", "%s", 0, "stringid_conversion"
    ),
    HidInfo(
        "battery.voltage",
        0,
        0,
        "UPS.BELKINBatterySystem.BELKINVoltage",
        "%s",
        0,
        "divide_by_10_conversion",
    ),
    HidInfo(
        "battery.voltage.nominal",
        0,
        0,
        "UPS.BELKINConfig.BELKINConfigBatteryVoltage",
        "%.0f",
        0,
        None,
    ),
    HidInfo(
        "input.frequency",
        0,
        0,
        "UPS.BELKINPowerState.BELKINInput.BELKINFrequency",
        "%s",
        0,
        "divide_by_10_conversion",
    ),
    HidInfo(
        "input.frequency.nominal", 0, 0, "UPS.BELKINConfig.BELKINConfigFrequency", "%.0f", 0, None
    ),
    HidInfo(
        "input.sensitivity",
        3,
        10,
        "UPS.BELKINDevice.BELKINVoltageSensitivity",
        "%s",
        0,
        "belkin_sensitivity_conversion",
    ),
    HidInfo(
        "input.transfer.high", 3, 10, "UPS.BELKINConfig.BELKINHighVoltageTransfer", "%.0f", 0, None
    ),
    HidInfo(
        "input.transfer.high.max",
        0,
        0,
        "UPS.BELKINConfig.BELKINHighVoltageTransferMax",
        "%.0f",
        0,
        None,
    ),
    HidInfo(
        "input.transfer.high.min",
        0,
        0,
        "UPS.BELKINConfig.BELKINHighVoltageTransferMin",
        "%.0f",
        0,
        None,
    ),
    HidInfo(
        "input.transfer.low", 3, 10, "UPS.BELKINConfig.BELKINLowVoltageTransfer", "%.0f", 0, None
    ),
    HidInfo(
        "input.transfer.low.max",
        0,
        0,
        "UPS.BELKINConfig.BELKINLowVoltageTransferMax",
        "%.0f",
        0,
        None,
    ),
    HidInfo(
        "input.transfer.low.min",
        0,
        0,
        "UPS.BELKINConfig.BELKINLowVoltageTransferMin",
        "%.0f",
        0,
        None,
    ),
    HidInfo(
        "input.voltage",
        0,
        0,
        "UPS.BELKINPowerState.BELKINInput.BELKINVoltage",
        "%s",
        0,
        "divide_by_10_conversion",
    ),
    HidInfo("input.voltage.nominal", 0, 0, "UPS.BELKINConfig.BELKINConfigVoltage", "%.0f", 0, None),
    HidInfo(
        "output.frequency",
        0,
        0,
        "UPS.BELKINPowerState.BELKINOutput.BELKINFrequency",
        "%s",
        0,
        "divide_by_10_conversion",
    ),
    HidInfo(
        "output.voltage",
        0,
        0,
        "UPS.BELKINPowerState.BELKINOutput.BELKINVoltage",
        "%s",
        0,
        "divide_by_10_conversion",
    ),
    HidInfo(
        "ups.beeper.status",
        0,
        0,
        "UPS.BELKINControls.BELKINAudibleAlarmControl",
        "%s",
        0,
        "beeper_info",
    ),
    HidInfo("ups.delay.start", 3, 10, "UPS.BELKINControls.BELKINDelayBeforeStartup", "30", 8, None),
    HidInfo(
        "ups.delay.shutdown", 3, 10, "UPS.BELKINControls.BELKINDelayBeforeShutdown", "20", 8, None
    ),
    HidInfo(
        "ups.timer.start", 0, 0, "UPS.BELKINControls.BELKINDelayBeforeStartup", "%.0f", 16, None
    ),
    HidInfo(
        "ups.timer.shutdown", 0, 0, "UPS.BELKINControls.BELKINDelayBeforeShutdown", "%.0f", 16, None
    ),
    HidInfo(
        "ups.timer.reboot", 0, 0, "UPS.BELKINControls.BELKINDelayBeforeReboot", "%.0f", 16, None
    ),
    HidInfo(
        "ups.firmware",
        0,
        0,
        "UPS.BELKINDevice.BELKINUPSType",
        "%s",
        0,
        "belkin_firmware_conversion",
    ),
    HidInfo(
        "ups.load", 0, 0, "UPS.BELKINPowerState.BELKINOutput.BELKINPercentLoad", "%.0f", 0, None
    ),
    HidInfo(
        "ups.load.high", 0, 0, "UPS.BELKINConfig.BELKINConfigOverloadTransfer", "%.0f", 0, None
    ),
    HidInfo("ups.mfr.date", 0, 0, "UPS.PowerSummary.ManufacturerDate", "%s", 0, "date_conversion"),
    HidInfo(
        "ups.power.nominal", 0, 0, "UPS.BELKINConfig.BELKINConfigApparentPower", "%.0f", 0, None
    ),
    HidInfo("ups.serial", 0, 0, "UPS.PowerSummary.iSerialNumber", "%s", 0, "stringid_conversion"),
    HidInfo("ups.test.result", 0, 0, "UPS.BELKINControls.BELKINTest", "%s", 0, "belkin_test_info"),
    HidInfo(
        "ups.type", 0, 0, "UPS.BELKINDevice.BELKINUPSType", "%s", 0, "belkin_upstype_conversion"
    ),
    HidInfo("battery.charge", 0, 0, "UPS.PowerSummary.RemainingCapacity", "%.0f", 16, None),
    HidInfo("input.frequency", 0, 0, "UPS.Input.Frequency", "%s", 0, "divide_by_10_conversion"),
    HidInfo("input.voltage", 0, 0, "UPS.Input.Voltage", "%s", 0, "liebert_line_voltage_info"),
    HidInfo("output.voltage", 0, 0, "UPS.Output.Voltage", "%s", 0, "liebert_line_voltage_info"),
    HidInfo(
        "battery.voltage", 0, 0, "UPS.PowerSummary.Voltage", "%s", 0, "liebert_line_voltage_info"
    ),
    HidInfo(
        "battery.voltage.nominal",
        0,
        0,
        "UPS.PowerSummary.ConfigVoltage",
        "%s",
        2,
        "liebert_config_voltage_info",
    ),
    HidInfo("ups.load", 0, 0, "UPS.Output.PercentLoad", "%.0f", 0, None),
    HidInfo("BOOL", 0, 0, "UPS.PowerSummary.Discharging", None, 16, "liebert_discharging_info"),
    HidInfo("BOOL", 0, 0, "UPS.PowerSummary.Charging", None, 16, "liebert_charging_info"),
    HidInfo("BOOL", 0, 0, "UPS.PowerSummary.ShutdownImminent", None, 0, "liebert_shutdownimm_info"),
    HidInfo("BOOL", 0, 0, "UPS.PowerSummary.ACPresent", None, 16, "liebert_online_info"),
    HidInfo(
        "BOOL",
        0,
        0,
        "UPS.PowerSummary.PresentStatus.Discharging",
        None,
        16,
        "liebert_discharging_info",
    ),
    HidInfo(
        "BOOL", 0, 0, "UPS.PowerSummary.PresentStatus.Charging", None, 16, "liebert_charging_info"
    ),
    HidInfo(
        "BOOL",
        0,
        0,
        "UPS.PowerSummary.PresentStatus.ShutdownImminent",
        None,
        0,
        "liebert_shutdownimm_info",
    ),
    HidInfo(
        "BOOL", 0, 0, "UPS.PowerSummary.PresentStatus.ACPresent", None, 16, "liebert_online_info"
    ),
    HidInfo(
        "BOOL",
        0,
        0,
        "UPS.PowerSummary.PresentStatus.NeedReplacement",
        None,
        16,
        "liebert_replacebatt_info",
    ),
    HidInfo(
        "BOOL",
        0,
        0,
        "UPS.PowerSummary.PresentStatus.BelowRemainingCapacityLimit",
        None,
        16,
        "liebert_lowbatt_info",
    ),
    HidInfo(
        "BOOL", 0, 0, "UPS.BELKINStatus.BELKINPowerStatus", None, 0, "belkin_overload_conversion"
    ),
    HidInfo(
        "BOOL", 0, 0, "UPS.BELKINStatus.BELKINPowerStatus", None, 0, "belkin_overheat_conversion"
    ),
    HidInfo(
        "BOOL", 0, 0, "UPS.BELKINStatus.BELKINPowerStatus", None, 0, "belkin_commfault_conversion"
    ),
    HidInfo(
        "BOOL",
        0,
        0,
        "UPS.BELKINStatus.BELKINPowerStatus",
        None,
        0,
        "belkin_awaitingpower_conversion",
    ),
    HidInfo(
        "BOOL", 0, 0, "UPS.BELKINStatus.BELKINPowerStatus", None, 16, "belkin_online_conversion"
    ),
    HidInfo(
        "BOOL", 0, 0, "UPS.BELKINStatus.BELKINBatteryStatus", None, 16, "belkin_depleted_conversion"
    ),
    HidInfo(
        "BOOL",
        0,
        0,
        "UPS.BELKINStatus.BELKINBatteryStatus",
        None,
        0,
        "belkin_replacebatt_conversion",
    ),
    HidInfo(
        "BOOL", 0, 0, "UPS.BELKINStatus.BELKINBatteryStatus", None, 16, "belkin_lowbatt_conversion"
    ),
    HidInfo("test.battery.start.quick", 0, 0, "UPS.BELKINControls.BELKINTest", "1", 64, None),
    HidInfo("test.battery.start.deep", 0, 0, "UPS.BELKINControls.BELKINTest", "2", 64, None),
    HidInfo("test.battery.stop", 0, 0, "UPS.BELKINControls.BELKINTest", "3", 64, None),
    HidInfo("beeper.on", 0, 0, "UPS.BELKINControls.BELKINAudibleAlarmControl", "2", 64, None),
    HidInfo("beeper.off", 0, 0, "UPS.BELKINControls.BELKINAudibleAlarmControl", "3", 64, None),
    HidInfo("beeper.disable", 0, 0, "UPS.BELKINControls.BELKINAudibleAlarmControl", "1", 64, None),
    HidInfo("beeper.enable", 0, 0, "UPS.BELKINControls.BELKINAudibleAlarmControl", "2", 64, None),
    HidInfo("beeper.mute", 0, 0, "UPS.BELKINControls.BELKINAudibleAlarmControl", "3", 64, None),
    HidInfo("load.off", 0, 0, "UPS.BELKINControls.BELKINDelayBeforeShutdown", "1", 64, None),
    HidInfo("load.on", 0, 0, "UPS.BELKINControls.BELKINDelayBeforeStartup", "1", 64, None),
    HidInfo("load.off.delay", 0, 0, "UPS.BELKINControls.BELKINDelayBeforeShutdown", "20", 64, None),
    HidInfo("load.on.delay", 0, 0, "UPS.BELKINControls.BELKINDelayBeforeStartup", "30", 64, None),
    HidInfo("shutdown.stop", 0, 0, "UPS.BELKINControls.BELKINDelayBeforeShutdown", "-1", 64, None),
    HidInfo("shutdown.reboot", 0, 0, "UPS.BELKINControls.BELKINDelayBeforeReboot", "10", 64, None),
)

BELKIN_USB_DEVICE_TABLE: DeviceTable = (
    (0x050D, 0x0980, None),
    (0x050D, 0x0900, None),
    (0x050D, 0x0910, None),
    (0x050D, 0x0912, None),
    (0x050D, 0x0551, None),
    (0x050D, 0x0750, None),
    (0x050D, 0x0751, None),
    (0x050D, 0x0375, None),
    (0x050D, 0x0F51, None),
    (0x050D, 0x1100, None),
    (0x10AF, 0x0004, None),
    (0x10AF, 0x0001, None),
    (0x10AF, 0x0004, None),
    (0x10AF, 0x0008, None),
)


def _flag(on: str) -> Fun:
    return lambda s, value: on if value else "!" + on


def _voltage(key: str, also: str | None, what: str) -> Fun:
    """Some Liebert units give volts with the exponent of 10^-7: read them as volts again."""

    def fun(s: Session, value: float) -> str | None:
        if value < 1:
            if abs(value - 1e-7) < 1e-9:
                s.vendor[key] = 1e8 if also else 1e7
                if also:
                    s.vendor[also] = 1e7
            else:
                s.log("info", f"{what} exponent looks wrong, but not correcting.")
        return f"{value * s.vendor.get(key, 1.0):.1f}"[:9]

    return fun


def _bits(mask: int, word: str, inverted: bool = False) -> Fun:
    def fun(s: Session, value: float) -> str | None:
        hit = bool(c_long(value) & mask) != inverted
        return word if hit else "!" + word

    return fun


_UPS_TYPES = {1: "offline", 2: "line-interactive", 3: "simple online", 4: "simple offline",
              5: "simple line-interactive"}  # fmt: skip

_FUNS: dict[str, Fun] = {
    "liebert_online_fun": _flag("online"),
    "liebert_discharging_fun": _flag("dischrg"),
    "liebert_charging_fun": _flag("chrg"),
    "liebert_lowbatt_fun": _flag("lowbatt"),
    "liebert_replacebatt_fun": _flag("replacebatt"),
    "liebert_shutdownimm_fun": _flag("shutdownimm"),
    "liebert_config_voltage_fun": _voltage("lb_config", "lb_line", "ConfigVoltage"),
    "liebert_line_voltage_fun": _voltage("lb_line", None, "LineVoltage"),
    "belkin_firmware_conversion_fun": lambda s, value: str(c_long(value) >> 4),
    "belkin_upstype_conversion_fun": lambda s, value: _UPS_TYPES.get(
        c_long(value) & 0x0F, "online"
    ),
    "belkin_sensitivity_conversion_fun": lambda s, value: {1: "reduced", 2: "low"}.get(
        c_long(value), "normal"
    ),
    "belkin_overload_conversion_fun": _bits(0x0010, "overload"),
    "belkin_overheat_conversion_fun": _bits(0x0040, "overheat"),
    "belkin_commfault_conversion_fun": _bits(0x0080, "commfault"),
    "belkin_awaitingpower_conversion_fun": _bits(0x2000, "awaitingpower"),
    "belkin_online_conversion_fun": _bits(0x0001, "online", inverted=True),
    "belkin_lowbatt_conversion_fun": _bits(0x0004, "lowbatt"),
    "belkin_depleted_conversion_fun": _bits(0x0040, "depleted"),
    "belkin_replacebatt_conversion_fun": _bits(0x0080, "replacebatt"),
}


def _format_mfr(s: Session, dev: UsbDevice) -> str | None:
    mfr = (dev.vendor if dev.vendor is not None else "Belkin").lstrip(" ")
    return mfr or "Belkin"


def _format_serial(s: Session, dev: UsbDevice) -> str | None:
    if dev.serial is not None:
        return dev.serial
    field = s.find_path("UPS.PowerSummary.iSerialNumber")
    index = s.get_data_value(field, 2) if field is not None else None
    serial = s.get_index_string(int(index), 64) if index is not None else ""
    if not serial:
        return None
    dev.serial = serial
    return serial


def _claim(s: Session, dev: UsbDevice) -> bool:
    status = device_supported(s, BELKIN_USB_DEVICE_TABLE, dev, {})
    if status == SUPPORTED:
        return True
    if status != POSSIBLY_SUPPORTED:
        return False
    if dev.vendor_id == BELKIN_VENDORID and dev.product_id == 0x0218:
        return False  # a USB hub
    if s.getval("productid") is not None:
        return True
    s.log(
        "info", possibly_supported("Belkin" if dev.vendor_id == BELKIN_VENDORID else "Liebert", dev)
    )
    return False


SUBDRIVER = Subdriver(
    name=NAME,
    claim=_claim,
    usages=(BELKIN_USAGE_LKP, GENERIC_USAGES),
    hid2nut=BELKIN_HID2NUT,
    lookups={
        "liebert_online_info": LIEBERT_ONLINE_INFO,
        "liebert_discharging_info": LIEBERT_DISCHARGING_INFO,
        "liebert_charging_info": LIEBERT_CHARGING_INFO,
        "liebert_lowbatt_info": LIEBERT_LOWBATT_INFO,
        "liebert_replacebatt_info": LIEBERT_REPLACEBATT_INFO,
        "liebert_shutdownimm_info": LIEBERT_SHUTDOWNIMM_INFO,
        "liebert_config_voltage_info": LIEBERT_CONFIG_VOLTAGE_INFO,
        "liebert_line_voltage_info": LIEBERT_LINE_VOLTAGE_INFO,
        "belkin_firmware_conversion": BELKIN_FIRMWARE_CONVERSION,
        "belkin_upstype_conversion": BELKIN_UPSTYPE_CONVERSION,
        "belkin_sensitivity_conversion": BELKIN_SENSITIVITY_CONVERSION,
        "belkin_test_info": BELKIN_TEST_INFO,
        "belkin_overload_conversion": BELKIN_OVERLOAD_CONVERSION,
        "belkin_overheat_conversion": BELKIN_OVERHEAT_CONVERSION,
        "belkin_commfault_conversion": BELKIN_COMMFAULT_CONVERSION,
        "belkin_awaitingpower_conversion": BELKIN_AWAITINGPOWER_CONVERSION,
        "belkin_online_conversion": BELKIN_ONLINE_CONVERSION,
        "belkin_lowbatt_conversion": BELKIN_LOWBATT_CONVERSION,
        "belkin_depleted_conversion": BELKIN_DEPLETED_CONVERSION,
        "belkin_replacebatt_conversion": BELKIN_REPLACEBATT_CONVERSION,
    },
    funs=_FUNS,
    format_model=lambda s, d: d.product if d.product else "unknown",
    format_mfr=_format_mfr,
    format_serial=_format_serial,
)
