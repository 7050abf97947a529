"""upsmon.conf model: directives, defaults, the notify table, and what NUT refuses."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nutwist.config import upsmon
from nutwist.config.base import Source
from nutwist.config.diagnostics import Diagnostic, Level

SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "data" / "conf-samples"
DEBIAN = Path("/etc/nut/upsmon.conf")


def parse(text: str) -> upsmon.UpsmonConf:
    return upsmon.parse(Source.from_text(text, "upsmon.conf"))


def errors(conf: upsmon.UpsmonConf) -> list[Diagnostic]:
    return [d for d in conf.diagnostics if d.level is Level.ERROR]


def syntax_errors(conf: upsmon.UpsmonConf) -> list[Diagnostic]:
    return [d for d in conf.diagnostics if d.level is Level.ERROR and not d.fatal]


# one MONITOR and a SHUTDOWNCMD, so that only the line under test is reported
BASE = 'MONITOR base@localhost 1 mon pw primary\nSHUTDOWNCMD "/bin/true"\n'

COMPLETE = """\
# every directive, valid
MONITOR ups1@localhost 1 mon "secret pw" primary
MONITOR ups2@10.0.0.5:3494 2 mon s2 secondary
MONITOR ups3@[::1]:3495 0 mon s3 slave
MONITOR ups4 1 mon s4 master
MONITOR ups5@[fe80::1%eth0] 1 mon s5 Primary
MINSUPPLIES 2
SHUTDOWNCMD "/sbin/shutdown -h +0"
NOTIFYCMD /usr/sbin/upssched
POLLFREQ 3
POLLFREQALERT 1
HOSTSYNC 20
DEADTIME 12
POWERDOWNFLAG /run/killpower
NOTIFYMSG ONBATT "%s is on battery!"
NOTIFYMSG alarm "%s alarms: %s"
NOTIFYFLAG ONBATT SYSLOG+WALL+EXEC
NOTIFYFLAG COMMOK IGNORE
NOTIFYFLAG cal WALL
RBWARNTIME 3600
NOCOMMWARNTIME 60
FINALDELAY 2
RUN_AS_USER nut
RUN_AS_GROUP nut
DEBUG_MIN 2
CERTPATH /etc/nut/ca.pem
CERTHOST localhost "upsd.example" 1 0
CERTVERIFY 1
FORCESSL 1
CERTFILE /etc/nut/client.pem
OFFDURATION -1
OVERDURATION 0
OBLBDURATION 10
ALARMCRITICAL 0
SHUTDOWNEXIT 30
POLLFAIL_LOG_THROTTLE_MAX 100
"""


def test_complete_file_has_no_findings() -> None:
    c = parse(COMPLETE)
    assert [str(d) for d in c.diagnostics] == []
    assert [(m.upsname, m.host, m.port, m.powervalue, m.primary, m.role) for m in c.monitors] == [
        ("ups1", "localhost", 3493, 1, True, "primary"),
        ("ups2", "10.0.0.5", 3494, 2, False, "secondary"),
        ("ups3", "::1", 3495, 0, False, "slave"),
        ("ups4", "localhost", 3493, 1, True, "master"),
        ("ups5", "fe80::1%eth0", 3493, 1, True, "Primary"),
    ]
    m = c.monitors[0]
    assert (m.system, m.username, m.password, m.lineno) == (
        "ups1@localhost",
        "mon",
        "secret pw",
        2,
    )
    assert [m.lineno for m in c.monitors] == [2, 3, 4, 5, 6]
    assert (c.minsupplies, c.pollfreq, c.pollfreqalert, c.hostsync, c.deadtime) == (2, 3, 1, 20, 12)
    assert (c.rbwarntime, c.nocommwarntime, c.finaldelay, c.debug_min) == (3600, 60, 2, 2)
    assert c.shutdowncmd == "/sbin/shutdown -h +0"
    assert c.notifycmd == "/usr/sbin/upssched" and c.notifycmd_argv is None
    assert c.powerdownflag == "/run/killpower"
    assert (c.run_as_user, c.run_as_group) == ("nut", "nut")
    assert c.message_for("ONBATT") == "%s is on battery!"
    assert c.message_for("ALARM") == "%s alarms: %s"
    assert c.flags_for("ONBATT") == {"SYSLOG", "WALL", "EXEC"}
    assert c.flags_for("COMMOK") == frozenset()
    assert c.flags_for("CAL") == {"WALL"}
    assert (c.certpath, c.certfile, c.certverify, c.forcessl) == (
        "/etc/nut/ca.pem",
        "/etc/nut/client.pem",
        True,
        True,
    )
    assert c.certhost == {"localhost": upsmon.CertHost("localhost", "upsd.example", True, False)}
    assert (c.offduration, c.overduration, c.oblbduration) == (-1, 0, 10)
    assert (c.alarmcritical, c.shutdownexit, c.pollfail_log_throttle_max) == (False, 30, 100)
    assert c.total_power == 5


def test_defaults_are_nut_280s() -> None:
    c = parse("MONITOR u@h 1 a b secondary\n")
    assert (c.minsupplies, c.pollfreq, c.pollfreqalert, c.hostsync, c.deadtime) == (1, 5, 5, 15, 15)
    assert (c.rbwarntime, c.nocommwarntime, c.finaldelay) == (43200, 300, 5)
    assert c.shutdowncmd is None and c.notifycmd is None and c.powerdownflag is None
    assert c.run_as_user is None and c.debug_min is None and c.certident is None
    assert (c.certpath, c.certfile, c.certverify, c.forcessl, c.certhost) == (
        None,
        None,
        False,
        False,
        {},
    )
    later = (c.offduration, c.overduration, c.oblbduration, c.alarmcritical, c.shutdownexit)
    assert later == (None,) * 5
    assert c.pollfail_log_throttle_max is None and c.run_as_group is None
    assert c.later_settings() == {}
    # NUT 2.8.0 only warns when SHUTDOWNCMD is missing
    assert [str(d) for d in c.diagnostics] == [
        "upsmon.conf: warning: no SHUTDOWNCMD: upsmon cannot shut this system down"
    ]


# --- the notify table ------------------------------------------------------------

EXPECTED_MESSAGES = {
    "ONLINE": "UPS %s on line power",
    "ONBATT": "UPS %s on battery",
    "LOWBATT": "UPS %s battery is low",
    "FSD": "UPS %s: forced shutdown in progress",
    "COMMOK": "Communications with UPS %s established",
    "COMMBAD": "Communications with UPS %s lost",
    "SHUTDOWN": "Auto logout and shutdown proceeding",
    "REPLBATT": "UPS %s battery needs to be replaced",
    "NOCOMM": "UPS %s is unavailable",
    "NOPARENT": "upsmon parent process died - shutdown impossible",
    "CAL": "UPS %s: calibration in progress",
    "NOTCAL": "UPS %s: calibration finished",
    "OFF": "UPS %s: administratively OFF or asleep",
    "NOTOFF": "UPS %s: no longer administratively OFF or asleep",
    "BYPASS": "UPS %s: on bypass (powered, not protecting)",
    "NOTBYPASS": "UPS %s: no longer on bypass",
    "ECO": "UPS %s: in ECO mode (as defined by vendor)",
    "NOTECO": "UPS %s: no longer in ECO mode",
    "ALARM": "UPS %s: one or more active alarms: [%s]",
    "NOTALARM": "UPS %s is no longer in an alarm state (no active alarms)",
    "OVER": "UPS %s: overloaded",
    "NOTOVER": "UPS %s: no longer overloaded",
    "TRIM": "UPS %s: trimming incoming voltage",
    "NOTTRIM": "UPS %s: no longer trimming incoming voltage",
    "BOOST": "UPS %s: boosting incoming voltage",
    "NOTBOOST": "UPS %s: no longer boosting incoming voltage",
    "SHUTDOWN_HOSTSYNC": "Shutdown initiated; primary system is waiting for secondaries "
    "to log out or time out",
}


def test_notify_table_is_exact() -> None:
    assert {k: v.message for k, v in upsmon.NOTIFY_TYPES.items()} == EXPECTED_MESSAGES
    assert list(upsmon.NOTIFY_TYPES)[:11] == list(upsmon.NUT_280_TYPES)
    for name, default in upsmon.NOTIFY_TYPES.items():
        want = {"SYSLOG"} if name == "CAL" else {"SYSLOG", "WALL"}
        assert default.flags == want, name
    with pytest.raises(TypeError):
        upsmon.NOTIFY_TYPES["ONLINE"] = upsmon.NotifyDefault("x", frozenset())  # type: ignore[index]


def test_model_defaults_and_overrides() -> None:
    c = parse(
        BASE
        + 'NOTIFYMSG online "back on mains: %s"\n'
        + "NOTIFYFLAG Lowbatt EXEC\n"
        + "NOTIFYFLAG ONBATT SYSLOG\nNOTIFYFLAG ONBATT WALL\n"  # the later line wins
        + 'NOTIFYMSG FSD ""\n'
    )
    assert [str(d) for d in c.diagnostics] == []
    for name, message in EXPECTED_MESSAGES.items():
        if name not in ("ONLINE", "FSD"):
            assert c.message_for(name) == message
    assert c.message_for("ONLINE") == c.message_for("online") == "back on mains: %s"
    assert c.message_for("FSD") == ""
    assert c.flags_for("lowbatt") == {"EXEC"} and c.flags_for("ONBATT") == {"WALL"}
    assert c.flags_for("CAL") == {"SYSLOG"} and c.flags_for("OVER") == {"SYSLOG", "WALL"}
    with pytest.raises(KeyError):
        c.message_for("NOSUCH")
    with pytest.raises(KeyError):
        c.flags_for("NOSUCH")


def test_ignore_combined_with_other_flags_warns() -> None:
    c = parse(BASE + "NOTIFYFLAG ONLINE IGNORE+SYSLOG\n")
    assert c.flags_for("ONLINE") == frozenset()
    assert [(d.level, d.line) for d in c.diagnostics] == [(Level.WARNING, 3)]


def test_notifymsg_with_extra_conversions_warns() -> None:
    c = parse(BASE + 'NOTIFYMSG ONLINE "%s is %d%% up (%s)"\nNOTIFYMSG ALARM "%s [%s] 100%%"\n')
    assert [(d.level, d.line) for d in c.diagnostics] == [(Level.WARNING, 3)]
    assert c.message_for("ONLINE") == "%s is %d%% up (%s)"


# --- malformed lines -------------------------------------------------------------

MALFORMED = [
    (
        "MONITOR ups@h 1 pass primary",
        "Unable to use old-style MONITOR line without a username",
        True,
    ),
    ("MONITOR ups@h 1 u", "MONITOR: expected 'MONITOR <system> <powervalue>", False),
    ("MONITOR", "MONITOR: expected 'MONITOR <system>", False),
    ("MONITOR ups@h 1 u two words primary", "MONITOR: expected", False),
    ("MONITOR ups@h x u p primary", "power value must be a whole number", False),
    ("MONITOR ups@h -1 u p primary", "power value must be a whole number >= 0", False),
    ("MONITOR ups@h 1 u p boss", "expected primary or secondary", False),
    ("MONITOR ups@h:99999 1 u p primary", "is not <upsname>[@<host>[:<port>]]", False),
    ("MONITOR ups@h: 1 u p primary", "is not <upsname>", False),
    ("MONITOR ups@::1 1 u p primary", "IPv6 addresses go in brackets", False),
    ("MONITOR ups@[::1 1 u p primary", "is not <upsname>", False),
    ("MONITOR @host 1 u p primary", "is not <upsname>", False),
    ('SHUTDOWNCMD "a # b"', "Unbalanced word due to unescaped # in quotes", False),
    ("SHUTDOWNCMD /sbin/shutdown -h +0", "SHUTDOWNCMD: expected 'SHUTDOWNCMD", False),
    ("POWERDOWNFLAG", "POWERDOWNFLAG: expected", False),
    ("POLLFREQ fast", "POLLFREQ: expected a whole number", False),
    ("POLLFREQ 0", "POLLFREQ: expected a number >= 1", False),
    ("POLLFREQ = 5", "POLLFREQ: expected 'POLLFREQ <number>'", False),
    ("MINSUPPLIES -1", "MINSUPPLIES: expected a number >= 0", False),
    ("FINALDELAY -5", "FINALDELAY: expected a number >= 0", False),
    ("HOSTSYNC 1 2", "HOSTSYNC: expected 'HOSTSYNC <number>'", False),
    ("DEADTIME 1.5", "DEADTIME: expected a whole number", False),
    ("DEBUG_MIN -1", "DEBUG_MIN: expected a number >= 0", False),
    ("OBLBDURATION soon", "OBLBDURATION: expected a whole number", False),
    ("POLLFAIL_LOG_THROTTLE_MAX -1", "POLLFAIL_LOG_THROTTLE_MAX: expected a number >= 0", False),
    ("NOTIFYCMD", "NOTIFYCMD: expected 'NOTIFYCMD", False),
    ("CERTVERIFY yes", "CERTVERIFY: expected 0 or 1", False),
    ("FORCESSL 2", "FORCESSL: expected 0 or 1", False),
    ("FORCESSL", "FORCESSL: expected 'FORCESSL 0|1'", False),
    ("CERTHOST h name 1", "CERTHOST: expected 'CERTHOST <host> <certificate name>", False),
    ("CERTHOST h name yes 0", "CERTHOST certverify: expected 0 or 1", False),
    ("CERTHOST h name 0 x", "CERTHOST forcessl: expected 0 or 1", False),
    ("CERTIDENT onlyname", "CERTIDENT: expected 'CERTIDENT <certificate name>", False),
    ("ALARMCRITICAL maybe", "ALARMCRITICAL: expected a boolean", False),
    ("SHUTDOWNEXIT later", "SHUTDOWNEXIT: expected 'SHUTDOWNEXIT yes|no|<seconds>'", False),
    ("SHUTDOWNEXIT", "SHUTDOWNEXIT: expected", False),
]


@pytest.mark.parametrize(("line", "fragment", "fatal"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_line_gives_one_error_on_its_line(line: str, fragment: str, fatal: bool) -> None:
    c = parse("# a comment first\n" + line + "\n" + BASE)
    found = errors(c)
    assert len(found) == 1, [str(d) for d in c.diagnostics]
    (e,) = found
    assert e.line == 2 and e.path == "upsmon.conf"
    assert fragment in e.message, e.message
    assert e.fatal is fatal
    assert str(e).startswith("upsmon.conf:2: error: ")


def test_malformed_lines_keep_defaults() -> None:
    c = parse(BASE + "POLLFREQ fast\nMINSUPPLIES -1\nCERTVERIFY yes\nNOTIFYFLAG ONBAT EMAIL\n")
    assert (c.pollfreq, c.minsupplies, c.certverify) == (5, 1, False)
    assert c.flags_for("ONBATT") == {"SYSLOG", "WALL"}
    assert [d.line for d in errors(c)] == [3, 4, 5]


# NUT's upsmon only warns about these (and runs); nutwist says the same, never refuses
NOTIFY_TYPOS = [
    ("NOTIFYMSG ONBATT", "upsmon.conf line 2: invalid directive NOTIFYMSG ONBATT"),
    ("NOTIFYMSG ONBATT UPS %s on battery", "NOTIFYMSG ONBATT: only 'UPS' is the message"),
    ('NOTIFYMSG ONBAT "x"', "'ONBAT' is not a valid notify event name"),
    ("NOTIFYFLAG ONBAT SYSLOG", "Warning: invalid notify type [ONBAT]"),
    ("NOTIFYFLAG ONBATT SYSLOG+MAIL", "Invalid notify flag: [MAIL]"),
    ("NOTIFYFLAG ONBATT syslog", "Invalid notify flag: [syslog] (upsmon.conf line 2: did you"),
    ("NOTIFYFLAG ONBATT SYSLOG+", "Invalid notify flag: []"),
    ("NOTIFYFLAG ONBATT", "upsmon.conf line 2: invalid directive NOTIFYFLAG ONBATT"),
]


@pytest.mark.parametrize(("line", "text"), NOTIFY_TYPOS, ids=[m[0] for m in NOTIFY_TYPOS])
def test_notify_typos_warn(line: str, text: str) -> None:
    c = parse("# a comment first\n" + line + "\n" + BASE)
    assert errors(c) == []
    assert [d for d in c.diagnostics if text in d.nut_line], [d.nut_line for d in c.diagnostics]


def test_unknown_and_wrong_case_directives_warn() -> None:
    c = parse(BASE + "FROB 1\nmonitor u@h 1 a b primary\npollfreq 3\n")
    assert [str(d) for d in c.diagnostics] == [
        "upsmon.conf:3: warning: unknown directive 'FROB'",
        "upsmon.conf:4: warning: unknown directive 'monitor' "
        "(directive names are case-sensitive: MONITOR)",
        "upsmon.conf:5: warning: unknown directive 'pollfreq' "
        "(directive names are case-sensitive: POLLFREQ)",
    ]
    assert len(c.monitors) == 1 and c.pollfreq == 5


def test_debug_min_is_case_insensitive_as_in_nut() -> None:
    assert parse(BASE + "debug_min 3\n").debug_min == 3


# --- MONITOR --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("system", "ups", "host", "port"),
    [
        ("ups", "ups", "localhost", 3493),
        ("ups@host", "ups", "host", 3493),
        ("ups@host:1", "ups", "host", 1),
        ("ups@10.1.2.3:65535", "ups", "10.1.2.3", 65535),
        ("ups@[::1]", "ups", "::1", 3493),
        ("ups@[::1]:3494", "ups", "::1", 3494),
        ("ups@[2001:db8::5]:40000", "ups", "2001:db8::5", 40000),
        ("my-ups.1@nas.example.org", "my-ups.1", "nas.example.org", 3493),
    ],
)
def test_monitor_host_and_port(system: str, ups: str, host: str, port: int) -> None:
    assert upsmon.split_system(system) == (ups, host, port)
    (m,) = parse(f"MONITOR {system} 1 u p primary\n").monitors
    assert (m.system, m.upsname, m.host, m.port) == (system, ups, host, port)


@pytest.mark.parametrize(
    "system",
    ["", "@host", "ups@", "ups@:3493", "u@h:", "u@h:x", "u@h:0", "u@h:65536", "u@h:+1", "u@::1",
     "u@[::1", "u@[::1]3493", "u@[]:1", "u@[::1]:"],
)  # fmt: skip
def test_split_system_rejects(system: str) -> None:
    assert upsmon.split_system(system) is None


def test_monitor_defaults_and_keywords() -> None:
    m = upsmon.Monitor(
        system="u", upsname="u", powervalue=1, username="a", password="b", primary=False,
        role="secondary",
    )  # fmt: skip
    assert (m.host, m.port, m.lineno) == ("localhost", 3493, None)


def test_duplicate_monitor_is_ignored_with_a_warning() -> None:
    c = parse(
        "MONITOR a@b 1 u p primary\nMONITOR a@b 2 v q secondary\nMONITOR a@b:3493 1 u p primary\n"
    )
    assert [(m.system, m.powervalue) for m in c.monitors] == [("a@b", 1), ("a@b:3493", 1)]
    dup = [d for d in c.diagnostics if "listed twice" in d.message]
    assert [(d.level, d.line) for d in dup] == [(Level.WARNING, 2)]


def test_power_value_zero_is_monitor_only() -> None:
    c = parse("MINSUPPLIES 0\nMONITOR a@b 0 u p secondary\n")
    assert errors(c) == [] and c.total_power == 0


# --- what NUT refuses ------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "",
        "# nothing\n",
        "MONITOR a@b 0 u p primary\n",
        "MINSUPPLIES 3\nMONITOR a@b 2 u p primary\n",
    ],
)
def test_insufficient_power_is_fatal(text: str) -> None:
    c = parse(text)
    (fatal,) = [d for d in c.diagnostics if d.fatal]
    assert fatal.is_error and fatal.line is None
    assert "insufficient power configured" in fatal.message
    assert syntax_errors(c) == []


def test_no_monitor_is_refused_even_with_minsupplies_0() -> None:
    c = parse('MINSUPPLIES 0\nSHUTDOWNCMD "x"\n')
    assert [str(d) for d in c.diagnostics] == [
        "upsmon.conf: error: no MONITOR line: upsmon would watch nothing"
    ]
    assert c.diagnostics[0].fatal


def test_skipped_monitor_lines_count_towards_insufficient_power() -> None:
    c = parse('MONITOR a@b 1 u p boss\nSHUTDOWNCMD "x"\n')
    assert [(d.line, d.fatal) for d in errors(c)] == [(1, False), (None, True)]


def test_validate_refuses_negative_numbers_set_in_code() -> None:
    c = parse(BASE)
    assert c.diagnostics == []
    c.pollfreq = 0
    c.finaldelay = -1
    upsmon.validate(c)
    assert [(d.message, d.fatal) for d in c.diagnostics] == [
        ("POLLFREQ is 0, below 1", True),
        ("FINALDELAY is -1, below 0", True),
    ]


def test_certverify_without_certpath_warns() -> None:
    c = parse(BASE + "CERTVERIFY 1\n")
    assert [d.message for d in c.diagnostics] == [
        "CERTVERIFY 1 without CERTPATH: NUT's upsmon then drops every connection "
        "(no CA to verify upsd's certificate with)"
    ]


# --- secrets ---------------------------------------------------------------------


def test_passwords_never_shown() -> None:
    c = parse(
        'MONITOR a@b 1 u "S3cr3t-one" primary\nMONITOR c@d 1 u S3cr3t-two secondary\n'
        "MONITOR e@f 1 u S3cr3t-three x y\nMONITOR g@h nan u S3cr3t-four primary\n"
        "MONITOR i@j 1 u S3cr3t-five boss\n"
        'CERTIDENT client "S3cr3t-six"\nSHUTDOWNCMD x\n'
    )
    assert c.monitors[0].password == "S3cr3t-one" and c.certident == ("client", "S3cr3t-six")
    shown = repr(c) + str(c) + "".join(repr(m) + str(m) for m in c.monitors)
    shown += "\n".join(str(d) for d in c.diagnostics)
    assert "S3cr3t" not in shown


# --- commands and TLS -------------------------------------------------------------


def test_notifycmd_one_word_and_argv_form() -> None:
    c = parse(BASE + 'NOTIFYCMD "/usr/local/bin/notify -v --tag \\"ups\\""\n')
    assert c.notifycmd == '/usr/local/bin/notify -v --tag "ups"' and c.notifycmd_argv is None
    c = parse(BASE + 'NOTIFYCMD /usr/local/bin/notify --to "ops team"\n')
    assert c.notifycmd_argv == ["/usr/local/bin/notify", "--to", "ops team"]
    assert c.notifycmd == "/usr/local/bin/notify --to 'ops team'"
    assert errors(c) == []


def test_certident_is_kept_and_flagged_as_nss_only() -> None:
    c = parse(BASE + 'CERTIDENT "my cert" dbpass\n')
    assert c.certident == ("my cert", "dbpass")
    (e,) = errors(c)
    assert e.line == 3 and not e.fatal
    assert "NSS" in e.message and "pk12util -d <CERTPATH> -n 'my cert'" in e.message
    assert "openssl pkcs12" in e.message and "CERTFILE" in e.message


def test_later_certhost_for_same_host_wins() -> None:
    c = parse(BASE + "CERTHOST h a 1 1\nCERTHOST h b 0 0\nCERTHOST k c 0 1\n")
    assert c.certhost["h"] == upsmon.CertHost("h", "b", False, False)
    assert c.certhost["k"].force and not c.certhost["k"].verify


@pytest.mark.parametrize(
    ("word", "value"),
    [("yes", 0), ("ON", 0), ("true", 0), ("no", -1), ("Off", -1), ("false", -1), ("0", 0),
     ("45", 45), ("-7", -1)],
)  # fmt: skip
def test_shutdownexit(word: str, value: int) -> None:
    c = parse(BASE + f"SHUTDOWNEXIT {word}\n")
    assert errors(c) == [] and c.shutdownexit == value
    assert c.later_settings() == {"SHUTDOWNEXIT": value}


def test_later_settings_record_what_is_set() -> None:
    c = parse(BASE + "OBLBDURATION 0\nALARMCRITICAL yes\nRUN_AS_GROUP ups\n")
    assert c.later_settings() == {"OBLBDURATION": 0, "ALARMCRITICAL": True, "RUN_AS_GROUP": "ups"}


# --- real files ------------------------------------------------------------------


def test_nut_sample_upsmon() -> None:
    path = SAMPLES / "upsmon.conf.sample.in"
    if not path.exists():
        pytest.skip("shared samples absent")
    c = upsmon.load(str(path))
    assert syntax_errors(c) == []
    assert [d for d in c.diagnostics if d.level is Level.WARNING] == []
    assert c.shutdowncmd == "/sbin/shutdown -h +0" and c.powerdownflag == "/etc/killpower"
    assert (c.minsupplies, c.pollfreq, c.pollfreqalert, c.hostsync, c.deadtime) == (1, 5, 5, 15, 15)
    assert (c.rbwarntime, c.nocommwarntime, c.finaldelay) == (43200, 300, 5)
    assert c.monitors == [] and c.notifycmd is None and c.notifymsg == {}
    (fatal,) = c.diagnostics.fatal
    assert "insufficient power configured" in fatal.message


def test_debian_upsmon_conf() -> None:
    if not DEBIAN.exists():
        pytest.skip("Debian's nut-client is not installed")
    try:
        c = upsmon.load(str(DEBIAN))
    except PermissionError:
        pytest.skip("cannot read /etc/nut/upsmon.conf")
    assert syntax_errors(c) == []
    assert c.shutdowncmd == "/sbin/shutdown -h +0" and c.powerdownflag == "/etc/killpower"
    assert (c.pollfreq, c.hostsync, c.deadtime, c.finaldelay) == (5, 15, 15, 5)
    assert c.monitors == [] and "insufficient power" in c.diagnostics.fatal[0].message


def test_load_reads_a_file(tmp_path: Path) -> None:
    p = tmp_path / "upsmon.conf"
    p.write_bytes(BASE.encode())
    c = upsmon.load(str(p))
    assert c.path == str(p) and c.diagnostics.path == str(p) and c.diagnostics == []


# --- never a traceback -----------------------------------------------------------

WORDS = st.sampled_from(
    [
        *sorted(upsmon._KNOWN),
        "monitor",
        "ups@host",
        "u@[::1]:1",
        "u@::1",
        "1",
        "-1",
        "0",
        "x",
        "primary",
        "slave",
        "ONBATT",
        "IGNORE+SYSLOG",
        "SYSLOG+",
        '"q w"',
        "=",
        "%s %d",
        "yes",
    ]
)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=1500))
def test_arbitrary_bytes_never_raise(data: bytes) -> None:
    c = upsmon.parse(Source("f", data))
    assert all(d.path == "f" for d in c.diagnostics)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(WORDS, min_size=1, max_size=7).map(" ".join), max_size=12))
def test_directive_soup_never_raises(lines: list[str]) -> None:
    c = parse("\n".join(lines) + "\n")
    for name in upsmon.NOTIFY_TYPES:
        c.message_for(name)
        c.flags_for(name)
    assert all(d.line is None or 1 <= d.line <= len(lines) for d in c.diagnostics)
