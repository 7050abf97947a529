"""The Voltronic-QS-Hex subdriver (NUT's nutdrv_qx_voltronic-qs-hex).

M answers "P" or "T"; QS answers raw bytes, space-separated, with CR, LF,
XON, XOFF and space escaped as ``(`` and 0x00-0x04.  The answer is turned
into hex text (the status and rating bytes into binary digits) before the
items read it.  "T" units also give ratings and a quick test.
"""

# printf formats on purpose: the values must be formatted as NUT's C code does
# ruff: noqa: UP031

from __future__ import annotations

from nutwist.drivers.qx import blazer_common as bc
from nutwist.drivers.qx.core import (
    DEFAULT_OFFDELAY,
    DEFAULT_ONDELAY,
    QX_FLAG_ABSENT,
    QX_FLAG_CMD,
    QX_FLAG_QUICK_POLL,
    QX_FLAG_RANGE,
    QX_FLAG_SETVAR,
    QX_FLAG_SKIP,
    QX_FLAG_STATIC,
    RW,
    SMALLBUF,
    ST_FLAG_RW,
    I,
    Item,
    QxDriver,
    Subdriver,
)
from nutwist.drivers.qx.cstr import cformat, cstr, eq, strspn, strtol, strtol_end
from nutwist.drivers.qx.voltronic_qs import claim

R_ONDELAY = [RW("60"), RW("599940")]
R_OFFDELAY = [RW("12"), RW("540")]
_ESCAPED = {0: 0x0D, 1: 0x11, 2: 0x13, 3: 0x0A, 4: 0x20}
_HEX = "0123456789ABCDEFabcdef"


def _binary(value: int) -> int:
    """The byte's bits written as a decimal number (0b101 -> 101)."""
    ret, power = 0, 1
    while value:
        if value & 1:
            ret += power
        power *= 10
        value >>= 1
    return ret


def preprocess_qs_answer(qx: QxDriver, item: Item, length: int) -> int:
    if length <= 0:
        return length
    raw = item.answer
    if not raw or raw[0] != "#":
        return -1
    out = ["#"]
    token = 1
    i = 1
    n = min(length, len(raw))
    while i < n:
        c = ord(raw[i])
        if c == 0x20:
            out.append(" ")
            token += 1
            i += 1
            continue
        if c == 0x28:
            nxt = ord(raw[i + 1]) if i + 1 < len(raw) else 0
            if nxt in _ESCAPED:
                out.append("%02x" % _ESCAPED[nxt])
                i += 2
                continue
            out.append("%02x" % c if token not in (10, 11) else "%08d" % _binary(c))
            i += 1
            continue
        if c == 0x0D:
            break
        out.append("%02x" % c if token not in (10, 11) else "%08d" % _binary(c))
        i += 1
    refined = "".join(out)[: SMALLBUF - 1]
    if (
        token < 10
        or token > 11
        or (token == 10 and len(refined) != 46)
        or (token == 11 and len(refined) != 55)
    ):
        return -1
    item.answer = (refined + "\r")[: SMALLBUF - 1]
    return len(refined) + 1


def _protocol(qx: QxDriver, item: Item, value: str) -> str | None:
    if not eq(item.value, "P") and not eq(item.value, "T"):
        return None
    out = cformat(item.dfl or "%s", cstr(item.value))
    if eq(item.value, "P"):
        return out
    for name, flags in (
        ("test.battery.start.quick", QX_FLAG_CMD),
        ("output.frequency.nominal", 0),
        ("battery.voltage.nominal", 0),
        ("output.voltage.nominal", 0),
    ):
        unskip = qx.find_nut_info(name, flags, 0)
        if unskip is None:
            return None
        unskip.qxflags &= ~QX_FLAG_SKIP
    return out


def _hexchars(value: str, extra: str = " ") -> bool:
    return strspn(value, _HEX + extra) == len(cstr(value))


def _io_voltage(qx: QxDriver, item: Item, value: str) -> str | None:
    if not _hexchars(item.value):
        return None
    a, rest = strtol_end(item.value, 16)
    val = (
        int(a * strtol(rest, 16) / 51)
        if a * strtol(rest, 16) >= 0
        else -int(-a * strtol(rest, 16) / 51)
    )
    return cformat(item.dfl or "", val / 256.0)


def _load(qx: QxDriver, item: Item, value: str) -> str | None:
    if not _hexchars(item.value, ""):
        return None
    return cformat(item.dfl or "", strtol(item.value, 16))


def _frequency(qx: QxDriver, item: Item, value: str) -> str | None:
    if not _hexchars(item.value):
        return None
    a, rest = strtol_end(item.value, 16)
    b = strtol(rest, 16)
    # C's double division: x/0 is infinite (or NaN for 0/0)
    ret = b / a if a else (float("inf") if b > 0 else float("-inf") if b < 0 else float("nan"))
    ret = 99.9 if ret > 99.9 else ret
    return cformat(item.dfl or "", ret)


def _battery_voltage(qx: QxDriver, item: Item, value: str) -> str | None:
    if not _hexchars(item.value):
        return None
    a, rest = strtol_end(item.value, 16)
    return cformat(item.dfl or "", (a * strtol(rest, 16)) / 510.0)


def _ratings_bits(qx: QxDriver, item: Item, value: str) -> str | None:
    if strspn(item.value, "01") != len(cstr(item.value)):
        return None
    val = strtol(item.value)
    if item.from_ == 47:
        ret = 50.0 if val == 0 else 60.0
    elif item.from_ == 48:
        ret = {0: 12.0, 1: 24.0, 10: 36.0}.get(val, 48.0)
    elif item.from_ == 52:
        volts = {0: 110.0, 1: 120.0, 10: 220.0, 11: 230.0, 100: 240.0}.get(val)
        if volts is None:
            return None
        ret = volts
    else:
        return None
    return cformat(item.dfl or "", ret)


def _table() -> list[Item]:
    pa = preprocess_qs_answer
    b = bc.process_status_bits
    q = QX_FLAG_QUICK_POLL
    c = QX_FLAG_CMD
    f = QX_FLAG_ABSENT | QX_FLAG_SETVAR | QX_FLAG_RANGE
    return [
        I("ups.firmware.aux", 0, None, "M\r", 2, "", 0, 0, "PM-%s", QX_FLAG_STATIC, None, None, _protocol),
        I("input.voltage", 0, None, "QS\r", 47, "#", 1, 7, "%.1f", 0, None, pa, _io_voltage),
        I("output.voltage", 0, None, "QS\r", 47, "#", 9, 15, "%.1f", 0, None, pa, _io_voltage),
        I("ups.load", 0, None, "QS\r", 47, "#", 17, 18, "%d", 0, None, pa, _load),
        I("output.frequency", 0, None, "QS\r", 47, "#", 20, 30, "%.1f", 0, None, pa, _frequency),
        I("battery.voltage", 0, None, "QS\r", 47, "#", 32, 36, "%.2f", 0, None, pa, _battery_voltage),
        I("ups.status", 0, None, "QS\r", 47, "#", 38, 38, None, q, None, pa, b),
        I("ups.status", 0, None, "QS\r", 47, "#", 39, 39, None, q, None, pa, b),
        I("ups.status", 0, None, "QS\r", 47, "#", 40, 40, None, q, None, pa, b),
        I("ups.alarm", 0, None, "QS\r", 47, "#", 41, 41, None, 0, None, pa, b),
        I("ups.type", 0, None, "QS\r", 47, "#", 42, 42, "%s", QX_FLAG_STATIC, None, pa, b),
        I("ups.status", 0, None, "QS\r", 47, "#", 43, 43, None, q, None, pa, b),
        I("ups.status", 0, None, "QS\r", 47, "#", 44, 44, None, q, None, pa, b),
        I("ups.beeper.status", 0, None, "QS\r", 47, "#", 45, 45, "%s", 0, None, pa, b),
        I("output.frequency.nominal", 0, None, "QS\r", 56, "#", 47, 47, "%.1f", QX_FLAG_SKIP, None, pa, _ratings_bits),
        I("battery.voltage.nominal", 0, None, "QS\r", 56, "#", 48, 49, "%.1f", QX_FLAG_SKIP, None, pa, _ratings_bits),
        I("output.voltage.nominal", 0, None, "QS\r", 56, "#", 52, 54, "%.1f", QX_FLAG_SKIP, None, pa, _ratings_bits),
        I("beeper.toggle", 0, None, "Q\r", 0, "", 0, 0, None, c),
        I("load.off", 0, None, "S00R0000\r", 0, "", 0, 0, None, c),
        I("load.on", 0, None, "C\r", 0, "", 0, 0, None, c),
        I("shutdown.return", 0, None, "S%s\r", 0, "", 0, 0, None, c, None, None, bc.process_command),
        I("shutdown.stayoff", 0, None, "S%sR0000\r", 0, "", 0, 0, None, c, None, None, bc.process_command),
        I("shutdown.stop", 0, None, "C\r", 0, "", 0, 0, None, c),
        I("test.battery.start.quick", 0, None, "T\r", 0, "", 0, 0, None, c | QX_FLAG_SKIP),
        I("ups.delay.start", ST_FLAG_RW, R_ONDELAY, None, 0, "", 0, 0, DEFAULT_ONDELAY, f, None, None, bc.process_setvar),
        I("ups.delay.shutdown", ST_FLAG_RW, R_OFFDELAY, None, 0, "", 0, 0, DEFAULT_OFFDELAY, f, None, None, bc.process_setvar),
    ]  # fmt: skip


VOLTRONIC_QS_HEX = Subdriver(
    "Voltronic-QS-Hex 0.10",
    claim,
    _table(),
    initups=bc.initups_light,
    options=bc.OPTIONS_LIGHT,
    rejected="N\r",
)
