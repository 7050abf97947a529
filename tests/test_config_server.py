"""ups.conf, upsd.conf, upsd.users, nut.conf, hosts.conf and upsset.conf models."""

from __future__ import annotations

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nutwist.config import cgi, nutconf, ups, upsd, users
from nutwist.config.base import Source
from nutwist.config.diagnostics import Level

SAMPLES = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "conf-samples")


def src(text: str, name: str) -> Source:
    return Source.from_text(text, name)


def errors(model: object) -> list[str]:
    return [str(d) for d in model.diagnostics if d.level is Level.ERROR]


def warnings(model: object) -> list[str]:
    return [str(d) for d in model.diagnostics if d.level is Level.WARNING]


# --- ups.conf ----------------------------------------------------------------


def test_ups_conf_sections_globals_flags() -> None:
    conf = ups.parse(
        src(
            "maxretry = 3\ndriverpath = /opt/nut\nnowait\n"
            '[Alpha]\n driver = dummy-ups\n port = a.dev\n desc = "Rack A"\n nolock\n'
            " sdorder = 2\n override.battery.charge.low = 30\n"
            "[beta]\n driver=usbhid-ups\n port=auto\n sdorder = -1\n",
            "ups.conf",
        )
    )
    assert errors(conf) == []
    assert conf.maxretry == 3 and conf.driverpath == "/opt/nut" and conf.nowait
    assert list(conf.sections) == ["Alpha", "beta"]
    alpha = conf.find("ALPHA")
    assert alpha is not None and alpha.name == "Alpha"
    assert (alpha.driver, alpha.port, alpha.desc, alpha.sdorder) == (
        "dummy-ups",
        "a.dev",
        "Rack A",
        2,
    )
    assert alpha.has_flag("nolock")
    assert alpha.values["override.battery.charge.low"] == "30"
    assert conf.sections["beta"].sdorder == -1
    assert conf.retrydelay == 5 and conf.maxstartdelay == 45 and conf.pollinterval == 2


def test_ups_conf_defaults_when_empty() -> None:
    conf = ups.parse(src("", "ups.conf"))
    assert conf.sections == {} and conf.driverpath == "/lib/nut" and conf.maxretry == 1


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("[a]\n driver = x\n port = y\n bogus line\n", 4, "expected 'key = value'"),
        ("[a\n", 1, "section header"),
        ("[a]\n driver = x\n port = y\n[A]\n driver = x\n port = y\n", 4, "duplicate section"),
        ("[a]\n port = y\n", 1, "has no 'driver'"),
        ("[a]\n driver = x\n port = y\n sdorder = soon\n", 4, "sdorder: expected a whole number"),
        ("[a]\n driver = x\n port = y\n sdorder = -4\n", 4, "sdorder"),
        ('[a]\n driver = x\n desc = "#1"\n port = y\n', 3, "unescaped #"),
    ],
)
def test_ups_conf_malformed(text: str, line: int, fragment: str) -> None:
    errs = errors(ups.parse(src(text, "ups.conf")))
    assert len(errs) == 1, errs
    assert errs[0].startswith(f"ups.conf:{line}: error:")
    assert fragment in errs[0]


def test_ups_conf_unknown_global_is_a_warning() -> None:
    conf = ups.parse(src("frobnicate = 1\n", "ups.conf"))
    assert errors(conf) == []
    assert warnings(conf) == ["ups.conf:1: warning: unknown global directive 'frobnicate'"]


# --- upsd.conf ---------------------------------------------------------------


def test_upsd_conf_defaults() -> None:
    conf = upsd.parse(src("", "upsd.conf"))
    assert (conf.maxage, conf.trackingdelay, conf.allow_no_device, conf.maxconn) == (
        15,
        3600,
        False,
        None,
    )
    assert [(x.address, x.port) for x in conf.listeners()] == [("127.0.0.1", 3493), ("::1", 3493)]
    assert conf.min_tls_12 and conf.certrequest == 0
    assert (conf.login_fail_limit, conf.login_fail_window) == (10, 60)


def test_upsd_conf_every_directive() -> None:
    conf = upsd.parse(
        src(
            "MAXAGE 30\nTRACKINGDELAY 60\nALLOW_NO_DEVICE true\nALLOW_NOT_ALL_LISTENERS 1\n"
            "MAXCONN 2048\nSTATEPATH /tmp/st\nDATAPATH /usr/share/nut\n"
            "LISTEN 0.0.0.0 3494\nLISTEN ::\nLISTEN *\nCERTFILE /etc/nut/upsd.pem\n"
            "CERTPATH /etc/nut/ca\nCERTREQUEST REQUIRE\nDISABLE_WEAK_SSL no\ndebug_min 2\n"
            "HOSTS_ALLOW /tmp/allow\nHOSTS_DENY /tmp/deny\nACL_ON_CONNECT yes\n"
            "LOGIN_THROTTLE 5 120\nAUTH_REQUIRES_TLS on\n",
            "upsd.conf",
        )
    )
    assert errors(conf) == [] and warnings(conf) == []
    assert (conf.maxage, conf.trackingdelay, conf.maxconn) == (30, 60, 2048)
    assert conf.allow_no_device and conf.allow_not_all_listeners
    assert (conf.statepath, conf.datapath) == ("/tmp/st", "/usr/share/nut")
    assert [(x.address, x.port) for x in conf.listeners()] == [
        ("0.0.0.0", 3494),
        ("::", 3493),
        ("*", 3493),
    ]
    assert conf.listeners()[2].wildcard
    assert (conf.certfile, conf.certpath, conf.certrequest) == (
        "/etc/nut/upsd.pem",
        "/etc/nut/ca",
        2,
    )
    assert conf.disable_weak_ssl is False and not conf.min_tls_12
    assert conf.debug_min == 2
    assert (conf.hosts_allow, conf.hosts_deny, conf.acl_on_connect) == (
        "/tmp/allow",
        "/tmp/deny",
        True,
    )
    assert (conf.login_fail_limit, conf.login_fail_window, conf.auth_requires_tls) == (5, 120, True)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("MAXAGE\n", "MAXAGE: expected 'MAXAGE <number>'"),
        ("MAXAGE soon\n", "expected a whole number"),
        ("LISTEN 127.0.0.1 70000\n", "from 1 to 65535"),
        ("LISTEN\n", "LISTEN <address> [<port>]"),
        ("CERTREQUEST MAYBE\n", "CERTREQUEST: expected NO, REQUEST or REQUIRE"),
        ("ALLOW_NO_DEVICE perhaps\n", "expected a boolean"),
    ],
)
def test_upsd_conf_malformed(text: str, fragment: str) -> None:
    errs = errors(upsd.parse(src(text, "upsd.conf")))
    assert len(errs) == 1 and errs[0].startswith("upsd.conf:1: error:") and fragment in errs[0]


def test_upsd_conf_removed_and_unknown_directives_warn() -> None:
    conf = upsd.parse(src("ACL all 0.0.0.0/0\nACCEPT all\nmaxage 3\n", "upsd.conf"))
    assert errors(conf) == []
    assert warnings(conf) == [
        "upsd.conf:1: warning: ACL is no longer supported - switch to LISTEN",
        "upsd.conf:2: warning: ACCEPT is no longer supported - switch to LISTEN",
        "upsd.conf:3: warning: unknown directive 'maxage'",
    ]


# --- upsd.users --------------------------------------------------------------


USERS = """
[admin]
    password = "s3cret words"
    actions = SET
    actions = fsd
    instcmds = test.battery.start load.off
[ops]
    password=x
    instcmds = ALL
[mon]
    password = mp
    upsmon primary
[sec]
    password = sp
    upsmon = slave
[fsduser]
    password = f
    actions = SET FSD
"""


def test_users_grants() -> None:
    conf = users.parse(src(USERS, "upsd.users"))
    assert errors(conf) == [] and warnings(conf) == []
    admin = conf.get("admin")
    assert admin is not None and admin.password == "s3cret words"
    assert admin.has_action("SET") and admin.has_action("fsd") and not admin.has_action("login")
    assert admin.may_instcmd("LOAD.OFF") and not admin.may_instcmd("load.on")
    ops = conf.get("ops")
    assert ops is not None and ops.may_instcmd("anything.at.all")
    mon = conf.get("mon")
    assert mon is not None and mon.upsmon_primary
    assert all(mon.has_action(a) for a in ("login", "master", "fsd")) and not mon.has_action("set")
    sec = conf.get("sec")
    assert sec is not None and sec.has_action("login") and not sec.has_action("fsd")
    fsd = conf.get("fsduser")
    assert fsd is not None and not fsd.has_action("login")
    assert conf.get("Admin") is None  # user names are case-sensitive


def test_users_password_never_in_repr() -> None:
    conf = users.parse(src(USERS, "upsd.users"))
    assert "s3cret" not in repr(conf) and "s3cret" not in str(conf.users)


def test_users_problems() -> None:
    conf = users.parse(
        src(
            "password = orphan\n[a]\n password\n upsmon boss\n actions = SET WRITE\n"
            " allowfrom = localhost\n colour = blue\n[a]\n password = again\n[b]\n",
            "upsd.users",
        )
    )
    assert errors(conf) == [
        "upsd.users:1: error: 'password' is outside any [username] section",
        "upsd.users:3: error: password: expected 'password = <password>' (quote spaces)",
        "upsd.users:4: error: upsmon: expected 'upsmon primary' or 'upsmon secondary'",
    ]
    assert warnings(conf) == [
        "upsd.users:5: warning: actions: unknown action 'WRITE'",
        "upsd.users:6: warning: allowfrom is no longer supported - use LISTEN and hosts.allow",
        "upsd.users:7: warning: unknown directive 'colour' in [a]",
        "upsd.users:8: warning: Ignoring duplicate user a",
        "upsd.users:2: warning: user a has no password and can never log in",
        "upsd.users:10: warning: user b has no password and can never log in",
    ]


# --- nut.conf, hosts.conf, upsset.conf ----------------------------------------


def test_nut_conf() -> None:
    conf = nutconf.parse(
        src(
            "# c\nMODE=netserver\nUPSD_OPTIONS='-D -u nut'\nexport POWEROFF_WAIT=\"15m\"\n",
            "nut.conf",
        )
    )
    assert errors(conf) == []
    assert conf.mode == "netserver"
    assert conf.values["UPSD_OPTIONS"] == "-D -u nut" and conf.values["POWEROFF_WAIT"] == "15m"


def test_nut_conf_problems() -> None:
    conf = nutconf.parse(
        src("MODE = standalone\nMODE=bogus\nUPSD_OPTIONS=-D -F\nwhat\n", "nut.conf")
    )
    assert errors(conf) == [
        "nut.conf:1: error: expected KEY=value with no spaces around '=' (this file is shell)",
        "nut.conf:2: error: MODE: expected one of none, standalone, netserver, netclient, got 'bogus'",
        "nut.conf:3: error: UPSD_OPTIONS: quote a value that has spaces",
        "nut.conf:4: error: expected KEY=value",
    ]


def test_hosts_and_upsset() -> None:
    h = cgi.parse_hosts(src('MONITOR myups@localhost "Local UPS"\nMONITOR x\n', "hosts.conf"))
    assert [(m.system, m.description) for m in h.monitors] == [("myups@localhost", "Local UPS")]
    assert h.allowed("myups@localhost") and not h.allowed("other@localhost")
    assert errors(h) == [
        "hosts.conf:2: error: MONITOR: expected 'MONITOR <ups>@<host> \"<description>\"'"
    ]
    u = cgi.parse_upsset(src("I_HAVE_SECURED_MY_CGI_DIRECTORY\n", "upsset.conf"))
    assert u.secured
    assert not cgi.parse_upsset(src("# I_HAVE_SECURED_MY_CGI_DIRECTORY\n", "upsset.conf")).secured


# --- NUT's own sample files ---------------------------------------------------


def _sample(name: str) -> str:
    path = os.path.join(SAMPLES, name)
    if not os.path.exists(path):
        pytest.skip(f"{path} not present")
    return path


def test_samples_parse_without_syntax_errors() -> None:
    u = ups.load(_sample("ups.conf.sample"))
    assert errors(u) == [] and u.maxretry == 3 and u.sections == {}
    d = upsd.load(_sample("upsd.conf.sample"))
    assert errors(d) == [] and d.listen == []
    assert errors(users.load(_sample("upsd.users.sample"))) == []
    n = nutconf.load(_sample("nut.conf.sample"))
    assert errors(n) == [] and n.mode == "none"
    assert errors(cgi.load_hosts(_sample("hosts.conf.sample"))) == []
    assert not cgi.load_upsset(_sample("upsset.conf.sample")).secured


@pytest.mark.parametrize("name", ["ups.conf", "upsd.conf", "upsd.users", "nut.conf"])
def test_debian_files_parse(name: str) -> None:
    path = os.path.join("/etc/nut", name)
    if not os.path.exists(path):
        pytest.skip("Debian's nut-server is not installed")
    parser = {
        "ups.conf": ups.load,
        "upsd.conf": upsd.load,
        "upsd.users": users.load,
        "nut.conf": nutconf.load,
    }
    model = parser[name](path)
    assert errors(model) == []


@settings(max_examples=150)
@given(st.binary(max_size=1500))
def test_arbitrary_bytes_never_raise(data: bytes) -> None:
    for parse in (
        ups.parse,
        upsd.parse,
        users.parse,
        nutconf.parse,
        cgi.parse_hosts,
        cgi.parse_upsset,
    ):
        model = parse(Source("fuzz", data))
        assert all(d.path == "fuzz" for d in model.diagnostics)
