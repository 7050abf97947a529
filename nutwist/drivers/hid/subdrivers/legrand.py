"""Legrand's subdriver (NUT 2.8.0's legrand-hid, "Legrand HID 0.2").

The usage names, HID-to-NUT rows, lookups and USB IDs are data reproduced from NUT so that
variables and values match; the code around them is nutwist's.
"""

from __future__ import annotations

from nutwist.drivers.hid.engine import Session, Subdriver, UsbDevice, table_claim
from nutwist.drivers.hid.tables import DeviceTable, Fun, HidInfo, Lookup, UsageTable
from nutwist.drivers.hid.usages import GENERIC_USAGES

NAME = "Legrand HID 0.2"

LEGRAND_USAGE_LKP: UsageTable = ()

LEGRAND_TIMES10_INFO: Lookup = ((0, None, "legrand_times10", None),)

LEGRAND_TIMES100K_INFO: Lookup = ((0, None, "legrand_times100k", None),)

LEGRAND_TIMES1M_INFO: Lookup = ((0, None, "legrand_times1M", None),)

LEGRAND_TIMES10M_INFO: Lookup = ((0, None, "legrand_times10M", None),)

LEGRAND_HID2NUT: tuple[HidInfo, ...] = (
    HidInfo("input.voltage", 0, 0, "UPS.Input.Voltage", "%.0f", 0, None),
    HidInfo(
        "input.voltage", 0, 0, "UPS.PowerConverter.Input.Voltage", "%.0f", 0, "legrand_times1M_info"
    ),
    HidInfo("input.transfer.high", 0, 0, "UPS.Input.HighVoltageTransfer", "%.0f", 2, None),
    HidInfo(
        "input.transfer.high",
        0,
        0,
        "UPS.PowerConverter.Output.HighVoltageTransfer",
        "%.0f",
        2,
        "legrand_times10_info",
    ),
    HidInfo("input.transfer.low", 0, 0, "UPS.Input.LowVoltageTransfer", "%.0f", 2, None),
    HidInfo(
        "input.transfer.low", 0, 0, "UPS.PowerConverter.Output.LowVoltageTransfer", "%.0f", 2, None
    ),
    HidInfo("input.voltage.nominal", 0, 0, "UPS.Input.ConfigVoltage", "%.0f", 2, None),
    HidInfo("input.voltage.nominal", 0, 0, "UPS.Flow.ConfigVoltage", "%.0f", 2, None),
    HidInfo(
        "battery.voltage.nominal",
        0,
        0,
        "UPS.PowerSummary.ConfigVoltage",
        "%.0f",
        2,
        "divide_by_10_conversion",
    ),
    HidInfo(
        "battery.voltage.nominal", 0, 0, "UPS.BatterySystem.Battery.ConfigVoltage", "%.0f", 2, None
    ),
    HidInfo(
        "battery.voltage", 0, 0, "UPS.PowerSummary.Voltage", "%.0f", 0, "divide_by_10_conversion"
    ),
    HidInfo(
        "battery.voltage",
        0,
        0,
        "UPS.BatterySystem.Battery.Voltage",
        "%.0f",
        0,
        "legrand_times100k_info",
    ),
    HidInfo("battery.charge", 0, 0, "UPS.PowerSummary.RemainingCapacity", "%.0f", 0, None),
    HidInfo("battery.runtime", 0, 0, "UPS.PowerSummary.RuntimeToEmpty", "%.0f", 0, None),
    HidInfo(
        "battery.charge.warning", 0, 0, "UPS.PowerSummary.WarningCapacityLimit", "%.0f", 2, None
    ),
    HidInfo("battery.charge.low", 0, 0, "UPS.PowerSummary.RemainingCapacityLimit", "%.0f", 2, None),
    HidInfo("output.voltage", 0, 0, "UPS.Output.Voltage", "%.0f", 0, None),
    HidInfo(
        "output.voltage",
        0,
        0,
        "UPS.PowerConverter.Output.Voltage",
        "%.0f",
        0,
        "legrand_times10M_info",
    ),
    HidInfo("output.frequency", 0, 0, "UPS.Output.Frequency", "%.0f", 0, None),
    HidInfo("ups.load", 0, 0, "UPS.Output.PercentLoad", "%.0f", 0, None),
    HidInfo("ups.load", 0, 0, "UPS.OutletSystem.Outlet.PercentLoad", "%.0f", 0, None),
    HidInfo("ups.realpower.nominal", 0, 0, "UPS.Output.ConfigActivePower", "%.0f", 2, None),
    HidInfo("ups.realpower.nominal", 0, 0, "UPS.Flow.ConfigApparentPower", "%.0f", 2, None),
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
        "BOOL", 0, 0, "UPS.PowerSummary.PresentStatus.Discharging", None, 16, "discharging_info"
    ),
    HidInfo("BOOL", 0, 0, "UPS.Output.Overload", None, 16, "overload_info"),
    HidInfo(
        "ups.delay.shutdown", 3, 10, "UPS.OutletSystem.Outlet.DelayBeforeShutdown", "20", 8, None
    ),
    HidInfo("ups.delay.start", 3, 10, "UPS.OutletSystem.Outlet.DelayBeforeStartup", "30", 8, None),
    HidInfo("ups.delay.shutdown", 3, 10, "UPS.Output.DelayBeforeShutdown", "20", 8, None),
    HidInfo("ups.delay.start", 3, 10, "UPS.Output.DelayBeforeStartup", "30", 8, None),
    HidInfo("load.off.delay", 0, 0, "UPS.OutletSystem.Outlet.DelayBeforeShutdown", "20", 64, None),
    HidInfo("load.on.delay", 0, 0, "UPS.OutletSystem.Outlet.DelayBeforeStartup", "30", 64, None),
    HidInfo("load.off.delay", 0, 0, "UPS.Output.DelayBeforeShutdown", "20", 64, None),
    HidInfo("load.on.delay", 0, 0, "UPS.Output.DelayBeforeStartup", "30", 64, None),
    HidInfo("test.battery.start.quick", 0, 0, "UPS.BatterySystem.Battery.Test", "1", 64, None),
    HidInfo("test.battery.start.deep", 0, 0, "UPS.BatterySystem.Battery.Test", "2", 64, None),
    HidInfo("test.battery.stop", 0, 0, "UPS.BatterySystem.Battery.Test", "3", 64, None),
    HidInfo("test.battery.start.quick", 0, 0, "UPS.Output.Test", "1", 64, None),
    HidInfo("test.battery.start.deep", 0, 0, "UPS.Output.Test", "2", 64, None),
    HidInfo("test.battery.stop", 0, 0, "UPS.Output.Test", "3", 64, None),
    HidInfo("beeper.enable", 0, 0, "UPS.PowerSummary.AudibleAlarmControl", "2", 64, None),
    HidInfo("beeper.disable", 0, 0, "UPS.PowerSummary.AudibleAlarmControl", "3", 64, None),
)

LEGRAND_USB_DEVICE_TABLE: DeviceTable = (
    (0x1CB0, 0x0038, "disable_interrupt_pipe"),
    (0x1CB0, 0x0032, "disable_interrupt_pipe"),
)


def _disable_interrupt_pipe(session: Session, dev: UsbDevice) -> None:
    if session.use_interrupt_pipe:
        session.use_interrupt_pipe = False
        session.log(
            "info",
            "interrupt pipe disabled (add 'pollonly' flag to 'ups.conf' to get rid of this message)",
        )


def _times(factor: float) -> Fun:
    return lambda s, value: f"{value * factor:0.1f}"


_FUNS: dict[str, Fun] = {
    "legrand_times10": _times(10),
    "legrand_times100k": _times(100000),
    "legrand_times1M": _times(1000000),
    "legrand_times10M": _times(10000000),
}


SUBDRIVER = Subdriver(
    name=NAME,
    claim=table_claim(
        LEGRAND_USB_DEVICE_TABLE, {"disable_interrupt_pipe": _disable_interrupt_pipe}, "Legrand"
    ),
    funs=_FUNS,
    usages=(
        LEGRAND_USAGE_LKP,
        GENERIC_USAGES,
    ),
    hid2nut=LEGRAND_HID2NUT,
    lookups={
        "legrand_times10_info": LEGRAND_TIMES10_INFO,
        "legrand_times100k_info": LEGRAND_TIMES100K_INFO,
        "legrand_times1m_info": LEGRAND_TIMES1M_INFO,
        "legrand_times10m_info": LEGRAND_TIMES10M_INFO,
    },
    format_model=lambda s, d: d.product,
    format_mfr=lambda s, d: d.vendor if d.vendor is not None else "Legrand",
    format_serial=lambda s, d: d.serial,
)
