"""What every configuration model shares: reading a file into logical lines."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from nutwist.config.diagnostics import Diagnostics
from nutwist.config.tokenizer import ConfEOFWarning, ConfLine, ConfLineError, iter_conf_lines


@dataclass(frozen=True)
class Source:
    """A configuration file's name (as reported) and its bytes."""

    path: str
    data: bytes

    @classmethod
    def from_path(cls, path: str | os.PathLike[str]) -> Source:
        with open(path, "rb") as f:
            return cls(os.fspath(path), f.read())

    @classmethod
    def from_text(cls, text: str, path: str = "<string>") -> Source:
        return cls(path, text.encode("utf-8", "surrogateescape"))


def lines(source: Source, diags: Diagnostics) -> Iterator[ConfLine]:
    """The file's logical lines; tokenizer problems go to ``diags``."""
    for item in iter_conf_lines(source.data):
        if isinstance(item, ConfLine):
            if item.dropped:
                shown = ", ".join(f"0x{b:02x}" for b in sorted(set(item.dropped)))
                diags.warning(
                    item.lineno,
                    f"ignored byte(s) {shown}: only printable ASCII is kept, as NUT does",
                )
            yield item
        elif isinstance(item, ConfLineError):
            diags.error(item.lineno, item.message)
        elif isinstance(item, ConfEOFWarning):
            diags.warning(item.lineno, item.message)


def parse_int(
    diags: Diagnostics, lineno: int, directive: str, value: str, *, minimum: int | None = None
) -> int | None:
    """A whole number, or None after an error naming the directive."""
    try:
        n = int(value, 10)
    except ValueError:
        diags.error(lineno, f"{directive}: expected a whole number, got {value!r}")
        return None
    if minimum is not None and n < minimum:
        diags.error(lineno, f"{directive}: expected a number >= {minimum}, got {n}")
        return None
    return n


_TRUE = ("true", "yes", "on", "1")
_FALSE = ("false", "no", "off", "0")


def parse_bool(diags: Diagnostics, lineno: int, directive: str, value: str) -> bool | None:
    """NUT's boolean words (true/yes/on/1, false/no/off/0), or None after an error."""
    v = value.strip().lower()
    if v in _TRUE:
        return True
    if v in _FALSE:
        return False
    # NUT accepts any other number as true
    try:
        return int(v, 10) != 0
    except ValueError:
        diags.error(lineno, f"{directive}: expected a boolean (yes/no, true/false, on/off, 1/0)")
        return None


def expect_args(
    diags: Diagnostics, line: ConfLine, count: int | tuple[int, int], usage: str
) -> bool:
    """True if the directive has the right number of arguments, else an error."""
    n = len(line.words) - 1
    lo, hi = (count, count) if isinstance(count, int) else count
    if lo <= n <= hi:
        return True
    diags.error(line.lineno, f"{line.words[0]}: expected '{usage}'")
    return False


def simple_directive(
    conf: Any,
    diags: Diagnostics,
    line: ConfLine,
    *,
    ints: Mapping[str, tuple[str, int | None]] = {},
    bools: Mapping[str, str] = {},
    strings: Mapping[str, str] = {},
) -> bool:
    """Set a one-argument directive from its table onto ``conf``; False if not in a table.

    ``ints`` maps a directive to (attribute, minimum), ``bools`` and ``strings`` to the
    attribute.  A malformed value is reported and leaves the default.
    """
    word = line.words[0]
    if word in ints:
        attr, minimum = ints[word]
        if expect_args(diags, line, 1, f"{word} <number>"):
            value = parse_int(diags, line.lineno, word, line.words[1], minimum=minimum)
            if value is not None:
                setattr(conf, attr, value)
        return True
    if word in bools:
        if expect_args(diags, line, 1, f"{word} <yes|no>"):
            flag = parse_bool(diags, line.lineno, word, line.words[1])
            if flag is not None:
                setattr(conf, bools[word], flag)
        return True
    if word in strings:
        if expect_args(diags, line, 1, f'{word} "<value>"'):
            setattr(conf, strings[word], line.words[1])
        return True
    return False
