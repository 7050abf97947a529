"""The BestUPS subdriver (NUT's nutdrv_qx_bestups): Best Power Fortress/Patriot, Sola.

Q1 for the status (the boost/buck bit last, as it depends on the others), ID
for model, power and battery voltages (``FOR,750,120,120,20.0,27.6``), RT for
the runtime, BP? the battery packs, SS? the shutdown mode of pins 1 and 7, M
the voltage-setting index.
"""

# printf formats on purpose: the values must be formatted as NUT's C code does
# ruff: noqa: UP031

from __future__ import annotations

from nutwist.drivers.qx import blazer_common as bc
from nutwist.drivers.qx.core import (
    CAL,
    DEFAULT_OFFDELAY,
    DEFAULT_ONDELAY,
    FSD,
    OL,
    QX_FLAG_ABSENT,
    QX_FLAG_CMD,
    QX_FLAG_NONUT,
    QX_FLAG_RANGE,
    QX_FLAG_SEMI_STATIC,
    QX_FLAG_SETVAR,
    QX_FLAG_SKIP,
    QX_FLAG_STATIC,
    RW,
    SMALLBUF,
    ST_FLAG_RW,
    STATUS,
    I,
    Item,
    QxDriver,
    Subdriver,
)
from nutwist.drivers.qx.cstr import cformat, cstr, eq, strspn, strtod, strtol
from nutwist.drivers.qx.megatec import q1_items

R_ONDELAY = [RW("60"), RW("599940")]
R_OFFDELAY = [RW("12"), RW("5940")]
R_BATT_PACKS = [RW("0"), RW("5")]
R_PINS_SHUTDOWN_MODE = [RW("0"), RW("6")]

#: M's index -> (low, boost, nominal, buck, high) volts; 10.. for models above 160 V
VOLTAGE_SETTINGS = [
    (96, 109, 120, 130, 146), (96, 109, 120, 138, 156), (90, 104, 120, 130, 146),
    (90, 104, 120, 138, 156), (90, 104, 110, 120, 130), (90, 104, 110, 130, 146),
    (90, 96, 110, 120, 130), (90, 96, 110, 130, 146), (96, 109, 128, 146, 156),
    (90, 104, 128, 146, 156),
    (200, 222, 240, 250, 284), (200, 222, 240, 264, 290), (188, 210, 240, 250, 284),
    (188, 210, 240, 264, 290), (188, 210, 230, 244, 270), (188, 210, 230, 250, 284),
    (180, 200, 230, 244, 270), (180, 200, 230, 250, 284), (165, 188, 208, 222, 244),
    (165, 188, 208, 244, 270),
]  # fmt: skip


def _state(qx: QxDriver) -> dict[str, int]:
    st: dict[str, int] | None = getattr(qx, "_bestups", None)
    if st is None:
        st = {"inverted_bbb_bit": 0, "pins_shutdown_mode": -1}
        qx._bestups = st  # type: ignore[attr-defined]
    return st


def preprocess_id_answer(qx: QxDriver, item: Item, length: int) -> int:
    if length <= 0:
        return length
    if length < 25 or length > 27:
        return -1
    tokens = [t for t in cstr(item.answer).split(",") if t]
    refined = ""
    i = 1
    for token in tokens:
        if i == 1:
            refined = token
        elif i == 2:
            refined += ",%4s" % token
        elif i == 6:
            refined += ",%6s" % token
        else:
            refined += "," + token
        refined = refined[: SMALLBUF - 1]
        i += 1
    if i != 7 or len(refined) != 28:
        return -1
    item.answer = refined
    return len(refined)


def process_setvar(qx: QxDriver, item: Item, value: str) -> str | None:
    if not value:
        return None
    val = strtod(value)
    if eq(item.info_type, "pins_shutdown_mode") and val == _state(qx)["pins_shutdown_mode"]:
        qx.log.info("{t} is already set to {v}", t=item.info_type, v="%.0f" % val)
        return None
    return cformat(item.command or "", val)


def process_bbb_status_bit(qx: QxDriver, item: Item, value: str) -> str | None:
    status = qx.qx_status()
    v = item.value
    if not (status & STATUS(OL)) or (status & (STATUS(CAL) | STATUS(FSD))):
        if v[:1] == "1":
            item.value = "0" + v[1:]
    elif _state(qx)["inverted_bbb_bit"]:
        if v[:1] == "1":
            item.value = "0" + v[1:]
        elif v[:1] == "0":
            item.value = "1" + v[1:]
    return bc.process_status_bits(qx, item, value)


def manufacturer(qx: QxDriver, item: Item, value: str) -> str | None:
    v = cstr(item.value)
    if v in ("AX1", "FOR", "FTC", "PR2", "PRO"):
        return cformat(item.dfl or "", "Best Power")
    if v in ("325", "520", "620"):
        return cformat(item.dfl or "", "Sola Australia")
    return cformat(item.dfl or "", "Unknown")


_MODELS = {
    "AX1": "Axxium Rackmount",
    "FOR": "Fortress",
    "FTC": "Fortress Telecom",
    "PR2": "Patriot Pro II",
    "PRO": "Patriot Pro",
}


def model(qx: QxDriver, item: Item, value: str) -> str | None:
    v = cstr(item.value)
    if v in _MODELS:
        out = cformat(item.dfl or "", _MODELS[v])
        if v in ("PR2", "PRO"):
            _state(qx)["inverted_bbb_bit"] = 1
    elif v in ("320", "325", "520", "525", "620"):
        out = f"Sola {v}"
    else:
        # NUT formats "Unknown (%s)" with the table's "%s": the words come out as they are
        out = cformat(item.dfl or "", "Unknown (%s)")
        qx.log.info("Unknown model detected - please report this ID: '{v}'", v=v)
    if v not in ("PRO", "320"):
        unskip = qx.find_nut_info("battery.runtime", 0, 0)
        if unskip is None:
            return None
        unskip.qxflags &= ~QX_FLAG_SKIP
    if v in ("AX1", "620"):
        unskip = qx.find_nut_info("battery.packs", 0, QX_FLAG_SETVAR)
        if unskip is None:
            return None
        unskip.qxflags &= ~QX_FLAG_SKIP
    return out


def batt_runtime(qx: QxDriver, item: Item, value: str) -> str | None:
    if strspn(item.value, "0123456789 .") != len(cstr(item.value)):
        return None
    return cformat(item.dfl or "", strtod(item.value) * 60)


def batt_packs(qx: QxDriver, item: Item, value: str) -> str | None:
    if strspn(item.value, "0123456789 ") != len(cstr(item.value)):
        return None
    out = cformat(item.dfl or "", strtol(item.value))
    unskip = qx.find_nut_info("battery.packs", QX_FLAG_SETVAR, 0)
    if unskip is None:
        return None
    unskip.qxflags &= ~QX_FLAG_SKIP
    return out


def get_pins_shutdown_mode(qx: QxDriver, item: Item, value: str) -> str | None:
    if strspn(item.value, "0123456789") != len(cstr(item.value)):
        return None
    n = strtol(item.value)
    if n > 2**31 - 1:
        return None
    _state(qx)["pins_shutdown_mode"] = n
    out = cformat(item.dfl or "", n)
    if (item.qxflags & QX_FLAG_NONUT) and not qx.getval(item.info_type):
        return out
    unskip = qx.find_nut_info(item.info_type, QX_FLAG_SETVAR, 0)
    if unskip is None:
        return None
    unskip.qxflags &= ~QX_FLAG_SKIP
    return out


def voltage_settings(qx: QxDriver, item: Item, value: str) -> str | None:
    if strspn(item.value, "0123456789") != len(cstr(item.value)):
        return None
    index = strtol(item.value)
    if index < 0 or index > 9:
        return None
    nominal = qx.getinfo("input.voltage.nominal")
    if nominal is None:
        nominal = qx.getinfo("output.voltage.nominal")
    if nominal is None:
        return None
    if strtol(nominal) > 160:
        index += 10
    low, boost, nom, buck, high = VOLTAGE_SETTINGS[index]
    t = item.info_type.lower()
    if t in ("input.transfer.low", "input.transfer.boost.low"):
        val = low
    elif t == "input.transfer.boost.high":
        val = boost
    elif t in ("input.voltage.nominal", "output.voltage.nominal"):
        val = nom
    elif t == "input.transfer.trim.low":
        val = buck
    elif t in ("input.transfer.trim.high", "input.transfer.high"):
        val = high
    else:
        return None
    return cformat(item.dfl or "", val)


async def claim(qx: QxDriver) -> bool:
    item = qx.find_nut_info("input.voltage")
    if item is None or await qx.qx_process(item) or qx.ups_infoval_set(item) != 1:
        return False
    item = qx.find_nut_info("device.model")
    if item is None or await qx.qx_process(item) or qx.ups_infoval_set(item) != 1:
        qx.delinfo("input.voltage")
        return False
    return True


def _status_items() -> list[Item]:
    items = q1_items()
    bbb = next(i for i in items if i.info_type == "ups.status" and i.from_ == 40)
    items.remove(bbb)
    bbb.preprocess = process_bbb_status_bit
    beeper = next(i for i in items if i.info_type == "ups.beeper.status")
    items.remove(beeper)
    return [*items, bbb]


def _table() -> list[Item]:
    st, ss = QX_FLAG_STATIC, QX_FLAG_SEMI_STATIC
    pa = preprocess_id_answer
    c = QX_FLAG_CMD
    f = QX_FLAG_ABSENT | QX_FLAG_SETVAR | QX_FLAG_RANGE
    vs = voltage_settings
    return [
        *_status_items(),
        I("device.mfr", 0, None, "ID\r", 28, "", 0, 2, "%s", st, None, pa, manufacturer),
        I("device.model", 0, None, "ID\r", 28, "", 0, 2, "%s", st, None, pa, model),
        I("ups.power.nominal", 0, None, "ID\r", 28, "", 4, 7, "%.0f", st, None, pa),
        I("input.voltage.nominal", 0, None, "ID\r", 28, "", 9, 11, "%.0f", st, None, pa),
        I("output.voltage.nominal", 0, None, "ID\r", 28, "", 13, 15, "%.0f", st, None, pa),
        I("battery.voltage.low", 0, None, "ID\r", 28, "", 17, 20, "%.1f", ss, None, pa),
        I("battery.voltage.high", 0, None, "ID\r", 28, "", 22, 26, "%.1f", ss, None, pa),
        I("battery.runtime", 0, None, "RT\r", 4, "", 0, 2, "%.0f", QX_FLAG_SKIP, None, None, batt_runtime),
        I("battery.packs", ST_FLAG_RW, R_BATT_PACKS, "BP?\r", 3, "", 0, 1, "%d", ss | QX_FLAG_RANGE | QX_FLAG_SKIP, None, None, batt_packs),
        I("battery.packs", 0, R_BATT_PACKS, "BP%.0f\r", 0, "", 0, 0, None, QX_FLAG_SETVAR | QX_FLAG_RANGE | QX_FLAG_SKIP, None, None, process_setvar),
        I("pins_shutdown_mode", ST_FLAG_RW, R_PINS_SHUTDOWN_MODE, "SS?\r", 2, "", 0, 0, "%.0f", ss | QX_FLAG_RANGE | QX_FLAG_NONUT, None, None, get_pins_shutdown_mode),
        I("pins_shutdown_mode", 0, R_PINS_SHUTDOWN_MODE, "SS%.0f\r", 0, "", 0, 0, None, QX_FLAG_SETVAR | QX_FLAG_RANGE | QX_FLAG_NONUT | QX_FLAG_SKIP, None, None, process_setvar),
        I("input.transfer.low", 0, None, "M\r", 2, "", 0, 0, "%d", 0, None, None, vs),
        I("input.transfer.boost.low", 0, None, "M\r", 2, "", 0, 0, "%d", 0, None, None, vs),
        I("input.transfer.boost.high", 0, None, "M\r", 2, "", 0, 0, "%d", 0, None, None, vs),
        I("input.voltage.nominal", 0, None, "M\r", 2, "", 0, 0, "%d", 0, None, None, vs),
        I("output.voltage.nominal", 0, None, "M\r", 2, "", 0, 0, "%d", 0, None, None, vs),
        I("input.transfer.trim.low", 0, None, "M\r", 2, "", 0, 0, "%d", 0, None, None, vs),
        I("input.transfer.trim.high", 0, None, "M\r", 2, "", 0, 0, "%d", 0, None, None, vs),
        I("input.transfer.high", 0, None, "M\r", 2, "", 0, 0, "%d", 0, None, None, vs),
        I("shutdown.return", 0, None, "S%s\r", 0, "", 0, 0, None, c, None, None, bc.process_command),
        I("shutdown.stayoff", 0, None, "S%s\r", 0, "", 0, 0, None, c, None, None, bc.process_command),
        I("shutdown.stop", 0, None, "C\r", 0, "", 0, 0, None, c),
        I("load.on", 0, None, "C\r", 0, "", 0, 0, None, c),
        I("load.off", 0, None, "S00R0000\r", 0, "", 0, 0, None, c),
        I("test.battery.start", 0, None, "T%02d\r", 0, "", 0, 0, None, c, None, None, bc.process_command),
        I("test.battery.start.deep", 0, None, "TL\r", 0, "", 0, 0, None, c),
        I("test.battery.start.quick", 0, None, "T\r", 0, "", 0, 0, None, c),
        I("test.battery.stop", 0, None, "CT\r", 0, "", 0, 0, None, c),
        I("ups.delay.start", ST_FLAG_RW, R_ONDELAY, None, 0, "", 0, 0, DEFAULT_ONDELAY, f, None, None, bc.process_setvar),
        I("ups.delay.shutdown", ST_FLAG_RW, R_OFFDELAY, None, 0, "", 0, 0, DEFAULT_OFFDELAY, f, None, None, bc.process_setvar),
    ]  # fmt: skip


BESTUPS = Subdriver(
    "BestUPS 0.06",
    claim,
    _table(),
    initups=bc.initups_light,
    options={
        "pins_shutdown_mode": "Set shutdown mode functionality of Pin 1 and Pin 7 on the UPS DB9 communication port (Per Best Power's EPS-0059) to n (integer, 0-6)",
        **bc.OPTIONS_LIGHT,
    },
)
