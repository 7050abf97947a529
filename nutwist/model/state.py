"""One UPS's state tree, with NUT 2.8.0's rules (common/state.c).

Variables are looked up without regard to case but keep the case they were
created with; lists come out sorted by lower-cased name (NUT keeps a binary
tree ordered by strcasecmp).  Each variable holds its raw value, flags
(RW, STRING, NUMBER, IMMUTABLE), a string length (aux), enums and ranges.
Instant commands are a sorted, case-insensitive set.

Every mutator returns True when something changed: drivers broadcast only
changes.  A value that differs from the old one only in case is *not* a
change, exactly as in NUT (an oddity clients may rely on).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator

from nutwist.config.tokenizer import encode


class Flag(enum.IntFlag):
    RW = 0x1
    STRING = 0x2
    NUMBER = 0x4
    IMMUTABLE = 0x8


#: SETFLAGS words, in the order NUT writes them
FLAG_WORDS = (("RW", Flag.RW), ("STRING", Flag.STRING), ("NUMBER", Flag.NUMBER))
_FLAG_BY_WORD = {w: f for w, f in FLAG_WORDS}


class Variable:
    __slots__ = ("aux", "enums", "flags", "name", "ranges", "raw")

    def __init__(self, name: str, raw: str) -> None:
        self.name = name
        self.raw = raw
        self.flags = Flag(0)
        self.aux = 0
        self.enums: list[str] | None = None
        self.ranges: list[tuple[int, int]] | None = None

    @property
    def value(self) -> str:
        """The value as NUT stores it for the wire: pconf_encode(raw)."""
        return encode(self.raw)

    def flag_words(self) -> list[str]:
        return [w for w, f in FLAG_WORDS if self.flags & f]

    def __repr__(self) -> str:
        return f"Variable({self.name!r}, {self.raw!r}, flags={self.flags!r}, aux={self.aux})"


class UpsState:
    __slots__ = ("_cmds", "_sorted", "_sorted_cmds", "_vars")

    def __init__(self) -> None:
        self._vars: dict[str, Variable] = {}
        self._sorted: list[Variable] | None = None
        self._cmds: dict[str, str] = {}
        self._sorted_cmds: list[str] | None = None

    # --- variables ----------------------------------------------------------------

    def get(self, name: str) -> Variable | None:
        return self._vars.get(name.lower())

    def getinfo(self, name: str) -> str | None:
        v = self._vars.get(name.lower())
        return None if v is None else v.raw

    def getflags(self, name: str) -> int:
        v = self._vars.get(name.lower())
        return 0 if v is None else int(v.flags)

    def __contains__(self, name: str) -> bool:
        return name.lower() in self._vars

    def __len__(self) -> int:
        return len(self._vars)

    def variables(self) -> list[Variable]:
        """Every variable in LIST VAR order (sorted by lower-cased name)."""
        if self._sorted is None:
            self._sorted = [self._vars[k] for k in sorted(self._vars)]
        return self._sorted

    def __iter__(self) -> Iterator[Variable]:
        return iter(self.variables())

    def setinfo(self, name: str, raw: str) -> bool:
        key = name.lower()
        v = self._vars.get(key)
        if v is None:
            self._vars[key] = Variable(name, raw)
            self._sorted = None
            return True
        if v.flags & Flag.IMMUTABLE:
            return False
        if v.raw.lower() == raw.lower():
            return False
        v.raw = raw
        return True

    def delinfo(self, name: str) -> bool:
        if self._vars.pop(name.lower(), None) is None:
            return False
        self._sorted = None
        return True

    def setflags(self, name: str, words: Iterable[str]) -> bool:
        v = self._vars.get(name.lower())
        if v is None:
            return False
        flags = Flag(0)
        for w in words:
            flags |= _FLAG_BY_WORD.get(w, Flag(0))
        flags |= v.flags & Flag.IMMUTABLE
        if flags == v.flags:
            return False
        v.flags = flags
        return True

    def set_immutable(self, name: str) -> bool:
        v = self._vars.get(name.lower())
        if v is None:
            return False
        v.flags |= Flag.IMMUTABLE
        return True

    def setaux(self, name: str, aux: int) -> bool:
        v = self._vars.get(name.lower())
        if v is None or v.aux == aux:
            return False
        v.aux = aux
        return True

    def addenum(self, name: str, raw: str) -> bool:
        v = self._vars.get(name.lower())
        if v is None:
            return False
        enc = encode(raw)
        if v.enums is None:
            v.enums = []
        elif enc in v.enums:
            return False
        v.enums.append(enc)
        return True

    def delenum(self, name: str, raw: str) -> bool:
        v = self._vars.get(name.lower())
        if v is None or not v.enums:
            return False
        enc = encode(raw)
        if enc not in v.enums:
            return False
        v.enums.remove(enc)
        return True

    def addrange(self, name: str, lo: int, hi: int) -> bool:
        v = self._vars.get(name.lower())
        if v is None or lo > hi:
            return False
        if v.ranges is None:
            v.ranges = []
        # NUT's duplicate test rejects a range sharing either bound with another
        if any(r_lo == lo or r_hi == hi for r_lo, r_hi in v.ranges):
            return False
        v.ranges.append((lo, hi))
        v.flags |= Flag.NUMBER
        return True

    def delrange(self, name: str, lo: int, hi: int) -> bool:
        v = self._vars.get(name.lower())
        if v is None or not v.ranges:
            return False
        for i, (r_lo, r_hi) in enumerate(v.ranges):
            if r_lo == lo or r_hi == hi:
                del v.ranges[i]
                return True
        return False

    # --- instant commands -------------------------------------------------------------

    def addcmd(self, cmd: str) -> bool:
        key = cmd.lower()
        if key in self._cmds:
            return False
        self._cmds[key] = cmd
        self._sorted_cmds = None
        return True

    def delcmd(self, cmd: str) -> bool:
        if self._cmds.pop(cmd.lower(), None) is None:
            return False
        self._sorted_cmds = None
        return True

    def getcmd(self, cmd: str) -> str | None:
        return self._cmds.get(cmd.lower())

    def commands(self) -> list[str]:
        """Instant commands in LIST CMD order."""
        if self._sorted_cmds is None:
            self._sorted_cmds = [self._cmds[k] for k in sorted(self._cmds)]
        return self._sorted_cmds

    # --- answers upsd and the driver socket need --------------------------------------

    def type_words(self, name: str) -> str | None:
        """GET TYPE's words after the variable name, e.g. ``RW STRING:16``."""
        v = self._vars.get(name.lower())
        if v is None:
            return None
        words = []
        if v.flags & Flag.RW:
            words.append("RW")
        if v.enums:
            words.append("ENUM")
        if v.ranges:
            words.append("RANGE")
        words.append(f"STRING:{v.aux}" if v.flags & Flag.STRING else "NUMBER")
        return " ".join(words)

    def dump_words(self) -> list[list[str]]:
        """The state as DUMPALL messages (raw values; the codec quotes them)."""
        out: list[list[str]] = []
        for v in self.variables():
            out.append(["SETINFO", v.name, v.raw])
            for e in v.enums or ():
                out.append(["ADDENUM", v.name, _decode(e)])
            for lo, hi in v.ranges or ():
                out.append(["ADDRANGE", v.name, str(lo), str(hi)])
            if v.aux:
                out.append(["SETAUX", v.name, str(v.aux)])
            words = v.flag_words()
            if words:
                out.append(["SETFLAGS", v.name, *words])
        for cmd in self.commands():
            out.append(["ADDCMD", cmd])
        return out

    def dump_lines(self, stale: bool) -> list[str]:
        """A whole DUMPALL reply as NUT 2.8.0's drivers send it (lines without LF)."""
        from nutwist.protocols.sock import format_line

        msgs: list[list[str]] = [["DATASTALE"]] if stale else []
        msgs += self.dump_words()
        msgs.append(["DATAOK"] if not stale else [])
        msgs.append(["DUMPDONE"])
        return [format_line(m).decode("ascii").rstrip("\n") for m in msgs if m]


def atoi(s: str) -> int:
    """C's atoi, as NUT parses range bounds and SET values: leading digits, else 0."""
    s = s.strip()
    end = 1 if s[:1] in ("-", "+") else 0
    while end < len(s) and s[end].isdigit():
        end += 1
    try:
        return int(s[:end])
    except ValueError:
        return 0


def _decode(enc: str) -> str:
    """Undo pconf_encode (enums are stored encoded, as NUT stores them)."""
    out = []
    it = iter(enc)
    for c in it:
        if c == "\\":
            c = next(it, "")
        out.append(c)
    return "".join(out)
