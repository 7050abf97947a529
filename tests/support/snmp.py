"""Simulated SNMP UPSes shared by the snmp-ups tests."""

from __future__ import annotations

from pathlib import Path

from nutwist.drivers.snmp import ber

DATA = Path(__file__).resolve().parents[1] / "data" / "snmp"
IETF = DATA / "ietf-ups.snmprec"
UPS_MIB = "1.3.6.1.2.1.33.1."

ON_BATTERY = {
    UPS_MIB + "4.1.0": (ber.INTEGER, 5),  # upsOutputSource: battery
    UPS_MIB + "2.2.0": (ber.INTEGER, 75),  # upsSecondsOnBattery
    UPS_MIB + "2.3.0": (ber.INTEGER, 21),  # minutes remaining
    UPS_MIB + "2.4.0": (ber.INTEGER, 61),  # charge
    UPS_MIB + "2.5.0": (ber.INTEGER, 497),  # battery volts * 10
    UPS_MIB + "2.6.0": (ber.INTEGER, -83),  # battery amps * 10, discharging
    UPS_MIB + "3.3.1.3.1": (ber.INTEGER, 0),  # no input voltage
    UPS_MIB + "3.3.1.2.1": (ber.INTEGER, 0),
    UPS_MIB + "6.1.0": (ber.GAUGE32, 1),
}
LOW_BATTERY = {
    UPS_MIB + "2.1.0": (ber.INTEGER, 3),  # batteryLow
    UPS_MIB + "2.3.0": (ber.INTEGER, 2),
    UPS_MIB + "2.4.0": (ber.INTEGER, 9),
    UPS_MIB + "2.5.0": (ber.INTEGER, 441),
}
