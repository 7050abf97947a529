"""NUT's MIB-to-NUT mappings as nutwist objects (the data lives in ``mibs/``).

Flag values are NUT 2.8.0's (``include/extstate.h`` and ``drivers/snmp-ups.h``):
they are part of the mapping data.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from functools import cache, lru_cache
from types import ModuleType

from nutwist.drivers.snmp import ber

# state flags (what upsd reports with GET TYPE)
ST_FLAG_RW = 0x1
ST_FLAG_STRING = 0x2
ST_FLAG_NUMBER = 0x4

# snmp-ups flags
SU_FLAG_OK = 1 << 0
SU_FLAG_STATIC = 1 << 1
SU_FLAG_ABSENT = 1 << 2
SU_FLAG_STALE = 1 << 3
SU_FLAG_NEGINVALID = 1 << 4
SU_FLAG_UNIQUE = 1 << 5
SU_FLAG_ZEROINVALID = 1 << 6
SU_FLAG_NAINVALID = 1 << 7
SU_CMD_OFFSET = 1 << 8
SU_FLAG_SEMI_STATIC = 1 << 9
SU_OUTLET_GROUP = 1 << 10
SU_OUTLET = 1 << 11
SU_INPHASES = 0x3 << 12
SU_INPUT_1 = 1 << 12
SU_INPUT_3 = 1 << 13
SU_OUTPHASES = 0x3 << 14
SU_OUTPUT_1 = 1 << 14
SU_OUTPUT_3 = 1 << 15
SU_BYPPHASES = 0x3 << 16
SU_BYPASS_1 = 1 << 16
SU_BYPASS_3 = 1 << 17
SU_TYPE_INT = 1 << 18
SU_TYPE_TIME = 1 << 19
SU_TYPE_CMD = 1 << 20
SU_TYPE_MASK = 7 << 18
SU_TYPE_DAISY_1 = 1 << 21
SU_TYPE_DAISY_2 = 1 << 22
SU_DAISY = 1 << 23
SU_TYPE_DAISY_MASTER_ONLY = 1 << 24
SU_AMBIENT_TEMPLATE = 1 << 26
SU_STATUS_PWR = 1 << 28
SU_STATUS_BATT = 1 << 29
SU_STATUS_CAL = 1 << 30
SU_STATUS_RB = 1 << 31

TEMPLATES = SU_OUTLET | SU_OUTLET_GROUP | SU_AMBIENT_TEMPLATE

#: (device value, NUT value, name of a conversion function or None)
Lookup = tuple[tuple[int, str | None, str | None], ...]


#: lookup tables snmp-ups itself defines (snmp-ups-helpers.c), which mappings name
COMMON_LOOKUPS: dict[str, Lookup] = {
    "su_convert_to_iso_date_info": ((1, "dummy", "su_usdate_to_isodate_info_fun"),),
}


@dataclass
class Info:
    """One row of a mapping table; ``flags`` changes as the driver learns the device."""

    name: str
    info_flags: int
    info_len: float
    oid: str | None
    dfl: str | None
    flags: int
    lookup: Lookup | None

    @property
    def is_cmd(self) -> bool:
        return self.flags & SU_TYPE_MASK == SU_TYPE_CMD

    @property
    def is_template(self) -> bool:
        return bool(self.flags & TEMPLATES)

    def oid_tuple(self) -> ber.OID | None:
        return _parsed(self.oid)


@dataclass(frozen=True)
class Mapping:
    """One MIB-to-NUT mapping (NUT's ``mib2nut_info_t``)."""

    name: str
    version: str
    oid_pwr_status: str | None
    oid_auto_check: str | None
    table: str
    sysoid: str | None
    alarms: str | None
    module: str

    def rows(self) -> list[Info]:
        """A fresh, mutable copy of the table, as the driver changes flags."""
        mod = _module(self.module)
        lookups = {**COMMON_LOOKUPS, **mod.LOOKUPS}
        out = []
        for name, info_flags, info_len, oid, dfl, flags, lkp in mod.TABLES[self.table]:
            lookup = lookups.get(lkp) if lkp else None
            if (self.module, lkp) in NULL_LAST:
                lookup = _null_last(lookup)
            out.append(Info(name, info_flags, info_len, oid, dfl, flags, lookup))
        return out

    def alarm_rows(self) -> tuple[tuple[str, str | None, str | None], ...]:
        if not self.alarms:
            return ()
        alarms: tuple[tuple[str, str | None, str | None], ...] = _module(self.module).ALARMS.get(
            self.alarms, ()
        )
        return alarms


#: Lookup tables whose "NULL" entry (which ends a lookup) NUT 2.8.0 put first, hiding
#: every other entry.  NUT 2.8.1 moved it last in CyberPower's power-status table, so
#: that ups.status shows OL and OB; nutwist follows the fixed release.
NULL_LAST = {("cyberpower", "cyberpower_power_status")}


def _null_last(lookup: Lookup | None) -> Lookup | None:
    if lookup is None:
        return None
    return tuple(e for e in lookup if e[1] != "NULL") + tuple(e for e in lookup if e[1] == "NULL")


@lru_cache(maxsize=1 << 14)
def _parsed(oid: str | None) -> ber.OID | None:
    if oid is None or "%" in oid:
        return None
    try:
        return ber.parse_oid(oid)
    except ValueError:
        return None


@cache
def _module(name: str) -> ModuleType:
    return importlib.import_module(f"nutwist.drivers.snmp.mibs.{name}")


@cache
def mappings() -> tuple[Mapping, ...]:
    """Every mapping, in the order NUT 2.8.0 tries them under ``mibs = auto``."""
    from nutwist.drivers.snmp.mibs.order import ORDER

    out = []
    for struct, module in ORDER:
        name, version, pwr, auto, table, sysoid, alarms = _module(module).MAPPINGS[struct]
        out.append(Mapping(name, version, pwr, auto, table, sysoid, alarms, module))
    return tuple(out)
