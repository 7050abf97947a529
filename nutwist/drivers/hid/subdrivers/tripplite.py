"""Tripp Lite's subdriver (NUT 2.8.0's tripplite-hid, "TrippLite HID 0.84").

The usage names, HID-to-NUT rows, lookups and USB IDs are data reproduced from NUT so that
paths, variables and values match; the code around them is nutwist's.
"""

from __future__ import annotations

from collections.abc import Callable

from nutwist.drivers.hid.engine import (
    POSSIBLY_SUPPORTED,
    SUPPORTED,
    Session,
    Subdriver,
    UsbDevice,
    device_supported,
    possibly_supported,
)
from nutwist.drivers.hid.tables import DeviceTable, HidInfo, Lookup, UsageTable
from nutwist.drivers.hid.usages import GENERIC_USAGES

NAME = "TrippLite HID 0.84"
TRIPPLITE_VENDORID = 0x09AE
HP_VENDORID = 0x03F0

TRIPPLITE_USAGE_LKP: UsageTable = (
    ("TLCustom", 0xFFFF0010),
    ("TLDelayBeforeStartup", 0xFFFF0056),
    ("TLLowVoltageTransferMax", 0xFFFF0057),
    ("TLLowVoltageTransferMin", 0xFFFF0058),
    ("TLHighVoltageTransferMax", 0xFFFF0059),
    ("TLHighVoltageTransferMin", 0xFFFF005A),
    ("OutletState", 0xFFFF007A),
    ("OutletCount", 0xFFFF007B),
    ("UPSFirmwareVersion", 0xFFFF007C),
    ("CommunicationProtocolVersion", 0xFFFF007D),
    ("CommunicationVersion", 0xFFFF007E),
    ("iUPSPartNumber", 0xFFFF007F),
    ("AutoOnDelay", 0xFFFF0080),
    ("TLWatchdog", 0xFFFF0092),
    ("TLOutletsAvailableMask", 0xFFFF0095),
    ("TLOutletsStatusMask", 0xFFFF0096),
    ("TLCharging", 0x00840044),
    ("TLDischarging", 0x00840045),
    ("TLNeedReplacement", 0x0084004B),
    ("TLACPresent", 0x008400D0),
)

TRIPPLITE_CHEMISTRY: Lookup = ((0, None, "tripplite_chemistry_fun", None),)

TRIPPLITE_BATTVOLT: Lookup = ((0, None, "tripplite_battvolt_fun", None),)

TRIPPLITE_IOVOLT: Lookup = ((0, None, "tripplite_iovolt_fun", None),)

TRIPPLITE_IOFREQ: Lookup = ((0, None, "tripplite_iofreq_fun", None),)

TRIPPLITE_IOAMP: Lookup = ((0, None, "tripplite_ioamp_fun", None),)

TRIPPLITE_HID2NUT: tuple[HidInfo, ...] = (
    HidInfo("device.part", 0, 0, "UPS.TLCustom.[1].iUPSPartNumber", "%s", 2, "stringid_conversion"),
    HidInfo("battery.charge", 0, 0, "UPS.PowerSummary.RemainingCapacity", "%.0f", 0, None),
    HidInfo("battery.charge", 0, 0, "UPS.BatterySystem.Battery.RemainingCapacity", "%.0f", 0, None),
    HidInfo("battery.charge.low", 3, 5, "UPS.PowerSummary.RemainingCapacityLimit", "%.0f", 4, None),
    HidInfo(
        "battery.charge.warning", 0, 0, "UPS.PowerSummary.WarningCapacityLimit", "%.0f", 0, None
    ),
    HidInfo("battery.runtime", 0, 0, "UPS.PowerSummary.RunTimeToEmpty", "%.0f", 0, None),
    HidInfo(
        "battery.voltage.nominal", 0, 0, "UPS.BatterySystem.Battery.ConfigVoltage", "%.1f", 2, None
    ),
    HidInfo(
        "battery.voltage", 0, 0, "UPS.BatterySystem.Battery.Voltage", "%s", 0, "tripplite_battvolt"
    ),
    HidInfo(
        "battery.type", 0, 0, "UPS.PowerSummary.iDeviceChemistry", "%s", 2, "tripplite_chemistry"
    ),
    HidInfo(
        "battery.temperature",
        0,
        0,
        "UPS.BatterySystem.Temperature",
        "%s",
        0,
        "kelvin_celsius_conversion",
    ),
    HidInfo("ups.delay.start", 3, 10, "UPS.OutletSystem.Outlet.DelayBeforeStartup", "30", 8, None),
    HidInfo(
        "ups.delay.start", 3, 10, "UPS.OutletSystem.Outlet.TLDelayBeforeStartup", "30", 8, None
    ),
    HidInfo(
        "ups.delay.shutdown", 3, 10, "UPS.OutletSystem.Outlet.DelayBeforeShutdown", "20", 8, None
    ),
    HidInfo(
        "ups.timer.start", 0, 0, "UPS.OutletSystem.Outlet.DelayBeforeStartup", "%.0f", 16, None
    ),
    HidInfo(
        "ups.timer.start", 0, 0, "UPS.OutletSystem.Outlet.TLDelayBeforeStartup", "%.0f", 16, None
    ),
    HidInfo(
        "ups.timer.shutdown", 0, 0, "UPS.OutletSystem.Outlet.DelayBeforeShutdown", "%.0f", 16, None
    ),
    HidInfo(
        "ups.timer.reboot", 0, 0, "UPS.OutletSystem.Outlet.DelayBeforeReboot", "%.0f", 16, None
    ),
    HidInfo("ups.test.result", 0, 0, "UPS.BatterySystem.Test", "%s", 0, "test_read_info"),
    HidInfo(
        "ups.beeper.status", 0, 0, "UPS.PowerSummary.AudibleAlarmControl", "%s", 0, "beeper_info"
    ),
    HidInfo("ups.power.nominal", 0, 0, "UPS.Flow.ConfigApparentPower", "%.0f", 2, None),
    HidInfo("ups.power", 0, 0, "UPS.OutletSystem.Outlet.ActivePower", "%.1f", 0, None),
    HidInfo("ups.power", 0, 0, "UPS.PowerConverter.Output.ActivePower", "%.1f", 0, None),
    HidInfo("ups.load", 0, 0, "UPS.OutletSystem.Outlet.PercentLoad", "%.0f", 0, None),
    HidInfo("ups.firmware", 0, 0, "UPS.TLCustom.[1].UPSFirmwareVersion", "%.0f", 2, None),
    HidInfo("ups.watchdog.status", 0, 0, "UPS.OutletSystem.Outlet.TLWatchdog", "%.0f", 0, None),
    HidInfo(
        "BOOL", 0, 0, "UPS.PowerSummary.PresentStatus.InternalFailure", None, 0, "commfault_info"
    ),
    HidInfo(
        "BOOL", 0, 0, "UPS.PowerSummary.PresentStatus.ShutdownImminent", None, 0, "shutdownimm_info"
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
        "BOOL", 0, 0, "UPS.PowerSummary.PresentStatus.NeedReplacement", None, 0, "replacebatt_info"
    ),
    HidInfo("BOOL", 0, 0, "UPS.PowerSummary.PresentStatus.TLACPresent", None, 16, "online_info"),
    HidInfo(
        "BOOL", 0, 0, "UPS.PowerSummary.PresentStatus.TLDischarging", None, 16, "discharging_info"
    ),
    HidInfo("ups.load.nominal", 0, 0, "UPS.Flow.ConfigPercentLoad", "%.0f", 0, None),
    HidInfo("BOOL", 0, 0, "UPS.PowerSummary.PresentStatus.TLCharging", None, 16, "charging_info"),
    HidInfo(
        "BOOL",
        0,
        0,
        "UPS.PowerSummary.PresentStatus.TLNeedReplacement",
        None,
        0,
        "replacebatt_info",
    ),
    HidInfo(
        "BOOL", 0, 0, "UPS.PowerConverter.PresentStatus.VoltageOutOfRange", None, 0, "vrange_info"
    ),
    HidInfo("BOOL", 0, 0, "UPS.PowerConverter.PresentStatus.Buck", None, 0, "trim_info"),
    HidInfo("BOOL", 0, 0, "UPS.PowerConverter.PresentStatus.Boost", None, 0, "boost_info"),
    HidInfo("BOOL", 0, 0, "UPS.PowerConverter.PresentStatus.Overload", None, 0, "overload_info"),
    HidInfo(
        "BOOL", 0, 0, "UPS.PowerConverter.PresentStatus.OverTemperature", None, 0, "overheat_info"
    ),
    HidInfo(
        "BOOL", 0, 0, "UPS.PowerConverter.PresentStatus.InternalFailure", None, 0, "commfault_info"
    ),
    HidInfo(
        "BOOL",
        0,
        0,
        "UPS.PowerConverter.PresentStatus.AwaitingPower",
        None,
        0,
        "awaitingpower_info",
    ),
    HidInfo("input.voltage.nominal", 0, 0, "UPS.PowerSummary.Input.ConfigVoltage", "%.0f", 2, None),
    HidInfo("input.voltage", 0, 0, "UPS.PowerSummary.Input.Voltage", "%s", 0, "tripplite_iovolt"),
    HidInfo("input.voltage", 0, 0, "UPS.PowerConverter.Input.Voltage", "%s", 0, "tripplite_iovolt"),
    HidInfo(
        "input.frequency", 0, 0, "UPS.PowerConverter.Input.Frequency", "%s", 0, "tripplite_iofreq"
    ),
    HidInfo(
        "input.transfer.low", 3, 5, "UPS.PowerConverter.Output.LowVoltageTransfer", "%.1f", 4, None
    ),
    HidInfo(
        "input.transfer.low.max",
        0,
        0,
        "UPS.PowerConverter.Output.TLLowVoltageTransferMax",
        "%.0f",
        2,
        None,
    ),
    HidInfo(
        "input.transfer.low.min",
        0,
        0,
        "UPS.PowerConverter.Output.TLLowVoltageTransferMin",
        "%.0f",
        2,
        None,
    ),
    HidInfo(
        "input.transfer.high",
        3,
        5,
        "UPS.PowerConverter.Output.HighVoltageTransfer",
        "%.1f",
        4,
        None,
    ),
    HidInfo(
        "input.transfer.high.max",
        0,
        0,
        "UPS.PowerConverter.Output.TLHighVoltageTransferMax",
        "%.0f",
        2,
        None,
    ),
    HidInfo(
        "input.transfer.high.min",
        0,
        0,
        "UPS.PowerConverter.Output.TLHighVoltageTransferMin",
        "%.0f",
        2,
        None,
    ),
    HidInfo("output.voltage.nominal", 0, 0, "UPS.Flow.ConfigVoltage", "%.0f", 2, None),
    HidInfo(
        "output.voltage", 0, 0, "UPS.PowerConverter.Output.Voltage", "%s", 0, "tripplite_iovolt"
    ),
    HidInfo("output.voltage", 0, 0, "UPS.PowerSummary.Voltage", "%s", 0, "tripplite_iovolt"),
    HidInfo(
        "output.current", 0, 0, "UPS.PowerConverter.Output.Current", "%s", 0, "tripplite_ioamp"
    ),
    HidInfo("output.frequency.nominal", 0, 0, "UPS.Flow.ConfigFrequency", "%.0f", 2, None),
    HidInfo(
        "output.frequency", 0, 0, "UPS.PowerConverter.Output.Frequency", "%s", 0, "tripplite_iofreq"
    ),
    HidInfo("test.battery.start.quick", 0, 0, "UPS.BatterySystem.Test", "1", 64, None),
    HidInfo("test.battery.start.deep", 0, 0, "UPS.BatterySystem.Test", "2", 64, None),
    HidInfo("test.battery.stop", 0, 0, "UPS.BatterySystem.Test", "3", 64, None),
    HidInfo("load.off.delay", 0, 0, "UPS.OutletSystem.Outlet.DelayBeforeShutdown", "20", 64, None),
    HidInfo("load.on.delay", 0, 0, "UPS.OutletSystem.Outlet.DelayBeforeStartup", "30", 64, None),
    HidInfo("load.on.delay", 0, 0, "UPS.OutletSystem.Outlet.TLDelayBeforeStartup", "30", 64, None),
    HidInfo("shutdown.stop", 0, 0, "UPS.OutletSystem.Outlet.DelayBeforeShutdown", "-1", 64, None),
    HidInfo("shutdown.reboot", 0, 0, "UPS.OutletSystem.Outlet.DelayBeforeReboot", "10", 64, None),
    HidInfo("shutdown.reboot", 0, 0, "UPS.OutletSystem.Outlet.TLWatchdog", "10", 64, None),
    HidInfo("reset.watchdog", 0, 0, "UPS.OutletSystem.Outlet.TLWatchdog", "60", 64, None),
    HidInfo("beeper.on", 0, 0, "UPS.PowerSummary.AudibleAlarmControl", "2", 64, None),
    HidInfo("beeper.off", 0, 0, "UPS.PowerSummary.AudibleAlarmControl", "3", 64, None),
    HidInfo("beeper.disable", 0, 0, "UPS.PowerSummary.AudibleAlarmControl", "1", 64, None),
    HidInfo("beeper.enable", 0, 0, "UPS.PowerSummary.AudibleAlarmControl", "2", 64, None),
    HidInfo("beeper.mute", 0, 0, "UPS.PowerSummary.AudibleAlarmControl", "3", 64, None),
)

TRIPPLITE_USB_DEVICE_TABLE: DeviceTable = (
    (0x09AE, 0x1003, "battery_scale_0dot1"),
    (0x09AE, 0x1007, "battery_scale_0dot1"),
    (0x09AE, 0x1008, "battery_scale_0dot1"),
    (0x09AE, 0x1009, "battery_scale_0dot1"),
    (0x09AE, 0x1010, "battery_scale_0dot1"),
    (0x09AE, 0x1330, "battery_scale_1dot0"),
    (0x09AE, 0x2005, "battery_scale_0dot1"),
    (0x09AE, 0x2007, "battery_scale_0dot1"),
    (0x09AE, 0x2008, "battery_scale_0dot1"),
    (0x09AE, 0x2009, "battery_scale_0dot1"),
    (0x09AE, 0x2010, "battery_scale_0dot1"),
    (0x09AE, 0x2011, "battery_scale_0dot1"),
    (0x09AE, 0x2012, "battery_scale_0dot1"),
    (0x09AE, 0x2013, "battery_scale_0dot1"),
    (0x09AE, 0x2014, "battery_scale_0dot1"),
    (0x09AE, 0x3008, "battery_scale_1dot0"),
    (0x09AE, 0x3009, "battery_scale_1dot0"),
    (0x09AE, 0x3010, "battery_scale_1dot0"),
    (0x09AE, 0x3011, "battery_scale_1dot0"),
    (0x09AE, 0x3012, "battery_scale_1dot0"),
    (0x09AE, 0x3013, "battery_scale_1dot0"),
    (0x09AE, 0x3014, "battery_scale_1dot0"),
    (0x09AE, 0x3015, "battery_scale_1dot0"),
    (0x09AE, 0x3016, "smart1500lcdt_scale"),
    (0x09AE, 0x3024, "smart1500lcdt_scale"),
    (0x09AE, 0x4001, "battery_scale_1dot0"),
    (0x09AE, 0x4002, "battery_scale_1dot0"),
    (0x09AE, 0x4003, "battery_scale_1dot0"),
    (0x09AE, 0x4004, "battery_scale_1dot0"),
    (0x09AE, 0x4005, "battery_scale_1dot0"),
    (0x09AE, 0x4006, "battery_scale_1dot0"),
    (0x09AE, 0x4007, "battery_scale_1dot0"),
    (0x09AE, 0x4008, "battery_scale_1dot0"),
    (0x03F0, 0x0001, "battery_scale_1dot0"),
    (0x03F0, 0x1FE0, "battery_scale_1dot0"),
    (0x03F0, 0x1FE1, "battery_scale_1dot0"),
    (0x03F0, 0x1FE2, "battery_scale_1dot0"),
    (0x03F0, 0x1FE3, "battery_scale_1dot0"),
    (0x03F0, 0x1F06, "battery_scale_1dot0"),
    (0x03F0, 0x1F08, "battery_scale_1dot0"),
    (0x03F0, 0x1F09, "battery_scale_1dot0"),
    (0x03F0, 0x1F0A, "battery_scale_1dot0"),
    (0x05DD, 0xA011, "battery_scale_1dot0"),
)


# each model's scale factors, set when the device is claimed (1.0 unless listed)


def _scales(
    battery: float, volt: float = 1.0, freq: float = 1.0, amp: float = 1.0
) -> Callable[[Session, UsbDevice], None]:
    def tweak(session: Session, dev: UsbDevice) -> None:
        session.vendor.update(tl_battery=battery, tl_volt=volt, tl_freq=freq, tl_amp=amp)

    return tweak


_TWEAKS = {
    "battery_scale_1dot0": _scales(1.0),
    "battery_scale_0dot1": _scales(0.1),
    "smart1500lcdt_scale": _scales(100000.0, 100000.0, 0.01, 0.01),
}


def _scaled(key: str) -> Callable[[Session, float], str | None]:
    def fun(session: Session, value: float) -> str | None:
        return f"{session.vendor.get(key, 1.0) * value:.1f}"[:7]

    return fun


def tripplite_chemistry_fun(session: Session, value: float) -> str | None:
    if session.dstate.get("ups.productid") in ("1003", "2005"):
        return "unknown"
    return session.get_index_string(int(value), 20)


def _claim(session: Session, dev: UsbDevice) -> bool:
    status = device_supported(session, TRIPPLITE_USB_DEVICE_TABLE, dev, _TWEAKS)
    if status == SUPPORTED:
        return True
    if status != POSSIBLY_SUPPORTED:
        return False
    if dev.vendor_id == HP_VENDORID:
        # HP makes many USB devices that are not UPSes: say nothing about them
        return session.getval("productid") is not None
    if dev.vendor_id == TRIPPLITE_VENDORID:
        if dev.product_id == 0x0001:
            session.log(
                "info",
                f"This Tripp Lite device ({dev.vendor_id:04x}/{dev.product_id:04x}) is not"
                " supported by usbhid-ups.\nPlease use the tripplite_usb driver instead.\n",
            )
            return False
        if session.getval("productid") is not None:
            return True
        session.log("info", possibly_supported("TrippLite", dev))
    return False


SUBDRIVER = Subdriver(
    name=NAME,
    claim=_claim,
    usages=(TRIPPLITE_USAGE_LKP, GENERIC_USAGES),
    hid2nut=TRIPPLITE_HID2NUT,
    lookups={
        "tripplite_chemistry": TRIPPLITE_CHEMISTRY,
        "tripplite_battvolt": TRIPPLITE_BATTVOLT,
        "tripplite_iovolt": TRIPPLITE_IOVOLT,
        "tripplite_iofreq": TRIPPLITE_IOFREQ,
        "tripplite_ioamp": TRIPPLITE_IOAMP,
    },
    funs={
        "tripplite_chemistry_fun": tripplite_chemistry_fun,
        "tripplite_battvolt_fun": _scaled("tl_battery"),
        "tripplite_iovolt_fun": _scaled("tl_volt"),
        "tripplite_iofreq_fun": _scaled("tl_freq"),
        "tripplite_ioamp_fun": _scaled("tl_amp"),
    },
    format_model=lambda s, d: d.product,
    format_mfr=lambda s, d: d.vendor,
    format_serial=lambda s, d: d.serial,
)
