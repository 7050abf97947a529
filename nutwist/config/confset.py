"""All of NUT's configuration files in one directory, loaded together."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from nutwist.config import cgi, nutconf, ups, upsd, upsmon, upssched, users
from nutwist.config.base import Source
from nutwist.config.diagnostics import ConfigError, Diagnostic, Diagnostics

FILES = (
    "nut.conf",
    "ups.conf",
    "upsd.conf",
    "upsd.users",
    "upsmon.conf",
    "upssched.conf",
    "hosts.conf",
    "upsset.conf",
)


@dataclass
class ConfSet:
    """The parsed files of one configuration directory; absent files are None."""

    confdir: str
    nut: nutconf.NutConf | None = None
    ups: ups.UpsConf | None = None
    upsd: upsd.UpsdConf | None = None
    users: users.UsersConf | None = None
    upsmon: upsmon.UpsmonConf | None = None
    upssched: upssched.UpsschedConf | None = None
    hosts: cgi.HostsConf | None = None
    upsset: cgi.UpssetConf | None = None
    #: problems reading files (missing directory, unreadable file)
    io_diagnostics: Diagnostics = field(default_factory=lambda: Diagnostics("confdir"))

    def path(self, name: str) -> str:
        return os.path.join(self.confdir, name)

    def diagnostics(self) -> list[Diagnostic]:
        out: list[Diagnostic] = list(self.io_diagnostics)
        for model in (
            self.nut,
            self.ups,
            self.upsd,
            self.users,
            self.upsmon,
            self.upssched,
            self.hosts,
            self.upsset,
        ):
            if model is not None:
                out.extend(model.diagnostics)
        return out

    def require(self, *names: str) -> None:
        """Raise ConfigError if any named file is absent or has a fatal problem."""
        problems: list[Diagnostic] = []
        for name in names:
            if self.model(name) is None:
                d = Diagnostics(self.path(name))
                d.error(None, "cannot open: the file does not exist or is unreadable", fatal=True)
                problems.extend(d)
            else:
                problems.extend(x for x in self.model_diagnostics(name) if x.fatal)
        if problems:
            raise ConfigError(problems)

    def model(self, name: str) -> object | None:
        return getattr(self, _ATTR[name])

    def model_diagnostics(self, name: str) -> list[Diagnostic]:
        m = self.model(name)
        return list(getattr(m, "diagnostics", []))


_ATTR = {
    "nut.conf": "nut",
    "ups.conf": "ups",
    "upsd.conf": "upsd",
    "upsd.users": "users",
    "upsmon.conf": "upsmon",
    "upssched.conf": "upssched",
    "hosts.conf": "hosts",
    "upsset.conf": "upsset",
}
_PARSERS = {
    "nut.conf": nutconf.parse,
    "ups.conf": ups.parse,
    "upsd.conf": upsd.parse,
    "upsd.users": users.parse,
    "upsmon.conf": upsmon.parse,
    "upssched.conf": upssched.parse,
    "hosts.conf": cgi.parse_hosts,
    "upsset.conf": cgi.parse_upsset,
}


def load(confdir: str, names: tuple[str, ...] = FILES) -> ConfSet:
    """Parse every file of ``names`` present in ``confdir``; never raises."""
    cs = ConfSet(confdir)
    if not os.path.isdir(confdir):
        cs.io_diagnostics.error(None, f"{confdir}: not a directory")
        return cs
    for name in names:
        path = os.path.join(confdir, name)
        try:
            source = Source.from_path(path)
        except FileNotFoundError:
            continue
        except OSError as e:
            cs.io_diagnostics.error(None, f"{path}: cannot read: {e.strerror}")
            continue
        setattr(cs, _ATTR[name], _PARSERS[name](source))
    return cs
