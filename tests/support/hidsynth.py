"""Synthetic HID UPSes for the subdrivers without a real capture (stdlib only).

A ``<name>.synth.json`` file in tests/data/usbhid describes a device: its IDs and strings,
the usage names its paths use (``usages``: name -> code, with the generic names built in),
and its fields::

    {"vendorid": "0764", "productid": "0501", "strings": {"1": "CPS", "2": "CP1500", "3": "X1"},
     "usages": {"CPSFoo": "ff010004"},
     "fields": [["UPS.PowerSummary.RemainingCapacity", 8, 0, 255, 100], ...]}

Each field is ``[path, size in bits, logical min, logical max, value]`` and optionally a unit
code and unit exponent.  Fields under a ``PresentStatus`` collection share one report and are
sent both as Input (interrupt) and Feature; every other field has a report of its own.
:func:`build` returns the report descriptor and the reports, as a :class:`Capture` needs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

# the generic names (NUT's Power Device and Battery System pages) the paths may use
_GENERIC = {
    "Undefined": 0x00840000,
    "iName": 0x00840001,
    "PresentStatus": 0x00840002,
    "ChangedStatus": 0x00840003,
    "UPS": 0x00840004,
    "PowerSupply": 0x00840005,
    "BatterySystem": 0x00840010,
    "BatterySystemID": 0x00840011,
    "Battery": 0x00840012,
    "BatteryID": 0x00840013,
    "Charger": 0x00840014,
    "ChargerID": 0x00840015,
    "PowerConverter": 0x00840016,
    "PowerConverterID": 0x00840017,
    "OutletSystem": 0x00840018,
    "OutletSystemID": 0x00840019,
    "Input": 0x0084001A,
    "InputID": 0x0084001B,
    "Output": 0x0084001C,
    "OutputID": 0x0084001D,
    "Flow": 0x0084001E,
    "FlowID": 0x0084001F,
    "Outlet": 0x00840020,
    "OutletID": 0x00840021,
    "Gang": 0x00840022,
    "GangID": 0x00840023,
    "PowerSummary": 0x00840024,
    "PowerSummaryID": 0x00840025,
    "Voltage": 0x00840030,
    "Current": 0x00840031,
    "Frequency": 0x00840032,
    "ApparentPower": 0x00840033,
    "ActivePower": 0x00840034,
    "PercentLoad": 0x00840035,
    "Temperature": 0x00840036,
    "Humidity": 0x00840037,
    "BadCount": 0x00840038,
    "ConfigVoltage": 0x00840040,
    "ConfigCurrent": 0x00840041,
    "ConfigFrequency": 0x00840042,
    "ConfigApparentPower": 0x00840043,
    "ConfigActivePower": 0x00840044,
    "ConfigPercentLoad": 0x00840045,
    "ConfigTemperature": 0x00840046,
    "ConfigHumidity": 0x00840047,
    "SwitchOnControl": 0x00840050,
    "SwitchOffControl": 0x00840051,
    "ToggleControl": 0x00840052,
    "LowVoltageTransfer": 0x00840053,
    "HighVoltageTransfer": 0x00840054,
    "DelayBeforeReboot": 0x00840055,
    "DelayBeforeStartup": 0x00840056,
    "DelayBeforeShutdown": 0x00840057,
    "Test": 0x00840058,
    "ModuleReset": 0x00840059,
    "AudibleAlarmControl": 0x0084005A,
    "Present": 0x00840060,
    "Good": 0x00840061,
    "InternalFailure": 0x00840062,
    "VoltageOutOfRange": 0x00840063,
    "FrequencyOutOfRange": 0x00840064,
    "Overload": 0x00840065,
    "OverCharged": 0x00840066,
    "OverTemperature": 0x00840067,
    "ShutdownRequested": 0x00840068,
    "ShutdownImminent": 0x00840069,
    "SwitchOn/Off": 0x0084006B,
    "Switchable": 0x0084006C,
    "Used": 0x0084006D,
    "Boost": 0x0084006E,
    "Buck": 0x0084006F,
    "Initialized": 0x00840070,
    "Tested": 0x00840071,
    "AwaitingPower": 0x00840072,
    "CommunicationLost": 0x00840073,
    "iManufacturer": 0x008400FD,
    "iProduct": 0x008400FE,
    "iSerialNumber": 0x008400FF,
    "SMBBatteryMode": 0x00850001,
    "SMBBatteryStatus": 0x00850002,
    "SMBAlarmWarning": 0x00850003,
    "SMBChargerMode": 0x00850004,
    "SMBChargerStatus": 0x00850005,
    "SMBChargerSpecInfo": 0x00850006,
    "SMBSelectorState": 0x00850007,
    "SMBSelectorPresets": 0x00850008,
    "SMBSelectorInfo": 0x00850009,
    "OptionalMfgFunction1": 0x00850010,
    "OptionalMfgFunction2": 0x00850011,
    "OptionalMfgFunction3": 0x00850012,
    "OptionalMfgFunction4": 0x00850013,
    "OptionalMfgFunction5": 0x00850014,
    "ConnectionToSMBus": 0x00850015,
    "OutputConnection": 0x00850016,
    "ChargerConnection": 0x00850017,
    "BatteryInsertion": 0x00850018,
    "Usenext": 0x00850019,
    "OKToUse": 0x0085001A,
    "BatterySupported": 0x0085001B,
    "SelectorRevision": 0x0085001C,
    "ChargingIndicator": 0x0085001D,
    "ManufacturerAccess": 0x00850028,
    "RemainingCapacityLimit": 0x00850029,
    "RemainingTimeLimit": 0x0085002A,
    "AtRate": 0x0085002B,
    "CapacityMode": 0x0085002C,
    "BroadcastToCharger": 0x0085002D,
    "PrimaryBattery": 0x0085002E,
    "ChargeController": 0x0085002F,
    "TerminateCharge": 0x00850040,
    "TerminateDischarge": 0x00850041,
    "BelowRemainingCapacityLimit": 0x00850042,
    "RemainingTimeLimitExpired": 0x00850043,
    "Charging": 0x00850044,
    "Discharging": 0x00850045,
    "FullyCharged": 0x00850046,
    "FullyDischarged": 0x00850047,
    "ConditioningFlag": 0x00850048,
    "AtRateOK": 0x00850049,
    "SMBErrorCode": 0x0085004A,
    "NeedReplacement": 0x0085004B,
    "AtRateTimeToFull": 0x00850060,
    "AtRateTimeToEmpty": 0x00850061,
    "AverageCurrent": 0x00850062,
    "Maxerror": 0x00850063,
    "RelativeStateOfCharge": 0x00850064,
    "AbsoluteStateOfCharge": 0x00850065,
    "RemainingCapacity": 0x00850066,
    "FullChargeCapacity": 0x00850067,
    "RunTimeToEmpty": 0x00850068,
    "AverageTimeToEmpty": 0x00850069,
    "AverageTimeToFull": 0x0085006A,
    "CycleCount": 0x0085006B,
    "BattPackModelLevel": 0x00850080,
    "InternalChargeController": 0x00850081,
    "PrimaryBatterySupport": 0x00850082,
    "DesignCapacity": 0x00850083,
    "SpecificationInfo": 0x00850084,
    "ManufacturerDate": 0x00850085,
    "SerialNumber": 0x00850086,
    "iManufacturerName": 0x00850087,
    "iDevicename": 0x00850088,
    "iDeviceChemistry": 0x00850089,
    "ManufacturerData": 0x0085008A,
    "Rechargeable": 0x0085008B,
    "WarningCapacityLimit": 0x0085008C,
    "CapacityGranularity1": 0x0085008D,
    "CapacityGranularity2": 0x0085008E,
    "iOEMInformation": 0x0085008F,
    "InhibitCharge": 0x008500C0,
    "EnablePolling": 0x008500C1,
    "ResetToZero": 0x008500C2,
    "ACPresent": 0x008500D0,
    "BatteryPresent": 0x008500D1,
    "PowerFail": 0x008500D2,
    "AlarmInhibited": 0x008500D3,
    "ThermistorUnderRange": 0x008500D4,
    "ThermistorHot": 0x008500D5,
    "ThermistorCold": 0x008500D6,
    "ThermistorOverRange": 0x008500D7,
    "CurrentOutOfRange": 0x008500D9,
    "CurrentNotRegulated": 0x008500DA,
    "VoltageNotRegulated": 0x008500DB,
    "MasterMode": 0x008500DC,
    "ChargerSelectorSupport": 0x008500F0,
    "ChargerSpec": 0x008500F1,
    "Level2": 0x008500F2,
    "Level3": 0x008500F3,
}


def _code(name: str, usages: dict[str, int]) -> int:
    # names match without regard to case, as NUT looks them up
    for table in (usages, _GENERIC):
        for known, code in table.items():
            if known.lower() == name.lower():
                return code
    return int(name, 16)


def _item(tag: int, value: int, size: int | None = None) -> bytes:
    """A short item, in the smallest size that keeps the value's sign (or ``size`` bytes)."""
    if size is None:
        if -128 <= value <= 127:
            size = 1
        elif -32768 <= value <= 32767:
            size = 2
        else:
            size = 4
    code = {0: 0, 1: 1, 2: 2, 4: 3}[size]
    return bytes([tag | code]) + (value & ((1 << (8 * size)) - 1)).to_bytes(size, "little")


def _usage(code: int, page: list[int]) -> bytes:
    out = b""
    if page[0] != code >> 16:
        page[0] = code >> 16
        out += _item(0x04, code >> 16, 2 if code >> 16 > 0xFF else 1)
    return out + _item(0x08, code & 0xFFFF, 2 if code & 0xFFFF > 0xFF else 1)


def build(spec: dict[str, Any]) -> tuple[bytes, dict[int, bytes]]:
    usages = {k: int(v, 16) for k, v in spec.get("usages", {}).items()}
    fields = spec["fields"]
    # report IDs: one per PresentStatus collection, one per other field
    next_id = 1
    ids: dict[str, int] = {}
    plan = []
    for f in fields:
        path = f[0].split(".")
        parent = ".".join(path[:-1])
        if path[-2] == "PresentStatus":
            if parent not in ids:
                ids[parent] = next_id
                next_id += 1
            rid = ids[parent]
        else:
            rid = next_id
            next_id += 1
        plan.append((path, rid, f))
    # emit, opening and closing collections as the paths change
    out = bytearray()
    page = [-1]
    open_path: list[str] = []
    bits: dict[tuple[int, int], int] = {}
    values: dict[int, list[tuple[int, int, int]]] = {}
    state: dict[int, int] = {}
    for path, rid, f in plan:
        # a "[n]" node is the index of the collection before it (Collection item 0x80 | n)
        parents: list[str] = []
        for node in path[:-1]:
            if node.startswith("[") and parents:
                parents[-1] += node
            else:
                parents.append(node)
        common = 0
        while common < min(len(open_path), len(parents)) and open_path[common] == parents[common]:
            common += 1
        for _ in range(len(open_path) - common):
            out += b"\xc0"
        open_path = open_path[:common]
        for depth in range(common, len(parents)):
            name, _, index = parents[depth].partition("[")
            out += _usage(_code(name, usages), page)
            if index:
                kind = 0x80 | int(index.rstrip("]"))
            else:
                kind = 0x01 if depth == 0 else (0x02 if name == "PresentStatus" else 0x00)
            out += _item(0xA0, kind, 1)
            open_path.append(parents[depth])
        size, lo, hi, value = f[1], f[2], f[3], f[4]
        unit = f[5] if len(f) > 5 else 0
        exp = f[6] if len(f) > 6 else 0
        # global items only when they change, as real descriptors do
        for tag, item_value, item_size in (
            (0x84, rid, 1),
            (0x74, size, 1),
            (0x94, 1, 1),
            (0x14, lo, None),
            (0x24, hi, 4 if hi > 0x7FFF else None),
            (0x64, unit, 4 if unit > 0xFFFF else None),
            (0x54, exp & 0x0F, 1),
        ):
            if state.get(tag) != item_value:
                state[tag] = item_value
                out += _item(tag, item_value, item_size)
        kinds = (0x80, 0xB0) if path[-2] == "PresentStatus" else (0xB0,)
        for kind in kinds:
            out += _usage(_code(path[-1], usages), page)
            out += bytes([kind | 1, 0x02])  # data, variable, absolute
            offset = bits.get((rid, kind), 0)
            bits[(rid, kind)] = offset + size
            if kind == 0xB0:
                values.setdefault(rid, []).append((offset, size, int(value)))
    out += b"\xc0" * len(open_path)
    reports = {}
    for rid, fs in values.items():
        nbits = max(o + s for o, s, _ in fs)
        buf = bytearray(1 + (nbits + 7) // 8)
        buf[0] = rid
        for offset, size, value in fs:
            for i in range(size):
                if value >> i & 1:
                    bit = offset + 8 + i
                    buf[bit >> 3] |= 1 << (bit & 7)
        reports[rid] = bytes(buf)
    return bytes(out), reports


def load_spec(path: Path) -> dict[str, Any]:
    spec: dict[str, Any] = json.loads(path.read_text())
    return spec
