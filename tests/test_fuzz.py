"""Property-based fuzzing of every parser and state machine, in the normal suite.

The property everywhere: nothing escapes but the documented error types, and
the component keeps working afterwards (the server still answers a well-formed
request; the driver link still applies a good update; upsmon still decides).

Deeper runs: ``NUTWIST_FUZZ_EXAMPLES=20000 make test PYTEST_ARGS='-q tests/test_fuzz.py'``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_upsd_unit import client, make_state
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport

from nutwist.config.base import Diagnostics, Source
from nutwist.config.upsmon import parse as parse_upsmon
from nutwist.drivers.dummy_ups import parse_data
from nutwist.monitor.logic import MonitorLogic, UpsTrack
from nutwist.protocols.sock import DriverServerProtocol
from nutwist.services.driverlink import DriverLink, _LinkProtocol

EXAMPLES = int(os.environ.get("NUTWIST_FUZZ_EXAMPLES", "150"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# requests that look like the protocol, mixed with noise
WORDS = st.sampled_from(
    [
        "GET", "LIST", "SET", "INSTCMD", "VAR", "RW", "CMD", "ENUM", "RANGE", "UPS", "CLIENT",
        "TYPE", "DESC", "CMDDESC", "UPSDESC", "NUMLOGINS", "TRACKING", "USERNAME", "PASSWORD",
        "LOGIN", "LOGOUT", "PRIMARY", "MASTER", "FSD", "STARTTLS", "VER", "NETVER", "HELP",
        "u", "U", "nosuch", "ups.status", "ups.id", "battery.charge", "load.off", "ON", "OFF",
        "a", "p", '"', '"quoted word"', "#", "=", "\\", "\t", "\r", "\x00", "\xff", "x" * 600,
    ]
)  # fmt: skip
LINES = st.lists(WORDS, max_size=40).map(lambda ws: " ".join(ws).encode("latin-1") + b"\n")
NOISE = st.one_of(st.binary(max_size=2000), st.lists(LINES, max_size=20).map(b"".join))


@FUZZ
@given(chunks=st.lists(NOISE, max_size=6), tmp=st.just(None))
def test_network_server_survives_anything(
    tmp_path_factory: Any, chunks: list[bytes], tmp: None
) -> None:
    state, _, _ = make_state(tmp_path_factory.mktemp("f"))
    p, t = client(state)
    for chunk in chunks:
        p.dataReceived(chunk)  # must not raise
    if t.disconnecting or p.closing:
        return  # LOGOUT, or an endless line: dropped, as intended
    # a well-formed request still gets its answer: a fresh connection always does
    q, u = client(state)
    q.dataReceived(b"GET VAR u battery.charge\n")
    assert u.value().endswith(b'VAR u battery.charge "50"\n')


def _finish_line(tokenizer: Any, feed: Any) -> None:
    """End whatever line the garbage left open, as a peer would (an open quote, as in
    NUT, swallows line ends until it is closed)."""
    for _ in range(3):
        if tokenizer.idle:
            return
        feed(b'"\n' if not tokenizer.idle else b"\n")
        feed(b"\n")
    assert tokenizer.idle


class _Backend:
    def __init__(self) -> None:
        self.listeners: list[Any] = []

    def dump(self) -> list[list[str]]:
        return [["SETINFO", "ups.status", "OL"]]

    def handle_instcmd(self, cmd: str, param: str | None, tracking: str | None) -> None:
        pass

    def handle_setvar(self, var: str, value: str, tracking: str | None) -> None:
        pass

    def attach(self, listener: Any) -> None:
        self.listeners.append(listener)

    def detach(self, listener: Any) -> None:
        self.listeners.remove(listener)


@FUZZ
@given(chunks=st.lists(NOISE, max_size=6))
def test_driver_socket_server_side_survives_anything(chunks: list[bytes]) -> None:
    p = DriverServerProtocol(_Backend())  # type: ignore[arg-type]
    t = StringTransport()
    p.makeConnection(t)
    for chunk in chunks:
        p.dataReceived(chunk)
    if not t.disconnecting:
        _finish_line(p.tokenizer, p.dataReceived)
    if not t.disconnecting:  # the finished line may have been a LOGOUT
        t.clear()
        p.dataReceived(b"PING\n")
        assert t.value().endswith(b"PONG\n")


DRIVER_WORDS = st.sampled_from(
    [
        "SETINFO", "DELINFO", "SETFLAGS", "SETAUX", "ADDENUM", "DELENUM", "ADDRANGE", "DELRANGE",
        "ADDCMD", "DELCMD", "DUMPDONE", "DATAOK", "DATASTALE", "PONG", "TRACKING", "RW", "STRING",
        "NUMBER", "ups.status", "x.y", "OL", "OB LB", "-5", "99999999999999999999", '"', "#",
        "\\", "\x01", "\xfe", "y" * 300,
    ]
)  # fmt: skip
DRIVER_LINES = st.lists(DRIVER_WORDS, max_size=8).map(
    lambda ws: " ".join(ws).encode("latin-1") + b"\n"
)


@FUZZ
@given(chunks=st.lists(st.one_of(st.binary(max_size=500), DRIVER_LINES), max_size=30))
def test_driver_socket_upsd_side_survives_anything(chunks: list[bytes]) -> None:
    clock = Clock()
    link = DriverLink("u", clock=clock, socket_path="/nonexistent", reactor=clock)
    proto = _LinkProtocol(link)
    t = StringTransport()
    proto.makeConnection(t)
    for chunk in chunks:
        proto.dataReceived(chunk)
    if not t.disconnecting:
        _finish_line(proto.tokenizer, proto.dataReceived)
        proto.dataReceived(b'SETINFO fuzz.ok "1"\n')
        assert link.state.getinfo("fuzz.ok") == "1"


@FUZZ
@given(text=st.text(max_size=3000))
def test_dev_and_seq_reader(text: str) -> None:
    diags = Diagnostics("x.seq")
    entries = parse_data(Source.from_text(text, "x.seq"), diags)
    assert isinstance(entries, list)
    assert all(not d.is_error for d in diags)  # a data file only ever warns


STATUS_WORDS = st.sampled_from(
    ["OL", "OB", "LB", "HB", "RB", "CHRG", "DISCHRG", "BYPASS", "CAL", "OFF", "OVER", "TRIM",
     "BOOST", "FSD", "ALARM", "ECO", "WAIT", "ol", "ob", "lb", "", "garbage", "\t", "OLB"]
)  # fmt: skip
CONF_EXTRAS = st.sampled_from(
    ["", "OBLBDURATION 3\n", "OFFDURATION 2\n", "OVERDURATION 1\n", "ALARMCRITICAL 1\n",
     "OFFDURATION -1\n", "HOSTSYNC 0\n", "DEADTIME 0\n"]
)  # fmt: skip


class _Rec:
    def __init__(self) -> None:
        self.events: list[str] = []

    def notify(self, ntype: str, ups: UpsTrack | None) -> None:
        self.events.append(ntype)

    def log(self, level: str, text: str) -> None:
        pass


@FUZZ
@given(
    steps=st.lists(
        st.tuples(
            st.one_of(st.lists(STATUS_WORDS, max_size=6).map(" ".join), st.none()),
            st.floats(min_value=0, max_value=400, allow_nan=False),
        ),
        max_size=40,
    ),
    extra=CONF_EXTRAS,
    primary=st.booleans(),
)
def test_upsmon_decisions_on_arbitrary_statuses(
    steps: list[tuple[str | None, float]], extra: str, primary: bool
) -> None:
    conf = parse_upsmon(Source.from_text("MONITOR u@h 1 a b secondary\n" + extra, "upsmon.conf"))
    clock = Clock()
    rec = _Rec()
    logic = MonitorLogic(conf, clock.seconds, rec)
    (track,) = logic.tracks.values()
    track.primary_granted = primary
    ever_ob_or_fsd = False
    ever_off_over_alarm = False
    for status, dt in steps:
        clock.advance(dt)
        if status is None:
            logic.poll_failed(track, "Server disconnected")
        else:
            logic.polled(track, status)
            up = status.upper().split()
            ever_ob_or_fsd |= "OB" in up or "FSD" in up
            ever_off_over_alarm |= bool({"OFF", "OVER", "ALARM"} & set(up))
        decision = logic.recalc()
        assert isinstance(decision, bool)
        if decision and not ever_off_over_alarm:
            # only an on-battery or forced UPS can shut a host down (never comm loss on line)
            assert ever_ob_or_fsd
        assert track.commstate in (-1, 0, 1)
    # notifications are only of known types
    from nutwist.config.upsmon import NOTIFY_TYPES

    assert set(rec.events) <= set(NOTIFY_TYPES)


@FUZZ
@given(commands=st.lists(st.sampled_from([b"STARTTLS\n", b"VER\n", b"USERNAME a\n", b"STARTTLS x\n",
                                          b"PASSWORD p\n", b"LOGIN u\n", b"\x16\x03\x01\x00\xa5\x01"]),
                         max_size=12))  # fmt: skip
def test_starttls_state_transitions(tmp_path_factory: Any, commands: list[bytes]) -> None:
    """STARTTLS once (then ALREADY-SSL-MODE); nothing after it in the same read is run."""
    state, _, _ = make_state(tmp_path_factory.mktemp("t"))
    state.tls = object()  # a context factory stand-in: the transport below records it
    p, t = client(state)
    started: list[object] = []
    t.startTLS = started.append  # type: ignore[attr-defined]
    for c in commands:
        was_tls = bool(started)
        before = len(t.value())
        p.dataReceived(c)
        answer = t.value()[before:]
        if was_tls and c.startswith(b"STARTTLS"):
            # a second STARTTLS, on the TLS link, is refused (never silently dropped)
            assert answer == b"ERR ALREADY-SSL-MODE\n"
        elif not was_tls and started:
            # this read switched to TLS: its answer ends with OK STARTTLS, nothing after
            assert c.startswith(b"STARTTLS") and answer.endswith(b"OK STARTTLS\n")
    assert len(started) <= 1
    if started:
        assert t.value().count(b"OK STARTTLS\n") == 1
        assert p.ssl


def test_one_read_with_starttls_and_more_runs_only_starttls(tmp_path: Path) -> None:
    state, _, _ = make_state(tmp_path)
    state.tls = object()
    p, t = client(state)
    t.startTLS = lambda ctx: None  # type: ignore[attr-defined]
    p.dataReceived(b"VER\nSTARTTLS\nGET VAR u ups.status\nVER\n")
    assert t.value().count(b"\n") == 2 and t.value().endswith(b"OK STARTTLS\n")
    p.dataReceived(b"STARTTLS\n")
    assert t.value().endswith(b"ERR ALREADY-SSL-MODE\n")
