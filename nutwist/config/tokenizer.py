"""NUT's word tokenizer ("parseconf"), byte for byte.

Every NUT text format goes through the same state machine: the configuration
files, the network protocol on TCP 3493 and the driver socket protocol.  This
module reproduces NUT 2.8.0's rules exactly:

* words are split on C ``isspace`` bytes; an LF ends the line;
* ``"..."`` quotes a word (``""`` is an empty word); a closing quote ends the
  word at once, so ``"a"b`` is two words, while a quote inside an unquoted
  word is an ordinary character (``a"b"`` is one word);
* ``\\`` takes the next byte literally, inside or outside quotes; a backslash
  before LF continues the line, and so does an open quote (the LF is dropped);
* ``#`` outside quotes starts a comment; inside quotes it is an error
  ("Unbalanced word due to unescaped # in quotes"), as in NUT 2.8.0;
* an unquoted ``=`` is a word of its own: ``a=b`` gives ``a``, ``=``, ``b``;
* bytes below 0x20 and above 0x7f are discarded when they would be stored in a
  word (0x7f is kept); whitespace is tested first, so TAB separates words
  outside quotes and vanishes inside them;
* at most 32 words per line (extra words dropped) and 512 bytes per word
  (extra bytes dropped).

Most protocol lines are plain (``GET VAR ups ups.status``, ``SETINFO v "x"``);
those take a regular-expression fast path that gives the same words as the
state machine, which handles everything else.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

ARG_LIMIT = 32
WORDLEN_LIMIT = 512

# parseconf's states
_FINDWORDSTART = 1
_FINDEOL = 2
_QUOTECOLLECT = 3
_QC_LITERAL = 4
_COLLECT = 5
_COLLECTLITERAL = 6

_LF = 0x0A
_HASH = 0x23
_QUOTE = 0x22
_BACKSLASH = 0x5C
_EQUALS = 0x3D
# C isspace() in the C locale
_SPACE = frozenset(b" \t\n\v\f\r")

HASH_IN_QUOTES = "Unbalanced word due to unescaped # in quotes"

# A physical line the fast path may handle: no backslash, no '#', and no byte the
# machine would discard (controls other than the whitespace ones, bytes >= 0x80).
_FAST_LINE = re.compile(rb"[^\\#\x00-\x08\x0a\x0e-\x1f\x80-\xff]*\Z")
# Tokens of such a line.  Group 4 (a quote left open, or holding a byte that
# would be dropped) sends the line to the state machine instead.
_FAST_TOKEN = re.compile(rb'"([^"\x00-\x1f]*)"|(=)|([^\s"=][^\s=]*)|(")')


class TokenizerError(ValueError):
    """A line NUT's tokenizer rejects (only a ``#`` inside quotes does)."""

    def __init__(self, message: str, words: list[str]) -> None:
        super().__init__(message)
        self.message = message
        self.words = words


#: recently seen plain lines: pollers send the same few requests over and over
_CACHE: dict[bytes, tuple[str, ...]] = {}
_CACHE_MAX = 4096


def _fast_split(line: bytes) -> list[str] | None:
    """Words of a plain physical line (without its LF), or None if not plain."""
    hit = _CACHE.get(line)
    if hit is not None:
        return list(hit)
    words = _fast_split_uncached(line)
    if words is not None and len(line) <= 256:
        if len(_CACHE) >= _CACHE_MAX:
            _CACHE.clear()
        _CACHE[line] = tuple(words)
    return words


def _fast_split_uncached(line: bytes) -> list[str] | None:
    if _FAST_LINE.match(line) is None:
        return None
    words: list[str] = []
    for m in _FAST_TOKEN.finditer(line):
        quoted, equals, bare, bad = m.groups()
        if bad is not None:
            return None
        word = quoted if quoted is not None else (equals or bare)
        words.append(word.decode("ascii"))
    if len(words) > ARG_LIMIT:
        del words[ARG_LIMIT:]
    for i, w in enumerate(words):
        if len(w) > WORDLEN_LIMIT:
            words[i] = w[:WORDLEN_LIMIT]
    return words


@dataclass
class _Machine:
    """The parseconf state machine with its word buffers."""

    arg_limit: int = ARG_LIMIT
    wordlen_limit: int = WORDLEN_LIMIT
    state: int = _FINDWORDSTART
    args: list[str] = field(default_factory=list)
    word: bytearray = field(default_factory=bytearray)
    #: bytes discarded since the current line began (for warnings)
    dropped: list[int] = field(default_factory=list)

    @property
    def fresh(self) -> bool:
        return self.state == _FINDWORDSTART and not self.args and not self.word

    def reset(self) -> None:
        self.state = _FINDWORDSTART
        self.args = []
        self.word = bytearray()
        self.dropped = []

    def _addchar(self, ch: int) -> None:
        if ch < 0x20 or ch > 0x7F:
            if ch != _LF:  # an LF inside quotes is the documented line continuation
                self.dropped.append(ch)
            return
        if self.wordlen_limit and len(self.word) >= self.wordlen_limit:
            return
        self.word.append(ch)

    def _endofword(self) -> None:
        if not (self.arg_limit and len(self.args) >= self.arg_limit):
            self.args.append(self.word.decode("ascii"))
        self.word = bytearray()

    def _findwordstart(self, ch: int) -> int:
        if ch == _LF:
            return 0
        if ch == _HASH:
            return _FINDEOL
        if ch in _SPACE:
            return _FINDWORDSTART
        if ch == _BACKSLASH:
            return _COLLECTLITERAL
        if ch == _QUOTE:
            return _QUOTECOLLECT
        self._addchar(ch)
        if ch == _EQUALS:
            self._endofword()
            return _FINDWORDSTART
        return _COLLECT

    def run(self, data: bytes, pos: int, end: int) -> tuple[int, int]:
        """Feed ``data[pos:end]`` until a line ends or fails.

        Returns ``(next_pos, outcome)``: outcome 1 = line complete (words in
        ``args``), -1 = parse error, 0 = input exhausted mid-line.
        """
        state = self.state
        while pos < end:
            ch = data[pos]
            pos += 1
            if state == _FINDWORDSTART:
                state = self._findwordstart(ch)
                if state == 0:
                    self.state = _FINDWORDSTART
                    return pos, 1
            elif state == _COLLECT:
                if ch == _HASH:
                    self._endofword()
                    state = _FINDEOL
                elif ch == _LF:
                    self._endofword()
                    self.state = _FINDWORDSTART
                    return pos, 1
                elif ch in _SPACE:
                    self._endofword()
                    state = _FINDWORDSTART
                elif ch == _EQUALS:
                    self._endofword()
                    self._findwordstart(ch)
                    state = _FINDWORDSTART
                elif ch == _BACKSLASH:
                    state = _COLLECTLITERAL
                else:
                    self._addchar(ch)
            elif state == _QUOTECOLLECT:
                if ch == _QUOTE:
                    self._endofword()
                    state = _FINDWORDSTART
                elif ch == _HASH:
                    self._endofword()
                    self.state = _FINDWORDSTART
                    return pos, -1
                elif ch == _BACKSLASH:
                    state = _QC_LITERAL
                else:
                    self._addchar(ch)
            elif state == _QC_LITERAL:
                if ch != _LF:
                    self._addchar(ch)
                state = _QUOTECOLLECT
            elif state == _COLLECTLITERAL:
                if ch != _LF:
                    self._addchar(ch)
                state = _COLLECT
            else:  # _FINDEOL
                if ch == _LF:
                    self.state = _FINDWORDSTART
                    return pos, 1
        self.state = state
        return pos, 0


class Tokenizer:
    """Streaming tokenizer for the network and driver socket protocols.

    ``feed`` returns, in order, one item per completed line: its list of words,
    or a :class:`TokenizerError`.  Input without a final LF waits for more.
    """

    def __init__(self, arg_limit: int = ARG_LIMIT, wordlen_limit: int = WORDLEN_LIMIT) -> None:
        self._m = _Machine(arg_limit, wordlen_limit)
        self._fast = arg_limit == ARG_LIMIT and wordlen_limit == WORDLEN_LIMIT
        self._pending = b""

    def feed(self, data: bytes) -> list[list[str] | TokenizerError]:
        out: list[list[str] | TokenizerError] = []
        m = self._m
        if self._pending:
            data = self._pending + data
            self._pending = b""
        pos = 0
        end = len(data)
        while pos < end:
            if m.fresh and self._fast:
                nl = data.find(b"\n", pos)
                if nl < 0:
                    # Keep a partial plain line as bytes; the machine would give
                    # the same result, but a whole line takes the fast path.
                    if _FAST_LINE.match(data, pos) is not None:
                        self._pending = data[pos:]
                        return out
                else:
                    words = _fast_split(data[pos:nl])
                    if words is not None:
                        out.append(words)
                        pos = nl + 1
                        continue
            pos, outcome = m.run(data, pos, end)
            if outcome == 1:
                out.append(m.args)
                m.reset()
            elif outcome == -1:
                out.append(TokenizerError(HASH_IN_QUOTES, m.args))
                m.reset()
        return out

    @property
    def buffered(self) -> int:
        """How many bytes of an unfinished line are held (to bound line length)."""
        m = self._m
        return len(self._pending) + len(m.word) + sum(len(a) for a in m.args)

    @property
    def idle(self) -> bool:
        """No line is under way (nothing buffered, not inside quotes or a word)."""
        return self._m.fresh and not self._pending

    def take_pending(self) -> bytes | None:
        """Hand back a held partial plain line (b"" if none), or None mid-word/quote.

        For callers with a faster path of their own for plain lines: after this the
        tokenizer is empty, and whatever they do not use they give back to :meth:`feed`.
        """
        if not self._m.fresh:
            return None
        pending, self._pending = self._pending, b""
        return pending

    def reset(self) -> None:
        """Forget any partial line (as upsd does with the rest of a bad buffer)."""
        self._pending = b""
        self._m.reset()


def split(line: str | bytes) -> list[str]:
    """The words of one line, as NUT would parse it; raises TokenizerError."""
    data = line.encode("utf-8", "surrogateescape") if isinstance(line, str) else line
    if b"\n" not in data:
        words = _fast_split(data)
        if words is not None:
            return words
    m = _Machine()
    _, outcome = m.run(data + b"\n", 0, len(data) + 1)
    if outcome == -1:
        raise TokenizerError(HASH_IN_QUOTES, m.args)
    if outcome == 0 and m.word:
        # an open quote swallowed the LF: tie the word off as NUT does at EOF
        m._endofword()
    return m.args


# --- configuration files ---------------------------------------------------


@dataclass(frozen=True)
class ConfLine:
    """One logical line of a configuration file."""

    lineno: int
    words: list[str]
    #: bytes NUT discards (outside printable ASCII) that were in this line
    dropped: tuple[int, ...] = ()


@dataclass(frozen=True)
class ConfLineError:
    """A logical line the tokenizer rejected; the rest of that physical line is skipped."""

    lineno: int
    message: str


@dataclass(frozen=True)
class ConfEOFWarning:
    """NUT's reader drops a last line that has one word and no final LF."""

    lineno: int
    message: str


ConfItem = ConfLine | ConfLineError | ConfEOFWarning


def iter_conf_lines(data: bytes) -> Iterator[ConfItem]:
    """Logical lines of a configuration file, numbered by their first physical line.

    Lines with no words (blank or comment only) are skipped.  This follows
    ``pconf_file_next``, except that after a parse error the rest of the
    physical line is skipped rather than read as a new line.
    """
    m = _Machine()
    pos = 0
    end = len(data)
    lineno = 1
    while pos < end:
        start = pos
        start_line = lineno
        nl = data.find(b"\n", pos)
        if nl >= 0:
            words = _fast_split(data[pos:nl])
            if words is not None:
                pos = nl + 1
                lineno += 1
                if words:
                    yield ConfLine(start_line, words)
                continue
        pos, outcome = m.run(data, pos, end)
        lineno += data.count(b"\n", start, pos)
        if outcome == 1:
            if m.args:
                yield ConfLine(start_line, m.args, tuple(m.dropped))
            m.reset()
        elif outcome == -1:
            yield ConfLineError(start_line, HASH_IN_QUOTES)
            m.reset()
            nl = data.find(b"\n", pos)
            if nl < 0:
                return
            pos = nl + 1
            lineno += 1
        else:
            # end of data in the middle of a logical line
            if m.state in (_QUOTECOLLECT, _QC_LITERAL):
                yield ConfLineError(start_line, "unterminated quoted word at end of file")
                return
            if m.args:
                if m.word:
                    m._endofword()
                yield ConfLine(start_line, m.args, tuple(m.dropped))
            elif m.word:
                yield ConfEOFWarning(
                    start_line,
                    "the last line has a single word and no newline at the end; "
                    "NUT ignores it (add a newline)",
                )
            return


# --- encoding ----------------------------------------------------------------

_ESCAPE_TABLE = str.maketrans({"#": "\\#", "\\": "\\\\", '"': '\\"'})


def encode(value: str) -> str:
    """NUT's ``pconf_encode``: put a backslash before ``#``, ``\\`` and ``"``."""
    return value.translate(_ESCAPE_TABLE)


def unescape(enc: str) -> str:
    """Undo :func:`encode`: drop each escaping backslash (a trailing one is dropped too)."""
    if "\\" not in enc:
        return enc
    out = []
    it = iter(enc)
    for c in it:
        out.append(next(it, "") if c == "\\" else c)
    return "".join(out)


def quote(value: str) -> str:
    """``"<encoded value>"``: a single word that tokenizes back to ``value``."""
    return '"' + value.translate(_ESCAPE_TABLE) + '"'
