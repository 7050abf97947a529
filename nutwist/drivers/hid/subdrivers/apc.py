"""APC's subdriver (NUT 2.8.0's apc-hid, "APC HID 0.98").

The usage names, lookups, HID-to-NUT rows and USB IDs are data reproduced from NUT so that
paths, variables and values match; the code around them is nutwist's.
"""

from __future__ import annotations

import re

from nutwist.drivers.hid import tables as tb
from nutwist.drivers.hid.engine import Session, Subdriver, UsbDevice, table_claim
from nutwist.drivers.hid.parser import ReportDescriptor
from nutwist.drivers.hid.tables import DeviceTable, HidInfo, Lookup, UsageTable
from nutwist.drivers.hid.usages import GENERIC_USAGES

NAME = "APC HID 0.98"
APC_VENDORID = 0x051D

APC_USAGE_LKP: UsageTable = (
    ("APCGeneralCollection", 0xFF860005),
    ("APCEnvironment", 0xFF860006),
    ("APCProbe1", 0xFF860007),
    ("APCProbe2", 0xFF860008),
    ("APCBattReplaceDate", 0xFF860016),
    ("APCBattCapBeforeStartup", 0xFF860019),
    ("APC_UPS_FirmwareRevision", 0xFF860042),
    ("APCLineFailCause", 0xFF860052),
    ("APCStatusFlag", 0xFF860060),
    ("APCSensitivity", 0xFF860061),
    ("APCPanelTest", 0xFF860072),
    ("APCShutdownAfterDelay", 0xFF860076),
    ("APC_USB_FirmwareRevision", 0xFF860079),
    ("APCDelayBeforeReboot", 0xFF86007C),
    ("APCDelayBeforeShutdown", 0xFF86007D),
    ("APCDelayBeforeStartup", 0xFF86007E),
    ("BUPHibernate", 0x00850058),
    ("BUPBattCapBeforeStartup", 0x00860012),
    ("BUPDelayBeforeStartup", 0x00860076),
    ("BUPSelfTest", 0x00860010),
)

APC_DATE_CONVERSION: Lookup = ((0, None, "apc_date_conversion_fun", "apc_date_conversion_reverse"),)

APCSTATUSFLAG_INFO: Lookup = (
    (8, "!off", None, None),
    (16, "!off", None, None),
    (0, "off", None, None),
)

APC_LINEFAILCAUSE_VRANGE_INFO: Lookup = (
    (1, "vrange", None, None),
    (2, "vrange", None, None),
    (4, "vrange", None, None),
    (8, "vrange", None, None),
    (9, "vrange", None, None),
    (0, "!vrange", None, None),
)

APC_LINEFAILCAUSE_FRANGE_INFO: Lookup = (
    (7, "frange", None, None),
    (0, "!frange", None, None),
)

APC_SENSITIVITY_INFO: Lookup = (
    (0, "low", None, None),
    (1, "medium", None, None),
    (2, "high", None, None),
)

APC_HID2NUT: tuple[HidInfo, ...] = (
    HidInfo("battery.charge", 0, 0, "UPS.PowerSummary.RemainingCapacity", "%.0f", 0, None),
    HidInfo(
        "battery.charge.low", 3, 10, "UPS.PowerSummary.RemainingCapacityLimit", "%.0f", 4, None
    ),
    HidInfo(
        "battery.charge.warning", 0, 0, "UPS.PowerSummary.WarningCapacityLimit", "%.0f", 0, None
    ),
    HidInfo("battery.runtime", 0, 0, "UPS.Battery.RunTimeToEmpty", "%.0f", 0, None),
    HidInfo("battery.runtime", 0, 0, "UPS.PowerSummary.RunTimeToEmpty", "%.0f", 0, None),
    HidInfo("battery.runtime.low", 3, 10, "UPS.Battery.RemainingTimeLimit", "%.0f", 4, None),
    HidInfo("battery.runtime.low", 3, 10, "UPS.PowerSummary.RemainingTimeLimit", "%.0f", 4, None),
    HidInfo("battery.voltage", 0, 0, "UPS.Battery.Voltage", "%.1f", 0, None),
    HidInfo("battery.voltage", 0, 0, "UPS.PowerSummary.Voltage", "%.1f", 0, None),
    HidInfo("battery.voltage.nominal", 0, 0, "UPS.Battery.ConfigVoltage", "%.1f", 0, None),
    HidInfo("battery.voltage.nominal", 0, 0, "UPS.PowerSummary.ConfigVoltage", "%.1f", 0, None),
    HidInfo(
        "battery.temperature", 0, 0, "UPS.Battery.Temperature", "%s", 0, "kelvin_celsius_conversion"
    ),
    HidInfo(
        "battery.type", 0, 0, "UPS.PowerSummary.iDeviceChemistry", "%s", 0, "stringid_conversion"
    ),
    HidInfo("battery.mfr.date", 3, 10, "UPS.Battery.ManufacturerDate", "%s", 4, "date_conversion"),
    HidInfo(
        "battery.mfr.date",
        0,
        0,
        "UPS.PowerSummary.APCBattReplaceDate",
        "%s",
        0,
        "apc_date_conversion",
    ),
    HidInfo("battery.date", 0, 0, "UPS.Battery.APCBattReplaceDate", "%s", 0, "apc_date_conversion"),
    HidInfo("ups.load", 0, 0, "UPS.Output.PercentLoad", "%.1f", 0, None),
    HidInfo("ups.load", 0, 0, "UPS.PowerConverter.PercentLoad", "%.0f", 0, None),
    HidInfo("ups.delay.start", 3, 10, "UPS.PowerSummary.DelayBeforeStartup", "30", 8, None),
    HidInfo("ups.delay.shutdown", 3, 10, "UPS.PowerSummary.DelayBeforeShutdown", "20", 8, None),
    HidInfo("ups.timer.start", 0, 0, "UPS.PowerSummary.DelayBeforeStartup", "%.0f", 16, None),
    HidInfo("ups.timer.shutdown", 0, 0, "UPS.PowerSummary.DelayBeforeShutdown", "%.0f", 16, None),
    HidInfo("ups.timer.reboot", 0, 0, "UPS.PowerSummary.DelayBeforeReboot", "%.0f", 16, None),
    HidInfo("ups.delay.start", 3, 10, "UPS.Output.DelayBeforeStartup", "30", 8, None),
    HidInfo("ups.delay.shutdown", 3, 10, "UPS.Output.DelayBeforeShutdown", "20", 8, None),
    HidInfo("ups.timer.start", 0, 0, "UPS.Output.DelayBeforeStartup", "%.0f", 16, None),
    HidInfo("ups.timer.shutdown", 0, 0, "UPS.Output.DelayBeforeShutdown", "%.0f", 16, None),
    HidInfo("ups.timer.reboot", 0, 0, "UPS.Output.DelayBeforeReboot", "%.0f", 16, None),
    HidInfo(
        "ups.delay.start", 3, 10, "UPS.APCGeneralCollection.APCDelayBeforeStartup", "30", 8, None
    ),
    HidInfo(
        "ups.delay.shutdown",
        3,
        10,
        "UPS.APCGeneralCollection.APCDelayBeforeShutdown",
        "20",
        8,
        None,
    ),
    HidInfo(
        "ups.timer.start", 0, 0, "UPS.APCGeneralCollection.APCDelayBeforeStartup", "%.0f", 16, None
    ),
    HidInfo(
        "ups.timer.shutdown",
        0,
        0,
        "UPS.APCGeneralCollection.APCDelayBeforeShutdown",
        "%.0f",
        16,
        None,
    ),
    HidInfo(
        "ups.timer.reboot", 0, 0, "UPS.APCGeneralCollection.APCDelayBeforeReboot", "%.0f", 16, None
    ),
    HidInfo("ups.test.result", 0, 0, "UPS.Battery.Test", "%s", 0, "test_read_info"),
    HidInfo(
        "ups.beeper.status", 0, 0, "UPS.PowerSummary.AudibleAlarmControl", "%s", 0, "beeper_info"
    ),
    HidInfo("ups.mfr.date", 0, 0, "UPS.ManufacturerDate", "%s", 0, "date_conversion"),
    HidInfo("ups.mfr.date", 0, 0, "UPS.PowerSummary.ManufacturerDate", "%s", 0, "date_conversion"),
    HidInfo("ups.realpower.nominal", 0, 0, "UPS.PowerConverter.ConfigActivePower", "%.0f", 0, None),
    HidInfo("ups.realpower.nominal", 0, 0, "UPS.Output.ConfigActivePower", "%.0f", 0, None),
    HidInfo("BOOL", 0, 0, "UPS.PowerSummary.PresentStatus.ACPresent", None, 16, "online_info"),
    HidInfo(
        "BOOL", 0, 0, "UPS.PowerSummary.PresentStatus.Discharging", None, 16, "discharging_info"
    ),
    HidInfo("BOOL", 0, 0, "UPS.PowerSummary.PresentStatus.Charging", None, 16, "charging_info"),
    HidInfo(
        "BOOL", 0, 0, "UPS.PowerSummary.PresentStatus.ShutdownImminent", None, 0, "shutdownimm_info"
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
    HidInfo("BOOL", 0, 0, "UPS.PowerSummary.PresentStatus.Overload", None, 0, "overload_info"),
    HidInfo(
        "BOOL", 0, 0, "UPS.PowerSummary.PresentStatus.NeedReplacement", None, 0, "replacebatt_info"
    ),
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
        "BOOL", 0, 0, "UPS.PowerSummary.PresentStatus.BatteryPresent", None, 0, "nobattery_info"
    ),
    HidInfo("BOOL", 0, 0, "UPS.PowerSummary.Charging", None, 16, "charging_info"),
    HidInfo("BOOL", 0, 0, "UPS.PowerSummary.Discharging", None, 16, "discharging_info"),
    HidInfo("BOOL", 0, 0, "UPS.PowerSummary.ACPresent", None, 16, "online_info"),
    HidInfo("BOOL", 0, 0, "UPS.PowerSummary.BelowRemainingCapacityLimit", None, 16, "lowbatt_info"),
    HidInfo("BOOL", 0, 0, "UPS.PowerSummary.ShutdownImminent", None, 0, "shutdownimm_info"),
    HidInfo("BOOL", 0, 0, "UPS.PowerSummary.APCStatusFlag", None, 16, "apcstatusflag_info"),
    HidInfo("BOOL", 0, 0, "UPS.Input.APCLineFailCause", None, 0, "apc_linefailcause_vrange_info"),
    HidInfo("BOOL", 0, 0, "UPS.Input.APCLineFailCause", None, 0, "apc_linefailcause_frange_info"),
    HidInfo("input.voltage", 0, 0, "UPS.Input.Voltage", "%.1f", 0, None),
    HidInfo("input.voltage.nominal", 0, 0, "UPS.Input.ConfigVoltage", "%.0f", 0, None),
    HidInfo("input.transfer.low", 3, 10, "UPS.Output.LowVoltageTransfer", "%.0f", 4, None),
    HidInfo("input.transfer.high", 3, 10, "UPS.Output.HighVoltageTransfer", "%.0f", 4, None),
    HidInfo("input.transfer.low", 3, 10, "UPS.Input.LowVoltageTransfer", "%.0f", 4, None),
    HidInfo("input.transfer.high", 3, 10, "UPS.Input.HighVoltageTransfer", "%.0f", 4, None),
    HidInfo(
        "input.sensitivity", 3, 10, "UPS.Input.APCSensitivity", "%s", 4, "apc_sensitivity_info"
    ),
    HidInfo("output.voltage", 0, 0, "UPS.Output.Voltage", "%.1f", 0, None),
    HidInfo("output.voltage.nominal", 0, 0, "UPS.Output.ConfigVoltage", "%.1f", 0, None),
    HidInfo("output.current", 0, 0, "UPS.Output.Current", "%.2f", 0, None),
    HidInfo("output.frequency", 0, 0, "UPS.Output.Frequency", "%.1f", 0, None),
    HidInfo(
        "ambient.temperature",
        0,
        0,
        "UPS.APCEnvironment.APCProbe1.Temperature",
        "%s",
        0,
        "kelvin_celsius_conversion",
    ),
    HidInfo("ambient.humidity", 0, 0, "UPS.APCEnvironment.APCProbe1.Humidity", "%.1f", 0, None),
    HidInfo("test.battery.start.quick", 0, 0, "UPS.BatterySystem.Battery.Test", "1", 64, None),
    HidInfo("test.battery.start.quick", 0, 0, "UPS.Battery.Test", "1", 64, None),
    HidInfo("test.battery.start.deep", 0, 0, "UPS.BatterySystem.Battery.Test", "2", 64, None),
    HidInfo("test.battery.start.deep", 0, 0, "UPS.Battery.Test", "2", 64, None),
    HidInfo("test.battery.stop", 0, 0, "UPS.BatterySystem.Battery.Test", "3", 64, None),
    HidInfo("test.battery.stop", 0, 0, "UPS.Battery.Test", "3", 64, None),
    HidInfo("test.panel.start", 0, 0, "UPS.APCPanelTest", "1", 64, None),
    HidInfo("test.panel.stop", 0, 0, "UPS.APCPanelTest", "0", 64, None),
    HidInfo("test.panel.start", 0, 0, "UPS.PowerSummary.APCPanelTest", "1", 64, None),
    HidInfo("test.panel.stop", 0, 0, "UPS.PowerSummary.APCPanelTest", "0", 64, None),
    HidInfo("load.off.delay", 0, 0, "UPS.PowerSummary.DelayBeforeShutdown", "20", 64, None),
    HidInfo("load.on.delay", 0, 0, "UPS.PowerSummary.DelayBeforeStartup", "30", 64, None),
    HidInfo("shutdown.stop", 0, 0, "UPS.PowerSummary.DelayBeforeShutdown", "-1", 64, None),
    HidInfo("shutdown.reboot", 0, 0, "UPS.PowerSummary.DelayBeforeReboot", "10", 64, None),
    HidInfo("load.off.delay", 0, 0, "UPS.Output.DelayBeforeShutdown", "20", 64, None),
    HidInfo("load.on.delay", 0, 0, "UPS.Output.DelayBeforeStartup", "30", 64, None),
    HidInfo("shutdown.stop", 0, 0, "UPS.Output.DelayBeforeShutdown", "-1", 64, None),
    HidInfo("shutdown.reboot", 0, 0, "UPS.Output.DelayBeforeReboot", "10", 64, None),
    HidInfo(
        "load.off.delay", 0, 0, "UPS.APCGeneralCollection.APCDelayBeforeShutdown", "20", 64, None
    ),
    HidInfo(
        "load.on.delay", 0, 0, "UPS.APCGeneralCollection.APCDelayBeforeStartup", "30", 64, None
    ),
    HidInfo(
        "shutdown.stop", 0, 0, "UPS.APCGeneralCollection.APCDelayBeforeShutdown", "-1", 64, None
    ),
    HidInfo(
        "shutdown.reboot", 0, 0, "UPS.APCGeneralCollection.APCDelayBeforeReboot", "10", 64, None
    ),
    HidInfo("shutdown.return", 0, 0, "UPS.Output.APCDelayBeforeReboot", "1", 64, None),
    HidInfo("beeper.on", 0, 0, "UPS.PowerSummary.AudibleAlarmControl", "2", 64, None),
    HidInfo("beeper.off", 0, 0, "UPS.PowerSummary.AudibleAlarmControl", "3", 64, None),
    HidInfo("beeper.enable", 0, 0, "UPS.PowerSummary.AudibleAlarmControl", "2", 64, None),
    HidInfo("beeper.disable", 0, 0, "UPS.PowerSummary.AudibleAlarmControl", "1", 64, None),
    HidInfo("beeper.mute", 0, 0, "UPS.PowerSummary.AudibleAlarmControl", "3", 64, None),
)

APC_USB_DEVICE_TABLE: DeviceTable = (
    (0x051D, 0x0000, None),
    (0x051D, 0x0002, "general_apc_check"),
    (0x051D, 0x0003, "disable_interrupt_pipe"),
)


# Back-UPS models whose firmware overflows some reports: ask every report with 8 bytes
_MAX_REPORT_MODELS = ("Back-UPS ES 525", "Back-UPS CS")


def _general_apc_check(session: Session, dev: UsbDevice) -> None:
    if dev.product is None:
        session.log(
            "warn",
            "device->Product is NULL so it is not possible to determine"
            " whether to activate max_report_size workaround",
        )
        return
    if any(dev.product.startswith(m) for m in _MAX_REPORT_MODELS):
        session.max_report_size = True


def _disable_interrupt_pipe(session: Session, dev: UsbDevice) -> None:
    # 5G models use the interrupt pipe for a proprietary protocol
    if session.use_interrupt_pipe:
        session.log(
            "info",
            "interrupt pipe disabled (add 'pollonly' flag to 'ups.conf' to get"
            " rid of this message)",
        )
        session.use_interrupt_pipe = False


_TWEAKS = {
    "general_apc_check": _general_apc_check,
    "disable_interrupt_pipe": _disable_interrupt_pipe,
}


def apc_date_conversion_fun(session: Session, value: float) -> str | None:
    """APC's dates are hexadecimal digits read as decimal: 0x102202 is 2002/10/22."""
    v = tb.c_long(value)
    if v == 0:
        return "not set"
    year = (v & 0xF) + 10 * ((v >> 4) & 0xF)
    month = ((v >> 16) & 0xF) + 10 * ((v >> 20) & 0xF)
    day = ((v >> 8) & 0xF) + 10 * ((v >> 12) & 0xF)
    year += 1900 if year >= 70 else 2000
    return f"{year:04d}/{month:02d}/{day:02d}"


def apc_date_conversion_reverse(session: Session, text: str | None) -> float:
    m = re.match(r"\s*([+-]?\d{1,4})/\s*([+-]?\d{1,2})/\s*([+-]?\d{1,2})", text or "")
    if not m:
        return 0.0
    year, month, day = (int(g) for g in m.groups())
    if year >= 2070 or month > 12 or day > 31:
        return 0.0
    year %= 100
    date = (((year // 10) & 0x0F) << 4) + (year % 10)
    date += (((month // 10) & 0x0F) << 20) + ((month % 10) << 16)
    date += (((day // 10) & 0x0F) << 12) + ((day % 10) << 8)
    return float(date)


def _format_model(session: Session, dev: UsbDevice) -> str | None:
    model = (dev.product or "unknown")[:63]
    at = model.find("FW:")
    if at >= 0:
        firmware = model[at + 3 :]
        model = model[: max(at - 1, 0)]
        usb = firmware.find("USB FW:")
        if usb >= 0:
            session.setinfo("ups.firmware.aux", firmware[usb + 7 :])
            firmware = firmware[: max(usb - 1, 0)]
        session.setinfo("ups.firmware", firmware)
    return model


def _fix_report_desc(session: Session, dev: UsbDevice, desc: ReportDescriptor) -> bool:
    """The Back-UPS XS 1400U gives its input voltage fields too small a logical range on
    220-240 V; widen them when the high transfer point exceeds them."""
    if (dev.vendor_id, dev.product_id) != (APC_VENDORID, 0x0002):
        return False
    fixed = False
    hvt = desc.find_by_id_node(0x33, 0x00840054)
    if hvt is None:
        return False
    voltage = desc.find_by_id_node(0x31, 0x00840030)
    if voltage is not None and hvt.log_max > voltage.log_max:
        voltage.log_min = 0
        voltage.log_max = hvt.log_max * 2
        fixed = True
    config = desc.find_by_id_node(0x30, 0x00840040)
    if config is not None and hvt.log_max > config.log_max:
        config.log_max = 255
        fixed = True
    return fixed


SUBDRIVER = Subdriver(
    name=NAME,
    claim=table_claim(APC_USB_DEVICE_TABLE, _TWEAKS, "APC"),
    usages=(APC_USAGE_LKP, GENERIC_USAGES),
    hid2nut=APC_HID2NUT,
    lookups={
        "apc_date_conversion": APC_DATE_CONVERSION,
        "apcstatusflag_info": APCSTATUSFLAG_INFO,
        "apc_linefailcause_vrange_info": APC_LINEFAILCAUSE_VRANGE_INFO,
        "apc_linefailcause_frange_info": APC_LINEFAILCAUSE_FRANGE_INFO,
        "apc_sensitivity_info": APC_SENSITIVITY_INFO,
    },
    funs={"apc_date_conversion_fun": apc_date_conversion_fun},
    nufs={"apc_date_conversion_reverse": apc_date_conversion_reverse},
    format_model=_format_model,
    format_mfr=lambda s, d: d.vendor if d.vendor is not None else "APC",
    format_serial=lambda s, d: d.serial,
    fix_report_desc=_fix_report_desc,
)
