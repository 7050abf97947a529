"""snmp-ups without NUT: the BER codec, NUT's number formats, the engine's
retries and in-flight bound, and fuzzed, malformed or truncated answers, which
must never raise out of the engine or the driver."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.snmp import IETF, LOW_BATTERY, ON_BATTERY
from twisted.internet import defer
from twisted.internet.task import Clock
from twisted.logger import globalLogPublisher

from nutwist.config.ups import UpsSection
from nutwist.drivers import driver_class
from nutwist.drivers.core import DeviceError
from nutwist.drivers.snmp import ber
from nutwist.drivers.snmp.driver import SnmpUps, c_strtol, format_scaled, parse_peer
from nutwist.drivers.snmp.engine import Engine, Session, Timeout
from nutwist.drivers.snmp.mapping import mappings
from nutwist.drivers.snmp.simagent import Agent, load_snmprec, parse_snmprec

# --- codec ----------------------------------------------------------------------------


def test_message_round_trip() -> None:
    pdu = ber.Pdu(
        ber.RESPONSE,
        123456,
        0,
        0,
        [
            ((1, 3, 6, 1, 2, 1, 1, 2, 0), (ber.OBJECT_ID, (1, 3, 6, 1, 4, 1, 318, 1))),
            ((1, 3, 6, 1, 2, 1, 33, 1, 2, 6, 0), (ber.INTEGER, -83)),
            ((1, 3, 6, 1, 2, 1, 1, 3, 0), (ber.TIMETICKS, 4294967295)),
            ((1, 3, 6, 1, 2, 1, 1, 5, 0), (ber.OCTET_STRING, b"x" * 300)),
            ((1, 3, 6, 1, 2, 1, 1, 9, 0), (ber.NO_SUCH_INSTANCE, None)),
            ((2, 999, 3), (ber.COUNTER64, 2**64 - 1)),
        ],
    )
    msg = ber.Message(ber.V2C, b"public", pdu)
    assert ber.decode_message(ber.encode_message(msg)) == msg


@given(st.binary(max_size=300))
@settings(max_examples=400)
def test_decoding_garbage_raises_only_ber_error(data: bytes) -> None:
    try:
        ber.decode_message(data)
    except ber.BerError:
        pass


def _response(varbinds: list[tuple[ber.OID, ber.Value]], rid: int = 7) -> bytes:
    return ber.encode_message(
        ber.Message(ber.V1, b"public", ber.Pdu(ber.RESPONSE, rid, 0, 0, varbinds))
    )


def test_every_truncation_and_bit_flip_is_rejected_cleanly() -> None:
    good = _response([((1, 3, 6, 1, 2, 1, 33, 1, 1, 2, 0), (ber.OCTET_STRING, b"EP-1500"))])
    for n in range(len(good)):
        with pytest.raises(ber.BerError):
            ber.decode_message(good[:n])
    for i in range(len(good)):
        for bit in range(8):
            mangled = bytearray(good)
            mangled[i] ^= 1 << bit
            try:
                ber.decode_message(bytes(mangled))
            except ber.BerError:
                pass


# --- NUT's formats ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "mult", "text"),
    [
        (545, 0.1, "54.50"),
        (500, 0.1, "50"),
        (499, 0.1, "49.90"),
        (42, 60.0, "2520"),
        (-83, 0.1, "-8.30"),
        (0, 0.1, "0"),
        (16777217, 1.0, "16777217"),
        (3, 0.001, "0.00"),
    ],
)
def test_numbers_print_as_nut_prints_them(value: int, mult: float, text: str) -> None:
    assert format_scaled(value, mult) == text


@pytest.mark.parametrize(
    ("raw", "value"),
    [(b"42", 42), (b"0x10", 16), (b"010", 8), (b"  -7 volts", -7), (b"", 0), (b"abc", 0)],
)
def test_strings_read_as_numbers_like_strtol(raw: bytes, value: int) -> None:
    assert c_strtol(raw) == value


@pytest.mark.parametrize(
    ("port", "peer"),
    [
        ("10.0.0.5", ("10.0.0.5", 161)),
        ("10.0.0.5:1161", ("10.0.0.5", 1161)),
        ("udp6:[::1]:1161", ("::1", 1161)),
        ("ups.example.net", ("ups.example.net", 161)),
    ],
)
def test_port_is_read_as_net_snmp_reads_a_peer(port: str, peer: tuple[str, int]) -> None:
    assert parse_peer(port) == peer


def test_snmp_ups_is_a_driver_and_knows_nuts_mappings() -> None:
    assert driver_class("snmp-ups") is SnmpUps
    names = [m.name for m in mappings()]
    assert names[-2:] == ["tripplite", "ietf"]
    for name in ("apcc", "mge", "pw", "cyberpower"):
        assert name in names
    for m in mappings():
        assert m.rows(), m.name


def test_snmprec_parsing() -> None:
    values = parse_snmprec("1.3.6.1.2.1.1.5.0|4x|6869\n1.3.6.1.2.1.1.3.0|67|100\n# c\n")
    assert values == {
        (1, 3, 6, 1, 2, 1, 1, 5, 0): (ber.OCTET_STRING, b"hi"),
        (1, 3, 6, 1, 2, 1, 1, 3, 0): (ber.TIMETICKS, 100),
    }
    with pytest.raises(ValueError, match="line 1"):
        parse_snmprec("1.3.6|99|x\n")


# --- the engine -----------------------------------------------------------------------------


class _Wire:
    """Stands in for the UDP port: records what the engine sends."""

    def __init__(self) -> None:
        self.sent: list[tuple[bytes, tuple[str, int]]] = []

    def write(self, data: bytes, addr: tuple[str, int]) -> None:
        self.sent.append((data, addr))


def _engine(max_in_flight: int = 256) -> tuple[Engine, Clock, _Wire]:
    clock = Clock()
    engine = Engine(clock, max_in_flight=max_in_flight)
    wire = _Wire()
    engine.transport_for = lambda addr: wire
    return engine, clock, wire


def test_retries_then_timeout_as_net_snmp() -> None:
    engine, clock, wire = _engine()
    session = Session(engine, "127.0.0.1", 161, timeout=1.0, retries=2)
    d = defer.Deferred.fromCoroutine(session.get((1, 3, 6, 1, 2, 1, 1, 5, 0)))
    failures: list[Any] = []
    d.addErrback(failures.append)
    clock.advance(1)
    clock.advance(1)
    assert len(wire.sent) == 3 and not failures
    clock.advance(1)
    assert failures and failures[0].check(Timeout)
    assert not engine.pending


def test_in_flight_bound_queues_the_rest() -> None:
    engine, clock, wire = _engine(max_in_flight=4)
    sessions = [Session(engine, "127.0.0.1", 1000 + i, retries=0) for i in range(10)]
    ds = [defer.Deferred.fromCoroutine(s.get((1, 3, 6, 1, 2, 1, 1, 5, 0))) for s in sessions]
    for d in ds:
        d.addErrback(lambda f: None)
    assert len(wire.sent) == 4 and len(engine.queue) == 6
    clock.advance(1)
    assert len(wire.sent) == 8
    clock.advance(1)
    clock.advance(1)
    assert len(wire.sent) == 10 and not engine.queue and not engine.pending


def test_answers_from_elsewhere_or_mangled_never_raise() -> None:
    engine, _, wire = _engine()
    session = Session(engine, "127.0.0.1", 161, retries=0)
    oid = (1, 3, 6, 1, 2, 1, 1, 5, 0)
    got: list[object] = []
    defer.Deferred.fromCoroutine(session.get(oid)).addBoth(got.append)
    rid = ber.decode_message(wire.sent[0][0]).pdu.request_id
    good = _response([(oid, (ber.OCTET_STRING, b"ups"))], rid)
    engine.received(good, ("127.0.0.2", 161))  # not the agent asked
    engine.received(good, ("127.0.0.1", 162))
    for n in range(len(good)):
        engine.received(good[:n], ("127.0.0.1", 161))
    assert not got
    engine.received(good, ("127.0.0.1", 161))
    assert got == [(ber.OCTET_STRING, b"ups")]
    engine.received(good, ("127.0.0.1", 161))  # a duplicate answer is dropped


def test_v1_no_such_name_drops_the_varbind_and_asks_again() -> None:
    agent = Agent(load_snmprec(IETF))
    engine, _, wire = _engine()
    session = Session(engine, "127.0.0.1", 161)
    oids = [(1, 3, 6, 1, 2, 1, 33, 1, 2, 4, 0), (1, 3, 6, 1, 9, 9), (1, 3, 6, 1, 2, 1, 1, 5, 0)]
    result: list[Any] = []
    defer.Deferred.fromCoroutine(session.get_many(oids)).addBoth(result.append)
    while not result:
        data, addr = wire.sent.pop(0)
        answer = agent.answer(data)
        assert answer is not None
        engine.received(answer, addr)
    assert result[0] == {
        oids[0]: (ber.INTEGER, 100),
        oids[1]: (ber.NO_SUCH_INSTANCE, None),
        oids[2]: (ber.OCTET_STRING, b"ups-rack-7"),
    }


# --- the driver on an in-memory agent --------------------------------------------------------


class _LoopSession(Session):
    """A session wired straight to an Agent's answer(): no sockets, no time."""

    def __init__(self, agent: Agent, engine: Engine, wire: _Wire) -> None:
        super().__init__(engine, "127.0.0.1", 161, retries=0)
        self.agent = agent
        self.wire = wire

    async def request(self, ptype: int, binds: list[Any]) -> ber.Pdu:
        d = defer.Deferred.fromCoroutine(super().request(ptype, binds))
        while not d.called and self.wire.sent:
            data, addr = self.wire.sent.pop(0)
            answer = None if self.agent.mute else self.agent.answer(data)
            if answer is None:
                self.engine.clock.advance(self.timeout)  # type: ignore[attr-defined]
            else:
                self.engine.received(answer, addr)
        return await d


def _driver(agent: Agent, **params: str) -> tuple[SnmpUps, Clock]:
    engine, clock, wire = _engine()
    values = {"driver": "snmp-ups", "port": "127.0.0.1", "pollfreq": "5", **params}
    drv = SnmpUps("t", UpsSection("t", 1, values=values), clock=clock)
    drv.session = _LoopSession(agent, engine, wire)
    return drv, clock


def _run(drv: SnmpUps, clock: Clock, seconds: int) -> None:
    for _ in range(seconds):
        clock.advance(1)


class _Crashes:
    """Exceptions the driver core caught from the driver, other than DeviceError."""

    def __init__(self) -> None:
        self.seen: list[Any] = []

    def __call__(self, event: dict[str, Any]) -> None:
        failure = event.get("log_failure")
        if failure is not None and not failure.check(DeviceError):
            self.seen.append(failure)

    def __enter__(self) -> _Crashes:
        globalLogPublisher.addObserver(self)
        return self

    def __exit__(self, *exc: object) -> None:
        globalLogPublisher.removeObserver(self)


def test_driver_publishes_and_follows_the_agent() -> None:
    agent = Agent(load_snmprec(IETF))
    drv, clock = _driver(agent)
    drv.start()
    assert drv.getinfo("ups.status") == "OL"
    assert drv.getinfo("battery.runtime") == "2520"
    assert drv.getinfo("driver.version.data") == "ietf MIB 1.54"
    assert not drv.stale
    for oid, value in ON_BATTERY.items():
        agent.set_value(oid, value)
    _run(drv, clock, 4)
    assert drv.getinfo("ups.status") == "OL"  # pollfreq 5: not yet
    _run(drv, clock, 4)
    assert drv.getinfo("ups.status") == "OB"
    for oid, value in LOW_BATTERY.items():
        agent.set_value(oid, value)
    _run(drv, clock, 8)
    assert drv.getinfo("ups.status") == "LB OB"
    agent.mute = True
    _run(drv, clock, 8)
    assert drv.stale and drv.getinfo("ups.status") == ""
    assert drv.getinfo("battery.charge") == "9"  # the last value stays, as in NUT
    agent.mute = False
    _run(drv, clock, 8)
    assert not drv.stale and drv.getinfo("ups.status") == "LB OB"
    assert drv._failures == 0


_TAGS = st.sampled_from(
    [
        ber.INTEGER,
        ber.OCTET_STRING,
        ber.NULL,
        ber.OBJECT_ID,
        ber.IP_ADDRESS,
        ber.COUNTER32,
        ber.GAUGE32,
        ber.TIMETICKS,
        ber.OPAQUE,
        ber.COUNTER64,
        ber.NO_SUCH_OBJECT,
        ber.NO_SUCH_INSTANCE,
    ]
)


@st.composite
def _values(draw: Any) -> ber.Value:
    tag = draw(_TAGS)
    if tag == ber.INTEGER:
        return tag, draw(st.integers(-(2**31), 2**31 - 1))
    if tag in (ber.COUNTER32, ber.GAUGE32, ber.TIMETICKS):
        return tag, draw(st.integers(0, 2**32 - 1))
    if tag == ber.COUNTER64:
        return tag, draw(st.integers(0, 2**64 - 1))
    if tag in (ber.OCTET_STRING, ber.OPAQUE):
        return tag, draw(st.binary(max_size=200))
    if tag == ber.IP_ADDRESS:
        return tag, draw(st.binary(min_size=4, max_size=4))
    if tag == ber.OBJECT_ID:
        head = draw(st.sampled_from([(1, 3, 6, 1, 2, 1, 33, 1), (1, 3, 6, 1, 2, 1, 1), (0, 0)]))
        tail = draw(st.lists(st.integers(0, 2**32), max_size=4))
        return tag, (*head, *tail)
    return tag, None


@given(st.data())
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_fuzzed_values_never_raise_out_of_the_driver(data: Any) -> None:
    base = load_snmprec(IETF)
    values = {}
    for oid, value in base.items():
        choice = data.draw(st.sampled_from(["keep", "drop", "fuzz"]))
        if choice == "keep":
            values[oid] = value
        elif choice == "fuzz":
            values[oid] = data.draw(_values())
    agent = Agent(values)
    drv, clock = _driver(agent, snmp_version=data.draw(st.sampled_from(["v1", "v2c"])))
    with _Crashes() as crashes:
        drv.start()
        _run(drv, clock, 12)
        for oid in list(values):
            agent.set_value(oid, data.draw(_values()))
        _run(drv, clock, 12)
    assert not crashes.seen


@given(st.data())
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_mangled_answers_never_raise_out_of_the_driver(data: Any) -> None:
    agent = Agent(load_snmprec(IETF))
    drv, clock = _driver(agent)
    drv.start()
    seed = data.draw(st.integers(0, 2**32))
    import random

    rnd = random.Random(seed)

    def mangle(answer: bytes) -> bytes | None:
        how = rnd.randrange(4)
        if how == 0:
            return answer[: rnd.randrange(len(answer))]
        if how == 1:
            b = bytearray(answer)
            b[rnd.randrange(len(b))] ^= 1 << rnd.randrange(8)
            return bytes(b)
        if how == 2:
            return None
        return answer

    real = agent.answer

    def answer(data: bytes) -> bytes | None:
        a = real(data)
        return None if a is None else mangle(a)

    agent.answer = answer  # type: ignore[method-assign]
    with _Crashes() as crashes:
        _run(drv, clock, 40)
    assert not crashes.seen


# --- SNMPv3 ---------------------------------------------------------------------------------


def _pump(engine: Engine, clock: Clock, wire: _Wire, agent: Agent, d: defer.Deferred[Any]) -> None:
    for _ in range(1000):
        if d.called:
            return
        if wire.sent:
            data, addr = wire.sent.pop(0)
            answer = agent.answer(data)
            if answer is not None:
                engine.received(answer, addr)
        else:
            clock.advance(1)
    raise AssertionError("no answer")


@pytest.mark.parametrize(
    ("level", "auth", "priv"),
    [("authPriv", "SHA", "AES"), ("authPriv", "MD5", "DES"), ("authNoPriv", "SHA384", "DES")],
)
def test_v3_session_round_trip_and_wrong_keys(level: str, auth: str, priv: str) -> None:
    from nutwist.drivers.snmp import usm
    from nutwist.drivers.snmp.engine import SnmpError, V3Session

    agent = Agent(load_snmprec(IETF))
    agent.add_user(usm.User("u", usm.LEVELS[level], auth, priv, "secret one", "secret two"))
    engine, clock, wire = _engine()
    good = usm.User("u", usm.LEVELS[level], auth, priv, "secret one", "secret two")
    session = V3Session(engine, "127.0.0.1", 161, user=good, retries=0)
    d = defer.Deferred.fromCoroutine(session.get((1, 3, 6, 1, 2, 1, 33, 1, 1, 2, 0)))
    _pump(engine, clock, wire, agent, d)
    assert d.result == (ber.OCTET_STRING, b"EP-1500 RT")
    bad = usm.User("u", usm.LEVELS[level], auth, priv, "wrong pass", "secret two")
    session = V3Session(engine, "127.0.0.1", 161, user=bad, retries=0)
    d = defer.Deferred.fromCoroutine(session.get((1, 3, 6, 1, 2, 1, 33, 1, 1, 2, 0)))
    failures: list[Any] = []
    d.addErrback(failures.append)
    _pump(engine, clock, wire, agent, d)
    assert failures and failures[0].check(SnmpError)  # the agent stays silent: a timeout


@given(st.binary(max_size=400))
@settings(max_examples=300)
def test_v3_decoding_garbage_raises_only_ber_error(data: bytes) -> None:
    from nutwist.drivers.snmp import usm

    for blob in (data, b"\x30" + bytes([len(data) & 0x7F]) + b"\x02\x01\x03" + data):
        try:
            usm.decode(blob)
        except ber.BerError:
            pass


class _SlowLoop(Session):
    """Answers arrive ``delay`` seconds after the request (on the test clock)."""

    def __init__(self, agent: Agent, engine: Engine, wire: _Wire, delay: float) -> None:
        super().__init__(engine, "127.0.0.1", 161, retries=1, timeout=1.0)
        self.agent, self.wire, self.delay = agent, wire, delay

    async def request(self, ptype: int, binds: list[Any]) -> ber.Pdu:
        d = defer.Deferred.fromCoroutine(super().request(ptype, binds))
        while self.wire.sent:
            data, addr = self.wire.sent.pop(0)
            answer = self.agent.answer(data)
            if answer is not None:
                self.engine.clock.callLater(self.delay, self.engine.received, answer, addr)  # type: ignore[attr-defined]
        return await d


@pytest.mark.parametrize(("delay", "stale"), [(0.6, False), (2.5, True)])
def test_slow_agent_is_fresh_or_stale_never_a_crash(delay: float, stale: bool) -> None:
    """An answer within the timeout is data; a later one (past every retry) is stale."""
    agent = Agent(load_snmprec(IETF))
    engine, clock, wire = _engine()
    values = {"driver": "snmp-ups", "port": "127.0.0.1", "pollfreq": "1"}
    drv = SnmpUps("t", UpsSection("t", 1, values=values), clock=clock)
    drv.session = _SlowLoop(agent, engine, wire, 0.1)
    with _Crashes() as crashes:
        drv.start()
        for _ in range(100):
            clock.advance(0.1)
        assert drv.getinfo("ups.status") == "OL" and not drv.stale
        assert isinstance(drv.session, _SlowLoop)
        drv.session.delay = delay
        agent.update({"1.3.6.1.2.1.33.1.4.1.0": (ber.INTEGER, 5)})
        for _ in range(200):
            clock.advance(0.1)
    assert not crashes.seen
    assert drv.stale is stale
    assert drv.getinfo("ups.status") == ("" if stale else "OB")
