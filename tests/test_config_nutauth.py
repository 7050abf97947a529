"""nutauth.conf model: where it is found, its syntax, sections, includes and safety."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nutwist.config import nutauth
from nutwist.config.base import Source
from nutwist.config.nutauth import Credentials, NutAuth, NutAuthError, Section


def write(path: Path, text: str | bytes, mode: int = 0o600) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    path.chmod(mode)
    return str(path)


def load_text(tmp_path: Path, text: str, name: str = "nutauth.conf") -> NutAuth:
    return nutauth.load(write(tmp_path / name, text))


def refused(tmp_path: Path, text: str, name: str = "nutauth.conf") -> str:
    with pytest.raises(NutAuthError) as info:
        load_text(tmp_path, text, name)
    message = str(info.value)
    assert "\n" not in message
    return message


def parse(text: str, path: str = "nutauth.conf") -> NutAuth:
    return nutauth.parse(Source.from_text(text, path))


def warnings(auth: NutAuth) -> list[str]:
    return [str(d) for d in auth.warnings]


# --- find: -A and the search order ------------------------------------------------


class TestFind:
    def env(self, tmp_path: Path, **extra: str) -> dict[str, str]:
        return {"NUT_CONFPATH": str(tmp_path / "etc"), **extra}

    def test_none_reads_nothing(self, tmp_path: Path) -> None:
        write(tmp_path / "home" / ".nutauth.conf", "")
        assert nutauth.find("none", self.env(tmp_path), str(tmp_path / "home")) is None

    def test_explicit_path_is_returned_even_if_missing(self, tmp_path: Path) -> None:
        missing = str(tmp_path / "nope.conf")
        assert nutauth.find(missing, {}, str(tmp_path)) == missing
        # and load then says so, on one line
        with pytest.raises(NutAuthError, match=r"nope\.conf: cannot read: no such file"):
            nutauth.load(missing)

    def test_explicit_path_wins_over_the_search(self, tmp_path: Path) -> None:
        home = tmp_path / "home"
        write(home / ".nutauth.conf", "")
        mine = write(tmp_path / "mine.conf", "")
        env = self.env(tmp_path, NUT_AUTHCONF_FILE=write(tmp_path / "env.conf", ""))
        assert nutauth.find(mine, env, str(home)) == mine

    @pytest.mark.parametrize("option", [None, "default"])
    def test_search_order(self, tmp_path: Path, option: str | None) -> None:
        home = tmp_path / "home"
        env_file = tmp_path / "envfile.conf"
        env_dir = tmp_path / "envdir"
        env = self.env(tmp_path, NUT_AUTHCONF_FILE=str(env_file), NUT_AUTHCONF_PATH=str(env_dir))
        places = [
            env_file,
            env_dir / "nutauth.conf",
            home / ".config" / "nut" / "nutauth.conf",
            home / ".nutauth.conf",
            tmp_path / "etc" / "nutauth.conf",
        ]
        assert nutauth.search_order(env, str(home)) == [str(p) for p in places]
        assert nutauth.find(option, env, str(home)) is None
        # create them from the last to the first: each new one takes over
        for place in reversed(places):
            write(place, "")
            assert nutauth.find(option, env, str(home)) == str(place)

    def test_only_existing_regular_files_count(self, tmp_path: Path) -> None:
        home = tmp_path / "home"
        (home / ".config" / "nut" / "nutauth.conf").mkdir(parents=True)  # a directory
        last = write(tmp_path / "etc" / "nutauth.conf", "")
        env = self.env(tmp_path, NUT_AUTHCONF_FILE=str(tmp_path / "missing.conf"))
        assert nutauth.find(None, env, str(home)) == last

    def test_empty_variables_count_as_unset(self, tmp_path: Path) -> None:
        env = self.env(tmp_path, NUT_AUTHCONF_FILE="", NUT_AUTHCONF_PATH="")
        order = nutauth.search_order(env, str(tmp_path / "home"))
        assert order[0] == str(tmp_path / "home" / ".config" / "nut" / "nutauth.conf")
        assert "" not in order and "nutauth.conf" not in order

    def test_home_comes_from_the_environment(self, tmp_path: Path) -> None:
        env = self.env(tmp_path, HOME=str(tmp_path / "h"))
        mine = write(tmp_path / "h" / ".nutauth.conf", "")
        assert nutauth.find(None, env) == mine

    def test_confdir_defaults_to_etc_nut(self) -> None:
        order = nutauth.search_order({}, "/home/x")
        assert order[-1] == "/etc/nut/nutauth.conf"
        assert order[:2] == ["/home/x/.config/nut/nutauth.conf", "/home/x/.nutauth.conf"]


# --- permissions and file kinds -------------------------------------------------------


class TestPermissions:
    def test_owner_only_is_accepted(self, tmp_path: Path) -> None:
        for mode in (0o600, 0o400, 0o700, 0o620, 0o602):
            auth = nutauth.load(write(tmp_path / f"m{mode:o}.conf", "user = u\n", mode))
            assert auth.defaults.username == "u"

    @pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o666, 0o744])
    def test_readable_by_others_is_refused(self, tmp_path: Path, mode: int) -> None:
        path = write(tmp_path / "nutauth.conf", "pass = secret\n", mode)
        with pytest.raises(NutAuthError) as info:
            nutauth.load(path)
        message = str(info.value)
        assert message.startswith(f"{path}: ")
        assert "must not be readable by others (chmod 600)" in message
        assert f"{mode:04o}" in message
        assert "secret" not in message and "\n" not in message

    def test_directory_is_refused(self, tmp_path: Path) -> None:
        with pytest.raises(NutAuthError, match="a directory"):
            nutauth.load(str(tmp_path))

    def test_fifo_is_refused_without_blocking(self, tmp_path: Path) -> None:
        fifo = tmp_path / "fifo"
        os.mkfifo(fifo, 0o600)
        with pytest.raises(NutAuthError, match="not a regular file"):
            nutauth.load(str(fifo))

    def test_unreadable_path(self, tmp_path: Path) -> None:
        path = write(tmp_path / "plain", "")
        with pytest.raises(
            NutAuthError, match=r"plain/nutauth\.conf: cannot read: Not a directory"
        ):
            nutauth.load(os.path.join(path, "nutauth.conf"))

    def test_nul_in_the_name(self) -> None:
        with pytest.raises(NutAuthError, match="not a file name"):
            nutauth.load("a\0b")

    def test_too_large(self, tmp_path: Path) -> None:
        path = write(tmp_path / "nutauth.conf", b"#" * (nutauth.MAX_FILE_SIZE + 1))
        with pytest.raises(NutAuthError, match="too large"):
            nutauth.load(path)


# --- keys and values --------------------------------------------------------------------


class TestSyntax:
    def test_every_key(self, tmp_path: Path) -> None:
        auth = load_text(
            tmp_path,
            "user = mon\n"
            "pass = pw\n"
            "CERTPATH = /etc/ssl/certs\n"
            "CERTFILE = /etc/nut/client.pem\n"
            "CERTHOST = ups.example\n"
            "CERTVERIFY = on\n"
            "FORCESSL = yes\n",
        )
        assert auth.defaults == Credentials(
            username="mon",
            password="pw",
            certpath="/etc/ssl/certs",
            certfile="/etc/nut/client.pem",
            certhost="ups.example",
            certverify=True,
            forcessl=True,
        )
        assert auth.diagnostics == []
        assert auth.sections == {}

    @pytest.mark.parametrize(
        "line",
        ["username = a", "USERNAME=a", "User a", "user\t=\ta", 'user = "a"', "user =a", 'UsEr "a"'],
    )
    def test_line_forms_and_key_case(self, line: str) -> None:
        auth = parse(line + "\n")
        assert auth.diagnostics == []
        assert auth.defaults.username == "a"

    @pytest.mark.parametrize("key", ["pass", "password", "PASS", "Password"])
    def test_password_aliases(self, key: str) -> None:
        assert parse(f"{key} = s3cret\n").defaults.password == "s3cret"

    def test_quoting_with_the_tokenizer(self) -> None:
        auth = parse(
            'pass = "two words # not a comment"\n'  # '#' in quotes: NUT 2.8.0 refuses it
            "user = a\\ b  # a comment\n"
            'certhost = "x\\"y"\n'
            'certfile = "/a b/c\\\\d.pem"\n'
        )
        errors = [str(d) for d in auth.errors]
        assert errors == ["nutauth.conf:1: error: Unbalanced word due to unescaped # in quotes"]
        assert auth.defaults.password is None
        assert auth.defaults.username == "a b"
        assert auth.defaults.certhost == 'x"y'
        assert auth.defaults.certfile == "/a b/c\\d.pem"

    def test_escaped_hash_and_spaces_in_a_password(self) -> None:
        auth = parse('password = "pa ss\\#word"\nuser = u\\#1\n')
        assert auth.diagnostics == []
        assert auth.defaults.password == "pa ss#word"
        assert auth.defaults.username == "u#1"

    def test_continued_line(self) -> None:
        auth = parse("certhost = \\\nups.example\nuser = u\n")
        assert auth.defaults.certhost == "ups.example"
        assert auth.defaults.username == "u"

    def test_empty_password_is_allowed(self) -> None:
        auth = parse('pass = ""\n')
        assert auth.diagnostics == [] and auth.defaults.password == ""

    @pytest.mark.parametrize(
        ("text", "expect"),
        [
            ("user =\n", "nutauth.conf:1: user: expected 'user = <value>' (no value given)"),
            ("CERTHOST\n", "CERTHOST: expected 'CERTHOST = <value>' (no value given)"),
            ("\n\nuser = a b\n", "nutauth.conf:3: user: expected 'user = <value>' (quote"),
            ('user = ""\n', "nutauth.conf:1: user: the user name is empty"),
            ('certfile = ""\n', "certfile: expected a path, got an empty value"),
            ('certpath ""\n', "certpath: expected a path"),
            ('certhost = ""\n', "certhost: expected a host name"),
            ('user = "open\n', "nutauth.conf:1: unterminated quoted word at end of file"),
        ],
    )
    def test_bad_values(self, tmp_path: Path, text: str, expect: str) -> None:
        assert expect in refused(tmp_path, text)

    def test_a_bad_password_line_never_shows_the_password(self, tmp_path: Path) -> None:
        message = refused(tmp_path, "\npassword = hunter2 hunter3\n")
        assert message == (
            f"{tmp_path}/nutauth.conf:2: password: expected 'password = <value>' "
            "(quote a value with spaces)"
        )

    def test_unknown_keys_are_warnings(self, tmp_path: Path) -> None:
        auth = load_text(tmp_path, "user = a\nFROBNICATE = 1\n[@h]\nbogus x\n")
        assert [(d.line, d.message) for d in auth.diagnostics] == [
            (2, "unknown key 'FROBNICATE' (ignored)"),
            (4, "unknown key 'bogus' (ignored)"),
        ]
        assert auth.defaults.username == "a"

    def test_the_parser_prints_nothing(self, capsys: pytest.CaptureFixture[str]) -> None:
        parse("unknown = 1\nuser = a b\n[bad\n")
        assert capsys.readouterr() == ("", "")

    def test_dropped_bytes_are_warnings(self) -> None:
        auth = parse("user = a\x01b\n")
        assert auth.defaults.username == "ab"
        assert "ignored byte(s) 0x01" in warnings(auth)[0]

    def test_key_set_twice_warns_and_the_later_wins(self) -> None:
        auth = parse("pass = one\npass = two\n[@h]\npass = x\n")
        assert auth.defaults.password == "two"
        assert [(d.line, d.message) for d in auth.diagnostics] == [
            (2, "pass is set again in the global settings (first at nutauth.conf:1); "
                "this value is used"),
        ]  # fmt: skip

    def test_relative_cert_paths_follow_the_file(self, tmp_path: Path) -> None:
        auth = load_text(
            tmp_path,
            "certfile = client.pem\ncertpath = ca/\n[@h]\ncertfile = /abs/c.pem\n",
            "sub/nutauth.conf",
        )
        assert auth.defaults.certfile == str(tmp_path / "sub" / "client.pem")
        assert auth.defaults.certpath == f"{tmp_path}/sub/ca/"
        assert auth.sections[Section(None, "h", None)].certfile == "/abs/c.pem"

    def test_credentials_repr_hides_the_password(self) -> None:
        creds = parse("user = u\npass = hunter2\n").lookup(None, "h", 3493)
        assert creds.password == "hunter2"
        assert "hunter2" not in repr(creds)


class TestBooleans:
    @pytest.mark.parametrize("word", ["on", "yes", "1", "ON", "Yes", "YES"])
    @pytest.mark.parametrize("key", ["CERTVERIFY", "forcessl"])
    def test_true(self, key: str, word: str) -> None:
        auth = parse(f"{key} = {word}\n")
        assert auth.diagnostics == []
        assert getattr(auth.defaults, key.lower()) is True

    @pytest.mark.parametrize("word", ["off", "no", "0", "OFF", "No"])
    @pytest.mark.parametrize("key", ["certverify", "FORCESSL"])
    def test_false(self, key: str, word: str) -> None:
        auth = parse(f"{key} {word}\n")
        assert auth.diagnostics == []
        assert getattr(auth.defaults, key.lower()) is False

    @pytest.mark.parametrize("word", ["true", "false", "2", "-1", "y", "enabled", '""'])
    def test_anything_else_is_an_error_with_its_line(self, tmp_path: Path, word: str) -> None:
        message = refused(tmp_path, f"# comment\n\nCERTVERIFY = {word}\n")
        assert message.startswith(f"{tmp_path}/nutauth.conf:3: CERTVERIFY: expected on, yes or 1")

    def test_unset_is_none(self) -> None:
        creds = parse("").lookup(None, "h", 3493)
        assert creds.certverify is None and creds.forcessl is None


class TestNSS:
    @pytest.mark.parametrize(
        "line",
        [
            'CERTIDENT_NAME = "my cert"',
            "certident_pass = dbpass",
            'CERTIDENT "name" "pass"',
            "SSLBACKEND = nss",
            "sslbackend NSS",
        ],
    )
    def test_nss_settings_are_refused_with_how_to_convert(self, tmp_path: Path, line: str) -> None:
        message = refused(tmp_path, f"user = u\n{line}\n")
        assert message.startswith(f"{tmp_path}/nutauth.conf:2: ")
        assert "NSS" in message
        assert "pk12util" in message and "openssl pkcs12" in message and "CERTFILE" in message
        assert "dbpass" not in message

    def test_nss_refused_inside_a_section(self, tmp_path: Path) -> None:
        assert ":3: CERTIDENT_PASS is an NSS" in refused(
            tmp_path, "[@h]\nuser = u\nCERTIDENT_PASS = x\n"
        )

    def test_sslbackend_openssl_is_accepted(self) -> None:
        auth = parse("SSLBACKEND = openssl\nsslbackend OpenSSL\n")
        assert auth.diagnostics == []

    def test_other_backend_is_an_error(self, tmp_path: Path) -> None:
        assert "SSLBACKEND: expected 'openssl', got 'gnutls'" in refused(
            tmp_path, "SSLBACKEND gnutls\n"
        )

    @pytest.mark.parametrize("db", ["cert9.db", "cert8.db"])
    def test_certpath_nss_database_is_refused(self, tmp_path: Path, db: str) -> None:
        (tmp_path / "nssdb").mkdir()
        (tmp_path / "nssdb" / db).write_bytes(b"")
        message = refused(tmp_path, "certpath = nssdb\n")
        assert ":1: CERTPATH 'nssdb' is an NSS database" in message
        assert "pk12util" in message

    def test_certpath_pem_directory_is_fine(self, tmp_path: Path) -> None:
        (tmp_path / "ca").mkdir()
        (tmp_path / "ca" / "abcd1234.0").write_bytes(b"")
        auth = load_text(tmp_path, "certpath = ca\n")
        assert auth.defaults.certpath == str(tmp_path / "ca")


# --- sections ---------------------------------------------------------------------------


class TestSectionHeaders:
    @pytest.mark.parametrize(
        ("header", "section"),
        [
            ("[ups1]", Section(None, "ups1", None, False)),
            ("[UPS1.Example]", Section(None, "ups1.example", None, False)),
            ("[@ups1]", Section(None, "ups1", None)),
            ("[@ups1:3494]", Section(None, "ups1", 3494)),
            ("[admin@ups1]", Section("admin", "ups1", None)),
            ("[admin@ups1:3494]", Section("admin", "ups1", 3494)),
            ("[Admin@Ups1:1]", Section("Admin", "ups1", 1)),
            ("[a@b@ups1]", Section("a@b", "ups1", None)),
            ("[@[::1]:3493]", Section(None, "::1", 3493)),
            ("[@[::1]]", Section(None, "::1", None)),
            ("[@::1]", Section(None, "::1", None)),
            ("[admin@fe80::1]", Section("admin", "fe80::1", None)),
            ("[::1]", Section(None, "::1", None, False)),
            ("[[::1]]", Section(None, "::1", None, False)),
            ('"[@quoted]"', Section(None, "quoted", None)),
        ],
    )
    def test_forms(self, header: str, section: Section) -> None:
        auth = parse(f"{header}\ncerthost = x\n")
        assert auth.diagnostics == []
        assert list(auth.sections) == [section]
        assert auth.sections[section].certhost == "x"

    @pytest.mark.parametrize(
        "header",
        [
            "[]",
            "[@]",
            "[admin@]",
            "[@host:0]",
            "[@host:65536]",
            "[@host:http]",
            "[@host:]",
            "[@[::1]x]",
            "[@[::1]",
            "[@host",
            "[",
            "[@a]b]",
        ],
    )
    def test_bad_headers(self, tmp_path: Path, header: str) -> None:
        message = refused(tmp_path, f"user = u\n{header}\n")
        assert message.startswith(f"{tmp_path}/nutauth.conf:2: bad section header")

    def test_host_port_without_at_asks_for_the_at_form(self, tmp_path: Path) -> None:
        message = refused(tmp_path, "[ups1:3493]\n")
        assert message.endswith("write [@ups1:3493] for a host and port")

    def test_header_must_stand_alone(self, tmp_path: Path) -> None:
        message = refused(tmp_path, "[ @host ]\n")
        assert ":1: a section header stands alone on its line" in message

    def test_keys_after_a_bad_header_go_nowhere(self) -> None:
        auth = parse("user = g\n[@good]\ncerthost = a\n[bad\ncerthost = b\nuser = x\n")
        assert len(auth.errors) == 1
        assert auth.defaults.username == "g"
        assert auth.sections == {Section(None, "good", None): Credentials(certhost="a")}

    def test_a_header_seen_twice_continues_its_section(self) -> None:
        auth = parse("[@h]\nuser = a\n[@x]\n[@H]\npass = p\n")
        creds = auth.sections[Section(None, "h", None)]
        assert (creds.username, creds.password) == ("a", "p")
        assert auth.diagnostics == []

    def test_user_key_in_a_user_section_is_ignored(self) -> None:
        auth = parse("[admin@h]\nuser = bob\npass = p\n")
        assert [(d.line, d.message) for d in auth.warnings] == [
            (2, "user in section [admin@h] is ignored: the section's header names the user")
        ]
        assert auth.lookup("admin", "h", 3493).username == "admin"
        assert auth.lookup("admin", "h", 3493).password == "p"

    def test_section_str(self) -> None:
        assert str(Section("a", "h", 1)) == "[a@h:1]"
        assert str(Section(None, "h", None)) == "[@h]"
        assert str(Section(None, "h", None, False)) == "[h]"
        assert str(Section(None, "::1", 3493)) == "[@[::1]:3493]"


# --- lookup and precedence --------------------------------------------------------------

LAYERS = {
    "global": "",
    "[h]": "[h]\n",
    "[@h]": "[@h]\n",
    "[@h:3493]": "[@h:3493]\n",
    "[admin@h]": "[admin@h]\n",
    "[admin@h:3493]": "[admin@h:3493]\n",
}
ORDER = list(LAYERS)


def layered(names: list[str]) -> NutAuth:
    """A file where each named layer sets CERTHOST to its own name (global first)."""
    names = sorted(names, key=lambda n: n != "global")
    text = "".join(f'{LAYERS[n]}certhost = "{n}"\n' for n in names)
    auth = parse(text)
    assert auth.diagnostics == []
    return auth


class TestPrecedence:
    @pytest.mark.parametrize("top", range(len(ORDER)))
    def test_most_specific_wins(self, top: int) -> None:
        # layers up to `top` exist, written in every order: the most specific applies
        names = ORDER[: top + 1]
        for written in (names, list(reversed(names))):
            auth = layered(written)
            assert auth.lookup("admin", "h", 3493).certhost == ORDER[top]

    @pytest.mark.parametrize("missing", range(len(ORDER)))
    def test_each_layer_outranks_those_below(self, missing: int) -> None:
        names = [n for i, n in enumerate(ORDER) if i != missing]
        expect = ORDER[-1] if missing != len(ORDER) - 1 else ORDER[-2]
        assert layered(names).lookup("admin", "h", 3493).certhost == expect

    def test_other_port_skips_port_sections(self) -> None:
        auth = layered(ORDER)
        assert auth.lookup("admin", "h", 3494).certhost == "[admin@h]"
        assert auth.lookup(None, "h", 3494).certhost == "[@h]"
        assert auth.lookup(None, "h", 3493).certhost == "[@h:3493]"

    def test_other_user_skips_user_sections(self) -> None:
        auth = layered(ORDER)
        assert auth.lookup("bob", "h", 3493).certhost == "[@h:3493]"
        assert auth.lookup("Admin", "h", 3493).certhost == "[@h:3493]"  # users: exact case

    def test_other_host_gets_the_global_defaults(self) -> None:
        auth = layered(ORDER)
        assert auth.lookup("admin", "other", 3493).certhost == "global"
        assert parse("").lookup("admin", "other", 3493) == Credentials(username="admin")

    @pytest.mark.parametrize("host", ["H", "h", "[h]"])
    def test_host_compares_without_case(self, host: str) -> None:
        assert layered(ORDER).lookup("admin", host, 3493).certhost == "[admin@h:3493]"

    def test_ipv6_lookup_with_or_without_brackets(self) -> None:
        auth = parse("[@[::1]:3493]\ncerthost = six\n")
        assert auth.lookup(None, "::1", 3493).certhost == "six"
        assert auth.lookup(None, "[::1]", 3493).certhost == "six"
        assert auth.lookup(None, "::1", 3494).certhost is None

    def test_no_user_matches_no_user_section(self) -> None:
        auth = layered(ORDER)
        assert auth.lookup(None, "h", 3493).certhost == "[@h:3493]"
        assert auth.lookup(None, "h", 3493).username is None

    def test_keys_merge_across_layers(self) -> None:
        auth = parse(
            "certverify = on\ncertpath = /ca\n"
            "[@h]\ncerthost = ups.example\nforcessl = yes\n"
            "[@h:3493]\ncertverify = off\n"
            "[admin@h]\npass = adminpw\n"
            "[admin@h:3493]\ncertfile = /admin.pem\n"
        )
        assert auth.lookup("admin", "h", 3493) == Credentials(
            username="admin",
            password="adminpw",
            certpath="/ca",
            certfile="/admin.pem",
            certhost="ups.example",
            certverify=False,
            forcessl=True,
        )
        assert auth.lookup("admin", "h", 1) == Credentials(
            username="admin",
            password="adminpw",
            certpath="/ca",
            certhost="ups.example",
            certverify=True,
            forcessl=True,
        )

    def test_the_file_can_name_the_user(self) -> None:
        auth = parse(
            "user = mon\n[@h]\nuser = admin\n[admin@h]\npass = adminpw\n[mon@h]\npass = m\n"
        )
        assert auth.lookup(None, "h", 3493) == Credentials(username="admin", password="adminpw")
        assert auth.lookup(None, "elsewhere", 3493) == Credentials(username="mon")
        # the command line's user wins
        assert auth.lookup("mon", "h", 3493) == Credentials(username="mon", password="m")

    def test_a_password_stays_with_its_user(self) -> None:
        auth = parse("[@h]\nuser = mon\npass = monpw\n")
        assert auth.lookup(None, "h", 3493).password == "monpw"
        assert auth.lookup("mon", "h", 3493).password == "monpw"
        assert auth.lookup("admin", "h", 3493) == Credentials(username="admin")

    def test_a_password_given_without_a_user_is_for_anyone(self) -> None:
        auth = parse("pass = shared\n")
        assert auth.lookup("x", "h", 3493) == Credentials(username="x", password="shared")
        assert auth.lookup(None, "h", 3493) == Credentials(password="shared")

    def test_a_more_specific_user_takes_the_password_away(self) -> None:
        auth = parse("user = mon\npass = monpw\n[@h]\nuser = admin\n")
        assert auth.lookup(None, "h", 3493) == Credentials(username="admin")
        assert auth.lookup(None, "g", 3493) == Credentials(username="mon", password="monpw")

    def test_a_more_specific_password_for_the_inherited_user(self) -> None:
        auth = parse("user = mon\npass = globalpw\n[@h]\npass = hpw\n")
        assert auth.lookup(None, "h", 3493) == Credentials(username="mon", password="hpw")
        assert auth.lookup("other", "h", 3493).password is None

    def test_user_sections_override_userless_passwords(self) -> None:
        auth = parse("pass = shared\n[admin@h]\npass = adminpw\n")
        assert auth.lookup("admin", "h", 3493).password == "adminpw"
        assert auth.lookup("bob", "h", 3493).password == "shared"

    def test_matching_lists_sections_least_specific_first(self) -> None:
        auth = layered(list(reversed(ORDER)))
        assert [str(s) for s in auth.matching("admin", "h", 3493)] == ORDER[1:]


# --- INCLUDE ----------------------------------------------------------------------------


class TestInclude:
    def test_relative_to_the_including_file(self, tmp_path: Path) -> None:
        write(tmp_path / "conf" / "parts" / "a.conf", "user = fromA\nINCLUDE b.conf\n")
        write(tmp_path / "conf" / "parts" / "b.conf", "certhost = fromB\n")
        auth = load_text(tmp_path, "INCLUDE parts/a.conf\n", "conf/nutauth.conf")
        assert auth.diagnostics == []
        assert auth.defaults == Credentials(username="fromA", certhost="fromB")

    def test_absolute_path_and_key_forms(self, tmp_path: Path) -> None:
        other = write(tmp_path / "x" / "other.conf", "pass = p\n")
        auth = load_text(tmp_path, f'include = "{other}"\n')
        assert auth.defaults.password == "p"

    def test_included_lines_start_in_the_current_section(self, tmp_path: Path) -> None:
        write(tmp_path / "secret", "password = adminpw\n[@other]\ncerthost = o\n")
        auth = load_text(tmp_path, "[admin@h]\nINCLUDE secret\ncertfile = /a.pem\n")
        assert auth.diagnostics == []
        admin = auth.sections[Section("admin", "h", None)]
        # the header inside the include ended with it
        assert (admin.password, admin.certfile) == ("adminpw", "/a.pem")
        assert auth.sections[Section(None, "other", None)] == Credentials(certhost="o")
        assert auth.lookup("admin", "h", 3493).password == "adminpw"

    def test_missing_include_is_skipped_with_a_warning(self, tmp_path: Path) -> None:
        auth = load_text(tmp_path, "\nINCLUDE nope.conf\nuser = u\n")
        assert auth.defaults.username == "u"
        assert [str(d) for d in auth.diagnostics] == [
            f"{tmp_path}/nutauth.conf:2: warning: INCLUDE nope.conf: "
            f"{tmp_path}/nope.conf does not exist; skipped"
        ]

    def test_missing_include_required_is_an_error(self, tmp_path: Path) -> None:
        message = refused(tmp_path, "user = u\nINCLUDE_REQUIRED nope.conf\n")
        assert message == (
            f"{tmp_path}/nutauth.conf:2: INCLUDE_REQUIRED nope.conf: "
            f"{tmp_path}/nope.conf does not exist"
        )

    def test_include_required_present(self, tmp_path: Path) -> None:
        write(tmp_path / "r.conf", "user = r\n")
        assert load_text(tmp_path, "include_required = r.conf\n").defaults.username == "r"

    def test_self_include_is_a_loop(self, tmp_path: Path) -> None:
        message = refused(tmp_path, "INCLUDE nutauth.conf\n")
        assert ":1: INCLUDE nutauth.conf: include loop" in message

    def test_loop_through_two_files(self, tmp_path: Path) -> None:
        write(tmp_path / "a.conf", "user = a\nINCLUDE b.conf\n")
        write(tmp_path / "b.conf", "\n\nINCLUDE_REQUIRED ./a.conf\n")
        message = refused(tmp_path, "INCLUDE a.conf\n")
        a, b = (os.path.realpath(tmp_path / n) for n in ("a.conf", "b.conf"))
        assert message == (
            f"{tmp_path}/b.conf:3: INCLUDE_REQUIRED ./a.conf: include loop ({a} -> {b} -> {a})"
        )

    def test_the_same_file_twice_is_not_a_loop(self, tmp_path: Path) -> None:
        write(tmp_path / "common.conf", "certpath = /ca\n")
        write(tmp_path / "a.conf", "INCLUDE common.conf\n")
        auth = load_text(tmp_path, "INCLUDE a.conf\n[@h]\nINCLUDE common.conf\n")
        assert auth.errors == []
        assert auth.defaults.certpath == "/ca"
        assert auth.sections[Section(None, "h", None)].certpath == "/ca"

    def test_depth_limit(self, tmp_path: Path) -> None:
        for i in range(nutauth.MAX_INCLUDE_DEPTH + 3):
            write(tmp_path / f"d{i}.conf", f"INCLUDE d{i + 1}.conf\n")
        message = refused(tmp_path, "INCLUDE d0.conf\n")
        assert f"includes nest deeper than {nutauth.MAX_INCLUDE_DEPTH}" in message

    def test_included_file_must_be_private(self, tmp_path: Path) -> None:
        write(tmp_path / "open.conf", "pass = p\n", 0o644)
        message = refused(tmp_path, "user = u\nINCLUDE open.conf\n")
        assert message.startswith(f"{tmp_path}/nutauth.conf:2: INCLUDE open.conf: ")
        assert "must not be readable by others (chmod 600)" in message

    def test_include_of_a_directory(self, tmp_path: Path) -> None:
        (tmp_path / "d").mkdir()
        assert "INCLUDE d: " in refused(tmp_path, "INCLUDE d\n")

    @pytest.mark.parametrize("line", ["INCLUDE", 'INCLUDE ""', "INCLUDE a b", "INCLUDE ="])
    def test_include_needs_one_path(self, tmp_path: Path, line: str) -> None:
        assert ":1: INCLUDE: expected 'INCLUDE <path>'" in refused(tmp_path, line + "\n")

    def test_errors_in_an_include_name_the_included_file(self, tmp_path: Path) -> None:
        write(tmp_path / "part.conf", "user = ok\nforcessl = maybe\n")
        message = refused(tmp_path, "INCLUDE part.conf\ncertverify = bad\n")
        # the first error in reading order is raised, naming the include's own line
        assert message.startswith(f"{tmp_path}/part.conf:2: forcessl: expected on")

    def test_error_before_the_include_comes_first(self, tmp_path: Path) -> None:
        write(tmp_path / "part.conf", "forcessl = maybe\n")
        message = refused(tmp_path, "certverify = bad\nINCLUDE part.conf\n")
        assert message.startswith(f"{tmp_path}/nutauth.conf:1: certverify")
        with pytest.raises(NutAuthError) as info:
            nutauth.load(str(tmp_path / "nutauth.conf"))
        assert [d.line for d in info.value.diagnostics] == [1, 1]

    def test_warnings_of_an_include_are_kept(self, tmp_path: Path) -> None:
        write(tmp_path / "part.conf", "mystery = 1\n")
        auth = load_text(tmp_path, "INCLUDE part.conf\n")
        assert [str(d) for d in auth.diagnostics] == [
            f"{tmp_path}/part.conf:1: warning: unknown key 'mystery' (ignored)"
        ]


# --- credentials_for --------------------------------------------------------------------


class TestCredentialsFor:
    def test_no_file_gives_empty_credentials(self, tmp_path: Path) -> None:
        env = {"NUT_CONFPATH": str(tmp_path)}
        assert nutauth.credentials_for(None, "u", "h", 3493, env, str(tmp_path)) == Credentials()
        assert nutauth.credentials_for("none", None, "h", 3493, env, str(tmp_path)) == (
            Credentials()
        )

    def test_found_file_is_looked_up(self, tmp_path: Path) -> None:
        write(tmp_path / ".config" / "nut" / "nutauth.conf", "[mon@ups]\npass = pw\n")
        env: Mapping[str, str] = {"NUT_CONFPATH": str(tmp_path / "etc"), "HOME": str(tmp_path)}
        creds = nutauth.credentials_for("default", "mon", "UPS", 3493, env)
        assert creds == Credentials(username="mon", password="pw")

    def test_named_file(self, tmp_path: Path) -> None:
        path = write(tmp_path / "a.conf", "user = a\npass = b\n")
        creds = nutauth.credentials_for(path, None, "h", 3493, {}, str(tmp_path))
        assert (creds.username, creds.password) == ("a", "b")

    def test_refusals_propagate(self, tmp_path: Path) -> None:
        path = write(tmp_path / "a.conf", "user = a\n", 0o644)
        with pytest.raises(NutAuthError, match=r"chmod 600"):
            nutauth.credentials_for(path, None, "h", 3493, {}, str(tmp_path))
        with pytest.raises(NutAuthError, match="no such file"):
            nutauth.credentials_for(str(tmp_path / "x"), None, "h", 3493, {}, str(tmp_path))


class TestCredentials:
    def test_overlay(self) -> None:
        base = Credentials(username="a", certverify=True, certpath="/ca")
        top = Credentials(username="b", certverify=False)
        assert base.overlay(top) == Credentials(username="b", certverify=False, certpath="/ca")
        assert base.overlay(Credentials()) is base


# --- fuzz -------------------------------------------------------------------------------

VOCAB = [
    "user", "pass", "password", "CERTPATH", "certfile", "CERTHOST", "certverify", "FORCESSL",
    "INCLUDE", "INCLUDE_REQUIRED", "CERTIDENT_NAME", "SSLBACKEND", "nss", "openssl", "=",
    "on", "off", "yes", "2", "[@h]", "[u@h:1]", "[h]", "[", "]", "@", ":", '"', "\\", "#",
    "nutauth.conf", "/dev/zero", ".", "..", " ", "\t", "\n", "\x00", "\xff", "é",
]  # fmt: skip


def _check(result: NutAuth) -> None:
    for d in result.diagnostics:
        assert "\n" not in d.message
    result.lookup(None, "h", 3493)
    result.lookup("u", "h", 1)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_fuzz_parse_never_raises(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        _check(nutauth.parse(Source(os.path.join(tmp, "nutauth.conf"), data)))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(VOCAB), max_size=40), st.sampled_from([0o600, 0o640]))
def test_fuzz_load_gives_a_model_or_one_line(words: list[str], mode: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "nutauth.conf")
        with open(path, "wb") as f:
            f.write(" ".join(words).encode("utf-8", "surrogateescape"))
        os.chmod(path, mode)
        try:
            auth = nutauth.load(path)
        except NutAuthError as exc:
            assert str(exc) and "\n" not in str(exc)
            assert exc.diagnostics and all(d.is_error for d in exc.diagnostics)
        else:
            assert auth.errors == []
            _check(auth)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_fuzz_load_arbitrary_bytes(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "nutauth.conf")
        with open(path, "wb") as f:
            f.write(data)
        os.chmod(path, 0o600)
        try:
            auth = nutauth.load(path)
        except NutAuthError as exc:
            assert "\n" not in str(exc)
        else:
            _check(auth)
