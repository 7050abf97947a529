"""Phoenixtec/Liebert's subdriver (NUT 2.8.0's liebert-hid, "Phoenixtec/Liebert HID 0.41").

The HID-to-NUT rows, lookups and USB IDs are data reproduced from NUT so that variables and
values match; the code around them is nutwist's.
"""

from __future__ import annotations

from nutwist.drivers.hid.engine import Subdriver, table_claim
from nutwist.drivers.hid.tables import DeviceTable, HidInfo, UsageTable
from nutwist.drivers.hid.usages import GENERIC_USAGES

NAME = "Phoenixtec/Liebert HID 0.41"

LIEBERT_USAGE_LKP: UsageTable = ()

LIEBERT_HID2NUT: tuple[HidInfo, ...] = (
    HidInfo("battery.voltage", 0, 0, "UPS.PowerSummary.Voltage", "%.2f", 0, None),
    HidInfo("battery.voltage.nominal", 0, 0, "UPS.PowerSummary.ConfigVoltage", "%.2f", 2, None),
    HidInfo("battery.charge", 0, 0, "UPS.PowerSummary.RemainingCapacity", "%.0f", 0, None),
    HidInfo("battery.runtime", 0, 0, "UPS.PowerSummary.RunTimeToEmpty", "%.0f", 0, None),
    HidInfo(
        "battery.type", 0, 0, "UPS.PowerSummary.iDeviceChemistry", "%s", 0, "stringid_conversion"
    ),
    HidInfo("ups.load", 0, 0, "UPS.PowerSummary.PercentLoad", "%.0f", 0, None),
    HidInfo("output.voltage", 0, 0, "UPS.PowerConverter.Output.Voltage", "%.1f", 0, None),
    HidInfo("output.frequency", 0, 0, "UPS.PowerConverter.Output.Frequency", "%.2f", 0, None),
    HidInfo(
        "output.transfer.high",
        0,
        0,
        "UPS.PowerConverter.Output.HighVoltageTransfer",
        "%.1f",
        4,
        None,
    ),
    HidInfo(
        "output.transfer.low", 0, 0, "UPS.PowerConverter.Output.LowVoltageTransfer", "%.1f", 4, None
    ),
    HidInfo("input.voltage", 0, 0, "UPS.PowerConverter.Input.[1].Voltage", "%.1f", 0, None),
    HidInfo("input.frequency", 0, 0, "UPS.PowerConverter.Input.[1].Frequency", "%.2f", 0, None),
    HidInfo("input.transfer.low", 0, 0, "UPS.PowerConverter.Output.ffff0057", "%.0f", 4, None),
    HidInfo("input.transfer.high", 0, 0, "UPS.PowerConverter.Output.ffff0058", "%.0f", 4, None),
    HidInfo(
        "input.frequency.transfer.low", 0, 0, "UPS.PowerConverter.Output.ffff00f9", "%.0f", 4, None
    ),
    HidInfo(
        "input.frequency.transfer.high", 0, 0, "UPS.PowerConverter.Output.ffff00f8", "%.0f", 4, None
    ),
    HidInfo("BOOL", 0, 0, "UPS.PowerSummary.PresentStatus.ACPresent", "%.0f", 16, "online_info"),
    HidInfo(
        "BOOL",
        0,
        0,
        "UPS.PowerSummary.PresentStatus.BelowRemainingCapacityLimit",
        "%.0f",
        16,
        "lowbatt_info",
    ),
    HidInfo("BOOL", 0, 0, "UPS.PowerSummary.PresentStatus.Charging", "%.0f", 16, "charging_info"),
    HidInfo(
        "BOOL", 0, 0, "UPS.PowerSummary.PresentStatus.Discharging", "%.0f", 16, "discharging_info"
    ),
    HidInfo("BOOL", 0, 0, "UPS.PowerSummary.PresentStatus.Overload", "%.0f", 0, "overload_info"),
    HidInfo(
        "BOOL",
        0,
        0,
        "UPS.PowerSummary.PresentStatus.ShutdownImminent",
        "%.0f",
        0,
        "shutdownimm_info",
    ),
)

LIEBERT_USB_DEVICE_TABLE: DeviceTable = ((0x06DA, 0xFFFF, None),)


SUBDRIVER = Subdriver(
    name=NAME,
    claim=table_claim(LIEBERT_USB_DEVICE_TABLE, {}, "Liebert"),
    usages=(
        LIEBERT_USAGE_LKP,
        GENERIC_USAGES,
    ),
    hid2nut=LIEBERT_HID2NUT,
    lookups={},
    format_model=lambda s, d: d.product,
    format_mfr=lambda s, d: d.vendor if d.vendor is not None else "Liebert",
    format_serial=lambda s, d: d.serial,
)
