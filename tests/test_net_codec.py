"""upsd's network codec (nutwist.protocols.net) against a small fake backend.

The codec keeps only per-connection state and framing; everything else it asks of
the backend interface it defines (UpsdBackend).  These tests need no upsd state.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from twisted.internet import defer
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport

from nutwist.model.state import UpsState, Variable
from nutwist.protocols.net import AUTH_BAD, AUTH_OK, NetServerProtocol


@dataclass(eq=False)
class FakeUps:
    name: str
    desc: str | None = None
    numlogins: int = 0
    state: UpsState = field(default_factory=UpsState)


class FakeBackend:
    """Just enough of a backend: one UPS, one user, passwords settled as told."""

    def __init__(self) -> None:
        self.clock = Clock()
        self.max_line = 1024
        self.tls: Any = None
        self.ups = FakeUps("u", "a ups")
        self.ups.state.setinfo("battery.charge", "90")
        self.ups.state.setinfo("ups.status", "OL")
        self.ups.state.addcmd("load.off")
        self.clients: list[NetServerProtocol] = []
        self.cache: dict[bytes, bytes] = {}
        self.password_outcome: Any = AUTH_OK
        self.checks = 0
        self.audits: list[tuple[Any, ...]] = []
        self.sent: list[tuple[Any, ...]] = []
        self.fsd = False

    def client_connected(self, client: NetServerProtocol) -> None:
        self.clients.append(client)

    def client_disconnected(self, client: NetServerProtocol) -> None:
        self.clients.remove(client)

    def clients_of(self, ups: Any) -> list[NetServerProtocol]:
        return [c for c in self.clients if c.loginups == ups.name]

    server_info = "fake upsd"

    def server_var(self, name: str) -> str | None:
        return None

    def find_ups(self, name: str) -> FakeUps | None:
        return self.ups if name == "u" else None

    def ups_list(self) -> list[FakeUps]:
        return [self.ups]

    def unavailable(self, ups: Any) -> str | None:
        return None

    def variable(self, ups: Any, name: str) -> Variable | None:
        return ups.state.get(name)  # type: ignore[no-any-return]

    def variables(self, ups: Any) -> Any:
        return iter(ups.state)

    def value_of(self, ups: Any, var: Variable) -> str:
        return var.value

    def type_words(self, ups: Any, name: str) -> str | None:
        return ups.state.type_words(name)  # type: ignore[no-any-return]

    def commands(self, ups: Any) -> list[str]:
        return ups.state.commands()  # type: ignore[no-any-return]

    def has_command(self, ups: Any, cmd: str) -> bool:
        return ups.state.getcmd(cmd) is not None

    def describe_var(self, name: str) -> str:
        return "a variable"

    def describe_cmd(self, name: str) -> str:
        return "a command"

    def cached_answer(self, line: bytes) -> bytes | None:
        return self.cache.get(line)

    def remember(self, line: bytes, ups: Any, answer: bytes) -> None:
        self.cache[line] = answer

    def logged_in(self, ups: Any) -> None:
        ups.numlogins += 1

    def set_fsd(self, ups: Any) -> None:
        self.fsd = True

    def new_tracking(self) -> str:
        return "T1"

    def tracking_result(self, tid: str) -> str:
        return "PENDING"

    def setvar(self, ups: Any, name: str, value: str, tracking: str | None) -> bool:
        self.sent.append(("SET", name, value, tracking))
        return True

    def instcmd(self, ups: Any, cmd: str, param: str | None, tracking: str | None) -> bool:
        self.sent.append(("INSTCMD", cmd, param, tracking))
        return True

    def check_password(self, username: str, password: str, addr: str, inline: bool) -> Any:
        self.checks += 1
        return self.password_outcome

    def certificate_of(self, username: str) -> str | None:
        return None

    auth_requires_tls = False

    def acl_allows(self, username: str, addr: str) -> bool:
        return True

    def user_has_action(self, username: str | None, action: str) -> bool:
        return username == "admin"

    def user_may_instcmd(self, username: str | None, cmd: str) -> bool:
        return username == "admin"

    def audit(self, *args: Any) -> None:
        self.audits.append(args)


def connect(backend: FakeBackend | None = None) -> tuple[FakeBackend, NetServerProtocol, Any]:
    backend = backend or FakeBackend()
    proto = NetServerProtocol(backend, "127.0.0.1")
    transport = StringTransport()
    proto.makeConnection(transport)
    return backend, proto, transport


def test_get_var_is_answered_then_remembered_and_served_from_the_cache() -> None:
    backend, proto, t = connect()
    proto.dataReceived(b"GET VAR u battery.charge\n")
    assert t.value() == b'VAR u battery.charge "90"\n'
    assert backend.cache == {b"GET VAR u battery.charge": b'VAR u battery.charge "90"\n'}
    backend.cache[b"GET VAR u battery.charge"] = b"from the cache\n"
    t.clear()
    proto.dataReceived(b"GET VAR u battery.charge\nGET VAR u battery.charge\n")
    assert t.value() == b"from the cache\n" * 2


def test_errors_and_lists_come_from_the_backend() -> None:
    _backend, proto, t = connect()
    proto.dataReceived(b"GET VAR x y\nLIST CMD u\nGET CMDDESC u load.off\nGET TYPE u ups.status\n")
    assert t.value() == (
        b"ERR UNKNOWN-UPS\nBEGIN LIST CMD u\nCMD u load.off\nEND LIST CMD u\n"
        b'CMDDESC u load.off "a command"\nTYPE u ups.status NUMBER\n'
    )


def test_login_and_set_ask_the_backend_and_audit() -> None:
    backend, proto, t = connect()
    proto.dataReceived(
        b"USERNAME admin\nPASSWORD pw\nLOGIN u\nSET TRACKING ON\nINSTCMD u load.off\n"
    )
    assert t.value() == b"OK\nOK\nOK\nOK\nOK TRACKING T1\n"
    assert backend.ups.numlogins == 1 and backend.checks == 1
    assert backend.sent == [("INSTCMD", "load.off", None, "T1")]
    assert backend.audits == [("admin", "127.0.0.1", "INSTCMD", "u", "forwarded", "load.off")]
    assert [c.addr for c in backend.clients_of(backend.ups)] == ["127.0.0.1"]


def test_a_bad_password_is_denied_and_audited() -> None:
    backend, proto, t = connect()
    backend.password_outcome = AUTH_BAD
    proto.dataReceived(b"USERNAME admin\nPASSWORD no\nFSD u\n")
    assert t.value() == b"OK\nOK\nERR ACCESS-DENIED\n"
    assert not backend.fsd
    assert backend.audits == [("admin", "127.0.0.1", "FSD", "u", "denied", "")]


def test_a_deferred_password_check_holds_later_requests_in_order() -> None:
    backend, proto, t = connect()
    check: defer.Deferred[str] = defer.Deferred()
    backend.password_outcome = check
    proto.dataReceived(b"USERNAME admin\nPASSWORD pw\nLOGIN u\nVER\n")
    assert t.value() == b"OK\nOK\n"  # LOGIN waits for the check, VER behind it
    proto.dataReceived(b"HELP\n")
    check.callback(AUTH_OK)
    assert t.value().split(b"\n")[2:] == [
        b"OK",
        b"fake upsd",
        b"Commands: HELP VER GET LIST SET INSTCMD LOGIN LOGOUT USERNAME PASSWORD STARTTLS",
        b"",
    ]


def test_new_credentials_are_checked_again() -> None:
    backend, proto, t = connect()
    proto.dataReceived(b"USERNAME admin\nPASSWORD pw\nFSD u\n")
    assert backend.checks == 1 and proto.verified
    proto.credentials_changed()
    backend.password_outcome = AUTH_BAD
    t.clear()
    proto.dataReceived(b"FSD u\n")
    assert t.value() == b"ERR ACCESS-DENIED\n" and backend.checks == 2


def test_close_abort_stops_reading() -> None:
    _backend, proto, t = connect()
    proto.close(abort=True)
    assert proto.closing
    proto.dataReceived(b"VER\n")
    assert t.value() == b""


def test_a_parse_error_drops_the_rest_of_a_512_byte_read() -> None:
    _backend, proto, t = connect()
    # the first line cannot be parsed (a '#' inside quotes); VER in the same read is lost
    proto.dataReceived(b'GET VAR u "a#b"\nVER\n' + b" " * 600 + b"\nVER\n")
    assert t.value() == b"ERR UNKNOWN-COMMAND\nfake upsd\n"


def test_an_endless_line_drops_the_client() -> None:
    _backend, proto, t = connect()
    proto.dataReceived(b'GET VAR u "' + b"x" * 2000)
    assert proto.closing and t.disconnecting


def test_the_protocols_package_never_imports_services() -> None:
    root = Path(__file__).resolve().parent.parent / "nutwist" / "protocols"
    for path in root.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names: list[str] = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            for name in names:
                assert not name.startswith("nutwist.services"), f"{path.name} imports {name}"
