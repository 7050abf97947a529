"""Eaton / MGE's subdriver (NUT 2.8.0's mge-hid, "MGE HID 1.46").

The usage names, HID-to-NUT rows, lookups, model names and USB IDs are data reproduced from
NUT so that paths, variables and values match; the code around them is nutwist's.  Several
conversions depend on what the device said before (its model family, its country, whether
advanced battery monitoring is on): that state lives in the session, per device.
"""

from __future__ import annotations

import math
import re
import time

from nutwist.drivers.hid.engine import (
    NOT_SUPPORTED,
    POSSIBLY_SUPPORTED,
    Session,
    Subdriver,
    UsbDevice,
    device_supported,
    possibly_supported,
)
from nutwist.drivers.hid.tables import DeviceTable, Fun, HidInfo, Lookup, UsageTable, c_long
from nutwist.drivers.hid.usages import GENERIC_USAGES

NAME = "MGE HID 1.46"
DELL_VENDORID = 0x047C
HP_VENDORID = 0x03F0
PHOENIXTEC = 0x06DA

# model families (the high byte) and models
MGE_DEFAULT_OFFLINE = 0x000
MGE_PEGASUS = 0x100
MGE_3S = 0x110
MGE_DEFAULT = 0x200
MGE_EVOLUTION = 0x300
MGE_EVOLUTION_650 = 0x301
MGE_PULSAR_M = 0x400
EATON_5P = 0x500
COUNTRY_UNKNOWN, COUNTRY_EUROPE, COUNTRY_US, COUNTRY_EUROPE_208 = -1, 0, 1, 2
ABM_UNKNOWN, ABM_DISABLED, ABM_ENABLED = -1, 0, 1

#: (iProduct, iModel, model type, name or None for "<iProduct> <iModel>")
MODEL_NAMES: tuple[tuple[str, str, int, str | None], ...] = (
    ("ELLIPSE", "300", 0x000, "ellipse 300"),
    ("ELLIPSE", "500", 0x000, "ellipse 500"),
    ("ELLIPSE", "650", 0x000, "ellipse 650"),
    ("ELLIPSE", "800", 0x000, "ellipse 800"),
    ("ELLIPSE", "1200", 0x000, "ellipse 1200"),
    ("ellipse", "PR500", 0x000, "ellipse premium 500"),
    ("ellipse", "PR650", 0x000, "ellipse premium 650"),
    ("ellipse", "PR800", 0x000, "ellipse premium 800"),
    ("ellipse", "PR1200", 0x000, "ellipse premium 1200"),
    ("ELLIPSE", "600", 0x000, "Ellipse 600"),
    ("ELLIPSE", "750", 0x000, "Ellipse 750"),
    ("ELLIPSE", "1000", 0x000, "Ellipse 1000"),
    ("ELLIPSE", "1500", 0x000, "Ellipse 1500"),
    ("Ellipse MAX", "600", 0x000, None),
    ("Ellipse MAX", "850", 0x000, None),
    ("Ellipse MAX", "1100", 0x000, None),
    ("Ellipse MAX", "1500", 0x000, None),
    ("PROTECTIONCENTER", "420", 0x000, "Protection Center 420"),
    ("PROTECTIONCENTER", "500", 0x000, "Protection Center 500"),
    ("PROTECTIONCENTER", "675", 0x000, "Protection Center 675"),
    ("Protection Station", "500", 0x100, None),
    ("Protection Station", "650", 0x100, None),
    ("Protection Station", "800", 0x100, None),
    ("Ellipse ECO", "650", 0x100, None),
    ("Ellipse ECO", "800", 0x100, None),
    ("Ellipse ECO", "1200", 0x100, None),
    ("Ellipse ECO", "1600", 0x100, None),
    ("3S", "450", 0x000, None),
    ("3S", "550", 0x000, None),
    ("3S", "700", 0x110, None),
    ("3S", "750", 0x110, None),
    ("Evolution", "500", 0x200, "Pulsar Evolution 500"),
    ("Evolution", "800", 0x200, "Pulsar Evolution 800"),
    ("Evolution", "1100", 0x200, "Pulsar Evolution 1100"),
    ("Evolution", "1500", 0x200, "Pulsar Evolution 1500"),
    ("Evolution", "2200", 0x200, "Pulsar Evolution 2200"),
    ("Evolution", "3000", 0x200, "Pulsar Evolution 3000"),
    ("Evolution", "3000XL", 0x200, "Pulsar Evolution 3000 XL"),
    ("Evolution", "650", 0x301, None),
    ("Evolution", "850", 0x302, None),
    ("Evolution", "1150", 0x303, None),
    ("Evolution", "S 1250", 0x304, None),
    ("Evolution", "1550", 0x305, None),
    ("Evolution", "S 1750", 0x306, None),
    ("Evolution", "2000", 0x307, None),
    ("Evolution", "S 2500", 0x308, None),
    ("Evolution", "S 3000", 0x309, None),
    ("Eaton 5P", "650", 0x500, "5P 650"),
    ("Eaton 5P", "850", 0x500, "5P 850"),
    ("Eaton 5P", "1150", 0x500, "5P 1150"),
    ("Eaton 5P", "1550", 0x500, "5P 1550"),
    ("PULSAR M", "2200", 0x401, None),
    ("PULSAR M", "3000", 0x402, None),
    ("PULSAR M", "3000 XL", 0x403, None),
    ("EX", "2200", 0x401, None),
    ("EX", "3000", 0x402, None),
    ("EX", "3000 XL", 0x402, None),
    ("PULSAR", "MX4000", 0x200, "Pulsar MX 4000 RT"),
    ("PULSAR", "MX5000", 0x200, "Pulsar MX 5000 RT"),
    ("NOVA AVR", "500", 0x200, "Nova 500 AVR"),
    ("NOVA AVR", "600", 0x200, "Nova 600 AVR"),
    ("NOVA AVR", "625", 0x200, "Nova 625 AVR"),
    ("NOVA AVR", "1100", 0x200, "Nova 1100 AVR"),
    ("NOVA AVR", "1250", 0x200, "Nova 1250 AVR"),
    ("EXtreme", "700C", 0x200, "Pulsar EXtreme 700C"),
    ("EXtreme", "1000C", 0x200, "Pulsar EXtreme 1000C"),
    ("EXtreme", "1500C", 0x200, "Pulsar EXtreme 1500C"),
    ("EXtreme", "1500CCLA", 0x200, "Pulsar EXtreme 1500C CLA"),
    ("EXtreme", "2200C", 0x200, "Pulsar EXtreme 2200C"),
    ("EXtreme", "3200C", 0x200, "Pulsar EXtreme 3200C"),
    ("EX", "700RT", 0x200, "Pulsar EX 700 RT"),
    ("EX", "1000RT", 0x200, "Pulsar EX 1000 RT"),
    ("EX", "1500RT", 0x200, "Pulsar EX 1500 RT"),
    ("EX", "2200RT", 0x200, "Pulsar EX 2200 RT"),
    ("EX", "3200RT", 0x200, "Pulsar EX 3200 RT"),
    ("EX", "5RT31", 0x200, "EX 5 RT 3:1"),
    ("EX", "7RT31", 0x200, "EX 7 RT 3:1"),
    ("EX", "11RT31", 0x200, "EX 11 RT 3:1"),
    ("EX", "5RT", 0x200, "EX 5 RT"),
    ("EX", "7RT", 0x200, "EX 7 RT"),
    ("EX", "11RT", 0x200, "EX 11 RT"),
    ("GALAXY", "3000_10", 0x200, "Galaxy 3000 10 kVA"),
    ("GALAXY", "3000_15", 0x200, "Galaxy 3000 15 kVA"),
    ("GALAXY", "3000_20", 0x200, "Galaxy 3000 20 kVA"),
    ("GALAXY", "3000_30", 0x200, "Galaxy 3000 30 kVA"),
)
MGE_USAGE_LKP: UsageTable = (
    ("Undefined", 0xFFFF0000),
    ("STS", 0xFFFF0001),
    ("Environment", 0xFFFF0002),
    ("Statistic", 0xFFFF0003),
    ("StatisticSystem", 0xFFFF0004),
    ("Phase", 0xFFFF0010),
    ("PhaseID", 0xFFFF0011),
    ("Chopper", 0xFFFF0012),
    ("ChopperID", 0xFFFF0013),
    ("Inverter", 0xFFFF0014),
    ("InverterID", 0xFFFF0015),
    ("Rectifier", 0xFFFF0016),
    ("RectifierID", 0xFFFF0017),
    ("LCMSystem", 0xFFFF0018),
    ("LCMSystemID", 0xFFFF0019),
    ("LCMAlarm", 0xFFFF001A),
    ("LCMAlarmID", 0xFFFF001B),
    ("HistorySystem", 0xFFFF001C),
    ("HistorySystemID", 0xFFFF001D),
    ("Event", 0xFFFF001E),
    ("EventID", 0xFFFF001F),
    ("CircuitBreaker", 0xFFFF0020),
    ("TransferForbidden", 0xFFFF0021),
    ("OverallAlarm", 0xFFFF0022),
    ("Dephasing", 0xFFFF0023),
    ("BypassBreaker", 0xFFFF0024),
    ("PowerModule", 0xFFFF0025),
    ("PowerRate", 0xFFFF0026),
    ("PowerSource", 0xFFFF0027),
    ("CurrentPowerSource", 0xFFFF0028),
    ("RedundancyLevel", 0xFFFF0029),
    ("RedundancyLost", 0xFFFF002A),
    ("NotificationStatus", 0xFFFF002B),
    ("ProtectionLost", 0xFFFF002C),
    ("ConfigurationFailure", 0xFFFF002D),
    ("CompatibilityFailure", 0xFFFF002E),
    ("SwitchType", 0xFFFF0040),
    ("ConverterType", 0xFFFF0041),
    ("FrequencyConverterMode", 0xFFFF0042),
    ("AutomaticRestart", 0xFFFF0043),
    ("ForcedReboot", 0xFFFF0044),
    ("TestPeriod", 0xFFFF0045),
    ("EnergySaving", 0xFFFF0046),
    ("StartOnBattery", 0xFFFF0047),
    ("Schedule", 0xFFFF0048),
    ("DeepDischargeProtection", 0xFFFF0049),
    ("ShortCircuit", 0xFFFF004A),
    ("ExtendedVoltageMode", 0xFFFF004B),
    ("SensitivityMode", 0xFFFF004C),
    ("RemainingCapacityLimitSetting", 0xFFFF004D),
    ("ExtendedFrequencyMode", 0xFFFF004E),
    ("FrequencyConverterModeSetting", 0xFFFF004F),
    ("LowVoltageBoostTransfer", 0xFFFF0050),
    ("HighVoltageBoostTransfer", 0xFFFF0051),
    ("LowVoltageBuckTransfer", 0xFFFF0052),
    ("HighVoltageBuckTransfer", 0xFFFF0053),
    ("OverloadTransferEnable", 0xFFFF0054),
    ("OutOfToleranceTransferEnable", 0xFFFF0055),
    ("ForcedTransferEnable", 0xFFFF0056),
    ("LowVoltageBypassTransfer", 0xFFFF0057),
    ("HighVoltageBypassTransfer", 0xFFFF0058),
    ("FrequencyRangeBypassTransfer", 0xFFFF0059),
    ("LowVoltageEcoTransfer", 0xFFFF005A),
    ("HighVoltageEcoTransfer", 0xFFFF005B),
    ("FrequencyRangeEcoTransfer", 0xFFFF005C),
    ("ShutdownTimer", 0xFFFF005D),
    ("StartupTimer", 0xFFFF005E),
    ("RestartLevel", 0xFFFF005F),
    ("PhaseOutOfRange", 0xFFFF0060),
    ("CurrentLimitation", 0xFFFF0061),
    ("ThermalOverload", 0xFFFF0062),
    ("SynchroSource", 0xFFFF0063),
    ("FuseFault", 0xFFFF0064),
    ("ExternalProtectedTransfert", 0xFFFF0065),
    ("ExternalForcedTransfert", 0xFFFF0066),
    ("Compensation", 0xFFFF0067),
    ("EmergencyStop", 0xFFFF0068),
    ("PowerFactor", 0xFFFF0069),
    ("PeakFactor", 0xFFFF006A),
    ("ChargerType", 0xFFFF006B),
    ("HighPositiveDCBusVoltage", 0xFFFF006C),
    ("LowPositiveDCBusVoltage", 0xFFFF006D),
    ("HighNegativeDCBusVoltage", 0xFFFF006E),
    ("LowNegativeDCBusVoltage", 0xFFFF006F),
    ("FrequencyRangeTransfer", 0xFFFF0070),
    ("WiringFaultDetection", 0xFFFF0071),
    ("ControlStandby", 0xFFFF0072),
    ("ShortCircuitTolerance", 0xFFFF0073),
    ("VoltageTooHigh", 0xFFFF0074),
    ("VoltageTooLow", 0xFFFF0075),
    ("DCBusUnbalanced", 0xFFFF0076),
    ("FanFailure", 0xFFFF0077),
    ("WiringFault", 0xFFFF0078),
    ("Floating", 0xFFFF0079),
    ("OverCurrent", 0xFFFF007A),
    ("RemainingActivePower", 0xFFFF007B),
    ("Energy", 0xFFFF007C),
    ("Threshold", 0xFFFF007D),
    ("OverThreshold", 0xFFFF007E),
    ("Sensor", 0xFFFF0080),
    ("LowHumidity", 0xFFFF0081),
    ("HighHumidity", 0xFFFF0082),
    ("LowTemperature", 0xFFFF0083),
    ("HighTemperature", 0xFFFF0084),
    ("ECOControl", 0xFFFF0085),
    ("Efficiency", 0xFFFF0086),
    ("ABMEnable", 0xFFFF0087),
    ("NegativeCurrent", 0xFFFF0088),
    ("AutomaticStart", 0xFFFF0089),
    ("Count", 0xFFFF0090),
    ("Timer", 0xFFFF0091),
    ("Interval", 0xFFFF0092),
    ("TimerExpired", 0xFFFF0093),
    ("Mode", 0xFFFF0094),
    ("Country", 0xFFFF0095),
    ("State", 0xFFFF0096),
    ("Time", 0xFFFF0097),
    ("Code", 0xFFFF0098),
    ("DataValid", 0xFFFF0099),
    ("ToggleTimer", 0xFFFF009A),
    ("BypassTransferDelay", 0xFFFF009B),
    ("HysteresysVoltageTransfer", 0xFFFF009C),
    ("SlewRate", 0xFFFF009D),
    ("PDU", 0xFFFF00A0),
    ("Breaker", 0xFFFF00A1),
    ("BreakerID", 0xFFFF00A2),
    ("OverVoltage", 0xFFFF00A3),
    ("Tripped", 0xFFFF00A4),
    ("OverEnergy", 0xFFFF00A5),
    ("OverHumidity", 0xFFFF00A6),
    ("ConfigurationReset", 0xFFFF00A7),
    ("Level", 0xFFFF00A8),
    ("PDUType", 0xFFFF00A9),
    ("ReactivePower", 0xFFFF00AA),
    ("Pole", 0xFFFF00AB),
    ("PoleID", 0xFFFF00AC),
    ("Reset", 0xFFFF00AD),
    ("WatchdogReset", 0xFFFF00AE),
    ("COPIBridge", 0xFFFF00E0),
    ("iModel", 0xFFFF00F0),
    ("iVersion", 0xFFFF00F1),
    ("iTechnicalLevel", 0xFFFF00F2),
    ("iPartNumber", 0xFFFF00F3),
    ("iReferenceNumber", 0xFFFF00F4),
    ("iGang", 0xFFFF00F5),
)

EATON_ABM_ENABLED_INFO: Lookup = ((0, "dummy", "eaton_abm_enabled_fun", None),)

EATON_ABM_STATUS_INFO: Lookup = ((1, "dummy", "eaton_abm_status_fun", None),)

EATON_ABM_CHRG_DISCHRG_INFO: Lookup = ((1, "dummy", "eaton_abm_chrg_dischrg_fun", None),)

EATON_DISCHARGING_INFO: Lookup = ((1, "dummy", "eaton_abm_check_dischrg_fun", None),)

EATON_CHARGING_INFO: Lookup = ((1, "dummy", "eaton_abm_check_chrg_fun", None),)

MGE_DATE_CONVERSION: Lookup = ((0, None, "mge_date_conversion_fun", "mge_date_conversion_nuf"),)

MGE_TIME_CONVERSION: Lookup = ((0, None, "mge_time_conversion_fun", "mge_time_conversion_nuf"),)

MGE_BATTERY_VOLTAGE_NOMINAL: Lookup = ((0, None, "mge_battery_voltage_nominal_fun", None),)

MGE_BATTERY_VOLTAGE: Lookup = ((0, None, "mge_battery_voltage_fun", None),)

MGE_POWERFACTOR_CONVERSION: Lookup = ((0, None, "mge_powerfactor_conversion_fun", None),)

MGE_BATTERY_CAPACITY: Lookup = ((0, None, "mge_battery_capacity_fun", None),)

EATON_ENABLE_DISABLE_INFO: Lookup = (
    (0, "disabled", None, None),
    (1, "enabled", None, None),
)

MGE_UPSTYPE_CONVERSION: Lookup = (
    (1, "offline / line interactive", None, None),
    (2, "online", None, None),
    (3, "online - unitary/parallel", None, None),
    (4, "online - parallel with hot standy", None, None),
    (5, "online - hot standby redundancy", None, None),
)

MGE_SENSITIVITY_INFO: Lookup = (
    (0, "normal", None, None),
    (1, "high", None, None),
    (2, "low", None, None),
)

MGE_EMERGENCY_STOP: Lookup = ((1, "Emergency stop!", None, None),)

MGE_WIRING_FAULT: Lookup = ((1, "Wiring fault!", None, None),)

MGE_CONFIG_FAILURE: Lookup = ((1, "Fatal EEPROM fault!", None, None),)

MGE_INVERTER_VOLTHI: Lookup = ((1, "Inverter AC voltage too high!", None, None),)

MGE_INVERTER_VOLTLO: Lookup = ((1, "Inverter AC voltage too low!", None, None),)

MGE_SHORT_CIRCUIT: Lookup = ((1, "Output short circuit!", None, None),)

MGE_ONBATT_INFO: Lookup = (
    (1, "!online", None, None),
    (0, "online", None, None),
)

PEGASUS_THRESHOLD_INFO: Lookup = (
    (10, "10", "eaton_check_pegasus_fun", None),
    (25, "25", "eaton_check_pegasus_fun", None),
    (60, "60", "eaton_check_pegasus_fun", None),
)

PEGASUS_YES_NO_INFO: Lookup = (
    (0, "no", "pegasus_yes_no_info_fun", "pegasus_yes_no_info_nuf"),
    (1, "yes", "pegasus_yes_no_info_fun", "pegasus_yes_no_info_nuf"),
)

EATON_CHECK_COUNTRY_INFO: Lookup = ((0, "dummy", "eaton_check_country_fun", None),)

EATON_COMPUTE_REALPOWER_INFO: Lookup = ((0, "dummy", "eaton_compute_realpower_fun", None),)

NOMINAL_OUTPUT_VOLTAGE_INFO: Lookup = (
    (200, "200", "nominal_output_voltage_fun", None),
    (208, "208", "nominal_output_voltage_fun", None),
    (220, "220", "nominal_output_voltage_fun", None),
    (230, "230", "nominal_output_voltage_fun", None),
    (240, "240", "nominal_output_voltage_fun", None),
    (100, "100", "nominal_output_voltage_fun", None),
    (110, "110", "nominal_output_voltage_fun", None),
    (120, "120", "nominal_output_voltage_fun", None),
    (127, "127", "nominal_output_voltage_fun", None),
)

EATON_CONVERTER_ONLINE_INFO: Lookup = ((0, "dummy", "eaton_converter_online_fun", None),)

MGE_HID2NUT: tuple[HidInfo, ...] = (
    HidInfo(
        "device.country", 2, 20, "UPS.PowerSummary.Country", "Europe", 2, "eaton_check_country_info"
    ),
    HidInfo("battery.charge", 0, 0, "UPS.PowerSummary.RemainingCapacity", "%.0f", 0, None),
    HidInfo(
        "battery.charge.low",
        3,
        5,
        "UPS.PowerSummary.RemainingCapacityLimitSetting",
        "%.0f",
        4,
        None,
    ),
    HidInfo("battery.charge.low", 0, 0, "UPS.PowerSummary.RemainingCapacityLimit", "%.0f", 2, None),
    HidInfo("battery.charge.restart", 3, 3, "UPS.PowerSummary.RestartLevel", "%.0f", 4, None),
    HidInfo(
        "battery.capacity",
        0,
        0,
        "UPS.BatterySystem.Battery.DesignCapacity",
        "%s",
        2,
        "mge_battery_capacity",
    ),
    HidInfo("battery.runtime", 0, 0, "UPS.PowerSummary.RunTimeToEmpty", "%.0f", 0, None),
    HidInfo("battery.runtime.low", 3, 10, "UPS.PowerSummary.RemainingTimeLimit", "%.0f", 0, None),
    HidInfo(
        "battery.runtime.elapsed",
        0,
        0,
        "UPS.StatisticSystem.Input.[1].Statistic.[1].Time",
        "%.0f",
        16,
        None,
    ),
    HidInfo("battery.runtime.low", 3, 10, "UPS.PowerSummary.RemainingTimeLimit", "%.0f", 0, None),
    HidInfo(
        "battery.temperature",
        0,
        0,
        "UPS.BatterySystem.Battery.Temperature",
        "%s",
        0,
        "kelvin_celsius_conversion",
    ),
    HidInfo(
        "battery.type", 0, 0, "UPS.PowerSummary.iDeviceChemistry", "%s", 2, "stringid_conversion"
    ),
    HidInfo("battery.voltage", 0, 0, "UPS.BatterySystem.Voltage", "%.1f", 0, None),
    HidInfo("battery.voltage", 0, 0, "UPS.PowerSummary.Voltage", "%s", 0, "mge_battery_voltage"),
    HidInfo("battery.voltage.nominal", 0, 0, "UPS.BatterySystem.ConfigVoltage", "%.0f", 2, None),
    HidInfo(
        "battery.voltage.nominal",
        0,
        0,
        "UPS.PowerSummary.ConfigVoltage",
        "%s",
        2,
        "mge_battery_voltage_nominal",
    ),
    HidInfo(
        "battery.protection",
        3,
        5,
        "UPS.BatterySystem.Battery.DeepDischargeProtection",
        "%s",
        4,
        "yes_no_info",
    ),
    HidInfo(
        "battery.energysave",
        3,
        5,
        "UPS.PowerConverter.Input.[3].EnergySaving",
        "%s",
        4,
        "yes_no_info",
    ),
    HidInfo(
        "battery.energysave.load",
        3,
        5,
        "UPS.PowerConverter.Input.[3].ConfigPercentLoad",
        "%.0f",
        4,
        None,
    ),
    HidInfo(
        "battery.energysave.delay",
        3,
        5,
        "UPS.PowerConverter.Input.[3].EnergySaving.ShutdownTimer",
        "%.0f",
        4,
        None,
    ),
    HidInfo(
        "battery.energysave.delay",
        3,
        5,
        "UPS.PowerConverter.Input.[3].ShutdownTimer",
        "%.0f",
        4,
        None,
    ),
    HidInfo(
        "battery.energysave.realpower",
        3,
        5,
        "UPS.PowerConverter.Input.[3].ConfigActivePower",
        "%.0f",
        4,
        None,
    ),
    HidInfo(
        "battery.charger.status",
        0,
        0,
        "UPS.BatterySystem.Charger.ABMEnable",
        "%.0f",
        16,
        "eaton_abm_enabled_info",
    ),
    HidInfo(
        "battery.charger.status",
        0,
        0,
        "UPS.BatterySystem.Charger.Mode",
        "%.0f",
        16,
        "eaton_abm_status_info",
    ),
    HidInfo("ups.efficiency", 0, 0, "UPS.PowerConverter.Output.Efficiency", "%.0f", 0, None),
    HidInfo("ups.firmware", 0, 0, "UPS.PowerSummary.iVersion", "%s", 2, "stringid_conversion"),
    HidInfo("ups.load", 0, 0, "UPS.PowerSummary.PercentLoad", "%.0f", 0, None),
    HidInfo("ups.load.high", 3, 5, "UPS.Flow.[4].ConfigPercentLoad", "%.0f", 4, None),
    HidInfo("ups.delay.start", 3, 10, "UPS.PowerSummary.DelayBeforeStartup", "30", 8, None),
    HidInfo("ups.delay.shutdown", 3, 10, "UPS.PowerSummary.DelayBeforeShutdown", "20", 8, None),
    HidInfo("ups.timer.start", 0, 0, "UPS.PowerSummary.DelayBeforeStartup", "%.0f", 16, None),
    HidInfo("ups.timer.shutdown", 0, 0, "UPS.PowerSummary.DelayBeforeShutdown", "%.0f", 16, None),
    HidInfo("ups.timer.reboot", 0, 0, "UPS.PowerSummary.DelayBeforeReboot", "%.0f", 16, None),
    HidInfo("ups.test.result", 0, 0, "UPS.BatterySystem.Battery.Test", "%s", 0, "test_read_info"),
    HidInfo("ups.test.interval", 3, 8, "UPS.BatterySystem.Battery.TestPeriod", "%.0f", 4, None),
    HidInfo(
        "ups.beeper.status",
        0,
        0,
        "UPS.BatterySystem.Battery.AudibleAlarmControl",
        "%s",
        4,
        "beeper_info",
    ),
    HidInfo(
        "ups.beeper.status", 0, 0, "UPS.PowerSummary.AudibleAlarmControl", "%s", 4, "beeper_info"
    ),
    HidInfo(
        "ups.temperature",
        0,
        0,
        "UPS.PowerSummary.Temperature",
        "%s",
        0,
        "kelvin_celsius_conversion",
    ),
    HidInfo("ups.power", 0, 0, "UPS.PowerConverter.Output.ApparentPower", "%.0f", 0, None),
    HidInfo(
        "ups.L1.power", 0, 0, "UPS.PowerConverter.Output.Phase.[1].ApparentPower", "%.0f", 0, None
    ),
    HidInfo(
        "ups.L2.power", 0, 0, "UPS.PowerConverter.Output.Phase.[2].ApparentPower", "%.0f", 0, None
    ),
    HidInfo(
        "ups.L3.power", 0, 0, "UPS.PowerConverter.Output.Phase.[3].ApparentPower", "%.0f", 0, None
    ),
    HidInfo("ups.power.nominal", 0, 0, "UPS.Flow.[4].ConfigApparentPower", "%.0f", 2, None),
    HidInfo("ups.realpower", 0, 0, "UPS.PowerConverter.Output.ActivePower", "%.0f", 0, None),
    HidInfo(
        "ups.realpower",
        0,
        0,
        "UPS.Flow.[4].ConfigApparentPower",
        "-1",
        0,
        "eaton_compute_realpower_info",
    ),
    HidInfo(
        "ups.L1.realpower", 0, 0, "UPS.PowerConverter.Output.Phase.[1].ActivePower", "%.0f", 0, None
    ),
    HidInfo(
        "ups.L2.realpower", 0, 0, "UPS.PowerConverter.Output.Phase.[2].ActivePower", "%.0f", 0, None
    ),
    HidInfo(
        "ups.L3.realpower", 0, 0, "UPS.PowerConverter.Output.Phase.[3].ActivePower", "%.0f", 0, None
    ),
    HidInfo("ups.realpower.nominal", 0, 0, "UPS.Flow.[4].ConfigActivePower", "%.0f", 2, None),
    HidInfo(
        "ups.start.auto",
        3,
        5,
        "UPS.PowerConverter.Input.[1].AutomaticRestart",
        "%s",
        4,
        "yes_no_info",
    ),
    HidInfo(
        "ups.start.battery",
        3,
        5,
        "UPS.PowerConverter.Input.[3].StartOnBattery",
        "%s",
        4,
        "yes_no_info",
    ),
    HidInfo(
        "ups.start.reboot", 3, 5, "UPS.PowerConverter.Output.ForcedReboot", "%s", 4, "yes_no_info"
    ),
    HidInfo(
        "ups.shutdown",
        3,
        10,
        "UPS.PowerSummary.PresentStatus.Switchable",
        "%s",
        132,
        "eaton_enable_disable_info",
    ),
    HidInfo("ups.date", 3, 10, "UPS.PowerSummary.Time", "%s", 0, "mge_date_conversion"),
    HidInfo("ups.time", 3, 10, "UPS.PowerSummary.Time", "%s", 0, "mge_time_conversion"),
    HidInfo(
        "ups.type", 0, 0, "UPS.PowerConverter.ConverterType", "%s", 2, "mge_upstype_conversion"
    ),
    HidInfo("BOOL", 0, 0, "UPS.PowerSummary.PresentStatus.ACPresent", None, 16, "online_info"),
    HidInfo(
        "BOOL", 0, 0, "UPS.PowerConverter.Input.[3].PresentStatus.Used", None, 0, "mge_onbatt_info"
    ),
    HidInfo(
        "BOOL",
        0,
        0,
        "UPS.PowerSummary.PresentStatus.Discharging",
        None,
        16,
        "eaton_discharging_info",
    ),
    HidInfo(
        "BOOL", 0, 0, "UPS.PowerSummary.PresentStatus.Charging", None, 16, "eaton_charging_info"
    ),
    HidInfo(
        "BOOL", 0, 0, "UPS.BatterySystem.Charger.Mode", "%.0f", 16, "eaton_abm_chrg_dischrg_info"
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
        "BOOL",
        0,
        0,
        "UPS.PowerConverter.Output.Overload.[1].PresentStatus.OverThreshold",
        None,
        0,
        "overload_info",
    ),
    HidInfo(
        "BOOL",
        0,
        0,
        "UPS.PowerConverter.Output.Overload.[2].PresentStatus.OverThreshold",
        None,
        0,
        "overload_info",
    ),
    HidInfo("BOOL", 0, 0, "UPS.PowerSummary.PresentStatus.Overload", None, 0, "overload_info"),
    HidInfo(
        "BOOL", 0, 0, "UPS.PowerSummary.PresentStatus.NeedReplacement", None, 0, "replacebatt_info"
    ),
    HidInfo(
        "BOOL",
        0,
        0,
        "UPS.LCMSystem.LCMAlarm.[2].PresentStatus.TimerExpired",
        None,
        0,
        "replacebatt_info",
    ),
    HidInfo("BOOL", 0, 0, "UPS.PowerConverter.Input.[1].PresentStatus.Buck", None, 0, "trim_info"),
    HidInfo(
        "BOOL", 0, 0, "UPS.PowerConverter.Input.[1].PresentStatus.Boost", None, 0, "boost_info"
    ),
    HidInfo(
        "BOOL",
        0,
        0,
        "UPS.PowerConverter.Input.[1].PresentStatus.VoltageOutOfRange",
        None,
        0,
        "vrange_info",
    ),
    HidInfo(
        "BOOL",
        0,
        0,
        "UPS.PowerConverter.Input.[1].PresentStatus.FrequencyOutOfRange",
        None,
        0,
        "frange_info",
    ),
    HidInfo("BOOL", 0, 0, "UPS.PowerSummary.PresentStatus.Good", None, 0, "off_info"),
    HidInfo(
        "BOOL",
        0,
        0,
        "UPS.PowerConverter.Input.[1].PresentStatus.Used",
        None,
        0,
        "eaton_converter_online_info",
    ),
    HidInfo(
        "BOOL", 0, 0, "UPS.PowerConverter.Input.[2].PresentStatus.Used", None, 0, "bypass_auto_info"
    ),
    HidInfo(
        "BOOL",
        0,
        0,
        "UPS.PowerConverter.Input.[4].PresentStatus.Used",
        None,
        0,
        "bypass_manual_info",
    ),
    HidInfo("BOOL", 0, 0, "UPS.PowerSummary.PresentStatus.FanFailure", None, 0, "fanfail_info"),
    HidInfo(
        "BOOL", 0, 0, "UPS.BatterySystem.Battery.PresentStatus.Present", None, 0, "nobattery_info"
    ),
    HidInfo(
        "BOOL",
        0,
        0,
        "UPS.BatterySystem.Charger.PresentStatus.InternalFailure",
        None,
        0,
        "chargerfail_info",
    ),
    HidInfo(
        "BOOL",
        0,
        0,
        "UPS.BatterySystem.Charger.PresentStatus.VoltageTooHigh",
        None,
        0,
        "battvolthi_info",
    ),
    HidInfo(
        "BOOL",
        0,
        0,
        "UPS.PowerConverter.Input.[1].PresentStatus.VoltageTooHigh",
        None,
        0,
        "battvolthi_info",
    ),
    HidInfo(
        "BOOL",
        0,
        0,
        "UPS.BatterySystem.Battery.PresentStatus.VoltageTooHigh",
        None,
        0,
        "battvolthi_info",
    ),
    HidInfo(
        "BOOL",
        0,
        0,
        "UPS.BatterySystem.Charger.PresentStatus.VoltageTooLow",
        None,
        0,
        "battvoltlo_info",
    ),
    HidInfo(
        "BOOL",
        0,
        0,
        "UPS.PowerConverter.Input.[1].PresentStatus.VoltageTooLow",
        None,
        0,
        "mge_onbatt_info",
    ),
    HidInfo(
        "BOOL", 0, 0, "UPS.PowerSummary.PresentStatus.InternalFailure", None, 0, "commfault_info"
    ),
    HidInfo(
        "BOOL", 0, 0, "UPS.PowerSummary.PresentStatus.OverTemperature", None, 0, "overheat_info"
    ),
    HidInfo(
        "BOOL", 0, 0, "UPS.PowerSummary.PresentStatus.ShutdownImminent", None, 0, "shutdownimm_info"
    ),
    HidInfo(
        "ups.alarm",
        0,
        0,
        "UPS.PowerSummary.PresentStatus.EmergencyStop",
        None,
        0,
        "mge_emergency_stop",
    ),
    HidInfo(
        "ups.alarm",
        0,
        0,
        "UPS.PowerConverter.Input.[1].PresentStatus.WiringFault",
        None,
        0,
        "mge_wiring_fault",
    ),
    HidInfo(
        "ups.alarm",
        0,
        0,
        "UPS.PowerSummary.PresentStatus.ConfigurationFailure",
        None,
        0,
        "mge_config_failure",
    ),
    HidInfo(
        "ups.alarm",
        0,
        0,
        "UPS.PowerConverter.Inverter.PresentStatus.VoltageTooHigh",
        None,
        0,
        "mge_inverter_volthi",
    ),
    HidInfo(
        "ups.alarm",
        0,
        0,
        "UPS.PowerConverter.Inverter.PresentStatus.VoltageTooLow",
        None,
        0,
        "mge_inverter_voltlo",
    ),
    HidInfo(
        "ups.alarm",
        0,
        0,
        "UPS.PowerConverter.Output.PresentStatus.ShortCircuit",
        None,
        0,
        "mge_short_circuit",
    ),
    HidInfo("input.voltage", 0, 0, "UPS.PowerConverter.Input.[1].Voltage", "%.1f", 0, None),
    HidInfo(
        "input.L1-N.voltage",
        0,
        0,
        "UPS.PowerConverter.Input.[1].Phase.[1].Voltage",
        "%.1f",
        0,
        None,
    ),
    HidInfo(
        "input.L2-N.voltage",
        0,
        0,
        "UPS.PowerConverter.Input.[1].Phase.[2].Voltage",
        "%.1f",
        0,
        None,
    ),
    HidInfo(
        "input.L3-N.voltage",
        0,
        0,
        "UPS.PowerConverter.Input.[1].Phase.[3].Voltage",
        "%.1f",
        0,
        None,
    ),
    HidInfo(
        "input.L1-L2.voltage",
        0,
        0,
        "UPS.PowerConverter.Input.[1].Phase.[12].Voltage",
        "%.1f",
        0,
        None,
    ),
    HidInfo(
        "input.L2-L3.voltage",
        0,
        0,
        "UPS.PowerConverter.Input.[1].Phase.[23].Voltage",
        "%.1f",
        0,
        None,
    ),
    HidInfo(
        "input.L3-L1.voltage",
        0,
        0,
        "UPS.PowerConverter.Input.[1].Phase.[31].Voltage",
        "%.1f",
        0,
        None,
    ),
    HidInfo("input.voltage.nominal", 0, 0, "UPS.Flow.[1].ConfigVoltage", "%.0f", 2, None),
    HidInfo("input.current", 0, 0, "UPS.PowerConverter.Input.[1].Current", "%.2f", 0, None),
    HidInfo(
        "input.L1.current", 0, 0, "UPS.PowerConverter.Input.[1].Phase.[1].Current", "%.1f", 0, None
    ),
    HidInfo(
        "input.L2.current", 0, 0, "UPS.PowerConverter.Input.[1].Phase.[2].Current", "%.1f", 0, None
    ),
    HidInfo(
        "input.L3.current", 0, 0, "UPS.PowerConverter.Input.[1].Phase.[3].Current", "%.1f", 0, None
    ),
    HidInfo("input.current.nominal", 0, 0, "UPS.Flow.[1].ConfigCurrent", "%.2f", 2, None),
    HidInfo("input.frequency", 0, 0, "UPS.PowerConverter.Input.[1].Frequency", "%.1f", 0, None),
    HidInfo("input.frequency.nominal", 0, 0, "UPS.Flow.[1].ConfigFrequency", "%.0f", 2, None),
    HidInfo(
        "input.transfer.low", 3, 5, "UPS.PowerConverter.Output.LowVoltageTransfer", "%.0f", 4, None
    ),
    HidInfo(
        "input.transfer.boost.low",
        3,
        5,
        "UPS.PowerConverter.Output.LowVoltageBoostTransfer",
        "%.0f",
        4,
        None,
    ),
    HidInfo(
        "input.transfer.boost.high",
        3,
        5,
        "UPS.PowerConverter.Output.HighVoltageBoostTransfer",
        "%.0f",
        4,
        None,
    ),
    HidInfo(
        "input.transfer.trim.low",
        3,
        5,
        "UPS.PowerConverter.Output.LowVoltageBuckTransfer",
        "%.0f",
        4,
        None,
    ),
    HidInfo(
        "input.transfer.high",
        3,
        5,
        "UPS.PowerConverter.Output.HighVoltageTransfer",
        "%.0f",
        4,
        None,
    ),
    HidInfo(
        "input.transfer.trim.high",
        3,
        5,
        "UPS.PowerConverter.Output.HighVoltageBuckTransfer",
        "%.0f",
        4,
        None,
    ),
    HidInfo(
        "input.sensitivity",
        3,
        10,
        "UPS.PowerConverter.Output.SensitivityMode",
        "%s",
        4,
        "mge_sensitivity_info",
    ),
    HidInfo(
        "input.voltage.extended",
        3,
        5,
        "UPS.PowerConverter.Output.ExtendedVoltageMode",
        "%s",
        4,
        "yes_no_info",
    ),
    HidInfo(
        "input.frequency.extended",
        3,
        5,
        "UPS.PowerConverter.Output.ExtendedFrequencyMode",
        "%s",
        4,
        "yes_no_info",
    ),
    HidInfo("input.bypass.voltage", 0, 0, "UPS.PowerConverter.Input.[2].Voltage", "%.1f", 0, None),
    HidInfo(
        "input.bypass.L1-N.voltage",
        0,
        0,
        "UPS.PowerConverter.Input.[2].Phase.[1].Voltage",
        "%.1f",
        0,
        None,
    ),
    HidInfo(
        "input.bypass.L2-N.voltage",
        0,
        0,
        "UPS.PowerConverter.Input.[2].Phase.[2].Voltage",
        "%.1f",
        0,
        None,
    ),
    HidInfo(
        "input.bypass.L3-N.voltage",
        0,
        0,
        "UPS.PowerConverter.Input.[2].Phase.[3].Voltage",
        "%.1f",
        0,
        None,
    ),
    HidInfo(
        "input.bypass.L1-L2.voltage",
        0,
        0,
        "UPS.PowerConverter.Input.[2].Phase.[12].Voltage",
        "%.1f",
        0,
        None,
    ),
    HidInfo(
        "input.bypass.L2-L3.voltage",
        0,
        0,
        "UPS.PowerConverter.Input.[2].Phase.[23].Voltage",
        "%.1f",
        0,
        None,
    ),
    HidInfo(
        "input.bypass.L3-L1.voltage",
        0,
        0,
        "UPS.PowerConverter.Input.[2].Phase.[31].Voltage",
        "%.1f",
        0,
        None,
    ),
    HidInfo("input.bypass.voltage.nominal", 0, 0, "UPS.Flow.[2].ConfigVoltage", "%.0f", 2, None),
    HidInfo("input.bypass.current", 0, 0, "UPS.PowerConverter.Input.[2].Current", "%.2f", 0, None),
    HidInfo(
        "input.bypass.L1.current",
        0,
        0,
        "UPS.PowerConverter.Input.[2].Phase.[1].Current",
        "%.1f",
        0,
        None,
    ),
    HidInfo(
        "input.bypass.L2.current",
        0,
        0,
        "UPS.PowerConverter.Input.[2].Phase.[2].Current",
        "%.1f",
        0,
        None,
    ),
    HidInfo(
        "input.bypass.L3.current",
        0,
        0,
        "UPS.PowerConverter.Input.[2].Phase.[3].Current",
        "%.1f",
        0,
        None,
    ),
    HidInfo("input.bypass.current.nominal", 0, 0, "UPS.Flow.[2].ConfigCurrent", "%.2f", 2, None),
    HidInfo(
        "input.bypass.frequency", 0, 0, "UPS.PowerConverter.Input.[2].Frequency", "%.1f", 0, None
    ),
    HidInfo(
        "input.bypass.frequency.nominal", 0, 0, "UPS.Flow.[2].ConfigFrequency", "%.0f", 2, None
    ),
    HidInfo("output.voltage", 0, 0, "UPS.PowerConverter.Output.Voltage", "%.1f", 0, None),
    HidInfo(
        "output.L1-N.voltage", 0, 0, "UPS.PowerConverter.Output.Phase.[1].Voltage", "%.1f", 0, None
    ),
    HidInfo(
        "output.L2-N.voltage", 0, 0, "UPS.PowerConverter.Output.Phase.[2].Voltage", "%.1f", 0, None
    ),
    HidInfo(
        "output.L3-N.voltage", 0, 0, "UPS.PowerConverter.Output.Phase.[3].Voltage", "%.1f", 0, None
    ),
    HidInfo(
        "output.L1-L2.voltage",
        0,
        0,
        "UPS.PowerConverter.Output.Phase.[12].Voltage",
        "%.1f",
        0,
        None,
    ),
    HidInfo(
        "output.L2-L3.voltage",
        0,
        0,
        "UPS.PowerConverter.Output.Phase.[23].Voltage",
        "%.1f",
        0,
        None,
    ),
    HidInfo(
        "output.L3-L1.voltage",
        0,
        0,
        "UPS.PowerConverter.Output.Phase.[31].Voltage",
        "%.1f",
        0,
        None,
    ),
    HidInfo(
        "output.voltage.nominal",
        3,
        3,
        "UPS.Flow.[4].ConfigVoltage",
        "%.0f",
        132,
        "nominal_output_voltage_info",
    ),
    HidInfo("output.current", 0, 0, "UPS.PowerConverter.Output.Current", "%.2f", 0, None),
    HidInfo(
        "output.L1.current", 0, 0, "UPS.PowerConverter.Output.Phase.[1].Current", "%.1f", 0, None
    ),
    HidInfo(
        "output.L2.current", 0, 0, "UPS.PowerConverter.Output.Phase.[2].Current", "%.1f", 0, None
    ),
    HidInfo(
        "output.L3.current", 0, 0, "UPS.PowerConverter.Output.Phase.[3].Current", "%.1f", 0, None
    ),
    HidInfo("output.current.nominal", 0, 0, "UPS.Flow.[4].ConfigCurrent", "%.2f", 0, None),
    HidInfo("output.frequency", 0, 0, "UPS.PowerConverter.Output.Frequency", "%.1f", 0, None),
    HidInfo("output.frequency.nominal", 0, 0, "UPS.Flow.[4].ConfigFrequency", "%.0f", 2, None),
    HidInfo(
        "output.powerfactor",
        0,
        0,
        "UPS.PowerConverter.Output.PowerFactor",
        "%s",
        0,
        "mge_powerfactor_conversion",
    ),
    HidInfo("outlet.id", 0, 0, "UPS.OutletSystem.Outlet.[1].OutletID", "%.0f", 2, None),
    HidInfo("outlet.desc", 3, 20, "UPS.OutletSystem.Outlet.[1].OutletID", "Main Outlet", 8, None),
    HidInfo(
        "outlet.switchable",
        0,
        0,
        "UPS.OutletSystem.Outlet.[1].PresentStatus.Switchable",
        "%s",
        2,
        "yes_no_info",
    ),
    HidInfo(
        "outlet.power",
        3,
        6,
        "UPS.OutletSystem.Outlet.[1].ConfigApparentPower",
        "%s",
        132,
        "pegasus_threshold_info",
    ),
    HidInfo("outlet.power", 0, 0, "UPS.OutletSystem.Outlet.[1].ApparentPower", "%.0f", 0, None),
    HidInfo("outlet.realpower", 0, 0, "UPS.OutletSystem.Outlet.[1].ActivePower", "%.0f", 0, None),
    HidInfo("outlet.current", 0, 0, "UPS.OutletSystem.Outlet.[1].Current", "%.2f", 0, None),
    HidInfo("outlet.powerfactor", 0, 0, "UPS.OutletSystem.Outlet.[1].PowerFactor", "%.2f", 0, None),
    HidInfo("outlet.1.id", 0, 0, "UPS.OutletSystem.Outlet.[2].OutletID", "%.0f", 2, None),
    HidInfo(
        "outlet.1.desc",
        3,
        20,
        "UPS.OutletSystem.Outlet.[2].OutletID",
        "PowerShare Outlet 1",
        8,
        None,
    ),
    HidInfo(
        "outlet.1.switchable",
        0,
        0,
        "UPS.OutletSystem.Outlet.[2].PresentStatus.Switchable",
        "%s",
        2,
        "yes_no_info",
    ),
    HidInfo(
        "outlet.1.status",
        0,
        0,
        "UPS.OutletSystem.Outlet.[2].PresentStatus.SwitchOn/Off",
        "%s",
        0,
        "on_off_info",
    ),
    HidInfo(
        "outlet.1.status", 0, 0, "UPS.PowerSummary.PresentStatus.ACPresent", "%s", 0, "on_off_info"
    ),
    HidInfo(
        "outlet.1.autoswitch.charge.low",
        3,
        3,
        "UPS.OutletSystem.Outlet.[2].RemainingCapacityLimit",
        "%.0f",
        4,
        None,
    ),
    HidInfo(
        "outlet.1.delay.shutdown",
        3,
        5,
        "UPS.OutletSystem.Outlet.[2].ShutdownTimer",
        "%.0f",
        4,
        None,
    ),
    HidInfo(
        "outlet.1.delay.start", 3, 5, "UPS.OutletSystem.Outlet.[2].StartupTimer", "%.0f", 4, None
    ),
    HidInfo("outlet.1.power", 0, 0, "UPS.OutletSystem.Outlet.[2].ApparentPower", "%.0f", 0, None),
    HidInfo("outlet.1.realpower", 0, 0, "UPS.OutletSystem.Outlet.[2].ActivePower", "%.0f", 0, None),
    HidInfo("outlet.1.current", 0, 0, "UPS.OutletSystem.Outlet.[2].Current", "%.2f", 0, None),
    HidInfo(
        "outlet.1.powerfactor", 0, 0, "UPS.OutletSystem.Outlet.[2].PowerFactor", "%.2f", 0, None
    ),
    HidInfo("outlet.2.id", 0, 0, "UPS.OutletSystem.Outlet.[3].OutletID", "%.0f", 2, None),
    HidInfo(
        "outlet.2.desc",
        3,
        20,
        "UPS.OutletSystem.Outlet.[3].OutletID",
        "PowerShare Outlet 2",
        8,
        None,
    ),
    HidInfo(
        "outlet.2.switchable",
        3,
        3,
        "UPS.OutletSystem.Outlet.[3].PresentStatus.Switchable",
        "%s",
        4,
        "pegasus_yes_no_info",
    ),
    HidInfo(
        "outlet.2.switchable",
        0,
        0,
        "UPS.OutletSystem.Outlet.[3].PresentStatus.Switchable",
        "%s",
        0,
        "yes_no_info",
    ),
    HidInfo(
        "outlet.2.status",
        0,
        0,
        "UPS.OutletSystem.Outlet.[3].PresentStatus.SwitchOn/Off",
        "%s",
        0,
        "on_off_info",
    ),
    HidInfo(
        "outlet.2.autoswitch.charge.low",
        3,
        3,
        "UPS.OutletSystem.Outlet.[3].RemainingCapacityLimit",
        "%.0f",
        4,
        None,
    ),
    HidInfo(
        "outlet.2.delay.shutdown",
        3,
        5,
        "UPS.OutletSystem.Outlet.[3].ShutdownTimer",
        "%.0f",
        4,
        None,
    ),
    HidInfo(
        "outlet.2.delay.start", 3, 5, "UPS.OutletSystem.Outlet.[3].StartupTimer", "%.0f", 4, None
    ),
    HidInfo("outlet.2.power", 0, 0, "UPS.OutletSystem.Outlet.[3].ApparentPower", "%.0f", 0, None),
    HidInfo("outlet.2.realpower", 0, 0, "UPS.OutletSystem.Outlet.[3].ActivePower", "%.0f", 0, None),
    HidInfo("outlet.2.current", 0, 0, "UPS.OutletSystem.Outlet.[3].Current", "%.2f", 0, None),
    HidInfo(
        "outlet.2.powerfactor", 0, 0, "UPS.OutletSystem.Outlet.[3].PowerFactor", "%.2f", 0, None
    ),
    HidInfo("test.battery.start.quick", 0, 0, "UPS.BatterySystem.Battery.Test", "1", 64, None),
    HidInfo("test.battery.start.deep", 0, 0, "UPS.BatterySystem.Battery.Test", "2", 64, None),
    HidInfo("test.battery.stop", 0, 0, "UPS.BatterySystem.Battery.Test", "3", 64, None),
    HidInfo("load.off.delay", 0, 0, "UPS.PowerSummary.DelayBeforeShutdown", "20", 64, None),
    HidInfo("load.on.delay", 0, 0, "UPS.PowerSummary.DelayBeforeStartup", "30", 64, None),
    HidInfo("shutdown.stop", 0, 0, "UPS.PowerSummary.DelayBeforeShutdown", "-1", 64, None),
    HidInfo("shutdown.reboot", 0, 0, "UPS.PowerSummary.DelayBeforeReboot", "10", 64, None),
    HidInfo("beeper.off", 0, 0, "UPS.PowerSummary.AudibleAlarmControl", "1", 64, None),
    HidInfo("beeper.on", 0, 0, "UPS.PowerSummary.AudibleAlarmControl", "2", 64, None),
    HidInfo("beeper.mute", 0, 0, "UPS.BatterySystem.Battery.AudibleAlarmControl", "3", 64, None),
    HidInfo("beeper.mute", 0, 0, "UPS.PowerSummary.AudibleAlarmControl", "3", 64, None),
    HidInfo("beeper.disable", 0, 0, "UPS.BatterySystem.Battery.AudibleAlarmControl", "1", 64, None),
    HidInfo("beeper.disable", 0, 0, "UPS.PowerSummary.AudibleAlarmControl", "1", 64, None),
    HidInfo("beeper.enable", 0, 0, "UPS.BatterySystem.Battery.AudibleAlarmControl", "2", 64, None),
    HidInfo("beeper.enable", 0, 0, "UPS.PowerSummary.AudibleAlarmControl", "2", 64, None),
    HidInfo(
        "outlet.1.load.off", 0, 0, "UPS.OutletSystem.Outlet.[2].DelayBeforeShutdown", "0", 64, None
    ),
    HidInfo(
        "outlet.1.load.on", 0, 0, "UPS.OutletSystem.Outlet.[2].DelayBeforeStartup", "0", 64, None
    ),
    HidInfo(
        "outlet.2.load.off", 0, 0, "UPS.OutletSystem.Outlet.[3].DelayBeforeShutdown", "0", 64, None
    ),
    HidInfo(
        "outlet.2.load.on", 0, 0, "UPS.OutletSystem.Outlet.[3].DelayBeforeStartup", "0", 64, None
    ),
)

MGE_USB_DEVICE_TABLE: DeviceTable = (
    (0x0463, 0x0001, None),
    (0x0463, 0xFFFF, None),
    (0x047C, 0xFFFF, None),
    (0x0592, 0x0004, None),
    (0x03F0, 0x1FE5, None),
    (0x03F0, 0x1FE6, None),
    (0x03F0, 0x1FE7, None),
    (0x03F0, 0x1FE8, None),
    (0x2B2D, 0xFFFF, None),
    (0x06DA, 0xFFFF, None),
    (0x04B3, 0x0001, None),
)


# --- per-device state ----------------------------------------------------------------------


def _type(s: Session) -> int:
    return int(s.vendor.get("mge_type", MGE_DEFAULT))


def _country(s: Session) -> int:
    return int(s.vendor.get("mge_country", COUNTRY_UNKNOWN))


def _abm(s: Session) -> int:
    return int(s.vendor.get("mge_abm", ABM_UNKNOWN))


# --- conversions ---------------------------------------------------------------------------


def eaton_abm_enabled_fun(s: Session, value: float) -> str | None:
    s.vendor["mge_abm"] = c_long(value)
    return None


_ABM_STATUS = {1: "charging", 2: "discharging", 3: "floating", 4: "resting", 6: "off"}


def eaton_abm_status_fun(s: Session, value: float) -> str | None:
    if _abm(s) == ABM_DISABLED:
        s.delinfo("battery.charger.status")
        return None
    return _ABM_STATUS.get(c_long(value))


def eaton_abm_chrg_dischrg_fun(s: Session, value: float) -> str | None:
    if _abm(s) == ABM_DISABLED:
        return None
    return {1: "chrg", 3: "chrg", 2: "dischrg"}.get(c_long(value))


def eaton_abm_check_dischrg_fun(s: Session, value: float) -> str | None:
    if _abm(s) == ABM_DISABLED and value == 1:
        return "dischrg"
    return "!dischrg"


def eaton_abm_check_chrg_fun(s: Session, value: float) -> str | None:
    if _abm(s) == ABM_DISABLED and value == 1:
        return "chrg"
    return "!chrg"


def _localtime(value: float, fmt: str, length: int) -> str | None:
    try:
        text = time.strftime(fmt, time.localtime(c_long(value)))
    except (OverflowError, OSError, ValueError):
        return None
    return text if len(text) == length else None


def mge_date_conversion_fun(s: Session, value: float) -> str | None:
    return _localtime(value, "%Y/%m/%d", 10)


def mge_time_conversion_fun(s: Session, value: float) -> str | None:
    return _localtime(value, "%H:%M:%S", 8)


def _mktime(text: str) -> float:
    """Local date and time to seconds, daylight saving time as the zone says.

    (NUT leaves the DST flag of its struct tm unset before mktime, so its result can be an
    hour off from one run to the next; nutwist lets the time zone decide.)"""
    try:
        return time.mktime(time.strptime(text, "%Y/%m/%d %H:%M:%S"))
    except (ValueError, OverflowError):
        return 0.0


def mge_date_conversion_nuf(s: Session, text: str | None) -> float:
    date = text if text is not None else "(null)"
    return _mktime(f"{date} {s.dstate.get('ups.time', '(null)')}"[:19])


def mge_time_conversion_nuf(s: Session, text: str | None) -> float:
    clock = text if text is not None else "(null)"
    return _mktime(f"{s.dstate.get('ups.date', '(null)')} {clock}"[:19])


def pegasus_yes_no_info_nuf(s: Session, text: str | None) -> float:
    if not _pegasus(s):
        return 0.0
    return 1.0 if (text or "").startswith("yes") else 0.0


def mge_battery_voltage_nominal_fun(s: Session, value: float) -> str | None:
    family = _type(s) & 0xFF00
    if family == MGE_EVOLUTION:
        if _type(s) == MGE_EVOLUTION_650:
            value = 12.0
    elif family not in (MGE_PULSAR_M, EATON_5P):
        return None
    return f"{value:.0f}"


def mge_battery_voltage_fun(s: Session, value: float) -> str | None:
    if _type(s) & 0xFF00 not in (MGE_EVOLUTION, MGE_PULSAR_M, EATON_5P):
        return None
    return f"{value:.1f}"


def mge_powerfactor_conversion_fun(s: Session, value: float) -> str | None:
    return f"{value / 100:.2f}"


def mge_battery_capacity_fun(s: Session, value: float) -> str | None:
    return f"{value / 3600:.2f}"


def _pegasus(s: Session) -> bool:
    family = _type(s) & 0xFF00
    if family == MGE_PEGASUS:
        return True
    return family == MGE_3S and _country(s) != COUNTRY_EUROPE


def eaton_check_pegasus_fun(s: Session, value: float) -> str | None:
    return f"{value:.0f}" if _pegasus(s) else None


def pegasus_yes_no_info_fun(s: Session, value: float) -> str | None:
    if not _pegasus(s):
        return None
    return "no" if value == 0 else "yes"


def eaton_check_country_fun(s: Session, value: float) -> str | None:
    s.vendor["mge_country"] = c_long(value)
    return None


def _atoi(text: str) -> int:
    m = re.match(r"\s*([+-]?\d+)", text)
    return int(m.group(1)) if m else 0


def eaton_compute_realpower_fun(s: Session, value: float) -> str | None:
    load = s.dstate.get("ups.load")
    nominal = s.dstate.get("ups.power.nominal")
    factor_text = s.dstate.get("output.powerfactor")
    if load is None or nominal is None:
        return None
    # NUT keeps the default power factor in a C float
    factor = 0.800000011920929 if factor_text is None else float(_atoi(factor_text))
    real = _atoi(load) * 0.01 * _atoi(nominal) * factor
    return f"{math.floor(real + 0.5) if real >= 0 else -math.floor(-real + 0.5):.0f}"


_LOW = (100, 110, 120, 127)
_MID = (200, 208)
_HIGH = (220, 230, 240)


def nominal_output_voltage_fun(s: Session, value: float) -> str | None:
    nominal = s.vendor.setdefault("mge_nominal", c_long(value))
    v = c_long(value)
    family = _type(s) & 0xFF00
    if nominal in _LOW:
        if v not in _LOW:
            return None
    elif nominal in _MID:
        if v in _HIGH:
            if family < MGE_DEFAULT:
                return None
        elif v not in _MID:
            return None
    elif nominal in _HIGH:
        if v in _MID:
            if family < MGE_DEFAULT:
                return None
        elif v not in _HIGH:
            return None
    return f"{value:.0f}"


def eaton_converter_online_fun(s: Session, value: float) -> str | None:
    if "off" in s.ups_status:
        return None
    return "!online" if value == 0 else "online"


# --- identification ------------------------------------------------------------------------


def get_model_name(s: Session, product: str, model: str) -> str:
    for i_product, i_model, kind, name in MODEL_NAMES:
        if product == i_product and model == i_model:
            s.vendor["mge_type"] = kind
            if name is not None:
                return name
            break
    return f"{product} {model}"[:511]


def _format_model(s: Session, dev: UsbDevice) -> str | None:
    if dev.vendor_id == DELL_VENDORID:
        return dev.product
    product = dev.product if dev.product is not None else "unknown"
    model = ""
    field = s.find_path("UPS.PowerSummary.iModel")
    index = s.get_data_value(field, 2) if field is not None else None
    if index is not None:
        model = s.get_index_string(int(index), 512)
    if not model:
        power = s.get_data_value(s.find_path("UPS.Flow.[4].ConfigApparentPower"), 2)
        if power is not None:
            model = str(int(power))
    if model:
        dev.product = get_model_name(s, product, model)
    return dev.product


def _claim(s: Session, dev: UsbDevice) -> bool:
    status = device_supported(s, MGE_USB_DEVICE_TABLE, dev, {})
    aeg = "AEG" in (dev.vendor or "") or "AEG" in (dev.product or "")
    if status == NOT_SUPPORTED:
        return False
    if status == POSSIBLY_SUPPORTED:
        if dev.vendor_id in (HP_VENDORID, DELL_VENDORID):
            return s.getval("productid") is not None
        if dev.vendor_id == PHOENIXTEC:
            return aeg
        if s.getval("productid") is not None:
            return True
        s.log("info", possibly_supported("Eaton / MGE", dev))
        return False
    if dev.vendor_id == PHOENIXTEC:
        return aeg
    return True


_FUNS: dict[str, Fun] = {
    "eaton_abm_enabled_fun": eaton_abm_enabled_fun,
    "eaton_abm_status_fun": eaton_abm_status_fun,
    "eaton_abm_chrg_dischrg_fun": eaton_abm_chrg_dischrg_fun,
    "eaton_abm_check_dischrg_fun": eaton_abm_check_dischrg_fun,
    "eaton_abm_check_chrg_fun": eaton_abm_check_chrg_fun,
    "mge_date_conversion_fun": mge_date_conversion_fun,
    "mge_time_conversion_fun": mge_time_conversion_fun,
    "mge_battery_voltage_nominal_fun": mge_battery_voltage_nominal_fun,
    "mge_battery_voltage_fun": mge_battery_voltage_fun,
    "mge_powerfactor_conversion_fun": mge_powerfactor_conversion_fun,
    "mge_battery_capacity_fun": mge_battery_capacity_fun,
    "eaton_check_pegasus_fun": eaton_check_pegasus_fun,
    "pegasus_yes_no_info_fun": pegasus_yes_no_info_fun,
    "eaton_check_country_fun": eaton_check_country_fun,
    "eaton_compute_realpower_fun": eaton_compute_realpower_fun,
    "nominal_output_voltage_fun": nominal_output_voltage_fun,
    "eaton_converter_online_fun": eaton_converter_online_fun,
}


SUBDRIVER = Subdriver(
    name=NAME,
    claim=_claim,
    usages=(MGE_USAGE_LKP, GENERIC_USAGES),
    hid2nut=MGE_HID2NUT,
    lookups={
        name.lower(): table
        for name, table in globals().items()
        if name.isupper() and isinstance(table, tuple) and name.endswith(("_INFO", "_CONVERSION"))
    }
    | {
        "mge_battery_voltage_nominal": MGE_BATTERY_VOLTAGE_NOMINAL,
        "mge_battery_voltage": MGE_BATTERY_VOLTAGE,
        "mge_battery_capacity": MGE_BATTERY_CAPACITY,
        "mge_emergency_stop": MGE_EMERGENCY_STOP,
        "mge_wiring_fault": MGE_WIRING_FAULT,
        "mge_config_failure": MGE_CONFIG_FAILURE,
        "mge_inverter_volthi": MGE_INVERTER_VOLTHI,
        "mge_inverter_voltlo": MGE_INVERTER_VOLTLO,
        "mge_short_circuit": MGE_SHORT_CIRCUIT,
    },
    funs=_FUNS,
    nufs={
        "mge_date_conversion_nuf": mge_date_conversion_nuf,
        "mge_time_conversion_nuf": mge_time_conversion_nuf,
        "pegasus_yes_no_info_nuf": pegasus_yes_no_info_nuf,
    },
    format_model=_format_model,
    format_mfr=lambda s, d: d.vendor if d.vendor is not None else "Eaton",
    format_serial=lambda s, d: d.serial,
)
