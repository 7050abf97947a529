"""Subdrivers nutwist only probes for: NUT's claim, so autodetection asks what NUT asks.

Voltronic (NUT's largest subdriver) has the items its NUT claim reads; a
device it claims is reported as a protocol nutwist does not implement yet.
Masterguard is NUT 2.8.0's as it is: its claim looks for an item its table
lacks, so it never claims a device.
"""

from __future__ import annotations

from nutwist.drivers.qx.core import QX_FLAG_STATIC, I, Item, QxDriver, Subdriver
from nutwist.drivers.qx.cstr import cformat, eq


def _protocol_is(*names: str, fmt_value: str | None = None):  # type: ignore[no-untyped-def]
    def pp(qx: QxDriver, item: Item, value: str) -> str | None:
        if not any(eq(item.value, n) for n in names):
            return None
        return cformat(item.dfl or "%s", fmt_value if fmt_value is not None else item.value)

    return pp


async def _two_step(qx: QxDriver, first: str, second: str) -> bool:
    item = qx.find_nut_info(first)
    if item is None or await qx.qx_process(item) or qx.ups_infoval_set(item) != 1:
        return False
    item = qx.find_nut_info(second)
    if item is None or await qx.qx_process(item) or qx.ups_infoval_set(item) != 1:
        qx.delinfo(first)
        return False
    return True


async def _voltronic_claim(qx: QxDriver) -> bool:
    return await _two_step(qx, "input.voltage", "ups.firmware.aux")


async def _never(qx: QxDriver) -> bool:
    # NUT 2.8.0's masterguard claim looks for an item named "series" that its table
    # lacks, so it never claims a device and sends nothing
    return False


VOLTRONIC = Subdriver(
    "Voltronic 0.06",
    _voltronic_claim,
    [
        I("input.voltage", 0, None, "QGS\r", 76, "(", 1, 5, "%.1f", 0),
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
            _protocol_is(*[f"PI{n:02d}" for n in range(100)], fmt_value=None),
        ),
    ],
    accepted="ACK",
    rejected="(NAK\r",
    implemented=False,
)
MASTERGUARD = Subdriver("Masterguard 0.02", _never, [], implemented=False)
