"""Descriptions of variables and instant commands, from NUT's cmdvartab.

upsd answers ``GET DESC`` and ``GET CMDDESC`` from this table, and
``Description unavailable`` for a name it lacks.  As NUT 2.8.0's upsd
(server/desc.c): names are looked up ignoring case (strcasecmp, checked
against the running 2.8.0 upsd: ``GET DESC u UPS.STATUS`` gives
``"UPS status"``); the ``VARDESC``/``CMDDESC`` keywords must be upper-case;
lines with fewer than three words or another keyword are skipped; a name given
twice keeps the later text.  The packaged table (nutwist/data/cmdvartab) is
NUT 2.8.0's, because clients show these strings.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from importlib import resources

from nutwist.config.base import Source, lines
from nutwist.config.diagnostics import Diagnostic, Diagnostics
from nutwist.model.state import fold

UNAVAILABLE = "Description unavailable"


@dataclass
class Descriptions:
    """The table; keys are folded names (see :func:`nutwist.model.state.fold`)."""

    vars: dict[str, str] = field(default_factory=dict)
    cmds: dict[str, str] = field(default_factory=dict)
    #: None when the file was read; otherwise NUT's log line for why the table is empty
    problem: str | None = None
    #: lines of the file NUT would skip with a parse error
    diagnostics: list[Diagnostic] = field(default_factory=list)

    def var(self, name: str) -> str:
        return self.vars.get(fold(name), UNAVAILABLE)

    def cmd(self, name: str) -> str:
        return self.cmds.get(fold(name), UNAVAILABLE)


def parse(source: Source) -> Descriptions:
    """The table in one file's bytes."""
    diags = Diagnostics(source.path)
    table = Descriptions(diagnostics=diags)
    for line in lines(source, diags):
        words = line.words
        if len(words) < 3:
            continue
        if words[0] == "VARDESC":
            table.vars[fold(words[1])] = words[2]
        elif words[0] == "CMDDESC":
            table.cmds[fold(words[1])] = words[2]
    return table


def load(path: str | os.PathLike[str]) -> Descriptions:
    """The table in ``path``; raises OSError if it cannot be read."""
    return parse(Source.from_path(path))


def default() -> Descriptions:
    """NUT 2.8.0's table as packaged with nutwist."""
    data = resources.files("nutwist").joinpath("data/cmdvartab").read_bytes()
    return parse(Source("cmdvartab", data))


def from_datapath(datapath: str | os.PathLike[str]) -> Descriptions:
    """``<datapath>/cmdvartab``, or an empty table with :attr:`~Descriptions.problem` set.

    NUT treats the file as optional: any failure to open it (missing,
    unreadable, a directory) leaves every description unavailable, with the
    log line kept in ``problem`` for the caller to write.
    """
    path = os.path.join(os.fspath(datapath), "cmdvartab")
    try:
        return load(path)
    except OSError:
        return Descriptions(problem=f"{path} not found - disabling descriptions")
