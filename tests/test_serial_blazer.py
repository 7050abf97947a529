"""blazer_ser: NUT 2.8.0's C driver and nutwist's on twin simulated Megatec UPSes.

The same published data (identity lines aside), the same bytes to the device
for detection, polling, every instant command and ``-k``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from support.nut import require_nut
from support.sim import MegatecSim
from support.sim.harness import Twin

pytestmark = pytest.mark.nut


@pytest.fixture
def twin_factory(tmp_path: Path):  # type: ignore[no-untyped-def]
    require_nut("blazer_ser")
    made: list[Twin] = []

    def make(protocol: str = "megatec", conf: str = "", **state: object) -> Twin:
        t = Twin(
            tmp_path / f"t{len(made)}",
            lambda d: MegatecSim(d, protocol=protocol, **state),
            "blazer_ser",
            conf,
        )
        made.append(t)
        return t

    yield make
    for t in made:
        t.stop()


def same(twin: Twin) -> list[str]:
    nut, nw = twin.dumps()
    assert nw == nut
    assert twin.nutwist.sim.sent_commands() == twin.nut.sim.sent_commands()
    return nut


@pytest.mark.parametrize(
    "state",
    [
        {},
        {"status": "OB", "vin": 0.0, "vout": 229.0, "load": 37, "charge": 60, "temp": 35.5},
        {"status": "OB LB", "vin": 0.0, "vout": 221.0, "load": 80, "batt": 20.1},
        {"status": "OL BOOST", "vin": 190.0, "vout": 228.0, "beeper": True, "standby": False},
        {"status": "OL CAL FAIL", "batt": 2.27},
        {"status": "OB FSD", "load": 999},
        {"bits": "0000100X"},
        {"vendor": "#Short"},
    ],
    ids=[
        "on-line",
        "on-battery",
        "low-battery",
        "boost",
        "test-failed",
        "fsd",
        "bad-bits",
        "short-vendor",
    ],
)
def test_states(twin_factory, state: dict[str, object]) -> None:  # type: ignore[no-untyped-def]
    dump = same(twin_factory(**state)) if "bits" not in state else None
    if dump is not None:
        assert "driver.name: blazer_ser" in dump


def test_bad_status_bits_are_not_supported(twin_factory) -> None:  # type: ignore[no-untyped-def]
    twin = twin_factory(bits="0000100X")
    for side in twin.both():
        p = side.run("-d", "1", "-a", "ups")
        assert p.returncode != 0 and "No supported UPS detected" in p.stderr
    assert twin.nutwist.sim.sent_commands() == twin.nut.sim.sent_commands()


@pytest.mark.parametrize(
    "conf",
    [
        "\tnorating\n",
        "\tnovendor\n",
        "\tondelay = 5\n\toffdelay = 95\n",
        "\tprotocol = megatec\n",
        "\truntimecal = 240,100,720,50\n",
        "\tdefault.battery.voltage.high = 27.0\n\tdefault.battery.voltage.low = 21.5\n",
    ],
)
def test_options(twin_factory, conf: str) -> None:  # type: ignore[no-untyped-def]
    same(twin_factory(conf=conf, status="OB"))


def test_q1_only_device(twin_factory) -> None:  # type: ignore[no-untyped-def]
    same(twin_factory(protocol="q1"))


@pytest.mark.parametrize("conf", ["", "\tondelay = 0\n\toffdelay = 18\n"])
def test_shutdown_bytes(twin_factory, conf: str) -> None:  # type: ignore[no-untyped-def]
    twin = twin_factory(conf=conf)
    for side in twin.both():
        assert side.run("-k", "-a", "ups").returncode == 0
    assert twin.nutwist.sim.sent_commands() == twin.nut.sim.sent_commands()


def test_live_instcmds(twin_factory) -> None:  # type: ignore[no-untyped-def]
    twin = twin_factory(conf="\tpollinterval = 1\n")
    for side in twin.both():
        side.start()
    twin.wait_until(lambda s: s.getvar("ups.status") == "OL")
    twin.same_dumpall()
    for cmd in (
        "beeper.toggle",
        "load.off",
        "shutdown.return",
        "shutdown.stayoff",
        "test.battery.start",
        "test.battery.start 3",
        "test.battery.start 300",
        "test.battery.stop",
        "no.such.command",
    ):
        twin.clear_logs()
        results = [
            side.request(f"INSTCMD {cmd}", f"t-{cmd.replace(' ', '-')}") for side in twin.both()
        ]
        assert results[0] == results[1], cmd
        polls = (b"Q1\r",)
        got = [[c for c in s.sim.sent_commands() if c not in polls] for s in twin.both()]
        assert got[0] == got[1], cmd
    for status in ("OB", "OB LB", "OL"):
        twin.set(status=status)
        twin.wait_until(lambda s, st=status: s.getvar("ups.status") == st)
        twin.same_dumpall()


@pytest.mark.parametrize("bad", ["unplug", "garbage"])
def test_stale_and_back(twin_factory, bad: str) -> None:  # type: ignore[no-untyped-def]
    twin = twin_factory(conf="\tpollinterval = 1\n")
    for side in twin.both():
        side.start()
    twin.wait_until(lambda s: s.getvar("ups.status") == "OL")
    for side in twin.both():
        if bad == "unplug":
            side.sim.unplug()
        else:
            side.sim.override = lambda cmd: b"(1 2 3 4 5 6 7 0000000x " + b"x" * 30 + b"\r"
    twin.wait_until(lambda s: s.dumpall()[0] == "DATASTALE", timeout=90)
    twin.same_dumpall()
    for side in twin.both():
        side.sim.override = None
        side.sim.replug()
    twin.wait_until(lambda s: s.dumpall()[0] != "DATASTALE", timeout=90)
    twin.same_dumpall()
