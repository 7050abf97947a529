"""NUT 2.8.0's C snmp-ups and nutwist's, side by side on the same simulated agent.

Both drivers poll one agent (nutwist's stand-in, serving a recording); each
driver socket is read over one long-lived connection (NUT's C drivers abort
when a peer they broadcast to has gone) and the stream is replayed into a
picture of the driver's state: variables, flags, lengths, enums, commands,
and whether the data is stale.  The pictures must be equal, ``driver.version*``
aside (and ``driver.state``, which nutwist's driver core publishes for every
driver and NUT 2.8.0 does not).
"""

from __future__ import annotations

import re
import shlex
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from support.nut import NutProcess, nut_env, require_nut, wait_for_socket
from support.snmp import DATA, IETF, LOW_BATTERY, ON_BATTERY, UPS_MIB

from nutwist.drivers.snmp import ber
from nutwist.drivers.snmp.simagent import Agent, load_snmprec

pytestmark = pytest.mark.nut


@dataclass
class Picture:
    """A driver's state, rebuilt from what its socket sends."""

    vars: dict[str, str] = field(default_factory=dict)
    flags: dict[str, tuple[str, ...]] = field(default_factory=dict)
    aux: dict[str, str] = field(default_factory=dict)
    enums: dict[str, list[str]] = field(default_factory=dict)
    cmds: set[str] = field(default_factory=set)
    stale: bool | None = None

    def feed(self, line: str) -> None:
        try:
            w = shlex.split(line)
        except ValueError:
            return
        if not w:
            return
        op = w[0]
        if op == "SETINFO" and len(w) >= 3:
            self.vars[w[1]] = w[2]
        elif op == "DELINFO" and len(w) >= 2:
            for d in (self.vars, self.flags, self.aux, self.enums):
                d.pop(w[1], None)
        elif op == "SETFLAGS":
            self.flags[w[1]] = tuple(w[2:])
        elif op == "SETAUX":
            self.aux[w[1]] = w[2]
        elif op == "ADDENUM":
            self.enums.setdefault(w[1], []).append(w[2])
        elif op == "ADDCMD":
            self.cmds.add(w[1])
        elif op == "DELCMD":
            self.cmds.discard(w[1])
        elif op == "DATAOK":
            self.stale = False
        elif op == "DATASTALE":
            self.stale = True

    def comparable(self) -> dict[str, object]:
        def keep(name: str) -> bool:
            return not name.startswith("driver.version") and name != "driver.state"

        return {
            "vars": {k: v for k, v in self.vars.items() if keep(k)},
            "flags": {k: v for k, v in self.flags.items() if keep(k) and v},
            "aux": {k: v for k, v in self.aux.items() if keep(k) and v != "0"},
            "enums": self.enums,
            "cmds": self.cmds,
            "stale": self.stale,
        }


class Peer:
    """One long-lived connection to a driver socket, replayed into a Picture."""

    def __init__(self, path: Path) -> None:
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.connect(str(path))
        self.sock.setblocking(False)
        self.buf = b""
        self.picture = Picture()
        self.lines: list[str] = []
        self.sock.sendall(b"DUMPALL\n")

    def pump(self) -> None:
        while True:
            try:
                chunk = self.sock.recv(65536)
            except BlockingIOError:
                break
            if not chunk:
                break
            self.buf += chunk
        while b"\n" in self.buf:
            raw, _, self.buf = self.buf.partition(b"\n")
            line = raw.decode("latin-1")
            self.lines.append(line)
            self.picture.feed(line)

    def send(self, line: str) -> None:
        self.sock.setblocking(True)
        self.sock.sendall(line.encode() + b"\n")
        self.sock.setblocking(False)

    def close(self) -> None:
        self.sock.close()


def wait_until(what: str, check: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@dataclass
class Pair:
    agent: Agent
    nut: Peer
    ours: Peer
    tmp: Path

    def pump(self) -> None:
        self.nut.pump()
        self.ours.pump()

    def both(self, what: str, check: Callable[[Picture], bool], timeout: float = 30.0) -> None:
        def ok() -> bool:
            self.pump()
            return check(self.nut.picture) and check(self.ours.picture)

        try:
            wait_until(what, ok, timeout)
        except AssertionError:
            raise AssertionError(
                f"{what}: NUT {self.nut.picture.vars.get('ups.status')!r} "
                f"stale={self.nut.picture.stale}, nutwist "
                f"{self.ours.picture.vars.get('ups.status')!r} stale={self.ours.picture.stale}"
                f"\n--- nutwist log:\n{(self.tmp / 'ours.log').read_text()[-3000:]}"
            ) from None

    def settle(self, walks: int = 2) -> None:
        """Let each driver finish ``walks`` more polls (pollfreq 1, pollinterval 1)."""
        time.sleep(0)  # the agent changed atomically; the status check saw a full walk
        for _ in range(walks):
            before = self.agent.requests
            wait_until("more requests", lambda b=before: self.agent.requests > b + 2)  # type: ignore[misc]
        self.pump()

    def assert_same(self, timeout: float = 10.0) -> None:
        """Equal pictures; a walk in progress may show a passing state (NUT marks the data
        stale at a failing entry and fine again at the end), so look again for a while."""
        deadline = time.monotonic() + timeout
        while True:
            self.pump()
            nut, ours = self.nut.picture.comparable(), self.ours.picture.comparable()
            if nut == ours or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        for key in nut:
            assert ours[key] == nut[key], key


def driver_conf(port: int, extra: str = "") -> str:
    return (
        "[u]\n\tdriver = snmp-ups\n"
        f"\tport = 127.0.0.1:{port}\n"
        "\tpollfreq = 1\n\tpollinterval = 1\n"
        # NUT 2.8.0 drops a peer whose socket is full in its default (auto) mode
        "\tsynchronous = yes\n"
        f"{extra}"
    )


@pytest.fixture
def run_pair(tmp_path: Path) -> Iterator[Callable[..., Pair]]:
    require_nut("snmp-ups")
    started: list[tuple[Agent, list[NutProcess], list[Peer]]] = []

    def start(
        recording: Path = IETF,
        extra: str = "",
        community: str = "public",
        users: tuple = (),
        changes: tuple = (),
    ) -> Pair:
        agent = Agent(load_snmprec(recording), community=community)
        agent.update(dict(changes))
        for user in users:
            agent.add_user(user)
        port = agent.start()
        procs: list[NutProcess] = []
        peers: list[Peer] = []
        started.append((agent, procs, peers))
        for who in ("nut", "ours"):
            conf, state = tmp_path / who / "conf", tmp_path / who / "state"
            conf.mkdir(parents=True)
            state.mkdir()
            (conf / "ups.conf").write_text(driver_conf(port, extra))
            argv = (
                ["/lib/nut/snmp-ups", "-a", "u", "-u", "root", "-F"]
                if who == "nut"
                else [
                    sys.executable,
                    "-m",
                    "nutwist.cli.driver",
                    "snmp-ups",
                    "-a",
                    "u",
                    "-u",
                    "root",
                    "-F",
                ]
            )
            procs.append(NutProcess(argv, nut_env(conf, state), tmp_path / f"{who}.log"))
            wait_for_socket(state / "snmp-ups-u", timeout=30, probe=False)
            peers.append(Peer(state / "snmp-ups-u"))
        return Pair(agent, peers[0], peers[1], tmp_path)

    yield start
    for agent, procs, peers in started:
        for p in peers:
            p.close()
        for proc in procs:
            proc.stop()
        agent.stop()


def status_is(value: str) -> Callable[[Picture], bool]:
    return lambda p: p.vars.get("ups.status") == value and p.stale is False


def test_ietf_on_line_on_battery_low_battery(run_pair: Callable[..., Pair]) -> None:
    pair = run_pair()
    pair.both("on line", status_is("OL"))
    pair.settle()
    pair.assert_same()
    assert pair.ours.picture.vars["driver.version.data"] == "ietf MIB 1.54"
    assert pair.nut.picture.vars["driver.version.data"] == "ietf MIB 1.54"
    assert "test.battery.start" in pair.ours.picture.cmds

    pair.agent.update(ON_BATTERY)
    pair.both("on battery", status_is("OB"))
    pair.assert_same()
    assert pair.ours.picture.vars["battery.current"] == "-8.30"

    pair.agent.update(LOW_BATTERY)
    # NUT keeps the table's order: the battery group's LB before the output source's OB
    pair.both("low battery", status_is("LB OB"))
    pair.assert_same()

    pair.agent.update({UPS_MIB + "4.1.0": (ber.INTEGER, 3), UPS_MIB + "2.1.0": (ber.INTEGER, 2)})
    pair.both("back on line", status_is("OL"))
    pair.assert_same()


@pytest.mark.skip(
    reason="known deviation, issue 24: when the agent changes after NUT's first walk, nutwist "
    "re-reads static entries (device.model) that NUT reads once; when it changes before, "
    "nutwist lacks NUT's RW flag on a binary device.description. Passes or fails by timing."
)
def test_ietf_v2c_community_and_quirky_values(run_pair: Callable[..., Pair]) -> None:
    pair = run_pair(extra="\tsnmp_version = v2c\n\tcommunity = s3cret\n", community="s3cret")
    pair.agent.update(
        {
            UPS_MIB + "4.1.0": (ber.INTEGER, 6),  # booster: "OL BOOST"
            UPS_MIB + "2.3.0": (ber.OCTET_STRING, b"0x10"),  # a string where a number belongs
            UPS_MIB + "1.2.0": (ber.OCTET_STRING, b"M" * 200),  # cut at 127 bytes
            UPS_MIB + "9.8.0": (ber.INTEGER, 9),  # unknown enum value: not published
            UPS_MIB + "7.3.0": (ber.TIMETICKS, 12345),  # TimeTicks where an enum belongs
            UPS_MIB + "2.7.0": (ber.TIMETICKS, 4567),
            "1.3.6.1.2.1.1.4.0": (ber.OCTET_STRING, b"\x00\x01AB\xff v2"),  # shown in hex
            "1.3.6.1.2.1.1.1.0": (ber.OCTET_STRING, bytes(range(50))),  # too long for hex
            "1.3.6.1.2.1.1.6.0": (ber.OCTET_STRING, bytes(range(200, 216))),  # 16: still hex
        }
    )
    pair.both("boost", status_is("OL BOOST"))
    pair.settle()
    pair.assert_same()
    assert pair.ours.picture.vars["device.contact"] == "00 01 41 42 FF 20 76 32 "
    assert pair.ours.picture.vars["device.description"] == "RFC1628 UPS agent 1.0 (simulated)"
    assert pair.ours.picture.vars["device.location"].startswith("C8 C9 ")
    assert "device.contact" in pair.ours.picture.vars
    assert "community" not in "".join(pair.ours.picture.vars)


def test_dead_agent_goes_stale_as_nut_and_comes_back(run_pair: Callable[..., Pair]) -> None:
    pair = run_pair(extra="\tsnmp_retries = 0\n\tsnmp_timeout = 1\n")
    pair.both("on line", status_is("OL"))
    pair.agent.mute = True
    pair.both("stale", lambda p: p.stale is True, timeout=60)
    # NUT waits out every OID in turn: wait for its walk to end (ups.status rebuilt empty)
    pair.both("walk over", lambda p: p.vars.get("ups.status") == "", timeout=120)
    pair.assert_same()
    pair.agent.mute = False
    pair.both("back", status_is("OL"), timeout=120)
    pair.assert_same()


@pytest.mark.parametrize(
    "command", ["beeper.disable", "beeper.enable", "test.battery.start", "load.off"]
)
def test_instant_commands_send_the_same_sets(run_pair: Callable[..., Pair], command: str) -> None:
    pair = run_pair()
    pair.both("on line", status_is("OL"))
    sets: dict[str, list[tuple[bytes, ber.OID, object]]] = {}
    for who, peer in (("nut", pair.nut), ("ours", pair.ours)):
        start = len(pair.agent.sets)
        peer.send(f"INSTCMD {command}")
        wait_until(f"{who}'s SET", lambda s=start: len(pair.agent.sets) > s)  # type: ignore[misc]
        sets[who] = pair.agent.sets[start:]
    assert sets["ours"] == sets["nut"]


# --- the vendor mappings --------------------------------------------------------------------


def _row_oid(mapping: str, pick: Callable[[Any], bool]) -> Any:
    from nutwist.drivers.snmp.mapping import mappings

    m = next(m for m in mappings() if m.name == mapping)
    return next((r for r in m.rows() if r.oid and "%" not in r.oid and pick(r)), None)


def _key_for(row: Any, word: str) -> int:
    return next(k for k, v, _ in row.lookup if v is not None and word in v.split())


def _switch(mapping: str, word: str, charge: int) -> dict[str, ber.Value]:
    """The agent values that put a ``mapping`` UPS in the state NUT's table calls ``word``."""
    status = _row_oid(
        mapping,
        lambda r: r.name == "ups.status" and r.lookup and any(v == word for _, v, _ in r.lookup),
    )
    assert status is not None, (mapping, word)
    changes: dict[str, ber.Value] = {status.oid.lstrip("."): (ber.INTEGER, _key_for(status, word))}
    row = _row_oid(mapping, lambda r: r.name == "battery.charge")
    if row is not None:
        changes[row.oid.lstrip(".")] = (ber.INTEGER, round(charge / (row.info_len or 1)))
    return changes


def _charge_is(value: str) -> Callable[[Picture], bool]:
    return lambda p: p.vars.get("battery.charge") == value and p.stale is False


VENDORS = ["apcc", "mge", "pw", "cyberpower"]
# Daisy-chained PDUs (eaton_epdu, emerson_avocent_pdu, hpe_epdu: two-index templates)
# are not supported yet.
PDUS_AND_ATS = [
    "apc_ats",
    "apc_pdu",
    "baytech",
    "eaton_ats16_nm2",
    "eaton_ats30",
    "aphel_revelation",
    "aphel_genesisII",
    "pulizzi_switched1",
    "raritan",
    "raritan-px2",
]
MORE_UPS = [
    "bestpower",
    "cpqpower",
    "delta_ups",
    "huawei",
    "netvision",
    "pxgx_ups",
    "xppc",
    "tripplite",
]


@pytest.mark.parametrize("mapping", VENDORS + MORE_UPS)
def test_vendor_mapping_same_as_nut(run_pair: Callable[..., Pair], mapping: str) -> None:
    pair = run_pair(DATA / f"{mapping}-ups.snmprec", extra="\tmibs = auto\n")
    pair.both("first walk", lambda p: p.stale is False and "ups.status" in p.vars)
    pair.settle()
    # the same mapping, found the same way (mibs=auto, NUT's order)
    assert (
        pair.ours.picture.vars["driver.version.data"]
        == (pair.nut.picture.vars["driver.version.data"])
    )
    assert pair.ours.picture.vars["driver.version.data"].startswith(mapping + " MIB")

    def compare() -> None:
        if mapping != "cyberpower":
            pair.assert_same()
            return
        # NUT 2.8.0's CyberPower table never reports OL/OB (fixed in 2.8.1, which nutwist follows)
        ours = pair.ours.picture.comparable()
        nut = pair.nut.picture.comparable()
        ours_vars, nut_vars = dict(ours.pop("vars")), dict(nut.pop("vars"))  # type: ignore[call-overload]
        ours_status = ours_vars.pop("ups.status").split()
        nut_status = nut_vars.pop("ups.status").split()
        assert ours_vars == nut_vars
        assert ours == nut
        assert [w for w in ours_status if w not in ("OL", "OB")] == nut_status

    def shows(word: str, charge: str) -> Callable[[Picture], bool]:
        if mapping == "cyberpower":
            return _charge_is(charge)
        return lambda p: word in p.vars.get("ups.status", "").split() and p.stale is False

    compare()
    assert "OL" in pair.ours.picture.vars["ups.status"].split()
    for word, charge in (("OB", 55), ("LB", 9)):
        try:
            changes = _switch(mapping, word, charge)
        except AssertionError:
            continue  # this mapping has no such status
        pair.agent.update(changes)
        pair.both(word, shows(word, str(charge)))
        pair.settle()
        compare()
        assert word in pair.ours.picture.vars["ups.status"].split()


def _tracked(pair: Pair, peer: Peer, line: str, tag: str) -> tuple[str, list[object]]:
    """Send ``line`` with a TRACKING id; the driver's answer and the SETs the agent saw."""
    start = len(pair.agent.sets)
    seen = len(peer.lines)
    peer.send(f"{line} TRACKING {tag}")
    answer: list[str] = []

    def answered() -> bool:
        peer.pump()
        for got in peer.lines[seen:]:
            if got.startswith(f"TRACKING {tag} "):
                answer.append(got.split()[-1])
                return True
        return False

    wait_until(f"answer to {line}", answered, timeout=20)
    return answer[0], list(pair.agent.sets[start:])


@pytest.mark.parametrize("mapping", ["ietf", *VENDORS, *MORE_UPS, *PDUS_AND_ATS])
def test_commands_and_writable_variables_send_the_same_sets(
    run_pair: Callable[..., Pair], mapping: str
) -> None:
    name = f"{mapping}.snmprec" if mapping in PDUS_AND_ATS else f"{mapping}-ups.snmprec"
    pair = run_pair(DATA / name, extra=f"\tmibs = {mapping}\n")
    pair.both("first walk", lambda p: p.stale is not None and "driver.version.data" in p.vars)
    pair.settle()
    assert pair.ours.picture.cmds == pair.nut.picture.cmds
    rw = sorted(k for k, v in pair.nut.picture.flags.items() if "RW" in v)
    assert rw == sorted(k for k, v in pair.ours.picture.flags.items() if "RW" in v)
    n = 0
    for cmd in sorted(pair.nut.picture.cmds):
        n += 1
        nut = _tracked(pair, pair.nut, f"INSTCMD {cmd}", f"n{n}")
        ours = _tracked(pair, pair.ours, f"INSTCMD {cmd}", f"o{n}")
        assert ours == nut, cmd
    for var in rw:
        n += 1
        enums = pair.nut.picture.enums.get(var)
        value = enums[-1] if enums else ("abc" if "STRING" in pair.nut.picture.flags[var] else "42")
        ours = _tracked(pair, pair.ours, f'SET {var} "{value}"', f"o{n}")
        if var.startswith("outlet") and not re.match(r"outlet\.(group\.)?\d+\.", var):
            # NUT 2.8.0 dies on a SET of an outlet variable that names no outlet number
            # (outlet.desc): it looks for a number or an outlet.count that is not there
            continue
        nut = _tracked(pair, pair.nut, f'SET {var} "{value}"', f"n{n}")
        assert ours == nut, var
    pair.settle()
    pair.assert_same() if mapping != "cyberpower" else None


V3_CASES = [
    ("noAuthNoPriv", "MD5", "DES"),
    ("authNoPriv", "MD5", "DES"),
    ("authNoPriv", "SHA256", "DES"),
    ("authPriv", "SHA", "DES"),
    ("authPriv", "SHA", "AES"),
    ("authPriv", "SHA512", "AES256"),
    ("authPriv", "MD5", "AES192"),
]


@pytest.mark.parametrize(("level", "auth", "priv"), V3_CASES)
def test_v3_same_as_nut(run_pair: Callable[..., Pair], level: str, auth: str, priv: str) -> None:
    from nutwist.drivers.snmp import usm

    user = usm.User("nutmon", usm.LEVELS[level], auth, priv, "auth pass 1", "priv pass 2")
    extra = (
        f"\tsnmp_version = v3\n\tsecLevel = {level}\n\tsecName = nutmon\n"
        f'\tauthPassword = "auth pass 1"\n\tprivPassword = "priv pass 2"\n'
        f"\tauthProtocol = {auth}\n\tprivProtocol = {priv}\n"
    )
    pair = run_pair(extra=extra, users=(user,))
    pair.both("on line", status_is("OL"))
    assert pair.agent.v3_requests > 0
    pair.agent.update(ON_BATTERY)
    pair.both("on battery", status_is("OB"))
    pair.assert_same()
    sets = {}
    for who, peer in (("nut", pair.nut), ("ours", pair.ours)):
        sets[who] = _tracked(pair, peer, "INSTCMD beeper.disable", who)
    assert sets["ours"] == sets["nut"]


def test_in_process_under_nutwist_upsd_read_by_nuts_upsc(tmp_path: Path) -> None:
    """``driver = snmp-ups`` runs inside ``twistd nut upsd``; NUT's upsc reads it."""
    require_nut("upsc")
    from support.nut import free_port, start_nutwist_upsd, wait_for_port

    agent = Agent(load_snmprec(IETF))
    port = agent.start()
    conf, state = tmp_path / "conf", tmp_path / "state"
    conf.mkdir()
    state.mkdir()
    listen = free_port()
    (conf / "ups.conf").write_text(driver_conf(port))
    (conf / "upsd.conf").write_text(f"LISTEN 127.0.0.1 {listen}\n")
    (conf / "upsd.users").write_text("[admin]\n\tpassword = pw\n\tactions = SET\n")
    for f in conf.iterdir():
        f.chmod(0o640)
    upsd = start_nutwist_upsd(conf, state, tmp_path / "upsd.log")
    try:
        wait_for_port(listen)

        def status() -> str:
            out = subprocess.run(
                ["upsc", f"u@127.0.0.1:{listen}", "ups.status"],
                capture_output=True,
                text=True,
                timeout=10,
            )
            return out.stdout.strip()

        wait_until("OL through upsd", lambda: status() == "OL")
        agent.update(ON_BATTERY)
        wait_until("OB through upsd", lambda: status() == "OB")
        out = subprocess.run(
            ["upsc", f"u@127.0.0.1:{listen}"], capture_output=True, text=True, timeout=10
        ).stdout
        assert "driver.version.data: ietf MIB 1.54" in out
        assert "battery.runtime: 1260" in out
    finally:
        upsd.stop()
        agent.stop()


@pytest.mark.parametrize("mapping", ["ietf", *VENDORS, *MORE_UPS])
def test_kill_power_sends_the_same_sets(tmp_path: Path, mapping: str) -> None:
    """``-k``: the same SETs (shutdown delays, then the first shutdown command the
    table allows) and the same exit status as NUT's C snmp-ups."""
    require_nut("snmp-ups")
    agent = Agent(load_snmprec(DATA / f"{mapping}-ups.snmprec"))
    port = agent.start()
    results = {}
    try:
        for who in ("nut", "ours"):
            conf = tmp_path / who
            conf.mkdir()
            (conf / "ups.conf").write_text(
                driver_conf(port, f"\tmibs = {mapping}\n\toffdelay = 30\n\tondelay = 90\n")
            )
            argv = (
                ["/lib/nut/snmp-ups", "-a", "u", "-u", "root", "-k"]
                if who == "nut"
                else [
                    sys.executable,
                    "-m",
                    "nutwist.cli.driver",
                    "snmp-ups",
                    "-a",
                    "u",
                    "-u",
                    "root",
                    "-k",
                ]
            )
            start = len(agent.sets)
            rc = subprocess.run(
                argv, env=nut_env(conf, tmp_path), capture_output=True, timeout=60
            ).returncode
            results[who] = (rc, agent.sets[start:])
    finally:
        agent.stop()
    (our_rc, our_sets), (nut_rc, nut_sets) = results["ours"], results["nut"]
    assert our_sets == nut_sets
    # NUT 2.8.0 dies of a segfault on MGE's shutdown commands after its SETs; nutwist fails cleanly
    assert our_rc == (1 if nut_rc < 0 else nut_rc)


def _random_value(rnd: Any) -> ber.Value | None:
    kind = rnd.randrange(12)
    if kind == 0:
        return (ber.INTEGER, rnd.randrange(-(2**31), 2**31))
    if kind == 1:
        return (ber.INTEGER, rnd.randrange(-5, 300))
    if kind == 2:
        return (ber.GAUGE32, rnd.randrange(2**32))
    if kind == 3:
        return (ber.TIMETICKS, rnd.randrange(2**32))
    if kind == 4:
        return (ber.OCTET_STRING, str(rnd.randrange(-999, 99999)).encode())
    if kind == 5:
        return (ber.OCTET_STRING, bytes(rnd.randrange(32, 127) for _ in range(rnd.randrange(40))))
    if kind == 6:
        return (ber.OCTET_STRING, bytes(rnd.randrange(256) for _ in range(rnd.randrange(20))))
    if kind == 7:
        return (ber.OBJECT_ID, (1, 3, 6, 1, 2, 1, 33, 1, 2, rnd.randrange(1, 9), 0))
    if kind == 8:
        return (ber.IP_ADDRESS, bytes([10, 0, 0, rnd.randrange(256)]))
    if kind == 9:
        return (ber.COUNTER64, rnd.randrange(2**64))
    if kind == 10:
        return (ber.COUNTER32, rnd.randrange(2**32))
    return None  # the agent drops the OID


@pytest.mark.parametrize("version", ["v1", "v2c"])
def test_fuzzed_agent_values_same_as_nut(run_pair: Callable[..., Pair], version: str) -> None:
    """Odd types and values where the RFC says otherwise: NUT and nutwist show the same."""
    import random

    rnd = random.Random(f"snmp-{version}")
    pair = run_pair(extra=f"\tsnmp_version = {version}\n")
    pair.both("on line", status_is("OL"))
    recording = load_snmprec(IETF)
    fuzzable = [
        oid
        for oid in recording
        if oid[:8] == (1, 3, 6, 1, 2, 1, 33, 1) and oid != (1, 3, 6, 1, 2, 1, 33, 1, 2, 4, 0)
    ]
    for round_ in range(8):
        marker = 10 + round_  # battery.charge tells when both drivers read this round
        changes: dict[str, ber.Value] = {UPS_MIB + "2.4.0": (ber.INTEGER, marker)}
        for oid in rnd.sample(fuzzable, 12):
            value = _random_value(rnd)
            text = ".".join(map(str, oid))
            if value is None:
                pair.agent.delete(text)
            else:
                changes[text] = value
        pair.agent.update(changes)
        pair.both(f"round {round_}", lambda p, m=str(marker): p.vars.get("battery.charge") == m)
        pair.settle()
        pair.assert_same()


@pytest.mark.parametrize(
    ("sysoid", "mib"),
    [
        ((ber.OBJECT_ID, (1, 3, 6, 1, 4, 1, 99999, 1)), "tripplite"),  # unknown: NUT's order
        ((ber.OBJECT_ID, (1, 3, 6, 1, 4, 1, 850, 1)), "tripplite"),  # Tripp Lite's own
        ((ber.OCTET_STRING, b"not an OID"), "tripplite"),
    ],
)
def test_auto_detection_picks_the_same_mapping(
    run_pair: Callable[..., Pair], sysoid: ber.Value, mib: str
) -> None:
    pair = run_pair(changes=(("1.3.6.1.2.1.1.2.0", sysoid),))
    pair.both("on line", status_is("OL"))
    assert pair.nut.picture.vars["driver.version.data"] == f"{mib} MIB 1.54"
    assert pair.ours.picture.vars["driver.version.data"] == f"{mib} MIB 1.54"
    pair.assert_same()


@pytest.mark.parametrize("mapping", PDUS_AND_ATS)
def test_pdu_and_ats_mapping_same_as_nut(run_pair: Callable[..., Pair], mapping: str) -> None:
    pair = run_pair(DATA / f"{mapping}.snmprec", extra=f"\tmibs = {mapping}\n")
    pair.both("first walk", lambda p: p.stale is not None and "driver.version.data" in p.vars)
    pair.settle()
    assert pair.ours.picture.vars["driver.version.data"].startswith(mapping + " MIB")
    pair.assert_same()
