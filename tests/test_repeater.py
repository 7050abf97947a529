"""dummy-ups in repeater mode (``port = ups@host[:port]``).

Unit tests run the repeater against nutwist's own upsd in memory: an origin
driver behind a DriverLink, served by NetServerProtocol, reached over iosim on
a task.Clock.  End-to-end tests (marked ``nut``) put NUT 2.8.0's C upsd on
either side of nutwist's repeater, on loopback.
"""

from __future__ import annotations

import itertools
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from support.nut import NutProcess, free_port, nut_env, require_nut, wait_for_port, wait_for_socket
from twisted.internet import defer
from twisted.internet.task import Clock
from twisted.test import iosim

from nutwist.client import errors
from nutwist.client.protocol import NutClient
from nutwist.config.base import Source
from nutwist.config.ups import UpsSection
from nutwist.config.upsd import parse as parse_upsd
from nutwist.config.users import parse as parse_users
from nutwist.drivers.core import (
    TRACKING_FAILED,
    TRACKING_INVALID,
    TRACKING_SUCCESS,
    TRACKING_UNKNOWN,
    Driver,
)
from nutwist.drivers.dummy_ups import DummyUps
from nutwist.drivers.repeater import RemoteType, tracking_status
from nutwist.model import cmdvartab
from nutwist.model.state import Flag
from nutwist.protocols.net import NetServerProtocol
from nutwist.services.driverlink import DriverLink
from nutwist.services.upsd import UpsdState, UpsEntry

# --- an origin UPS behind nutwist's upsd, in memory ------------------------------------------


class Origin(Driver):
    """The remote UPS: a driver whose SET/INSTCMD calls are recorded."""

    name = "origin"

    def __init__(self, clock: Clock) -> None:
        super().__init__("o", clock=clock)
        self.calls: list[tuple[str, str, str | None]] = []
        self.answer = TRACKING_SUCCESS
        self.held: defer.Deferred[int] | None = None

    def initinfo(self) -> None:
        self.setinfo("ups.mfr", "Origin Inc")
        self.setinfo("ups.status", "OL CHRG")
        self.setinfo("battery.charge", "90")
        self.setflags("battery.charge", ["RW"])
        self.setinfo("ups.id", 'r"1')
        self.setflags("ups.id", ["RW", "STRING"])
        self.setaux("ups.id", 16)
        self.setinfo("input.sensitivity", "M")
        self.setflags("input.sensitivity", ["RW"])
        for e in ("L", "M", "H"):
            self.addenum("input.sensitivity", e)
        self.setinfo("ups.delay.shutdown", "20")
        self.setflags("ups.delay.shutdown", ["RW"])
        self.addrange("ups.delay.shutdown", 0, 600)
        self.addcmd("test.battery.start")
        self.addcmd("load.off.delay")

    def updateinfo(self) -> None:
        pass

    def setvar(self, var: str, value: str) -> int | defer.Deferred[int]:
        self.calls.append(("SET", var, value))
        if self.held is not None:
            return self.held
        if self.answer == TRACKING_SUCCESS:
            self.setinfo(var, value)
        return self.answer

    def instcmd(self, cmd: str, param: str | None) -> int:
        self.calls.append(("INSTCMD", cmd, param))
        return self.answer


USERS = "[rep]\n password = pw\n actions = SET\n instcmds = ALL\n upsmon secondary\n"


class Remote:
    """nutwist's upsd serving the origin, reachable through ``connector``."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.origin = Origin(clock)
        self.origin.start()
        self.origin.dataok()
        self.link = DriverLink("o", clock=clock, driver=self.origin)
        self.link.start()
        self.state = UpsdState(
            clock,
            parse_upsd(Source.from_text("", "upsd.conf")),
            parse_users(Source.from_text(USERS, "upsd.users")),
            cmdvartab.default(),
        )
        self.state.add_ups(UpsEntry("o", "origin", self.link))
        self.link.on_tracking = self.state.tracking_done
        self.pumps: list[iosim.IOPump] = []
        self.servers: list[NetServerProtocol] = []
        self.lines: list[bytes] = []
        #: when set, connecting fails with it
        self.refuse: Exception | None = None

    def connector(self) -> defer.Deferred[NutClient]:
        if self.refuse is not None:
            return defer.fail(self.refuse)
        server = NetServerProtocol(self.state, "127.0.0.1")
        received = server.dataReceived

        def spy(data: bytes) -> None:
            self.lines.extend(data.splitlines())
            received(data)

        server.dataReceived = spy  # type: ignore[method-assign]
        client = NutClient(self.clock, timeout=5)
        pump = iosim.connect(
            server,
            iosim.makeFakeServer(server),
            client,
            iosim.makeFakeClient(client),
            greet=False,
        )
        self.pumps.append(pump)
        self.servers.append(server)
        return defer.succeed(client)

    def settle(self) -> None:
        """Move bytes both ways until nothing moves."""
        for _ in range(1000):
            if not any([p.pump(advanceClock=False) for p in self.pumps]):
                return
        raise AssertionError("the dialogue never settled")

    def run(self, seconds: float, step: float = 0.1) -> None:
        """Let ``seconds`` pass on the clock, the dialogue settling at every step."""
        self.settle()
        end = self.clock.seconds() + seconds + 1e-6  # + a hair: 10 x 0.1 is not quite 1
        while self.clock.seconds() < end:
            self.clock.advance(min(step, end - self.clock.seconds()))
            self.settle()

    def drop(self) -> None:
        for p in self.pumps:
            p.client.transport.loseConnection()
        self.settle()


def repeater(
    remote: Remote, **values: str
) -> tuple[DummyUps, list[list[str]], Callable[[], list[list[str]]]]:
    section = UpsSection(
        "r", 1, values={"driver": "dummy-ups", "port": "o@upsd.example:3493", **values}
    )
    d = DummyUps("r", section, clock=remote.clock)
    d.connector = remote.connector
    messages: list[list[str]] = []

    class Listener:
        def message(self, words: list[str]) -> None:
            messages.append(words)

    d.attach(Listener())

    def take() -> list[list[str]]:
        out = list(messages)
        messages.clear()
        return out

    d.start()
    remote.settle()
    return d, messages, take


@pytest.fixture
def remote() -> Iterator[Remote]:
    r = Remote(Clock())
    yield r
    r.drop()


# --- publishing ---------------------------------------------------------------------


def test_publishes_values_flags_enums_ranges_and_commands(remote: Remote) -> None:
    d, _, _ = repeater(remote)
    s = d.state
    assert not d.stale and d.getinfo("driver.state") == "quiet"
    assert d.getinfo("driver.parameter.mode") == "repeater"
    assert d.getinfo("driver.name") == "dummy-ups"
    assert (d.getinfo("ups.status"), d.getinfo("battery.charge")) == ("OL CHRG", "90")
    assert d.getinfo("ups.id") == 'r"1'
    assert s.type_words("ups.id") == "RW STRING:16"
    assert s.type_words("battery.charge") == "RW NUMBER"
    assert s.getflags("battery.charge") == Flag.RW  # no NUMBER added
    assert s.type_words("input.sensitivity") == "RW ENUM NUMBER"
    assert s.getenums("input.sensitivity") == ("L", "M", "H")
    assert s.getranges("ups.delay.shutdown") == ((0, 600),)
    assert s.type_words("ups.mfr") == "NUMBER"  # the origin gave it no flags
    # the remote's driver.* never replace this driver's own
    assert d.getinfo("driver.name") == "dummy-ups" and d.getinfo("driver.version.internal")
    assert s.commands() == ["load.off.delay", "test.battery.start"]
    # device.* comes from the remote (nutwist's origin has device.mfr by mirroring)
    assert d.getinfo("device.mfr") == "Origin Inc"


def test_logs_in_when_given_credentials(remote: Remote) -> None:
    repeater(remote, username="rep", password="pw")
    sent = [line.decode() for line in remote.lines]
    # STARTTLS first (NUT's repeater tries it; this upsd has no certificate)
    assert sent[:5] == ["STARTTLS", "USERNAME rep", "PASSWORD pw", "LOGIN o", "SET TRACKING ON"]
    assert remote.state.ups["o"].numlogins == 1


def test_without_credentials_only_queries_are_sent(remote: Remote) -> None:
    d, _, _ = repeater(remote)
    assert not d.stale
    assert all(
        line.startswith((b"STARTTLS", b"LIST", b"GET", b"SET TRACKING")) for line in remote.lines
    )


def test_follows_changes_and_deletions_each_poll(remote: Remote) -> None:
    d, _, take = repeater(remote, pollinterval="1")
    take()
    o = remote.origin
    o.setinfo("battery.charge", "42")
    o.status_init()
    o.status_set("OB DISCHRG")
    o.status_commit()
    o.delinfo("ups.delay.shutdown")
    o.setinfo("new.var", "x")
    o.setflags("new.var", ["RW", "STRING"])
    o.setaux("new.var", 8)
    o.delcmd("load.off.delay")
    o.addcmd("beeper.toggle")
    o.delenum("input.sensitivity", "H")
    remote.run(0.5)
    assert d.getinfo("battery.charge") == "90"  # not before the poll
    remote.run(1)
    assert d.getinfo("battery.charge") == "42"
    assert d.getinfo("ups.status") == "OB DISCHRG"
    assert d.getinfo("ups.delay.shutdown") is None
    assert d.state.type_words("new.var") == "RW STRING:8"
    assert d.state.commands() == ["beeper.toggle", "test.battery.start"]
    msgs = take()
    assert ["DELINFO", "ups.delay.shutdown"] in msgs
    assert ["DELCMD", "load.off.delay"] in msgs and ["ADDCMD", "beeper.toggle"] in msgs
    assert ["SETINFO", "battery.charge", "42"] in msgs
    # the type of a known variable is read once per connection, so the enum change waits
    assert d.state.getenums("input.sensitivity") == ("L", "M", "H")
    # an unchanged remote: nothing is broadcast, and GET TYPE is not asked again
    remote.lines.clear()
    remote.run(1)
    assert take() == []
    assert [line.split()[0] for line in remote.lines] == [b"LIST", b"LIST"]
    # after a reconnection every type is read again
    remote.drop()
    remote.run(2)
    assert d.state.getenums("input.sensitivity") == ("L", "M")


def test_ignorelb_and_overrides_still_apply(remote: Remote) -> None:
    remote.origin.status_init()
    remote.origin.status_set("OB LB")
    remote.origin.status_commit()
    d, _, _ = repeater(remote, ignorelb="", **{"override.battery.charge": "11"})
    d.flags.append("ignorelb")
    remote.run(2)
    assert d.getinfo("battery.charge") == "11"
    assert d.getinfo("ups.status") == "OB"


# --- SET and INSTCMD -------------------------------------------------------------------


def call(remote: Remote, d: defer.Deferred[int], seconds: float = 0) -> int:
    results: list[int] = []
    d.addCallback(results.append)
    remote.run(seconds) if seconds else remote.settle()
    assert results, "no answer"
    return results[0]


def test_set_and_instcmd_are_forwarded_with_credentials(remote: Remote) -> None:
    d, _, take = repeater(remote, username="rep", password="pw", pollinterval="1")
    assert call(remote, d.repeater.setvar("ups.id", "new id"), 0.5) == TRACKING_SUCCESS  # type: ignore[union-attr]
    assert call(remote, d.repeater.instcmd("test.battery.start", None), 0.5) == TRACKING_SUCCESS  # type: ignore[union-attr]
    assert call(remote, d.repeater.instcmd("load.off.delay", "30"), 0.5) == TRACKING_SUCCESS  # type: ignore[union-attr]
    assert remote.origin.calls == [
        ("SET", "ups.id", "new id"),
        ("INSTCMD", "test.battery.start", None),
        ("INSTCMD", "load.off.delay", "30"),
    ]
    remote.run(1)
    assert d.getinfo("ups.id") == "new id"  # and it comes back with the next poll
    # the driver socket's view: SET with TRACKING, answered after the remote settled it
    take()
    d.handle_setvar("battery.charge", "50", "T-1")
    remote.run(0.5)
    assert ["TRACKING", "T-1", "0"] in take()


def test_remote_outcomes_become_tracking_statuses(remote: Remote) -> None:
    d, _, _ = repeater(remote, username="rep", password="pw")
    rep = d.repeater
    assert rep is not None
    remote.origin.answer = TRACKING_INVALID
    assert call(remote, rep.setvar("battery.charge", "x"), 0.5) == TRACKING_INVALID
    remote.origin.answer = TRACKING_FAILED
    assert call(remote, rep.instcmd("test.battery.start", None), 0.5) == TRACKING_FAILED
    # refused by the remote upsd itself
    assert call(remote, rep.setvar("no.such.var", "1")) == TRACKING_UNKNOWN
    assert call(remote, rep.instcmd("no.such.cmd", None)) == TRACKING_UNKNOWN
    assert call(remote, rep.setvar("ups.mfr", "x")) == TRACKING_INVALID  # read-only there
    assert call(remote, rep.instcmd("driver.reload", None)) == TRACKING_UNKNOWN  # never sent
    # a remote driver that never answers: FAILED once the wait is over
    remote.origin.held = defer.Deferred()
    assert call(remote, rep.setvar("battery.charge", "5"), 11) == TRACKING_FAILED


def test_without_credentials_forwarding_fails(remote: Remote) -> None:
    d, _, _ = repeater(remote)
    assert call(remote, d.repeater.setvar("battery.charge", "5")) == TRACKING_FAILED  # type: ignore[union-attr]
    assert remote.origin.calls == []


def test_tracking_status_mapping() -> None:
    assert tracking_status(errors.CmdNotSupported()) == TRACKING_UNKNOWN
    assert tracking_status(errors.TooLong()) == TRACKING_INVALID
    assert tracking_status(errors.AccessDenied()) == TRACKING_FAILED
    assert tracking_status(errors.ServerDisconnected()) == TRACKING_FAILED
    assert RemoteType.parse(["RW", "ENUM", "STRING:5"]).flags == ["RW", "STRING"]
    assert RemoteType.parse(["NUMBER"]).flags == []


# --- staleness and reconnection -----------------------------------------------------------


def test_remote_data_stale_then_ok(remote: Remote) -> None:
    d, _, take = repeater(remote, pollinterval="1")
    take()
    remote.origin.datastale()
    remote.run(1)
    assert d.stale and ["DATASTALE"] in take()
    assert d.getinfo("battery.charge") == "90"  # kept while stale
    remote.origin.setinfo("battery.charge", "70")
    remote.origin.dataok()
    remote.run(1)
    assert not d.stale and d.getinfo("battery.charge") == "70"
    assert ["DATAOK"] in take()


def test_lost_connection_is_stale_at_once_and_reconnects(remote: Remote) -> None:
    d, _, take = repeater(remote, pollinterval="1")
    take()
    remote.drop()
    assert d.stale and take() == [["DATASTALE"]]
    remote.run(1)
    assert not d.stale and len(remote.pumps) == 2
    assert d.getinfo("driver.state") == "quiet"


def test_unreachable_remote_backs_off_and_recovers(remote: Remote) -> None:
    remote.refuse = errors.ConnectionFailed("Connection refused")
    d, _, _ = repeater(remote, pollinterval="1")
    assert d.stale and d.getinfo("driver.state") == "reconnect.trying"
    assert d.getinfo("battery.charge") is None
    tries: list[float] = []
    real = remote.connector

    def counting() -> defer.Deferred[NutClient]:
        tries.append(remote.clock.seconds())
        return real()

    d.repeater.connector = counting  # type: ignore[union-attr]
    remote.run(60, step=1)
    assert 3 <= len(tries) <= 7  # 2, 4, 8, 16, 32 s apart: not every second
    gaps = [b - a for a, b in itertools.pairwise(tries)]
    assert gaps == sorted(gaps)
    remote.refuse = None
    remote.run(61, step=1)
    assert not d.stale and d.getinfo("battery.charge") == "90"


def test_unknown_remote_ups_is_a_device_error(remote: Remote) -> None:
    section = UpsSection("r", 1, values={"driver": "dummy-ups", "port": "nosuch@h"})
    d = DummyUps("r", section, clock=remote.clock)
    d.connector = remote.connector
    d.start()
    remote.settle()
    assert d.stale and d.getinfo("driver.state") == "reconnect.trying"


def test_bad_port_is_reported_and_stale() -> None:
    section = UpsSection("r", 1, values={"driver": "dummy-ups", "port": "ups@host:99999"})
    d = DummyUps("r", section, clock=Clock())
    d.start()
    assert d.stale and d.repeater is None
    assert d.getinfo("driver.state") == "reconnect.trying"


def test_stop_closes_the_connection(remote: Remote) -> None:
    d, _, take = repeater(remote)
    take()
    d.stop()
    remote.settle()
    assert remote.pumps[0].client.closed.called
    assert take() == []  # a stopped driver does not announce staleness


# --- end to end with NUT 2.8.0's upsd ------------------------------------------------------------

ORIGIN_DEV = """ups.mfr: Origin Inc
ups.model: O-1
ups.status: OL CHRG
ups.id: rack1
battery.charge: 97
input.voltage: 229.5
custom.text: two words
"""


def _run(argv: list[str], env: dict[str, str]) -> str:
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=30).stdout


def _upsc(target: str, env: dict[str, str]) -> dict[str, str]:
    out = _run(["upsc", target], env)
    return dict(line.split(": ", 1) for line in out.splitlines() if ": " in line)


def _wait(predicate: Callable[[], bool], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition never became true")
        time.sleep(0.2)


def _not_driver(values: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in values.items() if not k.startswith("driver.")}


@pytest.mark.nut
def test_nut_upsd_serves_nutwist_repeater_of_nut_dummy_ups() -> None:
    """NUT dummy-ups → NUT upsd A → nutwist repeater → NUT upsd B → upsc."""
    require_nut("upsd", "dummy-ups", "upsc", "upsrw")
    tmp = Path(tempfile.mkdtemp(prefix="nwrep"))  # short: unix socket paths are limited
    procs: list[NutProcess] = []
    try:
        port_a, port_b = free_port(), free_port()
        site_a, site_b = tmp / "a", tmp / "b"
        for site, port, ups in (
            (site_a, port_a, "[orig]\n driver = dummy-ups\n port = o.dev\n"),
            (
                site_b,
                port_b,
                f"[rep]\n driver = dummy-ups\n port = orig@127.0.0.1:{port_a}\n"
                " username = admin\n password = pw\n pollinterval = 1\n",
            ),
        ):
            (site / "conf").mkdir(parents=True)
            (site / "state").mkdir()
            (site / "conf" / "ups.conf").write_text(ups)
            (site / "conf" / "upsd.conf").write_text(f"LISTEN 127.0.0.1 {port}\n")
            (site / "conf" / "upsd.users").write_text(
                "[admin]\n password = pw\n actions = SET\n instcmds = ALL\n upsmon secondary\n"
            )
            for f in (site / "conf").iterdir():
                f.chmod(0o640)
        (site_a / "conf" / "o.dev").write_text(ORIGIN_DEV)
        env_a = nut_env(site_a / "conf", site_a / "state")
        env_b = nut_env(site_b / "conf", site_b / "state")
        procs.append(
            NutProcess(["/lib/nut/dummy-ups", "-a", "orig", "-u", "root", "-F"], env_a, tmp / "o")
        )
        wait_for_socket(site_a / "state" / "dummy-ups-orig", probe=False)
        procs.append(NutProcess(["/lib/nut/upsd", "-u", "root", "-F"], env_a, tmp / "upsd-a"))
        wait_for_port(port_a)
        origin = f"orig@127.0.0.1:{port_a}"
        _wait(lambda: _upsc(origin, env_a).get("ups.status") == "OL CHRG")
        # nutwist's repeater, as its own process, beside NUT's upsd B
        procs.append(
            NutProcess(
                [
                    sys.executable,
                    "-m",
                    "nutwist.cli.driver",
                    "dummy-ups",
                    "-a",
                    "rep",
                    "-u",
                    "root",
                    "-F",
                ],
                env_b,
                tmp / "rep",
            )
        )
        _wait(lambda: (site_b / "state" / "dummy-ups-rep").exists())
        procs.append(NutProcess(["/lib/nut/upsd", "-u", "root", "-F"], env_b, tmp / "upsd-b"))
        wait_for_port(port_b)
        repeated = f"rep@127.0.0.1:{port_b}"
        _wait(lambda: _upsc(repeated, env_b).get("ups.status") == "OL CHRG")
        assert _not_driver(_upsc(repeated, env_b)) == _not_driver(_upsc(origin, env_a))
        rep_values = _upsc(repeated, env_b)
        assert rep_values["driver.parameter.mode"] == "repeater"
        assert "driver.parameter.password" not in rep_values
        # the repeater logged in to upsd A
        assert _run(["upsc", "-c", origin], env_a).split() == ["127.0.0.1"]
        # upsrw through NUT's upsd B shows the origin's types
        assert _run(["upsrw", repeated], env_b) == _run(["upsrw", origin], env_a).replace(
            "[orig]", "[rep]"
        ).replace(origin, repeated)
        # a SET through upsd B and the repeater reaches the origin's C driver
        out = subprocess.run(
            ["upsrw", "-s", "ups.id=via repeater", "-u", "admin", "-p", "pw", "-w", repeated],
            env=env_b,
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert out.stderr.strip() == "SUCCESS", out  # -w: the origin driver said handled
        _wait(lambda: _upsc(origin, env_a).get("ups.id") == "via repeater")
        _wait(lambda: _upsc(repeated, env_b).get("ups.id") == "via repeater")
        # the origin's driver goes away: stale through the repeater, then back
        procs[0].stop()
        _wait(lambda: "ups.status" not in _upsc(repeated, env_b))
        assert (
            "stale"
            in subprocess.run(
                ["upsc", repeated, "ups.status"], env=env_b, capture_output=True, text=True
            ).stderr.lower()
        )
        procs[0] = NutProcess(
            ["/lib/nut/dummy-ups", "-a", "orig", "-u", "root", "-F"], env_a, tmp / "o2"
        )
        _wait(lambda: _upsc(repeated, env_b).get("ups.status") == "OL CHRG", timeout=30)
    finally:
        for p in reversed(procs):
            p.stop()
        shutil.rmtree(tmp, True)


@pytest.mark.nut
def test_nutwist_repeater_reads_nut_upsd() -> None:
    """nutwist's repeater (a Python process on the real reactor) on NUT's upsd + dummy-ups."""
    require_nut("upsd", "dummy-ups")

    tmp = Path(tempfile.mkdtemp(prefix="nwrep"))
    procs: list[NutProcess] = []
    try:
        port = free_port()
        conf, state = tmp / "conf", tmp / "state"
        conf.mkdir()
        state.mkdir()
        (conf / "o.dev").write_text(ORIGIN_DEV)
        (conf / "ups.conf").write_text("[orig]\n driver = dummy-ups\n port = o.dev\n")
        (conf / "upsd.conf").write_text(f"LISTEN 127.0.0.1 {port}\n")
        (conf / "upsd.users").write_text(
            "[admin]\n password = pw\n actions = SET\n instcmds = ALL\n"
        )
        for f in conf.iterdir():
            f.chmod(0o640)
        env = nut_env(conf, state)
        procs.append(
            NutProcess(["/lib/nut/dummy-ups", "-a", "orig", "-u", "root", "-F"], env, tmp / "o")
        )
        wait_for_socket(state / "dummy-ups-orig", probe=False)
        procs.append(NutProcess(["/lib/nut/upsd", "-u", "root", "-F"], env, tmp / "u"))
        wait_for_port(port)
        _wait(lambda: _upsc(f"orig@127.0.0.1:{port}", env).get("ups.status") == "OL CHRG")
        script = REPEATER_SCRIPT.format(port=port)
        out = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, timeout=30
        )
        assert out.returncode == 0, out.stderr
        lines = out.stdout.splitlines()
        assert "SETINFO ups.id rack1" in lines
        assert "SETFLAGS ups.id RW STRING" in lines and "SETAUX ups.id 16" in lines
        assert "SETINFO custom.text two words" in lines
        assert "ADDCMD load.off" in lines
        assert "SET 0" in lines  # NUT's dummy-ups answered the forwarded SET: handled
        assert "INSTCMD 1" in lines  # and load.off: unknown, as NUT's dummy-ups says
        assert "ID via-nutwist" in lines
    finally:
        for p in reversed(procs):
            p.stop()
        shutil.rmtree(tmp, True)


REPEATER_SCRIPT = """
from twisted.internet import reactor, defer, task
from nutwist.config.ups import UpsSection
from nutwist.drivers.dummy_ups import DummyUps
from nutwist.protocols.sock import format_line

section = UpsSection("r", 1, values={{"port": "orig@127.0.0.1:{port}", "username": "admin",
                                      "password": "pw", "pollinterval": "0.5"}})
d = DummyUps("r", section)

async def main():
    d.start()
    for _ in range(100):
        if not d.stale:
            break
        await task.deferLater(reactor, 0.1, lambda: None)
    for words in d.dump():
        print(" ".join(words))
    print("SET", await d.repeater.setvar("ups.id", "via-nutwist"))
    print("INSTCMD", await d.repeater.instcmd("load.off", None))
    for _ in range(50):
        if d.getinfo("ups.id") == "via-nutwist":
            break
        await task.deferLater(reactor, 0.1, lambda: None)
    print("ID", d.getinfo("ups.id"))
    d.stop()

def done(r):
    reactor.stop()
    return r

defer.Deferred.fromCoroutine(main()).addBoth(done)
reactor.run()
"""
