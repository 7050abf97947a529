"""iDowell's subdriver (NUT 2.8.0's idowell-hid, "iDowell HID 0.2").

The HID-to-NUT rows, lookups and USB IDs are data reproduced from NUT so that variables and
values match; the code around them is nutwist's.
"""

from __future__ import annotations

from nutwist.drivers.hid.engine import Subdriver, table_claim
from nutwist.drivers.hid.tables import DeviceTable, HidInfo, UsageTable
from nutwist.drivers.hid.usages import GENERIC_USAGES

NAME = "iDowell HID 0.2"

IDOWELL_USAGE_LKP: UsageTable = ()

IDOWELL_HID2NUT: tuple[HidInfo, ...] = (
    HidInfo("BOOL", 0, 0, "UPS.PowerSummary.PresentStatus.ACPresent", None, 16, "online_info"),
    HidInfo(
        "BOOL",
        0,
        0,
        "UPS.PowerSummary.PresentStatus.BelowRemainingCapacityLimit",
        None,
        16,
        "lowbatt_info",
    ),
    HidInfo("BOOL", 0, 0, "UPS.PowerSummary.PresentStatus.Charging", None, 16, "charging_info"),
    HidInfo(
        "BOOL", 0, 0, "UPS.PowerSummary.PresentStatus.CommunicationLost", None, 0, "commfault_info"
    ),
    HidInfo(
        "BOOL", 0, 0, "UPS.PowerSummary.PresentStatus.Discharging", None, 16, "discharging_info"
    ),
    HidInfo("BOOL", 0, 0, "UPS.PowerSummary.PresentStatus.Good", None, 0, "off_info"),
    HidInfo(
        "BOOL", 0, 0, "UPS.PowerSummary.PresentStatus.InternalFailure", None, 0, "commfault_info"
    ),
    HidInfo(
        "BOOL", 0, 0, "UPS.PowerSummary.PresentStatus.NeedReplacement", None, 0, "replacebatt_info"
    ),
    HidInfo("BOOL", 0, 0, "UPS.PowerSummary.PresentStatus.Overload", None, 0, "overload_info"),
    HidInfo(
        "BOOL", 0, 0, "UPS.PowerSummary.PresentStatus.ShutdownImminent", None, 0, "shutdownimm_info"
    ),
    HidInfo("battery.charge", 0, 0, "UPS.PowerSummary.RemainingCapacity", "%.0f", 0, None),
    HidInfo("battery.charge.low", 0, 0, "UPS.PowerSummary.RemainingCapacityLimit", "%.0f", 2, None),
    HidInfo("battery.runtime", 0, 0, "UPS.PowerSummary.RunTimeToEmpty", "%.0f", 0, None),
    HidInfo(
        "battery.type", 0, 0, "UPS.PowerSummary.iDeviceChemistry", "%s", 2, "stringid_conversion"
    ),
    HidInfo("ups.delay.start", 3, 10, "UPS.PowerSummary.DelayBeforeStartup", "30", 8, None),
    HidInfo("ups.delay.shutdown", 3, 10, "UPS.PowerSummary.DelayBeforeShutdown", "20", 8, None),
    HidInfo("ups.timer.start", 0, 0, "UPS.PowerSummary.DelayBeforeStartup", "%.0f", 16, None),
    HidInfo("ups.timer.shutdown", 0, 0, "UPS.PowerSummary.DelayBeforeShutdown", "%.0f", 16, None),
    HidInfo("ups.load", 0, 0, "UPS.PowerSummary.PercentLoad", "%.0f", 0, None),
    HidInfo("ups.power.nominal", 0, 0, "UPS.Flow.[4].ConfigApparentPower", "%.0f", 2, None),
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
    HidInfo("output.voltage", 0, 0, "UPS.PowerConverter.Output.Voltage", "%.1f", 0, None),
    HidInfo("output.voltage.nominal", 0, 0, "UPS.Flow.[4].ConfigVoltage", "%.0f", 2, None),
    HidInfo("output.frequency.nominal", 0, 0, "UPS.Flow.[4].ConfigFrequency", "%.0f", 2, None),
    HidInfo("load.off.delay", 0, 0, "UPS.PowerSummary.DelayBeforeShutdown", "20", 64, None),
    HidInfo("load.on.delay", 0, 0, "UPS.PowerSummary.DelayBeforeStartup", "30", 64, None),
    HidInfo("shutdown.stop", 0, 0, "UPS.PowerSummary.DelayBeforeShutdown", "-1", 64, None),
)

IDOWELL_USB_DEVICE_TABLE: DeviceTable = ((0x075D, 0x0300, None),)


SUBDRIVER = Subdriver(
    name=NAME,
    claim=table_claim(IDOWELL_USB_DEVICE_TABLE, {}, "iDowell"),
    usages=(
        IDOWELL_USAGE_LKP,
        GENERIC_USAGES,
    ),
    hid2nut=IDOWELL_HID2NUT,
    lookups={},
    format_model=lambda s, d: d.product,
    format_mfr=lambda s, d: d.vendor if d.vendor is not None else "iDowell",
    format_serial=lambda s, d: d.serial,
)
