"""TLS with real handshakes over loopback: nutwist's upsd and client library, then NUT's.

Certificates are made fresh for each run (nutwist.tls.certs): a CA, a server
certificate for 127.0.0.1 and localhost, and the bad ones (another CA, expired,
not yet valid, another host name), plus client certificates.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import socket
import ssl as stdlib_ssl
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from support.nut import (
    NutProcess,
    free_port,
    nut_env,
    require_nut,
    start_nutwist_upsd,
    wait_for_port,
    wait_until,
)

from nutwist.tls import certs

PROBE = Path(__file__).parent / "support" / "tls_probe.py"
BIN = Path(sys.executable).parent
DEV = "ups.status: OL\nbattery.charge: 77\n"
USERS = "[admin]\n\tpassword = pw\n\tactions = SET\n\tinstcmds = ALL\n[mon]\n\tpassword = mp\n\tupsmon primary\n"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("pki")
    ca, other_ca = certs.make_ca("test CA"), certs.make_ca("other CA")
    now = datetime.datetime.now(datetime.UTC)
    files: dict[str, Path] = {"dir": d}

    def bundle(name: str, leaf: certs.Issued) -> None:
        certs.write_bundle(str(d / f"{name}.pem"), leaf)
        files[name] = d / f"{name}.pem"

    bundle("good", certs.issue(ca, "upsd", ["127.0.0.1", "localhost"]))
    bundle("wrongca", certs.issue(other_ca, "upsd", ["127.0.0.1", "localhost"]))
    bundle(
        "expired",
        certs.issue(
            ca, "upsd", ["127.0.0.1"], not_before=now - datetime.timedelta(days=10),
            not_after=now - datetime.timedelta(days=1),
        ),
    )  # fmt: skip
    bundle(
        "notyet",
        certs.issue(
            ca, "upsd", ["127.0.0.1"], not_before=now + datetime.timedelta(days=1),
            not_after=now + datetime.timedelta(days=10),
        ),
    )  # fmt: skip
    bundle("otherhost", certs.issue(ca, "upsd", ["other.example"]))
    bundle("client", certs.issue(ca, "client", [], server=False))
    bundle("client_wrongca", certs.issue(other_ca, "client", [], server=False))
    certs.write_public(str(d / "ca.pem"), ca.cert_pem())
    certs.write_public(str(d / "other_ca.pem"), other_ca.cert_pem())
    files["ca"], files["other_ca"] = d / "ca.pem", d / "other_ca.pem"
    return files


class Server:
    def __init__(self, tmp: Path, extra: str) -> None:
        self.conf, self.state = tmp / "conf", tmp / "state"
        self.conf.mkdir(parents=True)
        self.state.mkdir()
        self.port = free_port()
        (self.conf / "u.dev").write_text(DEV)
        (self.conf / "ups.conf").write_text("[u]\n\tdriver = dummy-ups\n\tport = u.dev\n")
        (self.conf / "upsd.conf").write_text(f"LISTEN 127.0.0.1 {self.port}\n{extra}")
        (self.conf / "upsd.users").write_text(USERS)
        for f in self.conf.iterdir():
            f.chmod(0o600)
        self.log = tmp / "upsd.log"
        self.proc = start_nutwist_upsd(self.conf, self.state, self.log)
        wait_for_port(self.port)

    def stop(self) -> None:
        self.proc.stop()


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Any]:
    servers: list[Server] = []

    def start(extra: str = "") -> Server:
        s = Server(tmp_path / f"s{len(servers)}", extra)
        servers.append(s)
        return s

    yield start
    for s in servers:
        s.stop()


def probe(port: int, settings: dict[str, Any] | None, host: str = "127.0.0.1") -> str:
    p = subprocess.run(
        [sys.executable, str(PROBE), host, str(port), "u", "battery.charge",
         json.dumps(settings) if settings is not None else "none"],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    return p.stdout.strip() or p.stderr.strip()


def verify(pki: dict[str, Path], **more: Any) -> dict[str, Any]:
    return {"certpath": str(pki["ca"]), "certverify": True, "forcessl": True, **more}


def test_a_good_certificate(pki: dict[str, Path], serve: Any) -> None:
    s = serve(f"CERTFILE {pki['good']}\n")
    assert probe(s.port, verify(pki)) == "OK 77 tls=1"
    assert probe(s.port, verify(pki), host="localhost") == "OK 77 tls=1"
    # a CA directory works as well as a bundle
    assert probe(s.port, verify(pki, certpath=str(pki["dir"]))) == "OK 77 tls=1"


@pytest.mark.parametrize("cert", ["wrongca", "expired", "notyet", "otherhost"])
def test_bad_certificates_fail_closed(pki: dict[str, Path], serve: Any, cert: str) -> None:
    s = serve(f"CERTFILE {pki[cert]}\n")
    out = probe(s.port, verify(pki))
    assert out.startswith("ERR SslError SSL error: "), out
    # with nothing asked for, NUT 2.8.0's habit: TLS, unverified
    assert probe(s.port, None) == "OK 77 tls=1"


def test_forcessl_against_a_server_without_tls(pki: dict[str, Path], serve: Any) -> None:
    s = serve()
    assert probe(s.port, {"forcessl": True}) == "ERR SslNotAvailable SSL is not available"
    assert probe(s.port, verify(pki)) == "ERR SslNotAvailable SSL is not available"
    assert probe(s.port, {}) == "OK 77 tls=0"  # opportunistic: clear, as NUT 2.8.0


def test_certverify_0_against_a_self_signed_server(pki: dict[str, Path], serve: Any) -> None:
    s = serve(f"CERTFILE {pki['wrongca']}\n")
    assert probe(s.port, {"forcessl": True, "certverify": False}) == "OK 77 tls=1"


def test_client_certificates(pki: dict[str, Path], serve: Any) -> None:
    s = serve(f"CERTFILE {pki['good']}\nCERTPATH {pki['ca']}\nCERTREQUEST REQUIRE\n")
    assert probe(s.port, verify(pki, certfile=str(pki["client"]))) == "OK 77 tls=1"
    assert probe(s.port, verify(pki)).startswith("ERR ")  # no certificate
    assert probe(s.port, verify(pki, certfile=str(pki["client_wrongca"]))).startswith("ERR ")
    r = serve(f"CERTFILE {pki['good']}\nCERTPATH {pki['ca']}\nCERTREQUEST REQUEST\n")
    assert probe(r.port, verify(pki)) == "OK 77 tls=1"  # REQUEST: none sent, still served
    assert probe(r.port, verify(pki, certfile=str(pki["client_wrongca"]))).startswith("ERR ")


def raw_session(port: int, data: bytes, wait: float = 1.0) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(data)
        sock.settimeout(wait)
        got = b""
        try:
            while True:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                got += chunk
        except TimeoutError:
            pass
        return got


def test_starttls_without_certificate_and_twice(pki: dict[str, Path], serve: Any) -> None:
    plain = serve()
    assert raw_session(plain.port, b"STARTTLS\n") == b"ERR FEATURE-NOT-CONFIGURED\n"
    s = serve(f"CERTFILE {pki['good']}\n")
    ctx = stdlib_ssl.create_default_context(cafile=str(pki["ca"]))
    with socket.create_connection(("127.0.0.1", s.port), timeout=5) as sock:
        sock.sendall(b"STARTTLS\n")
        assert sock.recv(100) == b"OK STARTTLS\n"
        with ctx.wrap_socket(sock, server_hostname="127.0.0.1") as tls:
            tls.sendall(b"STARTTLS\nGET VAR u battery.charge\n")
            f = tls.makefile("rb")
            assert f.readline() == b"ERR ALREADY-SSL-MODE\n"
            assert f.readline() == b'VAR u battery.charge "77"\n'
            assert tls.version() in ("TLSv1.2", "TLSv1.3")


def test_bytes_pipelined_after_starttls_are_not_read_in_clear(
    pki: dict[str, Path], serve: Any
) -> None:
    s = serve(f"CERTFILE {pki['good']}\n")
    got = raw_session(s.port, b"STARTTLS\nGET VAR u battery.charge\nVER\n")
    assert got.startswith(b"OK STARTTLS\n")
    assert b"VAR u" not in got and b"Network UPS Tools" not in got


def test_old_protocols_and_renegotiation_are_refused(pki: dict[str, Path], serve: Any) -> None:
    from OpenSSL import SSL

    s = serve(f"CERTFILE {pki['good']}\n")
    # TLS 1.1 and older: DISABLE_WEAK_SSL is on unless set off
    ctx = SSL.Context(SSL.TLS_METHOD)
    ctx.set_min_proto_version(SSL.TLS1_VERSION)
    ctx.set_max_proto_version(SSL.TLS1_1_VERSION)
    ctx.set_cipher_list(b"DEFAULT:@SECLEVEL=0")
    with socket.create_connection(("127.0.0.1", s.port), timeout=5) as sock:
        sock.sendall(b"STARTTLS\n")
        assert sock.recv(100) == b"OK STARTTLS\n"
        sock.settimeout(None)  # pyOpenSSL wants a blocking socket
        conn = SSL.Connection(ctx, sock)
        conn.set_connect_state()
        with pytest.raises(SSL.Error):
            conn.do_handshake()
    # TLS 1.2 renegotiation: refused, and the session ends
    ctx = SSL.Context(SSL.TLS_METHOD)
    ctx.set_max_proto_version(SSL.TLS1_2_VERSION)
    with socket.create_connection(("127.0.0.1", s.port), timeout=5) as sock:
        sock.sendall(b"STARTTLS\n")
        assert sock.recv(100) == b"OK STARTTLS\n"
        sock.settimeout(None)  # pyOpenSSL wants a blocking socket
        conn = SSL.Connection(ctx, sock)
        conn.set_connect_state()
        conn.do_handshake()
        conn.renegotiate()
        # upsd answers the renegotiation with an alert that ends the handshake
        with pytest.raises(SSL.Error):
            conn.do_handshake()
        # and no command is served on that session after it
        with pytest.raises((SSL.Error, OSError)):
            conn.send(b"VER\n")
            conn.recv(100)


def test_unusable_tls_settings_stop_upsd_with_one_line(
    pki: dict[str, Path], tmp_path: Path
) -> None:
    nss = tmp_path / "nssdb"
    nss.mkdir()
    (nss / "cert9.db").write_bytes(b"")
    for extra, words in (
        (f"CERTFILE {tmp_path}/missing.pem\n", "No such file"),
        (f"CERTFILE {pki['ca']}\n", "no private key"),
        (f"CERTPATH {nss}\nCERTIDENT upsd secret\n", "NSS database"),
        (f"CERTFILE {pki['good']}\nCERTPATH {nss}\n", "nutwist tls import-nss"),
    ):
        conf = tmp_path / f"c{len(words)}"
        conf.mkdir(exist_ok=True)
        (conf / "ups.conf").write_text("[u]\n\tdriver = dummy-ups\n\tport = u.dev\n")
        (conf / "upsd.conf").write_text(f"LISTEN 127.0.0.1 {free_port()}\n{extra}")
        (conf / "upsd.users").write_text(USERS)
        p = subprocess.run(
            [str(BIN / "upsd"), "-F", "-u", "root"],
            env=nut_env(conf, tmp_path), capture_output=True, text=True, timeout=30,
        )  # fmt: skip
        fatal = [line for line in p.stderr.splitlines() if line.startswith("Fatal error")]
        assert p.returncode == 1 and len(fatal) == 1 and words in fatal[0], p.stderr


def test_auth_requires_tls(pki: dict[str, Path], serve: Any) -> None:
    s = serve(f"CERTFILE {pki['good']}\nAUTH_REQUIRES_TLS 1\n")
    assert raw_session(s.port, b"USERNAME admin\nPASSWORD pw\n") == b"ERR ACCESS-DENIED\n" * 2
    wait_until(lambda: "refused before STARTTLS" in s.log.read_text(), what="the log line")


# --- NUT 2.8.0 (Debian, built with NSS) ---------------------------------------------------


@pytest.mark.nut
def test_nut_upsc_reads_everything_from_a_tls_upsd(pki: dict[str, Path], serve: Any) -> None:
    require_nut("upsc")
    s = serve(f"CERTFILE {pki['good']}\n")
    p = subprocess.run(
        ["/usr/bin/upsc", f"u@127.0.0.1:{s.port}"], capture_output=True, text=True, timeout=30
    )
    assert p.returncode == 0, p.stderr
    assert {"battery.charge: 77", "ups.status: OL", "driver.name: dummy-ups"} <= set(
        p.stdout.splitlines()
    )


def nssdb(d: Path, ca: Path) -> Path:
    """An NSS database trusting ``ca``, as Debian's NUT reads CERTPATH."""
    d.mkdir()
    subprocess.run(
        ["certutil", "-N", "-d", f"sql:{d}", "--empty-password"], check=True, capture_output=True
    )
    subprocess.run(
        ["certutil", "-A", "-d", f"sql:{d}", "-n", "nutwist CA", "-t", "CT,C,C", "-i", str(ca)],
        check=True, capture_output=True,
    )  # fmt: skip
    return d


@pytest.mark.skipif(
    subprocess.run(["which", "certutil"], capture_output=True).returncode, reason="certutil missing"
)
@pytest.mark.nut
def test_nut_upsmon_verifies_nutwist_upsd(pki: dict[str, Path], serve: Any, tmp_path: Path) -> None:
    require_nut("upsmon")
    s = serve(f"CERTFILE {pki['good']}\n")
    results = {}
    for name, ca in (("right", pki["ca"]), ("wrong", pki["other_ca"])):
        d = tmp_path / f"mon-{name}"
        db = nssdb(tmp_path / f"nss-{name}", ca)
        d.mkdir()
        (d / "upsmon.conf").write_text(
            f"MONITOR u@127.0.0.1:{s.port} 1 mon mp primary\n"
            f"CERTPATH {db}\nCERTVERIFY 1\nFORCESSL 1\n"
            'SHUTDOWNCMD "/bin/true"\nPOLLFREQ 1\n'
        )
        (d / "upsmon.conf").chmod(0o600)
        script = "mount -t tmpfs none /run/nut && exec /lib/nut/upsmon -F -u root"
        proc = NutProcess(["unshare", "-m", "sh", "-c", script], nut_env(d, s.state), d / "log")
        try:
            if name == "right":
                wait_until(lambda: "logged into UPS [u] (SSL)" in s.log.read_text(),
                           what="NUT's upsmon to log in over TLS")  # fmt: skip
            else:
                wait_until(lambda d=d: "connect failed" in (d / "log").read_text(),
                           what="NUT's upsmon to refuse the certificate")  # fmt: skip
        finally:
            proc.stop()
        results[name] = (d / "log").read_text()
    assert "Certificate validation failed for 127.0.0.1" in results["wrong"], results
    assert "Connected to NUT server 127.0.0.1 in SSL" in results["right"], results
    # the upsmon with the wrong CA never logged in, in clear or otherwise
    assert s.log.read_text().count("logged into UPS [u]") == 1, (results, s.log.read_text())


needs_nss = pytest.mark.skipif(
    subprocess.run(["which", "certutil", "pk12util"], capture_output=True).returncode != 0,
    reason="certutil/pk12util (libnss3-tools) missing",
)


def server_nssdb(d: Path, ca: Path, server_pem: Path, password: str = "dbpw") -> Path:
    """An NSS database as Debian's NUT upsd wants it: the CA trusted, the server key as 'upsd'."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.serialization import pkcs12

    d.mkdir()
    pw = d.parent / f"{d.name}.pw"
    pw.write_text(password)
    subprocess.run(
        ["certutil", "-N", "-d", f"sql:{d}", "-f", str(pw)], check=True, capture_output=True
    )
    subprocess.run(
        ["certutil", "-A", "-d", f"sql:{d}", "-n", "test CA", "-t", "CT,C,C", "-i", str(ca), "-f", str(pw)],
        check=True, capture_output=True,
    )  # fmt: skip
    data = server_pem.read_bytes()
    cert = x509_load(data)
    key = serialization.load_pem_private_key(data, None)
    p12 = pkcs12.serialize_key_and_certificates(
        b"upsd",
        key,
        cert,
        None,
        serialization.BestAvailableEncryption(b"p12pw"),  # type: ignore[arg-type]
    )
    (d.parent / "s.p12").write_bytes(p12)
    subprocess.run(
        ["pk12util", "-i", str(d.parent / "s.p12"), "-d", f"sql:{d}", "-k", str(pw), "-W", "p12pw"],
        check=True, capture_output=True,
    )  # fmt: skip
    return d


def x509_load(data: bytes) -> Any:
    from cryptography import x509

    return x509.load_pem_x509_certificate(data)


@pytest.mark.nut
@needs_nss
def test_nutwist_clients_verify_nuts_nss_upsd(pki: dict[str, Path], tmp_path: Path) -> None:
    require_nut("upsd", "dummy-ups")
    db = server_nssdb(tmp_path / "nssdb", pki["ca"], pki["good"])
    conf, state = tmp_path / "conf", tmp_path / "state"
    conf.mkdir()
    state.mkdir()
    port = free_port()
    (conf / "u.dev").write_text(DEV)
    (conf / "ups.conf").write_text("[u]\n\tdriver = dummy-ups\n\tport = u.dev\n")
    (conf / "upsd.conf").write_text(
        f"LISTEN 127.0.0.1 {port}\nCERTPATH {db}\nCERTIDENT upsd dbpw\n"
    )
    (conf / "upsd.users").write_text(USERS)
    for f in conf.iterdir():
        f.chmod(0o600)
    env = nut_env(conf, state)
    from support.nut import wait_for_socket

    procs = [
        NutProcess(["/lib/nut/dummy-ups", "-a", "u", "-u", "root", "-F"], env, tmp_path / "d.log")
    ]
    try:
        wait_for_socket(state / "dummy-ups-u", probe=False)
        procs.append(NutProcess(["/lib/nut/upsd", "-u", "root", "-F"], env, tmp_path / "upsd.log"))
        wait_for_port(port)
        outs: list[str] = []

        def served() -> bool:
            outs.append(probe(port, verify(pki)))
            return outs[-1].startswith("OK")

        with contextlib.suppress(TimeoutError):
            wait_until(served, timeout=10, what="NUT's upsd to serve over TLS")
        assert outs[-1] == "OK 77 tls=1", (outs, (tmp_path / "upsd.log").read_text())
        assert probe(port, verify(pki, certpath=str(pki["other_ca"]))).startswith("ERR SslError")
        # the command-line clients, through nutauth.conf
        auth = tmp_path / "nutauth.conf"
        auth.write_text(f"CERTPATH = {pki['ca']}\nCERTVERIFY = on\nFORCESSL = on\n")
        auth.chmod(0o600)
        p = subprocess.run(
            [str(BIN / "upsc"), "-A", str(auth), f"u@127.0.0.1:{port}", "battery.charge"],
            capture_output=True, text=True, timeout=30,
        )  # fmt: skip
        assert (p.returncode, p.stdout) == (0, "77\n"), p.stderr
        auth.write_text(f"CERTPATH = {pki['other_ca']}\nCERTVERIFY = on\nFORCESSL = on\n")
        p = subprocess.run(
            [str(BIN / "upsc"), "-A", str(auth), f"u@127.0.0.1:{port}", "battery.charge"],
            capture_output=True, text=True, timeout=30,
        )  # fmt: skip
        assert p.returncode == 1 and p.stderr.startswith("Error: SSL error: ")
    finally:
        for proc in reversed(procs):
            proc.stop()


@needs_nss
def test_import_nss_then_serve_with_the_result(
    pki: dict[str, Path], serve: Any, tmp_path: Path
) -> None:
    db = server_nssdb(tmp_path / "nssdb", pki["ca"], pki["good"])
    out = tmp_path / "pem"
    p = subprocess.run(
        [str(BIN / "nutwist"), "tls", "import-nss", str(db), "--out", str(out),
         "--nickname", "upsd", "--password", "dbpw"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert p.returncode == 0, p.stderr
    assert f"CERTFILE {out / 'upsd.pem'}" in p.stdout and f"CERTPATH {out / 'ca.pem'}" in p.stdout
    assert (out / "upsd.pem").stat().st_mode & 0o077 == 0
    s = serve(f"CERTFILE {out / 'upsd.pem'}\n")
    assert probe(s.port, verify(pki, certpath=str(out / "ca.pem"))) == "OK 77 tls=1"


def test_tls_init_makes_files_that_work_together(serve: Any, tmp_path: Path) -> None:
    d = tmp_path / "tls"
    p = subprocess.run(
        [str(BIN / "nutwist"), "tls", "init", "--dir", str(d), "--name", "localhost",
         "--name", "127.0.0.1", "--client", "mon1", "--require-client-cert"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert p.returncode == 0, p.stderr
    for key in ("ca.key", "upsd.pem", "client-mon1.pem"):
        assert (d / key).stat().st_mode & 0o077 == 0, key
    server_lines = [
        line
        for line in p.stdout.splitlines()
        if line.startswith(("CERTFILE", "CERTPATH", "CERTREQUEST"))
    ]
    s = serve("\n".join(server_lines[:3]) + "\n")
    good = {"certpath": str(d / "ca.pem"), "certverify": True, "forcessl": True}
    assert probe(s.port, {**good, "certfile": str(d / "client-mon1.pem")}) == "OK 77 tls=1"
    assert probe(s.port, good).startswith("ERR ")  # REQUIRE: no client certificate, no session
    again = subprocess.run(
        [str(BIN / "nutwist"), "tls", "init", "--dir", str(d)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert again.returncode == 1 and "exists; use --force" in again.stderr


def test_pynutclient_over_starttls(pki: dict[str, Path], serve: Any) -> None:
    from PyNUTClient.PyNUT import PyNUTClient

    s = serve(f"CERTFILE {pki['good']}\n")
    c = PyNUTClient(
        host="127.0.0.1", port=s.port, login="admin", password="pw", use_ssl=True,
        ca_file=str(pki["ca"]), cert_verify=True, force_ssl=True, timeout=10,
    )  # fmt: skip
    assert c.GetUPSVars("u")[b"battery.charge"] == b"77"
    with pytest.raises(stdlib_ssl.SSLCertVerificationError):
        PyNUTClient(
            host="127.0.0.1", port=s.port, use_ssl=True, ca_file=str(pki["other_ca"]),
            cert_verify=True, force_ssl=True, timeout=10,
        )  # fmt: skip


def tls_lines(
    port: int, pki: dict[str, Path], send: bytes, n: int, client: Path | None
) -> list[bytes]:
    ctx = stdlib_ssl.create_default_context(cafile=str(pki["ca"]))
    if client is not None:
        ctx.load_cert_chain(str(client))
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"STARTTLS\n")
        assert sock.recv(100) == b"OK STARTTLS\n"
        with ctx.wrap_socket(sock, server_hostname="127.0.0.1") as tls:
            tls.sendall(send)
            f = tls.makefile("rb")
            return [f.readline() for _ in range(n)]


def test_a_client_certificate_can_stand_in_for_the_password(
    pki: dict[str, Path], serve: Any
) -> None:
    s = serve(f"CERTFILE {pki['good']}\nCERTPATH {pki['ca']}\nCERTREQUEST REQUEST\n")
    (s.conf / "upsd.users").write_text(
        USERS + "[certmon]\n\tcertificate = client\n\tupsmon primary\n"
    )
    subprocess.run(
        [str(BIN / "upsd"), "-c", "reload"], env=nut_env(s.conf, s.state), capture_output=True
    )
    s.proc.proc.send_signal(1)  # SIGHUP: reload upsd.users
    wait_until(
        lambda: (
            tls_lines(s.port, pki, b"USERNAME certmon\nLOGIN u\n", 2, pki["client"])
            == [b"OK\n", b"OK\n"]
        ),
        what="upsd to reload upsd.users and admit certmon by its certificate",
    )
    without = tls_lines(s.port, pki, b"USERNAME certmon\nLOGIN u\n", 2, None)
    assert without == [b"OK\n", b"ERR PASSWORD-REQUIRED\n"]
    # another user's name with this certificate gets nothing
    other = tls_lines(s.port, pki, b"USERNAME mon\nLOGIN u\n", 2, pki["client"])
    assert other == [b"OK\n", b"ERR PASSWORD-REQUIRED\n"]


def test_nutwist_upsmon_verifies_its_upsd(pki: dict[str, Path], serve: Any, tmp_path: Path) -> None:
    s = serve(f"CERTFILE {pki['good']}\n")
    for name, ca in (("right", pki["ca"]), ("wrong", pki["other_ca"])):
        d = tmp_path / f"mon-{name}"
        d.mkdir()
        (d / "upsmon.conf").write_text(
            f"MONITOR u@127.0.0.1:{s.port} 1 mon mp primary\n"
            f"CERTPATH {ca}\nCERTVERIFY 1\nFORCESSL 1\n"
            'SHUTDOWNCMD "/bin/true"\nPOLLFREQ 1\n'
        )
        (d / "upsmon.conf").chmod(0o600)
        env = dict(nut_env(d, s.state), NUT_ALTPIDPATH=str(d))
        proc = NutProcess([str(BIN / "upsmon"), "-F", "-u", "root"], env, d / "log")
        try:
            if name == "right":
                wait_until(lambda: "logged into UPS [u] (SSL)" in s.log.read_text(),
                           what="upsmon to log in over TLS")  # fmt: skip
            else:
                wait_until(lambda d=d: "Can not connect to NUT server 127.0.0.1 in SSL"
                           in (d / "log").read_text(), what="upsmon to refuse the certificate")  # fmt: skip
        finally:
            proc.stop()
    log = s.log.read_text()
    assert log.count("logged into UPS [u] (SSL)") == 1, log
    assert (
        "Can not connect to NUT server 127.0.0.1 in SSL"
        in (tmp_path / "mon-wrong" / "log").read_text()
    )


def test_upslog_takes_tls_from_nutauth(pki: dict[str, Path], serve: Any, tmp_path: Path) -> None:
    import signal as sig

    s = serve(f"CERTFILE {pki['good']}\nAUTH_REQUIRES_TLS 1\n")
    auth = tmp_path / "nutauth.conf"
    auth.write_text(f"CERTPATH = {pki['ca']}\nCERTVERIFY = on\nFORCESSL = on\n")
    auth.chmod(0o600)

    def run(ca: Path, done: Callable[[str, str], bool]) -> tuple[str, str]:
        auth.write_text(f"CERTPATH = {ca}\nCERTVERIFY = on\nFORCESSL = on\n")
        out, err = tmp_path / f"{ca.stem}.out", tmp_path / f"{ca.stem}.err"
        with out.open("wb") as o, err.open("wb") as e:
            p = subprocess.Popen(
                [str(BIN / "upslog"), "-A", str(auth), "-s", f"u@127.0.0.1:{s.port}", "-l", "-",
                 "-i", "1", "-f", "%VAR battery.charge%"],
                stdout=o, stderr=e,
            )  # fmt: skip
        try:
            wait_until(lambda: done(out.read_text(), err.read_text()), what=f"upslog with {ca}")
        finally:
            p.send_signal(sig.SIGTERM)
            p.wait(10)
        return out.read_text(), err.read_text()

    out, err = run(pki["ca"], lambda out, err: "77" in out.splitlines())
    # the wrong CA: an error, and never a value read in clear
    out, err = run(pki["other_ca"], lambda out, err: "certificate verify failed" in err)
    assert "77" not in out.splitlines(), (out, err)
    assert "Traceback" not in err, err
