"""Descriptions of variables and instant commands, from NUT's cmdvartab.

upsd answers ``GET DESC`` and ``GET CMDDESC`` from this table, and
``Description unavailable`` for a name it lacks.  NUT 2.8.0 looks names up
without regard to case, and so do we.  The table itself (data/cmdvartab) is NUT
2.8.0's, reproduced because clients compare these strings.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from importlib import resources

from nutwist.config.base import Source, lines
from nutwist.config.diagnostics import Diagnostics

UNAVAILABLE = "Description unavailable"


@dataclass
class Descriptions:
    vars: dict[str, str] = field(default_factory=dict)
    cmds: dict[str, str] = field(default_factory=dict)
    #: None when loaded; otherwise why the table is empty (for one log line)
    problem: str | None = None

    def var(self, name: str) -> str:
        return self.vars.get(name.lower(), UNAVAILABLE)

    def cmd(self, name: str) -> str:
        return self.cmds.get(name.lower(), UNAVAILABLE)


def parse(source: Source) -> Descriptions:
    table = Descriptions()
    for line in lines(source, Diagnostics(source.path)):
        if len(line.words) < 3:
            continue
        kind, name, text = line.words[0], line.words[1], line.words[2]
        if kind == "VARDESC":
            table.vars.setdefault(name.lower(), text)
        elif kind == "CMDDESC":
            table.cmds.setdefault(name.lower(), text)
    return table


def default() -> Descriptions:
    """NUT 2.8.0's table as packaged with nutwist."""
    data = resources.files("nutwist").joinpath("data/cmdvartab").read_bytes()
    return parse(Source("cmdvartab", data))


def from_datapath(datapath: str) -> Descriptions:
    """The table in NUT's DATAPATH; an empty one (and why) if it is missing."""
    path = os.path.join(datapath, "cmdvartab")
    try:
        return parse(Source.from_path(path))
    except OSError as e:
        return Descriptions(problem=f"{path} not found - disabling descriptions ({e.strerror})")
