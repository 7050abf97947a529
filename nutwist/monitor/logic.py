"""upsmon's decisions as a state machine: no sockets, no processes, an injected clock.

:class:`MonitorLogic` is fed what the polls return (:meth:`polled`,
:meth:`poll_failed`) and answers, through the :class:`Effects` it was given,
with notifications and log lines, in NUT 2.8.0's order.  :meth:`recalc` says
whether this host must shut down now.  The shutdown sequence itself (FSD,
waiting for secondaries, FINALDELAY) is :class:`~nutwist.monitor.service`'s,
timed on the same clock.

NUT 2.8.0's rules:

* a UPS is critical when upsd shows FSD, or when it is on battery with a low
  battery (not calibrating) and we are its primary, or the primary has had
  HOSTSYNC seconds to raise FSD and has not;
* a UPS not heard from for DEADTIME seconds whose last status was on battery
  is taken to be on a low battery too; one never heard from is assumed fine;
* when the power values of the UPSes that are not critical add up to less
  than MINSUPPLIES, the host shuts down.

The later directives (OFFDURATION, OVERDURATION, OBLBDURATION, ALARMCRITICAL)
change a decision only when set in upsmon.conf.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from nutwist.config.upsmon import Monitor, UpsmonConf

#: status words whose appearance and disappearance later NUT notifies (2.8.0 does not)
_PAIRED = {
    "OFF": ("OFF", "NOTOFF"),
    "BYPASS": ("BYPASS", "NOTBYPASS"),
    "ECO": ("ECO", "NOTECO"),
    "ALARM": ("ALARM", "NOTALARM"),
    "OVER": ("OVER", "NOTOVER"),
    "TRIM": ("TRIM", "NOTTRIM"),
    "BOOST": ("BOOST", "NOTBOOST"),
}


class CommState(enum.IntEnum):
    """Whether upsmon hears from a UPS (NUT's -1/0/1, which the values keep)."""

    NEVER = -1  #: never reached since upsmon started
    LOST = 0  #: reached before, not now (COMMBAD was sent)
    OK = 1  #: communicating


class LineState(enum.IntEnum):
    """The power a UPS was last seen on (NUT's -1/0/1, which the values keep)."""

    UNKNOWN = -1  #: no status yet
    ON_BATTERY = 0
    ON_LINE = 1


class Effects(Protocol):
    def notify(self, ntype: str, ups: UpsTrack | None) -> None: ...

    def log(self, level: str, text: str) -> None: ...


@dataclass
class UpsTrack:
    """What upsmon knows of one MONITOR entry."""

    mon: Monitor
    commstate: CommState = CommState.NEVER
    linestate: LineState = LineState.UNKNOWN
    flags: set[str] = field(default_factory=set)
    #: the PRIMARY (or MASTER) request was granted on the current session
    primary_granted: bool = False
    lastpoll: float = 0.0
    lastnoncrit: float = 0.0
    lastrbwarn: float | None = None
    lastncwarn: float | None = None
    #: later NUT: when OFF / OB+LB began; when communication was lost
    off_since: float | None = None
    oblb_since: float | None = None
    lost_since: float | None = None
    #: ``ups.alarm`` as last read, for the ALARM message
    alarm_text: str = ""
    #: ``ups.status`` exactly as upsd last answered it ("" before the first answer)
    status: str = ""

    @property
    def system(self) -> str:
        return self.mon.system

    @property
    def power(self) -> int:
        return self.mon.powervalue


class MonitorLogic:
    """upsmon's decisions for every MONITOR entry of one upsmon.conf, without I/O.

    It holds one :class:`UpsTrack` per entry, is told what each poll returned or
    that it failed, and answers through its :class:`Effects` (notifications, log
    lines); :meth:`recalc` says whether the host must shut down now.  Time comes
    from the ``now`` it was given, so tests drive it on a fake clock.
    """

    def __init__(self, conf: UpsmonConf, now: Callable[[], float], effects: Effects) -> None:
        self.conf = conf
        self._clock = now
        self.effects = effects
        self.tracks: dict[str, UpsTrack] = {m.system: UpsTrack(m) for m in conf.monitors}
        #: seconds until the next poll cycle: 5 until a status says OL or OB (as NUT)
        self.sleepval: float = 5

    def now(self) -> float:
        """The clock in whole seconds, as NUT's ``time_t``: HOSTSYNC, DEADTIME and the other
        intervals then expire at the same poll as NUT's (a fractional clock made them expire
        one poll early or late, by chance)."""
        return float(math.floor(self._clock()))

    # --- configuration reload ----------------------------------------------------------

    def reconfigure(self, conf: UpsmonConf) -> list[UpsTrack]:
        """Take a new configuration; returns the tracks that are gone (to disconnect)."""
        old = self.tracks
        self.conf = conf
        self.tracks = {}
        for m in conf.monitors:
            t = old.get(m.system)
            if t is None:
                t = UpsTrack(m)
            else:
                t.mon = m
            self.tracks[m.system] = t
        return [t for name, t in old.items() if name not in self.tracks]

    # --- polling ------------------------------------------------------------------------

    def polled(self, track: UpsTrack, status: str) -> None:
        """A poll answered ``ups.status``; NUT's parse_status."""
        if not status:
            self.gone(track)
            return
        track.status = status
        self._alive(track)
        if "LB" not in status:
            track.flags.discard("LB")
        if "FSD" not in status:
            track.flags.discard("FSD")
        words = status.split()
        upper = [w.upper() for w in words]
        for word in upper:
            handler = _WORD_HANDLERS.get(word)
            if handler is not None:
                handler(self, track)
            elif word in _PAIRED:
                self._paired_on(track, word)
            self._update_crittimer(track)
        # later NUT: what went away
        if "CAL" in track.flags and "CAL" not in upper:
            track.flags.discard("CAL")
            self.effects.notify("NOTCAL", track)
        for word, (_, off) in _PAIRED.items():
            if word in track.flags and word not in upper:
                track.flags.discard(word)
                self.effects.notify(off, track)
        self._durations(track)

    def poll_failed(self, track: UpsTrack, reason: str) -> None:
        """A poll (or the connection for it) failed: NUT logs it, then ups_is_gone."""
        self.effects.log("warn", f"Poll UPS [{track.system}] failed - {reason}")
        self.gone(track)

    def gone(self, track: UpsTrack) -> None:
        now = self.now()
        if track.commstate != CommState.LOST:
            track.commstate = CommState.LOST
            track.lost_since = now
            self.effects.notify("COMMBAD", track)
            return
        warn = self.conf.nocommwarntime
        if now - track.lastpoll > warn and (
            track.lastncwarn is None or now - track.lastncwarn > warn
        ):
            self.effects.notify("NOCOMM", track)
            track.lastncwarn = now

    def connection_dropped(self, track: UpsTrack) -> None:
        """The session to upsd is gone (NUT's drop_connection)."""
        track.commstate = CommState.LOST
        track.linestate = LineState.ON_BATTERY
        track.primary_granted = False
        if track.lost_since is None:
            track.lost_since = self.now()

    def _alive(self, track: UpsTrack) -> None:
        now = self.now()
        track.lastpoll = now
        track.lost_since = None
        if track.commstate == CommState.LOST:
            self.effects.notify("COMMOK", track)
        track.commstate = CommState.OK

    def _on_line(self, track: UpsTrack) -> None:
        self.sleepval = self.conf.pollfreq
        if "OL" in track.flags:
            return
        if track.linestate != LineState.UNKNOWN:
            self.effects.notify("ONLINE", track)
        track.linestate = LineState.ON_LINE
        track.flags.add("OL")
        track.flags.discard("OB")

    def _on_batt(self, track: UpsTrack) -> None:
        self.sleepval = self.conf.pollfreqalert
        if "OB" in track.flags:
            return
        track.linestate = LineState.ON_BATTERY
        self.effects.notify("ONBATT", track)
        track.flags.add("OB")
        track.flags.discard("OL")

    def _low_batt(self, track: UpsTrack) -> None:
        if "LB" in track.flags:
            return
        track.flags.add("LB")
        self.effects.notify("LOWBATT", track)

    def _repl_batt(self, track: UpsTrack) -> None:
        now = self.now()
        if track.lastrbwarn is None or now - track.lastrbwarn > self.conf.rbwarntime:
            self.effects.notify("REPLBATT", track)
            track.lastrbwarn = now

    def _cal(self, track: UpsTrack) -> None:
        if "CAL" in track.flags:
            return
        self.effects.notify("CAL", track)
        track.flags.add("CAL")

    def _fsd(self, track: UpsTrack) -> None:
        if "FSD" in track.flags:
            return
        self.effects.notify("FSD", track)
        track.flags.add("FSD")

    def _paired_on(self, track: UpsTrack, word: str) -> None:
        if word in track.flags:
            return
        track.flags.add(word)
        self.effects.notify(_PAIRED[word][0], track)

    def _update_crittimer(self, track: UpsTrack) -> None:
        f = track.flags
        if not ("OB" in f and "LB" in f and "CAL" not in f):
            track.lastnoncrit = self.now()

    def _durations(self, track: UpsTrack) -> None:
        now = self.now()
        f = track.flags
        if "OFF" in f:
            if track.off_since is None:
                track.off_since = now
        else:
            track.off_since = None
        if "OB" in f and "LB" in f:
            if track.oblb_since is None:
                track.oblb_since = now
        else:
            track.oblb_since = None

    # --- the decision -------------------------------------------------------------------

    def is_critical(self, track: UpsTrack) -> bool:
        conf = self.conf
        now = self.now()
        f = track.flags
        if "FSD" in f:
            return True
        lost = track.commstate == CommState.LOST and track.lost_since is not None
        # later NUT (10.6), only when set
        if conf.alarmcritical and lost and "ALARM" in f:
            return True
        if conf.overduration is not None and conf.overduration >= 0 and lost and "OVER" in f:
            assert track.lost_since is not None
            if now - track.lost_since >= conf.overduration:
                return True
        if "OB" not in f or "LB" not in f or "CAL" in f:
            return False
        if conf.oblbduration is not None and conf.oblbduration > 0:
            since = track.oblb_since if track.oblb_since is not None else now
            if now - since < conf.oblbduration:
                return False
        if track.primary_granted:
            return True
        if now - track.lastnoncrit > conf.hostsync:
            self.effects.log("warn", f"Giving up on the primary for UPS [{track.system}]")
            return True
        return False

    def _counts(self, track: UpsTrack) -> bool:
        """Whether the UPS still counts towards MINSUPPLIES (later NUT's OFFDURATION)."""
        d = self.conf.offduration
        if d is None or d < 0 or "OFF" not in track.flags or track.off_since is None:
            return True
        return self.now() - track.off_since < d

    def recalc(self) -> bool:
        """NUT's recalc: True when the host must shut down now."""
        now = self.now()
        supply = 0
        for track in self.tracks.values():
            if now - track.lastpoll > self.conf.deadtime and "OB" in track.flags:
                if "LB" not in track.flags:
                    self.effects.log("info", f"Promoting dead UPS: {track.system}")
                track.flags.add("LB")
            if (
                self.conf.alarmcritical
                and track.commstate == CommState.LOST
                and "ALARM" in track.flags
            ):
                # a UPS in alarm that stops answering is taken as last seen on battery
                track.flags.update(("OB", "LB"))
            if self.is_critical(track):
                continue
            if self._counts(track):
                supply += track.power
        return supply < self.conf.minsupplies

    def primaries(self) -> list[UpsTrack]:
        return [t for t in self.tracks.values() if t.primary_granted]


_WORD_HANDLERS: dict[str, Callable[[MonitorLogic, UpsTrack], None]] = {
    "OL": MonitorLogic._on_line,
    "OB": MonitorLogic._on_batt,
    "LB": MonitorLogic._low_batt,
    "RB": MonitorLogic._repl_batt,
    "CAL": MonitorLogic._cal,
    "FSD": MonitorLogic._fsd,
}
