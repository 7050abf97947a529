"""The Ablerex subdriver (NUT's nutdrv_qx_ablerex).

Q1 and F as Megatec (the ratings polled quickly), Q5 (binary: output
frequency, battery voltage and its cut-off, error code, output current), At
(binary runtime) and TR (test result).  Its status items set some status words
directly (TRIM/BYPASS/BOOST from the bypass bit and the UPS type, RB, OFF).
"""

# printf formats on purpose: the values must be formatted as NUT's C code does
# ruff: noqa: UP031

from __future__ import annotations

from nutwist.drivers.qx import blazer_common as bc
from nutwist.drivers.qx.core import (
    QX_FLAG_CMD,
    QX_FLAG_QUICK_POLL,
    I,
    Item,
    QxDriver,
    Subdriver,
)
from nutwist.drivers.qx.cstr import cstr, strtod
from nutwist.drivers.qx.megatec import delay_items, q1_items, vendor_items

_ONLINE_P = [
    2.22, 2.21, 2.20, 2.19, 2.18, 2.17, 2.16, 2.15, 2.14, 2.13, 2.12, 2.11, 2.10, 2.09, 2.08,
    2.07, 2.06, 2.05, 2.04, 2.03, 2.02, 2.01, 2.00, 1.99, 1.98, 1.97, 1.96, 1.95, 1.94, 1.93,
    1.92, 1.91, 1.90, 1.89, 1.88, 1.87, 1.86, 1.85, 1.84, 1.83, 1.82, 1.81, 1.80, 1.79, 1.78,
    1.77, 1.76, 1.75, 1.74, 1.73, 1.72, 1.71, 1.70, 1.69, 1.68, 1.67,
]  # fmt: skip
_ONLINE_C = [
    100, 90, 88, 87, 85, 83, 82, 80, 78, 77, 75, 73, 72, 70, 68, 65, 65, 62, 62, 58, 58, 55, 55,
    53, 52, 50, 48, 47, 45, 43, 42, 40, 38, 37, 35, 33, 32, 30, 28, 27, 25, 23, 22, 20, 18, 17,
    15, 13, 12, 10, 8, 7, 5, 3, 2, 0, -1,
]  # fmt: skip
_OFFLINE_P = [
    13.5, 13.3, 13.2, 13.1, 13, 12.9, 12.8, 12.7, 12.6, 12.5, 12.4, 12.3, 12.2, 12.1, 12, 11.9,
    11.8, 11.7, 11.6, 11.5, 11.4, 11.3, 11.2, 11.1, 11, 10.9, 10.8, 10.7, 10.6, 10.5, 10.4, 10.3,
    10.2, 10.1, 10,
]  # fmt: skip
_OFFLINE_C = [
    100, 90, 88, 86, 83, 80, 77, 74, 72, 69, 66, 63, 61, 58, 55, 52, 49, 47, 44, 41, 38, 36, 33,
    30, 27, 24, 22, 19, 16, 13, 11, 8, 5, 2, 0, -1,
]  # fmt: skip


def _st(qx: QxDriver) -> dict[str, int]:
    st: dict[str, int] | None = getattr(qx, "_ablerex", None)
    if st is None:
        st = {"q5_vbc": -1, "q5_vb": -1}
        qx._ablerex = st  # type: ignore[attr-defined]
    return st


def _byte(answer: str, i: int) -> int:
    return ord(answer[i]) & 0xFF if i < len(answer) else 0


def _int32(v: int) -> int:
    return ((v + 2**31) % 2**32) - 2**31


def q5(qx: QxDriver, item: Item, value: str) -> str | None:
    a = item.answer
    fout = _byte(a, 1) * 256 + _byte(a, 2)
    vb = _byte(a, 7) * 256 + _byte(a, 8)
    st = _st(qx)
    st["q5_vbc"] = _byte(a, 9) * 256 + _byte(a, 10)
    err = _byte(a, 13) * 256 + _byte(a, 14)
    cur = _byte(a, 15) * 256 + _byte(a, 16)
    st["q5_vb"] = vb
    qx.setinfo("output.frequency", "%.1f" % (0.1 * fout))
    qx.setinfo("ups.alarm", "%d" % err)
    qx.setinfo("output.current", "%.1f" % (0.1 * cur))
    return "%.1f" % (fout * 0.1)


def battery(qx: QxDriver, item: Item, value: str) -> str | None:
    batt_v = strtod(item.value)
    nominal = qx.getinfo("battery.voltage.nominal")
    if nominal is None:
        return "%.2f" % batt_v
    nom = strtod(nominal)
    q5_vb = _st(qx)["q5_vb"]
    if q5_vb > 0:
        act = q5_vb * nom / 1200
    elif batt_v > 3.0:
        act = batt_v
    else:
        act = batt_v * 6 * nom / 12
    return "%.2f" % act


def _charge(batt_in: float) -> int:
    table_p, table_c = (_ONLINE_P, _ONLINE_C) if batt_in < 3.0 else (_OFFLINE_P, _OFFLINE_C)
    for i, c in enumerate(table_c):
        if c <= 0:
            break
        if batt_in >= table_p[i]:
            return c
    return 0


def battery_charge(qx: QxDriver, item: Item, value: str) -> str | None:
    batt_v = strtod(item.value)
    nominal = qx.getinfo("battery.voltage.nominal")
    if nominal is None:
        return "%d" % 100
    nom = strtod(nominal)
    if batt_v > 3.0:
        batt_v = batt_v / (nom / 12) if nom else (float("inf") if batt_v > 0 else 0.0)
    return "%d" % _charge(batt_v)


def init_battery(qx: QxDriver, item: Item, value: str) -> str | None:
    nom = strtod(qx.getinfo("battery.voltage.nominal") or "")
    vbc = _st(qx)["q5_vbc"]
    low = vbc * nom / 1200 if vbc > 0 else 960 * nom / 1200
    high = 1365 * nom / 1200
    if item.from_ == 1:
        return "%.2f" % low
    if item.from_ == 2:
        return "%.2f" % high
    return None


def at(qx: QxDriver, item: Item, value: str) -> str | None:
    a = item.answer
    raw = _byte(a, 1) * 65536 * 256 + _byte(a, 2) * 65536 + _byte(a, 3) * 256 + _byte(a, 4)
    return "%d" % _int32(raw)


def tr(qx: QxDriver, item: Item, value: str) -> str | None:
    a = item.answer
    return cstr("".join(a[i] if i < len(a) else "\0" for i in range(1, 5)))


def status_bits(qx: QxDriver, item: Item, value: str) -> str | None:
    v = item.value
    if item.from_ == 40:
        if v[:1] == "1":
            vi = strtod(qx.getinfo("input.voltage") or "")
            vo = strtod(qx.getinfo("output.voltage") or "")
            if v[2:3] == "1":
                if vo < 0.5 * vi:
                    return None
                if vo < 0.95 * vi:
                    qx.status_set("TRIM")
                elif vo < 1.05 * vi:
                    qx.status_set("BYPASS")
                elif vo < 1.5 * vi:
                    qx.status_set("BOOST")
                else:
                    return None
            else:
                qx.status_set("BYPASS")
        return ""
    if item.from_ == 41:
        if v[:1] == "1":
            qx.status_set("RB")
        if strtod(qx.getinfo("output.voltage") or "") < 50.0:
            qx.status_set("OFF")
        return ""
    return None


def _table() -> list[Item]:
    q, c = QX_FLAG_QUICK_POLL, QX_FLAG_CMD
    b = bc.process_status_bits
    base = {i.info_type + str(i.from_): i for i in q1_items()}
    return [
        base["input.voltage1"], base["input.voltage.fault7"], base["output.voltage13"],
        base["ups.load19"], base["input.frequency23"],
        I("battery.voltage", 0, None, "Q1\r", 47, "(", 28, 31, "%.2f", 0, None, None, battery),
        I("battery.charge", 0, None, "Q1\r", 47, "(", 28, 31, "%.2f", 0, None, None, battery_charge),
        base["ups.temperature33"], base["ups.status38"], base["ups.status39"],
        I("ups.status", 0, None, "Q1\r", 47, "(", 40, 42, None, q, None, None, status_bits),
        I("ups.status", 0, None, "Q1\r", 47, "(", 41, 41, None, q, None, None, status_bits),
        I("ups.alarm", 0, None, "Q1\r", 47, "(", 41, 41, None, 0, None, None, b),
        base["ups.type42"], base["ups.status43"], base["ups.status44"], base["ups.beeper.status45"],
        I("output.voltage.nominal", 0, None, "F\r", 22, "#", 1, 5, "%.1f", q),
        I("output.current.nominal", 0, None, "F\r", 22, "#", 7, 9, "%.1f", q),
        I("battery.voltage.nominal", 0, None, "F\r", 22, "#", 11, 15, "%.1f", q),
        I("output.frequency.nominal", 0, None, "F\r", 22, "#", 17, 20, "%.1f", q),
        I("battery.voltage.low", 0, None, "F\r", 22, "#", 1, 2, "%.2f", q, None, None, init_battery),
        I("battery.voltage.high", 0, None, "F\r", 22, "#", 2, 3, "%.2f", q, None, None, init_battery),
        I("output.frequency", 0, None, "Q5\r", 22, "(", 1, 18, "%.1f", 0, None, None, q5),
        I("battery.runtime", 0, None, "At\r", 0, "(", 0, 0, "%d", 0, None, None, at),
        I("ups.test.result", 0, None, "TR\r", 0, "#", 0, 0, "%s", 0, None, None, tr),
        *vendor_items(),
        I("beeper.toggle", 0, None, "Q\r", 0, "", 0, 0, None, c),
        I("load.off", 0, None, "S.2\r", 0, "", 0, 0, None, c),
        I("load.on", 0, None, "C\r", 0, "", 0, 0, None, c),
        I("shutdown.return", 0, None, "S%s\r", 0, "", 0, 0, None, c, None, None, bc.process_command),
        I("shutdown.stayoff", 0, None, "S%sR0000\r", 0, "", 0, 0, None, c, None, None, bc.process_command),
        I("shutdown.stop", 0, None, "C\r", 0, "", 0, 0, None, c),
        I("test.battery.start", 0, None, "T%02d\r", 0, "", 0, 0, None, c, None, None, bc.process_command),
        I("test.battery.start.deep", 0, None, "TL\r", 0, "", 0, 0, None, c),
        I("test.battery.start.quick", 0, None, "T\r", 0, "", 0, 0, None, c),
        I("test.battery.stop", 0, None, "CT\r", 0, "", 0, 0, None, c),
        *delay_items(),
    ]  # fmt: skip


ABLEREX = Subdriver(
    "Ablerex 0.01",
    bc.claim,
    _table(),
    initups=bc.initups,
    options=bc.OPTIONS,
    accepted="ACK",
)
