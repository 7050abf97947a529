"""usbhid-ups's subdrivers, in the order NUT 2.8.0 tries them: explore first, then by name."""

from __future__ import annotations

from nutwist.drivers.hid.engine import Session, Subdriver, UsbDevice
from nutwist.drivers.hid.subdrivers import (
    apc,
    belkin,
    cps,
    delta_ups,
    idowell,
    legrand,
    liebert,
    mge,
    openups,
    powercom,
    salicru,
    tripplite,
)
from nutwist.drivers.hid.usages import GENERIC_USAGES


def _explore_claim(session: Session, dev: UsbDevice) -> bool:
    return session.testvar("explore")


#: any device, with the generic usage names and no variables (``-x explore``)
EXPLORE = Subdriver(
    name="EXPLORE HID 0.2",
    claim=_explore_claim,
    usages=(GENERIC_USAGES,),
    hid2nut=(),
)

SUBDRIVERS: tuple[Subdriver, ...] = (
    EXPLORE,
    mge.SUBDRIVER,
    apc.SUBDRIVER,
    belkin.SUBDRIVER,
    cps.SUBDRIVER,
    delta_ups.SUBDRIVER,
    idowell.SUBDRIVER,
    legrand.SUBDRIVER,
    liebert.SUBDRIVER,
    openups.SUBDRIVER,
    powercom.SUBDRIVER,
    salicru.SUBDRIVER,
    tripplite.SUBDRIVER,
)
