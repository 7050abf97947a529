"""``nutwist tls init`` and ``nutwist tls import-nss``.

``init`` makes a CA, a server certificate for the names and addresses given,
and client certificates, writes them as the PEM files nutwist reads (keys mode
0600), and prints the lines to put in upsd.conf, upsmon.conf and nutauth.conf.

``import-nss`` turns a Debian NUT NSS database (CERTPATH + CERTIDENT) into the
same PEM files, with ``certutil`` and ``pk12util`` from libnss3-tools.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from nutwist.tls import certs


class ToolError(Exception):
    """One line for the user; exit 1."""


def init(
    out: str,
    names: list[str],
    clients: list[str],
    force: bool = False,
    require_client_cert: bool = False,
) -> list[str]:
    """Write the files; return the configuration lines to print, each with what it does."""
    d = Path(out).resolve()
    d.mkdir(parents=True, exist_ok=True)
    os.chmod(d, 0o750)
    targets = ["ca.pem", "ca.key", "upsd.pem"] + [f"client-{c}.pem" for c in clients]
    existing = [t for t in targets if (d / t).exists()]
    if existing and not force:
        raise ToolError(f"{d / existing[0]} exists; use --force to replace it")
    names = names or sorted({socket.getfqdn(), "localhost", "127.0.0.1", "::1"})
    ca = certs.make_ca("nutwist CA " + socket.gethostname())
    certs.write_public(str(d / "ca.pem"), ca.cert_pem())
    certs.write_private(str(d / "ca.key"), ca.key_pem())
    certs.write_bundle(str(d / "upsd.pem"), certs.issue(ca, names[0], names), [ca])
    for c in clients:
        certs.write_bundle(str(d / f"client-{c}.pem"), certs.issue(ca, c, [], server=False), [ca])
    ca_pem = d / "ca.pem"
    lines = [
        f"# written to {d}:",
        f"#   {ca_pem}: the CA certificate (public; copy it to every client)",
        f"#   {d / 'ca.key'}: the CA's key (mode 0600; keep it offline, it signs certificates)",
        f"#   {d / 'upsd.pem'}: the server certificate, its chain and its key (mode 0600)",
        *(
            f"#   {d / f'client-{c}.pem'}: client certificate {c} and its key (mode 0600)"
            for c in clients
        ),
        "",
        "# upsd.conf on the server:",
        "# the certificate and key upsd offers after STARTTLS (without it upsd has no TLS)",
        f"CERTFILE {d / 'upsd.pem'}",
    ]
    if clients:
        lines += [
            "# the CA that client certificates must be signed by",
            f"CERTPATH {ca_pem}",
        ]
        if require_client_cert:
            lines += [
                "# REQUIRE: the TLS handshake fails for a client without a valid certificate;",
                "# clients that do not do TLS with a certificate (NUT's upsc, plain clients)",
                "# can then no longer talk to upsd",
                "CERTREQUEST REQUIRE",
            ]
        else:
            lines += [
                "# REQUEST: a client certificate is asked for and, if sent, must be valid;",
                "# clients without one are still served (--require-client-cert: REQUIRE)",
                "CERTREQUEST REQUEST",
            ]
    lines += [
        "",
        f"# upsmon.conf on each client (copy {ca_pem} there):",
        "# the CA to check upsd's certificate against",
        f"CERTPATH {ca_pem}",
        "# check the certificate's chain and that it names the host in MONITOR",
        "CERTVERIFY 1",
        "# never talk to upsd without TLS: no session if STARTTLS fails",
        "FORCESSL 1",
    ]
    if clients:
        lines += [
            "# the certificate (and key) upsmon presents to upsd",
            f"CERTFILE {d / f'client-{clients[0]}.pem'}",
        ]
    lines += [
        "",
        "# nutauth.conf for upsc, upsrw, upscmd, upslog (mode 0600), the same settings:",
        "# the CA to check upsd's certificate against",
        f"CERTPATH = {ca_pem}",
        "# check the chain and the host name",
        "CERTVERIFY = on",
        "# no session without TLS",
        "FORCESSL = on",
    ]
    lines += [f"# server certificate names: {', '.join(names)}"]
    return lines


def _need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        raise ToolError(f"{tool} not found: install Debian's libnss3-tools")
    return path


def _run(argv: list[str]) -> str:
    p = subprocess.run(argv, capture_output=True, text=True)
    if p.returncode != 0:
        msg = (p.stderr or p.stdout).strip().splitlines()
        raise ToolError(f"{os.path.basename(argv[0])} failed: {msg[-1] if msg else p.returncode}")
    return p.stdout


def import_nss(
    dbdir: str, out: str, nickname: str | None, password: str | None, force: bool = False
) -> list[str]:
    """Export the server certificate (and key) and the trusted CAs as PEM."""
    certutil, pk12util = _need("certutil"), _need("pk12util")
    if not any(os.path.exists(os.path.join(dbdir, f)) for f in ("cert9.db", "cert8.db")):
        raise ToolError(f"{dbdir}: not an NSS database (no cert9.db or cert8.db)")
    d = Path(out)
    d.mkdir(parents=True, exist_ok=True)
    for t in ("ca.pem", "upsd.pem"):
        if (d / t).exists() and not force:
            raise ToolError(f"{d / t} exists; use --force to replace it")
    listing = _run([certutil, "-L", "-d", dbdir])
    entries: list[tuple[str, str]] = []
    for line in listing.splitlines():
        m = re.match(r"^(.*\S)\s+([A-Za-z]*,[A-Za-z]*,[A-Za-z]*)\s*$", line)
        if m and not line.startswith("Certificate Nickname"):
            entries.append((m.group(1), m.group(2)))
    if not entries:
        raise ToolError(f"{dbdir}: no certificate in the database")
    cas = [n for n, trust in entries if "C" in trust.split(",")[0]]
    pem = "".join(_run([certutil, "-L", "-d", dbdir, "-n", n, "-a"]) for n in cas)
    lines: list[str] = []
    if pem:
        certs.write_public(str(d / "ca.pem"), pem.encode())
        lines += [f"CERTPATH {d / 'ca.pem'}"]
    if nickname is None:
        owned = [n for n, trust in entries if "u" in trust]
        if len(owned) > 1:
            raise ToolError(
                f"several certificates with keys ({', '.join(owned)}): name one with --nickname"
            )
        nickname = owned[0] if owned else None
    if nickname is not None:
        with tempfile.TemporaryDirectory() as tmp:
            p12 = os.path.join(tmp, "k.p12")
            pwfile = os.path.join(tmp, "db.pw")
            with open(pwfile, "w") as f:
                f.write(password or "")
            _run(
                [
                    pk12util,
                    "-o",
                    p12,
                    "-n",
                    nickname,
                    "-d",
                    dbdir,
                    "-W",
                    "nutwist-export",
                    "-k",
                    pwfile,
                ]
            )
            key, cert, extra = pkcs12.load_key_and_certificates(
                Path(p12).read_bytes(), b"nutwist-export"
            )
        if key is None or cert is None:
            raise ToolError(f"{nickname}: no private key exported")
        data = cert.public_bytes(serialization.Encoding.PEM)
        data += b"".join(c.public_bytes(serialization.Encoding.PEM) for c in extra or [])
        data += key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        certs.write_private(str(d / "upsd.pem"), data)
        lines = [f"CERTFILE {d / 'upsd.pem'}", *lines]
    return [
        f"# from the NSS database {dbdir}: replace CERTPATH and CERTIDENT with",
        *lines,
        "# (upsd.conf: CERTFILE and, for client certificates, CERTPATH; clients: CERTPATH)",
    ]
