"""One UPS's state tree, with NUT 2.8.0's rules (common/state.c, drivers/dstate.c).

Variables are looked up without regard to case but keep the case they were
created with; lists come out sorted by lower-cased name (NUT keeps a binary
tree ordered by strcasecmp, and walks it in order).  Each variable holds its
raw value, the value escaped for the wire, flags (RW, STRING, NUMBER,
IMMUTABLE), a maximum string length (aux), enums and ranges.  Instant commands
are a case-insensitive set kept sorted the same way.

Every mutator returns True when something changed: drivers broadcast only
changes.  The rules are NUT's, oddities included:

* a value that differs from the old one only in case is *not* a change;
* IMMUTABLE variables (a driver's ``override.*``) ignore later SETINFO,
  DELINFO and SETFLAGS, and show in a dump as a bare ``SETFLAGS <var>``;
* a new range is refused when it shares either bound with an existing one,
  and DELRANGE removes the first range sharing either bound;
* DELENUM compares the given (unescaped) value with the stored (escaped)
  enums, ignoring case.

The same class serves drivers (what they publish) and upsd (its copy of each
driver's data), as NUT's state.c serves both.
"""

from __future__ import annotations

import enum
import re
import string
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Sequence

from nutwist.config.tokenizer import encode, unescape


class Flag(enum.IntFlag):
    RW = 0x1
    STRING = 0x2
    NUMBER = 0x4
    IMMUTABLE = 0x8


#: SETFLAGS words, in the order NUT writes them
FLAG_WORDS: tuple[tuple[str, Flag], ...] = (
    ("RW", Flag.RW),
    ("STRING", Flag.STRING),
    ("NUMBER", Flag.NUMBER),
)
_FLAG_BY_FOLDED_WORD = {w.lower(): f for w, f in FLAG_WORDS}
_NO_FLAGS = Flag(0)

_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


def fold(s: str) -> str:
    """The string as strcasecmp sees it: ASCII letters lower-cased, nothing else."""
    # str.lower() would also fold non-ASCII letters, which strcasecmp leaves alone
    return s.lower() if s.isascii() else s.translate(_ASCII_LOWER)


#: NUT escapes a value into a 256-byte buffer (ST_MAX_VALUE_LEN): at most 255 bytes of
#: the escaped value are kept, and an escape pair is never split.  So every answer
#: carrying a value has room for its closing quote and its line end.
VALUE_MAX = 255


def _escape(raw: str) -> str:
    """pconf_encode(raw), sharing ``raw`` itself when nothing needs escaping (as NUT does)."""
    enc = encode(raw) if "\\" in raw or '"' in raw or "#" in raw else raw
    if len(enc) > VALUE_MAX:
        enc = enc[:VALUE_MAX]
        # every backslash of the escaped text starts or ends a pair: an odd run at the
        # end is a pair whose second half was cut off
        run = len(enc) - len(enc.rstrip("\\"))
        if run % 2:
            enc = enc[:-1]
    return enc


class Variable:
    """One variable of the tree.  Read its attributes; change it through :class:`UpsState`."""

    __slots__ = ("aux", "enums", "flags", "name", "ranges", "raw", "value")

    name: str
    #: the value as set
    raw: str
    #: pconf_encode(raw): what goes between quotes on the wire
    value: str
    flags: Flag
    #: maximum length of a STRING value; 0 when unset
    aux: int
    #: escaped enum values in insertion order; None until the first one
    enums: list[str] | None
    #: (min, max) pairs in insertion order; None until the first one
    ranges: list[tuple[int, int]] | None

    def __init__(self, name: str, raw: str) -> None:
        self.name = name
        self.raw = raw
        self.value = _escape(raw)
        self.flags = _NO_FLAGS
        self.aux = 0
        self.enums = None
        self.ranges = None

    def flag_words(self) -> list[str]:
        """The SETFLAGS words for this variable (IMMUTABLE has none)."""
        flags = self.flags
        return [w for w, f in FLAG_WORDS if flags & f]

    def type_words(self) -> str:
        """GET TYPE's answer after the variable name, e.g. ``RW STRING:16``."""
        words = []
        if self.flags & Flag.RW:
            words.append("RW")
        if self.enums:
            words.append("ENUM")
        if self.ranges:
            words.append("RANGE")
        # NUT falls back to NUMBER for any variable without the STRING flag, text or not
        words.append(f"STRING:{self.aux}" if self.flags & Flag.STRING else "NUMBER")
        return " ".join(words)

    def __repr__(self) -> str:
        return f"Variable({self.name!r}, {self.raw!r}, flags={self.flags!r}, aux={self.aux})"


class UpsState:
    """The variables and instant commands of one UPS."""

    __slots__ = ("_cmd_keys", "_cmd_order", "_cmds", "_keys", "_order", "_vars", "version")

    def __init__(self) -> None:
        #: bumped whenever a variable appears, changes value or goes (upsd's answer cache)
        self.version = 0
        # lookups by folded name; the dict keys are shared with the sorted key lists
        self._vars: dict[str, Variable] = {}
        self._keys: list[str] = []
        # replaced, never changed in place, so an iteration in progress is never disturbed
        self._order: list[Variable] = []
        self._cmds: dict[str, str] = {}
        self._cmd_keys: list[str] = []
        self._cmd_order: list[str] = []

    # --- reading ------------------------------------------------------------------

    def get(self, name: str) -> Variable | None:
        return self._vars.get(fold(name))

    def getinfo(self, name: str) -> str | None:
        """The raw value, or None if there is no such variable."""
        v = self._vars.get(fold(name))
        return None if v is None else v.raw

    def getflags(self, name: str) -> Flag | None:
        v = self._vars.get(fold(name))
        return None if v is None else v.flags

    def getaux(self, name: str) -> int | None:
        v = self._vars.get(fold(name))
        return None if v is None else v.aux

    def getenums(self, name: str) -> tuple[str, ...] | None:
        """The escaped enum values (as LIST ENUM shows them), or None without the variable."""
        v = self._vars.get(fold(name))
        return None if v is None else tuple(v.enums or ())

    def getranges(self, name: str) -> tuple[tuple[int, int], ...] | None:
        v = self._vars.get(fold(name))
        return None if v is None else tuple(v.ranges or ())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and fold(name) in self._vars

    def __len__(self) -> int:
        return len(self._vars)

    def variables(self) -> Sequence[Variable]:
        """Every variable in LIST VAR order (sorted by lower-cased name).  Do not modify."""
        return self._order

    def __iter__(self) -> Iterator[Variable]:
        return iter(self._order)

    def type_words(self, name: str) -> str | None:
        """GET TYPE's words after the variable name, or None without the variable."""
        v = self._vars.get(fold(name))
        return None if v is None else v.type_words()

    # --- variables ----------------------------------------------------------------

    def setinfo(self, name: str, raw: str) -> bool:
        """Create or update a variable; False if nothing changed."""
        key = fold(name)
        v = self._vars.get(key)
        if v is None:
            if key == name:
                key = name  # one string for the key and the name (most names are lower-case)
            v = Variable(name, raw)
            self._vars[key] = v
            i = bisect_left(self._keys, key)
            self._keys.insert(i, key)
            order = self._order.copy()
            order.insert(i, v)
            self._order = order
            self.version += 1
            return True
        old = v.raw
        # strcasecmp: ASCII folding keeps lengths, so a length change is always a change
        if old == raw or (len(old) == len(raw) and fold(old) == fold(raw)):
            return False
        if v.flags & Flag.IMMUTABLE:
            return False
        v.raw = raw
        v.value = _escape(raw)
        self.version += 1
        return True

    def delinfo(self, name: str) -> bool:
        key = fold(name)
        v = self._vars.get(key)
        if v is None or v.flags & Flag.IMMUTABLE:
            return False
        del self._vars[key]
        i = bisect_left(self._keys, key)
        del self._keys[i]
        order = self._order.copy()
        del order[i]
        self._order = order
        self.version += 1
        return True

    def setflags(self, name: str, words: Iterable[str]) -> bool:
        """Replace the flags with those named (RW, STRING, NUMBER; others ignored).

        A missing or IMMUTABLE variable is left alone (False), as dstate_setflags does.
        """
        v = self._vars.get(fold(name))
        if v is None or v.flags & Flag.IMMUTABLE:
            return False
        flags = _NO_FLAGS
        for w in words:
            flags |= _FLAG_BY_FOLDED_WORD.get(fold(w), _NO_FLAGS)
        if flags == v.flags:
            return False
        v.flags = flags
        return True

    def set_immutable(self, name: str) -> bool:
        """Mark a variable IMMUTABLE (a driver's ``override.*``); no wire message exists for it."""
        v = self._vars.get(fold(name))
        if v is None or v.flags & Flag.IMMUTABLE:
            return False
        v.flags |= Flag.IMMUTABLE
        return True

    def setaux(self, name: str, aux: int) -> bool:
        v = self._vars.get(fold(name))
        if v is None or v.aux == aux:
            return False
        v.aux = aux
        return True

    def addenum(self, name: str, raw: str) -> bool:
        """Append an enum value (stored escaped); an exact duplicate is ignored."""
        v = self._vars.get(fold(name))
        if v is None:
            return False
        enc = _escape(raw)
        if v.enums is None:
            v.enums = [enc]
            return True
        if enc in v.enums:
            return False
        v.enums.append(enc)
        return True

    def delenum(self, name: str, raw: str) -> bool:
        """Remove the first enum equal to ``raw`` ignoring case (NUT compares it unescaped)."""
        v = self._vars.get(fold(name))
        if v is None or not v.enums:
            return False
        want = fold(raw)
        for i, e in enumerate(v.enums):
            if fold(e) == want:
                del v.enums[i]
                if not v.enums:
                    v.enums = None
                return True
        return False

    def addrange(self, name: str, lo: int, hi: int) -> bool:
        """Append a range and add the NUMBER flag (dstate_addrange)."""
        if lo > hi:
            return False
        v = self._vars.get(fold(name))
        if v is None:
            return False
        if v.ranges is None:
            v.ranges = []
        # NUT's duplicate test refuses a range sharing either bound with another
        elif any(r_lo == lo or r_hi == hi for r_lo, r_hi in v.ranges):
            return False
        v.ranges.append((lo, hi))
        # NUT adds the flag through dstate_setflags, which IMMUTABLE variables refuse
        if not v.flags & Flag.IMMUTABLE:
            v.flags |= Flag.NUMBER
        return True

    def delrange(self, name: str, lo: int, hi: int) -> bool:
        """Remove the first range sharing either bound with (lo, hi), as NUT does."""
        v = self._vars.get(fold(name))
        if v is None or not v.ranges:
            return False
        for i, (r_lo, r_hi) in enumerate(v.ranges):
            if r_lo == lo or r_hi == hi:
                del v.ranges[i]
                if not v.ranges:
                    v.ranges = None
                return True
        return False

    # --- instant commands -----------------------------------------------------------

    def addcmd(self, cmd: str) -> bool:
        key = fold(cmd)
        if key in self._cmds:
            return False
        if key == cmd:
            key = cmd  # share one string, as for variable names
        self._cmds[key] = cmd
        i = bisect_left(self._cmd_keys, key)
        self._cmd_keys.insert(i, key)
        order = self._cmd_order.copy()
        order.insert(i, cmd)
        self._cmd_order = order
        return True

    def delcmd(self, cmd: str) -> bool:
        key = fold(cmd)
        if self._cmds.pop(key, None) is None:
            return False
        i = bisect_left(self._cmd_keys, key)
        del self._cmd_keys[i]
        order = self._cmd_order.copy()
        del order[i]
        self._cmd_order = order
        return True

    def getcmd(self, cmd: str) -> str | None:
        """The command as it was added, or None."""
        return self._cmds.get(fold(cmd))

    def commands(self) -> Sequence[str]:
        """Instant commands in LIST CMD order.  Do not modify."""
        return self._cmd_order

    # --- DUMPALL ------------------------------------------------------------------------

    def dump_words(self) -> list[list[str]]:
        """The tree as DUMPALL messages, values unescaped (a codec quotes them).

        Without DATAOK/DATASTALE/DUMPDONE, which the caller's staleness decides.
        """
        out: list[list[str]] = []
        for v in self._order:
            n = v.name
            out.append(["SETINFO", n, v.raw])
            for e in v.enums or ():
                out.append(["ADDENUM", n, unescape(e)])
            for lo, hi in v.ranges or ():
                out.append(["ADDRANGE", n, str(lo), str(hi)])
            if v.aux:
                out.append(["SETAUX", n, str(v.aux)])
            if v.flags:
                out.append(["SETFLAGS", n, *v.flag_words()])
        for cmd in self._cmd_order:
            out.append(["ADDCMD", cmd])
        return out

    def dump_lines(self, stale: bool) -> list[str]:
        """A whole DUMPALL reply as NUT 2.8.0's drivers write it (lines without LF)."""
        out = ["DATASTALE"] if stale else []
        for v in self._order:
            n = v.name
            out.append(f'SETINFO {n} "{v.value}"')
            if v.enums:
                out.extend(f'ADDENUM {n} "{e}"' for e in v.enums)
            if v.ranges:
                out.extend(f"ADDRANGE {n} {lo} {hi}" for lo, hi in v.ranges)
            if v.aux:
                out.append(f"SETAUX {n} {v.aux}")
            # NUT tests all flags here: an IMMUTABLE-only variable gives a bare "SETFLAGS <var>"
            if v.flags:
                out.append(" ".join(["SETFLAGS", n, *v.flag_words()]))
        out.extend(f"ADDCMD {c}" for c in self._cmd_order)
        if not stale:
            out.append("DATAOK")
        out.append("DUMPDONE")
        return out


# --- C number parsing, as NUT reads range bounds, SETAUX and SET values ------------------

_LONG_MIN, _LONG_MAX = -(2**63), 2**63 - 1
# strtol: C-locale isspace, an optional sign, then decimal digits (ASCII only)
_STRTOL = re.compile(r"[ \t\n\v\f\r]*([+-]?[0-9]+)")


def strtol(s: str) -> int:
    """glibc's strtol(s, NULL, 10) on a 64-bit long: leading number, else 0; saturates."""
    m = _STRTOL.match(s)
    if m is None:
        return 0
    return max(_LONG_MIN, min(_LONG_MAX, int(m.group(1))))


def atoi(s: str) -> int:
    """glibc's atoi: ``(int) strtol(s, NULL, 10)``, so out-of-range values wrap to 32 bits."""
    n = strtol(s) & 0xFFFFFFFF
    return n - 0x100000000 if n & 0x80000000 else n
