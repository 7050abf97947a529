"""nutdrv_qx and its subdrivers, in NUT 2.8.0's autodetection order."""

from __future__ import annotations

from nutwist.drivers.qx import probes
from nutwist.drivers.qx.ablerex import ABLEREX
from nutwist.drivers.qx.bestups import BESTUPS
from nutwist.drivers.qx.core import QxDriver, Subdriver
from nutwist.drivers.qx.megatec import HUNNOX, MECER, MEGATEC, MEGATEC_OLD, MUSTEK, Q1, ZINTO
from nutwist.drivers.qx.voltronic_qs import VOLTRONIC_QS
from nutwist.drivers.qx.voltronic_qs_hex import VOLTRONIC_QS_HEX

#: NUT 2.8.0's subdriver_list order: the first whose claim succeeds is used
SUBDRIVERS: list[Subdriver] = [
    probes.VOLTRONIC,
    VOLTRONIC_QS,
    VOLTRONIC_QS_HEX,
    MUSTEK,
    MEGATEC_OLD,
    BESTUPS,
    MECER,
    MEGATEC,
    ZINTO,
    probes.MASTERGUARD,
    HUNNOX,
    ABLEREX,
    Q1,
]


class NutdrvQx(QxDriver):
    subdrivers = SUBDRIVERS


__all__ = ["SUBDRIVERS", "NutdrvQx", "QxDriver", "Subdriver"]
