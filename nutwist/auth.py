"""Passwords in upsd.users: cleartext as NUT has them, or scrypt hashes (a nutwist extension).

A hashed entry reads ``password = "$scrypt$n=16384,r=8,p=1$<salt>$<hash>"`` (base64
salt and hash; quote it: ``$`` is fine, but keep the whole value one word).  Make one
with ``nutwist passwd``.  Every comparison takes constant time; verified pairs are
remembered (by a digest, never the password) so a busy upsmon costs one scrypt run.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

PREFIX = "$scrypt$"
N, R, P = 16384, 8, 1


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4))


def hash_password(
    password: str, *, n: int = N, r: int = R, p: int = P, salt: bytes | None = None
) -> str:
    salt = os.urandom(16) if salt is None else salt
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=32)
    return f"{PREFIX}n={n},r={r},p={p}${_b64(salt)}${_b64(digest)}"


def is_hashed(stored: str) -> bool:
    return stored.startswith(PREFIX)


#: digests of (entry, password) pairs that verified: no plaintext is kept
_verified: set[bytes] = set()
_VERIFIED_MAX = 256


def _scrypt_ok(stored: str, given: str) -> bool:
    try:
        params, salt, digest = stored[len(PREFIX) :].split("$")
        opts = dict(kv.split("=", 1) for kv in params.split(","))
        n, r, p = int(opts["n"]), int(opts["r"]), int(opts["p"])
        want = _unb64(digest)
        got = hashlib.scrypt(
            given.encode("utf-8"), salt=_unb64(salt), n=n, r=r, p=p, dklen=len(want)
        )
    except (ValueError, KeyError):
        return False
    return hmac.compare_digest(want, got)


def verify_password(stored: str, given: str) -> bool:
    """True if ``given`` matches the upsd.users entry ``stored`` (cleartext or hashed)."""
    if not is_hashed(stored):
        return hmac.compare_digest(
            stored.encode("utf-8", "surrogateescape"), given.encode("utf-8", "surrogateescape")
        )
    key = hashlib.sha256(
        stored.encode() + b"\0" + given.encode("utf-8", "surrogateescape")
    ).digest()
    if key in _verified:
        return True
    if not _scrypt_ok(stored, given):
        return False
    if len(_verified) >= _VERIFIED_MAX:
        _verified.clear()
    _verified.add(key)
    return True
