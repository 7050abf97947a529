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
_PAGE84 = {
    "iName": 0x01, "PresentStatus": 0x02, "ChangedStatus": 0x03, "UPS": 0x04, "PowerSupply": 0x05,
    "BatterySystem": 0x10, "Battery": 0x12, "BatteryID": 0x13, "Charger": 0x14,
    "PowerConverter": 0x16, "OutletSystem": 0x18, "Input": 0x1A, "Output": 0x1C, "Flow": 0x1E,
    "Outlet": 0x20, "Gang": 0x22, "PowerSummary": 0x24, "Voltage": 0x30, "Current": 0x31,
    "Frequency": 0x32, "ApparentPower": 0x33, "ActivePower": 0x34, "PercentLoad": 0x35,
    "Temperature": 0x36, "Humidity": 0x37, "BadCount": 0x38, "ConfigVoltage": 0x40,
    "ConfigCurrent": 0x41, "ConfigFrequency": 0x42, "ConfigApparentPower": 0x43,
    "ConfigActivePower": 0x44, "ConfigPercentLoad": 0x45, "ConfigTemperature": 0x46,
    "ConfigHumidity": 0x47, "SwitchOnControl": 0x50, "SwitchOffControl": 0x51,
    "ToggleControl": 0x52, "LowVoltageTransfer": 0x53, "HighVoltageTransfer": 0x54,
    "DelayBeforeReboot": 0x55, "DelayBeforeStartup": 0x56, "DelayBeforeShutdown": 0x57,
    "Test": 0x58, "ModuleReset": 0x59, "AudibleAlarmControl": 0x5A, "Present": 0x60,
    "Good": 0x61, "InternalFailure": 0x62, "VoltageOutOfRange": 0x63,
    "FrequencyOutOfRange": 0x64, "Overload": 0x65, "OverCharged": 0x66, "OverTemperature": 0x67,
    "ShutdownRequested": 0x68, "ShutdownImminent": 0x69, "SwitchOn/Off": 0x6B,
    "Switchable": 0x6C, "Used": 0x6D, "Boost": 0x6E, "Buck": 0x6F, "Initialized": 0x70,
    "Tested": 0x71, "AwaitingPower": 0x72, "CommunicationLost": 0x73, "iManufacturer": 0xFD,
    "iProduct": 0xFE, "iSerialNumber": 0xFF,
}  # fmt: skip
_PAGE85 = {
    "Rechargeable": 0x8B, "CapacityMode": 0x2C, "DesignCapacity": 0x83,
    "RemainingCapacity": 0x66, "FullChargeCapacity": 0x67, "RunTimeToEmpty": 0x68,
    "AverageTimeToEmpty": 0x69, "AverageTimeToFull": 0x6A, "RemainingCapacityLimit": 0x29,
    "RemainingTimeLimit": 0x2A, "WarningCapacityLimit": 0x8C, "CapacityGranularity1": 0x8D,
    "CapacityGranularity2": 0x8E, "ManufacturerDate": 0x85, "iDeviceChemistry": 0x89,
    "iOEMInformation": 0x8F, "iManufacturerName": 0x87, "Charging": 0x44, "Discharging": 0x45,
    "FullyCharged": 0x46, "FullyDischarged": 0x47, "ACPresent": 0xD0, "BatteryPresent": 0xD1,
    "BelowRemainingCapacityLimit": 0x42, "RemainingTimeLimitExpired": 0x43,
    "NeedReplacement": 0x4B, "VoltageNotRegulated": 0xDB, "CycleCount": 0x6B,
    "ConditioningFlag": 0x48, "AtRateTimeToEmpty": 0x61,
}  # fmt: skip


def _code(name: str, usages: dict[str, int]) -> int:
    if name in usages:
        return usages[name]
    if name in _PAGE85:
        return 0x00850000 | _PAGE85[name]
    if name in _PAGE84:
        return 0x00840000 | _PAGE84[name]
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
        out += _item(0x84, rid, 1)
        out += _item(0x74, size, 1) + _item(0x94, 1, 1)
        out += _item(0x14, lo) + _item(0x24, hi, 4 if hi > 0x7FFF else None)
        out += _item(0x64, unit, 4 if unit > 0xFFFF else None) + _item(0x54, exp & 0x0F, 1)
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
