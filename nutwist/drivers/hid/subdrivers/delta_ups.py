"""Delta's subdriver (NUT 2.8.0's delta_ups-hid, "Delta UPS HID 0.6").

The usage names, HID-to-NUT rows, lookups and USB IDs are data reproduced from NUT so that
variables and values match; the code around them is nutwist's.
"""

from __future__ import annotations

from nutwist.drivers.hid.engine import Session, Subdriver, UsbDevice, table_claim
from nutwist.drivers.hid.tables import DeviceTable, HidInfo, Lookup, UsageTable, c_long
from nutwist.drivers.hid.usages import GENERIC_USAGES

NAME = "Delta UPS HID 0.6"

DELTA_UPS_USAGE_LKP: UsageTable = (
    ("DELTA1", 0x00000000),
    ("DELTA2", 0xFF000055),
    ("DeltaCustom", 0xFFFF0010),
    ("DELTA4", 0xFFFF0056),
    ("DeltaConfigTransferLowMax", 0xFFFF0057),
    ("DeltaConfigTransferLowMin", 0xFFFF0058),
    ("DeltaConfigTransferHighMax", 0xFFFF0059),
    ("DeltaConfigTransferHighMin", 0xFFFF005A),
    ("DELTA9", 0xFFFF0060),
    ("DeltaConfigExternalBatteryPack", 0xFFFF0061),
    ("DELTA11", 0xFFFF0062),
    ("DELTA12", 0xFFFF0063),
    ("DELTA13", 0xFFFF0064),
    ("DELTA14", 0xFFFF0065),
    ("DELTA15", 0xFFFF0066),
    ("DELTA16", 0xFFFF0067),
    ("DELTA17", 0xFFFF0068),
    ("DeltaModelName", 0xFFFF0075),
    ("DELTA19", 0xFFFF0076),
    ("DeltaUPSType", 0xFFFF007C),
    ("DELTA21", 0xFFFF007D),
    ("DeltaConfigStartPowerRestoreDelay", 0xFFFF0081),
    ("DeltaOutputSource", 0xFFFF0091),
    ("DELTA24", 0xFFFF0092),
    ("DELTA25", 0xFFFF0093),
    ("DELTA26", 0xFFFF0094),
    ("DELTA27", 0xFFFF0095),
    ("DELTA28", 0xFFFF0096),
    ("DELTA29", 0xFFFF0097),
    ("DELTA30", 0xFFFF0098),
    ("DELTA31", 0xFFFF0099),
    ("DELTA32", 0xFFFF009A),
    ("DeltaConfigSensitivity", 0xFFFF009B),
    ("DeltaConfigStartPowerRestore", 0xFFFF009C),
)

DELTA_UPS_SENSITIVITY_INFO: Lookup = (
    (0, "normal", None, None),
    (1, "reduced", None, None),
    (2, "low", None, None),
)

DELTA_UPS_TYPE_INFO: Lookup = ((0, None, "delta_ups_type_fun", None),)

DELTA_UPS_OUTPUT_SOURCE_INFO: Lookup = (
    (0, "normal", None, None),
    (1, "battery", None, None),
    (2, "bypass/reserve", None, None),
    (3, "reducing", None, None),
    (4, "boosting", None, None),
    (5, "manual bypass", None, None),
    (6, "other", None, None),
    (7, "no output", None, None),
    (8, "on eco", None, None),
)

DELTA_UPS_HID2NUT: tuple[HidInfo, ...] = (
    HidInfo(
        "input.sensitivity",
        1,
        0,
        "UPS.DeltaCustom.[1].DeltaConfigSensitivity",
        "%s",
        0,
        "delta_ups_sensitivity_info",
    ),
    HidInfo("input.voltage.nominal", 0, 0, "UPS.PowerSummary.Input.ConfigVoltage", "%.1f", 4, None),
    HidInfo("input.voltage", 0, 0, "UPS.PowerSummary.Input.Voltage", "%.1f", 16, None),
    HidInfo("input.voltage", 0, 0, "UPS.PowerConverter.Input.Voltage", "%.1f", 16, None),
    HidInfo(
        "input.transfer.low", 1, 0, "UPS.PowerConverter.Output.LowVoltageTransfer", "%.1f", 0, None
    ),
    HidInfo(
        "input.transfer.high",
        1,
        0,
        "UPS.PowerConverter.Output.HighVoltageTransfer",
        "%.1f",
        0,
        None,
    ),
    HidInfo(
        "input.transfer.low.min",
        0,
        0,
        "UPS.PowerConverter.Output.DeltaConfigTransferLowMin",
        "%.1f",
        2,
        None,
    ),
    HidInfo(
        "input.transfer.low.max",
        0,
        0,
        "UPS.PowerConverter.Output.DeltaConfigTransferLowMax",
        "%.1f",
        2,
        None,
    ),
    HidInfo(
        "input.transfer.high.min",
        0,
        0,
        "UPS.PowerConverter.Output.DeltaConfigTransferHighMin",
        "%.1f",
        2,
        None,
    ),
    HidInfo(
        "input.transfer.high.max",
        0,
        0,
        "UPS.PowerConverter.Output.DeltaConfigTransferHighMax",
        "%.1f",
        2,
        None,
    ),
    HidInfo(
        "input.source",
        0,
        0,
        "UPS.OutletSystem.Outlet.DeltaOutputSource",
        "%s",
        0,
        "delta_ups_output_source_info",
    ),
    HidInfo("input.frequency", 0, 0, "UPS.PowerConverter.Input.Frequency", "%.1f", 16, None),
    HidInfo(
        "battery.voltage.nominal", 0, 0, "UPS.BatterySystem.Battery.ConfigVoltage", "%.1f", 2, None
    ),
    HidInfo("battery.voltage", 0, 0, "UPS.BatterySystem.Battery.Voltage", "%.1f", 16, None),
    HidInfo("battery.charge", 0, 0, "UPS.PowerSummary.RemainingCapacity", "%.0f", 16, None),
    HidInfo("battery.charge", 0, 0, "UPS.BatterySystem.Battery.RemainingCapacity", "%.0f", 0, None),
    HidInfo("battery.charge.low", 3, 5, "UPS.PowerSummary.RemainingCapacityLimit", "%.0f", 4, None),
    HidInfo(
        "battery.charge.warning", 0, 0, "UPS.PowerSummary.WarningCapacityLimit", "%.0f", 4, None
    ),
    HidInfo(
        "battery.temperature",
        0,
        0,
        "UPS.BatterySystem.Temperature",
        "%s",
        16,
        "kelvin_celsius_conversion",
    ),
    HidInfo("battery.runtime", 0, 0, "UPS.PowerSummary.RunTimeToEmpty", "%.0f", 16, None),
    HidInfo(
        "battery.type", 0, 0, "UPS.PowerSummary.iDeviceChemistry", "%s", 2, "stringid_conversion"
    ),
    HidInfo("battery.capacity", 0, 0, "UPS.PowerSummary.DesignCapacity", "%.0f", 4, None),
    HidInfo("battery.capacity", 0, 0, "UPS.PowerSummary.FullChargeCapacity", "%.0f", 4, None),
    HidInfo("output.voltage.nominal", 0, 0, "UPS.Flow.ConfigVoltage", "%.1f", 4, None),
    HidInfo("output.frequency.nominal", 0, 0, "UPS.Flow.ConfigFrequency", "%.1f", 4, None),
    HidInfo("output.voltage", 0, 0, "UPS.PowerConverter.Output.Voltage", "%.1f", 16, None),
    HidInfo("output.frequency", 0, 0, "UPS.PowerConverter.Output.Frequency", "%.1f", 16, None),
    HidInfo("output.current", 0, 0, "UPS.PowerConverter.Output.Current", "%.1f", 16, None),
    HidInfo(
        "ups.beeper.status", 0, 0, "UPS.PowerSummary.AudibleAlarmControl", "%s", 16, "beeper_info"
    ),
    HidInfo("ups.test.result", 0, 0, "UPS.BatterySystem.Test", "%s", 0, "test_read_info"),
    HidInfo("ups.type", 0, 0, "UPS.DeltaCustom.[1].DeltaUPSType", "%s", 2, "delta_ups_type_info"),
    HidInfo(
        "ups.start.auto",
        1,
        0,
        "UPS.DeltaCustom.[1].DeltaConfigStartPowerRestore",
        "%s",
        0,
        "yes_no_info",
    ),
    HidInfo("ups.power.nominal", 0, 0, "UPS.Flow.ConfigApparentPower", "%.0f", 2, None),
    HidInfo("ups.realpower", 0, 0, "UPS.OutletSystem.Outlet.ActivePower", "%.1f", 16, None),
    HidInfo("ups.realpower", 0, 0, "UPS.PowerConverter.Output.ActivePower", "%.1f", 16, None),
    HidInfo("ups.load", 0, 0, "UPS.OutletSystem.Outlet.PercentLoad", "%.1f", 16, None),
    HidInfo(
        "ups.delay.start",
        1,
        0,
        "UPS.OutletSystem.Outlet.DeltaConfigStartPowerRestoreDelay",
        "%.0f",
        0,
        None,
    ),
    HidInfo(
        "ups.timer.start", 0, 0, "UPS.OutletSystem.Outlet.DelayBeforeStartup", "%.0f", 16, None
    ),
    HidInfo(
        "ups.timer.shutdown", 0, 0, "UPS.OutletSystem.Outlet.DelayBeforeShutdown", "%.0f", 16, None
    ),
    HidInfo(
        "ups.timer.reboot", 0, 0, "UPS.OutletSystem.Outlet.DelayBeforeReboot", "%.0f", 16, None
    ),
    HidInfo("BOOL", 0, 0, "UPS.PowerSummary.PresentStatus.Good", None, 16, "off_info"),
    HidInfo(
        "BOOL", 0, 0, "UPS.PowerSummary.PresentStatus.InternalFailure", None, 16, "commfault_info"
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
    HidInfo(
        "BOOL", 0, 0, "UPS.PowerSummary.PresentStatus.FullyCharged", None, 16, "fullycharged_info"
    ),
    HidInfo("BOOL", 0, 0, "UPS.PowerSummary.PresentStatus.Charging", None, 16, "charging_info"),
    HidInfo(
        "BOOL", 0, 0, "UPS.PowerSummary.PresentStatus.Discharging", None, 16, "discharging_info"
    ),
    HidInfo(
        "BOOL", 0, 0, "UPS.PowerSummary.PresentStatus.FullyDischarged", None, 16, "depleted_info"
    ),
    HidInfo(
        "BOOL", 0, 0, "UPS.PowerSummary.PresentStatus.NeedReplacement", None, 16, "replacebatt_info"
    ),
    HidInfo(
        "BOOL", 0, 0, "UPS.PowerConverter.PresentStatus.VoltageOutOfRange", None, 16, "vrange_info"
    ),
    HidInfo("BOOL", 0, 0, "UPS.PowerConverter.PresentStatus.Buck", None, 16, "trim_info"),
    HidInfo("BOOL", 0, 0, "UPS.PowerConverter.PresentStatus.Boost", None, 16, "boost_info"),
    HidInfo("BOOL", 0, 0, "UPS.PowerConverter.PresentStatus.Overload", None, 16, "overload_info"),
    HidInfo("BOOL", 0, 0, "UPS.PowerConverter.PresentStatus.Used", None, 16, "nobattery_info"),
    HidInfo(
        "BOOL", 0, 0, "UPS.PowerConverter.PresentStatus.OverTemperature", None, 16, "overheat_info"
    ),
    HidInfo(
        "BOOL", 0, 0, "UPS.PowerConverter.PresentStatus.InternalFailure", None, 16, "commfault_info"
    ),
    HidInfo(
        "BOOL",
        0,
        0,
        "UPS.PowerConverter.PresentStatus.AwaitingPower",
        None,
        16,
        "awaitingpower_info",
    ),
    HidInfo("beeper.on", 0, 0, "UPS.PowerSummary.AudibleAlarmControl", "2", 64, None),
    HidInfo("beeper.off", 0, 0, "UPS.PowerSummary.AudibleAlarmControl", "3", 64, None),
    HidInfo("beeper.enable", 0, 0, "UPS.PowerSummary.AudibleAlarmControl", "2", 64, None),
    HidInfo("beeper.disable", 0, 0, "UPS.PowerSummary.AudibleAlarmControl", "1", 64, None),
    HidInfo("beeper.mute", 0, 0, "UPS.PowerSummary.AudibleAlarmControl", "3", 64, None),
    HidInfo("test.battery.start.quick", 0, 0, "UPS.BatterySystem.Test", "1", 64, None),
    HidInfo("test.battery.start.deep", 0, 0, "UPS.BatterySystem.Test", "2", 64, None),
    HidInfo("test.battery.stop", 0, 0, "UPS.BatterySystem.Test", "3", 64, None),
    HidInfo("load.on.delay", 0, 0, "UPS.OutletSystem.Outlet.DelayBeforeStartup", "30", 64, None),
    HidInfo("load.off.delay", 0, 0, "UPS.OutletSystem.Outlet.DelayBeforeShutdown", "20", 64, None),
    HidInfo("shutdown.stop", 0, 0, "UPS.OutletSystem.Outlet.DelayBeforeShutdown", "-1", 64, None),
    HidInfo("shutdown.reboot", 0, 0, "UPS.OutletSystem.Outlet.DelayBeforeReboot", "10", 64, None),
)

DELTA_UPS_USB_DEVICE_TABLE: DeviceTable = ((0x05DD, 0x041B, None),)


_UPS_TYPES = ("online", "offline", "line-interactive", "3-phase", "split-phase")


def delta_ups_type_fun(session: Session, value: float) -> str | None:
    kind = c_long(value) & 0xF
    if kind == 6:
        kind = 4
    elif 2 < kind <= 5:
        kind -= 2
    return _UPS_TYPES[kind] if 0 <= kind <= 4 else None


def _format_model(session: Session, dev: UsbDevice) -> str | None:
    field = session.find_path("UPS.DeltaCustom.[1].DeltaModelName")
    index = session.get_data_value(field, 2) if field is not None else None
    model = session.get_index_string(int(index), 512) if index is not None else ""
    return model or dev.product


SUBDRIVER = Subdriver(
    name=NAME,
    claim=table_claim(DELTA_UPS_USB_DEVICE_TABLE, {}, "Delta"),
    usages=(
        DELTA_UPS_USAGE_LKP,
        GENERIC_USAGES,
    ),
    hid2nut=DELTA_UPS_HID2NUT,
    lookups={
        "delta_ups_sensitivity_info": DELTA_UPS_SENSITIVITY_INFO,
        "delta_ups_type_info": DELTA_UPS_TYPE_INFO,
        "delta_ups_output_source_info": DELTA_UPS_OUTPUT_SOURCE_INFO,
    },
    funs={"delta_ups_type_fun": delta_ups_type_fun},
    format_model=_format_model,
    format_mfr=lambda s, d: d.vendor if d.vendor is not None else "Delta",
    format_serial=lambda s, d: d.serial,
)
