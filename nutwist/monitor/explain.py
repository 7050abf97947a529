"""``nutwist explain-shutdown``: when and why this host would shut down, from live readings.

It reads upsmon.conf, asks each MONITORed UPS for its status once (as upsmon
would), runs the same decision as upsmon, and says in plain words what holds
the host up and what would bring it down.
"""

from __future__ import annotations

from typing import Any

from nutwist.client import connect, errors
from nutwist.config.upsmon import UpsmonConf
from nutwist.monitor.logic import MonitorLogic, UpsTrack


class _Quiet:
    def __init__(self) -> None:
        self.logs: list[str] = []

    def notify(self, ntype: str, ups: UpsTrack | None) -> None:
        pass

    def log(self, level: str, text: str) -> None:
        self.logs.append(text)


def explain(
    conf: UpsmonConf, logic: MonitorLogic, reachable: dict[str, str]
) -> tuple[bool, list[str]]:
    """(would shut down now, the lines that say why) for readings already fed to ``logic``."""
    lines: list[str] = []
    supply = 0
    for track in logic.tracks.values():
        crit = logic.is_critical(track)
        f = track.flags
        role = "primary" if track.mon.primary else "secondary"
        if track.system in reachable:
            lines.append(
                f"{track.system} ({role}, power {track.power}): unreachable: {reachable[track.system]}"
            )
            lines.append(
                "  an unreachable UPS last seen on line counts as fine; upsmon only acts if it was "
                f"on battery for more than DEADTIME ({conf.deadtime} s)"
            )
        else:
            lines.append(
                f"{track.system} ({role}, power {track.power}): status {' '.join(sorted(f))}"
            )
        if crit:
            why = "FSD is set" if "FSD" in f else "on battery with a low battery"
            lines.append(f"  critical: {why}; it no longer counts towards MINSUPPLIES")
            continue
        supply += track.power
        if "OB" in f and "LB" not in f:
            lines.append(
                "  on battery: becomes critical when the UPS reports LB"
                + (
                    ""
                    if track.mon.primary
                    else f" and the primary sets FSD (or {conf.hostsync} s pass)"
                )
            )
        elif "CAL" in f:
            lines.append("  calibrating: OB LB during calibration does not count as critical")
        elif "OL" in f:
            lines.append("  on line")
    need = conf.minsupplies
    down = supply < need
    lines.append(f"Power from UPSes that are not critical: {supply}; MINSUPPLIES: {need}")
    if down:
        lines.append("Decision: this host would shut down now")
        lines.append(
            f"  SHUTDOWNCMD {conf.shutdowncmd!r} after FINALDELAY ({conf.finaldelay} s)"
            + (
                f"; as a primary it first sets FSD and waits up to HOSTSYNC ({conf.hostsync} s) "
                "for its secondaries"
                if any(t.mon.primary for t in logic.tracks.values())
                else ""
            )
        )
    else:
        spare = supply - need
        lines.append(
            "Decision: no shutdown; "
            + (
                "losing any UPS that counts would shut it down"
                if spare < min((t.power for t in logic.tracks.values() if t.power), default=1)
                else f"it can lose {spare} of power and stay up"
            )
        )
    return down, lines


async def run(reactor: Any, conf: UpsmonConf) -> tuple[bool, list[str]]:
    quiet = _Quiet()
    logic = MonitorLogic(conf, reactor.seconds, quiet)
    unreachable: dict[str, str] = {}
    for track in logic.tracks.values():
        mon = track.mon
        try:
            client = await connect(reactor, mon.host, mon.port, timeout=10)
            status = await client.get_var(mon.upsname, "ups.status")
            await client.logout()
        except errors.NutError as e:
            unreachable[track.system] = e.message
            continue
        track.primary_granted = mon.primary
        logic.polled(track, status)
    down, lines = explain(conf, logic, unreachable)
    return down, lines
