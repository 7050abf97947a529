"""nut.conf: the shell-style ``KEY=value`` file init scripts read (MODE=...).

Unlike NUT's other files it is sourced by a shell, so there must be no spaces
around ``=``, and values follow shell quoting.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field

from nutwist.config.base import Source
from nutwist.config.diagnostics import Diagnostics

MODES = ("none", "standalone", "netserver", "netclient")
KNOWN_KEYS = frozenset(
    {
        "MODE",
        "UPSD_OPTIONS",
        "UPSMON_OPTIONS",
        "POWEROFF_WAIT",
        "POWEROFF_QUIET",
        "ALLOW_NO_DEVICE",
        "ALLOW_NOT_ALL_LISTENERS",
        "NUT_DEBUG_LEVEL",
        "NUT_DEBUG_PID",
        "NUT_QUIET_INIT_UPSNOTIFY",
        "NUT_QUIET_INIT_BANNER",
        "NUT_IGNORE_CHECKPROCNAME",
    }
)
_ASSIGN = re.compile(r"(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)\Z")


@dataclass
class NutConf:
    path: str
    values: dict[str, str] = field(default_factory=dict)
    diagnostics: Diagnostics = field(default_factory=lambda: Diagnostics("nut.conf"))

    @property
    def mode(self) -> str | None:
        return self.values.get("MODE")


def parse(source: Source) -> NutConf:
    diags = Diagnostics(source.path)
    conf = NutConf(source.path, diagnostics=diags)
    text = source.data.decode("utf-8", "replace")
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        m = _ASSIGN.match(line)
        if m is None:
            if re.match(r"[A-Za-z_][A-Za-z0-9_]*\s+=|[A-Za-z_][A-Za-z0-9_]*=\s", line):
                diags.error(n, "expected KEY=value with no spaces around '=' (this file is shell)")
            else:
                diags.error(n, "expected KEY=value")
            continue
        key, rest = m.group(1), m.group(2)
        try:
            words = shlex.split(rest, comments=True)
        except ValueError as e:
            diags.error(n, f"{key}: {e}")
            continue
        if len(words) > 1:
            diags.error(n, f"{key}: quote a value that has spaces")
            continue
        value = words[0] if words else ""
        if key not in KNOWN_KEYS:
            diags.warning(n, f"unknown setting '{key}'")
        if key == "MODE" and value not in MODES:
            diags.error(n, f"MODE: expected one of {', '.join(MODES)}, got {value!r}")
        conf.values[key] = value
    return conf


def load(path: str) -> NutConf:
    return parse(Source.from_path(path))
