"""CyberPower's subdriver (NUT 2.8.0's cps-hid, "CyberPower HID 0.6").

The HID-to-NUT rows, lookups and USB IDs are data reproduced from NUT so that variables and
values match; the code around them is nutwist's.
"""

from __future__ import annotations

import re

from nutwist.drivers.hid.engine import Session, Subdriver, UsbDevice, table_claim
from nutwist.drivers.hid.parser import ReportDescriptor
from nutwist.drivers.hid.tables import DeviceTable, HidInfo, Lookup, UsageTable
from nutwist.drivers.hid.usages import GENERIC_USAGES

NAME = "CyberPower HID 0.6"
CPS_VENDORID = 0x0764
# some models give the output voltage the high transfer point's logical range
CPS_VOLTAGE_LOGMIN = 0
CPS_VOLTAGE_LOGMAX = 511
# a battery voltage this far above nominal is read 1.5 times too high: scale it by 2/3
BATTERY_VOLTAGE_SANITY = 1.4

CPS_USAGE_LKP: UsageTable = ()

CPS_BATTVOLT: Lookup = ((0, None, "cps_battvolt_fun", None),)

CPS_BATTCHARGE: Lookup = ((0, None, "cps_battcharge_fun", None),)

CPS_HID2NUT: tuple[HidInfo, ...] = (
    HidInfo(
        "battery.type", 0, 0, "UPS.PowerSummary.iDeviceChemistry", "%s", 0, "stringid_conversion"
    ),
    HidInfo(
        "battery.mfr.date", 0, 0, "UPS.PowerSummary.iOEMInformation", "%s", 0, "stringid_conversion"
    ),
    HidInfo(
        "battery.charge.warning", 0, 0, "UPS.PowerSummary.WarningCapacityLimit", "%.0f", 0, None
    ),
    HidInfo(
        "battery.charge.low", 3, 10, "UPS.PowerSummary.RemainingCapacityLimit", "%.0f", 4, None
    ),
    HidInfo(
        "battery.charge", 0, 0, "UPS.PowerSummary.RemainingCapacity", "%s", 0, "cps_battcharge"
    ),
    HidInfo("battery.runtime", 0, 0, "UPS.PowerSummary.RunTimeToEmpty", "%.0f", 0, None),
    HidInfo("battery.runtime.low", 3, 10, "UPS.PowerSummary.RemainingTimeLimit", "%.0f", 4, None),
    HidInfo("battery.voltage.nominal", 0, 0, "UPS.PowerSummary.ConfigVoltage", "%.0f", 0, None),
    HidInfo("battery.voltage", 0, 0, "UPS.PowerSummary.Voltage", "%s", 0, "cps_battvolt"),
    HidInfo("ups.load", 0, 0, "UPS.Output.PercentLoad", "%.0f", 0, None),
    HidInfo(
        "ups.beeper.status", 0, 0, "UPS.PowerSummary.AudibleAlarmControl", "%s", 0, "beeper_info"
    ),
    HidInfo("ups.test.result", 0, 0, "UPS.Output.Test", "%s", 0, "test_read_info"),
    HidInfo("ups.realpower.nominal", 0, 0, "UPS.Output.ConfigActivePower", "%.0f", 0, None),
    HidInfo("ups.delay.start", 3, 10, "UPS.Output.DelayBeforeStartup", "30", 8, None),
    HidInfo("ups.delay.shutdown", 3, 10, "UPS.Output.DelayBeforeShutdown", "20", 8, None),
    HidInfo("ups.timer.start", 0, 0, "UPS.Output.DelayBeforeStartup", "%.0f", 16, None),
    HidInfo("ups.timer.shutdown", 0, 0, "UPS.Output.DelayBeforeShutdown", "%.0f", 16, None),
    HidInfo("ups.timer.reboot", 0, 0, "UPS.Output.DelayBeforeReboot", "%.0f", 16, None),
    HidInfo("BOOL", 0, 0, "UPS.PowerSummary.PresentStatus.ACPresent", None, 16, "online_info"),
    HidInfo("BOOL", 0, 0, "UPS.PowerSummary.PresentStatus.Charging", None, 16, "charging_info"),
    HidInfo(
        "BOOL", 0, 0, "UPS.PowerSummary.PresentStatus.Discharging", None, 16, "discharging_info"
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
        "BOOL", 0, 0, "UPS.PowerSummary.PresentStatus.FullyCharged", None, 0, "fullycharged_info"
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
    HidInfo("BOOL", 0, 0, "UPS.Output.Boost", None, 0, "boost_info"),
    HidInfo("BOOL", 0, 0, "UPS.Output.Overload", None, 0, "overload_info"),
    HidInfo("input.frequency", 0, 0, "UPS.Input.Frequency", "%.1f", 0, None),
    HidInfo("input.voltage.nominal", 0, 0, "UPS.Input.ConfigVoltage", "%.0f", 0, None),
    HidInfo("input.voltage", 0, 0, "UPS.Input.Voltage", "%.1f", 0, None),
    HidInfo("input.transfer.low", 3, 10, "UPS.Input.LowVoltageTransfer", "%.0f", 4, None),
    HidInfo("input.transfer.high", 3, 10, "UPS.Input.HighVoltageTransfer", "%.0f", 4, None),
    HidInfo("output.frequency", 0, 0, "UPS.Output.Frequency", "%.1f", 0, None),
    HidInfo("output.voltage", 0, 0, "UPS.Output.Voltage", "%.1f", 0, None),
    HidInfo("output.voltage.nominal", 0, 0, "UPS.Output.ConfigVoltage", "%.0f", 0, None),
    HidInfo("test.battery.start.quick", 0, 0, "UPS.Output.Test", "1", 64, None),
    HidInfo("test.battery.start.deep", 0, 0, "UPS.Output.Test", "2", 64, None),
    HidInfo("test.battery.stop", 0, 0, "UPS.Output.Test", "3", 64, None),
    HidInfo("load.off.delay", 0, 0, "UPS.Output.DelayBeforeShutdown", "20", 64, None),
    HidInfo("load.on.delay", 0, 0, "UPS.Output.DelayBeforeStartup", "30", 64, None),
    HidInfo("shutdown.stop", 0, 0, "UPS.Output.DelayBeforeShutdown", "-1", 64, None),
    HidInfo("shutdown.reboot", 0, 0, "UPS.Output.DelayBeforeReboot", "10", 64, None),
    HidInfo("beeper.on", 0, 0, "UPS.PowerSummary.AudibleAlarmControl", "2", 64, None),
    HidInfo("beeper.off", 0, 0, "UPS.PowerSummary.AudibleAlarmControl", "3", 64, None),
    HidInfo("beeper.enable", 0, 0, "UPS.PowerSummary.AudibleAlarmControl", "2", 64, None),
    HidInfo("beeper.disable", 0, 0, "UPS.PowerSummary.AudibleAlarmControl", "1", 64, None),
    HidInfo("beeper.mute", 0, 0, "UPS.PowerSummary.AudibleAlarmControl", "3", 64, None),
)

CPS_USB_DEVICE_TABLE: DeviceTable = (
    (0x0764, 0x0005, None),
    (0x0764, 0x0501, "cps_battery_scale"),
    (0x0764, 0x0601, None),
)


def _battery_scale(session: Session, dev: UsbDevice) -> None:
    session.vendor["cps_might_scale"] = True


def cps_battvolt_fun(session: Session, value: float) -> str | None:
    state = session.vendor
    if state.get("cps_might_scale") and not state.get("cps_scale_checked"):
        nominal_text = session.dstate.get("battery.voltage.nominal")
        if nominal_text is not None:
            m = re.match(r"\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", nominal_text)
            nominal = float(m.group(0)) if m else 0.0
            if nominal != 0:
                if value / nominal > BATTERY_VOLTAGE_SANITY:
                    session.log(
                        "info", "cps_adjust_battery_scale: battery readings will be scaled by 2/3"
                    )
                    state["cps_scale"] = 2.0 / 3
                state["cps_scale_checked"] = True
    scale = state.get("cps_scale", 1.0)
    return f"{scale * value:.1f}"[:7]


def cps_battcharge_fun(session: Session, value: float) -> str | None:
    return f"{value if value < 100.0 else 100.0:.0f}"[:7]


def _fix_report_desc(session: Session, dev: UsbDevice, desc: ReportDescriptor) -> bool:
    """CP900EPFCLCD and others give the output voltage the input high transfer point's
    limits: give both voltages fixed, wide limits instead."""
    if (dev.vendor_id, dev.product_id) != (CPS_VENDORID, 0x0501):
        return False
    hvt = desc.find_by_id_node(16, 0x00840054)
    if hvt is None:
        return False
    output = desc.find_by_id_node(18, 0x00840030)
    if output is None or (hvt.log_min, hvt.log_max) != (output.log_min, output.log_max):
        return False
    output.log_min, output.log_max = CPS_VOLTAGE_LOGMIN, CPS_VOLTAGE_LOGMAX
    return True


SUBDRIVER = Subdriver(
    name=NAME,
    claim=table_claim(CPS_USB_DEVICE_TABLE, {"cps_battery_scale": _battery_scale}, "CyberPower"),
    usages=(CPS_USAGE_LKP, GENERIC_USAGES),
    hid2nut=CPS_HID2NUT,
    lookups={"cps_battvolt": CPS_BATTVOLT, "cps_battcharge": CPS_BATTCHARGE},
    funs={"cps_battvolt_fun": cps_battvolt_fun, "cps_battcharge_fun": cps_battcharge_fun},
    format_model=lambda s, d: d.product,
    format_mfr=lambda s, d: d.vendor if d.vendor is not None else "CPS",
    format_serial=lambda s, d: d.serial,
    fix_report_desc=_fix_report_desc,
)
