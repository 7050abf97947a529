"""The CGI programs' files: hosts.conf (which UPSes they may show) and upsset.conf."""

from __future__ import annotations

from dataclasses import dataclass, field

from nutwist.config.base import Source, expect_args, lines
from nutwist.config.diagnostics import Diagnostics

SECURED_FLAG = "I_HAVE_SECURED_MY_CGI_DIRECTORY"


@dataclass(frozen=True)
class HostEntry:
    system: str
    description: str
    lineno: int


@dataclass
class HostsConf:
    path: str
    monitors: list[HostEntry] = field(default_factory=list)
    diagnostics: Diagnostics = field(default_factory=lambda: Diagnostics("hosts.conf"))

    def allowed(self, system: str) -> bool:
        return any(m.system == system for m in self.monitors)


def parse_hosts(source: Source) -> HostsConf:
    diags = Diagnostics(source.path)
    conf = HostsConf(source.path, diagnostics=diags)
    for line in lines(source, diags):
        if line.words[0] == "MONITOR":
            if expect_args(diags, line, 2, 'MONITOR <ups>@<host> "<description>"'):
                conf.monitors.append(HostEntry(line.words[1], line.words[2], line.lineno))
        else:
            diags.warning(line.lineno, f"unknown directive '{line.words[0]}'")
    return conf


@dataclass
class UpssetConf:
    path: str
    secured: bool = False
    diagnostics: Diagnostics = field(default_factory=lambda: Diagnostics("upsset.conf"))


def parse_upsset(source: Source) -> UpssetConf:
    diags = Diagnostics(source.path)
    conf = UpssetConf(source.path, diagnostics=diags)
    for line in lines(source, diags):
        if line.words == [SECURED_FLAG]:
            conf.secured = True
        else:
            diags.warning(line.lineno, f"unknown directive '{line.words[0]}'")
    return conf


def load_hosts(path: str) -> HostsConf:
    return parse_hosts(Source.from_path(path))


def load_upsset(path: str) -> UpssetConf:
    return parse_upsset(Source.from_path(path))
