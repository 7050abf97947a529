"""Fuzzing the client library's reply parser, and the daemons' loops behind it.

Whatever a server answers (or whoever sits between), two properties hold:

* the client library never raises anything but :class:`~nutwist.client.errors.NutError`
  (and never from ``dataReceived``): a reply it can't parse fails the request with a
  typed protocol error;
* a daemon's repeating loop survives it: upsmon's next poll still comes on the
  task.Clock (it sees the UPS again once the server answers properly, unless the
  garbage told it to shut down), the repeater re-publishes the remote UPS, and
  upslog goes on writing entries.

Deeper runs: ``NUTWIST_FUZZ_EXAMPLES=20000 make test PYTEST_ARGS='-q tests/test_fuzz_replies.py'``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_security_client import FakeUpsdLab, honest, start_upsmon
from twisted.internet import defer
from twisted.internet.testing import StringTransport

from nutwist.client import NutClient, errors

EXAMPLES = int(os.environ.get("NUTWIST_FUZZ_EXAMPLES", "100"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# reply lines that look like the protocol, mixed with noise
WORDS = st.sampled_from(
    [
        "VAR", "u", "U", "ups.status", "ups.alarm", "battery.charge", "BEGIN", "END", "LIST",
        "UPS", "RW", "CMD", "ENUM", "RANGE", "TYPE", "DESC", "CMDDESC", "UPSDESC", "NUMLOGINS",
        "CLIENT", "OK", "ERR", "ACCESS-DENIED", "DATA-STALE", "UNKNOWN-UPS", "STARTTLS",
        "TRACKING", "SUCCESS", "PENDING", "MASTER-GRANTED", "Goodbye", '"OL"', '"OB LB FSD"',
        '"', '"unterminated', '\\', '"a\\"b"', "#", "=", "\t", "\r", "\x00", "\xff", "12",
        "-3", "x", "STRING:4", "NUMBER", "x" * 600, "",
    ]
)  # fmt: skip
# the start of a proper answer (the request's words echoed), then anything or nothing
ECHOES = st.sampled_from(
    [
        "VAR u ups.status", "VAR u ups.alarm", "TYPE u ups.status", "DESC u ups.status",
        "UPSDESC u", "NUMLOGINS u", "BEGIN LIST UPS", "UPS", "END LIST UPS", "BEGIN LIST VAR u",
        "VAR u", "END LIST VAR u", "BEGIN LIST RW u", "RW u", "END LIST RW u",
        "BEGIN LIST CMD u", "CMD u", "END LIST CMD u", "BEGIN LIST ENUM u x", "ENUM u x",
        "END LIST ENUM u x", "BEGIN LIST RANGE u x", "RANGE u x", "END LIST RANGE u x",
        "BEGIN LIST CLIENT u", "CLIENT u", "END LIST CLIENT u", "OK", "ERR",
    ]
)  # fmt: skip
LINE = st.one_of(
    st.lists(WORDS, max_size=8).map(lambda ws: " ".join(ws).encode("latin-1")),
    st.tuples(ECHOES, st.lists(WORDS, max_size=3)).map(
        lambda t: " ".join([t[0], *t[1]]).encode("latin-1")
    ),
)
REPLY = st.one_of(
    st.lists(LINE, max_size=5).map(lambda ls: b"".join(line + b"\n" for line in ls)),
    st.lists(LINE, min_size=1, max_size=3).map(b"\n".join),  # no final line end
    st.binary(max_size=300),
)

# --- the parser ------------------------------------------------------------------------------

# each call, and the words its answer lines start with
CALLS: dict[str, tuple[Callable[[NutClient], defer.Deferred[Any]], list[str]]] = {
    "get_var": (lambda c: c.get_var("u", "ups.status"), ["VAR u ups.status"]),
    "get_type": (lambda c: c.get_type("u", "ups.status"), ["TYPE u ups.status"]),
    "get_desc": (lambda c: c.get_desc("u", "ups.status"), ["DESC u ups.status"]),
    "get_upsdesc": (lambda c: c.get_upsdesc("u"), ["UPSDESC u"]),
    "get_numlogins": (lambda c: c.get_numlogins("u"), ["NUMLOGINS u"]),
    "get_tracking": (lambda c: c.get_tracking("x"), ["SUCCESS", "PENDING"]),
    "list_ups": (lambda c: c.list_ups(), ["BEGIN LIST UPS", "UPS", "END LIST UPS"]),
    "list_var": (lambda c: c.list_var("u"), ["BEGIN LIST VAR u", "VAR u", "END LIST VAR u"]),
    "list_rw": (lambda c: c.list_rw("u"), ["BEGIN LIST RW u", "RW u", "END LIST RW u"]),
    "list_cmd": (lambda c: c.list_cmd("u"), ["BEGIN LIST CMD u", "CMD u", "END LIST CMD u"]),
    "list_enum": (
        lambda c: c.list_enum("u", "x"),
        ["BEGIN LIST ENUM u x", "ENUM u x", "END LIST ENUM u x"],
    ),
    "list_range": (
        lambda c: c.list_range("u", "x"),
        ["BEGIN LIST RANGE u x", "RANGE u x", "END LIST RANGE u x"],
    ),
    "list_client": (
        lambda c: c.list_client("u"),
        ["BEGIN LIST CLIENT u", "CLIENT u", "END LIST CLIENT u"],
    ),
    "login": (lambda c: c.login("u"), ["OK"]),
    "primary": (lambda c: c.primary("u"), ["OK", "ERR"]),
    "fsd": (lambda c: c.fsd("u"), ["OK FSD-SET"]),
    "set_var": (lambda c: c.set_var("u", "x", "1"), ["OK", "OK TRACKING"]),
    "instcmd": (lambda c: c.instcmd("u", "load.off"), ["OK", "OK TRACKING"]),
}


def answers(starts: list[str]) -> st.SearchStrategy[bytes]:
    """Replies built from a request's own answer words, cut short or run on, and noise."""
    line = st.one_of(
        st.tuples(st.sampled_from(starts), st.lists(WORDS, max_size=3)).map(
            lambda t: " ".join([t[0], *t[1]]).encode("latin-1")
        ),
        LINE,
    )
    return st.one_of(
        st.lists(line, min_size=1, max_size=6).map(lambda ls: b"".join(x + b"\n" for x in ls)),
        REPLY,
    )


@FUZZ
@given(data=st.data())
def test_client_parser_raises_only_protocol_errors(data: st.DataObject) -> None:
    names = data.draw(st.lists(st.sampled_from(sorted(CALLS)), min_size=1, max_size=3))
    client = NutClient(timeout=None)
    client.makeConnection(StringTransport())
    outcomes: list[Any] = []
    for name in names:
        call, _ = CALLS[name]
        call(client).addBoth(outcomes.append)
    starts = [w for name in names for w in CALLS[name][1]]
    for chunk in data.draw(st.lists(answers(starts), max_size=6)):
        client.dataReceived(chunk)  # must not raise
    for outcome in outcomes:
        failure = getattr(outcome, "value", None)
        if failure is not None:
            assert isinstance(failure, errors.NutError), repr(failure)
    # answered requests come in order; the rest are still waiting, not lost
    assert len(outcomes) + len(client._pending) == len(names)


# --- upsmon's poll loop ------------------------------------------------------------------------


def garbled(
    replies: list[bytes], then: Callable[[str], bytes], only: str | None = None
) -> Callable[[str], bytes]:
    """Answers each request (or each ``only`` request) with the next arbitrary reply, and
    honestly once they run out."""
    left = list(replies)

    def answer(line: str) -> bytes:
        if left and (only is None or line == only):
            return left.pop(0)
        return then(line)

    return answer


STATUS = "GET VAR u ups.status"


@FUZZ
@given(
    replies=st.lists(answers(["VAR u ups.status", "ERR"]), max_size=8),
    to_status=st.booleans(),
)
def test_upsmon_keeps_polling_whatever_upsd_answers(replies: list[bytes], to_status: bool) -> None:
    """Arbitrary answers to the polls (or to every request, log-in included)."""
    lab = FakeUpsdLab(garbled(replies, honest("OL"), STATUS if to_status else None))
    svc, rec, _ = start_upsmon(lab)
    lab.run(120, step=1)
    if svc.shutting_down:
        return  # the garbage said FSD or LB on battery: shutting down is a decision, not a death
    # the loop is alive: a poll is due, and the UPS is seen again now that upsd makes sense
    assert svc._next is not None and svc._next.active()
    track = next(iter(svc.logic.tracks.values()))
    assert track.commstate == 1, rec.types
    before = lab.polls()
    lab.run(10, step=1)
    assert lab.polls() > before


# --- the repeater's update loop ----------------------------------------------------------------


def remote_upsd(line: str) -> bytes:
    if line == "LIST VAR u":
        return (
            b'BEGIN LIST VAR u\nVAR u ups.status "OL"\nVAR u battery.charge "90"\nEND LIST VAR u\n'
        )
    if line == "LIST CMD u":
        return b"BEGIN LIST CMD u\nEND LIST CMD u\n"
    if line.startswith("GET TYPE u "):
        return f"TYPE u {line.split()[3]} NUMBER\n".encode()
    if line == "SET TRACKING ON":
        return b"OK\n"
    return b"ERR FEATURE-NOT-CONFIGURED\n"


@FUZZ
@given(
    replies=st.lists(
        answers(["BEGIN LIST VAR u", "VAR u", "END LIST VAR u", "BEGIN LIST CMD u", "TYPE u"]),
        max_size=10,
    )
)
def test_repeater_recovers_whatever_the_remote_answers(
    tmp_path_factory: Any, replies: list[bytes]
) -> None:
    from nutwist.config.ups import UpsSection
    from nutwist.drivers.dummy_ups import DummyUps

    lab = FakeUpsdLab(garbled(replies, remote_upsd))
    d = DummyUps(
        "r", UpsSection("r", 1, values={"port": "u@127.0.0.1:3493"}),
        confdir=str(tmp_path_factory.mktemp("r")), clock=lab.clock,
    )  # fmt: skip
    d.connector = lambda: lab.connect("127.0.0.1", 3493)
    d.start()
    lab.run(600, step=5)  # failures back off to a poll a minute
    assert d.getinfo("ups.status") == "OL"
    assert d.getinfo("battery.charge") == "90"
    assert d._poll is not None and d._poll.active()


# --- upslog's entries --------------------------------------------------------------------------


@FUZZ
@given(replies=st.lists(answers(["VAR u ups.status"]), max_size=10))
def test_upslog_goes_on_whatever_upsd_answers(tmp_path_factory: Any, replies: list[bytes]) -> None:
    from nutwist.cli import upslog
    from nutwist.cli.clientcommon import split_name

    tmp: Path = tmp_path_factory.mktemp("l")
    lab = FakeUpsdLab(garbled(replies, honest("OL"), STATUS))
    m = upslog.Monitored("u@localhost", str(tmp / "u.log"))
    m.ups, m.host, m.port = split_name("u@localhost")
    f = upslog.LogFile(m.logfn)
    f.open()
    logger = upslog.UpsLog(
        lab.clock, [m], {m.logfn: f}, upslog.compile_format("%VAR ups.status%"), 5,
        lambda host, port, first: lab.connect(host, port), lambda _: None, hostname=lambda: "h",
    )  # fmt: skip
    done = defer.Deferred.fromCoroutine(logger.run())
    lab.run(120, step=1)
    f.close()
    assert not done.called
    lines = (tmp / "u.log").read_text().splitlines()
    assert lines[-1] == "OL", lines[-5:]
    logger.exit_signal = 15
    logger.wake()
    lab.flush()
    assert done.called
