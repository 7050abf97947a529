"""The driver core, dummy-ups, and both ends of the driver socket protocol (no real sockets)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.test import iosim

from nutwist.config.ups import UpsSection
from nutwist.drivers.core import DeviceError, Driver
from nutwist.drivers.dummy_ups import DummyUps
from nutwist.protocols.sock import MAX_BAD_LINES, DriverServerProtocol, format_line
from nutwist.services.driverlink import DriverLink, _LinkProtocol


def dummy(tmp_path: Path, text: str, name: str = "u.dev", **values: str) -> tuple[DummyUps, Clock]:
    (tmp_path / name).write_text(text)
    section = UpsSection("u", 1, values={"driver": "dummy-ups", "port": name, **values})
    clock = Clock()
    d = DummyUps("u", section, confdir=str(tmp_path), clock=clock)
    d.start()
    return d, clock


class Recorder:
    def __init__(self) -> None:
        self.messages: list[list[str]] = []

    def message(self, words: list[str]) -> None:
        self.messages.append(words)


# --- dummy-ups ---------------------------------------------------------------------


def test_dev_file_loaded_with_standard_variables(tmp_path: Path) -> None:
    d, _ = dummy(
        tmp_path, "ups.status: OB LB\nbattery.charge: 10\nups.mfr: Acme\ndriver.name: other\n"
    )
    g = d.getinfo
    assert (g("ups.status"), g("battery.charge"), g("ups.mfr"), g("device.mfr")) == (
        "OB LB",
        "10",
        "Acme",
        "Acme",
    )
    assert (g("driver.name"), g("driver.parameter.mode"), g("driver.parameter.port")) == (
        "dummy-ups",
        "dummy-once",
        "u.dev",
    )
    assert g("device.type") == "ups" and g("driver.state") == "quiet"
    assert d.state.commands() == ["load.off"] and not d.stale
    assert d.state.type_words("battery.charge") == "RW NUMBER"
    assert d.state.type_words("ups.mfr") == "RW STRING:32"


def test_seq_file_follows_timers_and_loops(tmp_path: Path) -> None:
    d, clock = dummy(
        tmp_path,
        "ups.status: OL\nTIMER 10\nups.status: OB\nTIMER 5\nups.status: OB LB\n",
        name="u.seq",
    )
    assert d.getinfo("ups.status") == "OL" and d.getinfo("driver.parameter.mode") == "dummy-loop"
    clock.advance(2)
    assert d.getinfo("ups.status") == "OL"
    clock.advance(10)
    assert d.getinfo("ups.status") == "OB"
    clock.advance(6)
    # OB LB, then the end of the file loops to the start: OL, and waits on TIMER 10
    assert d.getinfo("ups.status") == "OL"


def test_dev_file_reread_when_it_changes(tmp_path: Path) -> None:
    d, clock = dummy(tmp_path, "ups.status: OL\n")
    rec = Recorder()
    d.attach(rec)
    path = tmp_path / "u.dev"
    path.write_text("ups.status: OB\n")
    os.utime(path, (1, 1))
    clock.advance(2)
    assert d.getinfo("ups.status") == "OB"
    assert ["SETINFO", "ups.status", "OB"] in rec.messages


def test_empty_value_repeats_the_previous_one_as_nut(tmp_path: Path) -> None:
    d, _ = dummy(tmp_path, "ups.mfr: a b c\nups.model:\nx.y: one\nups.status:\n")
    assert d.getinfo("ups.model") == "a b c" and d.getinfo("device.model") == "a b c"
    assert d.getinfo("ups.status") == ""


def test_malformed_lines_warn_with_line_numbers_and_the_rest_loads(tmp_path: Path) -> None:
    d, _ = dummy(
        tmp_path, 'ups.status: OL\nTIMER soon\nbad "a#b"\nnocolon value\nbattery.charge: 50\n'
    )
    assert d.getinfo("battery.charge") == "50" and d.getinfo("nocolon") == "value"
    assert [(w.line, w.level.value) for w in d.diagnostics] == [
        (2, "warning"),
        (3, "warning"),
        (4, "warning"),
    ]


def test_set_and_instcmd_results(tmp_path: Path) -> None:
    d, _ = dummy(tmp_path, "ups.status: OL\ncustom.thing: hi\n")
    rec = Recorder()
    d.attach(rec)
    d.handle_setvar("custom.thing", "new val", "t1")
    d.handle_setvar("brand.new", "x", "t2")
    d.handle_setvar("custom.thing", "", "t3")
    d.handle_instcmd("load.off", None, "t4")
    d.handle_instcmd("no.such", "1", "t5")
    assert rec.messages == [
        ["SETINFO", "custom.thing", "new val"],
        ["TRACKING", "t1", "0"],
        ["SETINFO", "brand.new", "x"],
        ["SETFLAGS", "brand.new", "RW", "STRING"],
        ["SETAUX", "brand.new", "32"],
        ["TRACKING", "t2", "0"],
        ["DELINFO", "custom.thing"],
        ["TRACKING", "t3", "0"],
        ["TRACKING", "t4", "1"],
        ["TRACKING", "t5", "1"],
    ]


def test_missing_file_is_stale_and_retried(tmp_path: Path) -> None:
    section = UpsSection("u", 1, values={"driver": "dummy-ups", "port": "gone.dev"})
    clock = Clock()
    d = DummyUps("u", section, confdir=str(tmp_path), clock=clock)
    d.start()
    assert d.stale and d.getinfo("driver.state") == "reconnect.trying"
    (tmp_path / "gone.dev").write_text("ups.status: OL\n")
    clock.pump([1] * 120)
    assert d.getinfo("ups.status") == "OL" and not d.stale


def test_override_default_and_ignorelb(tmp_path: Path) -> None:
    d, _ = dummy(
        tmp_path,
        "ups.status: OL LB\nbattery.charge: 50\nbattery.charge.low: 20\n",
        **{"override.battery.charge.low": "60", "default.ups.id": "rack1"},
    )
    assert d.getinfo("battery.charge.low") == "60" and d.getinfo("ups.id") == "rack1"
    d.handle_setvar("battery.charge.low", "5", "t")
    assert d.getinfo("battery.charge.low") == "60"
    section = UpsSection(
        "v", 1, values={"driver": "dummy-ups", "port": "u.dev"}, flags=["ignorelb"]
    )
    (tmp_path / "u.dev").write_text(
        "ups.status: OB LB\nbattery.charge: 50\nbattery.charge.low: 20\n"
    )
    v = DummyUps("v", section, confdir=str(tmp_path), clock=Clock())
    v.start()
    assert v.getinfo("ups.status") == "OB" and v.getinfo("driver.flag.ignorelb") == "enabled"
    v.handle_setvar("battery.charge", "10", None)
    v.handle_setvar("ups.status", "OB", None)
    assert v.getinfo("ups.status") == "OB LB"


def test_secrets_are_not_published(tmp_path: Path) -> None:
    d, _ = dummy(tmp_path, "ups.status: OL\n", password="hunter2", community="private")
    assert all("hunter2" not in v.raw and "private" not in v.raw for v in d.state)


def test_failing_driver_backs_off() -> None:
    class Flaky(Driver):
        calls = 0

        def updateinfo(self) -> None:
            self.calls += 1
            raise DeviceError("no answer")

    clock = Clock()
    d = Flaky("f", clock=clock)
    d.start()
    clock.pump([1] * 600)
    # 2 s polling would make 300 calls; back-off to 60 s keeps it to a handful
    assert 5 < d.calls < 20 and d.stale


# --- the serving side over StringTransport -----------------------------------------


def served(tmp_path: Path) -> tuple[DummyUps, DriverServerProtocol, StringTransport]:
    d, _ = dummy(tmp_path, 'ups.status: OL\nups.id: a"b\n')
    p = DriverServerProtocol(d, "u")
    t = StringTransport()
    p.makeConnection(t)
    return d, p, t


def test_dumpall_ping_getpid_logout(tmp_path: Path) -> None:
    _d, p, t = served(tmp_path)
    p.dataReceived(b"DUMPALL\n")
    out = t.value().decode()
    assert 'SETINFO ups.id "a\\"b"\nSETAUX ups.id 16\nSETFLAGS ups.id RW STRING\n' in out
    assert out.endswith("ADDCMD load.off\nDATAOK\nDUMPDONE\n")
    t.clear()
    p.dataReceived(b"PING\nGETPID\n")
    assert t.value() == f"PONG\nPID {os.getpid()}\n".encode()
    t.clear()
    p.dataReceived(b"LOGOUT\n")
    assert t.value() == b"OK Goodbye\n" and t.disconnecting


def test_set_broadcast_and_nobroadcast(tmp_path: Path) -> None:
    d, p, t = served(tmp_path)
    p.dataReceived(b'SET ups.id "x y" TRACKING ab-1\n')
    assert t.value() == b'SETINFO ups.id "x y"\nTRACKING ab-1 0\n'
    t.clear()
    p.dataReceived(b"NOBROADCAST\n")
    d.setinfo("ups.id", "quiet")
    assert t.value() == b""
    p.dataReceived(b"PING\nBROADCAST 1\n")
    d.setinfo("ups.id", "loud")
    assert t.value() == b'PONG\nSETINFO ups.id "loud"\n'


def test_garbage_and_overlong_lines_disconnect_one_peer(tmp_path: Path) -> None:
    d, p, t = served(tmp_path)
    other = DriverServerProtocol(d, "u")
    ot = StringTransport()
    other.makeConnection(ot)
    p.dataReceived(b"\x00\xffjunk\n" * MAX_BAD_LINES)
    assert t.disconnecting and not ot.disconnecting
    _d2, p2, t2 = served(tmp_path)
    p2.dataReceived(b"A" * 20000)
    assert t2.disconnecting
    d.setinfo("ups.id", "still")
    assert b'SETINFO ups.id "still"' in ot.value()


def test_format_line_quotes_as_nut() -> None:
    assert format_line(["SETINFO", "v", 'a"b\\c#d']) == b'SETINFO v "a\\"b\\\\c\\#d"\n'
    assert format_line(["SET", "v", ""]) == b'SET v ""\n'
    assert format_line(["INSTCMD", "c", "two words"]) == b'INSTCMD c "two words"\n'
    assert format_line(["ADDRANGE", "v", "1", "5"]) == b"ADDRANGE v 1 5\n"


# --- upsd's reading side -------------------------------------------------------------------


def test_link_in_process(tmp_path: Path) -> None:
    d, clock = dummy(tmp_path, "ups.status: OL\nbattery.charge: 90\n")
    tracked: list[tuple[str, int]] = []
    link = DriverLink(
        "u", clock=clock, maxage=15, driver=d, on_tracking=lambda i, s: tracked.append((i, s))
    )
    link.start()
    assert link.state.getinfo("battery.charge") == "90" and not link.is_stale()
    d.setinfo("battery.charge", "80")
    assert link.state.getinfo("battery.charge") == "80"
    assert link.setvar("battery.charge", "70", "T1") and link.instcmd("load.off", None, "T2")
    assert link.state.getinfo("battery.charge") == "70"
    assert tracked == [("T1", 0), ("T2", 1)]
    d.datastale()
    assert link.is_stale()
    d.dataok()
    assert not link.is_stale()
    link.stop()
    assert link not in d.listeners


def connect(tmp_path: Path, maxage: float = 15) -> tuple[DummyUps, DriverLink, iosim.IOPump, Clock]:
    d, clock = dummy(tmp_path, "ups.status: OL\nbattery.charge: 90\n")
    link = DriverLink("u", clock=clock, maxage=maxage, socket_path="/unused")
    _server, _client, pump = iosim.connectedServerAndClient(
        lambda: DriverServerProtocol(d, "u"), lambda: _LinkProtocol(link), greet=False
    )
    link._checker.clock = clock
    link._checker.start(maxage / 3, now=False)
    pump.flush()
    return d, link, pump, clock


def test_link_over_socket_dialogue(tmp_path: Path) -> None:
    d, link, pump, _clock = connect(tmp_path)
    assert link.connected and link.dumpdone and link.data_ok
    assert link.state.getinfo("battery.charge") == "90" and link.state.commands() == ["load.off"]
    d.setinfo("battery.charge", 'quo"te#')
    pump.flush()
    assert link.state.getinfo("battery.charge") == 'quo"te#'
    assert link.setvar("ups.id", "new id", "X1")
    pump.flush()
    assert d.getinfo("ups.id") == "new id" and link.state.getinfo("ups.id") == "new id"


def test_link_waits_then_goes_stale_and_pings(tmp_path: Path) -> None:
    _d, clock = dummy(tmp_path, "ups.status: OL\n")
    link = DriverLink("u", clock=clock, maxage=15, socket_path="/unused")
    proto = _LinkProtocol(link)
    t = StringTransport()
    proto.makeConnection(t)
    assert t.value() == b"DUMPALL\n" and link.state.getinfo("ups.status") == "WAIT"
    assert not link.is_stale()  # dumping: upsd shows WAIT, not DATA-STALE
    proto.dataReceived(b'SETINFO ups.status "OL"\nDUMPDONE\n')
    assert link.is_stale()  # a dump without DATAOK is stale (NUT 2.8.0)
    proto.dataReceived(b"DATAOK\n")
    assert not link.is_stale()
    t.clear()
    link._checker.clock = clock
    link._checker.start(5, now=False)
    clock.advance(5.5)
    clock.advance(5)
    assert t.value() == b"PING\n"
    clock.advance(6)
    assert link.is_stale()
    proto.dataReceived(b"PONG\n")
    assert not link.is_stale()
    proto.connectionLost()
    assert link.is_stale() and not link.connected and link.state.getinfo("ups.status") is None


def test_link_tolerates_unescaped_live_updates_from_c_drivers() -> None:
    link = DriverLink("u", clock=Clock(), socket_path="/unused")
    proto = _LinkProtocol(link)
    proto.makeConnection(StringTransport())
    proto.dataReceived(
        b'SETINFO ups.id "a"b\\c"\nSETINFO ups.x "has # hash"\nSETINFO ups.ok "fine"\n'
    )
    assert link.state.getinfo("ups.id") == "a"  # NUT's upsd keeps only "a" too
    assert link.state.getinfo("ups.x") is None  # lost, as in NUT
    assert link.state.getinfo("ups.ok") == "fine"


@pytest.mark.parametrize("bad", [b"ADDRANGE v\n", b"SETAUX\n", b"TRACKING x\n", b"ADDENUM\n"])
def test_link_ignores_malformed_driver_lines(bad: bytes) -> None:
    link = DriverLink("u", clock=Clock(), socket_path="/unused")
    proto = _LinkProtocol(link)
    proto.makeConnection(StringTransport())
    proto.dataReceived(bad + b'SETINFO ok "1"\n')
    assert link.state.getinfo("ok") == "1"
