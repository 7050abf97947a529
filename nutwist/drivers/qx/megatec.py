"""The Megatec and Q1 subdrivers (NUT's nutdrv_qx_megatec and nutdrv_qx_q1).

Q1 answers ``(226.0 195.0 226.0 014 49.0 27.5 30.0 00001000\\r`` (fixed
columns; 47 bytes); F gives the ratings and I the vendor (Megatec only).
"""

# printf formats on purpose: the values must be formatted as NUT's C code does
# ruff: noqa: UP031

from __future__ import annotations

from collections.abc import Awaitable, Callable

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
    QX_FLAG_TRIM,
    ST_FLAG_RW,
    I,
    Item,
    QxDriver,
    QxValueFn,
    Subdriver,
)
from nutwist.drivers.qx.cstr import cformat, eq, strspn, strtol

_bits = bc.process_status_bits
_cmd = bc.process_command


def q1_items(cmd: str = "Q1\r", values_flag: int = 0) -> list[Item]:
    """The Q1 status query (or QS, D: same answer), as Megatec and its kin read it."""
    v, q = values_flag, QX_FLAG_QUICK_POLL
    return [
        I("input.voltage", 0, None, cmd, 47, "(", 1, 5, "%.1f", v),
        I("input.voltage.fault", 0, None, cmd, 47, "(", 7, 11, "%.1f", v),
        I("output.voltage", 0, None, cmd, 47, "(", 13, 17, "%.1f", v),
        I("ups.load", 0, None, cmd, 47, "(", 19, 21, "%.0f", v),
        I("input.frequency", 0, None, cmd, 47, "(", 23, 26, "%.1f", v),
        I("battery.voltage", 0, None, cmd, 47, "(", 28, 31, "%.2f", v),
        I("ups.temperature", 0, None, cmd, 47, "(", 33, 36, "%.1f", v),
        I("ups.status", 0, None, cmd, 47, "(", 38, 38, None, q, None, None, _bits),
        I("ups.status", 0, None, cmd, 47, "(", 39, 39, None, q, None, None, _bits),
        I("ups.status", 0, None, cmd, 47, "(", 40, 40, None, q, None, None, _bits),
        I("ups.alarm", 0, None, cmd, 47, "(", 41, 41, None, 0, None, None, _bits),
        I("ups.type", 0, None, cmd, 47, "(", 42, 42, "%s", QX_FLAG_STATIC, None, None, _bits),
        I("ups.status", 0, None, cmd, 47, "(", 43, 43, None, q, None, None, _bits),
        I("ups.status", 0, None, cmd, 47, "(", 44, 44, None, q, None, None, _bits),
        I("ups.beeper.status", 0, None, cmd, 47, "(", 45, 45, "%s", 0, None, None, _bits),
    ]  # fmt: skip


def rating_items() -> list[Item]:
    return [
        I("input.voltage.nominal", 0, None, "F\r", 22, "#", 1, 5, "%.0f", QX_FLAG_STATIC),
        I("input.current.nominal", 0, None, "F\r", 22, "#", 7, 9, "%.1f", QX_FLAG_STATIC),
        I("battery.voltage.nominal", 0, None, "F\r", 22, "#", 11, 15, "%.1f", QX_FLAG_STATIC),
        I("input.frequency.nominal", 0, None, "F\r", 22, "#", 17, 20, "%.0f", QX_FLAG_STATIC),
    ]  # fmt: skip


def vendor_items(cmd: str = "I\r") -> list[Item]:
    st = QX_FLAG_STATIC | QX_FLAG_TRIM
    return [
        I("device.mfr", 0, None, cmd, 39, "#", 1, 15, "%s", st),
        I("device.model", 0, None, cmd, 39, "#", 17, 26, "%s", st),
        I("ups.firmware", 0, None, cmd, 39, "#", 28, 37, "%s", st),
    ]


def command_items(
    answer: tuple[int, str, int, int] = (0, "", 0, 0),
    test: tuple[str, QxValueFn] = ("T%02d\r", bc.process_command),
) -> list[Item]:
    """The Megatec commands; ``answer``: the reply's (length, leading, from, to)."""
    n, lead, a, b = answer
    c = QX_FLAG_CMD
    return [
        I("beeper.toggle", 0, None, "Q\r", n, lead, a, b, None, c),
        I("load.off", 0, None, "S00R0000\r", n, lead, a, b, None, c),
        I("load.on", 0, None, "C\r", n, lead, a, b, None, c),
        I("shutdown.return", 0, None, "S%s\r", n, lead, a, b, None, c, None, None, _cmd),
        I("shutdown.stayoff", 0, None, "S%sR0000\r", n, lead, a, b, None, c, None, None, _cmd),
        I("shutdown.stop", 0, None, "C\r", n, lead, a, b, None, c),
        I("test.battery.start", 0, None, test[0], n, lead, a, b, None, c, None, None, test[1]),
        I("test.battery.start.deep", 0, None, "TL\r", n, lead, a, b, None, c),
        I("test.battery.start.quick", 0, None, "T\r", n, lead, a, b, None, c),
        I("test.battery.stop", 0, None, "CT\r", n, lead, a, b, None, c),
    ]  # fmt: skip


def delay_items(ondelay: str = DEFAULT_ONDELAY, offdelay: str = DEFAULT_OFFDELAY) -> list[Item]:
    f = QX_FLAG_ABSENT | QX_FLAG_SETVAR | QX_FLAG_RANGE
    return [
        I("ups.delay.start", ST_FLAG_RW, bc.R_ONDELAY, None, 0, "", 0, 0, ondelay, f, None, None, bc.process_setvar),
        I("ups.delay.shutdown", ST_FLAG_RW, bc.R_OFFDELAY, None, 0, "", 0, 0, offdelay, f, None, None, bc.process_setvar),
    ]  # fmt: skip


MEGATEC = Subdriver(
    "Megatec 0.06",
    bc.claim,
    [*q1_items(), *rating_items(), *vendor_items(), *command_items(), *delay_items()],
    initups=bc.initups,
    options=bc.OPTIONS,
    accepted="ACK",
)

Q1 = Subdriver(
    "Q1 0.07",
    bc.claim_light,
    [*q1_items(), *command_items(), *delay_items()],
    initups=bc.initups_light,
    options=bc.OPTIONS_LIGHT,
    accepted="ACK",
)


def _megatec_like(
    name: str,
    status: str,
    vendor: str,
    claim: Callable[[QxDriver], Awaitable[bool]],
    values_flag: int = 0,
    delays: tuple[str, str] = (DEFAULT_ONDELAY, DEFAULT_OFFDELAY),
    accepted: str = "ACK",
) -> Subdriver:
    return Subdriver(
        name,
        claim,
        [
            *q1_items(status, values_flag),
            *rating_items(),
            *vendor_items(vendor),
            *command_items(),
            *delay_items(*delays),
        ],
        initups=bc.initups,
        options=bc.OPTIONS,
        accepted=accepted,
    )


#: Mustek: QS instead of Q1
MUSTEK = _megatec_like("Mustek 0.07", "QS\r", "I\r", bc.claim_light)
#: older Megatec firmware: D instead of Q1
MEGATEC_OLD = _megatec_like("Megatec/old 0.07", "D\r", "I\r", bc.claim_light)
#: Zinto: the vendor query is FW?
ZINTO = _megatec_like("Zinto 0.06", "Q1\r", "FW?\r", bc.claim)
#: Hunnox: FW?, every value polled quickly, other delays, and its own "accepted" answer
HUNNOX = _megatec_like(
    "Hunnox 0.01", "Q1\r", "FW?\r", bc.claim, QX_FLAG_QUICK_POLL, ("0", "60"), "UPS No Ack"
)


# --- Mecer (and Voltronic Power P98 units): commands answer "(ACK" or "(NAK" -----------------


def _p98_protocol(qx: QxDriver, item: Item, value: str) -> str | None:
    if not eq(item.value, "PI98"):
        qx.log.error("Protocol [{p}] is not supported by this driver", p=item.value)
        return None
    return cformat(item.dfl or "%s", "Voltronic Power P98")


def _mecer_test_battery(qx: QxDriver, item: Item, value: str) -> str | None:
    protocol = qx.getinfo("ups.firmware.aux")
    low = 12 if protocol is not None and eq(protocol, "Voltronic Power P98") else 60
    if strspn(value, "0123456789") != len(value):
        qx.log.error("{t}: non numerical value [{v}]", t=item.info_type, v=value)
        return None
    test_time = strtol(value) if value else 600
    if test_time < low or test_time > 5940:
        qx.log.error("{t}: battery test time out of range", t=item.info_type)
        return None
    buf = ".%d" % (test_time // 6) if test_time < 60 else "%02d" % (test_time // 60)
    return cformat(item.command or "", buf)


async def _mecer_claim(qx: QxDriver) -> bool:
    item = qx.find_nut_info("input.voltage")
    if item is None or await qx.qx_process(item) or qx.ups_infoval_set(item) != 1:
        return False
    item = qx.find_nut_info("ups.firmware.aux")
    if item is None:
        qx.delinfo("input.voltage")
        return False
    if await qx.qx_process(item):
        # a unit that refuses QPI with "(NAK" is still a Mecer: skip the query from now on
        if not item.answer or not eq(item.answer, "(NAK\r"):
            qx.delinfo("input.voltage")
            return False
        item.qxflags |= QX_FLAG_SKIP
        return True
    if qx.ups_infoval_set(item) != 1:
        qx.delinfo("input.voltage")
        return False
    return True


MECER = Subdriver(
    "Mecer 0.07",
    _mecer_claim,
    [
        I(
            "ups.firmware.aux",
            0,
            None,
            "QPI\r",
            6,
            "(",
            1,
            4,
            "%s",
            QX_FLAG_STATIC,
            None,
            None,
            _p98_protocol,
        ),
        *q1_items(),
        *rating_items(),
        *vendor_items(),
        *command_items((5, "(", 1, 3), ("T%s\r", _mecer_test_battery)),
        *delay_items(),
    ],
    initups=bc.initups,
    options=bc.OPTIONS,
    accepted="ACK",
    rejected="(NAK\r",
)
