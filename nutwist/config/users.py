"""upsd.users: who may log in, SET, FSD and run instant commands.

Grants as NUT 2.8.0 gives them: ``actions`` words (SET, FSD, ...) and
``instcmds`` names are compared without regard to case, ``instcmds = ALL``
grants every command, ``upsmon primary`` (or ``master``) grants login, master
and fsd, and ``upsmon secondary`` (or ``slave``) grants login.  User names are
case-sensitive.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from nutwist.auth import dummy_like, is_hashed, parse_scrypt, scrypt_problem
from nutwist.config.base import Source, lines
from nutwist.config.diagnostics import Diagnostics

UPSMON_GRANTS = {
    "primary": frozenset({"login", "master", "fsd"}),
    "master": frozenset({"login", "master", "fsd"}),
    "secondary": frozenset({"login"}),
    "slave": frozenset({"login"}),
}
KNOWN_ACTIONS = frozenset({"set", "fsd", "login", "master", "primary"})


@dataclass
class User:
    name: str
    lineno: int
    password: str | None = field(default=None, repr=False)
    password_line: int | None = None
    #: why the (hashed) password is malformed: the user can never log in with it
    password_error: str | None = None
    actions: set[str] = field(default_factory=set)
    instcmds: set[str] = field(default_factory=set)
    #: primary, secondary, master or slave, as written
    upsmon: str | None = None
    #: nutwist extension: the CN of a client certificate (verified by upsd, CERTREQUEST)
    #: that stands in for the password on a TLS connection
    certificate: str | None = None

    def has_action(self, action: str) -> bool:
        return action.lower() in self.actions

    def may_instcmd(self, cmd: str) -> bool:
        return "all" in self.instcmds or cmd.lower() in self.instcmds

    @property
    def upsmon_primary(self) -> bool:
        return self.upsmon in ("primary", "master")


@dataclass
class UsersConf:
    path: str
    users: dict[str, User] = field(default_factory=dict)
    diagnostics: Diagnostics = field(default_factory=lambda: Diagnostics("upsd.users"))
    _dummy: str | None = field(default=None, repr=False)

    def get(self, name: str) -> User | None:
        return self.users.get(name)

    def dummy_password(self) -> str:
        """What a user who does not exist is checked against: a hash nothing matches,
        as costly as this file's first hash (cleartext when it holds none)."""
        if self._dummy is None:
            self._dummy = "\0no such user"
            for u in self.users.values():
                if u.password is not None and u.password_error is None and is_hashed(u.password):
                    self._dummy = dummy_like(parse_scrypt(u.password).params)
                    break
        return self._dummy


def _values(words: list[str]) -> list[str] | None:
    """The values of ``key = v1 v2 ...`` or ``key v1 ...``; None when there are none."""
    rest = words[1:]
    if rest and rest[0] == "=":
        rest = rest[1:]
    return rest or None


def parse(source: Source) -> UsersConf:
    diags = Diagnostics(source.path)
    conf = UsersConf(source.path, diagnostics=diags)
    user: User | None = None
    skipping = False
    for line in lines(source, diags):
        words = line.words
        n = line.lineno
        first = words[0]
        if first.startswith("["):
            if len(first) < 3 or not first.endswith("]") or len(words) > 1:
                diags.error(n, "expected a section header '[username]' (one word)")
                user, skipping = None, True
                continue
            name = first[1:-1]
            if name in conf.users:
                diags.warning(n, f"Ignoring duplicate user {name}")
                user, skipping = None, True
                continue
            user, skipping = User(name, n), False
            conf.users[name] = user
            continue
        if skipping:
            continue
        if user is None:
            diags.error(n, f"'{first}' is outside any [username] section")
            continue
        key = first.lower()
        values = _values(words)
        if key == "password":
            if values is None or len(values) != 1:
                diags.error(n, "password: expected 'password = <password>' (quote spaces)")
                continue
            user.password, user.password_line = values[0], n
            user.password_error = scrypt_problem(values[0])
            if user.password_error is not None:
                diags.error(
                    n,
                    f"password: malformed scrypt hash for user {user.name} "
                    f"({user.password_error}); {user.name} cannot log in with it",
                )
        elif key == "actions":
            if values is None:
                diags.error(n, "actions: expected 'actions = SET [FSD]'")
                continue
            for v in values:
                if v.lower() not in KNOWN_ACTIONS:
                    diags.warning(n, f"actions: unknown action '{v}'")
                user.actions.add(v.lower())
        elif key == "instcmds":
            if values is None:
                diags.error(n, "instcmds: expected 'instcmds = <command> ... | ALL'")
                continue
            user.instcmds.update(v.lower() for v in values)
        elif key == "upsmon":
            if values is None or len(values) != 1 or values[0].lower() not in UPSMON_GRANTS:
                diags.error(n, "upsmon: expected 'upsmon primary' or 'upsmon secondary'")
                continue
            user.upsmon = values[0].lower()
            user.actions.update(UPSMON_GRANTS[user.upsmon])
        elif key == "certificate":
            if values is None or len(values) != 1:
                diags.error(n, "certificate: expected 'certificate = <client certificate CN>'")
                continue
            user.certificate = values[0]
        elif key == "allowfrom":
            diags.warning(n, "allowfrom is no longer supported - use LISTEN and hosts.allow")
        else:
            diags.warning(n, f"unknown directive '{first}' in [{user.name}]")
    for u in conf.users.values():
        if u.password is None and u.certificate is None:
            diags.warning(u.lineno, f"user {u.name} has no password and can never log in")
    return conf


def load(path: str) -> UsersConf:
    return parse(Source.from_path(path))
