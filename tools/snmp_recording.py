"""Write a .snmprec for a simulated UPS that speaks one of NUT's MIB mappings.

The OIDs are the ones NUT 2.8.0's mapping table reads (so every entry of the
mapping is exercised); each value is chosen from the entry itself: for an
enumeration, the device value NUT's table maps to the normal state (on line,
battery normal), for a number a plausible reading scaled by the entry's
multiplier, for a string a short text.  Outlet and sensor templates get two
instances.  Recordings made this way test that two drivers read the same agent
the same way; they are not captures of real hardware.

    python tools/snmp_recording.py MAPPING SYSOID OUT.snmprec
"""

from __future__ import annotations

import sys

from nutwist.drivers.snmp.mapping import (
    ST_FLAG_STRING,
    TEMPLATES,
    Info,
    mappings,
)

NUMBERS = [
    ("transfer.low", 180),
    ("transfer.high", 260),
    ("voltage.nominal", 230),
    ("frequency", 50),
    ("voltage", 230),
    ("charge.low", 20),
    ("charge.restart", 15),
    ("charge", 100),
    ("runtime.low", 120),
    ("runtime", 2400),
    ("temperature", 25),
    ("humidity", 40),
    ("current", 2),
    ("load", 30),
    ("power", 600),
    ("delay", 20),
    ("efficiency", 95),
    ("phases", 1),
    ("timer", -1),
    ("count", 2),
    ("packs", 1),
]
TEXTS = {
    "ups.mfr": "Simulated Power",
    "ups.model": "SIM 1500",
    "device.model": "SIM 1500",
    "ups.serial": "SN0042",
    "ups.id": "rack7",
    "device.contact": "ops@example.net",
    "device.location": "Server room",
    "device.description": "simulated UPS agent",
}


def pick(info: Info) -> tuple[int, str]:
    """(snmprec tag, value text) for one entry."""
    name = info.name.lower()
    if info.lookup and info.lookup[0][2] == "su_usdate_to_isodate_info_fun":
        return 4, "01/15/2020"
    if info.lookup:
        normal = [k for k, v, _ in info.lookup if v is not None and v in ("OL", "")]
        named = [k for k, v, _ in info.lookup if v not in (None, "", "NULL")]
        if name == "ups.status" and normal:
            ol = [k for k, v, _ in info.lookup if v == "OL"]
            return 2, str((ol or normal)[0])
        if named:
            return 2, str(named[0])
        return 2, str(info.lookup[0][0])
    if info.info_flags & ST_FLAG_STRING:
        if "date" in name:
            return 4, "01/15/2020"
        return 4, TEXTS.get(name, name.split(".")[-1] + " text")
    for key, target in NUMBERS:
        if key in name:
            mult = info.info_len or 1.0
            return 2, str(round(target / mult))
    return 2, "1"


def recording(mapping_name: str, sysoid: str) -> list[tuple[tuple[int, ...], str]]:
    m = next(m for m in mappings() if m.name == mapping_name)
    out: dict[tuple[int, ...], str] = {}
    rows: list[Info] = []
    for info in m.rows():
        if not info.oid:
            continue
        if info.flags & TEMPLATES or "%i" in info.oid:
            for n in (1, 2):
                rows.append(
                    Info(
                        info.name.replace("%i", str(n), 1),
                        info.info_flags,
                        info.info_len,
                        info.oid.replace("%i", str(n), 1),
                        info.dfl,
                        info.flags,
                        info.lookup,
                    )
                )
        else:
            rows.append(info)
    for info in rows:
        assert info.oid is not None
        oid = tuple(int(p) for p in info.oid.strip(".").split("."))
        if oid in out and not (info.name == "ups.status" and info.lookup):
            continue
        tag, value = pick(info)
        out[oid] = f"{tag}|{value}"
    system = {
        (1, 3, 6, 1, 2, 1, 1, 1, 0): "4|simulated UPS agent",
        (1, 3, 6, 1, 2, 1, 1, 2, 0): f"6|{sysoid.strip('.')}",
        (1, 3, 6, 1, 2, 1, 1, 4, 0): "4|ops@example.net",
        (1, 3, 6, 1, 2, 1, 1, 5, 0): "4|sim-ups",
        (1, 3, 6, 1, 2, 1, 1, 6, 0): "4|Server room",
    }
    out.update({k: v for k, v in system.items() if k not in out})
    return sorted(out.items())


def main() -> int:
    name, sysoid, path = sys.argv[1:4]
    lines = [
        f"# A simulated UPS for NUT 2.8.0's '{name}' snmp-ups mapping, sysObjectID {sysoid}.",
        "# Written by tools/snmp_recording.py: the OIDs are those the mapping table reads,",
        "# the values picked from each entry (normal state, plausible readings); not a",
        "# capture of real hardware.",
    ]
    for oid, rest in recording(name, sysoid):
        lines.append(".".join(map(str, oid)) + "|" + rest)
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
