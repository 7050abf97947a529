"""The state tree (nutwist.model.state) against NUT 2.8.0's rules."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nutwist.config.tokenizer import quote, split
from nutwist.model.state import Flag, UpsState, Variable, atoi, fold, strtol


def reference_state() -> UpsState:
    """A state whose DUMPALL, in NUT 2.8.0's order (variables sorted, each with its SETAUX and
    SETFLAGS, then the commands, DATAOK, DUMPDONE), is REFERENCE_DUMP."""
    s = UpsState()
    s.setinfo("ups.status", "OL")
    s.setaux("ups.status", 32)
    s.setflags("ups.status", ["RW", "STRING"])
    s.setinfo("battery.charge", "100")
    s.setflags("battery.charge", ["RW"])
    s.setinfo("device.mfr", "Fake Quoted Maker")
    s.setinfo("ups.id", "my")
    s.setaux("ups.id", 16)
    s.setflags("ups.id", ["STRING", "RW"])
    s.addcmd("load.off")
    return s


REFERENCE_DUMP = [
    'SETINFO battery.charge "100"',
    "SETFLAGS battery.charge RW",
    'SETINFO device.mfr "Fake Quoted Maker"',
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


def test_dumpall_reference_example() -> None:
    assert reference_state().dump_lines(stale=False) == REFERENCE_DUMP


def test_dumpall_stale() -> None:
    assert reference_state().dump_lines(stale=True) == [
        "DATASTALE",
        *REFERENCE_DUMP[:-2],
        "DUMPDONE",
    ]


def test_dumpall_empty() -> None:
    assert UpsState().dump_lines(stale=False) == ["DATAOK", "DUMPDONE"]
    assert UpsState().dump_lines(stale=True) == ["DATASTALE", "DUMPDONE"]


def test_dumpall_as_captured_from_nut_dummy_ups_with_overrides() -> None:
    # NUT 2.8.0's dummy-ups, ups.conf: override.battery.charge = 50, override.ups.foo = x
    # (its file then tried battery.charge: 100, refused as the variable is immutable)
    s = UpsState()
    for var, value in (("battery.charge", "50"), ("ups.foo", "x")):
        s.setinfo(var, value)
        s.set_immutable(var)
    for var, value in (
        ("ups.mfr", "Dummy Manufacturer"),
        ("ups.model", "Dummy UPS"),
        ("ups.status", "OL"),
    ):
        s.setinfo(var, value)
        s.setflags(var, ["RW", "STRING"])
        s.setaux(var, 32)
    s.addcmd("load.off")
    for var, value in (
        ("device.type", "ups"),
        ("driver.name", "dummy-ups"),
        ("driver.parameter.mode", "dummy-once"),
        ("driver.parameter.pollinterval", "2"),
        ("driver.parameter.port", "ups.dev"),
        ("driver.parameter.synchronous", "auto"),
        ("driver.version", "2.8.0"),
        ("driver.version.internal", "0.15"),
        ("ups.mfr", "Fake"),
        ("device.mfr", "Fake"),
        ("device.model", "Dummy UPS"),
        ("ups.status", "OL OL CHRG OL"),
    ):
        s.setinfo(var, value)
    assert not s.setinfo("battery.charge", "100")
    assert not s.setflags("battery.charge", ["RW", "NUMBER"])
    assert s.dump_lines(stale=False) == [
        'SETINFO battery.charge "50"',
        "SETFLAGS battery.charge",
        'SETINFO device.mfr "Fake"',
        'SETINFO device.model "Dummy UPS"',
        'SETINFO device.type "ups"',
        'SETINFO driver.name "dummy-ups"',
        'SETINFO driver.parameter.mode "dummy-once"',
        'SETINFO driver.parameter.pollinterval "2"',
        'SETINFO driver.parameter.port "ups.dev"',
        'SETINFO driver.parameter.synchronous "auto"',
        'SETINFO driver.version "2.8.0"',
        'SETINFO driver.version.internal "0.15"',
        'SETINFO ups.foo "x"',
        "SETFLAGS ups.foo",
        'SETINFO ups.mfr "Fake"',
        "SETAUX ups.mfr 32",
        "SETFLAGS ups.mfr RW STRING",
        'SETINFO ups.model "Dummy UPS"',
        "SETAUX ups.model 32",
        "SETFLAGS ups.model RW STRING",
        'SETINFO ups.status "OL OL CHRG OL"',
        "SETAUX ups.status 32",
        "SETFLAGS ups.status RW STRING",
        "ADDCMD load.off",
        "DATAOK",
        "DUMPDONE",
    ]


def test_dump_escapes_values_and_enums_and_keeps_order_per_variable() -> None:
    s = UpsState()
    s.setinfo("x.y", 'a"b\\c#d')
    s.setflags("x.y", ["NUMBER", "STRING", "RW"])
    s.setaux("x.y", 20)
    s.addenum("x.y", 'q"1')
    s.addenum("x.y", "plain")
    s.addrange("x.y", 1, 5)
    s.addrange("x.y", -3, 0)
    assert s.dump_lines(stale=False) == [
        'SETINFO x.y "a\\"b\\\\c\\#d"',
        'ADDENUM x.y "q\\"1"',
        'ADDENUM x.y "plain"',
        "ADDRANGE x.y 1 5",
        "ADDRANGE x.y -3 0",
        "SETAUX x.y 20",
        "SETFLAGS x.y RW STRING NUMBER",
        "DATAOK",
        "DUMPDONE",
    ]


def test_dump_words_match_dump_lines() -> None:
    s = reference_state()
    s.setinfo("q", 'he said "hi" # \\')
    s.addenum("q", 'x"y')
    s.addrange("q", 1, 2)
    s.set_immutable("battery.charge")
    quoted = {"SETINFO", "ADDENUM"}
    rebuilt = [
        " ".join([*w[:-1], quote(w[-1])]) if w[0] in quoted else " ".join(w) for w in s.dump_words()
    ]
    assert rebuilt == s.dump_lines(stale=False)[:-2]


def test_dump_replayed_by_upsd_gives_the_same_tree() -> None:
    s = reference_state()
    s.setinfo("e", 'v"1')
    s.addenum("e", 'v"1')
    s.addenum("e", "v#2")
    s.addrange("e", 0, 10)
    copy = UpsState()
    for line in s.dump_lines(stale=False):
        replay(copy, split(line))
    assert copy.dump_lines(stale=False) == s.dump_lines(stale=False)


def replay(s: UpsState, words: list[str]) -> None:
    """What upsd does with a driver's message (sstate.c), on our tree."""
    verb, args = words[0], words[1:]
    if verb == "SETINFO":
        s.setinfo(args[0], args[1])
    elif verb == "ADDENUM":
        s.addenum(args[0], args[1])
    elif verb == "ADDRANGE":
        s.addrange(args[0], atoi(args[1]), atoi(args[2]))
    elif verb == "SETAUX":
        s.setaux(args[0], atoi(args[1]))
    elif verb == "SETFLAGS":
        s.setflags(args[0], args[1:])
    elif verb == "ADDCMD":
        s.addcmd(args[0])


# --- order and case ---------------------------------------------------------------


def test_list_order_is_case_insensitive() -> None:
    s = UpsState()
    for name in (
        "ups.Status",
        "battery.charge",
        "UPS.load",
        "input.voltage",
        "ambient.1.temperature",
    ):
        s.setinfo(name, "1")
    assert [v.name for v in s] == [
        "ambient.1.temperature",
        "battery.charge",
        "input.voltage",
        "UPS.load",
        "ups.Status",
    ]
    assert [v.name for v in s.variables()] == [v.name for v in s]


def test_order_lowercases_before_comparing() -> None:
    # strcasecmp lower-cases: '_' (0x5f) sorts before every letter, '.' before digits
    s = UpsState()
    for name in ("upsZ", "ups_x", "ups.a", "ups1", "UPSa"):
        s.setinfo(name, "")
    assert [v.name for v in s] == ["ups.a", "ups1", "ups_x", "UPSa", "upsZ"]


def test_lookup_ignores_case_and_keeps_the_first_spelling() -> None:
    s = UpsState()
    assert s.setinfo("ups.Status", "OL")
    assert s.getinfo("UPS.STATUS") == "OL"
    assert "ups.status" in s and "UPS.STATUS" in s and "ups.other" not in s
    assert s.setinfo("UPS.STATUS", "OB")
    v = s.get("ups.status")
    assert v is not None and v.name == "ups.Status" and v.raw == "OB"
    assert len(s) == 1
    assert s.delinfo("UPS.status") and len(s) == 0 and s.get("ups.Status") is None


def test_case_only_change_is_not_a_change() -> None:
    s = UpsState()
    assert s.setinfo("ups.status", "OL")
    assert not s.setinfo("ups.status", "OL")
    assert not s.setinfo("ups.status", "ol")
    assert s.getinfo("ups.status") == "OL"
    assert s.setinfo("ups.status", "OL ")
    assert s.setinfo("ups.status", "OB")


def test_only_ascii_letters_fold() -> None:
    # strcasecmp in the C locale leaves bytes outside ASCII alone
    s = UpsState()
    s.setinfo("x", "É")
    assert s.setinfo("x", "é")
    assert fold("ÉA.b") == "Éa.b"
    assert fold("UPS.Status") == "ups.status"


def test_commands_sorted_case_insensitive_without_duplicates() -> None:
    s = UpsState()
    for c in ("test.battery.start", "Load.off", "beeper.toggle", "shutdown.return"):
        assert s.addcmd(c)
    assert not s.addcmd("load.off") and not s.addcmd("LOAD.OFF")
    assert list(s.commands()) == [
        "beeper.toggle",
        "Load.off",
        "shutdown.return",
        "test.battery.start",
    ]
    assert s.getcmd("LOAD.OFF") == "Load.off" and s.getcmd("load.on") is None
    assert s.delcmd("load.OFF") and not s.delcmd("load.off")
    assert list(s.commands()) == ["beeper.toggle", "shutdown.return", "test.battery.start"]
    assert s.dump_lines(stale=False)[:3] == [
        "ADDCMD beeper.toggle",
        "ADDCMD shutdown.return",
        "ADDCMD test.battery.start",
    ]


def test_iteration_is_a_snapshot() -> None:
    s = UpsState()
    for name in "abcdef":
        s.setinfo(name, "1")
    seen = []
    for v in s:
        seen.append(v.name)
        s.delinfo(v.name)
        s.setinfo(v.name + "z", "2")
    assert seen == list("abcdef")
    assert [v.name for v in s] == [c + "z" for c in "abcdef"]
    cmds = s.commands()
    s.addcmd("x")
    assert list(cmds) == [] and list(s.commands()) == ["x"]


# --- values, flags, aux ----------------------------------------------------------------


def test_value_is_the_escaped_raw() -> None:
    s = UpsState()
    s.setinfo("a", 'x"y\\z#')
    v = s.get("a")
    assert v is not None and v.raw == 'x"y\\z#' and v.value == 'x\\"y\\\\z\\#'
    s.setinfo("a", "plain")
    assert v.value == "plain" and v.value is v.raw  # nothing escaped: shared, as NUT shares it


def test_setflags_replaces_and_reports_changes() -> None:
    s = UpsState()
    s.setinfo("v", "1")
    assert s.setflags("v", ["RW", "BOGUS", "string"])
    assert s.getflags("v") == Flag.RW | Flag.STRING
    assert not s.setflags("v", ["STRING", "RW"])
    assert s.setflags("v", ["NUMBER"])
    assert s.getflags("v") == Flag.NUMBER
    assert not s.setflags("v", ["IMMUTABLE", "NUMBER"])  # IMMUTABLE has no word
    assert s.setflags("v", [])
    assert s.getflags("v") == Flag(0)
    assert s.dump_lines(stale=False) == ['SETINFO v "1"', "DATAOK", "DUMPDONE"]


def test_setaux_reports_changes() -> None:
    s = UpsState()
    s.setinfo("v", "1")
    assert s.setaux("v", 16) and not s.setaux("v", 16) and s.getaux("v") == 16
    assert s.setaux("v", 0) and s.getaux("v") == 0


def test_operations_on_a_missing_variable_change_nothing() -> None:
    s = UpsState()
    assert not s.setflags("nope", ["RW"])
    assert not s.setaux("nope", 1)
    assert not s.addenum("nope", "x")
    assert not s.delenum("nope", "x")
    assert not s.addrange("nope", 1, 2)
    assert not s.delrange("nope", 1, 2)
    assert not s.delinfo("nope")
    assert not s.set_immutable("nope")
    assert s.getinfo("nope") is None and s.getflags("nope") is None
    assert s.getaux("nope") is None and s.getenums("nope") is None
    assert s.getranges("nope") is None and s.type_words("nope") is None
    assert len(s) == 0 and s.dump_lines(stale=False) == ["DATAOK", "DUMPDONE"]


def test_immutable_variables() -> None:
    s = UpsState()
    s.setinfo("x", "1")
    assert s.set_immutable("x") and not s.set_immutable("x")
    assert not s.setinfo("x", "2") and s.getinfo("x") == "1"
    assert not s.delinfo("x") and "x" in s
    assert not s.setflags("x", ["RW"]) and s.getflags("x") == Flag.IMMUTABLE
    assert s.setaux("x", 5)  # dstate_setaux does not look at IMMUTABLE
    assert s.addrange("x", 1, 9) and s.getflags("x") == Flag.IMMUTABLE
    assert s.dump_lines(stale=False) == [
        'SETINFO x "1"',
        "ADDRANGE x 1 9",
        "SETAUX x 5",
        "SETFLAGS x",
        "DATAOK",
        "DUMPDONE",
    ]


# --- enums and ranges ----------------------------------------------------------------------


def test_enums_stored_escaped_in_insertion_order() -> None:
    s = UpsState()
    s.setinfo("e", "a")
    assert s.addenum("e", 'x"y') and not s.addenum("e", 'x"y')
    assert s.addenum("e", "b") and s.addenum("e", "B")  # strcmp: case matters here
    assert s.getenums("e") == ('x\\"y', "b", "B")
    assert 'ADDENUM e "x\\"y"' in s.dump_lines(stale=False)


def test_delenum_compares_unescaped_value_ignoring_case() -> None:
    s = UpsState()
    s.setinfo("e", "a")
    for value in ("b", "B", 'q"', "c"):
        s.addenum("e", value)
    assert s.delenum("e", "B")  # the first match ignoring case is "b"
    assert s.getenums("e") == ("B", 'q\\"', "c")
    assert not s.delenum("e", 'q"')  # NUT compares against the stored escaped form
    assert s.delenum("e", 'q\\"')
    assert s.delenum("e", "b") and s.delenum("e", "C")
    assert s.getenums("e") == ()
    assert s.type_words("e") == "NUMBER"


def test_range_duplicate_quirk_and_number_flag() -> None:
    s = UpsState()
    s.setinfo("v", "5")
    assert s.addrange("v", 1, 10)
    assert s.getflags("v") == Flag.NUMBER
    assert not s.addrange("v", 1, 20)  # shares the minimum
    assert not s.addrange("v", 5, 10)  # shares the maximum
    assert not s.addrange("v", 9, 3)  # min > max
    assert s.addrange("v", 20, 30)
    assert s.addrange("v", 7, 7)
    assert s.getranges("v") == ((1, 10), (20, 30), (7, 7))
    assert s.delrange("v", 20, 99)  # the first range matching either bound goes
    assert s.delrange("v", 0, 10)
    assert s.getranges("v") == ((7, 7),)
    assert not s.delrange("v", 1, 2)
    assert s.delrange("v", 7, 7) and s.getranges("v") == ()


def test_addrange_adds_number_to_other_flags() -> None:
    s = UpsState()
    s.setinfo("v", "5")
    s.setflags("v", ["RW"])
    s.addrange("v", 0, 5)
    assert s.getflags("v") == Flag.RW | Flag.NUMBER


# --- GET TYPE ---------------------------------------------------------------------------------


def test_type_words() -> None:
    s = UpsState()
    s.setinfo("ups.id", "my")
    s.setflags("ups.id", ["RW", "STRING"])
    s.setaux("ups.id", 16)
    assert s.type_words("ups.id") == "RW STRING:16"
    s.setinfo("ups.delay.shutdown", "30")
    s.setflags("ups.delay.shutdown", ["RW"])
    s.addrange("ups.delay.shutdown", 12, 600)
    assert s.type_words("UPS.DELAY.SHUTDOWN") == "RW RANGE NUMBER"
    s.setinfo("driver.name", "dummy-ups")
    assert s.type_words("driver.name") == "NUMBER"
    s.addenum("ups.id", "a")
    assert s.type_words("ups.id") == "RW ENUM STRING:16"
    s.setinfo("s", "")
    s.setflags("s", ["STRING"])
    assert s.type_words("s") == "STRING:0"
    s.addenum("ups.delay.shutdown", "30")
    assert s.type_words("ups.delay.shutdown") == "RW ENUM RANGE NUMBER"


# --- C number parsing ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("42", 42),
        ("  42abc", 42),
        ("\t\n\v\f\r 3", 3),
        ("-7", -7),
        ("+5", 5),
        ("abc", 0),
        ("", 0),
        ("- 3", 0),
        ("²", 0),
        ("2147483647", 2147483647),
        ("2147483648", -2147483648),
        ("4294967296", 0),
        ("99999999999999999999", -1),
        ("-99999999999999999999", 0),
    ],
)
def test_atoi_is_glibc_atoi(text: str, expected: int) -> None:
    assert atoi(text) == expected


def test_strtol_saturates() -> None:
    assert strtol("99999999999999999999") == 2**63 - 1
    assert strtol("-99999999999999999999") == -(2**63)
    assert strtol(" 12x") == 12


# --- memory -------------------------------------------------------------------------------


def test_objects_are_slotted() -> None:
    s = UpsState()
    s.setinfo("a", "1")
    assert not hasattr(s.get("a"), "__dict__") and not hasattr(s, "__dict__")
    assert isinstance(s.get("a"), Variable)


# --- random operations ----------------------------------------------------------------------

NAMES = ["a", "A", "b.c", "B.C", "ups.status", "Ups.Status", "z", "a.b", "a_b", "a1", "UPS_x"]
OPS = [
    "setinfo",
    "delinfo",
    "addcmd",
    "delcmd",
    "setflags",
    "setaux",
    "addenum",
    "delenum",
    "addrange",
    "delrange",
    "immutable",
]
operation = st.tuples(
    st.sampled_from(OPS),
    st.sampled_from(NAMES),
    st.text(alphabet='aAbB"#\\ ', max_size=4),
    st.integers(-3, 3),
    st.integers(-3, 3),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(operation, max_size=60))
def test_random_operations_keep_the_tree_consistent(
    ops: list[tuple[str, str, str, int, int]],
) -> None:
    s = UpsState()
    present: dict[str, str] = {}  # folded name -> first spelling, kept by the test itself
    immutable: set[str] = set()
    cmds: dict[str, str] = {}
    for op, name, value, lo, hi in ops:
        key = name.lower()
        if op == "setinfo":
            s.setinfo(name, value)
            present.setdefault(key, name)
        elif op == "delinfo":
            s.delinfo(name)
            if key not in immutable:
                present.pop(key, None)
        elif op == "addcmd":
            s.addcmd(name)
            cmds.setdefault(key, name)
        elif op == "delcmd":
            s.delcmd(name)
            cmds.pop(key, None)
        elif op == "setflags":
            s.setflags(name, value.split())
        elif op == "setaux":
            s.setaux(name, lo)
        elif op == "addenum":
            s.addenum(name, value)
        elif op == "delenum":
            s.delenum(name, value)
        elif op == "addrange":
            s.addrange(name, lo, hi)
        elif op == "delrange":
            s.delrange(name, lo, hi)
        else:
            s.set_immutable(name)
            if key in present:
                immutable.add(key)

        names = [v.name for v in s]
        assert names == [present[k] for k in sorted(present)]
        assert names == sorted(names, key=str.lower)
        assert all(s.get(v.name.upper()) is v for v in s)
        assert len(s) == len(present)
        assert list(s.commands()) == [cmds[k] for k in sorted(cmds)]
        for v in s:
            assert v.value == v.raw.replace("\\", "\\\\").replace('"', '\\"').replace("#", "\\#")
            assert v.ranges is None or all(a <= b for a, b in v.ranges)
        lines = s.dump_lines(stale=False)
        assert lines[-2:] == ["DATAOK", "DUMPDONE"]
        assert [w for w in lines if w.startswith("SETINFO ")] == [
            f'SETINFO {v.name} "{v.value}"' for v in s
        ]
