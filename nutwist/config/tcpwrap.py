"""TCP-wrappers access control, as NUT's upsd gets it from libwrap.

Debian's upsd asks ``hosts_access()`` (daemon ``upsd``, with the NUT user name
as the client user) before every command that needs a login.  The rules
(hosts_access(5)):

* a rule is ``daemons : clients [: option ...]``; lists are separated by commas
  or blanks; ``#`` lines are comments and a trailing backslash joins lines;
* access is granted if a rule of hosts.allow matches, else denied if a rule of
  hosts.deny matches, else granted; a missing file is an empty one;
* ``: allow`` / ``: deny`` options decide for the rule that carries them;
* ``a EXCEPT b`` matches what a matches unless b matches, recursively;
* client patterns: ``ALL``, ``LOCAL``, ``KNOWN``, ``UNKNOWN``, ``PARANOID``,
  ``.domain`` suffixes, ``192.168.`` prefixes, ``net/mask`` and ``net/len``,
  ``[ipv6]/len``, ``*``/``?`` wildcards, ``/file`` lists, and ``user@host``.

We do no DNS and no ident lookups: a client's name is known only when the
caller passes it, and the user is the NUT user name (``unknown`` when none).
Patterns are compiled when a file is loaded, so a check does no I/O.
"""

from __future__ import annotations

import fnmatch
import ipaddress
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from nutwist.config.diagnostics import Diagnostic, Diagnostics

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

_SEPARATORS = ", \t\r\n"
_KNOWN_OPTIONS = frozenset(
    {
        "severity",
        "spawn",
        "twist",
        "setenv",
        "banners",
        "nice",
        "keepalive",
        "linger",
        "rfc931",
        "umask",
        "user",
    }
)


@dataclass(frozen=True)
class Request:
    daemon: str
    addr_text: str
    addr: Address | None
    name: str | None
    user: str
    server_addr: str | None


Matcher = Callable[[Request], bool]


def _tokens(text: str) -> list[str]:
    out: list[str] = []
    cur: list[str] = []
    for c in text:
        if c in _SEPARATORS:
            if cur:
                out.append("".join(cur))
                cur = []
        else:
            cur.append(c)
    if cur:
        out.append("".join(cur))
    return out


def _string_match(tok: str, string: str | None) -> bool:
    """libwrap's string_match: ALL, .suffix, prefix., wildcards, or equality."""
    if tok == "ALL":
        return True
    if string is None:
        return False
    if tok == "KNOWN":
        return string != "unknown"
    low, s = tok.lower(), string.lower()
    if tok.startswith("."):
        return s.endswith(low)
    if tok.endswith("."):
        return s.startswith(low)
    if "*" in tok or "?" in tok:
        return fnmatch.fnmatchcase(s, low)
    return low == s


def _parse_net(tok: str) -> Network | None:
    net, _, mask = tok.partition("/")
    try:
        if net.startswith("[") and net.endswith("]"):
            return ipaddress.IPv6Network(f"{net[1:-1]}/{mask or 128}", strict=False)
        if mask and "." in mask:
            return ipaddress.IPv4Network(f"{net}/{mask}", strict=False)
        if mask:
            return ipaddress.ip_network(f"{net}/{int(mask)}", strict=False)
    except ValueError:
        return None
    return None


def _addresses(req: Request) -> list[Address]:
    if req.addr is None:
        return []
    out: list[Address] = [req.addr]
    if isinstance(req.addr, ipaddress.IPv6Address) and req.addr.ipv4_mapped is not None:
        out.append(req.addr.ipv4_mapped)
    return out


def _addr_texts(req: Request) -> list[str]:
    return [str(a) for a in _addresses(req)] or [req.addr_text]


class _Compiler:
    def __init__(self, path: str, diags: Diagnostics, lineno: int) -> None:
        self.path = path
        self.diags = diags
        self.lineno = lineno

    def host(self, tok: str) -> Matcher:
        if tok.startswith("/"):
            return self._file(tok)
        if tok.startswith("@"):
            self.diags.warning(
                self.lineno, f"NIS netgroup {tok} is not supported: it never matches"
            )
            return lambda r: False
        if tok == "ALL":
            return lambda r: True
        if tok == "LOCAL":
            return lambda r: r.name is not None and "." not in r.name
        if tok == "KNOWN":
            return lambda r: r.name is not None and r.addr is not None
        if tok == "UNKNOWN":
            return lambda r: r.name is None or r.addr is None
        if tok == "PARANOID":
            return lambda r: False
        if "/" in tok:
            net = _parse_net(tok)
            if net is None:
                self.diags.warning(self.lineno, f"bad network pattern {tok!r}: it never matches")
                return lambda r: False
            return lambda r: any(a.version == net.version and a in net for a in _addresses(r))
        if tok.startswith("[") and tok.endswith("]"):
            try:
                exact = ipaddress.IPv6Address(tok[1:-1])
            except ValueError:
                self.diags.warning(self.lineno, f"bad IPv6 address {tok!r}: it never matches")
                return lambda r: False
            return lambda r: exact in _addresses(r)
        return lambda r: (
            _string_match(tok, r.name) or any(_string_match(tok, a) for a in _addr_texts(r))
        )

    def _file(self, path: str) -> Matcher:
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                toks = [t for line in f if not line.lstrip().startswith("#") for t in _tokens(line)]
        except OSError:
            return lambda r: False
        matchers = [self.host(t) for t in toks]
        return lambda r: any(m(r) for m in matchers)

    def client(self, tok: str) -> Matcher:
        if "@" in tok and not tok.startswith("@"):
            user, _, host = tok.rpartition("@")
            host_m = self.host(host)
            return lambda r: _string_match(user, r.user) and host_m(r)
        return self.host(tok)

    def daemon(self, tok: str) -> Matcher:
        if "@" in tok:
            name, _, host = tok.partition("@")
            return lambda r: (
                _string_match(name, r.daemon)
                and r.server_addr is not None
                and _string_match(host, r.server_addr)
            )
        return lambda r: _string_match(tok, r.daemon)


def _list_match(items: Sequence[tuple[str, Matcher | None]], req: Request) -> bool:
    """libwrap's list_match: the first match wins unless what follows EXCEPT matches."""
    i = 0
    while i < len(items):
        word, matcher = items[i]
        if word == "EXCEPT":
            return False
        assert matcher is not None
        if matcher(req):
            j = i + 1
            while j < len(items) and items[j][0] != "EXCEPT":
                j += 1
            return j >= len(items) or not _list_match(items[j + 1 :], req)
        i += 1
    return False


@dataclass(frozen=True)
class Rule:
    lineno: int
    daemons: tuple[tuple[str, Matcher | None], ...]
    clients: tuple[tuple[str, Matcher | None], ...]
    options: tuple[str, ...]

    def matches(self, req: Request) -> bool:
        return _list_match(self.daemons, req) and _list_match(self.clients, req)

    @property
    def verdict(self) -> bool | None:
        """True for ``: allow``, False for ``: deny``, None when the file decides."""
        for opt in self.options:
            word = opt.strip().split(None, 1)[0].lower() if opt.strip() else ""
            if word == "allow":
                return True
            if word == "deny":
                return False
        return None


@dataclass
class AccessFile:
    path: str
    rules: list[Rule] = field(default_factory=list)
    diagnostics: Diagnostics = field(default_factory=lambda: Diagnostics("hosts"))


def _logical_lines(text: str) -> list[tuple[int, str]]:
    out: list[tuple[int, str]] = []
    buf, start = "", 0
    for n, raw in enumerate(text.splitlines(), 1):
        if not buf:
            start = n
            if raw.lstrip().startswith("#"):
                continue
        if raw.endswith("\\"):
            buf += raw[:-1] + " "
            continue
        buf += raw
        if buf.strip():
            out.append((start, buf))
        buf = ""
    if buf.strip():
        out.append((start, buf))
    return out


def parse_access_file(path: str, data: bytes) -> AccessFile:
    diags = Diagnostics(path)
    af = AccessFile(path, diagnostics=diags)
    for n, line in _logical_lines(data.decode("utf-8", "replace")):
        parts = line.split(":")
        if len(parts) < 2:
            diags.error(n, "expected 'daemon_list : client_list [: option ...]'")
            continue
        # an IPv6 client pattern holds colons inside brackets: rejoin them
        fields: list[str] = []
        depth = 0
        for p in parts:
            if depth and fields:
                fields[-1] += ":" + p
            else:
                fields.append(p)
            depth += p.count("[") - p.count("]")
        daemons, clients, options = (
            _tokens(fields[0]),
            _tokens(fields[1]) if len(fields) > 1 else [],
            fields[2:],
        )
        if not daemons or not clients:
            diags.error(n, "expected 'daemon_list : client_list [: option ...]' (a list is empty)")
            continue
        comp = _Compiler(path, diags, n)
        for opt in options:
            word = opt.strip().split(None, 1)[0].lower() if opt.strip() else ""
            if word and word not in ("allow", "deny"):
                if word in _KNOWN_OPTIONS:
                    diags.warning(
                        n, f"option {word!r} is ignored by nutwist (only allow and deny act)"
                    )
                else:
                    diags.warning(n, f"unknown option {word!r} ignored")
        af.rules.append(
            Rule(
                n,
                tuple((t, None if t == "EXCEPT" else comp.daemon(t)) for t in daemons),
                tuple((t, None if t == "EXCEPT" else comp.client(t)) for t in clients),
                tuple(options),
            )
        )
    return af


def load_access_file(path: str) -> AccessFile:
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return AccessFile(path, diagnostics=Diagnostics(path))
    except OSError as e:
        af = AccessFile(path, diagnostics=Diagnostics(path))
        af.diagnostics.error(None, f"cannot read: {e.strerror}")
        return af
    return parse_access_file(path, data)


class HostsAccess:
    """hosts.allow then hosts.deny, checked for one daemon and client."""

    def __init__(
        self, allow_path: str = "/etc/hosts.allow", deny_path: str = "/etc/hosts.deny"
    ) -> None:
        self.allow = load_access_file(allow_path)
        self.deny = load_access_file(deny_path)

    @classmethod
    def from_files(cls, allow: AccessFile, deny: AccessFile) -> HostsAccess:
        self = cls.__new__(cls)
        self.allow, self.deny = allow, deny
        return self

    @property
    def diagnostics(self) -> list[Diagnostic]:
        return [*self.allow.diagnostics, *self.deny.diagnostics]

    def reload(self) -> HostsAccess:
        return HostsAccess(self.allow.path, self.deny.path)

    def check(
        self,
        daemon: str,
        client_addr: str,
        user: str | None = None,
        client_name: str | None = None,
        server_addr: str | None = None,
    ) -> bool:
        try:
            addr: Address | None = ipaddress.ip_address(client_addr.split("%", 1)[0])
        except ValueError:
            addr = None
        req = Request(daemon, client_addr, addr, client_name, user or "unknown", server_addr)
        for rule in self.allow.rules:
            if rule.matches(req):
                verdict = rule.verdict
                return True if verdict is None else verdict
        for rule in self.deny.rules:
            if rule.matches(req):
                verdict = rule.verdict
                return False if verdict is None else verdict
        return True
