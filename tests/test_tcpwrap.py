"""hosts.allow / hosts.deny, decided the way libwrap decides for NUT's upsd."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nutwist.config.diagnostics import Level
from nutwist.config.tcpwrap import (
    AccessFile,
    HostsAccess,
    load_access_file,
    parse_access_file,
)


def access(tmp_path: Path, allow: str, deny: str = "") -> HostsAccess:
    (tmp_path / "hosts.allow").write_text(allow)
    (tmp_path / "hosts.deny").write_text(deny)
    return HostsAccess(str(tmp_path / "hosts.allow"), str(tmp_path / "hosts.deny"))


def only_allow(pattern: str) -> HostsAccess:
    """Access granted exactly when ``pattern`` matches a client of upsd."""
    allow = parse_access_file("hosts.allow", f"upsd : {pattern}\n".encode())
    deny = parse_access_file("hosts.deny", b"ALL : ALL\n")
    return HostsAccess.from_files(allow, deny)


def messages(af: AccessFile | HostsAccess) -> list[str]:
    return [str(d) for d in af.diagnostics]


# -- the decision order ------------------------------------------------------


def test_nut_user_at_host_example(tmp_path: Path) -> None:
    a = access(tmp_path, "upsd : admin@127.0.0.1/32\n", "upsd : ALL\n")
    assert a.check("upsd", "127.0.0.1", "admin")
    assert not a.check("upsd", "127.0.0.1", "monuser")
    assert not a.check("upsd", "10.0.0.1", "admin")
    assert not a.check("upsd", "127.0.0.1", None)
    assert a.check("sshd", "10.0.0.1", "admin")  # no rule names sshd
    assert a.diagnostics == []


def test_missing_files_allow_everything(tmp_path: Path) -> None:
    a = HostsAccess(str(tmp_path / "no-allow"), str(tmp_path / "no-deny"))
    assert a.check("upsd", "192.0.2.1", "anyone") and a.check("upsd", "::1")
    assert a.diagnostics == [] and a.allow.rules == [] and a.deny.rules == []


def test_allow_is_read_before_deny(tmp_path: Path) -> None:
    a = access(tmp_path, "upsd : 192.0.2.1\n", "upsd : 192.0.2.0/24\n")
    assert a.check("upsd", "192.0.2.1")
    assert not a.check("upsd", "192.0.2.2")
    assert a.check("upsd", "198.51.100.1")  # neither file matches


def test_first_matching_rule_decides(tmp_path: Path) -> None:
    a = access(tmp_path, "upsd : 192.0.2.1 : deny\nupsd : 192.0.2.0/24\n")
    assert not a.check("upsd", "192.0.2.1") and a.check("upsd", "192.0.2.2")


def test_daemon_patterns(tmp_path: Path) -> None:
    a = access(tmp_path, "sshd, UPSD nutd : 192.0.2.1\n", "ALL : ALL\n")
    assert a.check("upsd", "192.0.2.1") and a.check("nutd", "192.0.2.1")
    assert not a.check("upsmon", "192.0.2.1")
    b = access(tmp_path, "ups* : ALL\n", "ALL : ALL\n")
    assert b.check("upsd", "192.0.2.1") and not b.check("sshd", "192.0.2.1")


def test_daemon_at_server_address(tmp_path: Path) -> None:
    a = access(tmp_path, "upsd@192.0.2.10 : ALL\nupsd@[::1] : ALL\n", "ALL : ALL\n")
    assert a.check("upsd", "198.51.100.1", server_addr="192.0.2.10")
    assert a.check("upsd", "198.51.100.1", server_addr="::1")
    assert not a.check("upsd", "198.51.100.1", server_addr="192.0.2.11")
    assert not a.check("upsd", "198.51.100.1")  # the server address is not known
    c = access(tmp_path, "upsd@ALL : ALL\n", "ALL : ALL\n")
    assert c.check("upsd", "198.51.100.1")  # as in libwrap, ALL matches an unknown server
    b = access(tmp_path, "upsd@192.0.2.0/24 : ALL\n", "ALL : ALL\n")
    assert b.check("upsd", "10.0.0.1", server_addr="192.0.2.99")


# -- client patterns ---------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "addr", "name", "expected"),
    [
        ("ALL", "192.0.2.9", None, True),
        ("all", "2001:db8::1", None, True),
        ("192.0.2.9", "192.0.2.9", None, True),
        ("192.0.2.9", "192.0.2.90", None, False),
        ("192.0.2.", "192.0.2.9", None, True),
        ("192.0.2.", "192.0.22.9", None, False),
        ("192.0.2.0/255.255.255.0", "192.0.2.200", None, True),
        ("192.0.2.0/255.255.255.0", "192.0.3.1", None, False),
        ("10.0.0.0/255.0.255.0", "10.7.0.9", None, True),  # masks need not be contiguous
        ("10.0.0.0/8", "10.200.1.1", None, True),
        ("10.0.0.0/8", "11.0.0.1", None, False),
        ("127.0.0.1/32", "127.0.0.1", None, True),
        ("0.0.0.0/0", "203.0.113.5", None, True),
        ("[::1]/128", "::1", None, True),
        ("[::1]/128", "::2", None, False),
        ("[fe80::]/10", "fe80::1234", None, True),
        ("[fe80::]/10", "febf::1", None, True),
        ("[fe80::]/10", "2001:db8::1", None, False),
        ("[fe80::]/10", "fe80::1%eth0", None, True),
        ("[2001:DB8::]/32", "2001:db8:ffff::1", None, True),
        ("[::1]", "::1", None, True),
        ("[::1]", "0:0:0:0:0:0:0:1", None, True),
        ("[::1]", "::2", None, False),
        ("[::1]/128", "127.0.0.1", None, False),
        ("127.0.0.1/32", "::1", None, False),
        ("127.0.0.1", "::ffff:127.0.0.1", None, True),
        ("127.0.0.", "::ffff:127.0.0.1", None, True),
        ("127.0.0.0/8", "::ffff:127.0.0.5", None, True),
        ("127.0.0.0/255.0.0.0", "::ffff:127.0.0.5", None, True),
        ("192.0.2.*", "192.0.2.77", None, True),
        ("192.0.2.?", "192.0.2.77", None, False),
        ("192.0.2.?", "192.0.2.7", None, True),
        ("192.0.[2].1", "192.0.2.1", None, False),  # brackets are literal, not a class
        ("*.example.com", "192.0.2.1", "ups.example.com", True),
        ("ups?.example.com", "192.0.2.1", "ups1.example.com", True),
        (".example.com", "192.0.2.1", "ups.example.com", True),
        (".example.com", "192.0.2.1", "ups.EXAMPLE.com", True),
        (".example.com", "192.0.2.1", "example.com", False),
        (".example.com", "192.0.2.1", None, False),
        ("UPS.Example.COM", "192.0.2.1", "ups.example.com", True),
        ("ups.example.com", "192.0.2.1", None, False),
        ("LOCAL", "192.0.2.1", "localbox", True),
        ("LOCAL", "192.0.2.1", "box.example.com", False),
        ("LOCAL", "192.0.2.1", None, False),
        ("UNKNOWN", "192.0.2.1", None, True),
        ("UNKNOWN", "192.0.2.1", "named", False),
        ("KNOWN", "192.0.2.1", "named", True),
        ("KNOWN", "192.0.2.1", None, False),
        ("PARANOID", "192.0.2.1", None, False),
        ("PARANOID", "192.0.2.1", "named", False),
    ],
)
def test_client_patterns(pattern: str, addr: str, name: str | None, expected: bool) -> None:
    assert only_allow(pattern).check("upsd", addr, "u", client_name=name) is expected


def test_numeric_patterns_are_not_compared_with_names() -> None:
    a = only_allow("192.0.2.")
    assert not a.check("upsd", "198.51.100.1", client_name="192.0.2.host")


def test_net_with_bits_outside_mask_never_matches() -> None:
    a = only_allow("192.0.2.5/255.255.255.0")
    assert not a.check("upsd", "192.0.2.5")
    assert any("outside the mask" in m for m in messages(a))


@pytest.mark.parametrize(
    "pattern",
    ["10.0.0.0/33", "10.0.0/8", "10.0.0.0/", "foo/8", "[::1]/129", "[nonsense]/8", "[1.2.3.4]"],
)
def test_bad_address_patterns_warn_and_never_match(pattern: str) -> None:
    a = only_allow(pattern)
    assert not a.check("upsd", "10.0.0.1") and not a.check("upsd", "::1")
    assert [d.level for d in a.diagnostics] == [Level.WARNING]
    assert a.diagnostics[0].line == 1


def test_except_lists(tmp_path: Path) -> None:
    a = access(tmp_path, "upsd : 10.0.0.0/8 EXCEPT 10.1.0.0/16 EXCEPT 10.1.2.3\n", "upsd : ALL\n")
    assert a.check("upsd", "10.9.9.9")
    assert not a.check("upsd", "10.1.9.9")
    assert a.check("upsd", "10.1.2.3")  # the exception to the exception
    assert not a.check("upsd", "192.0.2.1")
    b = access(tmp_path, "ALL EXCEPT upsd : ALL\n", "ALL : ALL\n")
    assert not b.check("upsd", "10.0.0.1") and b.check("sshd", "10.0.0.1")
    c = access(tmp_path, "upsd : ALL except 192.0.2.1, 192.0.2.2\n", "ALL : ALL\n")
    assert not c.check("upsd", "192.0.2.2") and c.check("upsd", "192.0.2.3")


def test_except_edges(tmp_path: Path) -> None:
    a = access(tmp_path, "upsd : EXCEPT 192.0.2.1\nupsd : 192.0.2.2 EXCEPT\n", "ALL : ALL\n")
    assert not a.check("upsd", "192.0.2.1")  # nothing before EXCEPT: never matches
    assert a.check("upsd", "192.0.2.2")  # nothing after EXCEPT: no exception


def test_user_patterns(tmp_path: Path) -> None:
    a = access(tmp_path, "upsd : adm*@ALL, KNOWN@[::1], UNKNOWN@10.0.0.1\n", "upsd : ALL\n")
    assert a.check("upsd", "192.0.2.1", "admin") and a.check("upsd", "192.0.2.1", "ADMIN")
    assert not a.check("upsd", "192.0.2.1", "mon")
    assert a.check("upsd", "::1", "mon")
    assert not a.check("upsd", "::1", None) and not a.check("upsd", "::1", "")
    assert a.check("upsd", "10.0.0.1", None) and not a.check("upsd", "10.0.0.1", "mon")
    b = access(tmp_path, "upsd : ALL@ALL, mon@[fe80::]/10\n", "upsd : ALL\n")
    assert b.check("upsd", "192.0.2.1", None)


def test_user_at_host_with_ipv6_net(tmp_path: Path) -> None:
    a = access(tmp_path, "upsd : mon@[fe80::]/10 admin@.example.com\n", "upsd : ALL\n")
    assert a.check("upsd", "fe80::1", "mon") and not a.check("upsd", "fe80::1", "admin")
    assert a.check("upsd", "192.0.2.1", "admin", client_name="ups.example.com")


# -- options -----------------------------------------------------------------


def test_allow_and_deny_options_in_either_file(tmp_path: Path) -> None:
    a = access(tmp_path, "upsd : 192.0.2.1 : deny\nupsd : ALL : ALLOW\n")
    assert not a.check("upsd", "192.0.2.1") and a.check("upsd", "192.0.2.2")
    b = access(tmp_path, "", "upsd : 192.0.2.1 : allow\nupsd : ALL\n")
    assert b.check("upsd", "192.0.2.1") and not b.check("upsd", "192.0.2.2")
    assert a.diagnostics == [] and b.diagnostics == []
    assert a.allow.rules[0].options == ("deny",) and a.allow.rules[0].verdict is False


def test_ignored_options_warn(tmp_path: Path) -> None:
    allow = (
        "upsd : 192.0.2.1 : severity auth.info : spawn (/bin/echo %a) & : setenv X y"
        " : nice 5 : keepalive : linger 3 : rfc931 : umask 022 : user nut : banners /etc/b"
        " : allow\n"
    )
    a = access(tmp_path, allow)
    assert a.check("upsd", "192.0.2.1")
    assert all(d.level is Level.WARNING and d.line == 1 for d in a.diagnostics)
    text = "\n".join(messages(a))
    for name in ("severity", "spawn", "setenv", "nice", "keepalive", "linger", "rfc931"):
        assert f"'{name}' is ignored" in text
    assert "command is not run" in text
    assert a.allow.rules[0].options[1] == "spawn (/bin/echo %a) &"


def test_ignored_options_keep_the_file_verdict(tmp_path: Path) -> None:
    a = access(tmp_path, "", "upsd : 192.0.2.1 : severity warning\n")
    assert not a.check("upsd", "192.0.2.1") and a.check("upsd", "192.0.2.2")


def test_twist_denies_like_libwrap_in_a_daemon(tmp_path: Path) -> None:
    a = access(tmp_path, "upsd : ALL : twist /bin/echo no\n")
    assert not a.check("upsd", "192.0.2.1")
    assert "twist" in messages(a)[0]


@pytest.mark.parametrize(
    "options",
    [
        "bogus",
        "allow : deny",
        "allow yes",
        "spawn",
        "keepalive 1",
        "umask 999",
        "linger -1",
        "severity auth.loud",
        "rfc931 0",
        "",
        " ",
        "allow :: deny",
    ],
)
def test_option_errors_deny_when_the_rule_matches(tmp_path: Path, options: str) -> None:
    a = access(tmp_path, f"upsd : 192.0.2.1 : {options}\nupsd : ALL\n")
    assert not a.check("upsd", "192.0.2.1")
    assert a.check("upsd", "192.0.2.2")
    assert [d.level for d in a.diagnostics] == [Level.ERROR]
    assert "denies access" in messages(a)[0] and a.diagnostics[0].line == 1


def test_trailing_colon_is_an_empty_option(tmp_path: Path) -> None:
    a = access(tmp_path, "upsd : 192.0.2.1 :\nupsd : ALL\n")
    assert not a.check("upsd", "192.0.2.1") and a.check("upsd", "192.0.2.2")
    assert "empty option" in messages(a)[0]


def test_unbalanced_bracket_warns() -> None:
    af = parse_access_file("allow", b"upsd : [::1 : allow\n")
    assert af.rules[0].options == () and "unbalanced" in messages(af)[0]


def test_escaped_colon_in_option(tmp_path: Path) -> None:
    a = access(tmp_path, "upsd : ALL : spawn echo a\\:b : allow\n")
    assert a.allow.rules[0].options == ("spawn echo a:b", "allow")
    assert a.check("upsd", "192.0.2.1")


# -- file syntax -------------------------------------------------------------


def test_malformed_lines_are_reported_and_skipped() -> None:
    af = parse_access_file(
        "/etc/hosts.allow",
        b"upsd ALL\n : ALL\nupsd :\nupsd : , \nupsd : 192.0.2.1\n",
    )
    assert [(d.level, d.line) for d in af.diagnostics] == [(Level.ERROR, n) for n in (1, 2, 3, 4)]
    msgs = messages(af)
    assert msgs[0].startswith("/etc/hosts.allow:1: error: missing ':' separator")
    assert "expected 'daemon_list : client_list [: option ...]'" in msgs[0]
    assert "empty daemon list" in msgs[1] and "empty client list" in msgs[2]
    assert [r.lineno for r in af.rules] == [5]


def test_comments_blank_lines_and_continuations(tmp_path: Path) -> None:
    a = access(
        tmp_path,
        "# upsd : 192.0.2.1 : deny\n\n   \t\nup\\\nsd : 192.0.2.1, \\\n  192.0.2.2\nupsd : 192.0.2.3\n",
        "upsd : ALL\n",
    )
    assert a.check("upsd", "192.0.2.1") and a.check("upsd", "192.0.2.2")
    assert a.check("upsd", "192.0.2.3") and not a.check("upsd", "192.0.2.4")
    assert [r.lineno for r in a.allow.rules] == [4, 7]
    assert a.diagnostics == []


def test_comment_continues_with_backslash(tmp_path: Path) -> None:
    a = access(tmp_path, "# a comment \\\nupsd : ALL\n", "upsd : ALL\n")
    assert a.allow.rules == [] and not a.check("upsd", "192.0.2.1")


def test_hash_only_comments_in_first_column(tmp_path: Path) -> None:
    a = access(tmp_path, "upsd : 192.0.2.1 # office\n  # upsd : ALL\n", "upsd : ALL\n")
    # as with libwrap the indented line is a rule and '#' is just another word
    assert a.check("upsd", "192.0.2.99")
    assert [d.line for d in a.diagnostics] == [1, 2]
    assert all("first column" in m for m in messages(a))


def test_last_line_without_newline_is_ignored(tmp_path: Path) -> None:
    a = access(tmp_path, "", "upsd : 192.0.2.1\nupsd : ALL")
    assert not a.check("upsd", "192.0.2.1") and a.check("upsd", "192.0.2.2")
    assert messages(a) == [
        f"{tmp_path / 'hosts.deny'}:2: error: "
        "no newline at the end of the file: libwrap ignores this line"
    ]
    assert parse_access_file("x", b"upsd : ALL\n# end").diagnostics == []


def test_overlong_and_nul_lines(tmp_path: Path) -> None:
    long_rule = "upsd : " + " ".join(f"10.0.{i // 250}.{i % 250}" for i in range(300)) + "\n"
    af = parse_access_file("deny", long_rule.encode() + b"upsd : 10\x00.0.0.1\nupsd : 1.2.3.4\n")
    assert [(d.line, d.level) for d in af.diagnostics] == [(1, Level.ERROR), (2, Level.ERROR)]
    assert [r.lineno for r in af.rules] == [3]


def test_ipv6_colons_stay_inside_brackets() -> None:
    af = parse_access_file("allow", b"upsd : [fe80::1] [2001:db8::]/32 : deny\n")
    assert af.diagnostics == [] and af.rules[0].verdict is False
    assert [p.text for p in af.rules[0].clients.segments[0]] == ["[fe80::1]", "[2001:db8::]/32"]


def test_netgroups_never_match() -> None:
    a = only_allow("@upsadmins")
    assert not a.check("upsd", "192.0.2.1", client_name="host")
    assert "netgroup" in messages(a)[0]


# -- pattern files -----------------------------------------------------------


def test_file_patterns_are_read_at_load(tmp_path: Path) -> None:
    nets = tmp_path / "trusted"
    nets.write_text("192.0.2.0/24\n[2001:db8::]/32  198.51.100.7\n\t.example.com\n")
    a = access(tmp_path, f"upsd : {nets}\n", "upsd : ALL\n")
    assert a.check("upsd", "192.0.2.5") and a.check("upsd", "2001:db8::7")
    assert a.check("upsd", "198.51.100.7") and a.check("upsd", "::ffff:198.51.100.7")
    assert a.check("upsd", "203.0.113.1", client_name="ups.example.com")
    assert not a.check("upsd", "198.51.100.1")
    nets.unlink()
    assert a.check("upsd", "192.0.2.5")  # check() does not go back to the file
    assert not a.reload().check("upsd", "192.0.2.5")


def test_file_patterns_nest_and_combine_with_users(tmp_path: Path) -> None:
    (tmp_path / "inner").write_text("10.0.0.0/8\n")
    (tmp_path / "outer").write_text(f"{tmp_path / 'inner'}\n192.0.2.1\n")
    a = access(tmp_path, f"upsd : admin@{tmp_path / 'outer'}\n", "upsd : ALL\n")
    assert a.check("upsd", "10.1.1.1", "admin") and a.check("upsd", "192.0.2.1", "admin")
    assert not a.check("upsd", "10.1.1.1", "mon")


def test_missing_and_looping_pattern_files(tmp_path: Path) -> None:
    loop = tmp_path / "loop"
    loop.write_text(f"{loop}\n192.0.2.1\n")
    a = access(tmp_path, f"upsd : {tmp_path / 'absent'}, {tmp_path}, {loop}\n", "upsd : ALL\n")
    assert not a.check("upsd", "10.0.0.1") and a.check("upsd", "192.0.2.1")
    text = "\n".join(messages(a))
    assert "does not exist" in text and "not a regular file" in text and "itself" in text


# -- loading -----------------------------------------------------------------


def test_load_missing_file_is_empty(tmp_path: Path) -> None:
    af = load_access_file(str(tmp_path / "nope"))
    assert af.rules == [] and list(af.diagnostics) == [] and af.path == str(tmp_path / "nope")


def test_unreadable_file_is_empty_with_an_error(tmp_path: Path) -> None:
    af = load_access_file(str(tmp_path))
    assert af.rules == [] and af.diagnostics[0].level is Level.ERROR


def test_reload_rereads_the_same_paths(tmp_path: Path) -> None:
    a = access(tmp_path, "", "upsd : ALL\n")
    assert not a.check("upsd", "192.0.2.1")
    (tmp_path / "hosts.allow").write_text("upsd : 192.0.2.1\n")
    b = a.reload()
    assert b is not a and b.check("upsd", "192.0.2.1") and not a.check("upsd", "192.0.2.1")


def test_from_files_collects_both_files_diagnostics() -> None:
    allow = parse_access_file("hosts.allow", b"bad line\n")
    deny = parse_access_file("hosts.deny", b"upsd : ALL : spawn echo\n")
    a = HostsAccess.from_files(allow, deny)
    assert [(d.path, d.level) for d in a.diagnostics] == [
        ("hosts.allow", Level.ERROR),
        ("hosts.deny", Level.WARNING),
    ]
    assert not a.check("upsd", "192.0.2.1")


def test_check_does_no_io(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "list").write_text("192.0.2.1\n")
    a = access(tmp_path, f"upsd : {tmp_path / 'list'}\n", "upsd : ALL\n")

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("I/O during check()")

    monkeypatch.setattr("builtins.open", refuse)
    monkeypatch.setattr(os, "stat", refuse)
    assert a.check("upsd", "192.0.2.1") and not a.check("upsd", "192.0.2.2")


# -- robustness --------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600))
def test_parse_never_raises(data: bytes) -> None:
    af = parse_access_file("fuzz", data)
    for d in af.diagnostics:
        assert d.path == "fuzz" and str(d)


_words = st.sampled_from(
    [
        "upsd",
        "ALL",
        "EXCEPT",
        "LOCAL",
        "KNOWN",
        "UNKNOWN",
        "PARANOID",
        "admin@",
        "@",
        "10.0.0.0/8",
        "[::1]/128",
        "[fe80::]/10",
        "192.168.",
        ".lan",
        "*",
        "?",
        ":",
        ",",
        " ",
        "\\\n",
        "\n",
        "#",
        "allow",
        "deny",
        "spawn x",
        "[",
        "]",
        "/",
        "=",
        "\\:",
    ]
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(_words, max_size=40).map("".join),
    st.text(max_size=30),
    st.one_of(st.none(), st.text(max_size=15)),
    st.one_of(st.none(), st.text(max_size=15)),
    st.one_of(st.none(), st.text(max_size=15)),
    st.sampled_from(["127.0.0.1", "::1", "::ffff:10.0.0.1", "fe80::1%lo", "", "unknown"]),
)
def test_check_never_raises(
    rules: str,
    addr: str,
    user: str | None,
    name: str | None,
    server: str | None,
    real_addr: str,
) -> None:
    af = parse_access_file("fuzz", rules.encode("utf-8", "surrogatepass"))
    a = HostsAccess.from_files(af, af)
    for client in (addr, real_addr):
        assert isinstance(a.check("upsd", client, user, name, server), bool)
        assert isinstance(a.check(addr, client, user, name, server), bool)
