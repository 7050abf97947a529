"""upsmon's shutdown rules to the second, on an injected clock, without NUT.

NUT 2.8.0's upsmon (clients/upsmon.c) keeps time in whole seconds (``time_t``) and decides:

* a UPS is critical when upsd shows FSD; or when it is on battery with a low battery, not
  calibrating, and either this upsmon is its primary or more than HOSTSYNC seconds passed
  since it was last seen non-critical (the primary had its chance to raise FSD);
* a UPS last seen on battery and not heard from for *more than* DEADTIME seconds is
  taken to be on a low battery ("Promoting dead UPS");
* the host shuts down when the POWERVALUEs of the UPSes that are not critical add up to
  less than MINSUPPLIES;
* on shutting down, a primary sets FSD on its UPSes (a secondary never does), then waits
  for the secondaries to log out, for at most HOSTSYNC seconds.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from test_upsmon_scenarios import Lab, mon
from twisted.internet.task import Clock

from nutwist.config.base import Source
from nutwist.config.upsmon import parse as parse_upsmon
from nutwist.monitor.logic import MonitorLogic, UpsTrack


class Effects:
    def __init__(self) -> None:
        self.notified: list[tuple[str, str]] = []
        self.logged: list[str] = []

    def notify(self, ntype: str, ups: UpsTrack | None) -> None:
        self.notified.append((ntype, ups.system if ups else ""))

    def log(self, level: str, text: str) -> None:
        self.logged.append(text)


def logic(text: str) -> tuple[MonitorLogic, Clock, Effects, dict[str, UpsTrack]]:
    conf = parse_upsmon(Source.from_text(text, "upsmon.conf"))
    assert not conf.diagnostics.errors, conf.diagnostics.errors
    clock = Clock()
    effects = Effects()
    ml = MonitorLogic(conf, clock.seconds, effects)
    tracks = {t.mon.upsname: t for t in ml.tracks.values()}
    return ml, clock, effects, tracks


def at(clock: Clock, second: float) -> None:
    clock.advance(second - clock.seconds())


# --- POWERVALUE and MINSUPPLIES -----------------------------------------------------------


def test_a_powervalue_of_two_keeps_the_host_up_alone() -> None:
    """u1 (power 2) on line covers MINSUPPLIES 2 while u2 (power 1) is critical."""
    ml, clock, _, t = logic(
        "MINSUPPLIES 2\nMONITOR u1@h 2 u p primary\nMONITOR u2@h 1 u p primary\n"
    )
    at(clock, 10)
    ml.polled(t["u1"], "OL")
    ml.polled(t["u2"], "OB LB")
    t["u2"].primary_granted = True
    assert ml.is_critical(t["u2"]) and not ml.is_critical(t["u1"])
    assert not ml.recalc()
    ml.polled(t["u1"], "OB LB")
    t["u1"].primary_granted = True
    assert ml.recalc()


def test_a_powervalue_of_zero_counts_for_nothing() -> None:
    """A UPS monitored with power 0 (it feeds other machines) never keeps the host up."""
    ml, clock, _, t = logic("MONITOR u1@h 0 u p secondary\nMONITOR u2@h 1 u p primary\n")
    at(clock, 10)
    ml.polled(t["u1"], "OL")
    ml.polled(t["u2"], "OL")
    assert not ml.recalc()
    ml.polled(t["u2"], "OB LB")
    t["u2"].primary_granted = True
    assert ml.recalc()  # u1 is fine, but it powers nothing here


def test_minsupplies_sums_the_powervalues_of_every_ups() -> None:
    ml, clock, _, t = logic(
        "MINSUPPLIES 4\n"
        "MONITOR a@h 1 u p primary\nMONITOR b@h 2 u p primary\nMONITOR c@h 1 u p primary\n"
    )
    at(clock, 10)
    for track in t.values():
        ml.polled(track, "OL")
        track.primary_granted = True
    assert not ml.recalc()  # 1 + 2 + 1 = 4
    ml.polled(t["a"], "OB LB")
    assert ml.recalc()  # 3 < 4


def test_minsupplies_zero_never_shuts_down() -> None:
    ml, clock, _, t = logic("MINSUPPLIES 0\nMONITOR u1@h 1 u p primary\n")
    at(clock, 10)
    ml.polled(t["u1"], "OB LB")
    t["u1"].primary_granted = True
    assert ml.is_critical(t["u1"]) and not ml.recalc()


# --- DEADTIME -----------------------------------------------------------------------------


def test_deadtime_promotes_a_silent_ups_on_battery_only_after_more_than_deadtime() -> None:
    ml, clock, fx, t = logic("DEADTIME 15\nMONITOR u1@h 1 u p primary\n")
    u = t["u1"]
    u.primary_granted = True
    at(clock, 100)
    ml.polled(u, "OB")
    at(clock, 115.5)  # 15 whole seconds of silence: not more than DEADTIME
    assert not ml.recalc()
    assert "LB" not in u.flags and not any("Promoting" in line for line in fx.logged)
    at(clock, 116)  # 16 seconds: dead, and last seen on battery
    assert ml.recalc()
    assert "LB" in u.flags
    assert fx.logged == ["Promoting dead UPS: u1@h"]


def test_deadtime_counts_from_the_last_answered_poll() -> None:
    ml, clock, _, t = logic("DEADTIME 10\nMONITOR u1@h 1 u p primary\n")
    u = t["u1"]
    u.primary_granted = True
    at(clock, 50)
    ml.polled(u, "OB")
    at(clock, 58)
    ml.poll_failed(u, "Connection refused")  # a failed poll does not reset the timer
    at(clock, 60)
    assert not ml.recalc()
    at(clock, 61)
    assert ml.recalc()


def test_deadtime_never_promotes_a_ups_last_seen_on_line() -> None:
    ml, clock, _, t = logic("DEADTIME 5\nMONITOR u1@h 1 u p primary\n")
    u = t["u1"]
    u.primary_granted = True
    at(clock, 10)
    ml.polled(u, "OL")
    ml.gone(u)
    at(clock, 1000)
    assert not ml.recalc()
    assert "LB" not in u.flags


def test_a_secondary_shuts_down_when_a_dead_ups_is_promoted() -> None:
    """Its last non-critical poll is older than HOSTSYNC by then (DEADTIME > HOSTSYNC)."""
    ml, clock, _, t = logic("DEADTIME 15\nHOSTSYNC 5\nMONITOR u1@h 1 u p secondary\n")
    u = t["u1"]
    at(clock, 100)
    ml.polled(u, "OB")
    at(clock, 115)
    assert not ml.recalc()
    at(clock, 116)
    assert ml.recalc() and "LB" in u.flags


# --- HOSTSYNC (a secondary's patience) ----------------------------------------------------


def test_hostsync_boundary_to_the_second() -> None:
    ml, clock, fx, t = logic("HOSTSYNC 6\nMONITOR u1@h 1 u p secondary\n")
    u = t["u1"]
    at(clock, 100)
    ml.polled(u, "OB")  # non-critical at 100
    at(clock, 101)
    ml.polled(u, "OB LB")  # its OB word still counts as non-critical: 101
    at(clock, 107.9)  # 6 whole seconds
    ml.polled(u, "OB LB")
    assert not ml.recalc()
    at(clock, 108)
    ml.polled(u, "OB LB")
    assert ml.recalc()
    assert "Giving up on the primary for UPS [u1@h]" in fx.logged


# --- what is critical ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "primary", "critical"),
    [
        ("OL", True, False),
        ("OB", True, False),
        ("OL LB", True, False),  # a low battery on line is no emergency
        ("OB LB", True, True),  # the primary decides at once
        ("OB LB", False, False),  # a secondary waits for the primary (HOSTSYNC)
        ("OB LB CAL", True, False),  # calibrating
        ("FSD OL", False, True),  # upsd's FSD is critical for everyone, on line or not
        ("FSD OB", False, True),
        ("OL FSD", True, True),
    ],
)
def test_what_is_critical(status: str, primary: bool, critical: bool) -> None:
    ml, clock, _, t = logic("HOSTSYNC 15\nMONITOR u1@h 1 u p primary\n")
    u = t["u1"]
    u.primary_granted = primary
    at(clock, 10)
    ml.polled(u, status)
    assert ml.is_critical(u) is critical
    assert ml.recalc() is critical


def test_fsd_is_notified_once_and_its_latch_ends_with_the_word() -> None:
    ml, clock, fx, t = logic("MONITOR u1@h 1 u p secondary\n")
    u = t["u1"]
    at(clock, 10)
    ml.polled(u, "OL")
    ml.polled(u, "FSD OL")
    ml.polled(u, "FSD OL")
    assert [n for n, _ in fx.notified] == ["FSD"]
    assert ml.recalc()
    ml.polled(u, "OL")
    assert not ml.is_critical(u) and not ml.recalc()


def test_a_lost_low_battery_is_no_longer_critical() -> None:
    ml, clock, _, t = logic("MONITOR u1@h 1 u p primary\n")
    u = t["u1"]
    u.primary_granted = True
    at(clock, 10)
    ml.polled(u, "OB LB")
    assert ml.recalc()
    ml.polled(u, "OB")
    assert not ml.recalc()


# --- FSD on upsd: who sets it --------------------------------------------------------------


def test_a_primary_sets_fsd_on_upsd_before_shutting_down(tmp_path: Path) -> None:
    lab = Lab(tmp_path)
    _, rec, downs = lab.upsmon(mon("primary"))
    entry = lab.state.find_ups("u1")
    assert entry is not None
    lab.run(3)
    lab.status("OB LB")
    assert not entry.fsd
    lab.run(4)
    assert entry.fsd and len(downs) == 1
    assert rec.types() == ["ONBATT", "LOWBATT", "SHUTDOWN"]  # alone: no SHUTDOWN_HOSTSYNC


def test_a_secondary_never_sets_fsd(tmp_path: Path) -> None:
    lab = Lab(tmp_path)
    _, _, downs = lab.upsmon(mon("secondary"))
    lab.run(3)
    lab.status("OB LB")
    lab.run(20)
    assert len(downs) == 1  # after HOSTSYNC
    entry = lab.state.find_ups("u1")
    assert entry is not None and not entry.fsd


def test_primary_in_upsmon_conf_with_a_secondary_account_acts_as_secondary(
    tmp_path: Path,
) -> None:
    """MONITOR ... primary, but upsd.users says ``upsmon secondary``: upsd refuses PRIMARY,
    so this upsmon waits HOSTSYNC as a secondary would and never gets FSD set."""
    lab = Lab(tmp_path)
    conf = mon("secondary").replace(" secondary\n", " primary\n")
    svc, _, downs = lab.upsmon(conf)
    lab.run(3)
    assert not svc.logic.primaries()
    lab.status("OB LB")
    t_lb = lab.clock.seconds()
    lab.run(5)
    assert downs == []  # a primary would be down by now
    lab.run(10)
    assert len(downs) == 1 and downs[0] - t_lb > 6
    entry = lab.state.find_ups("u1")
    assert entry is not None and not entry.fsd


def test_the_primary_waits_for_secondaries_to_log_out_at_most_hostsync(tmp_path: Path) -> None:
    lab = Lab(tmp_path)
    _, prec, pdowns = lab.upsmon(mon("primary"), "primary")
    ssvc, _, sdowns = lab.upsmon(mon("secondary"), "secondary")
    lab.run(3)
    lab.status("OB LB")
    lab.run(3)
    # the secondary saw FSD and shut down; until it logs out the primary waits
    assert len(sdowns) == 1 and pdowns == []
    assert "SHUTDOWN_HOSTSYNC" in prec.types()
    ssvc.stopService()
    lab.run(2)  # NUMLOGINS is polled every 250 ms, then FINALDELAY (1 s)
    assert len(pdowns) == 1
