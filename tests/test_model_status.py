"""ups.status words (nutwist.model.status)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from nutwist.model.status import TOKENS, UPSD_TOKENS, StatusBuilder, build_status, parse_status


def test_every_token_has_a_one_line_meaning() -> None:
    expected = "OL OB LB HB RB CHRG DISCHRG BYPASS CAL OFF OVER TRIM BOOST FSD ALARM ECO WAIT"
    assert set(TOKENS) == set(expected.split())
    assert all(meaning and "\n" not in meaning for meaning in TOKENS.values())
    assert sorted(UPSD_TOKENS) == ["FSD", "WAIT"]


def test_parse_status() -> None:
    assert parse_status("ol chrg") == ("OL", "CHRG")
    assert parse_status("  FSD\tOB  LB ") == ("FSD", "OB", "LB")
    assert parse_status("") == ()


def test_words_in_set_order_once_each() -> None:
    b = StatusBuilder()
    b.init()
    b.set("OB")
    b.set("LB")
    b.set("OB DISCHRG")
    assert b.commit() == "OB LB DISCHRG"
    assert "LB" in b and "OL" not in b
    assert b.words() == ("OB", "LB", "DISCHRG")
    b.init()
    assert b.commit() == ""


def test_alarm_goes_first() -> None:
    b = StatusBuilder()
    b.set("OL")
    b.set("ALARM")
    assert b.commit() == "OL ALARM"  # a legacy driver's own ALARM stays where it put it
    assert b.commit(alarm=True) == "ALARM OL"
    assert build_status(["OL", "CHRG"], alarm=True) == "ALARM OL CHRG"


def test_alarm_alone_keeps_nut_trailing_space() -> None:
    # NUT 2.8.0 writes "ALARM %s" with an empty status buffer
    assert build_status([], alarm=True) == "ALARM "


def test_ignorelb() -> None:
    b = StatusBuilder(ignorelb=True)
    b.set("OB LB")
    b.set("lb")
    assert b.commit() == "OB"
    assert b.commit(low_battery=True) == "OB LB"
    assert b.commit(alarm=True, low_battery=True) == "ALARM OB LB"
    assert StatusBuilder().commit(low_battery=True) == ""  # only with ignorelb
    assert build_status(["OL", "LB"]) == "OL LB"


@given(st.lists(st.sampled_from(sorted(TOKENS)), max_size=10))
def test_round_trip(words: list[str]) -> None:
    status = build_status(words)
    assert parse_status(status) == tuple(dict.fromkeys(words))
