"""TCP-wrappers access control: the answer NUT's upsd gets from libwrap's hosts_access().

Debian builds upsd with libwrap.  Before each command that needs a login, upsd
asks for daemon ``upsd``, the client's numeric address and the NUT user name.
This module gives the same answers from the same files, without DNS or ident.

How a request is decided:

* hosts.allow is read first: the first rule that matches grants access.  If no
  rule there matches, the first matching rule of hosts.deny refuses it.  If
  neither file has a match (or the files do not exist) access is granted.
* A rule is ``daemons : clients [: option : option ...]``.  Lists are split on
  commas and blanks.  ``X EXCEPT Y`` matches what X matches unless Y matches too,
  and Y may carry its own EXCEPT, so the exceptions alternate in sense.
* Options run when their rule matches: ``allow`` and ``deny`` decide whatever
  file the rule is in.  Like libwrap, a malformed option, and ``twist`` (which
  libwrap refuses in a long-running daemon), deny the client.  The others
  (``spawn``, ``severity``, ``setenv`` ...) are accepted and ignored, with a
  warning: nutwist runs no commands and changes nothing in its own process.
* Daemon patterns are names, ``ALL`` or ``name@host`` (host is matched against
  the server address).  Client patterns are ``ALL``, ``LOCAL``, ``KNOWN``,
  ``UNKNOWN``, ``PARANOID``, ``.domain`` suffixes, ``10.0.`` prefixes,
  ``net/mask`` and ``net/len``, ``[ipv6]`` and ``[ipv6]/len``, ``*``/``?``
  wildcards, ``/path`` files listing more patterns, and ``user@host`` where the
  user is the NUT user name.  An IPv4-mapped IPv6 client also matches IPv4
  patterns.  Comparisons ignore case, as libwrap's do.

Without DNS a client's name is known only when the caller passes one, so
``UNKNOWN`` matches when it does not, ``KNOWN`` and ``LOCAL`` need one, and
``PARANOID`` never matches.  A missing user is ``unknown``, as with libwrap.

Also reproduced, with a diagnostic each: only a ``#`` in the first column starts a
comment; a backslash-newline joins lines with nothing in between; a last line
with no newline is ignored; an IPv4 ``net/mask`` whose net has bits outside the
mask never matches.  Patterns, including ``/path`` files, are compiled when a
file is loaded, so :meth:`HostsAccess.check` does no I/O.
"""

from __future__ import annotations

import functools
import ipaddress
import os
import re
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from nutwist.config.diagnostics import Diagnostic, Diagnostics

_UNKNOWN = "unknown"
_NAMELESS = frozenset({_UNKNOWN, "paranoid"})
_RULE_SYNTAX = "expected 'daemon_list : client_list [: option ...]'"
# libwrap reads a logical line into a 2048-byte buffer that also holds the NUL
_LINE_MAX = 2047
_SEPARATORS = re.compile(r"[, \t\r\n]+")
_FILE_SPACE = re.compile(r"[ \t\n\v\f\r]+")
_OPTION_SPACE = " \t\r\n"
_FILE_DEPTH = 8
_FILE_MAX = 16 << 20
_MASK4 = (1 << 32) - 1
_MASK6 = (1 << 128) - 1

# libwrap's option table: whether a value is required, optional, or refused,
# and whether the option must come last
_NEED, _OPTIONAL, _NONE = "need", "optional", "none"
_OPTIONS: dict[str, tuple[str, bool]] = {
    "user": (_NEED, False),
    "group": (_NEED, False),
    "umask": (_NEED, False),
    "linger": (_NEED, False),
    "keepalive": (_NONE, False),
    "spawn": (_NEED, False),
    "twist": (_NEED, True),
    "rfc931": (_OPTIONAL, False),
    "setenv": (_NEED, False),
    "nice": (_OPTIONAL, False),
    "severity": (_NEED, False),
    "allow": (_NONE, True),
    "deny": (_NONE, True),
    "banners": (_NEED, False),
}
_FACILITIES = frozenset(
    [
        "auth",
        "authpriv",
        "cron",
        "daemon",
        "ftp",
        "kern",
        "lpr",
        "mail",
        "mark",
        "news",
        "security",
        "syslog",
        "user",
        "uucp",
    ]
    + [f"local{n}" for n in range(8)]
)
_PRIORITIES = frozenset(
    [
        "alert",
        "crit",
        "debug",
        "emerg",
        "err",
        "error",
        "info",
        "none",
        "notice",
        "panic",
        "warn",
        "warning",
    ]
)

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
_WILDCARDS = {"*": ".*", "?": "."}


@dataclass(frozen=True, slots=True)
class _Host:
    """One end of a connection as the patterns see it (lower case throughout)."""

    text: str  # the address as libwrap prints it, a mapped IPv6 one as IPv4; or "unknown"
    ip: Address | None
    v4: ipaddress.IPv4Address | None  # also set for an IPv4-mapped IPv6 address
    name: str  # "unknown" when no name is known


@dataclass(frozen=True, slots=True)
class _Request:
    daemon: str
    user: str
    client: _Host
    server: _Host


@functools.lru_cache(maxsize=1024)
def _host(addr: str | None, name: str | None) -> _Host:
    ip: Address | None = None
    if addr:
        raw = addr[1:-1] if addr.startswith("[") and addr.endswith("]") else addr
        try:
            ip = ipaddress.ip_address(raw.split("%", 1)[0])
        except ValueError:
            ip = None
    v4: ipaddress.IPv4Address | None = None
    if isinstance(ip, ipaddress.IPv4Address):
        v4 = ip
    elif ip is not None:
        v4 = ip.ipv4_mapped
    if v4 is not None:
        text = str(v4)
    elif ip is not None:
        text = str(ip)
    else:
        text = addr.lower() if addr else _UNKNOWN
    return _Host(text, ip, v4, name.lower() if name else _UNKNOWN)


StringMatch = Callable[[str], bool]
HostMatch = Callable[[_Host], bool]
RequestMatch = Callable[[_Request], bool]


def _always(_: object) -> bool:
    return True


def _never(_: object) -> bool:
    return False


def _string_pattern(tok: str) -> StringMatch:
    """A name pattern: ``.suffix``, ``ALL``, ``KNOWN``, ``prefix.``, wildcards, else equality."""
    low = tok.lower()
    if low.startswith("."):
        return lambda s: len(s) > len(low) and s.endswith(low)
    if low == "all":
        return _always
    if low == "known":
        return lambda s: s != _UNKNOWN
    if low.endswith("."):
        return lambda s: s.startswith(low)
    if "*" in low or "?" in low:
        # only * and ? are special, unlike fnmatch where [...] is a class
        rx = re.compile("".join(_WILDCARDS.get(c, re.escape(c)) for c in low), re.DOTALL)
        return lambda s: rx.fullmatch(s) is not None
    return lambda s: s == low


def _split_at(text: str, delim: str, start: int = 0) -> tuple[str, str | None]:
    """Split at the first ``delim`` outside brackets, so IPv6 addresses keep their colons."""
    depth = 0
    for i in range(start, len(text)):
        c = text[i]
        if c == "[":
            depth += 1
        elif c == "]":
            depth -= 1
        elif c == delim and depth == 0:
            return text[:i], text[i + 1 :]
    return text, None


def _dotted_quad(text: str) -> int | None:
    parts = text.split(".")
    if len(parts) != 4 or not all(p.isascii() and p.isdigit() and len(p) <= 3 for p in parts):
        return None
    values = [int(p) for p in parts]
    if any(v > 255 for v in values):
        return None
    return (values[0] << 24) | (values[1] << 16) | (values[2] << 8) | values[3]


def _prefix_len(text: str, bits: int) -> int | None:
    if not (text.isascii() and text.isdigit()) or int(text) > bits:
        return None
    return int(text)


def _is_numeric(tok: str) -> bool:
    # libwrap matches tokens made only of digits, dots and slashes against the address alone
    return all(c in "0123456789./" for c in tok)


@dataclass(frozen=True)
class Pattern:
    """One word of a daemon or client list, compiled."""

    text: str
    match: RequestMatch


@dataclass(frozen=True)
class PatternList:
    """A daemon or client list, cut into the parts that EXCEPT separates."""

    segments: tuple[tuple[Pattern, ...], ...]

    def matches(self, req: _Request) -> bool:
        # libwrap's list_match: a hit in part k counts unless part k+1 (itself judged so) matches
        negate = False
        last = len(self.segments) - 1
        for k, segment in enumerate(self.segments):
            if not any(p.match(req) for p in segment):
                return negate
            if k == last:
                return not negate
            negate = not negate
        return False


@dataclass(frozen=True)
class Rule:
    lineno: int
    daemons: PatternList
    clients: PatternList
    options: tuple[str, ...]
    verdict: bool | None = None  # what the options decide: True grant, False deny, None the file

    def matches(self, req: _Request) -> bool:
        return self.daemons.matches(req) and self.clients.matches(req)


class AccessFile:
    """One parsed hosts.allow or hosts.deny."""

    def __init__(
        self, path: str, rules: list[Rule] | None = None, diagnostics: Diagnostics | None = None
    ) -> None:
        self.path = path
        self.rules: list[Rule] = rules if rules is not None else []
        self.diagnostics = diagnostics if diagnostics is not None else Diagnostics(path)

    def __repr__(self) -> str:
        return f"AccessFile({self.path!r}, {len(self.rules)} rules, {len(self.diagnostics)} diagnostics)"


class _Compiler:
    """Compiles the patterns of one rule, reporting problems at its line."""

    def __init__(self, diags: Diagnostics, lineno: int) -> None:
        self.diags = diags
        self.lineno = lineno
        self.files: list[str] = []

    def warn(self, msg: str) -> None:
        self.diags.warning(self.lineno, msg)

    def pattern_list(self, words: list[str], kind: Callable[[str], RequestMatch]) -> PatternList:
        segments: list[tuple[Pattern, ...]] = []
        current: list[Pattern] = []
        for word in words:
            if word.lower() == "except":
                segments.append(tuple(current))
                current = []
            else:
                current.append(Pattern(word, kind(word)))
        segments.append(tuple(current))
        return PatternList(tuple(segments))

    def daemon(self, tok: str) -> RequestMatch:
        name, host = _split_at(tok, "@", 1)
        name_m = _string_pattern(name)
        if host is None:
            return lambda r: name_m(r.daemon)
        host_m = self.host(host)
        return lambda r: name_m(r.daemon) and host_m(r.server)

    def client(self, tok: str) -> RequestMatch:
        user, host = _split_at(tok, "@", 1)
        if host is None:
            plain = self.host(tok)
            return lambda r: plain(r.client)
        host_m = self.host(host)
        user_m = _string_pattern(user)
        return lambda r: host_m(r.client) and user_m(r.user)

    def host(self, tok: str) -> HostMatch:
        if not tok:
            self.warn("a pattern has nothing after '@': it never matches")
            return _never
        if tok.startswith("@"):
            self.warn(f"NIS netgroup {tok} never matches: nutwist does not look up netgroups")
            return _never
        if tok.startswith("/"):
            return self._file(tok)
        low = tok.lower()
        if low == "known":
            return lambda h: h.text != _UNKNOWN and h.name not in _NAMELESS
        if low == "local":
            return lambda h: "." not in h.name and h.name not in _NAMELESS
        net, mask = _split_at(tok, "/")
        if mask is not None:
            return self._net(tok, net, mask)
        if tok.startswith("[") and tok.endswith("]"):
            return self._ipv6(tok)
        string_m = _string_pattern(tok)
        if _is_numeric(tok):
            return lambda h: string_m(h.text)
        return lambda h: string_m(h.text) or string_m(h.name)

    def _ipv6(self, tok: str) -> HostMatch:
        try:
            want = ipaddress.IPv6Address(tok[1:-1].split("%", 1)[0])
        except ValueError:
            self.warn(f"{tok!r} is not an IPv6 address in brackets: it never matches")
            return _never
        return lambda h: h.ip == want

    def _net(self, tok: str, net: str, mask: str) -> HostMatch:
        if net.startswith("[") and net.endswith("]"):
            bits = _prefix_len(mask, 128)
            try:
                base = int(ipaddress.IPv6Address(net[1:-1].split("%", 1)[0]))
            except ValueError:
                bits = None
            if bits is None:
                self.warn(f"bad IPv6 network {tok!r} (expected [address]/length): it never matches")
                return _never
            m6 = _MASK6 ^ (_MASK6 >> bits)
            if base & ~m6:
                self.warn(f"{tok!r} has address bits set beyond /{bits}; they are ignored")
            want6 = base & m6
            return lambda h: isinstance(h.ip, ipaddress.IPv6Address) and (int(h.ip) & m6) == want6
        want4 = _dotted_quad(net)
        if "." in mask:
            m4 = _dotted_quad(mask)
        else:
            length = _prefix_len(mask, 32)
            m4 = None if length is None else _MASK4 ^ (_MASK4 >> length)
        if want4 is None or m4 is None:
            self.warn(
                f"bad network {tok!r} (expected n.n.n.n/m.m.m.m, n.n.n.n/length"
                " or [ipv6]/length): it never matches"
            )
            return _never
        if want4 & ~m4:
            # libwrap compares (address & mask) with the net as written
            self.warn(f"{tok!r} has address bits outside the mask, so it never matches")
            return _never
        return lambda h: h.v4 is not None and (int(h.v4) & m4) == want4

    def _file(self, path: str) -> HostMatch:
        if len(self.files) >= _FILE_DEPTH or path in self.files:
            self.warn(f"pattern file {path} is nested too deeply or includes itself: skipped")
            return _never
        try:
            st = os.stat(path)
            if not stat.S_ISREG(st.st_mode):
                self.warn(f"pattern file {path} is not a regular file: it never matches")
                return _never
            with open(path, "rb") as f:
                data = f.read(_FILE_MAX + 1)
        except FileNotFoundError:
            self.warn(f"pattern file {path} does not exist: it never matches")
            return _never
        except (OSError, ValueError) as e:
            why = getattr(e, "strerror", None) or str(e)
            self.warn(f"cannot read pattern file {path}: {why}: it never matches")
            return _never
        if len(data) > _FILE_MAX:
            self.warn(f"pattern file {path} is larger than {_FILE_MAX} bytes: it never matches")
            return _never
        exact: set[str] = set()
        others: list[HostMatch] = []
        self.files.append(path)
        try:
            for tok in _FILE_SPACE.split(data.decode("utf-8", "surrogateescape")):
                if not tok:
                    continue
                # plain addresses are looked up in a set so that long lists stay fast
                if _dotted_quad(tok) is not None:
                    exact.add(tok.lower())
                else:
                    others.append(self.host(tok))
        finally:
            self.files.pop()
        if not others:
            return lambda h: h.text in exact
        return lambda h: h.text in exact or any(m(h) for m in others)


def _option_fields(text: str) -> list[str]:
    """libwrap's get_field: ':' separates options and '\\:' is a literal colon."""
    if not text:
        return []
    fields: list[str] = []
    cur: list[str] = []
    i = 0
    while i < len(text):
        c = text[i]
        if c == ":":
            fields.append("".join(cur))
            cur = []
            i += 1
            if i == len(text):
                return fields
            continue
        if c == "\\" and text[i + 1 : i + 2] == ":":
            i += 1
            c = ":"
        cur.append(c)
        i += 1
    fields.append("".join(cur))
    return fields


def _split_option(opt: str) -> tuple[str, str | None]:
    """Name and value, separated by blanks or one '=' (libwrap allows both)."""
    for i, c in enumerate(opt):
        if c == "=" or c in _OPTION_SPACE:
            rest = opt[i:]
            if rest[0] != "=":
                rest = rest[1:].lstrip(_OPTION_SPACE)
            if rest.startswith("="):
                rest = rest[1:].lstrip(_OPTION_SPACE)
            return opt[:i], rest or None
    return opt, None


def _bad_value(key: str, value: str | None) -> bool:
    if value is None:
        return False
    if key == "umask":
        return re.fullmatch(r"\+?[0-7]+", value) is None or int(value, 8) > 0o777
    if key in ("linger", "nice", "rfc931"):
        if re.fullmatch(r"[+-]?[0-9]+", value) is None:
            return True
        n = int(value)
        return (key == "linger" and n < 0) or (key == "rfc931" and n <= 0)
    if key == "severity":
        facility, level = _split_at(value, ".")
        if level is None:
            return facility.lower() not in _PRIORITIES
        return facility.lower() not in _FACILITIES or level.lower() not in _PRIORITIES
    return False


def _options(
    text: str | None, lineno: int, diags: Diagnostics
) -> tuple[tuple[str, ...], bool | None]:
    """The options of a rule and the verdict libwrap reaches when the rule matches."""
    if text is None:
        return (), None
    opts = tuple(f.strip(" \t\n\v\f\r") for f in _option_fields(text))
    denies = "libwrap denies access when this rule matches, and so does nutwist"
    for i, opt in enumerate(opts):
        key, value = _split_option(opt)
        spec = _OPTIONS.get(key.lower()) if key else None
        problem = None
        if not key:
            problem = "empty option after ':'"
        elif spec is None:
            problem = f"unknown option {key!r} (known: {', '.join(_OPTIONS)})"
        elif value is None and spec[0] == _NEED:
            problem = f"option {key!r} needs a value"
        elif value is not None and spec[0] == _NONE:
            problem = f"option {key!r} takes no value (got {value!r})"
        elif spec[1] and i < len(opts) - 1:
            problem = f"option {key!r} must be the last one"
        elif _bad_value(key.lower(), value):
            problem = f"bad value {value!r} for option {key!r}"
        if problem is not None:
            diags.error(lineno, f"{problem}: {denies}")
            return opts, False
        name = key.lower()
        if name == "allow":
            return opts, True
        if name == "deny":
            return opts, False
        if name == "twist":
            diags.warning(
                lineno,
                "option 'twist' is not run; libwrap refuses it in a daemon such as upsd"
                " and denies access, and so does nutwist",
            )
            return opts, False
        extra = " (the command is not run)" if name == "spawn" else ""
        diags.warning(lineno, f"option {key!r} is ignored by nutwist{extra}")
    return opts, None


def _logical_lines(data: bytes) -> Iterator[tuple[int, bytes, bool]]:
    """(first line number, text with its newline, whether a newline ended it)."""
    lineno = 0
    pos = 0
    while pos < len(data):
        first = lineno + 1
        parts: list[bytes] = []
        complete = False
        while pos < len(data):
            end = data.find(b"\n", pos)
            if end < 0:
                parts.append(data[pos:])
                pos = len(data)
                break
            lineno += 1
            chunk = data[pos : end + 1]
            pos = end + 1
            if chunk.endswith(b"\\\n"):
                parts.append(chunk[:-2])
                continue
            parts.append(chunk)
            complete = True
            break
        yield first, b"".join(parts), complete


def parse_access_file(path: str, data: bytes) -> AccessFile:
    diags = Diagnostics(path)
    rules: list[Rule] = []
    for lineno, raw, complete in _logical_lines(data):
        blank = not raw.strip(b" \t\r\n")
        if len(raw) > _LINE_MAX:
            diags.error(lineno, f"line longer than libwrap's {_LINE_MAX} bytes: ignored")
            continue
        if not complete:
            if not blank and not raw.startswith(b"#"):
                diags.error(lineno, "no newline at the end of the file: libwrap ignores this line")
            continue
        if b"\0" in raw:
            diags.error(lineno, "line holds a NUL byte: libwrap ignores it")
            continue
        if blank or raw.startswith(b"#"):
            continue
        line = raw.decode("utf-8", "surrogateescape")
        if "#" in line:
            diags.warning(
                lineno,
                "'#' starts a comment only in the first column; here it is part of the rule",
            )
        if line.count("[") != line.count("]"):
            diags.warning(
                lineno, "unbalanced '[' ']': a ':' inside brackets does not separate fields"
            )
        daemon_text, rest = _split_at(line, ":")
        if rest is None:
            diags.error(lineno, f"missing ':' separator, {_RULE_SYNTAX}: rule ignored")
            continue
        client_text, option_text = _split_at(rest, ":")
        daemons = [w for w in _SEPARATORS.split(daemon_text) if w]
        clients = [w for w in _SEPARATORS.split(client_text) if w]
        if not daemons or not clients:
            which = "daemon" if not daemons else "client"
            diags.error(lineno, f"empty {which} list, {_RULE_SYNTAX}: rule ignored")
            continue
        compiler = _Compiler(diags, lineno)
        daemon_list = compiler.pattern_list(daemons, compiler.daemon)
        client_list = compiler.pattern_list(clients, compiler.client)
        options, verdict = _options(option_text, lineno, diags)
        rules.append(Rule(lineno, daemon_list, client_list, options, verdict))
    return AccessFile(path, rules, diags)


def load_access_file(path: str) -> AccessFile:
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return AccessFile(path)
    except (OSError, ValueError) as e:
        af = AccessFile(path)
        why = getattr(e, "strerror", None) or str(e)
        af.diagnostics.error(None, f"cannot read ({why}): libwrap treats it as empty")
        return af
    return parse_access_file(path, data)


class HostsAccess:
    """hosts.allow and hosts.deny together, asked as upsd asks libwrap."""

    allow: AccessFile
    deny: AccessFile
    diagnostics: list[Diagnostic]

    def __init__(
        self, allow_path: str = "/etc/hosts.allow", deny_path: str = "/etc/hosts.deny"
    ) -> None:
        self._use(load_access_file(allow_path), load_access_file(deny_path))

    def _use(self, allow: AccessFile, deny: AccessFile) -> None:
        self.allow = allow
        self.deny = deny
        self.diagnostics = [*allow.diagnostics, *deny.diagnostics]

    @classmethod
    def from_files(cls, allow: AccessFile, deny: AccessFile) -> HostsAccess:
        self = cls.__new__(cls)
        self._use(allow, deny)
        return self

    def reload(self) -> HostsAccess:
        return type(self)(self.allow.path, self.deny.path)

    def check(
        self,
        daemon: str,
        client_addr: str,
        user: str | None = None,
        client_name: str | None = None,
        server_addr: str | None = None,
    ) -> bool:
        """Whether ``user`` at ``client_addr`` may use ``daemon``."""
        req = _Request(
            daemon.lower(),
            user.lower() if user else _UNKNOWN,
            _host(client_addr, client_name),
            _host(server_addr, None),
        )
        for rule in self.allow.rules:
            if rule.matches(req):
                return True if rule.verdict is None else rule.verdict
        for rule in self.deny.rules:
            if rule.matches(req):
                return False if rule.verdict is None else rule.verdict
        return True
