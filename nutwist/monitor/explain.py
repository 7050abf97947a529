"""``nutwist explain-shutdown``: when and why this host would shut down, from live readings.

It reads upsmon.conf and polls each MONITORed UPS once through upsmon's own
session code (:class:`~nutwist.monitor.service.UpsmonService`): the same TLS
settings (CERTPATH, CERTVERIFY, FORCESSL, CERTHOST, CERTFILE), the same login
and the UPS name of the MONITOR line.  So a UPS that upsmon cannot reach, or
cannot log in to, is reported as such, never as fine.  It then runs the same
decision as upsmon and says in plain words what holds the host up and what
would bring it down.
"""

from __future__ import annotations

from typing import Any, cast

from twisted.logger import ILogObserver, Logger, formatEvent

from nutwist.config.upsmon import UpsmonConf
from nutwist.monitor.logic import CommState, MonitorLogic, UpsTrack
from nutwist.monitor.notify import Notifier


class _Quiet:
    def __init__(self) -> None:
        self.logs: list[str] = []

    def notify(self, ntype: str, ups: UpsTrack | None) -> None:
        pass

    def log(self, level: str, text: str) -> None:
        self.logs.append(text)


class _SilentNotifier(Notifier):
    """Records the notifications upsmon would send; sends none (no syslog, wall or NOTIFYCMD)."""

    def notify(self, ntype: str, system: str | None, alarm: str = "") -> None:
        self.sent.append((ntype, system or "", self.message(ntype, system or "", alarm)))

    def wall(self, msg: str) -> None:
        pass


def not_connected_meaning(conf: UpsmonConf) -> list[str]:
    """What it means for upsmon that it cannot talk to upsd about a UPS."""
    return [
        "  what this means: upsmon sends COMMBAD, then NOCOMM every NOCOMMWARNTIME "
        f"({conf.nocommwarntime} s) while it stays unreachable;",
        "  upsmon cannot see a power failure on this UPS: one it never reached, or last saw on "
        "line, counts as fine, so this host would not shut down in time;",
        "  one last seen on battery counts as critical (low battery) once DEADTIME "
        f"({conf.deadtime} s) passes without an answer",
    ]


def explain(
    conf: UpsmonConf, logic: MonitorLogic, unreachable: dict[str, str]
) -> tuple[bool, list[str]]:
    """(would shut down now, the lines that say why) for readings already fed to ``logic``.

    ``unreachable`` maps each UPS upsmon could not poll to why.
    """
    lines: list[str] = []
    supply = 0
    for track in logic.tracks.values():
        crit = logic.is_critical(track)
        f = track.flags
        role = "primary" if track.mon.primary else "secondary"
        head = f"{track.system} ({role}, power {track.power})"
        if track.system in unreachable:
            lines.append(f"{head}: upsmon is NOT connected: {unreachable[track.system]}")
            lines.extend(not_connected_meaning(conf))
        else:
            status = track.status or " ".join(sorted(f))
            lines.append(f"{head}: status {status}")
            if track.mon.primary and not track.primary_granted:
                lines.append(
                    "  upsd refused the primary role: upsmon could not set FSD for its secondaries"
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
        elif "OB" in f and "LB" in f:
            d = conf.oblbduration
            lines.append(
                f"  on battery with a low battery: critical once that lasts OBLBDURATION ({d} s)"
                if d is not None and d > 0 and track.primary_granted
                else "  on battery with a low battery: critical when the primary sets FSD or "
                f"HOSTSYNC ({conf.hostsync} s) passes"
            )
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
        if unreachable:
            lines.append(
                f"Warning: upsmon is not connected to {len(unreachable)} of "
                f"{len(logic.tracks)} UPS(es): the decision above assumes they are on line"
            )
    return down, lines


async def run(reactor: Any, conf: UpsmonConf) -> tuple[bool, list[str], int]:
    """Poll once as upsmon does; (would shut down now, the lines, UPSes not connected)."""
    from nutwist.monitor.service import UpsmonService

    said: list[str] = []

    def collect(event: dict[str, Any]) -> None:
        text = formatEvent(event)
        if event.get("log_failure") is not None:
            text += f": {event['log_failure'].getErrorMessage()}"
        said.append(text)

    svc = UpsmonService(
        conf, reactor, shutdown=lambda: None, notifier=_SilentNotifier(conf, reactor)
    )
    svc.log = Logger(namespace="upsmon", observer=cast(ILogObserver, collect))
    unreachable: dict[str, str] = {}
    for track in svc.logic.tracks.values():
        said.clear()
        await svc.poll(track)
        if track.commstate != CommState.OK:
            reasons = [s for s in said if "Logged into" not in s]
            why = "; ".join(reasons) or "no answer"
            mon = track.mon
            if "UNKNOWN-UPS" in why or "does not exist" in why:
                why += f" (upsd on {mon.host} has no UPS called {mon.upsname})"
            elif "ACCESS-DENIED" in why:
                why += (
                    f" (upsd.users has no user {mon.username} with this password and "
                    f"'upsmon {'primary' if mon.primary else 'secondary'}')"
                )
            unreachable[track.system] = why
    for client in list(svc.sessions.values()):
        try:
            await client.logout()
        except Exception:
            pass
    svc.sessions.clear()
    down, lines = explain(conf, svc.logic, unreachable)
    return down, lines, len(unreachable)
