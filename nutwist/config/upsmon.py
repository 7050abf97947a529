"""upsmon.conf: what upsmon watches, and how it warns and shuts down.

Every directive of NUT 2.8.0 with its default; the later ones (OFFDURATION,
OVERDURATION, OBLBDURATION, ALARMCRITICAL, SHUTDOWNEXIT,
POLLFAIL_LOG_THROTTLE_MAX, RUN_AS_GROUP, CERTFILE) are None unless given
(unset, every decision is NUT 2.8.0's).  The notify table gives every notify
type's default message and flags: SYSLOG+WALL for all but CAL (SYSLOG only), and
for the types later NUT added, SYSLOG+WALL.

Directive words are case-sensitive except DEBUG_MIN, as in NUT; notify type
names are not (NUT compares them with strcasecmp), notify flags are.
"""

from __future__ import annotations

import difflib
import re
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import NamedTuple

from nutwist.config.base import Source, expect_args, lines, parse_bool, parse_int, simple_directive
from nutwist.config.diagnostics import Diagnostics
from nutwist.config.tokenizer import ConfLine
from nutwist.paths import DEFAULT_PORT

SYSLOG, WALL, EXEC, IGNORE = "SYSLOG", "WALL", "EXEC", "IGNORE"
NOTIFY_FLAG_WORDS = (SYSLOG, WALL, EXEC, IGNORE)
_SYSLOG_WALL = frozenset({SYSLOG, WALL})


class NotifyDefault(NamedTuple):
    """A notify type's printf-style message (``%s``: the MONITOR system) and flags."""

    message: str
    flags: frozenset[str]


#: every notify type nutwist knows -> its default; NUT 2.8.0's eleven come first
NOTIFY_TYPES: Mapping[str, NotifyDefault] = MappingProxyType(
    {
        "ONLINE": NotifyDefault("UPS %s on line power", _SYSLOG_WALL),
        "ONBATT": NotifyDefault("UPS %s on battery", _SYSLOG_WALL),
        "LOWBATT": NotifyDefault("UPS %s battery is low", _SYSLOG_WALL),
        "FSD": NotifyDefault("UPS %s: forced shutdown in progress", _SYSLOG_WALL),
        "COMMOK": NotifyDefault("Communications with UPS %s established", _SYSLOG_WALL),
        "COMMBAD": NotifyDefault("Communications with UPS %s lost", _SYSLOG_WALL),
        "SHUTDOWN": NotifyDefault("Auto logout and shutdown proceeding", _SYSLOG_WALL),
        "REPLBATT": NotifyDefault("UPS %s battery needs to be replaced", _SYSLOG_WALL),
        "NOCOMM": NotifyDefault("UPS %s is unavailable", _SYSLOG_WALL),
        "NOPARENT": NotifyDefault("upsmon parent process died - shutdown impossible", _SYSLOG_WALL),
        "CAL": NotifyDefault("UPS %s: calibration in progress", frozenset({SYSLOG})),
        # the types later NUT added, all SYSLOG+WALL
        "NOTCAL": NotifyDefault("UPS %s: calibration finished", _SYSLOG_WALL),
        "OFF": NotifyDefault("UPS %s: administratively OFF or asleep", _SYSLOG_WALL),
        "NOTOFF": NotifyDefault("UPS %s: no longer administratively OFF or asleep", _SYSLOG_WALL),
        "BYPASS": NotifyDefault("UPS %s: on bypass (powered, not protecting)", _SYSLOG_WALL),
        "NOTBYPASS": NotifyDefault("UPS %s: no longer on bypass", _SYSLOG_WALL),
        "ECO": NotifyDefault("UPS %s: in ECO mode (as defined by vendor)", _SYSLOG_WALL),
        "NOTECO": NotifyDefault("UPS %s: no longer in ECO mode", _SYSLOG_WALL),
        "ALARM": NotifyDefault("UPS %s: one or more active alarms: [%s]", _SYSLOG_WALL),
        "NOTALARM": NotifyDefault(
            "UPS %s is no longer in an alarm state (no active alarms)", _SYSLOG_WALL
        ),
        "OVER": NotifyDefault("UPS %s: overloaded", _SYSLOG_WALL),
        "NOTOVER": NotifyDefault("UPS %s: no longer overloaded", _SYSLOG_WALL),
        "TRIM": NotifyDefault("UPS %s: trimming incoming voltage", _SYSLOG_WALL),
        "NOTTRIM": NotifyDefault("UPS %s: no longer trimming incoming voltage", _SYSLOG_WALL),
        "BOOST": NotifyDefault("UPS %s: boosting incoming voltage", _SYSLOG_WALL),
        "NOTBOOST": NotifyDefault("UPS %s: no longer boosting incoming voltage", _SYSLOG_WALL),
        "SHUTDOWN_HOSTSYNC": NotifyDefault(
            "Shutdown initiated; primary system is waiting for secondaries to log out or time out",
            _SYSLOG_WALL,
        ),
    }
)
#: the types NUT 2.8.0 itself knows
NUT_280_TYPES = (
    "ONLINE", "ONBATT", "LOWBATT", "FSD", "COMMOK", "COMMBAD", "SHUTDOWN", "REPLBATT", "NOCOMM",
    "NOPARENT", "CAL",
)  # fmt: skip
#: how many ``%s`` each type's message is given (the UPS system, and ALARM's ups.alarm)
_MESSAGE_ARGS = {"ALARM": 2}

MONITOR_USAGE = "MONITOR <system> <powervalue> <username> <password> <primary|secondary>"
_WHOLE = re.compile(r"\+?[0-9]+")
_ROLES = {"primary": True, "master": True, "secondary": False, "slave": False}


@dataclass(frozen=True, kw_only=True)
class Monitor:
    """One MONITOR line."""

    #: as written (``ups``, ``ups@host``, ``ups@host:port``, ``ups@[::1]:port``): the UPSNAME
    #: of notifications
    system: str
    upsname: str
    host: str = "localhost"
    port: int = DEFAULT_PORT
    #: power supplies this UPS feeds here; 0 = monitor only
    powervalue: int
    username: str
    password: str = field(repr=False)
    primary: bool
    #: the role word as written (primary, master, secondary, slave, any case)
    role: str
    lineno: int | None = None


@dataclass(frozen=True)
class CertHost:
    """CERTHOST: the certificate name expected from one upsd host, and its TLS flags."""

    host: str
    certname: str
    verify: bool
    force: bool


def split_system(system: str) -> tuple[str, str, int] | None:
    """``ups[@host[:port]]`` -> (ups, host, port), IPv6 hosts in brackets; None if malformed."""
    ups, at, hostport = system.partition("@")
    if not ups:
        return None
    if not at:
        return ups, "localhost", DEFAULT_PORT
    if hostport.startswith("["):
        host, bracket, rest = hostport[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            return None
        portpart = rest[1:] if rest else None
    else:
        # a second ':' means an unbracketed IPv6 address, which NUT cannot split either
        if hostport.count(":") > 1:
            return None
        host, colon, portpart_ = hostport.partition(":")
        portpart = portpart_ if colon else None
    if not host:
        return None
    if portpart is None:
        return ups, host, DEFAULT_PORT
    if not (portpart.isascii() and portpart.isdigit()) or not 0 < int(portpart) < 65536:
        return None
    return ups, host, int(portpart)


@dataclass
class UpsmonConf:
    path: str
    monitors: list[Monitor] = field(default_factory=list)
    minsupplies: int = 1
    pollfreq: int = 5
    pollfreqalert: int = 5
    hostsync: int = 15
    deadtime: int = 15
    rbwarntime: int = 43200
    nocommwarntime: int = 300
    finaldelay: int = 5
    shutdowncmd: str | None = None
    #: NOTIFYCMD as a shell command line: the word as written (NUT 2.8.0's form), or the
    #: argv form's words shell-quoted and joined
    notifycmd: str | None = None
    #: the words of later NUT's argv form ``NOTIFYCMD <cmd> <arg>...``; None for one word
    notifycmd_argv: list[str] | None = None
    powerdownflag: str | None = None
    #: the line of the POWERDOWNFLAG in use (upsmon announces it in file order)
    powerdownflag_line: int | None = None
    run_as_user: str | None = None
    debug_min: int | None = None
    #: NOTIFYMSG overrides, by upper-case type
    notifymsg: dict[str, str] = field(default_factory=dict)
    #: NOTIFYFLAG overrides, by upper-case type; IGNORE is stored as the empty set
    notifyflag: dict[str, frozenset[str]] = field(default_factory=dict)
    certpath: str | None = None
    #: NSS only: (certificate name, database password); refused by the TLS layer
    certident: tuple[str, str] | None = field(default=None, repr=False)
    #: CERTHOST lines by host; a later line for the same host replaces the earlier one
    certhost: dict[str, CertHost] = field(default_factory=dict)
    certverify: bool = False
    forcessl: bool = False
    #: client certificate PEM (certificate, chain, then key)
    certfile: str | None = None
    # later NUT; None = unset, which keeps NUT 2.8.0's behaviour
    offduration: int | None = None
    overduration: int | None = None
    oblbduration: int | None = None
    alarmcritical: bool | None = None
    #: seconds to wait before exiting once SHUTDOWNCMD is started: 0 = at once
    #: (``yes``, NUT 2.8.0's behaviour), -1 = never (``no``), n = after n seconds
    shutdownexit: int | None = None
    pollfail_log_throttle_max: int | None = None
    run_as_group: str | None = None
    diagnostics: Diagnostics = field(default_factory=lambda: Diagnostics("upsmon.conf"))

    def message_for(self, ntype: str) -> str:
        """The printf-style message for a notify type (any case), NOTIFYMSG first."""
        key = ntype.upper()
        message = self.notifymsg.get(key)
        return NOTIFY_TYPES[key].message if message is None else message

    def flags_for(self, ntype: str) -> frozenset[str]:
        """The flags for a notify type (any case), NOTIFYFLAG first; empty = IGNORE."""
        key = ntype.upper()
        flags = self.notifyflag.get(key)
        return NOTIFY_TYPES[key].flags if flags is None else flags

    @property
    def total_power(self) -> int:
        return sum(m.powervalue for m in self.monitors)

    def later_settings(self) -> dict[str, object]:
        """The post-2.8.0 settings this file sets (they change a decision only when set)."""
        out: dict[str, object] = {}
        for directive, attr in _LATER.items():
            value = getattr(self, attr)
            if value is not None:
                out[directive] = value
        return out


# directive -> (attribute, minimum accepted); NUT itself ignores a negative
# POLLFREQ, POLLFREQALERT, MINSUPPLIES or FINALDELAY and keeps the default
_INTS: dict[str, tuple[str, int | None]] = {
    "MINSUPPLIES": ("minsupplies", 0),
    "POLLFREQ": ("pollfreq", 1),
    "POLLFREQALERT": ("pollfreqalert", 1),
    "HOSTSYNC": ("hostsync", 0),
    "DEADTIME": ("deadtime", 0),
    "RBWARNTIME": ("rbwarntime", 0),
    "NOCOMMWARNTIME": ("nocommwarntime", 0),
    "FINALDELAY": ("finaldelay", 0),
    "POLLFAIL_LOG_THROTTLE_MAX": ("pollfail_log_throttle_max", 0),
    # negative values mean "never" for these (later NUT's meaning)
    "OFFDURATION": ("offduration", None),
    "OVERDURATION": ("overduration", None),
    "OBLBDURATION": ("oblbduration", None),
}
_STRINGS = {
    "SHUTDOWNCMD": "shutdowncmd",
    "POWERDOWNFLAG": "powerdownflag",
    "RUN_AS_USER": "run_as_user",
    "RUN_AS_GROUP": "run_as_group",
    "CERTPATH": "certpath",
    "CERTFILE": "certfile",
}
# NUT reads these with atoi and tests for 1, so only 0 and 1 mean what they say
_ZERO_ONE = {"CERTVERIFY": "certverify", "FORCESSL": "forcessl"}
_LATER = {
    "OFFDURATION": "offduration",
    "OVERDURATION": "overduration",
    "OBLBDURATION": "oblbduration",
    "ALARMCRITICAL": "alarmcritical",
    "SHUTDOWNEXIT": "shutdownexit",
    "POLLFAIL_LOG_THROTTLE_MAX": "pollfail_log_throttle_max",
    "RUN_AS_GROUP": "run_as_group",
    "CERTFILE": "certfile",
}
_KNOWN = frozenset(
    {
        *_INTS,
        *_STRINGS,
        *_ZERO_ONE,
        *_LATER,
        "MONITOR",
        "NOTIFYCMD",
        "NOTIFYMSG",
        "NOTIFYFLAG",
        "CERTIDENT",
        "CERTHOST",
        "DEBUG_MIN",
    }
)


def _zero_one(diags: Diagnostics, n: int, what: str, value: str) -> bool | None:
    if value == "0":
        return False
    if value == "1":
        return True
    diags.error(n, f"{what}: expected 0 or 1, got {value!r}")
    return None


def _monitor(conf: UpsmonConf, diags: Diagnostics, line: ConfLine) -> None:
    args, n = line.words[1:], line.lineno
    if len(args) == 4:
        # NUT: "Fatal error: unusable configuration"
        diags.error(
            n,
            "Unable to use old-style MONITOR line without a username: "
            f"expected '{MONITOR_USAGE}' (add the user to upsd.users)",
            fatal=True,
        )
        return
    if len(args) != 5:
        # never echo the words: one of them may be a password
        diags.error(n, f"MONITOR: expected '{MONITOR_USAGE}' (quote a password with spaces)")
        return
    system, power, user, password, role = args
    where = split_system(system)
    if where is None:
        diags.error(
            n,
            f"MONITOR: {system!r} is not <upsname>[@<host>[:<port>]] "
            "(IPv6 addresses go in brackets: ups@[::1]:3493; ports 1-65535)",
        )
        return
    if _WHOLE.fullmatch(power) is None:
        diags.error(
            n,
            f"MONITOR {system}: the power value must be a whole number >= 0 "
            f"(0: monitor only), got {power!r}",
        )
        return
    pv = int(power, 10)
    primary = _ROLES.get(role.lower())
    if primary is None:
        diags.error(
            n,
            f"MONITOR {system}: expected primary or secondary (or master, slave) "
            f"as the last word, got {role!r}",
        )
        return
    if any(m.system == system for m in conf.monitors):
        diags.warning(
            n, f"MONITOR {system} is listed twice; the second one is ignored, as NUT does"
        )
        return
    ups, host, port = where
    conf.monitors.append(
        Monitor(
            system=system,
            upsname=ups,
            host=host,
            port=port,
            powervalue=pv,
            username=user,
            password=password,
            primary=primary,
            role=role,
            lineno=n,
        )
    )


def _check_message(diags: Diagnostics, n: int, ntype: str, message: str) -> None:
    """Warn about printf conversions that would get no value (NUT prints garbage)."""
    allowed = _MESSAGE_ARGS.get(ntype, 1)
    conversions = []
    i = 0
    while i < len(message):
        if message[i] == "%":
            nxt = message[i + 1 : i + 2]
            if nxt != "%":
                conversions.append(nxt)
            i += 2
        else:
            i += 1
    if any(c != "s" for c in conversions) or len(conversions) > allowed:
        given = "the UPS name, then ups.alarm" if allowed == 2 else "the UPS name"
        diags.warning(
            n,
            f"NOTIFYMSG {ntype}: the message is given {allowed} %s ({given}); other % "
            "conversions get no value (write %% for a percent sign)",
        )


def _closest(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean X?)`` for the nearest of ``choices`` (difflib), or nothing."""
    match = difflib.get_close_matches(word.upper(), list(choices), n=1, cutoff=0.6)
    return f" (did you mean {match[0]}?)" if match else ""


def _where(diags: Diagnostics, n: int, word: str, choices: Iterable[str]) -> str:
    """What nutwist adds to NUT's words: `` (FILE line N[: did you mean X?])``."""
    match = difflib.get_close_matches(word.upper(), list(choices), n=1, cutoff=0.6)
    guess = f": did you mean {match[0]}?" if match and word else ""
    return f" ({diags.path} line {n}{guess})"


def _invalid_directive(diags: Diagnostics, line: ConfLine, message: str, hint: str = "") -> None:
    """A line NUT's upsmon cannot use: it warns (these words in ``text``) and runs on."""
    diags.warning(
        line.lineno,
        message + hint,
        text=f"{diags.path} line {line.lineno}: invalid directive {' '.join(line.words)}{hint}",
    )


def _notify_type(diags: Diagnostics, n: int, directive: str, word: str) -> str | None:
    """The upper-case type, or None after NUT's warning (the line is then ignored)."""
    key = word.upper()
    if key in NOTIFY_TYPES:
        return key
    hint = _closest(word, NOTIFY_TYPES)
    where = _where(diags, n, word, NOTIFY_TYPES)
    if directive == "NOTIFYFLAG":
        nut = f"Warning: invalid notify type [{word}]"
    else:
        nut = f"'{word}' is not a valid notify event name"
    diags.warning(n, f"{directive}: unknown notify type {word!r}{hint}", text=nut + where)
    return None


def _notifyflag(conf: UpsmonConf, diags: Diagnostics, line: ConfLine) -> None:
    """As NUT: an unknown type or flag is a warning; the flags it knows are kept."""
    n, args = line.lineno, line.words[1:]
    if len(args) < 2:
        _invalid_directive(
            diags, line, "NOTIFYFLAG: expected 'NOTIFYFLAG <type> <flag>[+<flag>...]'"
        )
        return
    ntype = _notify_type(diags, n, "NOTIFYFLAG", args[0])
    if ntype is None:
        return
    flags = []
    for word in args[1].split("+"):
        if word in NOTIFY_FLAG_WORDS:
            flags.append(word)
            continue
        hint = _closest(word, NOTIFY_FLAG_WORDS) if word else ""
        where = _where(diags, n, word, NOTIFY_FLAG_WORDS)
        diags.warning(
            n,
            f"NOTIFYFLAG {ntype}: unknown flag {word!r}{hint}",
            text=f"Invalid notify flag: [{word}]{where}",
        )
    if len(args) > 2:
        diags.warning(n, f"NOTIFYFLAG: words after {args[1]!r} are ignored (join flags with +)")
    if IGNORE in flags:
        if len(set(flags)) > 1:
            diags.warning(n, f"NOTIFYFLAG {ntype}: IGNORE overrides the other flags given with it")
        conf.notifyflag[ntype] = frozenset()
    else:
        conf.notifyflag[ntype] = frozenset(flags)


def _notifymsg(conf: UpsmonConf, diags: Diagnostics, line: ConfLine) -> None:
    n, args = line.lineno, line.words[1:]
    if len(args) < 2:
        _invalid_directive(diags, line, "NOTIFYMSG: expected 'NOTIFYMSG <type> \"<message>\"'")
        return
    ntype = _notify_type(diags, n, "NOTIFYMSG", args[0])
    if ntype is None:
        return
    if len(args) > 2:
        diags.warning(
            n, f"NOTIFYMSG {ntype}: only {args[1]!r} is the message (quote a message with spaces)"
        )
    _check_message(diags, n, ntype, args[1])
    conf.notifymsg[ntype] = args[1]


def _shutdownexit(conf: UpsmonConf, diags: Diagnostics, line: ConfLine) -> None:
    if not expect_args(diags, line, 1, "SHUTDOWNEXIT yes|no|<seconds>"):
        return
    value = line.words[1]
    low = value.lower()
    if low in ("yes", "true", "on"):
        conf.shutdownexit = 0
    elif low in ("no", "false", "off"):
        conf.shutdownexit = -1
    else:
        try:
            secs = int(value, 10)
        except ValueError:
            diags.error(
                line.lineno,
                f"SHUTDOWNEXIT: expected 'SHUTDOWNEXIT yes|no|<seconds>', got {value!r}",
            )
            return
        # later NUT reads any negative number as "no"
        conf.shutdownexit = max(secs, -1)


def _certident(conf: UpsmonConf, diags: Diagnostics, line: ConfLine) -> None:
    if not expect_args(diags, line, 2, "CERTIDENT <certificate name> <database password>"):
        return
    name = line.words[1]
    conf.certident = (name, line.words[2])
    # nutwist has no NSS, only PEM files: the TLS layer refuses this at start
    diags.error(
        line.lineno,
        f"CERTIDENT names a certificate in an NSS database; nutwist reads PEM files: export it "
        f"with 'pk12util -d <CERTPATH> -n {shlex.quote(name)} -o client.p12', convert it with "
        "'openssl pkcs12 -in client.p12 -nodes -out client.pem', then set CERTFILE to client.pem "
        "and remove CERTIDENT",
    )


def _certhost(conf: UpsmonConf, diags: Diagnostics, line: ConfLine) -> None:
    usage = "CERTHOST <host> <certificate name> <certverify 0|1> <forcessl 0|1>"
    if not expect_args(diags, line, 4, usage):
        return
    host, name, verify_word, force_word = line.words[1:]
    verify = _zero_one(diags, line.lineno, "CERTHOST certverify", verify_word)
    if verify is None:
        return
    force = _zero_one(diags, line.lineno, "CERTHOST forcessl", force_word)
    if force is None:
        return
    conf.certhost[host] = CertHost(host, name, verify, force)


def _notifycmd(conf: UpsmonConf, diags: Diagnostics, line: ConfLine) -> None:
    args = line.words[1:]
    if not args:
        diags.error(line.lineno, "NOTIFYCMD: expected 'NOTIFYCMD \"<command>\"'")
    elif len(args) == 1:
        conf.notifycmd, conf.notifycmd_argv = args[0], None
    else:
        conf.notifycmd, conf.notifycmd_argv = shlex.join(args), list(args)


def _unknown(diags: Diagnostics, line: ConfLine) -> None:
    word = line.words[0]
    if word.upper() in _KNOWN:
        hint = f" (directive names are case-sensitive: {word.upper()})"
    else:
        hint = _closest(word, _KNOWN)
    _invalid_directive(diags, line, f"unknown directive '{word}'", hint)


def parse(source: Source) -> UpsmonConf:
    """The model of one upsmon.conf; problems become diagnostics, never exceptions."""
    diags = Diagnostics(source.path)
    conf = UpsmonConf(source.path, diagnostics=diags)
    for line in lines(source, diags):
        word, args, n = line.words[0], line.words[1:], line.lineno
        if word == "MONITOR":
            _monitor(conf, diags, line)
        elif simple_directive(conf, diags, line, ints=_INTS, strings=_STRINGS):
            if word == "POWERDOWNFLAG":
                conf.powerdownflag_line = n
            continue
        elif word in _ZERO_ONE:
            if expect_args(diags, line, 1, f"{word} 0|1"):
                flag = _zero_one(diags, n, word, args[0])
                if flag is not None:
                    setattr(conf, _ZERO_ONE[word], flag)
        elif word == "ALARMCRITICAL":
            if expect_args(diags, line, 1, "ALARMCRITICAL 0|1"):
                flag = parse_bool(diags, n, word, args[0])
                if flag is not None:
                    conf.alarmcritical = flag
        elif word.upper() == "DEBUG_MIN":
            if expect_args(diags, line, 1, "DEBUG_MIN <level>"):
                level = parse_int(diags, n, "DEBUG_MIN", args[0], minimum=0)
                if level is not None:
                    conf.debug_min = level
        elif word == "NOTIFYCMD":
            _notifycmd(conf, diags, line)
        elif word == "NOTIFYMSG":
            _notifymsg(conf, diags, line)
        elif word == "NOTIFYFLAG":
            _notifyflag(conf, diags, line)
        elif word == "CERTIDENT":
            _certident(conf, diags, line)
        elif word == "CERTHOST":
            _certhost(conf, diags, line)
        elif word == "SHUTDOWNEXIT":
            _shutdownexit(conf, diags, line)
        else:
            _unknown(diags, line)
    validate(conf)
    return conf


def validate(conf: UpsmonConf) -> None:
    """Add what NUT's upsmon refuses at start (fatal) and what it only warns about.

    ``parse`` calls this once; call it again only on a model built or changed in code.
    """
    diags = conf.diagnostics
    # parse never stores these; a model changed in code can hold them
    for directive, (attr, minimum) in _INTS.items():
        value = getattr(conf, attr)
        if minimum is not None and value is not None and value < minimum:
            diags.error(None, f"{directive} is {value}, below {minimum}", fatal=True)
    for mon in conf.monitors:
        if mon.powervalue < 0:
            diags.error(mon.lineno, f"MONITOR {mon.system}: negative power value", fatal=True)
    total = conf.total_power
    if total < conf.minsupplies:
        # NUT 2.8.0 exits: "Fatal error: insufficient power configured!"
        why = (
            "there is no MONITOR line"
            if not conf.monitors
            else f"the power values add up to {total}"
        )
        diags.error(
            None,
            f"insufficient power configured: {why}, and MINSUPPLIES is {conf.minsupplies}",
            fatal=True,
        )
    elif not conf.monitors:
        # NUT would run watching nothing; nutwist refuses a config that cannot work
        diags.error(None, "no MONITOR line: upsmon would watch nothing", fatal=True)
    if conf.shutdowncmd is None:
        diags.warning(None, "no SHUTDOWNCMD: upsmon cannot shut this system down")
    if conf.certverify and conf.certpath is None:
        diags.warning(
            None,
            "CERTVERIFY 1 without CERTPATH: NUT's upsmon then drops every connection "
            "(no CA to verify upsd's certificate with)",
        )


def load(path: str) -> UpsmonConf:
    return parse(Source.from_path(path))
