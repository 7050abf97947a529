"""The C library's string and number parsing, as NUT's Q* drivers rely on it.

Answers are handled as ``str`` decoded from latin-1 (one character per byte),
and like C strings they end at the first NUL.
"""

from __future__ import annotations

import re

_FLOAT = re.compile(r"[ \t\n\v\f\r]*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)")
_INT = re.compile(r"[ \t\n\v\f\r]*([+-]?\d+)")


def cstr(s: str) -> str:
    """The string a C function sees: up to the first NUL."""
    i = s.find("\0")
    return s if i < 0 else s[:i]


def strtod(s: str) -> float:
    """strtod(s, NULL): the longest leading number, 0.0 when there is none."""
    m = _FLOAT.match(cstr(s))
    if not m:
        return 0.0
    try:
        return float(m.group(1))
    except (ValueError, OverflowError):
        return 0.0


def strtol(s: str, base: int = 10) -> int:
    """strtol(s, NULL, base) for base 10 and 16, clamped to a 64-bit long."""
    s = cstr(s)
    if base == 16:
        m = re.match(r"[ \t\n\v\f\r]*([+-]?)(?:0[xX])?([0-9a-fA-F]+)", s)
        if not m:
            return 0
        v = int(m.group(2), 16)
        v = -v if m.group(1) == "-" else v
    else:
        m2 = _INT.match(s)
        if not m2:
            return 0
        v = int(m2.group(1))
    return max(-(2**63), min(2**63 - 1, v))


def strspn(s: str, accept: str) -> int:
    n = 0
    for ch in cstr(s):
        if ch not in accept:
            break
        n += 1
    return n


def strcspn(s: str, reject: str) -> int:
    n = 0
    for ch in cstr(s):
        if ch in reject:
            break
        n += 1
    return n


def eq(a: str | None, b: str | None) -> bool:
    """strcasecmp(a, b) == 0."""
    if a is None or b is None:
        return False
    if a == b and "\0" not in a:
        return True
    return cstr(a).lower() == cstr(b).lower()


def cformat(fmt: str, *args: object) -> str:
    """printf with one conversion, as NUT's tables use (``%.1f``, ``%s``, ``%03d``...)."""
    try:
        return fmt % args
    except (TypeError, ValueError, OverflowError):
        return ""


def trim(s: str, chars: str) -> str:
    """str_trim_m: strip any of ``chars`` from both ends."""
    return s.strip(chars)


def strtol_end(s: str, base: int = 10) -> tuple[int, str]:
    """strtol(s, &end, base): the number and what follows it (all of s when none)."""
    s = cstr(s)
    if base == 16:
        m = re.match(r"[ \t\n\v\f\r]*([+-]?)(0[xX](?=[0-9a-fA-F]))?([0-9a-fA-F]+)", s)
        if not m:
            return 0, s
        v = int(m.group(3), 16)
        v = -v if m.group(1) == "-" else v
    else:
        m = _INT.match(s)
        if not m:
            return 0, s
        v = int(m.group(1))
    return max(-(2**63), min(2**63 - 1, v)), s[m.end() :]
