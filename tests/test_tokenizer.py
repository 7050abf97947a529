"""NUT's parseconf rules (bytes outside 0x20-0x7f dropped, 0x7f kept), through every entry point."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nutwist.config.tokenizer import (
    HASH_IN_QUOTES,
    ConfEOFWarning,
    ConfLine,
    ConfLineError,
    Tokenizer,
    TokenizerError,
    _Machine,
    encode,
    iter_conf_lines,
    quote,
    split,
)

CASES = [
    # (input line, words), as NUT 2.8.0's parseconf splits them
    (b"GET VAR dummy ups.status", ["GET", "VAR", "dummy", "ups.status"]),
    (b"GET VAR dummy ups.status # comment", ["GET", "VAR", "dummy", "ups.status"]),
    (b"GET VAR dummy=ups.status", ["GET", "VAR", "dummy", "=", "ups.status"]),
    (b"GET VAR d\xc3\xbcmmy x", ["GET", "VAR", "dmmy", "x"]),
    (b"", []),
    (b"   \t ", []),
    (b"# only a comment", []),
    (b'""', [""]),
    (b'a "" b', ["a", "", "b"]),
    (b'SET VAR u v "new id"', ["SET", "VAR", "u", "v", "new id"]),
    (b'a"b" "c"d', ['a"b"', "c", "d"]),
    (b"a\\ b c\\#d", ["a b", "c#d"]),
    (b'"a\\"b\\\\c\\#d"', ['a"b\\c#d']),
    (b"\x01 GET", ["", "GET"]),
    (b"GET\tVAR\r", ["GET", "VAR"]),
    (b"GET\x0bVAR\x0cx", ["GET", "VAR", "x"]),
    (b'"a\tb"', ["ab"]),
    (b'x="1=2"', ["x", "=", "1=2"]),
    (b"a==b", ["a", "=", "=", "b"]),
    (b"=", ["="]),
    (b"\xff\xfe", [""]),
    (b"del\x7fete", ["del\x7fete"]),
    (b'a#b "c"', ["a"]),
    (b"password = 123\\=123", ["password", "=", "123=123"]),
]


@pytest.mark.parametrize(("line", "words"), CASES)
def test_split(line: bytes, words: list[str]) -> None:
    assert split(line) == words


@pytest.mark.parametrize(("line", "words"), CASES)
def test_fast_path_agrees_with_machine(line: bytes, words: list[str]) -> None:
    m = _Machine()
    _, outcome = m.run(line + b"\n", 0, len(line) + 1)
    assert outcome == 1
    assert m.args == words


def test_hash_inside_quotes_is_an_error() -> None:
    with pytest.raises(TokenizerError) as e:
        split(b'SET VAR dummy ups.id "x#y"')
    assert e.value.message == HASH_IN_QUOTES
    assert e.value.words == ["SET", "VAR", "dummy", "ups.id", "x"]


def test_limits_32_words_512_chars() -> None:
    words = split(" ".join(f"w{i}" for i in range(40)))
    assert words == [f"w{i}" for i in range(32)]
    assert split("x" * 600) == ["x" * 512]
    assert split('"' + "y" * 600 + '"') == ["y" * 512]
    assert split("\\" + "z" * 600) == ["z" * 512]


def test_streaming_pipelined_and_split_input() -> None:
    t = Tokenizer()
    assert t.feed(b"VER\nNETVER\nGET VAR dummy ups.status\n") == [
        ["VER"],
        ["NETVER"],
        ["GET", "VAR", "dummy", "ups.status"],
    ]
    assert t.feed(b"GET VAR du") == []
    assert t.feed(b"mmy ups.load\nLIST") == [["GET", "VAR", "dummy", "ups.load"]]
    assert t.feed(b" UPS\n") == [["LIST", "UPS"]]


def test_streaming_byte_at_a_time_matches_whole() -> None:
    data = b'VER\nSET VAR u v "a b\\"c"\n\x80GET\tVAR x\ny "open\nquote"\n'
    whole = Tokenizer().feed(data)
    t = Tokenizer()
    pieces: list[list[str] | TokenizerError] = []
    for i in range(len(data)):
        pieces.extend(t.feed(data[i : i + 1]))
    assert pieces == whole
    assert whole[-1] == ["y", "openquote"]


def test_open_quote_swallows_newline() -> None:
    t = Tokenizer()
    assert t.feed(b'SET VAR u v "ab\n') == []
    assert t.feed(b'cd"\nVER\n') == [["SET", "VAR", "u", "v", "abcd"], ["VER"]]


def test_streaming_error_then_recovers() -> None:
    t = Tokenizer()
    out = t.feed(b'SET VAR u v "x#y"\nVER\n')
    assert isinstance(out[0], TokenizerError)
    # pconf_char starts afresh after the error: the rest of the line is a new line
    assert out[1:] == [['y"'], ["VER"]]
    t.reset()
    assert t.feed(b"VER\n") == [["VER"]]


def test_conf_lines_numbering_continuations_and_errors() -> None:
    data = (
        b"# comment\n"
        b"[ups]\n"
        b"  driver = dummy-ups\n"
        b'  port = "a\\\nb"\n'
        b'  desc = "x#y" rest\n'
        b"foo \\\n bar\n"
        b'multi = "one\ntwo"\n'
        b"flag"
    )
    items = list(iter_conf_lines(data))
    assert items == [
        ConfLine(2, ["[ups]"]),
        ConfLine(3, ["driver", "=", "dummy-ups"]),
        ConfLine(4, ["port", "=", "ab"]),
        ConfLineError(6, HASH_IN_QUOTES),
        # NUT's quirk: the space after the joined newline ends an empty word
        ConfLine(7, ["foo", "", "bar"]),
        ConfLine(9, ["multi", "=", "onetwo"]),
        items[-1],
    ]
    assert isinstance(items[-1], ConfEOFWarning)
    assert items[-1].lineno == 11


def test_conf_last_line_without_newline_kept_when_several_words() -> None:
    assert list(iter_conf_lines(b"MODE a b")) == [ConfLine(1, ["MODE", "a", "b"])]


def test_conf_unterminated_quote_at_eof() -> None:
    items = list(iter_conf_lines(b'desc = "never closed\nmore\n'))
    assert items == [ConfLineError(1, "unterminated quoted word at end of file")]


def test_conf_dropped_bytes_are_reported() -> None:
    (item,) = list(iter_conf_lines('desc = "caf\u00e9"\n'.encode()))
    assert isinstance(item, ConfLine)
    assert item.words == ["desc", "=", "caf"]
    assert item.dropped == (0xC3, 0xA9)


def test_encode_escapes_exactly_three_characters() -> None:
    assert encode('a#b\\c"d=e f') == 'a\\#b\\\\c\\"d=e f'
    assert quote("x") == '"x"'


printable = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7F), max_size=512)


@given(printable)
def test_quote_round_trips(value: str) -> None:
    assert split(quote(value)) == [value]


@given(st.lists(printable.filter(lambda s: s != ""), min_size=1, max_size=32))
def test_quoted_words_round_trip_as_a_line(values: list[str]) -> None:
    line = " ".join(quote(v) for v in values)
    assert split(line) == values


@settings(max_examples=300)
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_only_documented_errors(data: bytes) -> None:
    try:
        words = split(data.replace(b"\n", b" "))
    except TokenizerError:
        return
    assert len(words) <= 32
    assert all(len(w) <= 512 and all(0x20 <= ord(c) <= 0x7F for c in w) for w in words)


@settings(max_examples=300)
@given(st.binary(max_size=2000), st.integers(min_value=1, max_value=64))
def test_arbitrary_stream_any_chunking_same_result(data: bytes, chunk: int) -> None:
    whole = Tokenizer().feed(data)
    t = Tokenizer()
    parts: list[list[str] | TokenizerError] = []
    for i in range(0, len(data), chunk):
        parts.extend(t.feed(data[i : i + chunk]))

    def norm(items: list[list[str] | TokenizerError]) -> list[object]:
        return [(i.message, i.words) if isinstance(i, TokenizerError) else i for i in items]

    assert norm(parts) == norm(whole)


@settings(max_examples=300)
@given(st.binary(max_size=3000))
def test_arbitrary_config_bytes_never_raise(data: bytes) -> None:
    for item in iter_conf_lines(data):
        assert isinstance(item, ConfLine | ConfLineError | ConfEOFWarning)
