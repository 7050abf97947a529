"""nutauth.conf: credentials and TLS settings for the command-line clients.

NUT 2.8.0 has no such file (its clients have no TLS settings); nutwist reads later NUT's for upsc,
upsrw, upscmd and upslog.  The decisions this model takes:

**Which file** (:func:`find`).  ``-A FILE`` names it (it must then exist), ``-A none``
reads none, and ``-A default`` or no ``-A`` takes the first *existing regular file* of
``$NUT_AUTHCONF_FILE``, ``$NUT_AUTHCONF_PATH/nutauth.conf``,
``~/.config/nut/nutauth.conf``, ``~/.nutauth.conf`` and ``<confdir>/nutauth.conf``,
where the config directory is ``$NUT_CONFPATH`` or ``/etc/nut``.  An
empty variable counts as unset.

**Syntax.**  NUT's tokenizer; one setting per line, ``KEY = VALUE``, ``KEY=VALUE`` or
``KEY VALUE``, keys in any case; quote a value holding spaces or ``#``.  Keys:
``user``/``username``, ``pass``/``password``, ``CERTPATH``, ``CERTFILE``, ``CERTHOST``,
``CERTVERIFY`` and ``FORCESSL`` (``on``/``yes``/``1`` or ``off``/``no``/``0``, any
case), ``INCLUDE`` and ``INCLUDE_REQUIRED``.  A relative CERTPATH, CERTFILE or include
path is taken from the directory of the file that names it.  An unknown key is a
warning; a malformed line, a bad boolean or a bad section header is an error.
``CERTIDENT_NAME``, ``CERTIDENT_PASS``, ``CERTIDENT``, ``SSLBACKEND nss`` and a CERTPATH
that is an NSS database (nutwist has no NSS; it reads PEM files) are refused with how to
convert to PEM;
``SSLBACKEND openssl`` is accepted and changes nothing.

**Sections.**  Settings before the first header are the global defaults.  Headers:
``[host]``, ``[@host]``, ``[@host:port]``, ``[user@host]``, ``[user@host:port]``;
an IPv6 address may go in brackets (``[@[::1]:3493]``), and an unbracketed one takes
no port.  Host names compare without regard to case and are not resolved
(``localhost`` is not ``127.0.0.1``); user names compare exactly.  ``[host:port]`` is
refused (write ``[@host:port]``).  A header seen twice continues the same section.
Inside a user section ``user =`` is ignored with a warning: the header names the user.

**Lookup** (:meth:`NutAuth.lookup`).  Every matching section applies, each key taken
from the most specific one that sets it::

    global < [host] < [@host] < [@host:port] < [user@host] < [user@host:port]

The login name is the one given to ``lookup`` (the command line's), else the most
specific ``user`` of the global and user-less sections.  Only the user sections of
that name match; with no name at all, no user section does.  A password from a global
or user-less section goes with the user name in force where it was set: it is used
only when that name is the login name, or when no name was in force there (a default
password for anyone).

**INCLUDE.**  ``INCLUDE path`` reads another file in place: its first lines belong to
the includer's current section, a header inside it lasts until its end, and the
includer's section resumes after it.  A missing ``INCLUDE`` file is skipped with a
warning; a missing ``INCLUDE_REQUIRED`` file, an unreadable one, a loop and nesting
deeper than :data:`MAX_INCLUDE_DEPTH` are errors.

**Safety.**  Every file read (the named one and each include) must be a regular file
of at most :data:`MAX_FILE_SIZE` bytes, readable by its owner only: a group or
world readable file is refused, whatever it holds.  :func:`load` raises
:class:`NutAuthError` whose message is one line, ``file:line: message``; warnings
are kept in :attr:`NutAuth.diagnostics` and never printed here.  No message repeats
a password.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import NamedTuple

from nutwist.config.base import Source, lines
from nutwist.config.diagnostics import Diagnostic, Diagnostics, Level
from nutwist.config.tokenizer import ConfLine
from nutwist.paths import confpath

FILENAME = "nutauth.conf"
#: how deep INCLUDE may nest (the named file is depth 0)
MAX_INCLUDE_DEPTH = 16
#: how many files one load may read in all (includes may repeat a file, not loop)
MAX_FILES = 256
#: the largest file nutwist reads as a nutauth.conf or an include
MAX_FILE_SIZE = 1 << 20


@dataclass(frozen=True)
class Credentials:
    """What to log in and connect with; None = not given (the caller's default)."""

    username: str | None = None
    password: str | None = field(default=None, repr=False)
    #: CA directory (hash-named certificates) or CA bundle to verify upsd with
    certpath: str | None = None
    #: client certificate PEM: certificate, chain, then key
    certfile: str | None = None
    #: the name upsd's certificate must carry
    certhost: str | None = None
    certverify: bool | None = None
    forcessl: bool | None = None

    def overlay(self, other: Credentials) -> Credentials:
        """These settings with every value ``other`` gives put over them."""
        changes = {
            f.name: getattr(other, f.name)
            for f in fields(other)
            if getattr(other, f.name) is not None
        }
        return replace(self, **changes) if changes else self


class NutAuthError(Exception):
    """A nutauth.conf nutwist refuses; ``str()`` is one line, ``file:line: message``."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        self.diagnostics = diagnostics
        super().__init__(_one_line(diagnostics[0]) if diagnostics else "nutauth.conf: refused")


def _one_line(d: Diagnostic) -> str:
    where = d.path if d.line is None else f"{d.path}:{d.line}"
    text = f"{where}: {d.message}"
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


class Section(NamedTuple):
    """A section header, parsed: ``[user@host:port]`` and its shorter forms."""

    #: None for ``[@host...]`` and ``[host]``
    user: str | None
    #: lower case, without IPv6 brackets
    host: str
    #: None = any port
    port: int | None
    #: False only for the bare ``[host]`` form, which ranks below ``[@host]``
    at: bool = True

    @property
    def rank(self) -> tuple[bool, bool, bool]:
        """Sorts least to most specific."""
        return (self.user is not None, self.port is not None, self.at)

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host and self.port is not None else self.host
        port = "" if self.port is None else f":{self.port}"
        if not self.at:
            return f"[{host}{port}]"
        return f"[{self.user or ''}@{host}{port}]"


def normalise_host(host: str) -> str:
    """A host as sections compare it: lower case, IPv6 brackets taken off."""
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host.lower()


class NutAuth:
    """One nutauth.conf, with its includes, ready to look credentials up in."""

    def __init__(
        self,
        path: str,
        defaults: Credentials | None = None,
        sections: Mapping[Section, Credentials] | None = None,
        diagnostics: list[Diagnostic] | None = None,
    ) -> None:
        self.path = path
        #: the settings before any section header
        self.defaults = defaults if defaults is not None else Credentials()
        #: every section by its header, in the order first seen
        self.sections: dict[Section, Credentials] = dict(sections or {})
        #: warnings (and, from :func:`parse`, errors) about this file and its includes
        self.diagnostics: list[Diagnostic] = list(diagnostics or [])

    def __repr__(self) -> str:
        return f"<NutAuth {self.path!r}: {len(self.sections)} section(s)>"

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.is_error]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if not d.is_error]

    def matching(self, user: str | None, host: str, port: int) -> list[Section]:
        """The sections that apply to ``user`` at ``host:port``, least specific first."""
        h = normalise_host(host)
        found = [
            s
            for s in self.sections
            if s.host == h
            and (s.port is None or s.port == port)
            and (s.user is None or (user is not None and s.user == user))
        ]
        return sorted(found, key=lambda s: s.rank)

    def lookup(self, user: str | None, host: str, port: int) -> Credentials:
        """The settings for logging in as ``user`` (None: not given) to ``host:port``.

        Global defaults, then every matching section from the least to the most
        specific (see the module's documentation for the order and for which user
        sections match).  Values the command line gives are the caller's to put over
        these; ``username`` is ``user`` when it is given.
        """
        # the global and user-less layers decide the login name when none is given
        merged = self.defaults
        owner = merged.username
        password = merged.password
        for s in self.matching(None, host, port):
            layer = self.sections[s]
            merged = merged.overlay(layer)
            if layer.password is not None:
                password, owner = layer.password, merged.username
        login = user if user is not None else merged.username
        if password is not None and owner is not None and owner != login:
            password = None
        merged = replace(merged, username=login, password=password)
        for s in self.matching(login, host, port):
            if s.user is not None:
                merged = merged.overlay(replace(self.sections[s], username=None))
        return merged


# --- finding the file ------------------------------------------------------------


def _home(env: Mapping[str, str]) -> str | None:
    home = env.get("HOME")
    if home:
        return home
    try:
        import pwd

        return pwd.getpwuid(os.getuid()).pw_dir or None
    except (ImportError, KeyError, OSError):
        return None


def search_order(env: Mapping[str, str] = os.environ, home: str | None = None) -> list[str]:
    """The places looked at, in order, when no file is named (later NUT's order)."""
    out: list[str] = []
    if env.get("NUT_AUTHCONF_FILE"):
        out.append(env["NUT_AUTHCONF_FILE"])
    if env.get("NUT_AUTHCONF_PATH"):
        out.append(os.path.join(env["NUT_AUTHCONF_PATH"], FILENAME))
    home = home if home is not None else _home(env)
    if home:
        out.append(os.path.join(home, ".config", "nut", FILENAME))
        out.append(os.path.join(home, "." + FILENAME))
    out.append(os.path.join(confpath(environ=env), FILENAME))
    return out


def find(
    option: str | None, env: Mapping[str, str] = os.environ, home: str | None = None
) -> str | None:
    """The nutauth.conf to read, or None for none.

    ``option`` is the ``-A`` value: a path (returned as it is, so that :func:`load`
    reports it if it is missing), ``none`` (None), or ``default`` / None (no ``-A``):
    the first existing regular file of :func:`search_order`.
    """
    if option == "none":
        return None
    if option is not None and option != "default":
        return option
    for candidate in search_order(env, home):
        if os.path.isfile(candidate):
            return candidate
    return None


# --- reading ---------------------------------------------------------------------

_USER = ("user", "username")
_PASS = ("pass", "password")
_PATHS = ("certpath", "certfile")
_BOOLS = ("certverify", "forcessl")
_STRINGS = (*_USER, *_PASS, *_PATHS, "certhost")
_INCLUDES = ("include", "include_required")
_NSS_KEYS = ("certident_name", "certident_pass", "certident")
_KNOWN = (*_STRINGS, *_BOOLS, *_INCLUDES, *_NSS_KEYS, "sslbackend")
_TRUE = ("on", "yes", "1")
_FALSE = ("off", "no", "0")

_CONVERT = (
    "nutwist reads PEM files, not NSS databases: export the client certificate with "
    "'pk12util -d <database> -n <name> -o client.p12', convert it with "
    "'openssl pkcs12 -in client.p12 -nodes -out client.pem', set CERTFILE to "
    "client.pem (chmod 600), and remove the NSS settings"
)


class _Refused(Exception):
    """A file that cannot be read as a nutauth.conf (message for the include line)."""


def _read_private(path: str) -> bytes:
    """A file's bytes, if it is a regular, owner-only file nutwist may read.

    Raises OSError when it cannot be opened, :class:`_Refused` otherwise.  The file is
    opened without blocking (a FIFO would never answer) and checked on its descriptor.
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            kind = "a directory" if stat.S_ISDIR(st.st_mode) else "not a regular file"
            raise _Refused(f"{kind}: a nutauth.conf must be a regular file")
        if st.st_mode & 0o044:
            raise _Refused(
                f"holds passwords, so it must not be readable by others (chmod 600); "
                f"its mode is {stat.S_IMODE(st.st_mode):04o}"
            )
        if st.st_size > MAX_FILE_SIZE:
            raise _Refused(f"too large for a nutauth.conf ({st.st_size} bytes)")
        chunks = []
        total = 0
        while chunk := os.read(fd, 65536):
            total += len(chunk)
            if total > MAX_FILE_SIZE:
                raise _Refused(f"too large for a nutauth.conf (over {MAX_FILE_SIZE} bytes)")
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def _os_reason(exc: OSError) -> str:
    if exc.errno == errno.ENOENT:
        return "no such file"
    return exc.strerror or str(exc)


def _is_nss_database(path: str) -> bool:
    return os.path.isdir(path) and any(
        os.path.exists(os.path.join(path, name)) for name in ("cert9.db", "cert8.db")
    )


@dataclass
class _Reader:
    """One load: the sections so far, the include stack and every finding."""

    defaults: dict[str, object] = field(default_factory=dict)
    sections: dict[Section, dict[str, object]] = field(default_factory=dict)
    #: where each key was set, by (section, key), for duplicate warnings
    where: dict[tuple[Section | None, str], str] = field(default_factory=dict)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    stack: list[str] = field(default_factory=list)
    files: int = 0

    def settings(self, section: Section | None) -> dict[str, object]:
        if section is None:
            return self.defaults
        return self.sections.setdefault(section, {})

    def file(self, source: Source, section: Section | None) -> None:
        """Read one file's lines, starting in ``section``."""
        self.files += 1
        self.stack.append(_identity(source.path))
        diags = Diagnostics(source.path)
        try:
            current = section
            for line in lines(source, diags):
                # findings stay in reading order: this line's before an include's
                self.diagnostics.extend(diags)
                diags.clear()
                current = self.line(source, diags, line, current)
                self.diagnostics.extend(diags)
                diags.clear()
        finally:
            self.stack.pop()
            self.diagnostics.extend(diags)

    def line(
        self, source: Source, diags: Diagnostics, line: ConfLine, current: Section | None
    ) -> Section | None:
        words, n = line.words, line.lineno
        first = words[0]
        if first.startswith("["):
            if len(words) != 1:
                diags.error(
                    n,
                    "a section header stands alone on its line, without spaces "
                    "(like [user@host:port])",
                )
                return current
            header = _header(diags, n, first)
            if header is not None:
                self.settings(header)
            # after a bad header, its keys must not land in the section before it
            return header if header is not None else _BAD_SECTION
        key = first.lower()
        args = words[1:]
        if args and args[0] == "=":
            args = args[1:]
        if key in _INCLUDES:
            if current is _BAD_SECTION:
                return current
            self.include(source, diags, n, first, args, current)
            return current
        if key not in _KNOWN:
            diags.warning(n, f"unknown key '{first}' (ignored)")
            return current
        if key in _NSS_KEYS:
            diags.error(n, f"{first} is an NSS database setting; {_CONVERT}")
            return current
        if key == "sslbackend" and [a.lower() for a in args] == ["nss"]:
            diags.error(n, f"SSLBACKEND nss is not supported; {_CONVERT}")
            return current
        if len(args) != 1:
            # never echo the words: they may hold a password
            why = "no value given" if not args else "quote a value with spaces"
            diags.error(n, f"{first}: expected '{first} = <value>' ({why})")
            return current
        value = args[0]
        if key == "sslbackend":
            if value.lower() != "openssl":
                diags.error(n, f"SSLBACKEND: expected 'openssl', got {value!r}")
            return current
        if current is _BAD_SECTION:
            return current
        self.setting(source, diags, n, first, key, value, current)
        return current

    def setting(
        self,
        source: Source,
        diags: Diagnostics,
        n: int,
        word: str,
        key: str,
        value: str,
        current: Section | None,
    ) -> None:
        attr: str
        stored: object
        if key in _BOOLS:
            low = value.lower()
            if low not in _TRUE + _FALSE:
                diags.error(n, f"{word}: expected on, yes or 1, or off, no or 0, got {value!r}")
                return
            attr, stored = key, low in _TRUE
        elif key in _USER:
            if current is not None and current.user is not None:
                diags.warning(
                    n,
                    f"{word} in section {current} is ignored: the section's header names the user",
                )
                return
            if not value:
                diags.error(n, f"{word}: the user name is empty")
                return
            attr, stored = "username", value
        elif key in _PASS:
            attr, stored = "password", value
        elif key in _PATHS:
            if not value:
                diags.error(n, f"{word}: expected a path, got an empty value")
                return
            path = os.path.join(os.path.dirname(source.path), value)
            if key == "certpath" and _is_nss_database(path):
                diags.error(n, f"CERTPATH {value!r} is an NSS database; {_CONVERT}")
                return
            attr, stored = key, path
        else:  # certhost
            if not value:
                diags.error(n, f"{word}: expected a host name, got an empty value")
                return
            attr, stored = key, value
        settings = self.settings(current)
        here = f"{source.path}:{n}"
        before = self.where.get((current, attr))
        if before is not None:
            scope = "the global settings" if current is None else f"section {current}"
            diags.warning(
                n, f"{word} is set again in {scope} (first at {before}); this value is used"
            )
        self.where[(current, attr)] = here
        settings[attr] = stored

    def include(
        self,
        source: Source,
        diags: Diagnostics,
        n: int,
        word: str,
        args: list[str],
        current: Section | None,
    ) -> None:
        required = word.lower() == "include_required"
        if len(args) != 1 or not args[0]:
            diags.error(n, f"{word}: expected '{word} <path>' (quote a path with spaces)")
            return
        target = os.path.join(os.path.dirname(source.path), args[0])
        ident = _identity(target)
        if ident in self.stack:
            chain = " -> ".join([*self.stack[self.stack.index(ident) :], ident])
            diags.error(n, f"{word} {args[0]}: include loop ({chain})")
            return
        if len(self.stack) > MAX_INCLUDE_DEPTH:
            diags.error(n, f"{word} {args[0]}: includes nest deeper than {MAX_INCLUDE_DEPTH}")
            return
        if self.files >= MAX_FILES:
            diags.error(n, f"{word} {args[0]}: more than {MAX_FILES} files read in all")
            return
        try:
            data = _read_private(target)
        except FileNotFoundError:
            if required:
                diags.error(n, f"{word} {args[0]}: {target} does not exist")
            else:
                diags.warning(n, f"{word} {args[0]}: {target} does not exist; skipped")
            return
        except _Refused as exc:
            diags.error(n, f"{word} {args[0]}: {target}: {exc}")
            return
        except OSError as exc:
            diags.error(n, f"{word} {args[0]}: cannot read {target}: {_os_reason(exc)}")
            return
        self.file(Source(target, data), current)


#: the "section" after a malformed header: its keys are checked, then dropped
_BAD_SECTION = Section(None, "", None, False)


def _identity(path: str) -> str:
    try:
        return os.path.realpath(path)
    except (OSError, ValueError):
        return os.path.abspath(path)


def _header(diags: Diagnostics, n: int, word: str) -> Section | None:
    usage = "expected [host], [@host], [@host:port], [user@host] or [user@host:port]"
    if len(word) < 3 or not word.endswith("]"):
        diags.error(n, f"bad section header {word!r}: {usage}")
        return None
    content = word[1:-1]
    user, at, hostport = content.rpartition("@")
    if not at:
        hostport = content
    hp = _host_port(hostport)
    if hp is None:
        diags.error(
            n,
            f"bad section header {word!r}: {usage} "
            "(IPv6 addresses with a port go in brackets; ports 1-65535)",
        )
        return None
    host, port = hp
    if not at and port is not None:
        diags.error(n, f"bad section header {word!r}: write [@{hostport}] for a host and port")
        return None
    return Section(user or None, host, port, bool(at))


def _host_port(text: str) -> tuple[str, int | None] | None:
    if text.startswith("["):
        host, bracket, rest = text[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            return None
        portpart: str | None = rest[1:] if rest else None
    elif text.count(":") > 1:
        host, portpart = text, None  # an unbracketed IPv6 address takes no port
    else:
        host, colon, p = text.partition(":")
        portpart = p if colon else None
    if not host or "[" in host or "]" in host:
        return None
    if portpart is None:
        return host.lower(), None
    if not (portpart.isascii() and portpart.isdigit()) or not 0 < int(portpart) < 65536:
        return None
    return host.lower(), int(portpart)


def _credentials(settings: Mapping[str, object]) -> Credentials:
    return Credentials(**settings)  # type: ignore[arg-type]


def _build(path: str, reader: _Reader) -> NutAuth:
    return NutAuth(
        path,
        _credentials(reader.defaults),
        {s: _credentials(v) for s, v in reader.sections.items()},
        reader.diagnostics,
    )


def parse(source: Source) -> NutAuth:
    """The model of one nutauth.conf's text; problems are diagnostics, never exceptions.

    INCLUDE lines read their files (relative to ``source.path``'s directory).  The
    permission check of the named file itself is :func:`load`'s.
    """
    reader = _Reader()
    reader.file(source, None)
    return _build(source.path, reader)


def load(path: str) -> NutAuth:
    """Read and check a nutauth.conf and its includes; raises :class:`NutAuthError`."""
    try:
        data = _read_private(path)
    except _Refused as exc:
        raise NutAuthError([Diagnostic(Level.ERROR, path, None, str(exc))]) from None
    except OSError as exc:
        message = f"cannot read: {_os_reason(exc)}"
        raise NutAuthError([Diagnostic(Level.ERROR, path, None, message)]) from None
    except ValueError:  # a NUL byte in the name
        raise NutAuthError([Diagnostic(Level.ERROR, path, None, "not a file name")]) from None
    auth = parse(Source(path, data))
    if auth.errors:
        raise NutAuthError(auth.errors)
    return auth


def credentials_for(
    option: str | None,
    user: str | None,
    host: str,
    port: int,
    env: Mapping[str, str] = os.environ,
    home: str | None = None,
) -> Credentials:
    """:func:`find`, :func:`load` and :meth:`NutAuth.lookup` in one; no file gives
    ``Credentials()``.  Raises :class:`NutAuthError`."""
    path = find(option, env, home)
    if path is None:
        return Credentials()
    return load(path).lookup(user, host, port)
