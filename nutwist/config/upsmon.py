"""upsmon.conf: what upsmon watches, and how it warns and shuts down.

Every directive of NUT 2.8.0 with its default, the later ones (OFFDURATION,
OVERDURATION, OBLBDURATION, ALARMCRITICAL, SHUTDOWNEXIT) recorded as unset
unless given (reference 10.6: unset keeps 2.8.0's decisions), and the notify
table: every type's default message and flags.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from nutwist.config.base import Source, expect_args, lines, parse_bool, parse_int, simple_directive
from nutwist.config.diagnostics import Diagnostics
from nutwist.paths import DEFAULT_PORT

SYSLOG, WALL, EXEC, IGNORE = "SYSLOG", "WALL", "EXEC", "IGNORE"
NOTIFY_FLAG_WORDS = (SYSLOG, WALL, EXEC, IGNORE)

#: type -> (default message, default flags); NUT 2.8.0's eleven first
NOTIFY_TYPES: dict[str, tuple[str, frozenset[str]]] = {
    "ONLINE": ("UPS %s on line power", frozenset({SYSLOG, WALL})),
    "ONBATT": ("UPS %s on battery", frozenset({SYSLOG, WALL})),
    "LOWBATT": ("UPS %s battery is low", frozenset({SYSLOG, WALL})),
    "FSD": ("UPS %s: forced shutdown in progress", frozenset({SYSLOG, WALL})),
    "COMMOK": ("Communications with UPS %s established", frozenset({SYSLOG, WALL})),
    "COMMBAD": ("Communications with UPS %s lost", frozenset({SYSLOG, WALL})),
    "SHUTDOWN": ("Auto logout and shutdown proceeding", frozenset({SYSLOG, WALL})),
    "REPLBATT": ("UPS %s battery needs to be replaced", frozenset({SYSLOG, WALL})),
    "NOCOMM": ("UPS %s is unavailable", frozenset({SYSLOG, WALL})),
    "NOPARENT": ("upsmon parent process died - shutdown impossible", frozenset({SYSLOG, WALL})),
    "CAL": ("UPS %s: calibration in progress", frozenset({SYSLOG})),
    # later NUT (reference 10.5)
    "NOTCAL": ("UPS %s: calibration finished", frozenset({SYSLOG, WALL})),
    "OFF": ("UPS %s: administratively OFF or asleep", frozenset({SYSLOG, WALL})),
    "NOTOFF": ("UPS %s: no longer administratively OFF or asleep", frozenset({SYSLOG, WALL})),
    "BYPASS": ("UPS %s: on bypass (powered, not protecting)", frozenset({SYSLOG, WALL})),
    "NOTBYPASS": ("UPS %s: no longer on bypass", frozenset({SYSLOG, WALL})),
    "ECO": ("UPS %s: in ECO mode (as defined by vendor)", frozenset({SYSLOG, WALL})),
    "NOTECO": ("UPS %s: no longer in ECO mode", frozenset({SYSLOG, WALL})),
    "ALARM": ("UPS %s: one or more active alarms: [%s]", frozenset({SYSLOG, WALL})),
    "NOTALARM": (
        "UPS %s is no longer in an alarm state (no active alarms)",
        frozenset({SYSLOG, WALL}),
    ),
    "OVER": ("UPS %s: overloaded", frozenset({SYSLOG, WALL})),
    "NOTOVER": ("UPS %s: no longer overloaded", frozenset({SYSLOG, WALL})),
    "TRIM": ("UPS %s: trimming incoming voltage", frozenset({SYSLOG, WALL})),
    "NOTTRIM": ("UPS %s: no longer trimming incoming voltage", frozenset({SYSLOG, WALL})),
    "BOOST": ("UPS %s: boosting incoming voltage", frozenset({SYSLOG, WALL})),
    "NOTBOOST": ("UPS %s: no longer boosting incoming voltage", frozenset({SYSLOG, WALL})),
    "SHUTDOWN_HOSTSYNC": (
        "Shutdown initiated; primary system is waiting for secondaries to log out or time out",
        frozenset({SYSLOG, WALL}),
    ),
}
#: the types NUT 2.8.0 itself knows
NUT_280_TYPES = (
    "ONLINE", "ONBATT", "LOWBATT", "FSD", "COMMOK", "COMMBAD", "SHUTDOWN", "REPLBATT", "NOCOMM",
    "NOPARENT", "CAL",
)  # fmt: skip

_MONITOR_USAGE = "MONITOR <system> <powervalue> <username> <password> <primary|secondary>"
_ROLES = {"primary": True, "master": True, "secondary": False, "slave": False}


@dataclass
class Monitor:
    system: str
    upsname: str
    host: str
    port: int
    powervalue: int
    username: str
    password: str = field(repr=False)
    role: str
    lineno: int

    @property
    def primary(self) -> bool:
        return _ROLES[self.role]


@dataclass(frozen=True)
class CertHost:
    host: str
    certname: str
    verify: bool
    force: bool


def split_system(system: str) -> tuple[str, str, int] | None:
    """``ups[@host[:port]]`` -> (ups, host, port); IPv6 hosts in brackets."""
    ups, _, hostport = system.partition("@")
    if not ups:
        return None
    if not hostport:
        return ups, "localhost", DEFAULT_PORT
    port = DEFAULT_PORT
    if hostport.startswith("["):
        host, sep, rest = hostport[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            return None
        portpart = rest[1:] if rest else ""
    elif hostport.count(":") == 1:
        host, _, portpart = hostport.partition(":")
    else:
        host, portpart = hostport, ""  # a bare IPv6 address has no port
    if portpart:
        if not portpart.isdigit() or not 0 < int(portpart) < 65536:
            return None
        port = int(portpart)
    if not host:
        return None
    return ups, host, port


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
    #: NOTIFYCMD as one shell string (NUT 2.8.0) ...
    notifycmd: str | None = None
    #: ... and its words when given as several (later NUT's argv form)
    notifycmd_argv: list[str] | None = None
    powerdownflag: str | None = None
    run_as_user: str | None = None
    run_as_group: str | None = None
    debug_min: int | None = None
    notifymsg: dict[str, str] = field(default_factory=dict)
    notifyflag: dict[str, frozenset[str]] = field(default_factory=dict)
    certpath: str | None = None
    certident: tuple[str, str] | None = field(default=None, repr=False)
    certhost: dict[str, CertHost] = field(default_factory=dict)
    certverify: bool = False
    forcessl: bool = False
    certfile: str | None = None
    # later NUT, None = unset (2.8.0's behaviour)
    offduration: int | None = None
    overduration: int | None = None
    oblbduration: int | None = None
    alarmcritical: bool | None = None
    #: True (exit, as 2.8.0), False (stay) or seconds to wait before exiting
    shutdownexit: bool | int | None = None
    pollfail_log_throttle_max: int | None = None
    diagnostics: Diagnostics = field(default_factory=lambda: Diagnostics("upsmon.conf"))

    def message_for(self, ntype: str) -> str:
        return self.notifymsg.get(ntype, NOTIFY_TYPES[ntype][0])

    def flags_for(self, ntype: str) -> frozenset[str]:
        return self.notifyflag.get(ntype, NOTIFY_TYPES[ntype][1])

    @property
    def total_power(self) -> int:
        return sum(m.powervalue for m in self.monitors)


_INTS: dict[str, tuple[str, int | None]] = {
    "MINSUPPLIES": ("minsupplies", 0),
    "POLLFREQ": ("pollfreq", 1),
    "POLLFREQALERT": ("pollfreqalert", 1),
    "HOSTSYNC": ("hostsync", 0),
    "DEADTIME": ("deadtime", 0),
    "RBWARNTIME": ("rbwarntime", 0),
    "NOCOMMWARNTIME": ("nocommwarntime", 0),
    "FINALDELAY": ("finaldelay", 0),
    "DEBUG_MIN": ("debug_min", 0),
    "POLLFAIL_LOG_THROTTLE_MAX": ("pollfail_log_throttle_max", -1),
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
_BOOLS = {"CERTVERIFY": "certverify", "FORCESSL": "forcessl", "ALARMCRITICAL": "alarmcritical"}


def _monitor(conf: UpsmonConf, diags: Diagnostics, words: list[str], n: int) -> None:
    args = words[1:]
    if len(args) == 4:
        diags.error(n, "Unable to use old-style MONITOR line without a username", fatal=True)
        return
    if len(args) != 5:
        diags.error(n, f"MONITOR: expected '{_MONITOR_USAGE}'", fatal=True)
        return
    system, power, user, password, role = args
    where = split_system(system)
    if where is None:
        diags.error(n, f"MONITOR: {system!r} is not <upsname>[@<host>[:<port>]]", fatal=True)
        return
    pv = parse_int(diags, n, "MONITOR power value", power, minimum=0)
    if pv is None:
        return
    if role.lower() not in _ROLES:
        diags.error(
            n, "MONITOR: the last word must be primary or secondary (or master, slave)", fatal=True
        )
        return
    if any(m.system == system for m in conf.monitors):
        diags.warning(n, f"MONITOR {system} is listed twice; the second one is ignored")
        return
    ups, host, port = where
    conf.monitors.append(Monitor(system, ups, host, port, pv, user, password, role.lower(), n))


def parse(source: Source) -> UpsmonConf:
    diags = Diagnostics(source.path)
    conf = UpsmonConf(source.path, diagnostics=diags)
    for line in lines(source, diags):
        word, args, n = line.words[0], line.words[1:], line.lineno
        if word == "MONITOR":
            _monitor(conf, diags, line.words, n)
        elif simple_directive(conf, diags, line, ints=_INTS, bools=_BOOLS, strings=_STRINGS):
            continue
        elif word == "NOTIFYCMD":
            if not args:
                diags.error(n, 'NOTIFYCMD: expected NOTIFYCMD "<command>"')
            else:
                conf.notifycmd = " ".join(args) if len(args) > 1 else args[0]
                conf.notifycmd_argv = list(args) if len(args) > 1 else None
        elif word == "NOTIFYMSG":
            if expect_args(diags, line, 2, 'NOTIFYMSG <type> "<message>"'):
                ntype = args[0].upper()
                if ntype not in NOTIFY_TYPES:
                    diags.error(n, f"NOTIFYMSG: unknown notify type {args[0]!r}")
                else:
                    conf.notifymsg[ntype] = args[1]
        elif word == "NOTIFYFLAG":
            if expect_args(diags, line, 2, "NOTIFYFLAG <type> <flag>[+<flag>...]"):
                ntype = args[0].upper()
                flags = [f.upper() for f in args[1].split("+")]
                if ntype not in NOTIFY_TYPES:
                    diags.error(n, f"NOTIFYFLAG: unknown notify type {args[0]!r}")
                elif any(f not in NOTIFY_FLAG_WORDS for f in flags):
                    diags.error(
                        n, "NOTIFYFLAG: flags are SYSLOG, WALL, EXEC or IGNORE, joined by +"
                    )
                else:
                    conf.notifyflag[ntype] = frozenset() if IGNORE in flags else frozenset(flags)
        elif word == "CERTIDENT":
            if expect_args(diags, line, 2, "CERTIDENT <certificate name> <database password>"):
                conf.certident = (args[0], args[1])
                diags.error(
                    n,
                    "CERTIDENT is for NSS databases; nutwist uses PEM files: "
                    "set CERTFILE to a PEM with the client certificate and key "
                    "(nutwist tls import-nss converts a database)",
                )
        elif word == "CERTHOST":
            if expect_args(
                diags, line, 4, "CERTHOST <host> <certificate name> <certverify> <forcessl>"
            ):
                v = parse_bool(diags, n, "CERTHOST certverify", args[2])
                f = parse_bool(diags, n, "CERTHOST forcessl", args[3])
                if v is not None and f is not None:
                    conf.certhost[args[0]] = CertHost(args[0], args[1], v, f)
        elif word == "SHUTDOWNEXIT":
            if expect_args(diags, line, 1, "SHUTDOWNEXIT yes|no|<seconds>"):
                low = args[0].lower()
                if low in ("yes", "true", "on"):
                    conf.shutdownexit = True
                elif low in ("no", "false", "off"):
                    conf.shutdownexit = False
                else:
                    secs = parse_int(diags, n, word, args[0], minimum=0)
                    if secs is not None:
                        conf.shutdownexit = secs
        else:
            diags.warning(n, f"unknown directive '{word}'")
    validate(conf)
    return conf


def validate(conf: UpsmonConf) -> None:
    """What NUT's upsmon refuses at start, and what it only warns about."""
    diags = conf.diagnostics
    if conf.total_power < conf.minsupplies:
        diags.error(
            None,
            f"insufficient power configured: MONITOR power values add up to {conf.total_power}, "
            f"below MINSUPPLIES {conf.minsupplies}"
            + ("" if conf.monitors else " (no MONITOR line)"),
            fatal=True,
        )
    if conf.shutdowncmd is None:
        diags.warning(None, "no SHUTDOWNCMD: upsmon cannot shut this system down")


def load(path: str) -> UpsmonConf:
    return parse(Source.from_path(path))
