"""hosts.allow / hosts.deny with libwrap's semantics."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nutwist.config.tcpwrap import HostsAccess, load_access_file, parse_access_file


def access(tmp_path: Path, allow: str, deny: str) -> HostsAccess:
    (tmp_path / "allow").write_text(allow)
    (tmp_path / "deny").write_text(deny)
    return HostsAccess(str(tmp_path / "allow"), str(tmp_path / "deny"))


def test_nut_manual_example(tmp_path: Path) -> None:
    a = access(tmp_path, "upsd : admin@127.0.0.1/32\n", "upsd : ALL\n")
    assert a.check("upsd", "127.0.0.1", "admin")
    assert not a.check("upsd", "127.0.0.1", "monuser")
    assert not a.check("upsd", "10.0.0.1", "admin")
    assert a.check("sshd", "10.0.0.1", "admin")  # another daemon's rules do not apply


def test_missing_files_allow_everything(tmp_path: Path) -> None:
    a = HostsAccess(str(tmp_path / "none1"), str(tmp_path / "none2"))
    assert a.check("upsd", "192.0.2.1", "x") and a.diagnostics == []


@pytest.mark.parametrize(
    ("pattern", "addr", "name", "expected"),
    [
        ("ALL", "192.0.2.9", None, True),
        ("192.0.2.", "192.0.2.9", None, True),
        ("192.0.2.", "192.0.22.9", None, False),
        ("192.0.2.0/255.255.255.0", "192.0.2.200", None, True),
        ("192.0.2.0/255.255.255.0", "192.0.3.1", None, False),
        ("10.0.0.0/8", "10.200.1.1", None, True),
        ("[::1]/128", "::1", None, True),
        ("[fe80::]/10", "fe80::1234", None, True),
        ("[fe80::]/10", "2001:db8::1", None, False),
        ("[::1]", "::1", None, True),
        ("127.0.0.1", "::ffff:127.0.0.1", None, True),
        ("127.0.0.0/8", "::ffff:127.0.0.5", None, True),
        ("192.0.2.*", "192.0.2.77", None, True),
        ("192.0.2.?", "192.0.2.77", None, False),
        (".example.com", "192.0.2.1", "ups.example.com", True),
        (".example.com", "192.0.2.1", None, False),
        ("LOCAL", "192.0.2.1", "localbox", True),
        ("LOCAL", "192.0.2.1", "box.example.com", False),
        ("UNKNOWN", "192.0.2.1", None, True),
        ("KNOWN", "192.0.2.1", "named", True),
        ("PARANOID", "192.0.2.1", None, False),
        ("UPS.Example.COM", "192.0.2.1", "ups.example.com", True),
    ],
)
def test_client_patterns(
    tmp_path: Path, pattern: str, addr: str, name: str | None, expected: bool
) -> None:
    a = access(tmp_path, f"upsd : {pattern}\n", "ALL : ALL\n")
    assert a.check("upsd", addr, "u", client_name=name) is expected


def test_except_nesting(tmp_path: Path) -> None:
    a = access(tmp_path, "upsd : 10.0.0.0/8 EXCEPT 10.1.0.0/16 EXCEPT 10.1.2.3\n", "upsd : ALL\n")
    assert a.check("upsd", "10.9.9.9")
    assert not a.check("upsd", "10.1.9.9")
    assert a.check("upsd", "10.1.2.3")
    b = access(tmp_path, "ALL EXCEPT upsd : ALL\n", "ALL : ALL\n")
    assert not b.check("upsd", "10.0.0.1") and b.check("sshd", "10.0.0.1")


def test_user_patterns(tmp_path: Path) -> None:
    a = access(tmp_path, "upsd : adm*@ALL, KNOWN@[::1]\n", "upsd : ALL\n")
    assert a.check("upsd", "192.0.2.1", "admin")
    assert not a.check("upsd", "192.0.2.1", "mon")
    assert a.check("upsd", "::1", "mon")
    assert not a.check("upsd", "::1", None)


def test_options_allow_and_deny(tmp_path: Path) -> None:
    a = access(tmp_path, "upsd : 192.0.2.1 : deny\nupsd : ALL : severity auth.info : allow\n", "")
    assert not a.check("upsd", "192.0.2.1") and a.check("upsd", "192.0.2.2")
    b = access(tmp_path, "", "upsd : 192.0.2.1 : allow\nupsd : ALL\n")
    assert b.check("upsd", "192.0.2.1") and not b.check("upsd", "192.0.2.2")
    assert any("severity" in str(d) and "ignored" in str(d) for d in a.diagnostics)


def test_file_patterns_comments_continuations(tmp_path: Path) -> None:
    (tmp_path / "nets").write_text("# trusted\n192.0.2.0/24\n[2001:db8::]/32\n")
    a = access(
        tmp_path,
        f"# comment\nupsd : \\\n  {tmp_path / 'nets'}\n",
        "upsd : ALL\n",
    )
    assert a.check("upsd", "192.0.2.5") and a.check("upsd", "2001:db8::7")
    assert not a.check("upsd", "198.51.100.1")


def test_malformed_lines_reported(tmp_path: Path) -> None:
    af = parse_access_file(
        "hosts.allow", b"upsd ALL\n : ALL\nupsd :\nupsd : 10.0.0.0/99\nupsd : 1.2.3.4\n"
    )
    msgs = [str(d) for d in af.diagnostics]
    assert msgs[:3] == [
        "hosts.allow:1: error: expected 'daemon_list : client_list [: option ...]'",
        "hosts.allow:2: error: expected 'daemon_list : client_list [: option ...]' (a list is empty)",
        "hosts.allow:3: error: expected 'daemon_list : client_list [: option ...]' (a list is empty)",
    ]
    assert msgs[3].startswith("hosts.allow:4: warning: bad network pattern")
    assert [r.lineno for r in af.rules] == [4, 5]


def test_load_missing(tmp_path: Path) -> None:
    af = load_access_file(str(tmp_path / "nope"))
    assert af.rules == [] and list(af.diagnostics) == []


@settings(max_examples=200)
@given(st.binary(max_size=800), st.text(max_size=40), st.text(max_size=20))
def test_arbitrary_input_never_raises(data: bytes, addr: str, user: str) -> None:
    af = parse_access_file("fuzz", data)
    HostsAccess.from_files(af, af).check("upsd", addr, user)
