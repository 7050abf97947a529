"""upssched.conf model: settings, AT rules, matching and NUT's ordering rule."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nutwist.config import upssched
from nutwist.config.base import Source
from nutwist.config.diagnostics import Diagnostic, Level

SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "data" / "conf-samples"
DEBIAN = Path("/etc/nut/upssched.conf")

HEAD = "CMDSCRIPT /bin/cmd\nPIPEFN /run/nut/upssched.pipe\nLOCKFN /run/nut/upssched.lock\n"


def sched(text: str) -> upssched.UpsschedConf:
    return upssched.parse(Source.from_text(text, "upssched.conf"))


def errors(conf: upssched.UpsschedConf) -> list[Diagnostic]:
    return [d for d in conf.diagnostics if d.level is Level.ERROR]


def test_settings_and_rules() -> None:
    s = sched(
        HEAD + "DEBUG_MIN 2\n"
        "AT ONBATT * START-TIMER onbatt 30\n"
        "AT ONLINE ups1@host CANCEL-TIMER onbatt online\n"
        'AT COMMBAD * EXECUTE "commbad now"\n'
        "AT LOWBATT ups1@host START-TIMER-SHARED low 5\n"
        "AT online * CANCEL-TIMER-MATCHED low\n"
        "AT ONLINE * CANCEL-TIMER onbatt\n"
    )
    assert [str(d) for d in s.diagnostics] == []
    assert (s.cmdscript, s.pipefn, s.lockfn, s.debug_min) == (
        "/bin/cmd",
        "/run/nut/upssched.pipe",
        "/run/nut/upssched.lock",
        2,
    )
    assert s.rules[0] == upssched.AtRule(5, "ONBATT", "*", "START-TIMER", ("onbatt", "30"))
    assert s.rules[2].args == ("commbad now",)
    assert [r.lineno for r in s.rules] == [5, 6, 7, 8, 9, 10]


def test_matching_type_any_case_and_ups_exact_or_star() -> None:
    s = sched(
        HEAD + "AT ONBATT * START-TIMER onbatt 30\n"
        "AT ONLINE ups1@host CANCEL-TIMER onbatt online\n"
        "AT online * CANCEL-TIMER-MATCHED low\n"
        "AT ONLINE UPS1@host EXECUTE shouted\n"
    )
    assert [r.action for r in s.matching("onbatt", "anything")] == ["START-TIMER"]
    assert [r.lineno for r in s.matching("ONLINE", "ups1@host")] == [5, 6]
    assert [r.lineno for r in s.matching("Online", "ups2@host")] == [6]
    assert [r.lineno for r in s.matching("ONLINE", "UPS1@host")] == [6, 7]
    assert [r.lineno for r in s.matching("ONLINE", "ups1")] == [6]
    assert s.matching("LOWBATT", "ups1@host") == []


def test_rule_accessors() -> None:
    s = sched(
        HEAD + "AT ONBATT * START-TIMER t 30\nAT ONLINE * CANCEL-TIMER t late\n"
        "AT ONLINE * CANCEL-TIMER-MATCHED t\nAT FSD * EXECUTE fsd\n"
        "AT LOWBATT * START-TIMER-SHARED s +0\n"
    )
    got = [(r.timer, r.seconds, r.command) for r in s.rules]
    assert got == [("t", 30, None), ("t", None, "late"), ("t", None, None), (None, None, "fsd"),
                   ("s", 0, None)]  # fmt: skip


# --- NUT's ordering rule ---------------------------------------------------------


@pytest.mark.parametrize(
    ("head", "missing"),
    [
        ("", "CMDSCRIPT, PIPEFN and LOCKFN"),
        ("CMDSCRIPT /bin/cmd\n", "PIPEFN and LOCKFN"),
        ("CMDSCRIPT /bin/cmd\nPIPEFN /p\n", "LOCKFN"),
        ("PIPEFN /p\nLOCKFN /l\n", "CMDSCRIPT"),
    ],
)
def test_at_before_the_three_settings_is_fatal(head: str, missing: str) -> None:
    text = "# comment\n" + head + "AT ONBATT * START-TIMER x 30\n" + HEAD
    s = sched(text)
    (e,) = errors(s)
    assert e.fatal and e.line == 2 + head.count("\n")
    assert e.message.startswith(f"{missing} must be set before any AT line")
    assert s.rules == []


def test_order_applies_to_every_at_line_even_a_malformed_one() -> None:
    s = sched("AT ONBATT * FROB x\nAT ONBATT * EXECUTE\n" + HEAD)
    assert [(d.line, d.fatal) for d in errors(s)] == [(1, True), (2, False)]


def test_debian_style_stock_file_is_clean() -> None:
    s = sched(
        "# comments\nCMDSCRIPT /bin/upssched-cmd\n"
        "# PIPEFN /run/nut/upssched/upssched.pipe\n# LOCKFN /run/nut/upssched/upssched.lock\n"
    )
    assert [str(d) for d in s.diagnostics] == [] and s.rules == []
    assert (s.cmdscript, s.pipefn, s.lockfn) == ("/bin/upssched-cmd", None, None)


# --- malformed lines -------------------------------------------------------------

MALFORMED = [
    ("AT ONBATT *", "AT: expected 'AT <notifytype> <upsname|*> <action>"),
    ("AT", "AT: expected"),
    (
        "AT ONBATT * START-TIMER x",
        "expected 'AT <notifytype> <upsname|*> START-TIMER <timername> <seconds>'",
    ),
    ("AT ONBATT * START-TIMER x 1 2", "START-TIMER <timername> <seconds>"),
    ("AT ONBATT * START-TIMER x soon", "AT START-TIMER seconds: expected a whole number"),
    (
        "AT ONBATT * START-TIMER-SHARED x -1",
        "AT START-TIMER-SHARED seconds: expected a number >= 0",
    ),
    ("AT ONBATT * CANCEL-TIMER", "CANCEL-TIMER <timername> [<command>]"),
    ("AT ONBATT * CANCEL-TIMER a b c", "CANCEL-TIMER <timername> [<command>]"),
    ("AT ONBATT * CANCEL-TIMER-MATCHED a b c", "CANCEL-TIMER-MATCHED <timername> [<command>]"),
    ("AT ONBATT * EXECUTE two words", "EXECUTE <command>"),
    ("AT ONBATT * FROB x", "AT: unknown action 'FROB': expected one of START-TIMER"),
    ("AT ONBATT * start-timer x 5", "(actions are upper-case)"),
    ("CMDSCRIPT /usr/bin/sudo /bin/cmd", "CMDSCRIPT: expected 'CMDSCRIPT <path>'"),
    ("PIPEFN", "PIPEFN: expected 'PIPEFN <path>'"),
    ("DEBUG_MIN x", "DEBUG_MIN: expected a whole number"),
    ('AT ONBATT * EXECUTE "a#b"', "Unbalanced word due to unescaped # in quotes"),
]


@pytest.mark.parametrize(("line", "fragment"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_line_gives_one_error_on_its_line(line: str, fragment: str) -> None:
    s = sched(HEAD + line + "\nAT ONLINE * EXECUTE ok\n")
    (e,) = errors(s)
    assert e.line == 4 and not e.fatal and fragment in e.message, str(e)
    assert [r.lineno for r in s.rules] == [5]


def test_unknown_directive_and_notify_type_warn() -> None:
    s = sched(HEAD + "FROB 1\ncmdscript /x\nAT ONBAT * EXECUTE typo\n")
    assert [str(d) for d in s.diagnostics] == [
        "upssched.conf:4: warning: unknown directive 'FROB'",
        "upssched.conf:5: warning: unknown directive 'cmdscript' "
        "(directive names are case-sensitive: CMDSCRIPT)",
        "upssched.conf:6: warning: AT: 'ONBAT' is not a notify type upsmon sends; "
        "this line never runs",
    ]
    assert s.cmdscript == "/bin/cmd" and len(s.rules) == 1


# --- real files ------------------------------------------------------------------


def test_nut_sample_upssched() -> None:
    path = SAMPLES / "upssched.conf.sample.in"
    if not path.exists():
        pytest.skip("shared samples absent")
    s = upssched.load(str(path))
    assert [str(d) for d in s.diagnostics] == []
    assert s.cmdscript == "@BINDIR@/upssched-cmd" and s.rules == []


def test_debian_upssched_conf() -> None:
    if not DEBIAN.exists():
        pytest.skip("Debian's nut-client is not installed")
    try:
        s = upssched.load(str(DEBIAN))
    except PermissionError:
        pytest.skip("cannot read /etc/nut/upssched.conf")
    assert [str(d) for d in s.diagnostics] == []
    assert s.cmdscript == "/bin/upssched-cmd" and s.rules == []


# --- never a traceback -----------------------------------------------------------

WORDS = st.sampled_from(
    ["AT", "CMDSCRIPT", "PIPEFN", "LOCKFN", "DEBUG_MIN", "at", "ONBATT", "online", "*", "ups",
     "START-TIMER", "START-TIMER-SHARED", "CANCEL-TIMER", "CANCEL-TIMER-MATCHED", "EXECUTE",
     "x", "5", "-5", "=", '"a b"']
)  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=1500))
def test_arbitrary_bytes_never_raise(data: bytes) -> None:
    s = upssched.parse(Source("f", data))
    s.matching("ONBATT", "ups")


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(WORDS, min_size=1, max_size=7).map(" ".join), max_size=12))
def test_directive_soup_never_raises(lines: list[str]) -> None:
    s = sched("\n".join(lines) + "\n")
    for rule in s.matching("ONBATT", "ups"):
        assert (rule.timer, rule.seconds, rule.command) is not None
