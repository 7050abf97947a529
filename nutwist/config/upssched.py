"""upssched.conf: timers and commands upssched runs for upsmon's notifications.

CMDSCRIPT, PIPEFN and LOCKFN must come before any AT line (NUT refuses
otherwise).  ``AT <type> <ups|*> <action> ...`` lines match a notification by
type (without regard to case) and UPS name (exactly, or ``*``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from nutwist.config.base import Source, expect_args, lines, parse_int
from nutwist.config.diagnostics import Diagnostics

#: action -> (min, max) arguments after it, and its usage
ACTIONS = {
    "START-TIMER": ((2, 2), "START-TIMER <timername> <seconds>"),
    "START-TIMER-SHARED": ((2, 2), "START-TIMER-SHARED <timername> <seconds>"),
    "CANCEL-TIMER": ((1, 2), "CANCEL-TIMER <timername> [<command>]"),
    "CANCEL-TIMER-MATCHED": ((1, 2), "CANCEL-TIMER-MATCHED <timername> [<command>]"),
    "EXECUTE": ((1, 1), "EXECUTE <command>"),
}


@dataclass(frozen=True)
class AtRule:
    lineno: int
    notifytype: str
    upsname: str
    action: str
    args: tuple[str, ...]


@dataclass
class UpsschedConf:
    path: str
    cmdscript: str | None = None
    pipefn: str | None = None
    lockfn: str | None = None
    debug_min: int | None = None
    rules: list[AtRule] = field(default_factory=list)
    diagnostics: Diagnostics = field(default_factory=lambda: Diagnostics("upssched.conf"))

    def matching(self, notifytype: str, upsname: str) -> list[AtRule]:
        t = notifytype.upper()
        return [r for r in self.rules if r.notifytype.upper() == t and r.upsname in ("*", upsname)]


def parse(source: Source) -> UpsschedConf:
    diags = Diagnostics(source.path)
    conf = UpsschedConf(source.path, diagnostics=diags)
    for line in lines(source, diags):
        word, args, n = line.words[0], line.words[1:], line.lineno
        if word in ("CMDSCRIPT", "PIPEFN", "LOCKFN"):
            if expect_args(diags, line, 1, f"{word} <path>"):
                setattr(conf, word.lower(), args[0])
        elif word.upper() == "DEBUG_MIN":
            if expect_args(diags, line, 1, "DEBUG_MIN <level>"):
                conf.debug_min = parse_int(diags, n, word, args[0], minimum=0)
        elif word == "AT":
            if len(args) < 3:
                diags.error(n, "AT: expected 'AT <notifytype> <upsname|*> <action> ...'")
                continue
            missing = [
                k for k in ("CMDSCRIPT", "PIPEFN", "LOCKFN") if getattr(conf, k.lower()) is None
            ]
            if missing:
                diags.error(
                    n,
                    f"AT before {', '.join(missing)}: they must be set above every AT line",
                    fatal=True,
                )
                continue
            ntype, ups, action, rest = args[0], args[1], args[2].upper(), args[3:]
            spec = ACTIONS.get(action)
            if spec is None:
                diags.error(n, f"AT: unknown action {args[2]!r} (expected {', '.join(ACTIONS)})")
                continue
            (lo, hi), usage = spec
            if not lo <= len(rest) <= hi:
                diags.error(n, f"AT: expected 'AT {ntype} {ups} {usage}'")
                continue
            if action.startswith("START-TIMER") and parse_int(diags, n, action, rest[1]) is None:
                continue
            conf.rules.append(AtRule(n, ntype, ups, action, tuple(rest)))
        else:
            diags.warning(n, f"unknown directive '{word}'")
    return conf


def load(path: str) -> UpsschedConf:
    return parse(Source.from_path(path))
