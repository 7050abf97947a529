"""The Voltronic-QS subdriver (NUT's nutdrv_qx_voltronic-qs): M answers "V", QS the status."""

from __future__ import annotations

from nutwist.drivers.qx import blazer_common as bc
from nutwist.drivers.qx.core import (
    DEFAULT_OFFDELAY,
    DEFAULT_ONDELAY,
    QX_FLAG_ABSENT,
    QX_FLAG_CMD,
    QX_FLAG_RANGE,
    QX_FLAG_SETVAR,
    QX_FLAG_STATIC,
    RW,
    ST_FLAG_RW,
    I,
    Item,
    QxDriver,
    Subdriver,
)
from nutwist.drivers.qx.cstr import cformat, eq
from nutwist.drivers.qx.megatec import q1_items

R_ONDELAY = [RW("60"), RW("599940")]
R_OFFDELAY = [RW("12"), RW("540")]
_cmd = bc.process_command


def protocol_is(*names: str):  # type: ignore[no-untyped-def]
    """ups.firmware.aux from M: only the protocol letters this subdriver speaks."""

    def pp(qx: QxDriver, item: Item, value: str) -> str | None:
        if not any(eq(item.value, n) for n in names):
            return None
        return cformat(item.dfl or "%s", item.value)

    return pp


async def claim(qx: QxDriver) -> bool:
    item = qx.find_nut_info("ups.firmware.aux")
    if item is None or await qx.qx_process(item) or qx.ups_infoval_set(item) != 1:
        return False
    item = qx.find_nut_info("input.voltage")
    if item is None or await qx.qx_process(item) or qx.ups_infoval_set(item) != 1:
        qx.delinfo("ups.firmware.aux")
        return False
    return True


def _status_items() -> list[Item]:
    items = q1_items("QS\r")
    for item in items:
        if item.info_type == "input.frequency":
            item.info_type = "output.frequency"
    return items


def _table() -> list[Item]:
    st = QX_FLAG_STATIC
    c = QX_FLAG_CMD
    f = QX_FLAG_ABSENT | QX_FLAG_SETVAR | QX_FLAG_RANGE
    return [
        I("ups.firmware.aux", 0, None, "M\r", 2, "", 0, 0, "PM-%s", st, None, None, protocol_is("V")),
        *_status_items(),
        I("output.voltage.nominal", 0, None, "F\r", 22, "#", 1, 5, "%.0f", st),
        I("output.current.nominal", 0, None, "F\r", 22, "#", 7, 9, "%.1f", st),
        I("battery.voltage.nominal", 0, None, "F\r", 22, "#", 11, 15, "%.1f", st),
        I("output.frequency.nominal", 0, None, "F\r", 22, "#", 17, 20, "%.0f", st),
        I("beeper.toggle", 0, None, "Q\r", 0, "", 1, 3, None, c),
        I("load.off", 0, None, "S00R0000\r", 0, "", 1, 3, None, c),
        I("load.on", 0, None, "C\r", 0, "", 1, 3, None, c),
        I("shutdown.return", 0, None, "S%s\r", 0, "", 1, 3, None, c, None, None, _cmd),
        I("shutdown.stayoff", 0, None, "S%sR0000\r", 0, "", 1, 3, None, c, None, None, _cmd),
        I("shutdown.stop", 0, None, "C\r", 0, "", 1, 3, None, c),
        I("test.battery.start.quick", 0, None, "T\r", 0, "", 1, 3, None, c),
        I("ups.delay.start", ST_FLAG_RW, R_ONDELAY, None, 0, "", 0, 0, DEFAULT_ONDELAY, f, None, None, bc.process_setvar),
        I("ups.delay.shutdown", ST_FLAG_RW, R_OFFDELAY, None, 0, "", 0, 0, DEFAULT_OFFDELAY, f, None, None, bc.process_setvar),
    ]  # fmt: skip


VOLTRONIC_QS = Subdriver(
    "Voltronic-QS 0.07",
    claim,
    _table(),
    initups=bc.initups_light,
    options=bc.OPTIONS_LIGHT,
)
