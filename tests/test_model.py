"""The state tree, descriptions and status words."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from nutwist.model import cmdvartab
from nutwist.model.state import Flag, UpsState
from nutwist.model.status import build_status, parse_status


def reference_state() -> UpsState:
    s = UpsState()
    s.setinfo("ups.status", "OL")
    s.setaux("ups.status", 32)
    s.setflags("ups.status", ["RW", "STRING"])
    s.setinfo("battery.charge", "100")
    s.setflags("battery.charge", ["RW"])
    s.setinfo("device.mfr", 'Fake "Quoted" Maker')
    s.setinfo("ups.id", "my")
    s.setaux("ups.id", 16)
    s.setflags("ups.id", ["STRING", "RW"])
    s.addcmd("load.off")
    return s


def test_dumpall_exactly_as_nut() -> None:
    assert reference_state().dump_lines(stale=False) == [
        'SETINFO battery.charge "100"',
        "SETFLAGS battery.charge RW",
        'SETINFO device.mfr "Fake \\"Quoted\\" Maker"',
        'SETINFO ups.id "my"',
        "SETAUX ups.id 16",
        "SETFLAGS ups.id RW STRING",
        'SETINFO ups.status "OL"',
        "SETAUX ups.status 32",
        "SETFLAGS ups.status RW STRING",
        "ADDCMD load.off",
        "DATAOK",
        "DUMPDONE",
    ]
    assert reference_state().dump_lines(stale=True)[0] == "DATASTALE"
    assert "DATAOK" not in reference_state().dump_lines(stale=True)


def test_immutable_and_missing() -> None:
    s = UpsState()
    assert not s.setflags("nope", ["RW"]) and not s.addenum("nope", "x") and not s.setaux("nope", 1)
    s.setinfo("x", "1")
    s.set_immutable("x")
    assert not s.setinfo("x", "2")
    # NUT 2.8.0 refuses SETFLAGS (and DELINFO) on an immutable variable too
    assert not s.setflags("x", ["RW"]) and not s.delinfo("x")
    assert s.get("x").flags == Flag.IMMUTABLE  # type: ignore[union-attr]


def test_range_duplicate_quirk_and_number_flag() -> None:
    s = UpsState()
    s.setinfo("v", "5")
    assert s.addrange("v", 1, 10)
    assert not s.addrange("v", 1, 20)  # shares the minimum
    assert not s.addrange("v", 5, 10)  # shares the maximum
    assert not s.addrange("v", 9, 3)  # min > max
    assert s.addrange("v", 20, 30)
    assert s.get("v").flags & Flag.NUMBER  # type: ignore[union-attr]
    assert s.delrange("v", 20, 99)  # deletes the first range matching either bound
    assert s.get("v").ranges == [(1, 10)]  # type: ignore[union-attr]
    assert s.type_words("v") == "RANGE NUMBER"


def test_enums_stored_encoded_and_types() -> None:
    s = UpsState()
    s.setinfo("e", "a")
    s.setflags("e", ["RW", "STRING"])
    s.setaux("e", 16)
    assert s.addenum("e", 'x"y') and not s.addenum("e", 'x"y')
    assert s.get("e").enums == ['x\\"y']  # type: ignore[union-attr]
    assert 'ADDENUM e "x\\"y"' in s.dump_lines(False)
    assert s.type_words("e") == "RW ENUM STRING:16"
    s.setinfo("plain", "text")
    assert s.type_words("plain") == "NUMBER"
    assert s.type_words("absent") is None


def test_descriptions() -> None:
    t = cmdvartab.default()
    assert (len(t.vars), len(t.cmds)) == (167, 36)
    assert t.var("ups.status") == "UPS status" and t.var("UPS.STATUS") == "UPS status"
    assert t.cmd("load.off") == "Turn off the load immediately"
    assert t.var("bogus.x") == "Description unavailable" == t.cmd("bogus")
    missing = cmdvartab.from_datapath("/nonexistent")
    assert missing.var("ups.status") == "Description unavailable" and missing.problem


def test_status_words() -> None:
    assert parse_status("ol chrg") == ("OL", "CHRG")
    assert build_status(["OB", "LB", "OB DISCHRG"]) == "OB LB DISCHRG"
    assert build_status(["OL"], alarm=True) == "ALARM OL"


names = st.sampled_from(["a", "A", "b.c", "B.C", "ups.status", "Ups.Status", "z", "a.b"])


@settings(max_examples=200)
@given(
    st.lists(
        st.tuples(st.sampled_from(["set", "del", "cmd", "delcmd"]), names, st.text(max_size=5))
    )
)
def test_random_operations_keep_order(ops: list[tuple[str, str, str]]) -> None:
    s = UpsState()
    for op, name, value in ops:
        if op == "set":
            s.setinfo(name, value)
        elif op == "del":
            s.delinfo(name)
        elif op == "cmd":
            s.addcmd(name)
        else:
            s.delcmd(name)
        assert [v.name.lower() for v in s] == sorted(v.name.lower() for v in s)
        assert [c.lower() for c in s.commands()] == sorted(c.lower() for c in s.commands())
