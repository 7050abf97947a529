"""Parts shared by the Megatec-like subdrivers (NUT's nutdrv_qx_blazer-common)."""

# printf formats on purpose: the values must be formatted as NUT's C code does
# ruff: noqa: UP031

from __future__ import annotations

from nutwist.drivers.qx.core import RW, Item, QxDriver
from nutwist.drivers.qx.cstr import cformat, eq, strspn, strtod, strtol

#: ups.delay.start and ups.delay.shutdown ranges (seconds)
R_ONDELAY = [RW("0"), RW("599940")]
R_OFFDELAY = [RW("12"), RW("600")]

OPTIONS = {
    "norating": "Skip reading rating information from UPS",
    "novendor": "Skip reading vendor information from UPS",
    "ignoresab": "Ignore 'Shutdown Active' bit in UPS status",
}
OPTIONS_LIGHT = {"ignoresab": "Ignore 'Shutdown Active' bit in UPS status"}


async def claim(qx: QxDriver) -> bool:
    """The status query answers, and (unless ``novendor``) the vendor query too."""
    item = qx.find_nut_info("input.voltage")
    if item is None or await qx.qx_process(item) or qx.ups_infoval_set(item) != 1:
        return False
    if qx.testvar("novendor"):
        return True
    item = qx.find_nut_info("ups.firmware")
    if item is None or await qx.qx_process(item) or qx.ups_infoval_set(item) != 1:
        qx.delinfo("input.voltage")
        return False
    return True


async def claim_light(qx: QxDriver) -> bool:
    """Only the status query."""
    item = qx.find_nut_info("input.voltage")
    if item is None or await qx.qx_process(item):
        return False
    return qx.ups_infoval_set(item) == 1


def initups(qx: QxDriver) -> None:
    nr, nv, isb = qx.testvar("norating"), qx.testvar("novendor"), qx.testvar("ignoresab")
    if not (nr or nv or isb):
        return
    from nutwist.drivers.qx.core import QX_FLAG_SKIP

    for item in qx.table:
        if not item.command:
            continue
        if nr and eq(item.command, "F\r"):
            item.qxflags |= QX_FLAG_SKIP
        if nv and (eq(item.command, "I\r") or eq(item.command, "FW?\r")):
            item.qxflags |= QX_FLAG_SKIP
        if isb and eq(item.info_type, "ups.status") and item.from_ == 44 and item.to == 44:
            item.qxflags |= QX_FLAG_SKIP


def initups_light(qx: QxDriver) -> None:
    if not qx.testvar("ignoresab"):
        return
    from nutwist.drivers.qx.core import QX_FLAG_SKIP

    for item in qx.table:
        if eq(item.info_type, "ups.status") and item.from_ == 44 and item.to == 44:
            item.qxflags |= QX_FLAG_SKIP
            break


def process_setvar(qx: QxDriver, item: Item, value: str) -> str | None:
    if not value:
        return None
    if eq(item.info_type, "ups.delay.start"):
        ondelay = strtol(value)
        if ondelay < 0:
            qx.log.error("{t}: ondelay '{v}' should not be negative", t=item.info_type, v=ondelay)
            return None
        return str(ondelay - _cmod(ondelay, 60))
    if eq(item.info_type, "ups.delay.shutdown"):
        offdelay = strtol(value)
        if offdelay < 0:
            qx.log.error("{t}: offdelay '{v}' should not be negative", t=item.info_type, v=offdelay)
            return None
        offdelay -= _cmod(offdelay, 6) if offdelay < 60 else _cmod(offdelay, 60)
        return str(offdelay)
    return None


def _cmod(a: int, b: int) -> int:
    """C's % (the sign follows the dividend)."""
    r = abs(a) % b
    return -r if a < 0 else r


def _cdiv(a: int, b: int) -> int:
    """C's integer division (truncates toward zero)."""
    q = abs(a) // b
    return -q if a < 0 else q


def process_command(qx: QxDriver, item: Item, value: str) -> str | None:
    cmd = item.command or ""
    if eq(item.info_type, "shutdown.return"):
        offdelay = strtol(qx.getinfo("ups.delay.shutdown") or "")
        ondelay = _cdiv(strtol(qx.getinfo("ups.delay.start") or ""), 60)
        if offdelay < 0:
            qx.log.error("{t}: offdelay '{v}' should not be negative", t=item.info_type, v=offdelay)
            return None
        if ondelay <= 0:
            buf = ".%d" % _cdiv(offdelay, 6) if offdelay < 60 else "%02d" % _cdiv(offdelay, 60)
        elif offdelay < 60:
            buf = ".%dR%04d" % (_cdiv(offdelay, 6), ondelay)
        else:
            buf = "%02dR%04d" % (_cdiv(offdelay, 60), ondelay)
        return cformat(cmd, buf)
    if eq(item.info_type, "shutdown.stayoff"):
        offdelay = strtol(qx.getinfo("ups.delay.shutdown") or "")
        if offdelay < 0:
            qx.log.error("{t}: offdelay '{v}' should not be negative", t=item.info_type, v=offdelay)
            return None
        buf = ".%d" % _cdiv(offdelay, 6) if offdelay < 60 else "%02d" % _cdiv(offdelay, 60)
        return cformat(cmd, buf)
    if eq(item.info_type, "test.battery.start"):
        delay = strtol(value) if value else 600
        if delay < 60 or delay > 5940:
            qx.log.error(
                "{t}: battery test time '{d}' out of range [60..5940] seconds",
                t=item.info_type,
                d=delay,
            )
            return None
        return cformat(cmd, _cdiv(delay, 60))
    return None


def process_status_bits(qx: QxDriver, item: Item, value: str) -> str | None:
    if strspn(item.value, "01") != 1:
        return None
    bit = item.value[0]
    pos = item.from_
    if pos == 38:
        return "!OL" if bit == "1" else "OL"
    if pos == 39:
        return "LB" if bit == "1" else "!LB"
    if pos == 40:
        if bit != "1":
            return ""
        vi = strtod(qx.getinfo("input.voltage") or "")
        vo = strtod(qx.getinfo("output.voltage") or "")
        if vo < 0.5 * vi:
            return None
        if vo < 0.95 * vi:
            return "TRIM"
        if vo < 1.05 * vi:
            return "BYPASS"
        if vo < 1.5 * vi:
            return "BOOST"
        return None
    if pos == 41:
        return "UPS selftest failed!" if bit == "1" else ""
    if pos == 42:
        return "offline / line interactive" if bit == "1" else "online"
    if pos == 43:
        return "CAL" if bit == "1" else "!CAL"
    if pos == 44:
        return "FSD" if bit == "1" else "!FSD"
    if pos == 45:
        return "enabled" if bit == "1" else "disabled"
    return None
