"""upsmon's rules as scenarios on a task.Clock: nutwist's upsd in memory, upsmons over iosim.

Each scenario runs nutwist's upsd (an in-memory UPS whose status the test sets)
and one or more upsmon services on one shared clock; every connection is an
iosim pair.  Notifications and the moment SHUTDOWNCMD runs are recorded.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from twisted.internet import defer
from twisted.internet.task import Clock
from twisted.test import iosim

from nutwist.client import NutClient, errors
from nutwist.config.base import Source
from nutwist.config.ups import UpsSection
from nutwist.config.upsd import parse as parse_upsd
from nutwist.config.upsmon import UpsmonConf
from nutwist.config.upsmon import parse as parse_upsmon
from nutwist.config.users import parse as parse_users
from nutwist.drivers.dummy_ups import DummyUps
from nutwist.model import cmdvartab
from nutwist.monitor.service import UpsmonService
from nutwist.protocols.net import NetServerProtocol
from nutwist.services.driverlink import DriverLink
from nutwist.services.upsd import UpsdState, UpsEntry

USERS = "[pri]\n password = p\n upsmon primary\n[sec]\n password = s\n upsmon secondary\n"


class Recorder:
    """Stands in for the notifier: records, never spawns."""

    def __init__(self, conf: UpsmonConf, clock: Clock, name: str) -> None:
        self.conf, self.clock, self.name = conf, clock, name
        self.events: list[tuple[float, str, str]] = []
        self.walls: list[str] = []

    def notify(self, ntype: str, system: str | None, alarm: str = "") -> None:
        flags = self.conf.flags_for(ntype)
        if flags and "IGNORE" not in flags:
            self.events.append((self.clock.seconds(), ntype, system or ""))

    def wall(self, msg: str) -> None:
        self.walls.append(msg)

    def types(self) -> list[str]:
        return [e[1] for e in self.events]


class Lab:
    """One upsd with UPSes u1..un, and the upsmons attached to it."""

    def __init__(self, tmp_path: Path, upses: int = 1, upsd_conf: str = "") -> None:
        self.clock = Clock()
        self.pumps: list[iosim.IOPump] = []
        self.drivers: dict[str, DummyUps] = {}
        self.state = UpsdState(
            self.clock,
            parse_upsd(Source.from_text(upsd_conf, "upsd.conf")),
            parse_users(Source.from_text(USERS, "upsd.users")),
            cmdvartab.default(),
        )
        for i in range(1, upses + 1):
            name = f"u{i}"
            (tmp_path / f"{name}.dev").write_text("ups.status: OL\nbattery.charge: 100\n")
            d = DummyUps(
                name,
                UpsSection(name, 1, values={"port": f"{name}.dev"}),
                confdir=str(tmp_path),
                clock=self.clock,
            )
            d.start()
            link = DriverLink(name, clock=self.clock, driver=d)
            link.start()
            self.state.add_ups(UpsEntry(name, None, link))
            self.drivers[name] = d
        self.monitors: list[tuple[UpsmonService, Recorder, list[float]]] = []
        self.down = False  # upsd unreachable

    def connect(self, host: str, port: int) -> defer.Deferred[NutClient]:
        if self.down:
            return defer.fail(errors.ConnectionFailed("Connection refused"))
        server = NetServerProtocol(self.state, f"127.0.0.{len(self.pumps) + 1}")
        client = NutClient(self.clock, timeout=10)
        pump = iosim.connect(
            server, iosim.makeFakeServer(server), client, iosim.makeFakeClient(client), greet=False
        )
        self.pumps.append(pump)
        pump.flush()
        return defer.succeed(client)

    def upsmon(
        self, conf_text: str, name: str = "host"
    ) -> tuple[UpsmonService, Recorder, list[float]]:
        conf = parse_upsmon(Source.from_text(conf_text, "upsmon.conf"))
        assert not conf.diagnostics.errors, conf.diagnostics.errors
        rec = Recorder(conf, self.clock, name)
        shutdowns: list[float] = []
        svc = UpsmonService(
            conf,
            self.clock,
            shutdown=lambda: shutdowns.append(self.clock.seconds()),
            notifier=rec,  # type: ignore[arg-type]
            connector=self.connect,
        )
        svc.startService()
        self.monitors.append((svc, rec, shutdowns))
        self.clock.advance(0)  # the first poll cycle
        self.flush()
        return svc, rec, shutdowns

    def flush(self) -> None:
        for _ in range(6):
            for p in list(self.pumps):
                p.flush()

    def status(self, value: str, ups: str = "u1") -> None:
        self.drivers[ups].setinfo("ups.status", value)
        self.flush()

    def run(self, seconds: float, step: float = 0.25) -> None:
        end = self.clock.seconds() + seconds
        while self.clock.seconds() < end - 1e-9:
            self.clock.advance(step)
            self.flush()

    def restart_upsd(self) -> None:
        """Every client connection drops (upsd went away); new ones are refused."""
        self.down = True
        for p in self.pumps:
            p.clientIO.loseConnection()
            p.serverIO.loseConnection()
        self.flush()


def mon(role: str, ups: str = "u1", power: int = 1, extra: str = "") -> str:
    user, pw = ("pri", "p") if role == "primary" else ("sec", "s")
    return (
        f"MONITOR {ups}@localhost {power} {user} {pw} {role}\n"
        "POLLFREQ 2\nPOLLFREQALERT 1\nHOSTSYNC 6\nDEADTIME 6\nFINALDELAY 1\n"
        'SHUTDOWNCMD "/bin/true"\n' + extra
    )


def test_first_status_is_silent_and_changes_notify_in_token_order(tmp_path: Path) -> None:
    lab = Lab(tmp_path)
    _, rec, _ = lab.upsmon(mon("secondary"))
    lab.run(6)
    assert rec.types() == []  # OL at the first poll: no ONLINE
    lab.status("OB")
    lab.run(6)
    lab.status("OL")
    lab.run(6)
    assert rec.types() == ["ONBATT", "ONLINE"]
    lab.status("OB LB RB")
    lab.run(2)
    assert rec.types()[2:] == ["ONBATT", "LOWBATT", "REPLBATT"]


def test_the_poll_interval_follows_the_line_state(tmp_path: Path) -> None:
    lab = Lab(tmp_path)
    svc, _, _ = lab.upsmon(mon("secondary", extra="POLLFREQ 7\nPOLLFREQALERT 3\n"))
    assert svc.logic.sleepval == 7  # after the first OL
    lab.status("OB")
    lab.run(8)
    assert svc.logic.sleepval == 3


def test_power_loss_one_primary_three_secondaries(tmp_path: Path) -> None:
    lab = Lab(tmp_path)
    primary = lab.upsmon(mon("primary"), "primary")
    secondaries = [lab.upsmon(mon("secondary"), f"s{i}") for i in range(3)]
    lab.run(4)
    entry = lab.state.find_ups("u1")
    assert entry is not None and entry.numlogins == 4
    lab.status("OB")
    lab.run(3)
    t_lb = lab.clock.seconds()
    lab.status("OB LB")
    lab.run(15)
    # the primary raised FSD; every secondary shut down at its next poll
    for svc, rec, shutdowns in secondaries:
        # FSD came before this secondary's poll saw LB (upsd shows "FSD OB LB"), or after
        assert rec.types() in (
            ["ONBATT", "FSD", "LOWBATT", "SHUTDOWN"],
            ["ONBATT", "LOWBATT", "FSD", "SHUTDOWN"],
        )
        assert len(shutdowns) == 1 and shutdowns[0] - t_lb <= 1 + 1 + 1  # a poll, FINALDELAY
        svc.stopService()  # a secondary that shut down logs out (its system goes down)
    lab.run(3)
    _psvc, prec, pdowns = primary
    assert prec.types() == ["ONBATT", "LOWBATT", "SHUTDOWN_HOSTSYNC", "SHUTDOWN"]
    assert len(pdowns) == 1
    assert pdowns[0] > max(s[2][0] for s in secondaries)  # the primary's runs last
    assert entry.fsd


def test_primary_waits_hostsync_for_secondaries_that_stay(tmp_path: Path) -> None:
    lab = Lab(tmp_path)
    _, _, pdowns = lab.upsmon(mon("primary"), "primary")
    # a secondary logged in that never logs out (its shutdown hangs)
    lab.upsmon(mon("secondary", extra="SHUTDOWNEXIT no\n"), "stuck")
    lab.run(3)
    t_lb = lab.clock.seconds()
    lab.status("OB LB")
    lab.run(20)
    assert len(pdowns) == 1
    # FSD at once, then NUMLOGINS every 250 ms for HOSTSYNC (6 s), then FINALDELAY (1 s)
    assert 6 + 1 <= pdowns[0] - t_lb <= 6 + 1 + 1 + 0.5


def test_secondary_gives_up_on_the_primary_after_hostsync(tmp_path: Path) -> None:
    lab = Lab(tmp_path)
    _, _rec, downs = lab.upsmon(mon("secondary"))
    lab.run(3)
    lab.status("OB LB")
    t_lb = lab.clock.seconds()
    lab.run(5)
    assert downs == []
    lab.run(6)
    assert len(downs) == 1
    assert 6 < downs[0] - t_lb <= 6 + 1 + 1 + 1


def test_redundant_supplies_with_minsupplies_two(tmp_path: Path) -> None:
    lab = Lab(tmp_path, upses=3)
    conf = (
        "MINSUPPLIES 2\nPOLLFREQ 2\nPOLLFREQALERT 1\nHOSTSYNC 6\nDEADTIME 6\nFINALDELAY 1\n"
        'SHUTDOWNCMD "/bin/true"\n'
        + "".join(f"MONITOR u{i}@localhost 1 pri p primary\n" for i in (1, 2, 3))
    )
    _, _rec, downs = lab.upsmon(conf)
    lab.run(3)
    lab.status("OB LB", "u1")
    lab.run(10)
    assert downs == []  # two supplies left
    lab.status("OB LB", "u2")
    lab.run(10)
    assert len(downs) == 1


def test_comm_loss_on_line_never_shuts_down(tmp_path: Path) -> None:
    lab = Lab(tmp_path)
    _, rec, downs = lab.upsmon(mon("secondary", extra="NOCOMMWARNTIME 10\n"))
    lab.run(3)
    lab.restart_upsd()
    lab.run(60)
    assert downs == []
    assert rec.types()[0] == "COMMBAD"
    assert "NOCOMM" in rec.types()
    lab.down = False
    lab.run(10)  # the next connect attempt comes within the back-off's 8 s
    assert rec.types()[-1] == "COMMOK"


def test_comm_loss_on_battery_shuts_down_after_deadtime(tmp_path: Path) -> None:
    lab = Lab(tmp_path)
    _, rec, downs = lab.upsmon(mon("secondary"))
    lab.run(3)
    lab.status("OB")
    lab.run(2)
    t_lost = lab.clock.seconds()
    lab.restart_upsd()
    lab.run(30)
    assert len(downs) == 1
    # DEADTIME (6) makes it OB+LB; a secondary then gives the primary HOSTSYNC (6)
    assert 6 < downs[0] - t_lost <= 6 + 6 + 1 + 2
    assert rec.types()[:2] == ["ONBATT", "COMMBAD"]


def test_flapping_notifies_every_change_and_never_shuts_down(tmp_path: Path) -> None:
    lab = Lab(tmp_path)
    _, rec, downs = lab.upsmon(mon("secondary"))
    lab.run(3)
    for _ in range(5):
        lab.status("OB")
        lab.run(1)
        lab.status("OL")
        lab.run(2)
    assert rec.types() == ["ONBATT", "ONLINE"] * 5
    assert downs == []


def test_fsd_from_the_primary_shuts_a_secondary_down_at_once(tmp_path: Path) -> None:
    lab = Lab(tmp_path)
    _, rec, downs = lab.upsmon(mon("secondary"))
    lab.run(3)
    entry = lab.state.find_ups("u1")
    assert entry is not None
    entry.fsd = True
    lab.state.answers.clear()
    lab.run(4)
    assert rec.types() == ["FSD", "SHUTDOWN"]
    assert len(downs) == 1


def test_replace_battery_repeats_after_rbwarntime(tmp_path: Path) -> None:
    lab = Lab(tmp_path)
    _, rec, _ = lab.upsmon(mon("secondary", extra="RBWARNTIME 10\n"))
    lab.status("OL RB")
    lab.run(27)
    assert rec.types() == ["REPLBATT"] * 3  # at 0, after 10 s, after 20 s (polled every 2 s)


def test_user_fsd(tmp_path: Path) -> None:
    lab = Lab(tmp_path)
    svc, _rec, downs = lab.upsmon(mon("primary"))
    lab.run(3)
    svc.request_fsd()
    lab.run(3)
    assert len(downs) == 1
    entry = lab.state.find_ups("u1")
    assert entry is not None and entry.fsd


def test_upsd_restarting_mid_outage(tmp_path: Path) -> None:
    lab = Lab(tmp_path)
    _, rec, downs = lab.upsmon(mon("secondary", extra="DEADTIME 30\n"))
    lab.run(3)
    lab.status("OB")
    lab.run(2)
    lab.restart_upsd()
    lab.run(5)
    lab.down = False
    lab.run(5)
    lab.status("OL")
    lab.run(5)
    assert downs == []
    assert rec.types() == ["ONBATT", "COMMBAD", "COMMOK", "ONLINE"]


def test_calibration_is_not_critical(tmp_path: Path) -> None:
    lab = Lab(tmp_path)
    _, rec, downs = lab.upsmon(mon("primary"))
    lab.run(3)
    lab.status("OB LB CAL")
    lab.run(10)
    assert downs == []
    assert rec.types() == ["ONBATT", "LOWBATT", "CAL"]


# --- each later directive, unset (NUT 2.8.0's decision) and set -------------------------


def test_oblbduration(tmp_path: Path) -> None:
    for extra, delay in (("", 0), ("OBLBDURATION 5\n", 5)):
        (tmp_path / f"d{delay}").mkdir()
        lab = Lab(tmp_path / f"d{delay}")
        _, _, downs = lab.upsmon(mon("primary", extra=extra))
        lab.run(3)
        t = lab.clock.seconds()
        lab.status("OB LB")
        lab.run(15)
        assert len(downs) == 1
        assert delay + 1 <= downs[0] - t <= delay + 1 + 1.5


def test_offduration(tmp_path: Path) -> None:
    for extra, expect in (("", 0), ("OFFDURATION 4\n", 1)):
        d = tmp_path / f"o{expect}"
        d.mkdir()
        lab = Lab(d)
        _, rec, downs = lab.upsmon(mon("primary", extra=extra))
        lab.run(3)
        lab.status("OL OFF")
        lab.run(12)
        assert len(downs) == expect
        assert "OFF" in rec.types()


def test_overduration(tmp_path: Path) -> None:
    for extra, expect in (("", 0), ("OVERDURATION 3\n", 1)):
        d = tmp_path / f"v{expect}"
        d.mkdir()
        lab = Lab(d)
        _, rec, downs = lab.upsmon(mon("primary", extra=extra + "DEADTIME 300\n"))
        lab.run(3)
        lab.status("OL OVER")
        lab.run(3)
        assert downs == []  # while it communicates, OVER only notifies
        lab.restart_upsd()
        lab.run(10)
        assert len(downs) == expect
        assert "OVER" in rec.types()


def test_alarmcritical(tmp_path: Path) -> None:
    for extra, expect in (("", 0), ("ALARMCRITICAL 1\n", 1)):
        d = tmp_path / f"a{expect}"
        d.mkdir()
        lab = Lab(d)
        _, _, downs = lab.upsmon(mon("primary", extra=extra + "DEADTIME 300\n"))
        lab.run(3)
        lab.status("OL ALARM")
        lab.run(3)
        lab.restart_upsd()
        lab.run(6)
        assert len(downs) == expect


@pytest.mark.parametrize(
    ("value", "stops"), [("", True), ("SHUTDOWNEXIT yes\n", True), ("SHUTDOWNEXIT no\n", False)]
)
def test_shutdownexit(tmp_path: Path, value: str, stops: bool) -> None:
    lab = Lab(tmp_path)
    exits: list[float] = []
    svc, _, downs = lab.upsmon(mon("secondary", extra=value))
    svc.on_exit = lambda: exits.append(lab.clock.seconds())
    lab.run(3)
    lab.status("OB LB FSD")
    lab.run(5)
    assert len(downs) == 1
    assert bool(exits) is stops


def test_shutdownexit_after_seconds(tmp_path: Path) -> None:
    lab = Lab(tmp_path)
    exits: list[float] = []
    svc, _, downs = lab.upsmon(mon("secondary", extra="SHUTDOWNEXIT 4\n"))
    svc.on_exit = lambda: exits.append(lab.clock.seconds())
    lab.run(3)
    lab.status("OB LB FSD")
    lab.run(10)
    assert len(exits) == 1 and 3.9 <= exits[0] - downs[0] <= 4.1


def test_later_notifications_pair_up(tmp_path: Path) -> None:
    lab = Lab(tmp_path)
    _, rec, _ = lab.upsmon(mon("secondary"))
    lab.run(3)
    lab.status("OL BYPASS TRIM")
    lab.run(2)
    lab.status("OL BOOST ECO")
    lab.run(2)
    lab.status("OL")
    lab.run(2)
    # what appears, in token order; then what went away
    assert rec.types() == [
        "BYPASS", "TRIM", "BOOST", "ECO", "NOTBYPASS", "NOTTRIM", "NOTECO", "NOTBOOST",
    ]  # fmt: skip


def test_noparent_when_the_privileged_side_dies_and_every_two_minutes(tmp_path: Path) -> None:
    lab = Lab(tmp_path)
    svc, rec, _ = lab.upsmon(mon("secondary"))
    lab.run(3)
    svc.parent_died()
    lab.run(250, step=1)
    stamps = [t for t, ntype, ups in rec.events if ntype == "NOPARENT" and ups == ""]
    assert len(stamps) == 3 and stamps[1] - stamps[0] >= 120


def test_reconnects_back_off_and_recover(tmp_path: Path) -> None:
    lab = Lab(tmp_path)
    tries: list[float] = []
    real = lab.connect

    def counting(host: str, port: int) -> Any:
        tries.append(lab.clock.seconds())
        return real(host, port)

    lab.connect = counting  # type: ignore[method-assign]
    _, rec, downs = lab.upsmon(mon("secondary"))
    lab.run(3)
    lab.restart_upsd()
    first = len(tries)
    lab.run(120, step=1)
    gaps = [b - a for a, b in zip(tries[first:], tries[first + 1 :], strict=False)]
    assert gaps and gaps == sorted(gaps) and max(gaps) <= 9  # 1, 2, 4, 8 s
    assert len(tries) - first < 25  # not one per 2 s poll
    lab.down = False
    lab.run(12, step=1)
    assert rec.types()[-1] == "COMMOK" and downs == []


class JumpyClock(Clock):
    """A clock whose reading can be stepped back and forth (suspend, NTP) without
    moving the timers: what time.time() does to a real process."""

    def __init__(self) -> None:
        super().__init__()
        self.offset = 0.0

    def seconds(self) -> float:
        return super().seconds() + self.offset


@pytest.mark.parametrize("jump", [-3600.0, 3600.0, -30.0, 30.0])
def test_clock_jumps_never_shut_down_a_host_on_line(tmp_path: Path, jump: float) -> None:
    lab = Lab(tmp_path)
    lab.clock = JumpyClock()  # before any service exists
    lab.state.clock = lab.clock
    for d in lab.drivers.values():
        d.clock = lab.clock
    _, rec, downs = lab.upsmon(mon("secondary"))
    lab.run(5)
    lab.clock.offset += jump
    lab.run(30)
    assert downs == []
    assert "COMMBAD" not in rec.types()


def test_clock_jump_forward_on_battery_keeps_nuts_rules(tmp_path: Path) -> None:
    """On battery, a forward step is time passing: it may hasten the secondary's HOSTSYNC
    wait once LB shows, but a UPS still answering is never promoted by DEADTIME."""
    lab = Lab(tmp_path)
    lab.clock = JumpyClock()
    lab.state.clock = lab.clock
    for d in lab.drivers.values():
        d.clock = lab.clock
    _, _rec, downs = lab.upsmon(mon("secondary"))
    lab.run(3)
    lab.status("OB")
    lab.run(3)
    lab.clock.offset += 3600
    lab.run(10)
    assert downs == []  # polled all along: OB alone is never critical
    lab.status("OB LB")
    lab.run(10)
    assert len(downs) == 1
