"""nutdrv_qx (megatec, q1): NUT 2.8.0's C driver and nutwist's on twin simulated UPSes.

Each test starts two copies of the same Megatec simulator on pseudo-terminals,
runs NUT's /lib/nut/nutdrv_qx on one and nutwist's on the other, and requires
the same published data (``driver.version*`` and other identity lines aside)
and the same bytes sent to the device.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from support.nut import require_nut
from support.sim import MegatecSim
from support.sim.harness import Twin

pytestmark = pytest.mark.nut


@pytest.fixture
def twin_factory(tmp_path: Path):  # type: ignore[no-untyped-def]
    require_nut("nutdrv_qx")
    made: list[Twin] = []

    def make(protocol: str = "megatec", conf: str = "", **state: object) -> Twin:
        t = Twin(
            tmp_path / f"t{len(made)}",
            lambda d: MegatecSim(d, protocol=protocol, **state),
            "nutdrv_qx",
            conf,
        )
        made.append(t)
        return t

    yield make
    for t in made:
        t.stop()


def assert_same_dump_and_bytes(twin: Twin) -> list[str]:
    nut, nw = twin.dumps()
    assert nw == nut
    assert twin.nutwist.sim.sent_commands() == twin.nut.sim.sent_commands()
    return nut


def test_autodetect_on_line(twin_factory) -> None:  # type: ignore[no-untyped-def]
    twin = twin_factory()
    dump = assert_same_dump_and_bytes(twin)
    assert "driver.version.data: Megatec 0.06" in twin.nutwist.run("-d", "1", "-a", "ups").stdout
    assert "ups.status: OL" in dump
    # autodetection probed every earlier protocol first, as NUT does
    assert twin.nut.sim.sent_commands()[:4] == [b"QGS\r"] * 3 + [b"M\r"]


@pytest.mark.parametrize(
    "state",
    [
        {"status": "OB", "vin": 0.0, "vout": 229.0, "load": 37, "charge": 60, "temp": 35.5},
        {"status": "OB LB", "vin": 0.0, "vout": 221.0, "load": 80, "batt": 20.1, "temp": 41.0},
        {"status": "OL BOOST", "vin": 190.0, "vout": 228.0, "beeper": True, "standby": False},
        {"status": "OL TRIM", "vin": 260.0, "vout": 231.0},
        {"status": "OL CAL FAIL", "batt": 2.27},
        {"status": "OB FSD", "load": 999, "freq": 60.0},
    ],
    ids=["on-battery", "low-battery", "boost", "trim", "test-failed", "shutdown-active"],
)
def test_states(twin_factory, state: dict[str, object]) -> None:  # type: ignore[no-untyped-def]
    twin = twin_factory(conf="\tprotocol = megatec\n", **state)
    assert_same_dump_and_bytes(twin)


@pytest.mark.parametrize(
    "conf",
    [
        "\tnorating\n",
        "\tnovendor\n",
        "\tignoresab\n",
        "\tondelay = 300\n\toffdelay = 90\n",
        "\toffdelay = 50\n",
        "\tpollfreq = 10\n",
        "\truntimecal = 240,100,720,50\n\tchargetime = 3600\n\tidleload = 20\n",
        "\tdefault.battery.charge.low = 25\n\toverride.ups.load = 3\n",
    ],
)
def test_options(twin_factory, conf: str) -> None:  # type: ignore[no-untyped-def]
    twin = twin_factory(conf=conf, status="OB FSD")
    assert_same_dump_and_bytes(twin)


def test_q1_protocol_autodetected(twin_factory) -> None:  # type: ignore[no-untyped-def]
    twin = twin_factory(protocol="q1", status="OB", vin=0.0)
    dump = assert_same_dump_and_bytes(twin)
    assert "ups.status: OB" in dump
    assert "driver.version.data: Q1 0.07" in twin.nutwist.run("-d", "1", "-a", "ups").stdout


def test_silent_device_is_not_supported(twin_factory) -> None:  # type: ignore[no-untyped-def]
    twin = twin_factory(conf="\tprotocol = megatec\n")
    for side in twin.both():
        side.sim.unplug()
        p = side.run("-d", "1", "-a", "ups")
        assert p.returncode != 0 and "not supported" in p.stderr
    assert twin.nutwist.sim.sent_commands() == twin.nut.sim.sent_commands()


def test_shutdown_sends_the_same_bytes(twin_factory) -> None:  # type: ignore[no-untyped-def]
    twin = twin_factory(conf="\tprotocol = megatec\n\tondelay = 120\n\toffdelay = 60\n")
    for side in twin.both():
        p = side.run("-k", "-a", "ups")
        assert p.returncode == 0, p.stderr
    sent = twin.nut.sim.sent_commands()
    assert twin.nutwist.sim.sent_commands() == sent
    assert sent[-2:] == [b"C\r", b"S01R0002\r"]


def test_stayoff_shutdown(twin_factory) -> None:  # type: ignore[no-untyped-def]
    twin = twin_factory(conf="\tprotocol = megatec\n\tstayoff\n")
    for side in twin.both():
        assert side.run("-k", "-a", "ups").returncode == 0
    assert twin.nutwist.sim.sent_commands() == twin.nut.sim.sent_commands()
    assert twin.nut.sim.sent_commands()[-1] == b"S.5R0000\r"


#: what the drivers send when polling (when a poll falls is timing, not behaviour)
POLLS = (
    b"Q1\r",
    b"F\r",
    b"I\r",
    b"QS\r",
    b"D\r",
    b"FW?\r",
    b"ID\r",
    b"RT\r",
    b"BP?\r",
    b"SS?\r",
    b"M\r",
)


def _poll_free(cmds: list[bytes]) -> list[bytes]:
    return [c for c in cmds if c not in POLLS]


def test_live_driver_commands_and_variables(twin_factory) -> None:  # type: ignore[no-untyped-def]
    twin = twin_factory(conf="\tprotocol = megatec\n\tpollinterval = 1\n")
    for side in twin.both():
        side.start()
    twin.wait_until(lambda s: s.getvar("ups.status") == "OL")
    twin.same_dumpall()
    # instant commands: the same bytes on the line and the same result
    for cmd in (
        "beeper.toggle",
        "load.off",
        "load.on",
        "shutdown.return",
        "shutdown.stayoff",
        "shutdown.stop",
        "test.battery.start 120",
        "test.battery.start 7",
        "test.battery.start.deep",
        "test.battery.start.quick",
        "test.battery.stop",
        "no.such.command",
    ):
        twin.clear_logs()
        results = [
            side.request(f"INSTCMD {cmd}", f"t-{cmd.replace(' ', '-')}") for side in twin.both()
        ]
        assert results[0] == results[1], cmd
        assert _poll_free(twin.nutwist.sim.sent_commands()) == _poll_free(
            twin.nut.sim.sent_commands()
        ), cmd
    # writable variables: ranges checked and values rounded as NUT does
    for var, value in (
        ("ups.delay.shutdown", "95"),
        ("ups.delay.shutdown", "1000"),
        ("ups.delay.start", "301"),
        ("ups.delay.start", "abc"),
        ("ups.load", "5"),
    ):
        results = [side.request(f'SET {var} "{value}"', f"s-{var}-{value}") for side in twin.both()]
        assert results[0] == results[1], (var, value)
    twin.clear_logs()
    for side in twin.both():
        side.request("INSTCMD shutdown.return", "after-set")
    assert _poll_free(twin.nutwist.sim.sent_commands()) == _poll_free(twin.nut.sim.sent_commands())
    assert twin.nut.sim.sent_commands()[-1:] == [b"S01R0005\r"] or b"S01R0005\r" in (
        twin.nut.sim.sent_commands()
    )
    # on battery, then low battery: the quick poll brings the status within a poll or two
    for status in ("OB", "OB LB", "OL"):
        twin.set(status=status)
        twin.wait_until(lambda s, st=status: s.getvar("ups.status") == st)
        twin.same_dumpall()


def test_unplug_and_replug(twin_factory) -> None:  # type: ignore[no-untyped-def]
    twin = twin_factory(conf="\tprotocol = megatec\n\tpollinterval = 1\n")
    for side in twin.both():
        side.start()
    twin.wait_until(lambda s: s.getvar("ups.status") == "OL")
    for side in twin.both():
        side.sim.unplug()
    started = time.monotonic()
    twin.wait_until(lambda s: s.dumpall()[0] == "DATASTALE", timeout=90)
    stale_after = time.monotonic() - started
    twin.same_dumpall()
    for side in twin.both():
        side.sim.replug()
    twin.wait_until(lambda s: s.dumpall()[0] != "DATASTALE", timeout=60)
    twin.same_dumpall()
    assert stale_after < 60


def test_vanished_port_is_reopened(tmp_path: Path) -> None:
    """Closing the pty makes the data stale; a new pty behind the same name brings it back."""
    twin = Twin(
        tmp_path, lambda d: MegatecSim(d), "nutdrv_qx", "\tprotocol = megatec\n\tpollinterval = 1\n"
    )
    try:
        side = twin.nutwist
        side.start()
        twin.wait_until(lambda s: s is twin.nut or s.getvar("ups.status") == "OL")
        side.sim.close()
        deadline = time.monotonic() + 60
        while side.dumpall()[0] != "DATASTALE":
            assert time.monotonic() < deadline, side.log()
            time.sleep(0.2)
        side.sim.set(status="OB")
        side.sim.replug()
        deadline = time.monotonic() + 90
        while side.getvar("ups.status") != "OB" or side.dumpall()[0] == "DATASTALE":
            assert time.monotonic() < deadline, side.log()
            time.sleep(0.2)
    finally:
        twin.stop()


@pytest.mark.parametrize(
    ("protocol", "conf", "expect"),
    [
        ("mustek", "", "Mustek 0.07"),
        ("megatec/old", "", "Megatec/old 0.07"),
        ("zinto", "", "Zinto 0.06"),
        ("zinto", "\tprotocol = hunnox\n", "Hunnox 0.01"),
        ("megatec", "\tprotocol = zinto\n", None),
    ],
)
def test_megatec_variants(twin_factory, protocol: str, conf: str, expect: str | None) -> None:  # type: ignore[no-untyped-def]
    for state in ({}, {"status": "OB LB", "vin": 0.0, "batt": 21.0}):
        twin = twin_factory(protocol=protocol, conf=conf, **state)
        if expect is None:
            for side in twin.both():
                assert side.run("-d", "1", "-a", "ups").returncode != 0
            assert twin.nutwist.sim.sent_commands() == twin.nut.sim.sent_commands()
            continue
        assert_same_dump_and_bytes(twin)
        assert f"driver.version.data: {expect}" in twin.nutwist.run("-d", "1", "-a", "ups").stdout


def test_variant_instcmds_and_shutdown(twin_factory) -> None:  # type: ignore[no-untyped-def]
    twin = twin_factory(protocol="zinto", conf="\tprotocol = hunnox\n\tpollinterval = 1\n")
    for side in twin.both():
        assert side.run("-k", "-a", "ups").returncode == 0
    assert twin.nutwist.sim.sent_commands() == twin.nut.sim.sent_commands()
    for side in twin.both():
        side.start()
    twin.wait_until(lambda s: s.getvar("ups.status") == "OL")
    twin.same_dumpall()
    for cmd in ("shutdown.return", "test.battery.start.quick", "load.off"):
        twin.clear_logs()
        results = [side.request(f"INSTCMD {cmd}", f"v-{cmd}") for side in twin.both()]
        assert results[0] == results[1], cmd
        assert _poll_free(twin.nutwist.sim.sent_commands()) == _poll_free(
            twin.nut.sim.sent_commands()
        ), cmd


@pytest.mark.parametrize("qpi", ["PI98", "NAK"])
def test_mecer(twin_factory, qpi: str) -> None:  # type: ignore[no-untyped-def]
    twin = twin_factory(protocol="mecer", qpi=qpi, ack="(ACK", status="OB", vin=0.0)
    dump = assert_same_dump_and_bytes(twin)
    assert "driver.version.data: Mecer 0.07" in twin.nutwist.run("-d", "1", "-a", "ups").stdout
    assert ("ups.firmware.aux: Voltronic Power P98" in dump) == (qpi == "PI98")
    twin.clear_logs()
    for side in twin.both():
        assert side.run("-k", "-a", "ups").returncode == 0
    assert twin.nutwist.sim.sent_commands() == twin.nut.sim.sent_commands()


def test_mecer_commands(twin_factory) -> None:  # type: ignore[no-untyped-def]
    twin = twin_factory(protocol="mecer", qpi="PI98", ack="(ACK", conf="\tpollinterval = 1\n")
    for side in twin.both():
        side.start()
    twin.wait_until(lambda s: s.getvar("ups.status") == "OL")
    twin.same_dumpall()
    for ack in ("(ACK", "(NAK", None):
        twin.set(ack=ack)
        for cmd in (
            "test.battery.start 18",
            "test.battery.start 120",
            "test.battery.start x",
            "load.on",
        ):
            twin.clear_logs()
            results = [
                side.request(f"INSTCMD {cmd}", f"m-{ack}-{cmd}".replace(" ", "_"))
                for side in twin.both()
            ]
            assert results[0] == results[1], (ack, cmd)
            assert _poll_free(twin.nutwist.sim.sent_commands()) == _poll_free(
                twin.nut.sim.sent_commands()
            ), (ack, cmd)


@pytest.mark.parametrize("state", [{}, {"status": "OB LB", "vin": 0.0, "batt": 10.9}])
def test_voltronic_qs(twin_factory, state: dict[str, object]) -> None:  # type: ignore[no-untyped-def]
    twin = twin_factory(protocol="voltronic-qs", m="V", rating="#220.0 003 12.00 50.0", **state)
    dump = assert_same_dump_and_bytes(twin)
    assert "ups.firmware.aux: PM-V" in dump and "output.frequency: 50.0" in dump
    twin.clear_logs()
    for side in twin.both():
        assert side.run("-k", "-a", "ups").returncode == 0
    assert twin.nutwist.sim.sent_commands() == twin.nut.sim.sent_commands()
    for ack in ("ACK", None):
        twin.set(ack=ack)
        twin.clear_logs()
        results = [
            side.run("-k", "-a", "ups", "-x", "offdelay=540").returncode for side in twin.both()
        ]
        assert results[0] == results[1]
        assert twin.nutwist.sim.sent_commands() == twin.nut.sim.sent_commands()


@pytest.mark.parametrize(
    "state",
    [
        {"m": "P"},
        {"m": "P", "status": "OB LB", "vin": 0.0, "load": 13, "batt": 11.2},
        {"m": "T", "ratings_bits": "00101011", "vin": 221.7, "freq": 59.9},
        {"m": "T", "ratings_bits": "11111111"},
        {"m": "P", "vin": 13.0, "load": 10, "freq": 60.0},
    ],
    ids=["P", "P-low-battery", "T-ratings", "T-bad-ratings", "P-escaped-bytes"],
)
def test_voltronic_qs_hex(twin_factory, state: dict[str, object]) -> None:  # type: ignore[no-untyped-def]
    twin = twin_factory(protocol="voltronic-qs-hex", **state)
    dump = assert_same_dump_and_bytes(twin)
    assert f"ups.firmware.aux: PM-{state['m']}" in dump
    twin.clear_logs()
    for side in twin.both():
        assert side.run("-k", "-a", "ups").returncode == 0
    assert twin.nutwist.sim.sent_commands() == twin.nut.sim.sent_commands()


@pytest.mark.parametrize(
    "state",
    [
        {},
        {"status": "OB LB BOOST", "vin": 0.0, "batt": 21.0},
        {"ID": "PR2,1500,230,230,20.0,27.6", "status": "OL", "bits": "00001000", "M": "4"},
        {"ID": "AX1,750,120,120,20.0,27.6", "BP?": "03", "M": "9"},
        {"ID": "620,750,230,230,40.0,55.2", "RT": "123"},
        {"ID": "XYZ,750,120,120,20.0,27.6"},
        {"ID": "FOR,750,120,120,20.0"},
    ],
    ids=[
        "fortress",
        "low-battery",
        "patriot-inverted-bit",
        "axxium-packs",
        "sola",
        "unknown",
        "short-id",
    ],
)
def test_bestups(twin_factory, state: dict[str, object]) -> None:  # type: ignore[no-untyped-def]
    twin = twin_factory(protocol="bestups", conf="\tpins_shutdown_mode = 2\n", **state)
    if state.get("ID") == "FOR,750,120,120,20.0":
        for side in twin.both():
            assert side.run("-d", "1", "-a", "ups", "-x", "protocol=bestups").returncode != 0
        assert twin.nutwist.sim.sent_commands() == twin.nut.sim.sent_commands()
        return
    assert_same_dump_and_bytes(twin)
    assert "BestUPS 0.06" in twin.nutwist.run("-d", "1", "-a", "ups").stdout


def test_bestups_settings(twin_factory) -> None:  # type: ignore[no-untyped-def]
    twin = twin_factory(
        protocol="bestups", ID="AX1,750,120,120,20.0,27.6", conf="\tpollinterval = 1\n"
    )
    for side in twin.both():
        side.start()
    twin.wait_until(lambda s: s.getvar("ups.status") is not None)
    twin.same_dumpall()
    for var, value in (
        ("battery.packs", "4"),
        ("battery.packs", "9"),
        ("ups.delay.shutdown", "700"),
    ):
        twin.clear_logs()
        results = [side.request(f'SET {var} "{value}"', f"b-{var}-{value}") for side in twin.both()]
        assert results[0] == results[1], (var, value)
        assert _poll_free(twin.nutwist.sim.sent_commands()) == _poll_free(
            twin.nut.sim.sent_commands()
        )
    for cmd in ("shutdown.stayoff", "shutdown.return"):
        twin.clear_logs()
        results = [side.request(f"INSTCMD {cmd}", f"b-{cmd}") for side in twin.both()]
        assert results[0] == results[1], cmd
        assert _poll_free(twin.nutwist.sim.sent_commands()) == _poll_free(
            twin.nut.sim.sent_commands()
        )


def test_masterguard_never_claims(twin_factory) -> None:  # type: ignore[no-untyped-def]
    """NUT 2.8.0's masterguard claim looks for an item its table lacks: no device is ever
    claimed, and nothing is sent.  nutwist's refuses the same way."""
    twin = twin_factory(conf="\tprotocol = masterguard\n")
    for side in twin.both():
        p = side.run("-d", "1", "-a", "ups")
        assert p.returncode != 0 and "not supported" in p.stderr
    assert twin.nut.sim.sent_commands() == twin.nutwist.sim.sent_commands() == []


@pytest.mark.parametrize(
    "reply",
    [lambda cmd: b"(garbage\r", lambda cmd: cmd, lambda cmd: b"(230.0 195.0 230"],
    ids=["garbage", "echo", "partial-no-cr"],
)
def test_bad_device_goes_stale_and_recovers(twin_factory, reply) -> None:  # type: ignore[no-untyped-def]
    twin = twin_factory(conf="\tprotocol = megatec\n\tpollinterval = 1\n")
    for side in twin.both():
        side.start()
    twin.wait_until(lambda s: s.getvar("ups.status") == "OL")
    for side in twin.both():
        side.sim.override = reply
    twin.wait_until(lambda s: s.dumpall()[0] == "DATASTALE", timeout=90)
    twin.same_dumpall()
    assert twin.nutwist.proc is not None and twin.nutwist.proc.proc.poll() is None
    for side in twin.both():
        side.sim.override = None
    twin.wait_until(lambda s: s.dumpall()[0] != "DATASTALE", timeout=90)
    twin.same_dumpall()


@pytest.mark.parametrize(
    "state",
    [
        {},
        {"status": "OB LB", "vin": 0.0, "batt": 2.05, "q5_vb": 0, "at": 2**31 + 5},
        {
            "status": "OL BOOST FAIL",
            "vin": 200.0,
            "vout": 228.0,
            "standby": True,
            "q5_err": 7,
            "tr": "NG\x00x",
        },
        {
            "status": "OL BOOST",
            "vin": 200.0,
            "vout": 30.0,
            "standby": False,
            "rating": "#230.0 004 000.0 50.0",
        },
    ],
    ids=["on-line", "low-battery", "boost-failed", "bypass-off"],
)
def test_ablerex(twin_factory, state: dict[str, object]) -> None:  # type: ignore[no-untyped-def]
    twin = twin_factory(protocol="ablerex", conf="\tprotocol = ablerex\n", **state)
    dump = assert_same_dump_and_bytes(twin)
    assert "ups.test.result" in " ".join(dump)
    twin.clear_logs()
    for side in twin.both():
        assert side.run("-k", "-a", "ups").returncode == 0
    assert twin.nutwist.sim.sent_commands() == twin.nut.sim.sent_commands()


def test_ablerex_full_poll(twin_factory) -> None:  # type: ignore[no-untyped-def]
    twin = twin_factory(
        protocol="ablerex", conf="\tprotocol = ablerex\n\tpollinterval = 1\n\tpollfreq = 2\n"
    )
    for side in twin.both():
        side.start()
    twin.wait_until(lambda s: s.getvar("ups.status") == "OL")
    twin.set(status="OB", vin=0.0, q5_err=3)
    twin.wait_until(lambda s: s.getvar("ups.status") == "OB" and s.getvar("input.voltage") == "0.0")
    twin.same_dumpall()


def test_device_absent_at_start(twin_factory) -> None:  # type: ignore[no-untyped-def]
    """NUT's driver gives up when the UPS does not answer at start-up; nutwist's serves its
    socket with stale data, keeps looking (with back-off) and picks the UPS up later."""
    twin = twin_factory(conf="\tprotocol = megatec\n\tpollinterval = 1\n")
    for side in twin.both():
        side.sim.unplug()
    p = twin.nut.run("-a", "ups", "-F")
    assert p.returncode != 0
    side = twin.nutwist
    side.start()
    assert side.dumpall()[0] == "DATASTALE"
    side.sim.replug()
    deadline = time.monotonic() + 90
    while side.getvar("ups.status") != "OL" or side.dumpall()[0] == "DATASTALE":
        assert time.monotonic() < deadline, side.log()
        time.sleep(0.2)
