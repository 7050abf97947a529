"""The framing base every NUT-tokenized stream uses (nutwist.protocols.framing)."""

from __future__ import annotations

from twisted.internet.testing import StringTransport

from nutwist.config.tokenizer import TokenizerError
from nutwist.protocols.framing import Item, WordReceiver


class Recorder(WordReceiver):
    read_size = 16
    max_line = 40

    def __init__(self, drop_read_on_error: bool = True) -> None:
        super().__init__()
        self.got: list[object] = []
        self.drop_read_on_error = drop_read_on_error
        self.hold_after: str | None = None
        self.held: tuple[list[Item], bytes] | None = None

    def wordsReceived(self, words: list[str]) -> None:
        self.got.append(words)
        if words == ["STARTTLS"]:
            self.discard()

    def parseError(self, error: TokenizerError) -> bool:
        self.got.append("parse error")
        return self.drop_read_on_error

    def interrupted(self, items: list[Item], rest: bytes) -> bool:
        if self.got and self.got[-1] == [self.hold_after]:
            self.held = (items, rest)
            return True
        return False

    def discarded(self) -> None:
        self.got.append("discarded")


def connect(proto: Recorder) -> StringTransport:
    t = StringTransport()
    proto.makeConnection(t)
    return t


def test_a_quoted_word_or_a_backslash_continues_a_line() -> None:
    p = Recorder()
    connect(p)
    p.dataReceived(b'A "b\nc"\n')
    p.dataReceived(b"D e\\\nf\n")
    assert p.got == [["A", "bc"], ["D", "ef"]]  # one line each, the LF inside dropped


def test_a_parse_error_drops_the_rest_of_one_read_size_chunk() -> None:
    p = Recorder()
    connect(p)
    # 16-byte chunks: the error's chunk loses "X\n"; the next chunk is read
    p.dataReceived(b'"a#b"\nX\n        Y\n')
    assert p.got == ["parse error", ["Y"]]


def test_a_parse_error_may_leave_the_rest_of_the_read() -> None:
    p = Recorder(drop_read_on_error=False)
    connect(p)
    p.dataReceived(b'"a#b"\nX\n')
    assert p.got[0] == "parse error" and p.got[-1] == ["X"]


def test_discard_drops_what_followed_in_the_same_read_only() -> None:
    p = Recorder()
    connect(p)
    p.dataReceived(b"STARTTLS\nEVIL\nEV")
    assert p.got == [["STARTTLS"], "discarded"]
    p.dataReceived(b"OK\n")
    assert p.got[-1] == ["OK"]


def test_an_interruption_keeps_the_rest() -> None:
    p = Recorder()
    p.read_size = 0
    p.hold_after = "WAIT"
    connect(p)
    p.dataReceived(b"WAIT\nNEXT\n")
    assert p.got == [["WAIT"]] and p.held == ([["NEXT"]], b"")


def test_over_long_input_hangs_up() -> None:
    p = Recorder()
    t = connect(p)
    p.dataReceived(b"A" * 41)
    assert t.disconnecting and p.tokenizer.buffered == 0
