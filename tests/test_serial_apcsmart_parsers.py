"""apcsmart's reply handling never raises, whatever the UPS answers (fuzzed).

The driver runs on a fake line and a ``task.Clock``: every command is answered
from a table (or with garbage, or not at all) through start-up (handshake,
command set, capabilities), polls, settings and commands.  Only DeviceError
may come out.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from twisted.internet import defer, task
from twisted.python.failure import Failure

from nutwist.drivers.apcsmart import ApcSmart
from nutwist.drivers.core import DeviceError

GOOD = {
    "Y": "SM",
    "V": "NA",
    "b": "50.9.D",
    "a": "3.!$%+?=#|.\x01\x0e\x1a')-+89@ABCDEFGKLMNOPQRSTUVWXYZabcefgjklmnopqrsuxyz~",
    "\x1a": "#u443253264271280l443196188208204s441HMLL",
    "Q": "08",
    "u": "253",
    "T": "25.50",
    "-": "OK",
}


class _Line:
    is_open = True

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass


class FakeApc(ApcSmart):
    def __init__(self, answer: Any, **kw: Any) -> None:
        self.clk = task.Clock()
        super().__init__("ups", None, clock=self.clk, extra=[("port", "/dev/null"), *kw.items()])
        self.answer = answer
        self.pending: list[bytes] = []
        self.line = _Line()  # type: ignore[assignment]

    def open_port(self) -> Any:
        return self.line

    def apc_write(self, code: str) -> int:
        got = self.answer(code)
        if got is not None:
            self.pending.append(got)
        return 1

    async def _line(self, timeout: float) -> bytes | None:
        if not self.pending:
            return b""
        data = self.pending[0]
        for i, b in enumerate(data):
            if b in (0x0A, 0x2A):
                self.pending[0] = data[i + 1 :]
                if not self.pending[0]:
                    self.pending.pop(0)
                return data[: i + 1]
        self.pending.pop(0)
        return b""


def run(d: defer.Deferred[Any], clock: task.Clock) -> Any:
    for _ in range(200):
        if d.called:
            break
        clock.advance(1)
    out: list[Any] = []
    d.addBoth(out.append)
    assert out, "the driver never finished"
    return out[0]


def exercise(drv: FakeApc) -> None:
    got = run(drv.initinfo(), drv.clk)
    if isinstance(got, Failure):
        got.trap(DeviceError)
        return
    for _ in range(3):
        got = run(drv.updateinfo(), drv.clk)
        if isinstance(got, Failure):
            got.trap(DeviceError)
    for cmd, arg in (
        ("test.battery.start", None),
        ("shutdown.return", "at:12"),
        ("calibrate.start", None),
    ):
        assert isinstance(run(drv.instcmd(cmd, arg), drv.clk), int)
    assert isinstance(run(drv.setvar("input.transfer.high", "264"), drv.clk), int)
    assert isinstance(run(drv.setvar("ups.id", "X"), drv.clk), int)
    got = run(drv.shutdown(), drv.clk)
    assert got is None or isinstance(got, Failure)


_caps_chars = st.sampled_from(list("#0123456789.,:*|&ulsTD4\x99"))

answers = st.one_of(
    st.none(),
    # capability-shaped: "#" then entries of char, locale, count, width, values
    st.text(alphabet=_caps_chars, max_size=30).map(lambda s: b"#" + s.encode() + b"\r\n"),
    st.binary(max_size=60),
    st.text(
        alphabet=st.sampled_from(list("#0123456789.,:*!$%+?=|&\r\nNAOKuls4D")), max_size=40
    ).map(lambda s: s.encode() + b"\r\n"),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from([*GOOD, "C", "j", "G", "c", "x"]), answers)
def test_garbage_replies_never_raise(broken: str, garbage: bytes | None) -> None:
    def answer(code: str) -> bytes | None:
        if code == broken:
            return garbage
        good = GOOD.get(code)
        return None if good is None and code in "@-\x1b\r" else (good or "NA").encode() + b"\r\n"

    exercise(FakeApc(answer))


@pytest.mark.parametrize("caps", ["#u4\x99", "#u", "##", "#u44", "#u443253"])
def test_broken_capabilities_are_an_error_not_a_crash(caps: str) -> None:
    table = dict(GOOD, **{"\x1a": caps})
    drv = FakeApc(lambda c: (table.get(c) or "NA").encode() + b"\r\n")
    got = run(drv.initinfo(), drv.clk)
    assert got is None or got.check(DeviceError)
