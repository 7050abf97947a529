"""Salicru's subdriver (NUT 2.8.0's salicru-hid, "Salicru HID 0.3").

The HID-to-NUT rows, lookups and USB IDs are data reproduced from NUT so that variables and
values match; the code around them is nutwist's.
"""

from __future__ import annotations

from nutwist.drivers.hid.engine import Subdriver, table_claim
from nutwist.drivers.hid.tables import DeviceTable, HidInfo, UsageTable
from nutwist.drivers.hid.usages import GENERIC_USAGES

NAME = "Salicru HID 0.3"

SALICRU_USAGE_LKP: UsageTable = ()

SALICRU_HID2NUT: tuple[HidInfo, ...] = (
    HidInfo(
        "battery.type", 0, 0, "UPS.PowerSummary.iDeviceChemistry", "%s", 0, "stringid_conversion"
    ),
    HidInfo("battery.charge", 0, 0, "UPS.PowerSummary.RemainingCapacity", "%.0f", 0, None),
    HidInfo(
        "battery.charge.warning", 0, 0, "UPS.PowerSummary.WarningCapacityLimit", "%.0f", 0, None
    ),
    HidInfo(
        "battery.charge.low", 3, 10, "UPS.PowerSummary.RemainingCapacityLimit", "%.0f", 4, None
    ),
    HidInfo("battery.runtime", 0, 0, "UPS.PowerSummary.RunTimeToEmpty", "%.0f", 0, None),
    HidInfo("battery.runtime.low", 3, 10, "UPS.PowerSummary.RemainingTimeLimit", "%.0f", 4, None),
    HidInfo("battery.voltage.nominal", 0, 0, "UPS.PowerSummary.ConfigVoltage", "%.0f", 0, None),
    HidInfo("battery.voltage", 0, 0, "UPS.PowerSummary.Voltage", "%.2f", 0, None),
    HidInfo("ups.load", 0, 0, "UPS.Output.PercentLoad", "%.0f", 0, None),
    HidInfo(
        "ups.beeper.status", 0, 0, "UPS.PowerSummary.AudibleAlarmControl", "%s", 0, "beeper_info"
    ),
    HidInfo("ups.test.result", 0, 0, "UPS.Output.Test", "%s", 0, "test_read_info"),
    HidInfo("ups.realpower.nominal", 0, 0, "UPS.Output.ConfigActivePower", "%.0f", 0, None),
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
    HidInfo("BOOL", 0, 0, "UPS.Output.CommunicationLost", None, 0, "commfault_info"),
    HidInfo("BOOL", 0, 0, "UPS.Output.Boost", None, 0, "boost_info"),
    HidInfo("BOOL", 0, 0, "UPS.Output.Overload", None, 0, "overload_info"),
    HidInfo("input.frequency", 0, 0, "UPS.Input.Frequency", "%.1f", 0, None),
    HidInfo("input.voltage.nominal", 0, 0, "UPS.Input.ConfigVoltage", "%.0f", 0, None),
    HidInfo("input.voltage", 0, 0, "UPS.Input.Voltage", "%.1f", 0, None),
    HidInfo(
        "input.transfer.high",
        0,
        0,
        "UPS.PowerConverter.Output.HighVoltageTransfer",
        "%.0f",
        2,
        None,
    ),
    HidInfo(
        "input.transfer.low", 0, 0, "UPS.PowerConverter.Output.LowVoltageTransfer", "%.0f", 2, None
    ),
    HidInfo("output.frequency", 0, 0, "UPS.Output.Frequency", "%.1f", 0, None),
    HidInfo("output.voltage", 0, 0, "UPS.Output.Voltage", "%.1f", 0, None),
    HidInfo("output.voltage.nominal", 0, 0, "UPS.Output.ConfigVoltage", "%.0f", 0, None),
    HidInfo("ups.load", 0, 0, "UPS.PowerSummary.PercentLoad", "%.0f", 0, None),
    HidInfo("ups.test.result", 0, 0, "UPS.BatterySystem.Battery.Test", "%s", 0, "test_read_info"),
    HidInfo("ups.realpower.nominal", 0, 0, "UPS.Flow.[4].ConfigActivePower", "%.0f", 0, None),
    HidInfo("ups.realpower", 0, 0, "UPS.PowerConverter.Output.ActivePower", "%.0f", 0, None),
    HidInfo("BOOL", 0, 0, "UPS.PowerSummary.PresentStatus.Overload", None, 0, "overload_info"),
    HidInfo(
        "BOOL", 0, 0, "UPS.PowerSummary.PresentStatus.OverTemperature", None, 0, "overheat_info"
    ),
    HidInfo("input.frequency", 0, 0, "UPS.PowerConverter.Input.[1].Frequency", "%.1f", 0, None),
    HidInfo("input.voltage", 0, 0, "UPS.PowerConverter.Input.[1].Voltage", "%.1f", 0, None),
    HidInfo("output.frequency", 0, 0, "UPS.PowerConverter.Output.Frequency", "%.1f", 0, None),
    HidInfo("output.voltage", 0, 0, "UPS.PowerConverter.Output.Voltage", "%.1f", 0, None),
    HidInfo("output.voltage.nominal", 0, 0, "UPS.PowerSummary.ConfigVoltage", "%.0f", 0, None),
    HidInfo("ups.test.result", 0, 0, "UPS.BatterySystem.Battery.Test", "%s", 0, "test_read_info"),
    HidInfo("test.battery.start.quick", 0, 0, "UPS.BatterySystem.Battery.Test", "1", 64, None),
    HidInfo("test.battery.start.deep", 0, 0, "UPS.BatterySystem.Battery.Test", "2", 64, None),
    HidInfo("test.battery.stop", 0, 0, "UPS.BatterySystem.Battery.Test", "3", 64, None),
)

SALICRU_USB_DEVICE_TABLE: DeviceTable = (
    (0x2E66, 0x0201, None),
    (0x2E66, 0x0202, None),
    (0x2E66, 0x0203, None),
    (0x2E66, 0x0300, None),
)


SUBDRIVER = Subdriver(
    name=NAME,
    claim=table_claim(SALICRU_USB_DEVICE_TABLE, {}, "Salicru"),
    usages=(
        SALICRU_USAGE_LKP,
        GENERIC_USAGES,
    ),
    hid2nut=SALICRU_HID2NUT,
    lookups={},
    format_model=lambda s, d: d.product,
    format_mfr=lambda s, d: d.vendor if d.vendor is not None else "Salicru",
    format_serial=lambda s, d: d.serial,
)
