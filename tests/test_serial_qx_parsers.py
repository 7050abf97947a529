"""nutdrv_qx's reply handling never raises, whatever the device answers (fuzzed).

The driver runs on a fake line and a ``task.Clock``: each command gets the
answer a Hypothesis strategy draws (garbage, partial answers, silence, an echo
of the command), through the init walk, quick and full updates, instant
commands and settings.  Anything but DeviceError escaping is a bug.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from twisted.internet import defer, task

from nutwist.drivers.core import DeviceError
from nutwist.drivers.qx import NutdrvQx
from nutwist.drivers.qx.cstr import strtod, strtol

GOOD = {
    "Q1\r": "(230.0 195.0 230.0 014 50.0 27.3 30.0 00001000\r",
    "F\r": "#230.0 004 024.0 50.0\r",
    "I\r": "#FakeMegatec     FAKE-UPS   V1.0      \r",
}


class _Line:
    def set_dtr(self, on: bool) -> None:
        pass

    def set_rts(self, on: bool) -> None:
        pass

    def close(self) -> None:
        pass


class FakeQx(NutdrvQx):
    def __init__(self, answer: Any, **kw: Any) -> None:
        self.clk = task.Clock()
        super().__init__("ups", None, clock=self.clk, extra=[("port", "/dev/null"), *kw.items()])
        self.answer = answer
        self.sent: list[str] = []

    def open_port(self) -> Any:
        return _Line()

    async def qx_command(self, cmd: str) -> tuple[int, str]:
        self.sent.append(cmd)
        got = self.answer(cmd)
        if got is None:
            return -1, ""
        return len(got), got


def run(d: defer.Deferred[Any], clock: task.Clock) -> Any:
    for _ in range(10):
        if d.called:
            break
        clock.advance(1)
    results: list[Any] = []
    d.addBoth(results.append)
    assert results, "the driver never finished"
    return results[0]


def exercise(drv: FakeQx) -> None:
    from twisted.python.failure import Failure

    got = run(drv.initinfo(), drv.clk)
    if isinstance(got, Failure):
        got.trap(DeviceError)
        return
    for _ in range(3):
        drv.clk.advance(31)
        got = run(drv.updateinfo(), drv.clk)
        if isinstance(got, Failure):
            got.trap(DeviceError)
    for cmd in ("shutdown.return", "test.battery.start", "load.on", "beeper.off", "nope"):
        assert isinstance(run(drv.instcmd(cmd, None), drv.clk), int)
    assert isinstance(run(drv.setvar("ups.delay.shutdown", "42"), drv.clk), int)
    for v in drv.state.variables():
        assert isinstance(v.raw, str)


#: edits favour the characters the parsers look at
_edit_chars = st.one_of(
    st.sampled_from(list("0123456789 .(#\r\n\x001-")), st.characters(max_codepoint=255)
)

answers = st.one_of(
    st.none(),
    st.just(""),
    st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=255), max_size=80),
    st.sampled_from(list(GOOD.values())).flatmap(
        lambda good: st.integers(0, len(good)).map(lambda n: good[:n])
    ),
    st.sampled_from(list(GOOD.values())).flatmap(
        lambda good: st.lists(
            st.tuples(st.integers(0, len(good) - 1), _edit_chars), max_size=6
        ).map(lambda edits: _edit(good, edits))
    ),
)


def _edit(s: str, edits: list[tuple[int, str]]) -> str:
    chars = list(s)
    for i, c in edits:
        chars[i] = c
    return "".join(chars)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(["Q1\r", "F\r", "I\r", "other"]), answers))
def test_garbage_replies_never_raise(table: dict[str, str | None]) -> None:
    def answer(cmd: str) -> str | None:
        return table.get(cmd, table.get("other", ""))

    exercise(FakeQx(answer, protocol="megatec"))
    exercise(FakeQx(answer))


#: good answers of the other subdrivers, as their simulators give them
OTHER_GOOD = {
    "M\r": "V\r",
    "QS\r": "(230.0 195.0 230.0 014 50.0 27.3 30.0 00001000\r",
    "ID\r": "FOR,750,120,120,20.0,27.6\r",
    "RT\r": "015\r",
    "BP?\r": "02\r",
    "SS?\r": "0\r",
    "QPI\r": "(PI98\r",
    "D\r": "(230.0 195.0 230.0 014 50.0 27.3 30.0 00001000\r",
    "FW?\r": "#FakeMegatec     FAKE-UPS   V1.0      \r",
}
HEX_QS = "#\x6c\x01 \x35 \x6c\x01 \x35 \x28\x00 \x51\x9a \x28\x02\x12\xd0 \xe6 \x1e \x09 \x2b\r"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(
        [
            "voltronic-qs",
            "voltronic-qs-hex",
            "mustek",
            "megatec/old",
            "bestups",
            "mecer",
            "zinto",
            "hunnox",
        ]
    ),
    st.sampled_from([*OTHER_GOOD, "Q1\r", "F\r", "I\r", "QS-hex", "M-hex"]),
    answers,
)
def test_each_subdriver_survives_garbage(protocol: str, broken: str, garbage: str | None) -> None:
    good = {**GOOD, **OTHER_GOOD}
    if protocol == "voltronic-qs-hex":
        good["QS\r"], good["M\r"] = HEX_QS, "T\r"
    key = {"QS-hex": "QS\r", "M-hex": "M\r"}.get(broken, broken)

    def answer(cmd: str) -> str | None:
        return garbage if cmd == key else good.get(cmd, "")

    exercise(FakeQx(answer, protocol=protocol))


@settings(max_examples=100, deadline=None)
@given(st.lists(answers, min_size=1, max_size=40))
def test_changing_replies_never_raise(seq: list[str | None]) -> None:
    it = iter(seq * 20)

    def answer(cmd: str) -> str | None:
        return next(it, GOOD.get(cmd, ""))

    exercise(FakeQx(answer))


def test_echoing_device_is_not_claimed() -> None:
    drv = FakeQx(lambda cmd: cmd)
    got = run(drv.initinfo(), drv.clk)
    assert got.check(DeviceError) and "not supported" in got.getErrorMessage()


def test_silent_device_goes_stale_after_three_more_polls() -> None:
    state = {"alive": True}
    drv = FakeQx(lambda cmd: GOOD.get(cmd, "") if state["alive"] else "", protocol="megatec")
    run(drv.initinfo(), drv.clk)
    run(drv.updateinfo(), drv.clk)
    assert not drv.stale
    state["alive"] = False
    stale_at = None
    for n in range(1, 8):
        run(drv.updateinfo(), drv.clk)
        if drv.stale:
            stale_at = n
            break
    assert stale_at == 5
    state["alive"] = True
    run(drv.updateinfo(), drv.clk)
    assert not drv.stale


@given(st.text(max_size=20))
def test_c_number_parsing_never_raises(s: str) -> None:
    assert isinstance(strtod(s), float)
    assert isinstance(strtol(s), int)
    assert isinstance(strtol(s, 16), int)
