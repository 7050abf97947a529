"""upsmon.conf and upssched.conf models."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nutwist.config import upsmon, upssched
from nutwist.config.base import Source
from nutwist.config.diagnostics import Level

SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "data" / "conf-samples"


def parse(text: str) -> upsmon.UpsmonConf:
    return upsmon.parse(Source.from_text(text, "upsmon.conf"))


def errs(conf: object) -> list[str]:
    return [str(d) for d in conf.diagnostics if d.level is Level.ERROR]  # type: ignore[attr-defined]


COMPLETE = """
MONITOR ups1@localhost 1 mon "secret pw" primary
MONITOR ups2@10.0.0.5:3494 2 mon s2 secondary
MONITOR ups3@[::1]:3495 0 mon s3 slave
MONITOR ups4 1 mon s4 master
MINSUPPLIES 2
SHUTDOWNCMD "/sbin/shutdown -h +0"
NOTIFYCMD /usr/sbin/upssched
POLLFREQ 3
POLLFREQALERT 1
HOSTSYNC 20
DEADTIME 12
POWERDOWNFLAG /run/killpower
NOTIFYMSG ONBATT "%s is on battery!"
NOTIFYFLAG ONBATT SYSLOG+WALL+EXEC
NOTIFYFLAG COMMOK IGNORE
RBWARNTIME 3600
NOCOMMWARNTIME 60
FINALDELAY 2
RUN_AS_USER nut
CERTPATH /etc/nut/ca.pem
CERTHOST localhost "upsd.example" 1 1
CERTVERIFY 1
FORCESSL 1
CERTFILE /etc/nut/client.pem
OBLBDURATION 10
SHUTDOWNEXIT 30
"""


def test_complete_file() -> None:
    c = parse(COMPLETE)
    assert errs(c) == [] and [str(d) for d in c.diagnostics] == []
    m = c.monitors
    assert [(x.upsname, x.host, x.port, x.powervalue, x.primary) for x in m] == [
        ("ups1", "localhost", 3493, 1, True),
        ("ups2", "10.0.0.5", 3494, 2, False),
        ("ups3", "::1", 3495, 0, False),
        ("ups4", "localhost", 3493, 1, True),
    ]
    assert m[0].password == "secret pw" and "secret pw" not in repr(c)
    assert (c.minsupplies, c.pollfreq, c.pollfreqalert, c.hostsync, c.deadtime) == (2, 3, 1, 20, 12)
    assert (c.rbwarntime, c.nocommwarntime, c.finaldelay) == (3600, 60, 2)
    assert c.shutdowncmd == "/sbin/shutdown -h +0" and c.notifycmd == "/usr/sbin/upssched"
    assert c.powerdownflag == "/run/killpower" and c.run_as_user == "nut"
    assert c.message_for("ONBATT") == "%s is on battery!"
    assert c.message_for("ONLINE") == "UPS %s on line power"
    assert (
        c.flags_for("ONBATT") == {"SYSLOG", "WALL", "EXEC"} and c.flags_for("COMMOK") == frozenset()
    )
    assert c.flags_for("CAL") == {"SYSLOG"} and c.flags_for("OVER") == {"SYSLOG", "WALL"}
    assert c.certverify and c.forcessl and c.certhost["localhost"].certname == "upsd.example"
    assert (c.oblbduration, c.shutdownexit, c.offduration, c.alarmcritical) == (10, 30, None, None)


def test_defaults() -> None:
    c = parse("MONITOR u@h 1 a b secondary\n")
    assert (c.minsupplies, c.pollfreq, c.pollfreqalert, c.hostsync, c.deadtime) == (1, 5, 5, 15, 15)
    assert (c.rbwarntime, c.nocommwarntime, c.finaldelay) == (43200, 300, 5)
    assert c.shutdowncmd is None and c.powerdownflag is None
    assert [str(d) for d in c.diagnostics] == [
        "upsmon.conf: warning: no SHUTDOWNCMD: upsmon cannot shut this system down"
    ]


def test_notify_table_is_exact() -> None:
    assert len(upsmon.NUT_280_TYPES) == 11
    assert upsmon.NOTIFY_TYPES["NOPARENT"][0] == "upsmon parent process died - shutdown impossible"
    assert upsmon.NOTIFY_TYPES["SHUTDOWN"][0] == "Auto logout and shutdown proceeding"
    assert upsmon.NOTIFY_TYPES["ALARM"][0] == "UPS %s: one or more active alarms: [%s]"
    assert len(upsmon.NOTIFY_TYPES) == 27


@pytest.mark.parametrize(
    ("text", "fragment", "fatal"),
    [
        ("MONITOR ups@h 1 pass primary\n", "old-style MONITOR", True),
        ("MONITOR ups@h 1 u\n", "MONITOR: expected", True),
        ("MONITOR ups@h x u p primary\n", "expected a whole number", False),
        ("MONITOR ups@h 1 u p boss\n", "primary or secondary", True),
        ("MONITOR ups@h:99999 1 u p primary\n", "is not <upsname>", True),
        ("POLLFREQ fast\n", "POLLFREQ: expected a whole number", False),
        ("NOTIFYFLAG ONBAT SYSLOG\n", "unknown notify type 'ONBAT'", False),
        ("NOTIFYFLAG ONBATT SYSLOG+MAIL\n", "flags are SYSLOG, WALL, EXEC or IGNORE", False),
        ("NOTIFYMSG ONBATT\n", "NOTIFYMSG: expected", False),
    ],
)
def test_malformed(text: str, fragment: str, fatal: bool) -> None:
    c = parse(text + "MONITOR other@h 1 u p primary\n")
    lines = [d for d in c.diagnostics if d.level is Level.ERROR and d.line == 1]
    assert len(lines) == 1 and fragment in lines[0].message, [str(d) for d in c.diagnostics]
    assert lines[0].fatal is fatal


def test_insufficient_power_is_fatal() -> None:
    for text in ("", "MONITOR a@b 0 u p primary\n", "MINSUPPLIES 3\nMONITOR a@b 2 u p primary\n"):
        c = parse(text)
        fatal = [d for d in c.diagnostics if d.fatal]
        assert len(fatal) == 1 and "insufficient power configured" in fatal[0].message


def test_duplicate_monitor_ignored_with_warning() -> None:
    c = parse("MONITOR a@b 1 u p primary\nMONITOR a@b 1 u p primary\n")
    assert len(c.monitors) == 1
    assert any("listed twice" in str(d) for d in c.diagnostics)


def test_split_system() -> None:
    assert upsmon.split_system("ups") == ("ups", "localhost", 3493)
    assert upsmon.split_system("ups@[fe80::1]") == ("ups", "fe80::1", 3493)
    assert upsmon.split_system("ups@::1") == ("ups", "::1", 3493)
    assert upsmon.split_system("ups@host:1") == ("ups", "host", 1)
    assert upsmon.split_system("@host") is None and upsmon.split_system("u@h:x") is None


def test_nut_sample_upsmon() -> None:
    path = SAMPLES / "upsmon.conf.sample.in"
    if not path.exists():
        pytest.skip("samples absent")
    c = upsmon.load(str(path))
    syntax = [d for d in c.diagnostics if d.is_error and not d.fatal]
    assert syntax == []
    assert c.shutdowncmd == "/sbin/shutdown -h +0" and c.powerdownflag == "/etc/killpower"
    assert (c.pollfreq, c.hostsync, c.deadtime, c.finaldelay) == (5, 15, 15, 5)
    assert c.monitors == [] and any(
        "insufficient power" in d.message for d in c.diagnostics if d.fatal
    )


def test_debian_upsmon_and_upssched() -> None:
    if not Path("/etc/nut/upsmon.conf").exists():
        pytest.skip("Debian's nut-client is not installed")
    c = upsmon.load("/etc/nut/upsmon.conf")
    assert [d for d in c.diagnostics if d.is_error and not d.fatal] == []
    s = upssched.load("/etc/nut/upssched.conf")
    assert errs(s) == [] and s.cmdscript is not None


# --- upssched.conf --------------------------------------------------------------


def sched(text: str) -> upssched.UpsschedConf:
    return upssched.parse(Source.from_text(text, "upssched.conf"))


def test_upssched_rules_and_matching() -> None:
    s = sched(
        "CMDSCRIPT /bin/cmd\nPIPEFN /run/nut/upssched.pipe\nLOCKFN /run/nut/upssched.lock\n"
        "AT ONBATT * START-TIMER onbatt 30\n"
        "AT ONLINE ups1 CANCEL-TIMER onbatt online\n"
        "AT COMMBAD * EXECUTE commbad\n"
        "AT LOWBATT ups1 START-TIMER-SHARED low 5\n"
        "AT ONLINE * CANCEL-TIMER-MATCHED low\n"
    )
    assert errs(s) == []
    assert (s.cmdscript, s.pipefn, s.lockfn) == (
        "/bin/cmd",
        "/run/nut/upssched.pipe",
        "/run/nut/upssched.lock",
    )
    assert [r.action for r in s.matching("onbatt", "anything")] == ["START-TIMER"]
    assert [r.args for r in s.matching("ONLINE", "ups1")] == [("onbatt", "online"), ("low",)]
    assert [r.args for r in s.matching("ONLINE", "ups2")] == [("low",)]


def test_upssched_order_and_malformed() -> None:
    s = sched("CMDSCRIPT /bin/cmd\nAT ONBATT * START-TIMER x 30\n")
    (e,) = [d for d in s.diagnostics if d.is_error]
    assert e.fatal and e.line == 2 and "PIPEFN, LOCKFN" in e.message
    s = sched(
        "CMDSCRIPT c\nPIPEFN p\nLOCKFN l\nAT ONBATT * START-TIMER x\nAT ONBATT * FROB x\n"
        "AT ONBATT * START-TIMER x soon\nAT ONBATT\n"
    )
    assert [d.line for d in s.diagnostics if d.is_error] == [4, 5, 6, 7]


def test_upssched_debian_style_stock_file() -> None:
    s = sched("CMDSCRIPT /bin/upssched-cmd\n# PIPEFN /run/nut/upssched.pipe\n")
    assert [str(d) for d in s.diagnostics] == [] and s.rules == []


@settings(max_examples=150)
@given(st.binary(max_size=1500))
def test_arbitrary_bytes_never_raise(data: bytes) -> None:
    upsmon.parse(Source("f", data))
    upssched.parse(Source("f", data))
