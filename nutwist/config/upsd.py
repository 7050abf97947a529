"""upsd.conf: the data server's settings.

NUT 2.8.0's directives with their defaults, plus nutwist's own extensions
(documented in etc/upsd.conf).  Directive words are case-sensitive, except
DEBUG_MIN, as in NUT.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from nutwist.config.base import Source, expect_args, lines, parse_int, simple_directive
from nutwist.config.diagnostics import Diagnostics
from nutwist.paths import DEFAULT_PORT

CERTREQUEST_WORDS = {"0": 0, "1": 1, "2": 2, "NO": 0, "REQUEST": 1, "REQUIRE": 2}


@dataclass(frozen=True)
class Listen:
    address: str
    port: int
    lineno: int | None = None

    @property
    def wildcard(self) -> bool:
        return self.address == "*"


@dataclass
class UpsdConf:
    path: str
    maxage: int = 15
    trackingdelay: int = 3600
    allow_no_device: bool = False
    allow_not_all_listeners: bool = False
    #: None: as many as the open-file limit allows
    maxconn: int | None = None
    statepath: str | None = None
    datapath: str | None = None
    listen: list[Listen] = field(default_factory=list)
    certfile: str | None = None
    certpath: str | None = None
    #: NSS only: (certificate name, database password); refused by the TLS layer
    certident: tuple[str, str] | None = field(default=None, repr=False)
    certrequest: int = 0
    #: None: unset, which nutwist treats as yes (TLS 1.2 or later)
    disable_weak_ssl: bool | None = None
    debug_min: int | None = None
    # nutwist extensions
    hosts_allow: str = "/etc/hosts.allow"
    hosts_deny: str = "/etc/hosts.deny"
    #: also check hosts.allow/deny (for user "unknown") when a client connects
    acl_on_connect: bool = False
    #: lock an address out after this many failed password checks (0: never) ...
    login_fail_limit: int = 10
    #: ... within this many seconds, and for this many seconds
    login_fail_window: int = 60
    #: refuse USERNAME and PASSWORD on a connection that has not done STARTTLS
    auth_requires_tls: bool = False
    diagnostics: Diagnostics = field(default_factory=lambda: Diagnostics("upsd.conf"))

    def listeners(self) -> list[Listen]:
        """The LISTEN lines, or NUT's default of ::1 and 127.0.0.1 on 3493."""
        if self.listen:
            return list(self.listen)
        return [Listen("127.0.0.1", DEFAULT_PORT), Listen("::1", DEFAULT_PORT)]

    @property
    def min_tls_12(self) -> bool:
        return self.disable_weak_ssl is not False


_SIMPLE_INT: dict[str, tuple[str, int | None]] = {
    "MAXAGE": ("maxage", 1),
    "TRACKINGDELAY": ("trackingdelay", 0),
    "MAXCONN": ("maxconn", 1),
}
_SIMPLE_BOOL = {
    "ALLOW_NO_DEVICE": "allow_no_device",
    "ALLOW_NOT_ALL_LISTENERS": "allow_not_all_listeners",
    "DISABLE_WEAK_SSL": "disable_weak_ssl",
    "ACL_ON_CONNECT": "acl_on_connect",
    "AUTH_REQUIRES_TLS": "auth_requires_tls",
}
_SIMPLE_PATH = {
    "STATEPATH": "statepath",
    "DATAPATH": "datapath",
    "CERTFILE": "certfile",
    "CERTPATH": "certpath",
    "HOSTS_ALLOW": "hosts_allow",
    "HOSTS_DENY": "hosts_deny",
}
_REMOVED = ("ACL", "ACCEPT", "REJECT", "ACCESS")


def parse(source: Source) -> UpsdConf:
    diags = Diagnostics(source.path)
    conf = UpsdConf(source.path, diagnostics=diags)
    for line in lines(source, diags):
        word = line.words[0]
        args = line.words[1:]
        n = line.lineno
        if simple_directive(
            conf, diags, line, ints=_SIMPLE_INT, bools=_SIMPLE_BOOL, strings=_SIMPLE_PATH
        ):
            continue
        if word == "LISTEN":
            if expect_args(diags, line, (1, 2), "LISTEN <address> [<port>]"):
                port = DEFAULT_PORT
                if len(args) == 2:
                    word_port = args[1]
                    if not (word_port.isascii() and word_port.isdigit()) or not (
                        0 < int(word_port) < 65536
                    ):
                        # NUT's upsd hands the word to getaddrinfo, which takes 70000 as
                        # port 4464 without a word; upsd refuses to start instead
                        diags.error(
                            n,
                            f"LISTEN {args[0]} {word_port}: the port must be a number from "
                            "1 to 65535",
                            fatal=True,
                        )
                        continue
                    port = int(word_port)
                conf.listen.append(Listen(args[0], port, n))
        elif word == "CERTIDENT":
            if expect_args(diags, line, 2, "CERTIDENT <certificate name> <database password>"):
                conf.certident = (args[0], args[1])
        elif word == "CERTREQUEST":
            if expect_args(diags, line, 1, "CERTREQUEST NO|REQUEST|REQUIRE"):
                level = CERTREQUEST_WORDS.get(args[0].upper())
                if level is None:
                    diags.error(n, "CERTREQUEST: expected NO, REQUEST or REQUIRE (or 0, 1, 2)")
                else:
                    conf.certrequest = level
        elif word.upper() == "DEBUG_MIN":
            if expect_args(diags, line, 1, "DEBUG_MIN <level>"):
                conf.debug_min = parse_int(diags, n, word, args[0], minimum=0)
        elif word == "LOGIN_THROTTLE":
            if expect_args(diags, line, 2, "LOGIN_THROTTLE <failures> <seconds>"):
                limit = parse_int(diags, n, word, args[0], minimum=0)
                window = parse_int(diags, n, word, args[1], minimum=0)
                if limit is not None and window is not None:
                    conf.login_fail_limit, conf.login_fail_window = limit, window
        elif word in _REMOVED:
            diags.warning(n, f"{word} is no longer supported - switch to LISTEN")
        else:
            diags.warning(n, f"unknown directive '{word}'")
    return conf


def load(path: str) -> UpsdConf:
    return parse(Source.from_path(path))
