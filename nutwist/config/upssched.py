"""upssched.conf: the timers and commands upssched runs for upsmon's notifications.

CMDSCRIPT, PIPEFN and LOCKFN must all be set above any AT line (NUT 2.8.0
stops with "CMDSCRIPT must be set before any ATs in the config file!").
``AT <type> <ups|*> <action> ...`` lines match a notification by type (any
case, as NUT's strcasecmp) and UPS name (exactly, or ``*``).  Directive and
action words are case-sensitive, except DEBUG_MIN.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from nutwist.config.base import Source, expect_args, lines, parse_int
from nutwist.config.diagnostics import Diagnostics
from nutwist.config.tokenizer import ConfLine
from nutwist.config.upsmon import NOTIFY_TYPES

START_TIMER = "START-TIMER"
START_TIMER_SHARED = "START-TIMER-SHARED"
CANCEL_TIMER = "CANCEL-TIMER"
CANCEL_TIMER_MATCHED = "CANCEL-TIMER-MATCHED"
EXECUTE = "EXECUTE"

#: action -> ((fewest, most) words after it, its form)
ACTIONS: dict[str, tuple[tuple[int, int], str]] = {
    START_TIMER: ((2, 2), "START-TIMER <timername> <seconds>"),
    CANCEL_TIMER: ((1, 2), "CANCEL-TIMER <timername> [<command>]"),
    EXECUTE: ((1, 1), "EXECUTE <command>"),
    # NUT 2.8.x after 2.8.0
    START_TIMER_SHARED: ((2, 2), "START-TIMER-SHARED <timername> <seconds>"),
    CANCEL_TIMER_MATCHED: ((1, 2), "CANCEL-TIMER-MATCHED <timername> [<command>]"),
}
_SETTINGS = ("CMDSCRIPT", "PIPEFN", "LOCKFN")
_AT_USAGE = "AT <notifytype> <upsname|*> <action> [<arguments>]"


@dataclass(frozen=True)
class AtRule:
    """One AT line; ``args`` are the words after the action, as written."""

    lineno: int
    notifytype: str
    upsname: str
    action: str
    args: tuple[str, ...]

    @property
    def timer(self) -> str | None:
        """The timer name of a START-/CANCEL- action, else None."""
        return None if self.action == EXECUTE else self.args[0]

    @property
    def seconds(self) -> int | None:
        """A START- action's delay in seconds, else None."""
        if self.action in (START_TIMER, START_TIMER_SHARED):
            return int(self.args[1], 10)
        return None

    @property
    def command(self) -> str | None:
        """EXECUTE's command, or a CANCEL- action's command for a timer not running."""
        if self.action == EXECUTE:
            return self.args[0]
        if self.action in (CANCEL_TIMER, CANCEL_TIMER_MATCHED) and len(self.args) == 2:
            return self.args[1]
        return None

    def matches(self, notifytype: str, upsname: str) -> bool:
        return self.notifytype.upper() == notifytype.upper() and self.upsname in ("*", upsname)


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
        """The AT rules for one notification, in file order (upssched runs each)."""
        return [r for r in self.rules if r.matches(notifytype, upsname)]


def _join(words: list[str]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def _at(conf: UpsschedConf, diags: Diagnostics, line: ConfLine) -> None:
    args, n = line.words[1:], line.lineno
    if len(args) < 3:
        diags.error(n, f"AT: expected '{_AT_USAGE}'")
        return
    ntype, ups, action, rest = args[0], args[1], args[2], tuple(args[3:])
    # NUT checks the order for every AT line with an argument, before anything else
    missing = [k for k in _SETTINGS if getattr(conf, k.lower()) is None]
    if missing and rest:
        diags.error(
            n,
            f"{_join(missing)} must be set before any AT line (NUT's upssched stops here)",
            fatal=True,
        )
        return
    spec = ACTIONS.get(action)
    if spec is None:
        hint = " (actions are upper-case)" if action.upper() in ACTIONS else ""
        diags.error(n, f"AT: unknown action {action!r}{hint}: expected one of {', '.join(ACTIONS)}")
        return
    (fewest, most), usage = spec
    if not fewest <= len(rest) <= most:
        diags.error(n, f"AT: expected 'AT <notifytype> <upsname|*> {usage}'")
        return
    # the timer daemon ignores a negative delay, so such a timer would never run
    timed = action in (START_TIMER, START_TIMER_SHARED)
    if timed and parse_int(diags, n, f"AT {action} seconds", rest[1], minimum=0) is None:
        return
    if ntype.upper() not in NOTIFY_TYPES:
        diags.warning(n, f"AT: {ntype!r} is not a notify type upsmon sends; this line never runs")
    conf.rules.append(AtRule(n, ntype, ups, action, rest))


def parse(source: Source) -> UpsschedConf:
    """The model of one upssched.conf; problems become diagnostics, never exceptions."""
    diags = Diagnostics(source.path)
    conf = UpsschedConf(source.path, diagnostics=diags)
    for line in lines(source, diags):
        word, args, n = line.words[0], line.words[1:], line.lineno
        if word in _SETTINGS:
            if expect_args(diags, line, 1, f"{word} <path>"):
                setattr(conf, word.lower(), args[0])
        elif word.upper() == "DEBUG_MIN":
            if expect_args(diags, line, 1, "DEBUG_MIN <level>"):
                level = parse_int(diags, n, "DEBUG_MIN", args[0], minimum=0)
                if level is not None:
                    conf.debug_min = level
        elif word == "AT":
            _at(conf, diags, line)
        else:
            known = word.upper() in (*_SETTINGS, "AT")
            hint = f" (directive names are case-sensitive: {word.upper()})" if known else ""
            diags.warning(n, f"unknown directive '{word}'{hint}")
    return conf


def load(path: str) -> UpsschedConf:
    return parse(Source.from_path(path))
