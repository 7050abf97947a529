"""TLS settings for upsd and its clients, failing closed.

Server side (upsd.conf): CERTFILE is one PEM with the certificate, its chain
and the key; CERTREQUEST NO|REQUEST|REQUIRE asks for client certificates,
verified against CERTPATH (a CA bundle or a directory of PEM files);
DISABLE_WEAK_SSL (on unless set to false) keeps TLS 1.2 and later.

Client side: CERTPATH as above, CERTVERIFY (the chain and the host name, with
service_identity), FORCESSL (no STARTTLS, no session), CERTHOST (the name to
expect for one host) and CERTFILE (a client certificate).  With none of them a
client does what NUT 2.8.0's do: STARTTLS if offered, unverified, else clear.

Anything that cannot be loaded raises :class:`TlsConfigError` with one line;
a Debian NSS-style setting (a CERTPATH that is an NSS database, CERTIDENT)
is refused with the way to convert it: nutwist has no NSS, and never falls back
to plaintext.
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass
from typing import Any

from OpenSSL import SSL, crypto
from twisted.internet import ssl

NSS_HINT = (
    "nutwist reads PEM files, not NSS databases: run `nutwist tls import-nss {path}` "
    "to convert it (then use the CERTFILE/CERTPATH lines it prints)"
)


class TlsConfigError(Exception):
    """A TLS setting that cannot be used; the message is one line."""


def is_nss_db(path: str | None) -> bool:
    return (
        bool(path)
        and os.path.isdir(str(path))
        and any(os.path.exists(os.path.join(str(path), db)) for db in ("cert9.db", "cert8.db"))
    )


def _pem_certs(path: str) -> list[crypto.X509]:
    """Every certificate in a PEM bundle, or in the PEM files of a directory."""
    files = [path]
    if os.path.isdir(path):
        files = sorted(
            f
            for pattern in ("*.pem", "*.crt", "*.cer", "*.[0-9]")
            for f in glob.glob(os.path.join(path, pattern))
        )
    certs: list[crypto.X509] = []
    for name in files:
        try:
            with open(name, "rb") as f:
                data = f.read()
        except OSError as e:
            raise TlsConfigError(f"CERTPATH {name}: {e.strerror}") from None
        for block in data.split(b"-----END CERTIFICATE-----")[:-1]:
            start = block.find(b"-----BEGIN CERTIFICATE-----")
            if start < 0:
                continue
            pem = block[start:] + b"-----END CERTIFICATE-----\n"
            try:
                certs.append(crypto.load_certificate(crypto.FILETYPE_PEM, pem))
            except crypto.Error:
                raise TlsConfigError(
                    f"CERTPATH {name}: a certificate there cannot be read"
                ) from None
    if not certs:
        raise TlsConfigError(f"CERTPATH {path}: no PEM certificate found")
    return certs


def _check_certpath(path: str | None) -> None:
    if path is None:
        return
    if is_nss_db(path):
        raise TlsConfigError(f"CERTPATH {path} is an NSS database; " + NSS_HINT.format(path=path))
    if not os.path.exists(path):
        raise TlsConfigError(f"CERTPATH {path}: No such file or directory")


def _load_certfile(ctx: SSL.Context, certfile: str) -> None:
    if is_nss_db(certfile) or os.path.isdir(certfile):
        raise TlsConfigError(f"CERTFILE {certfile} is a directory; it must be one PEM file")
    if not os.path.isfile(certfile):
        raise TlsConfigError(f"CERTFILE {certfile}: No such file or directory")
    try:
        ctx.use_certificate_chain_file(certfile)
    except SSL.Error:
        raise TlsConfigError(f"CERTFILE {certfile}: no usable PEM certificate in it") from None
    except OSError as e:
        raise TlsConfigError(f"CERTFILE {certfile}: {e.strerror}") from None
    try:
        ctx.use_privatekey_file(certfile)
        ctx.check_privatekey()
    except SSL.Error:
        raise TlsConfigError(
            f"CERTFILE {certfile}: no private key matching the certificate in it"
        ) from None


_NO_RENEGOTIATION = getattr(SSL, "OP_NO_RENEGOTIATION", 0)


@dataclass
class ServerTls:
    certfile: str
    certpath: str | None = None
    certrequest: int = 0
    disable_weak: bool = True

    def context_factory(self) -> ssl.ContextFactory:
        _check_certpath(self.certpath)
        ctx = SSL.Context(SSL.TLS_METHOD)
        ctx.set_min_proto_version(SSL.TLS1_2_VERSION if self.disable_weak else SSL.TLS1_VERSION)
        ctx.set_options(SSL.OP_CIPHER_SERVER_PREFERENCE | SSL.OP_NO_COMPRESSION | _NO_RENEGOTIATION)
        ctx.set_cipher_list(b"HIGH:!aNULL:!MD5:!RC4")
        _load_certfile(ctx, self.certfile)
        if self.certrequest:
            if self.certpath is None:
                raise TlsConfigError("CERTREQUEST needs CERTPATH (the CAs to verify clients with)")
            store = ctx.get_cert_store()
            assert store is not None
            for cert in _pem_certs(self.certpath):
                store.add_cert(cert)
            mode = SSL.VERIFY_PEER
            if self.certrequest >= 2:
                mode |= SSL.VERIFY_FAIL_IF_NO_PEER_CERT
            ctx.set_verify(mode, lambda conn, cert, errno, depth, ok: bool(ok))
        else:
            ctx.set_verify(SSL.VERIFY_NONE, lambda *a: True)
        ctx.set_session_id(b"nutwist-upsd")
        return _FixedContext(ctx)


class _FixedContext(ssl.ContextFactory):
    def __init__(self, ctx: SSL.Context) -> None:
        self.ctx = ctx

    def getContext(self) -> SSL.Context:
        return self.ctx


def server_context_from_conf(conf: Any) -> ssl.ContextFactory | None:
    """upsd.conf's TLS context for STARTTLS, loaded once; None without CERTFILE.

    A setting that cannot be used raises TlsConfigError, which stops upsd at start.
    """
    if getattr(conf, "certident", None):
        raise TlsConfigError(
            "CERTIDENT names a certificate in an NSS database; "
            + NSS_HINT.format(path=conf.certpath or "DBDIR")
        )
    if not conf.certfile:
        if is_nss_db(conf.certpath):
            raise TlsConfigError(
                f"CERTPATH {conf.certpath} is an NSS database; "
                + NSS_HINT.format(path=conf.certpath)
            )
        return None
    return ServerTls(
        conf.certfile, conf.certpath, conf.certrequest, conf.min_tls_12
    ).context_factory()


@dataclass(frozen=True)
class ClientTls:
    """What a client does about TLS with one server."""

    certpath: str | None = None
    certverify: bool = False
    forcessl: bool = False
    certhost: str | None = None
    certfile: str | None = None

    @property
    def strict(self) -> bool:
        """TLS is required (FORCESSL or CERTVERIFY): no session in clear."""
        return self.forcessl or self.certverify

    def options(self, host: str) -> Any:
        """The Twisted TLS options for a connection to ``host``."""
        _check_certpath(self.certpath)
        client_cert = None
        if self.certfile:
            if is_nss_db(self.certfile) or os.path.isdir(self.certfile):
                raise TlsConfigError(f"CERTFILE {self.certfile}: must be one PEM file")
            try:
                with open(self.certfile, "rb") as f:
                    client_cert = ssl.PrivateCertificate.loadPEM(f.read())
            except OSError as e:
                raise TlsConfigError(f"CERTFILE {self.certfile}: {e.strerror}") from None
            except Exception:
                raise TlsConfigError(
                    f"CERTFILE {self.certfile}: expected a certificate and its key in PEM"
                ) from None
        if not self.certverify:
            kwargs: dict[str, Any] = {"verify": False}
            if client_cert is not None:
                kwargs.update(
                    privateKey=client_cert.privateKey.original, certificate=client_cert.original
                )
            return ssl.CertificateOptions(**kwargs)
        if self.certpath is None:
            raise TlsConfigError("CERTVERIFY needs CERTPATH (the CAs to trust)")
        roots = [ssl.Certificate(c) for c in _pem_certs(self.certpath)]
        return ssl.optionsForClientTLS(
            (self.certhost or host),
            trustRoot=ssl.trustRootFromCertificates(roots),
            clientCertificate=client_cert,
        )


def client_tls_for_upsmon(conf: Any, host: str) -> ClientTls:
    """upsmon.conf's TLS settings for one upsd host (CERTHOST overrides per host)."""
    per = conf.certhost.get(host)
    return ClientTls(
        certpath=conf.certpath,
        certverify=per.verify if per is not None else bool(conf.certverify),
        forcessl=per.force if per is not None else bool(conf.forcessl),
        certhost=per.certname if per is not None else None,
        certfile=conf.certfile,
    )


def check_upsmon_tls(conf: Any) -> None:
    """Refuse what cannot work: NSS settings (nutwist reads PEM only), missing files."""
    if getattr(conf, "certident", None):
        raise TlsConfigError(
            "CERTIDENT names a certificate in an NSS database; "
            + NSS_HINT.format(path=conf.certpath or "DBDIR")
        )
    _check_certpath(conf.certpath)
    for host in list(conf.certhost) or ["localhost"]:
        settings = client_tls_for_upsmon(conf, host)
        if settings.certverify or settings.certfile:
            settings.options(host)


def client_tls_from_credentials(creds: Any) -> ClientTls | None:
    """nutauth.conf's TLS keys for a command-line client; None when none is set."""
    if not any((creds.certpath, creds.certfile, creds.certverify, creds.forcessl, creds.certhost)):
        return None
    return ClientTls(
        certpath=creds.certpath,
        certverify=bool(creds.certverify),
        forcessl=bool(creds.forcessl),
        certhost=creds.certhost,
        certfile=creds.certfile,
    )
