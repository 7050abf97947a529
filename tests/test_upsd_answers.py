"""upsd's fast path for plain request lines and its GET VAR answer cache.

The fast path must give exactly the answers the tokenizer path gives, and a
remembered answer must never outlive anything it depends on.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_upsd_unit import client, make_state

from nutwist.config.tokenizer import split
from nutwist.protocols.net import NetServerProtocol
from nutwist.services.upsd import ANSWER_CACHE_MAX

REQUESTS = [
    b"GET VAR u ups.status",
    b"get var U UPS.ID",
    b"GET VAR u battery.charge\r",
    b"GET VAR u nosuch.var",
    b"GET VAR nosuch ups.status",
    b"GET VAR u server.info",
    b"GET VAR u",
    b"GET VAR u ups.status extra",
    b"GET  VAR u ups.status",
    b'GET VAR u "ups.status"',
    b"GET VAR u ups.status # comment",
    b"GET\tVAR\tu\tups.status",
    b"GET VAR u=ups.status",
    b"GET TYPE u ups.id",
    b"GET NUMLOGINS u",
    b"LIST VAR u",
    b"LIST UPS",
    b"VER",
    b"",
    b"HELP me",
    b"GET VAR u ups.\xe9",
    b"FOO",
]


def reference_answer(tmp_path: Path, line: bytes) -> bytes:
    """What the tokenizer path answers for one line, on a fresh connection."""
    state, _, _ = make_state(tmp_path)
    p, t = client(state)
    p.lineReceived(split(line))
    return bytes(t.value())


@pytest.mark.parametrize("line", REQUESTS)
def test_fast_path_answers_as_the_tokenizer_path(tmp_path: Path, line: bytes) -> None:
    expected = reference_answer(tmp_path, line)
    state, _, _ = make_state(tmp_path)
    p, t = client(state)
    p.dataReceived(line + b"\n")
    first = bytes(t.value())
    t.clear()
    p.dataReceived(line + b"\n")  # a second time: from the cache where there is one
    assert first == expected
    assert bytes(t.value()) == expected


@settings(max_examples=150, deadline=None)
@given(
    lines=st.lists(st.sampled_from(REQUESTS), min_size=1, max_size=12),
    cut=st.integers(min_value=0, max_value=400),
)
def test_pipelined_and_split_anywhere(
    tmp_path_factory: pytest.TempPathFactory, lines: list[bytes], cut: int
) -> None:
    """Any mix of plain and odd lines, split at any byte: the same answers in order."""
    tmp = tmp_path_factory.mktemp("a")
    expected = b"".join(reference_answer(tmp, line) for line in lines)
    state, _, _ = make_state(tmp)
    data = b"".join(line + b"\n" for line in lines)
    # warm the cache on another connection, then ask on a fresh one
    warm, _ = client(state)
    warm.dataReceived(data)
    p, t = client(state)
    p.dataReceived(data[:cut])
    p.dataReceived(data[cut:])
    assert bytes(t.value()) == expected


def ask(p: NetServerProtocol, t: object, line: bytes = b"GET VAR u ups.status\n") -> bytes:
    t.clear()  # type: ignore[attr-defined]
    p.dataReceived(line)
    return bytes(t.value())  # type: ignore[attr-defined]


def test_a_changed_value_is_never_served_stale(tmp_path: Path) -> None:
    state, _, d = make_state(tmp_path)
    p, t = client(state)
    assert ask(p, t) == b'VAR u ups.status "OL"\n'
    assert len(state.answers) == 1
    d.setinfo("ups.status", "OB LB")
    assert ask(p, t) == b'VAR u ups.status "OB LB"\n'
    d.delinfo("ups.status")
    assert ask(p, t) == b"ERR VAR-NOT-SUPPORTED\n"
    d.setinfo("ups.status", "OL")
    assert ask(p, t) == b'VAR u ups.status "OL"\n'


def test_fsd_staleness_and_disconnection_are_seen(tmp_path: Path) -> None:
    state, clock, d = make_state(tmp_path)
    p, t = client(state)
    entry = state.find_ups("u")
    assert entry is not None
    assert ask(p, t) == b'VAR u ups.status "OL"\n'
    entry.fsd = True
    assert ask(p, t) == b'VAR u ups.status "FSD OL"\n'
    entry.fsd = False
    assert ask(p, t) == b'VAR u ups.status "OL"\n'
    d.datastale()
    assert ask(p, t) == b"ERR DATA-STALE\n"
    d.dataok()
    assert ask(p, t) == b'VAR u ups.status "OL"\n'
    entry.link.last_heard = clock.seconds() - entry.link.maxage - 1  # nothing heard for MAXAGE
    assert ask(p, t) == b"ERR DATA-STALE\n"
    entry.link.stop()
    assert ask(p, t) == b"ERR DRIVER-NOT-CONNECTED\n"


def test_a_removed_ups_forgets_its_answers(tmp_path: Path) -> None:
    state, _, _ = make_state(tmp_path)
    p, t = client(state)
    ask(p, t)
    state.remove_ups("u")
    assert state.answers == {}
    assert ask(p, t) == b"ERR UNKNOWN-UPS\n"


def test_the_cache_is_bounded(tmp_path: Path) -> None:
    state, _, _ = make_state(tmp_path)
    p, t = client(state)
    # names are echoed as typed, so every spelling is its own request line
    for i in range(ANSWER_CACHE_MAX + 10):
        name = "".join(c.upper() if i >> k & 1 else c for k, c in enumerate("battery.charge"))
        p.dataReceived(f"GET VAR u {name}\n".encode())
        assert t.value().endswith(f'VAR u {name} "50"\n'.encode())
    assert 0 < len(state.answers) <= ANSWER_CACHE_MAX


def test_answers_go_out_in_one_write(tmp_path: Path) -> None:
    state, _, _ = make_state(tmp_path)
    p, _ = client(state)
    writes: list[bytes] = []
    p.transport.write = writes.append  # type: ignore[method-assign,union-attr]
    p.dataReceived(b"GET VAR u ups.status\n" * 32)  # the first one fills the cache
    writes.clear()
    p.dataReceived(b"GET VAR u ups.status\n" * 32)
    assert writes == [b'VAR u ups.status "OL"\n' * 32]


def test_logout_in_a_pipeline_stops_the_rest(tmp_path: Path) -> None:
    state, _, _ = make_state(tmp_path)
    p, t = client(state)
    p.dataReceived(b"GET VAR u ups.id\nLOGOUT\nGET VAR u ups.id\n")
    assert t.value() == b'VAR u ups.id "r1"\nOK Goodbye\n'
    assert t.disconnecting
