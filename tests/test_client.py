"""nutwist.client: dialogues with nutwist's upsd over iosim, and edge cases on a StringTransport."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from test_upsd_unit import make_state
from twisted.internet import defer
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.test import iosim

from nutwist.client import NutClient, errors
from nutwist.client.protocol import word
from nutwist.protocols.net import NetServerProtocol


def dialogue(tmp_path: Path) -> tuple[NutClient, iosim.IOPump, Any, Clock]:
    state, clock, driver = make_state(tmp_path)
    client, _server, pump = iosim.connectedServerAndClient(
        lambda: NetServerProtocol(state, "127.0.0.1"), lambda: NutClient(clock, timeout=5)
    )
    return client, pump, driver, clock


def result(d: Any, pump: iosim.IOPump) -> Any:
    d = defer.ensureDeferred(d) if not isinstance(d, defer.Deferred) else d
    pump.flush()
    out: list[Any] = []
    d.addBoth(out.append)
    assert out, "no answer"
    if isinstance(out[0], Exception):
        raise out[0]
    if hasattr(out[0], "raiseException"):
        out[0].raiseException()
    return out[0]


def test_reads_and_lists(tmp_path: Path) -> None:
    c, pump, _, _ = dialogue(tmp_path)
    assert result(c.ver(), pump).startswith("Network UPS Tools upsd ")
    assert result(c.netver(), pump) == "1.3"
    assert result(c.list_ups(), pump) == {"u": "desc"}
    assert result(c.list_var("u"), pump)["battery.charge"] == "50"
    assert result(c.get_var("U", "UPS.ID"), pump) == "r1"
    assert result(c.get_type("u", "ups.id"), pump) == ["RW", "STRING:16"]
    assert result(c.get_desc("u", "ups.status"), pump) == "UPS status"
    assert result(c.get_upsdesc("u"), pump) == "desc"
    assert result(c.get_numlogins("u"), pump) == 0
    assert result(c.list_cmd("u"), pump) == ["load.off"]
    assert result(c.list_client("u"), pump) == []


def test_pipelined_answers_come_back_in_order(tmp_path: Path) -> None:
    c, pump, _, _ = dialogue(tmp_path)
    ds = [
        defer.ensureDeferred(c.get_var("u", "ups.status")),
        defer.ensureDeferred(c.list_var("u")),
        defer.ensureDeferred(c.get_var("u", "nosuch.var")),
        defer.ensureDeferred(c.get_var("u", "battery.charge")),
    ]
    pump.flush()
    got: list[Any] = []
    for d in ds:
        d.addBoth(got.append)
    assert got[0] == "OL"
    assert got[1]["ups.id"] == "r1"
    assert isinstance(got[2].value, errors.VarNotSupported)
    assert got[2].value.message == "Variable not supported by UPS"
    assert got[3] == "50"


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda c: c.get_var("nosuch", "ups.status"), errors.UnknownUps),
        (lambda c: c.list_var("nosuch"), errors.UnknownUps),
        (lambda c: c.list_enum("u", "nosuch.var"), errors.VarNotSupported),
        (lambda c: c.instcmd("u", "load.off"), errors.UsernameRequired),
        (lambda c: c.login("u"), errors.UsernameRequired),
        (lambda c: c.raw("BOGUS"), errors.UnknownCommand),
        (lambda c: c.get_tracking("x"), errors.FeatureNotConfigured),
    ],
)
def test_each_err_code_is_its_own_exception(tmp_path: Path, call: Any, error: type) -> None:
    c, pump, _, _ = dialogue(tmp_path)
    with pytest.raises(error):
        result(call(c), pump)


def test_login_set_instcmd_and_tracking(tmp_path: Path) -> None:
    c, pump, driver, clock = dialogue(tmp_path)
    result(c.authenticate("a", "p"), pump)
    assert result(c.set_tracking(True), pump) == "OK"
    tid = result(c.set_var("u", "ups.id", 'new "id" #2'), pump)
    assert tid is not None and len(tid) == 36
    clock.advance(1)
    pump.flush()
    assert result(c.get_tracking(tid), pump) in ("PENDING", "SUCCESS")
    assert driver.getinfo("ups.id") == 'new "id" #2'
    assert result(c.get_var("u", "ups.id"), pump) == 'new "id" #2'
    assert result(c.fsd("u"), pump) == "OK FSD-SET"
    assert result(c.get_var("u", "ups.status"), pump) == "FSD OL"
    with pytest.raises(errors.AccessDenied):  # not an upsmon primary: no MASTER retry either
        result(c.primary("u"), pump)
    result(c.logout(), pump)
    assert c.closed.called


def test_a_request_after_the_end_fails_at_once(tmp_path: Path) -> None:
    c, pump, _, _ = dialogue(tmp_path)
    result(c.logout(), pump)
    with pytest.raises(errors.ServerDisconnected):
        result(c.ver(), pump)


def string_client(timeout: float | None = 5) -> tuple[NutClient, StringTransport, Clock]:
    clock = Clock()
    c = NutClient(clock, timeout=timeout)
    t = StringTransport()
    c.makeConnection(t)
    return c, t, clock


def fired(d: Any) -> list[Any]:
    out: list[Any] = []
    defer.ensureDeferred(d).addBoth(out.append)
    return out


def test_requests_are_sent_as_nut_clients_send_them() -> None:
    c, t, _ = string_client()
    c.get_var("ups", "ups.status")
    c.set_var("ups", "ups.id", 'a "b"')
    c.instcmd("ups", "test.battery.start", "5 min")
    c.password("pass words")
    assert t.value() == (
        b"GET VAR ups ups.status\n"
        b'SET VAR ups ups.id "a \\"b\\""\n'
        b'INSTCMD ups test.battery.start "5 min"\n'
        b'PASSWORD "pass words"\n'
    )


def test_answers_that_do_not_fit_are_protocol_errors() -> None:
    c, _, _ = string_client()
    got = fired(c.get_var("u", "ups.status"))
    c.dataReceived(b'VAR other ups.status "OL"\n')
    assert isinstance(got[0].value, errors.ProtocolError)
    got = fired(c.list_var("u"))
    c.dataReceived(b"BEGIN LIST UPS\n")
    assert isinstance(got[0].value, errors.ProtocolError)


def test_lists_split_across_reads_and_escapes() -> None:
    c, _, _ = string_client()
    got = fired(c.list_var("u"))
    for chunk in (
        b"BEGIN LIST VAR u\nVAR u a.b ",
        b'"x \\"y\\""\nVAR u c',
        b'.d "2"\nEND LIST VAR u\n',
    ):
        c.dataReceived(chunk)
    assert got == [{"a.b": 'x "y"', "c.d": "2"}]


def test_a_silent_server_times_out_and_everything_pending_fails() -> None:
    c, t, clock = string_client(timeout=5)
    a, b = fired(c.ver()), fired(c.netver())
    clock.advance(4.9)
    assert not a
    clock.advance(0.2)
    assert isinstance(a[0].value, errors.Timeout) and isinstance(b[0].value, errors.Timeout)
    assert a[0].value.message == "Receive failure: Connection timed out"
    assert t.disconnecting or getattr(t, "disconnected", False)


def test_disconnection_fails_pending_requests() -> None:
    c, _, _ = string_client()
    got = fired(c.list_ups())
    c.dataReceived(b"BEGIN LIST UPS\n")
    c.connectionLost()
    assert isinstance(got[0].value, errors.ServerDisconnected)
    assert got[0].value.message == "Server disconnected"


def test_an_endless_answer_line_is_refused() -> None:
    c, t, _ = string_client()
    got = fired(c.ver())
    c.dataReceived(b"x" * (70 * 1024))
    assert isinstance(got[0].value, errors.ProtocolError)
    assert t.disconnecting


def test_unsolicited_lines_are_ignored() -> None:
    c, _, _ = string_client()
    c.dataReceived(b"hello\n")
    got = fired(c.ver())
    c.dataReceived(b"Network UPS Tools upsd x\n")
    assert got == ["Network UPS Tools upsd x"]


def test_primary_falls_back_to_master_on_an_old_server() -> None:
    c, t, _ = string_client()
    got = fired(c.primary("u"))
    c.dataReceived(b"ERR UNKNOWN-COMMAND\n")
    assert t.value().endswith(b"MASTER u\n")
    c.dataReceived(b"OK MASTER-GRANTED\n")
    assert got == ["OK MASTER-GRANTED"]


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        ("ERR UNKNOWN-UPS", "Unknown UPS"),
        ("ERR DRIVER-NOT-CONNECTED", "Driver not connected"),
        ("ERR DATA-STALE", "Data stale"),
        ("ERR INVALID-ARGUMENT", "Unknown error"),
        ("ERR UNKNOWN", "Unknown error"),
        ("ERR ACCESS-DENIED extra words", "Access denied"),
        ("ERR SOMETHING-NEW", "Unknown error"),
    ],
)
def test_error_messages_are_nut_clients_words(reply: str, message: str) -> None:
    assert errors.error_for(reply).message == message
    assert errors.client_message(reply) == message


def test_word_quotes_only_what_needs_it() -> None:
    assert word("ups.status") == "ups.status"
    assert word("a b") == '"a b"'
    assert word("") == '""'
    assert word('x"y') == '"x\\"y"'
    assert word("a#b") == '"a\\#b"'
    assert word("k=v") == '"k=v"'


class _PumpEndpoint:
    """An endpoint whose connections are iosim pairs with nutwist's upsd protocol."""

    def __init__(self, state: Any) -> None:
        self.state = state
        self.pumps: list[iosim.IOPump] = []

    def connect(self, factory: Any) -> defer.Deferred[Any]:
        server = NetServerProtocol(self.state, "127.0.0.1")
        client = factory.buildProtocol(None)
        st, ct = iosim.makeFakeServer(server), iosim.makeFakeClient(client)
        self.pumps.append(iosim.connect(server, st, client, ct, greet=False))
        d: defer.Deferred[Any] = defer.Deferred()
        self.pumps[-1].flush()
        d.callback(client)
        return d

    def flush(self) -> None:
        for _ in range(3):
            for p in self.pumps:
                p.flush()


def test_a_session_logs_in_again_after_each_reconnect(tmp_path: Path) -> None:
    from nutwist.client import NutSession

    state, clock, _ = make_state(tmp_path)
    from nutwist.config.base import Source
    from nutwist.config.users import parse as parse_users

    state.users = parse_users(
        Source.from_text("[m]\n password = s\n upsmon secondary\n", "upsd.users")
    )
    endpoint = _PumpEndpoint(state)
    session = NutSession(
        clock,
        "127.0.0.1",
        username="m",
        password="s",
        login=["u"],
        endpoint=endpoint,  # type: ignore[arg-type]
    )
    session.startService()
    got: list[Any] = []
    session.client().addBoth(got.append)
    endpoint.flush()
    assert isinstance(got[0], NutClient)
    entry = state.find_ups("u")
    assert entry is not None and entry.numlogins == 1
    # the server drops the link: the session reconnects after its backoff and logs in again
    got[0].transport.loseConnection()
    endpoint.flush()
    assert entry.numlogins == 0
    clock.advance(5)
    endpoint.flush()
    again: list[Any] = []
    session.client().addBoth(again.append)
    endpoint.flush()
    assert isinstance(again[0], NutClient) and again[0] is not got[0]
    assert entry.numlogins == 1
    session.stopService()
