"""Every rule of upsd.users and of FSD, in upsd's protocol, without NUT or sockets.

NUT 2.8.0's upsd (server/netuser.c, netmisc.c, netset.c, netinstcmd.c) checks, in order:

* LOGIN: arguments, ``ALREADY-LOGGED-IN``, ``UNKNOWN-UPS``, then ``ACCESS-DENIED`` (no
  ``login`` action, unknown user or wrong password);
* PRIMARY/MASTER: arguments, ``UNKNOWN-UPS``, then ``ACCESS-DENIED`` (``primary`` or ``master``);
* FSD: arguments, ``UNKNOWN-UPS``, then ``ACCESS-DENIED`` (``fsd``);
* SET VAR: arguments, ``UNKNOWN-UPS``, driver availability, ``ACCESS-DENIED`` (``set``), then
  ``VAR-NOT-SUPPORTED``: an unauthorised user learns nothing of the variables;
* INSTCMD: arguments, ``UNKNOWN-UPS``, driver availability, ``CMD-NOT-SUPPORTED``, then
  ``ACCESS-DENIED`` (``instcmds``).

``upsmon primary``/``master`` grants login, master and fsd; ``upsmon secondary``/``slave``
grants login only.  ``actions`` and ``instcmds`` compare without regard to case,
``instcmds = ALL`` grants every command.  Each test pairs a user who lacks a right with
a request that would also fail for another reason, so that the order is pinned down.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport

from nutwist.auth import _b64, _unb64, hash_password, verify_password
from nutwist.config.base import Source
from nutwist.config.ups import UpsSection
from nutwist.config.upsd import parse as parse_upsd
from nutwist.config.users import parse as parse_users
from nutwist.drivers.dummy_ups import DummyUps
from nutwist.model import cmdvartab
from nutwist.protocols.net import NetServerProtocol
from nutwist.services.driverlink import DriverLink
from nutwist.services.upsd import UpsdState, UpsEntry

# a cheap scrypt cost: the rule is the same at any cost
HASHED = hash_password("h4shed", n=16, r=1, p=1, salt=b"0123456789abcdef")

USERS = f"""
[admin]
  password = pw
  actions = SET FSD
  instcmds = ALL
[setter]
  password = pw
  actions = set
[fsder]
  password = pw
  actions = FSD
[cmds]
  password = pw
  instcmds = LOAD.OFF
[pri]
  password = pw
  upsmon primary
[mas]
  password = pw
  upsmon master
[sec]
  password = pw
  upsmon secondary
[sla]
  password = pw
  upsmon slave
[plain]
  password = pw
[hashed]
  password = "{HASHED}"
  upsmon primary
"""

ALL_USERS = ["admin", "setter", "fsder", "cmds", "pri", "mas", "sec", "sla", "plain"]


class Upsd:
    """One in-memory upsd with UPS ``u`` (a dummy-ups with commands load.off and load.on)."""

    def __init__(self, tmp_path: Path) -> None:
        (tmp_path / "u.dev").write_text("ups.status: OL\nups.id: r1\nbattery.charge: 50\n")
        self.clock = Clock()
        self.driver = DummyUps(
            "u", UpsSection("u", 1, values={"port": "u.dev"}), confdir=str(tmp_path),
            clock=self.clock,
        )  # fmt: skip
        self.driver.start()
        self.driver.addcmd("load.on")
        link = DriverLink("u", clock=self.clock, driver=self.driver)
        link.start()
        users = parse_users(Source.from_text(USERS, "upsd.users"))
        assert not users.diagnostics.errors
        self.state = UpsdState(
            self.clock,
            parse_upsd(Source.from_text("", "upsd.conf")),
            users,
            cmdvartab.default(),
        )
        self.entry = UpsEntry("u", "desc", link)
        self.state.add_ups(self.entry)
        link.on_tracking = self.state.tracking_done

    def session(self, user: str | None = None, password: str = "pw") -> Session:
        s = Session(self.state)
        if user is not None:
            assert s.ask(f"USERNAME {user}") == "OK"
            assert s.ask(f'PASSWORD "{password}"') == "OK"
        return s


class Session:
    def __init__(self, state: UpsdState) -> None:
        self.proto = NetServerProtocol(state, "127.0.0.1")
        self.transport = StringTransport()
        self.proto.makeConnection(self.transport)

    def ask(self, line: str) -> str:
        """The whole answer to one request line (one line, or a LIST block joined)."""
        self.transport.clear()
        self.proto.dataReceived(line.encode() + b"\n")
        return self.transport.value().decode().rstrip("\n")


@pytest.fixture
def upsd(tmp_path: Path) -> Upsd:
    return Upsd(tmp_path)


# --- USERNAME, PASSWORD, and who is a user at all ---------------------------------------


def test_user_commands_need_username_then_password(upsd: Upsd) -> None:
    for cmd in ("LOGIN u", "PRIMARY u", "MASTER u", "FSD u", "SET VAR u ups.id x", "INSTCMD u x"):
        assert upsd.session().ask(cmd) == "ERR USERNAME-REQUIRED", cmd
        s = upsd.session()
        s.ask("PASSWORD pw")
        assert s.ask(cmd) == "ERR USERNAME-REQUIRED", cmd
        s = upsd.session()
        s.ask("USERNAME admin")
        assert s.ask(cmd) == "ERR PASSWORD-REQUIRED", cmd


def test_username_and_password_are_set_once(upsd: Upsd) -> None:
    s = upsd.session("admin")
    assert s.ask("USERNAME pri") == "ERR ALREADY-SET-USERNAME"
    assert s.ask("PASSWORD other") == "ERR ALREADY-SET-PASSWORD"
    assert s.ask("FSD u") == "OK FSD-SET"  # still admin with pw


@pytest.mark.parametrize("cmd", ["LOGIN u", "PRIMARY u", "FSD u", "SET VAR u ups.id x"])
def test_an_unknown_user_is_denied_though_username_said_ok(upsd: Upsd, cmd: str) -> None:
    s = upsd.session("nosuchuser", "pw")
    assert s.ask(cmd) == "ERR ACCESS-DENIED"
    assert upsd.session("nosuchuser", "pw").ask("INSTCMD u load.off") == "ERR ACCESS-DENIED"
    assert not upsd.entry.fsd and upsd.entry.numlogins == 0


def test_user_names_are_case_sensitive(upsd: Upsd) -> None:
    assert upsd.session("Admin").ask("FSD u") == "ERR ACCESS-DENIED"
    assert upsd.session("ADMIN").ask("SET VAR u ups.id x") == "ERR ACCESS-DENIED"


@pytest.mark.parametrize("user", ALL_USERS)
def test_a_wrong_password_is_denied_for_every_user(upsd: Upsd, user: str) -> None:
    for cmd in ("LOGIN u", "PRIMARY u", "FSD u", "SET VAR u ups.id x", "INSTCMD u load.off"):
        assert upsd.session(user, "pW").ask(cmd) == "ERR ACCESS-DENIED", cmd
        assert upsd.session(user, "").ask(cmd) == "ERR ACCESS-DENIED", cmd
    assert not upsd.entry.fsd and upsd.entry.numlogins == 0
    assert upsd.driver.getinfo("ups.id") == "r1"


def test_a_hashed_password_admits_only_its_own_password(upsd: Upsd) -> None:
    assert upsd.session("hashed", "h4shed").ask("LOGIN u") == "OK"
    assert upsd.session("hashed", "h4shedX").ask("LOGIN u") == "ERR ACCESS-DENIED"
    assert upsd.session("hashed", "h4she").ask("LOGIN u") == "ERR ACCESS-DENIED"
    # the stored string itself is not a password
    assert upsd.session("hashed", HASHED).ask("LOGIN u") == "ERR ACCESS-DENIED"


# --- LOGIN -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("user", "answer"),
    [
        ("pri", "OK"),
        ("mas", "OK"),
        ("sec", "OK"),
        ("sla", "OK"),
        # SET, FSD and instcmds grant no login
        ("admin", "ERR ACCESS-DENIED"),
        ("setter", "ERR ACCESS-DENIED"),
        ("fsder", "ERR ACCESS-DENIED"),
        ("cmds", "ERR ACCESS-DENIED"),
        ("plain", "ERR ACCESS-DENIED"),
    ],
)
def test_login_needs_an_upsmon_line(upsd: Upsd, user: str, answer: str) -> None:
    assert upsd.session(user).ask("LOGIN u") == answer
    assert upsd.entry.numlogins == (1 if answer == "OK" else 0)


def test_login_unknown_ups_comes_before_access_denied(upsd: Upsd) -> None:
    assert upsd.session("plain").ask("LOGIN nosuch") == "ERR UNKNOWN-UPS"
    assert upsd.session("plain", "wrong").ask("LOGIN nosuch") == "ERR UNKNOWN-UPS"
    assert upsd.session("nosuchuser").ask("LOGIN nosuch") == "ERR UNKNOWN-UPS"
    assert upsd.session("sec").ask("LOGIN nosuch") == "ERR UNKNOWN-UPS"


def test_login_twice_is_refused_before_anything_else(upsd: Upsd) -> None:
    s = upsd.session("sec")
    assert s.ask("LOGIN u") == "OK"
    assert s.ask("LOGIN u") == "ERR ALREADY-LOGGED-IN"
    assert s.ask("LOGIN nosuch") == "ERR ALREADY-LOGGED-IN"
    assert s.ask("LOGIN") == "ERR INVALID-ARGUMENT"
    assert upsd.entry.numlogins == 1
    assert s.ask("GET NUMLOGINS u") == "NUMLOGINS u 1"
    # a failed LOGIN does not count as one: the next may succeed
    t = upsd.session("sec", "wrong")
    assert t.ask("LOGIN u") == "ERR ACCESS-DENIED"
    assert upsd.session("sla").ask("LOGIN u") == "OK"
    assert upsd.entry.numlogins == 2


# --- PRIMARY / MASTER ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("user", "granted"),
    [
        ("pri", True),
        ("mas", True),
        ("hashed", True),
        ("sec", False),
        ("sla", False),
        ("admin", False),
        ("fsder", False),
        ("plain", False),
    ],
)
def test_primary_and_master_need_upsmon_primary_or_master(
    upsd: Upsd, user: str, granted: bool
) -> None:
    pw = "h4shed" if user == "hashed" else "pw"
    s = upsd.session(user, pw)
    assert s.ask("PRIMARY u") == ("OK PRIMARY-GRANTED" if granted else "ERR ACCESS-DENIED")
    assert s.ask("MASTER u") == ("OK MASTER-GRANTED" if granted else "ERR ACCESS-DENIED")
    # UNKNOWN-UPS first, granted or not
    assert s.ask("PRIMARY nosuch") == "ERR UNKNOWN-UPS"
    assert s.ask("MASTER nosuch") == "ERR UNKNOWN-UPS"


def test_actions_primary_or_master_grant_primary_too(tmp_path: Path) -> None:
    for word in ("primary", "MASTER"):
        users = parse_users(Source.from_text(f"[x]\n password = pw\n actions = {word}\n", "u"))
        upsd = Upsd(tmp_path)
        upsd.state.users = users
        s = upsd.session("x")
        assert s.ask("PRIMARY u") == "OK PRIMARY-GRANTED", word
        # but no login, no FSD: those come with ``upsmon``
        assert s.ask("LOGIN u") == "ERR ACCESS-DENIED", word


# --- FSD -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("user", "allowed"),
    [
        ("admin", True),
        ("fsder", True),
        ("pri", True),
        ("mas", True),
        ("sec", False),
        ("sla", False),
        ("setter", False),
        ("cmds", False),
        ("plain", False),
    ],
)
def test_fsd_needs_actions_fsd_or_upsmon_primary(upsd: Upsd, user: str, allowed: bool) -> None:
    s = upsd.session(user)
    assert s.ask("FSD u") == ("OK FSD-SET" if allowed else "ERR ACCESS-DENIED")
    assert upsd.entry.fsd is allowed
    status = upsd.session().ask("GET VAR u ups.status")
    assert status == ('VAR u ups.status "FSD OL"' if allowed else 'VAR u ups.status "OL"')


@pytest.mark.parametrize("user", ["sec", "plain", "nosuchuser"])
def test_fsd_unknown_ups_comes_before_access_denied(upsd: Upsd, user: str) -> None:
    assert upsd.session(user).ask("FSD nosuch") == "ERR UNKNOWN-UPS"
    assert upsd.session(user, "wrong").ask("FSD nosuch") == "ERR UNKNOWN-UPS"
    assert upsd.session("admin").ask("FSD nosuch") == "ERR UNKNOWN-UPS"


def test_fsd_needs_no_login_and_takes_one_argument(upsd: Upsd) -> None:
    s = upsd.session("admin")
    assert s.ask("FSD") == "ERR INVALID-ARGUMENT"
    assert s.ask("FSD u u") == "ERR INVALID-ARGUMENT"
    assert not upsd.entry.fsd
    assert s.ask("FSD U") == "OK FSD-SET"  # UPS names compare without case
    assert upsd.entry.fsd and upsd.entry.numlogins == 0


def test_the_fsd_latch_shows_in_get_var_and_list_var_but_not_list_rw(upsd: Upsd) -> None:
    reader = upsd.session()
    # cached answers from before the FSD must not survive it
    assert 'VAR u ups.status "OL"' in reader.ask("LIST VAR u")
    assert reader.ask("GET VAR u ups.status") == 'VAR u ups.status "OL"'
    assert upsd.session("pri").ask("FSD u") == "OK FSD-SET"
    listing = reader.ask("LIST VAR u").splitlines()
    assert 'VAR u ups.status "FSD OL"' in listing
    assert 'VAR u ups.status "OL"' not in listing
    assert reader.ask("GET VAR u ups.status") == 'VAR u ups.status "FSD OL"'
    rw = reader.ask("LIST RW u")
    assert "FSD" not in rw
    # the latch stays through status changes from the driver
    upsd.driver.setinfo("ups.status", "OB LB")
    assert reader.ask("GET VAR u ups.status") == 'VAR u ups.status "FSD OB LB"'
    assert 'VAR u ups.status "FSD OB LB"' in reader.ask("LIST VAR u").splitlines()
    # a second FSD is accepted and changes nothing
    assert upsd.session("admin").ask("FSD u") == "OK FSD-SET"
    assert reader.ask("GET VAR u ups.status") == 'VAR u ups.status "FSD OB LB"'


# --- SET -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("user", "allowed"),
    [
        ("admin", True),
        ("setter", True),
        ("fsder", False),
        ("cmds", False),
        ("pri", False),
        ("mas", False),
        ("sec", False),
        ("plain", False),
    ],
)
def test_set_needs_actions_set(upsd: Upsd, user: str, allowed: bool) -> None:
    s = upsd.session(user)
    assert s.ask("SET VAR u ups.id r2") == ("OK" if allowed else "ERR ACCESS-DENIED")
    assert upsd.driver.getinfo("ups.id") == ("r2" if allowed else "r1")


@pytest.mark.parametrize("user", ["pri", "sec", "fsder", "plain", "nosuchuser"])
def test_set_denies_before_saying_the_variable_is_missing(upsd: Upsd, user: str) -> None:
    s = upsd.session(user)
    assert s.ask("SET VAR u no.such.var 1") == "ERR ACCESS-DENIED"
    assert upsd.session(user, "wrong").ask("SET VAR u no.such.var 1") == "ERR ACCESS-DENIED"
    # an unknown UPS still comes first
    assert upsd.session(user).ask("SET VAR nosuch ups.id 1") == "ERR UNKNOWN-UPS"


def test_set_for_an_allowed_user_reports_the_missing_variable(upsd: Upsd) -> None:
    s = upsd.session("setter")
    assert s.ask("SET VAR u no.such.var 1") == "ERR VAR-NOT-SUPPORTED"
    assert s.ask("SET VAR nosuch no.such.var 1") == "ERR UNKNOWN-UPS"
    assert s.ask("SET VAR u ups.id") == "ERR INVALID-ARGUMENT"
    assert upsd.driver.getinfo("no.such.var") is None  # SET never creates a variable


def test_set_tracking_needs_a_username_and_password_but_no_right(upsd: Upsd) -> None:
    # SET is a user command (USERNAME and PASSWORD given), but SET TRACKING is a
    # per-connection switch: NUT checks neither the password nor the SET action
    assert upsd.session().ask("SET TRACKING ON") == "ERR USERNAME-REQUIRED"
    assert upsd.session("plain", "wrong").ask("SET TRACKING ON") == "OK"
    assert upsd.session("sec").ask("SET TRACKING OFF") == "OK"


# --- INSTCMD ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("user", "cmd", "allowed"),
    [
        ("admin", "load.off", True),
        ("admin", "load.on", True),
        ("cmds", "load.off", True),  # instcmds = LOAD.OFF: case does not matter
        ("cmds", "LOAD.OFF", True),
        ("cmds", "load.on", False),  # a command not in the list
        ("setter", "load.off", False),
        ("fsder", "load.off", False),
        ("pri", "load.off", False),  # upsmon primary grants no commands
        ("sec", "load.off", False),
        ("plain", "load.off", False),
    ],
)
def test_instcmd_needs_the_command_in_instcmds_or_all(
    upsd: Upsd, user: str, cmd: str, allowed: bool
) -> None:
    answer = upsd.session(user).ask(f"INSTCMD u {cmd}")
    assert answer == ("OK" if allowed else "ERR ACCESS-DENIED")


@pytest.mark.parametrize("user", ["cmds", "pri", "plain", "nosuchuser"])
def test_instcmd_says_the_command_is_missing_before_denying(upsd: Upsd, user: str) -> None:
    assert upsd.session(user).ask("INSTCMD u no.such.cmd") == "ERR CMD-NOT-SUPPORTED"
    assert upsd.session(user, "wrong").ask("INSTCMD u no.such.cmd") == "ERR CMD-NOT-SUPPORTED"
    assert upsd.session(user).ask("INSTCMD nosuch load.off") == "ERR UNKNOWN-UPS"


def test_instcmd_all_still_needs_an_existing_command(upsd: Upsd) -> None:
    s = upsd.session("admin")
    assert s.ask("INSTCMD u no.such.cmd") == "ERR CMD-NOT-SUPPORTED"
    assert s.ask("INSTCMD u") == "ERR INVALID-ARGUMENT"


# --- hashed passwords: the whole digest counts ----------------------------------------------


def _with_digest_byte_changed(stored: str, index: int) -> str:
    head, _, digest = stored.rpartition("$")
    raw = bytearray(_unb64(digest))
    raw[index] ^= 0x01
    return f"{head}${_b64(bytes(raw))}"


@pytest.mark.parametrize("index", [1, 15, 30, 31])
def test_a_digest_that_differs_only_late_is_refused(index: int) -> None:
    """The right password against a stored digest that differs from its own in one
    late byte: every byte of the digest is compared, not a prefix."""
    stored = hash_password("correct horse", n=16, r=1, p=1, salt=b"fedcba9876543210")
    assert verify_password(stored, "correct horse")
    assert not verify_password(_with_digest_byte_changed(stored, index), "correct horse")
