"""Variable and command descriptions (nutwist.model.cmdvartab)."""

from __future__ import annotations

from pathlib import Path

import pytest

from nutwist.config.base import Source
from nutwist.model import cmdvartab
from nutwist.model.cmdvartab import UNAVAILABLE

# the instant commands NUT 2.8.0's data/cmdvartab describes (CMDDESC lines)
COMMANDS_2_8_0 = (
    "load.off",
    "load.on",
    "shutdown.return",
    "shutdown.stayoff",
    "shutdown.stop",
    "shutdown.reboot",
    "shutdown.reboot.graceful",
    "test.panel.start",
    "test.panel.stop",
    "test.failure.start",
    "test.failure.stop",
    "test.battery.start",
    "test.battery.start.quick",
    "test.battery.start.deep",
    "test.battery.stop",
    "test.system.start",
    "calibrate.start",
    "calibrate.stop",
    "bypass.start",
    "bypass.stop",
    "reset.input.minmax",
    "reset.watchdog",
    "beeper.on",
    "beeper.off",
    "beeper.enable",
    "beeper.disable",
    "beeper.mute",
    "beeper.toggle",
    "outlet.1.load.off",
    "outlet.1.load.on",
    "outlet.1.shutdown.return",
    "outlet.2.load.off",
    "outlet.2.load.on",
    "outlet.2.shutdown.return",
    "load.off.delay",
    "load.on.delay",
)


def test_packaged_table() -> None:
    t = cmdvartab.default()
    assert (len(t.vars), len(t.cmds)) == (167, 36)
    assert t.problem is None and not t.diagnostics
    assert t.var("ups.status") == "UPS status"
    assert t.var("battery.charge") == "Battery charge (percent of full)"
    assert t.var("input.voltage") == "Input voltage (V)"
    assert t.cmd("load.off") == "Turn off the load immediately"
    assert sorted(t.cmds) == sorted(COMMANDS_2_8_0)


def test_unknown_names() -> None:
    t = cmdvartab.default()
    assert t.var("bogus.x") == UNAVAILABLE == "Description unavailable"
    assert t.cmd("bogus") == UNAVAILABLE
    assert t.cmd("ups.status") == UNAVAILABLE  # variables and commands are separate tables


def test_lookup_ignores_case() -> None:
    # as NUT 2.8.0's upsd: GET DESC dev UPS.STATUS -> "UPS status" (checked on the real upsd)
    t = cmdvartab.default()
    assert t.var("UPS.STATUS") == "UPS status"
    assert t.cmd("LOAD.OFF") == "Turn off the load immediately"


@pytest.mark.skipif(not Path("/usr/share/nut/cmdvartab").exists(), reason="NUT not installed")
def test_packaged_table_is_nuts() -> None:
    packaged = cmdvartab.default()
    nut = cmdvartab.load("/usr/share/nut/cmdvartab")
    assert (packaged.vars, packaged.cmds) == (nut.vars, nut.cmds)


def test_parse_rules() -> None:
    text = (
        "# comment\n"
        'VARDESC ups.x "First"\n'
        'VARDESC UPS.X "Second"\n'  # a repeated name (ignoring case) keeps the later text
        'vardesc ups.y "keywords are case-sensitive"\n'
        "VARDESC ups.z\n"
        'CMDDESC do.it "Do \\"it\\" now" extra\n'
        'OTHER a "b"\n'
        'VARDESC bad "x#y"\n'
        'VARDESC ups.w "after the error"\n'
    )
    t = cmdvartab.parse(Source.from_text(text, "cmdvartab"))
    assert t.vars == {"ups.x": "Second", "ups.w": "after the error"}
    assert t.cmds == {"do.it": 'Do "it" now'}
    assert [d.line for d in t.diagnostics] == [8]


def test_from_datapath(tmp_path: Path) -> None:
    (tmp_path / "cmdvartab").write_text('VARDESC a.b "Ab"\nCMDDESC c.d "Cd"\n')
    t = cmdvartab.from_datapath(tmp_path)
    assert t.problem is None and t.var("A.B") == "Ab" and t.cmd("c.d") == "Cd"


def test_from_datapath_missing_file(tmp_path: Path) -> None:
    t = cmdvartab.from_datapath(str(tmp_path))
    assert t.problem == f"{tmp_path}/cmdvartab not found - disabling descriptions"
    assert t.var("ups.status") == UNAVAILABLE and t.cmd("load.off") == UNAVAILABLE
    (tmp_path / "cmdvartab").mkdir()
    assert cmdvartab.from_datapath(tmp_path).problem is not None
