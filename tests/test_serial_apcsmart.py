"""apcsmart: NUT 2.8.0's C driver and nutwist's on twin simulated APC Smart-UPSes.

The same data (identity lines aside) and the same bytes on the line: the
smart-mode handshake, the command-set and capability queries, the compatibility
table, polling, alerts, settings, instant commands (nasty ones twice in their
window) and every ``-k`` method.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from support.nut import require_nut
from support.sim.apc import CMDSET, ApcSim
from support.sim.harness import Twin

pytestmark = pytest.mark.nut


@pytest.fixture
def twin_factory(tmp_path: Path):  # type: ignore[no-untyped-def]
    require_nut("apcsmart")
    made: list[Twin] = []

    def make(conf: str = "", **state: object) -> Twin:
        t = Twin(tmp_path / f"t{len(made)}", lambda d: ApcSim(d, **state), "apcsmart", conf)
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
        {"status": "OB LB", "vars": {"f": "012.0", "j": "0003:", "L": "000.0", "G": "L"}},
        {"status": "OL RB OVER TRIM", "vars": {"P": "105.3"}},
        {"status": 0},
        {"vars": {"V": "6QD"}, "cmdset": "NA"},
        {"vars": {"V": "NA", "b": "NA"}, "cmdset": "NA"},
        {"vars": {"V": "NA", "b": "7F"}, "cmdset": "NA"},
        {"caps": "##u443253264271280##l443196188208204"},
        {"vars": {"T": "25.50", "b": "50.9.I"}, "cmdset": CMDSET.replace("S", "ST")},
        {"vars": {"T": "123.4"}, "cmdset": CMDSET.replace("S", "ST")},
        {"vars": {"V": "6QD"}, "nolf": "V"},
    ],
    ids=[
        "on-line",
        "low-battery",
        "overload",
        "off",
        "compat-table",
        "old-model",
        "hex-firmware",
        "matrix-caps",
        "ambient-temp",
        "uptime",
        "reply-without-lf",
    ],
)
def test_dumps_and_bytes(twin_factory, state: dict[str, object]) -> None:  # type: ignore[no-untyped-def]
    dump = same(twin_factory(**state))
    assert "driver.name: apcsmart" in dump


@pytest.mark.parametrize(
    "conf",
    [
        "",
        "\tsdtype = 1\n",
        "\tsdtype = 2\n",
        "\tsdtype = 3\n",
        "\tsdtype = 4\n\tcshdelay = 0.5\n",
        "\tsdtype = 5\n\tawd = 12\n",
        "\tadvorder = 21\n",
        "\tadvorder = no\n",
    ],
)
def test_shutdown_bytes(twin_factory, conf: str) -> None:  # type: ignore[no-untyped-def]
    twin = twin_factory(conf=conf)
    for side in twin.both():
        p = side.run("-k", "-a", "ups")
        assert p.returncode == 0, p.stderr
    assert twin.nutwist.sim.sent_commands() == twin.nut.sim.sent_commands()


@pytest.mark.parametrize(
    "state",
    [
        {},
        {"status": "OB LB"},
        {"vars": {"V": "6QD"}, "cmdset": "NA"},
        # a reply without its line end: a canonical read sees nothing (and NUT asks 'b'
        # next), a raw read sees a partial line and gives up on the firmware table
        {"vars": {"V": "6QD"}, "nolf": "V"},
    ],
)
def test_raw_tty_mode(twin_factory, state: dict[str, object]) -> None:  # type: ignore[no-untyped-def]
    twin = twin_factory(conf="\tttymode = raw\n", **state)
    dump = same(twin)
    assert "driver.parameter.ttymode: raw" in dump


def test_bad_options_are_refused(twin_factory) -> None:  # type: ignore[no-untyped-def]
    twin = twin_factory(conf="\tsdtype = 9\n")
    for side in twin.both():
        p = side.run("-d", "1", "-a", "ups")
        assert p.returncode != 0 and "invalid value (9) for option 'sdtype'" in p.stderr


def test_live_alerts_settings_and_commands(twin_factory) -> None:  # type: ignore[no-untyped-def]
    twin = twin_factory(conf="\tpollinterval = 1\n")
    for side in twin.both():
        side.start()
    twin.wait_until(lambda s: s.getvar("ups.status") == "OL")
    twin.same_dumpall()
    # alerts, then the status byte agrees
    for status in ("OB", "OB LB", "OL"):
        twin.set(status=status)
        twin.wait_until(lambda s, st=status: s.getvar("ups.status") == st)
        twin.same_dumpall()

    def polls_removed(cmds: list[bytes]) -> list[bytes]:
        # the periodic status and variable polls fall at different times on each side
        return [
            c
            for c in cmds
            if c
            not in (
                b"Q",
                b"C",
                b"P",
                b"X",
                b"L",
                b"F",
                b"9",
                b"G",
                b"M",
                b"N",
                b"O",
                b"f",
                b"B",
                b"j",
            )
        ]

    for var, value in (
        ("input.transfer.high", "271"),
        ("input.transfer.high", "999"),
        ("ups.id", "RACK7"),
        ("ups.id", "MUCHTOOLONG"),
        ("battery.date", "09/09/09"),
        ("ups.load", "3"),
    ):
        twin.clear_logs()
        results = [
            side.request(f'SET {var} "{value}"', f"s-{var}-{value}", timeout=60)
            for side in twin.both()
        ]
        assert results[0] == results[1], (var, value)
        assert polls_removed(twin.nutwist.sim.sent_commands()) == polls_removed(
            twin.nut.sim.sent_commands()
        )
    twin.wait_until(lambda s: s.getvar("ups.id") == "RACK7")
    for cmd in (
        "test.battery.start",
        "test.panel.start",
        "calibrate.start",
        "calibrate.stop",
        "bypass.start",
        "load.on",
    ):
        twin.clear_logs()
        results = [side.request(f"INSTCMD {cmd}", f"c-{cmd}", timeout=60) for side in twin.both()]
        assert results[0] == results[1], cmd
        assert polls_removed(twin.nutwist.sim.sent_commands()) == polls_removed(
            twin.nut.sim.sent_commands()
        )
    # a nasty command does nothing the first time; repeated within 3-15 s it runs
    twin.clear_logs()
    for side in twin.both():
        assert side.request("INSTCMD load.off", "n1") == "0"
    twin.settle()
    assert polls_removed(twin.nut.sim.sent_commands()) == []
    time.sleep(4)  # the protocol's window: the second request must come 3 to 15 s later
    for side in twin.both():
        side.request("INSTCMD load.off", "n2", timeout=60)
    twin.settle()
    assert (
        polls_removed(twin.nutwist.sim.sent_commands())
        == polls_removed(twin.nut.sim.sent_commands())
        == [b"Z", b"Z"]
    )
    twin.same_dumpall()


def test_unplug_and_replug(twin_factory) -> None:  # type: ignore[no-untyped-def]
    twin = twin_factory(conf="\tpollinterval = 1\n")
    for side in twin.both():
        side.start()
    twin.wait_until(lambda s: s.getvar("ups.status") == "OL")
    for side in twin.both():
        side.sim.unplug()
    twin.wait_until(lambda s: s.dumpall()[0] == "DATASTALE", timeout=90)
    twin.same_dumpall()
    for side in twin.both():
        side.sim.replug()
    twin.wait_until(lambda s: s.dumpall()[0] != "DATASTALE", timeout=90)
    twin.same_dumpall()


def test_vanished_port_is_reopened(tmp_path: Path) -> None:
    """Closing the pty makes the data stale; a new pty behind the same name brings it back
    (NUT's driver keeps its dead descriptor; nutwist's opens the port again)."""
    twin = Twin(tmp_path, lambda d: ApcSim(d), "apcsmart", "\tpollinterval = 1\n")
    try:
        side = twin.nutwist
        side.start()
        deadline = time.monotonic() + 60
        while side.getvar("ups.status") != "OL":
            assert time.monotonic() < deadline, side.log()
            time.sleep(0.1)
        side.sim.close()
        while side.dumpall()[0] != "DATASTALE":
            assert time.monotonic() < deadline, side.log()
            time.sleep(0.2)
        side.sim.replug()
        side.sim.set(status="OB")
        deadline = time.monotonic() + 120
        while side.getvar("ups.status") != "OB" or side.dumpall()[0] == "DATASTALE":
            assert time.monotonic() < deadline, side.log()
            time.sleep(0.2)
    finally:
        twin.stop()
