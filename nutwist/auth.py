"""Passwords in upsd.users: cleartext as NUT has them, or scrypt hashes (a nutwist extension).

A hashed entry reads ``password = "$scrypt$n=16384,r=8,p=1$<salt>$<hash>"`` (base64
salt and hash; quote it: ``$`` is fine, but keep the whole value one word).  Make one
with ``nutwist passwd``.  A hashed entry is checked when upsd.users is read
(:func:`scrypt_problem`): a malformed one is a configuration error and never
matches.  Every comparison takes constant time and covers the whole digest.

upsd verifies hashes off its reactor thread, in a small bounded pool
(:class:`Verifier`), and spends the same scrypt work on a user that does not
exist (:func:`dummy_like`), so neither the time of an answer nor a stalled
server says which users exist.  Pairs that verified are remembered (by a keyed
digest, never the password) so a busy upsmon costs one scrypt run.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
from dataclasses import dataclass
from typing import Any

PREFIX = "$scrypt$"
N, R, P = 16384, 8, 1
#: the digest length ``nutwist passwd`` writes; a stored digest must have exactly this many
#: bytes (a truncated one would match one wrong guess in 256 per missing byte's worth)
DKLEN = 32
SALT_MIN, SALT_MAX = 8, 64
#: scrypt needs about 128*r*n bytes; refuse parameters beyond this (and beyond OpenSSL's
#: default budget of 32 MiB, which hashlib would refuse at every login)
MAXMEM = 64 * 1024 * 1024
N_MAX, R_MAX, P_MAX = 1 << 20, 64, 16

_PARAMS_RE = re.compile(r"n=(\d{1,8}),r=(\d{1,3}),p=(\d{1,3})\Z")
_B64_RE = re.compile(r"[A-Za-z0-9+/]+={0,2}\Z")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    if not _B64_RE.match(text):
        raise ValueError("not base64")
    text = text.rstrip("=")
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)


def hash_password(
    password: str, *, n: int = N, r: int = R, p: int = P, salt: bytes | None = None
) -> str:
    salt = os.urandom(16) if salt is None else salt
    digest = hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=DKLEN, maxmem=MAXMEM
    )
    return f"{PREFIX}n={n},r={r},p={p}${_b64(salt)}${_b64(digest)}"


def is_hashed(stored: str) -> bool:
    return stored.startswith(PREFIX)


@dataclass(frozen=True)
class Scrypt:
    """A parsed, checked ``$scrypt$`` entry."""

    n: int
    r: int
    p: int
    salt: bytes
    digest: bytes

    @property
    def params(self) -> tuple[int, int, int]:
        return self.n, self.r, self.p


def parse_scrypt(stored: str) -> Scrypt:
    """The parts of a ``$scrypt$n=..,r=..,p=..$salt$digest`` entry; ValueError says what is wrong."""
    if not is_hashed(stored):
        raise ValueError("it does not start with $scrypt$")
    parts = stored[len(PREFIX) :].split("$")
    if len(parts) != 3:
        raise ValueError("expected $scrypt$n=<n>,r=<r>,p=<p>$<salt>$<hash>")
    params, salt_text, digest_text = parts
    m = _PARAMS_RE.match(params)
    if m is None:
        raise ValueError(f"parameters {params!r}: expected n=<n>,r=<r>,p=<p>")
    n, r, p = (int(x) for x in m.groups())
    if n < 2 or n > N_MAX or n & (n - 1):
        raise ValueError(f"n={n}: expected a power of 2 from 2 to {N_MAX}")
    if not 1 <= r <= R_MAX or not 1 <= p <= P_MAX:
        raise ValueError(f"r={r}, p={p}: expected r from 1 to {R_MAX} and p from 1 to {P_MAX}")
    if 128 * r * (n + p + 2) > MAXMEM:
        raise ValueError(f"n={n}, r={r}: needs more than {MAXMEM >> 20} MiB per check")
    try:
        salt = _unb64(salt_text)
    except (ValueError, binascii.Error):
        raise ValueError("the salt is not base64") from None
    try:
        digest = _unb64(digest_text)
    except (ValueError, binascii.Error):
        raise ValueError("the hash is not base64") from None
    if not SALT_MIN <= len(salt) <= SALT_MAX:
        raise ValueError(f"the salt has {len(salt)} bytes, expected {SALT_MIN} to {SALT_MAX}")
    if len(digest) != DKLEN:
        raise ValueError(f"the hash has {len(digest)} bytes, expected {DKLEN}")
    return Scrypt(n, r, p, salt, digest)


def scrypt_problem(stored: str) -> str | None:
    """Why a hashed upsd.users entry is malformed, or None when it is fine (or cleartext)."""
    if not is_hashed(stored):
        return None
    try:
        parse_scrypt(stored)
    except ValueError as e:
        return str(e)
    return None


def dummy_like(params: tuple[int, int, int] = (N, R, P)) -> str:
    """A hash nothing matches, costing the same scrypt work as a real one with ``params``."""
    n, r, p = params
    return f"{PREFIX}n={n},r={r},p={p}${_b64(os.urandom(16))}${_b64(os.urandom(DKLEN))}"


_DUMMY = dummy_like()


def _scrypt_ok(stored: str, given: str) -> bool:
    try:
        s = parse_scrypt(stored)
        sham = False
    except ValueError:
        # a malformed entry never matches, but costs the same as a real one
        s, sham = parse_scrypt(_DUMMY), True
    got = hashlib.scrypt(
        given.encode("utf-8", "surrogateescape"),
        salt=s.salt, n=s.n, r=s.r, p=s.p, dklen=DKLEN, maxmem=MAXMEM,
    )  # fmt: skip
    return hmac.compare_digest(s.digest, got) and not sham


def _cleartext_ok(stored: str, given: str) -> bool:
    # compare digests: equal lengths, so not even the password's length shows in the time
    a = hashlib.sha256(stored.encode("utf-8", "surrogateescape")).digest()
    b = hashlib.sha256(given.encode("utf-8", "surrogateescape")).digest()
    return hmac.compare_digest(a, b)


def costly(stored: str) -> bool:
    """Checking a password against ``stored`` runs scrypt (upsd does it off its reactor)."""
    return is_hashed(stored)


def verify_password(stored: str, given: str) -> bool:
    """True if ``given`` matches the upsd.users entry ``stored`` (cleartext or hashed)."""
    if is_hashed(stored):
        return _scrypt_ok(stored, given)
    return _cleartext_ok(stored, given)


#: the key of :func:`pair_key`: per process, so the digests it makes are useless elsewhere
_KEY = os.urandom(32)


def pair_key(user: str, stored: str, given: str) -> bytes:
    """A keyed digest of a (user, entry, password) triple: what upsd remembers of a pair
    that verified, so a busy upsmon costs one scrypt run (no plaintext is kept)."""
    enc = [x.encode("utf-8", "surrogateescape") for x in (user, stored, given)]
    return hmac.new(_KEY, b"\0".join(enc), hashlib.sha256).digest()


def pool_size() -> int:
    """Threads for scrypt: two, but leave the reactor a core of its own on small machines."""
    return max(1, min(2, (os.cpu_count() or 2) - 1))


class Verifier:
    """scrypt checks on a small thread pool, with a bounded number waiting.

    :meth:`verify` returns a Deferred firing with True/False, or None when
    ``max_pending`` checks are already queued or running (the caller answers as
    its throttle does rather than let them pile up).
    """

    def __init__(self, reactor: Any, threads: int | None = None, max_pending: int = 16) -> None:
        from twisted.python.threadpool import ThreadPool

        self.reactor = reactor
        self.pool = ThreadPool(minthreads=0, maxthreads=threads or pool_size(), name="scrypt")
        self.max_pending = max_pending
        self.pending = 0

    def start(self) -> None:
        self.pool.start()

    def stop(self) -> None:
        self.pool.stop()

    def verify(self, stored: str, given: str) -> Any:
        from twisted.internet.threads import deferToThreadPool

        if self.pending >= self.max_pending:
            return None
        self.pending += 1
        d = deferToThreadPool(self.reactor, self.pool, verify_password, stored, given)

        def done(result: object) -> object:
            self.pending -= 1
            return result

        d.addBoth(done)
        return d
