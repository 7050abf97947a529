"""upsd's protocol and service without sockets: StringTransport and task.Clock."""

from __future__ import annotations

from pathlib import Path

from twisted.internet.address import IPv4Address
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport

from nutwist.config.base import Source
from nutwist.config.ups import UpsSection
from nutwist.config.upsd import parse as parse_upsd
from nutwist.config.users import parse as parse_users
from nutwist.drivers.dummy_ups import DummyUps
from nutwist.model import cmdvartab
from nutwist.protocols.net import NetServerProtocol
from nutwist.services.driverlink import DriverLink
from nutwist.services.upsd import IDLE_TIMEOUT, UpsdFactory, UpsdService, UpsdState, UpsEntry


def make_state(tmp_path: Path, upsd_conf: str = "") -> tuple[UpsdState, Clock, DummyUps]:
    (tmp_path / "u.dev").write_text("ups.status: OL\nups.id: r1\nbattery.charge: 50\n")
    clock = Clock()
    d = DummyUps(
        "u", UpsSection("u", 1, values={"port": "u.dev"}), confdir=str(tmp_path), clock=clock
    )
    d.start()
    link = DriverLink("u", clock=clock, driver=d)
    link.start()
    state = UpsdState(
        clock,
        parse_upsd(Source.from_text(upsd_conf, "upsd.conf")),
        parse_users(
            Source.from_text(
                "[a]\n password = p\n actions = SET FSD\n instcmds = ALL\n", "upsd.users"
            )
        ),
        cmdvartab.default(),
    )
    state.add_ups(UpsEntry("u", "desc", link))
    link.on_tracking = state.tracking_done
    return state, clock, d


def client(state: UpsdState) -> tuple[NetServerProtocol, StringTransport]:
    p = NetServerProtocol(state, "127.0.0.1")
    t = StringTransport()
    p.makeConnection(t)
    return p, t


def test_answers_and_pipelining(tmp_path: Path) -> None:
    state, _, _ = make_state(tmp_path)
    p, t = client(state)
    p.dataReceived(b"GET VAR u ups.status\nget var U UPS.ID\nGET NUMLOGINS u\nLIST CMD u\n")
    assert t.value() == (
        b'VAR u ups.status "OL"\nVAR U UPS.ID "r1"\nNUMLOGINS u 0\n'
        b"BEGIN LIST CMD u\nCMD u load.off\nEND LIST CMD u\n"
    )


def test_fsd_latch_login_count_and_tracking(tmp_path: Path) -> None:
    state, _, d = make_state(tmp_path)
    p, t = client(state)
    p.dataReceived(b"USERNAME a\nPASSWORD p\nFSD u\nGET VAR u ups.status\nSET TRACKING ON\n")
    p.dataReceived(b"SET VAR u ups.id r2\n")
    tid = t.value().split(b"OK TRACKING ")[1].split(b"\n")[0].decode()
    assert d.getinfo("ups.id") == "r2"
    t.clear()
    p.dataReceived(f"GET TRACKING {tid.lower()}\n".encode())
    assert t.value() == b"SUCCESS\n"
    q, u = client(state)
    q.dataReceived(b"GET VAR u ups.status\nLIST RW u\n")
    assert u.value().startswith(b'VAR u ups.status "FSD OL"\nBEGIN LIST RW u\n')
    assert b'RW u ups.status "OL"\n' in u.value()


def test_long_values_are_cut_to_255_bytes_as_nut(tmp_path: Path) -> None:
    # NUT keeps 255 bytes of a value (ST_MAX_VALUE_LEN); the answer keeps its LF
    state, _, d = make_state(tmp_path)
    d.setinfo("long.value", "x" * 510)
    p, t = client(state)
    p.dataReceived(b"GET VAR u long.value\n")
    assert t.value() == b'VAR u long.value "' + b"x" * 255 + b'"\n'


def test_parse_error_drops_the_rest_of_the_read(tmp_path: Path) -> None:
    state, _, _ = make_state(tmp_path)
    p, t = client(state)
    p.dataReceived(b'VER\nSET VAR u ups.id "x#y"\nVER\n')
    assert t.value().count(b"\n") == 1
    p.dataReceived(b"NETVER\n")
    assert t.value().endswith(b"1.3\n")


def test_endless_line_drops_the_client(tmp_path: Path) -> None:
    state, _, _ = make_state(tmp_path)
    p, t = client(state)
    for _ in range(40):
        p.dataReceived(b"A" * 1024)
    assert t.disconnecting


def test_idle_clients_dropped_after_60_seconds(tmp_path: Path) -> None:
    state, clock, _ = make_state(tmp_path)
    svc = UpsdService.__new__(UpsdService)
    svc.state, svc.reactor = state, clock
    _, qt = client(state)
    busy, bt = client(state)
    for _ in range(IDLE_TIMEOUT // 10 + 1):
        clock.advance(10)
        busy.dataReceived(b"VER\n")
        svc.drop_idle()
    assert qt.disconnected and not bt.disconnected


def test_maxconn(tmp_path: Path) -> None:
    state, _, _ = make_state(tmp_path, "MAXCONN 2\n")
    f = UpsdFactory(state)
    addr = IPv4Address("TCP", "127.0.0.1", 5000)
    for _ in range(2):
        p = f.buildProtocol(addr)
        assert p is not None
        p.makeConnection(StringTransport())
    assert f.buildProtocol(addr) is None


def test_acl_on_connect_and_before_login(tmp_path: Path) -> None:
    from nutwist.config.tcpwrap import HostsAccess

    (tmp_path / "allow").write_text("upsd : admin@127.0.0.1\n")
    (tmp_path / "deny").write_text("upsd : 10.0.0.0/8\nupsd : a@ALL\n")
    state, _, _ = make_state(tmp_path, "ACL_ON_CONNECT yes\n")
    state.acl = HostsAccess(str(tmp_path / "allow"), str(tmp_path / "deny"))
    f = UpsdFactory(state)
    assert f.buildProtocol(IPv4Address("TCP", "10.1.2.3", 1)) is None
    p = f.buildProtocol(IPv4Address("TCP", "127.0.0.1", 1))
    assert p is not None
    t = StringTransport()
    p.makeConnection(t)
    p.dataReceived(b"USERNAME a\nPASSWORD p\nFSD u\nGET VAR u ups.status\n")
    assert t.value() == b'OK\nOK\nERR ACCESS-DENIED\nVAR u ups.status "OL"\n'
