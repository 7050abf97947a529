"""The client side of the NUT network protocol (version 1.3), on Twisted.

:class:`NutClient` sends requests as they are asked for (pipelined) and
matches answers in order; each method returns a Deferred (``await`` works)
that fires with the parsed answer or fails with the :mod:`nutwist.client.errors`
class for the ``ERR`` code.  Answers are checked as NUT's client library
checks them: the reply must repeat the request's words, and a list must open
with ``BEGIN LIST`` and close with ``END LIST``.
"""

from __future__ import annotations

import functools
import re
from collections import deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, ParamSpec, TypeVar

from OpenSSL import SSL
from service_identity import VerificationError
from twisted.internet import defer, protocol
from twisted.internet.interfaces import IDelayedCall, IHandshakeListener, IReactorTime
from twisted.protocols import basic
from twisted.python.failure import Failure
from zope.interface import implementer

from nutwist.client import errors
from nutwist.config.tokenizer import TokenizerError, quote, split

#: a reply line longer than this is a broken server, not an answer
MAX_LINE = 64 * 1024


@dataclass
class _Request:
    kind: str  # "line" or "list"
    query: list[str]
    deferred: defer.Deferred[Any]
    rows: list[list[str]] = field(default_factory=list)
    begun: bool = False
    timer: IDelayedCall | None = None
    #: words an answer (or a list row) must carry after the echoed query
    need: int = 0
    #: STARTTLS: on ``OK STARTTLS`` whatever came after it in clear is thrown away
    starttls: bool = False


_PLAIN = re.compile(r"[!$-~]+")  # printable, no space, no quote, no '#'... checked below


def word(value: str) -> str:
    """A request word: as it is when the tokenizer would keep it whole, else quoted."""
    if value and _PLAIN.fullmatch(value) and not any(c in value for c in '"#\\='):
        return value
    return quote(value)


_P = ParamSpec("_P")
_T = TypeVar("_T")


def _deferred(f: Callable[_P, Coroutine[Any, Any, _T]]) -> Callable[_P, defer.Deferred[_T]]:
    """Run the coroutine at once (so its request goes out now) and hand back a Deferred."""

    @functools.wraps(f)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> defer.Deferred[_T]:
        return defer.ensureDeferred(f(*args, **kwargs))

    return wrapper


def _words(line: str) -> list[str]:
    try:
        return split(line)
    except TokenizerError as e:
        raise errors.ParseError(e.message) from None


def _after(words: list[str], query: list[str], need: int, line: str) -> list[str]:
    """The words after the echoed query, at least ``need`` of them."""
    rest = words[len(query) :]
    if len(rest) < need:
        raise errors.MalformedReply(f"answer too short: {line}")
    return rest


def _same(words: list[str], query: list[str]) -> bool:
    return len(words) >= len(query) and all(
        a.lower() == b.lower() for a, b in zip(words, query, strict=False)
    )


@implementer(IHandshakeListener)
class NutClient(basic.LineOnlyReceiver):
    """One connection to upsd.

    ``timeout`` (seconds, None for none) bounds every request; when it passes, the
    request fails with :class:`~nutwist.client.errors.Timeout` and the connection is
    dropped, since later answers could no longer be matched.
    """

    delimiter = b"\n"
    #: a longer reply line (or unfinished line) fails every request and hangs up
    MAX_LENGTH = MAX_LINE

    def __init__(self, clock: IReactorTime | None = None, timeout: float | None = None) -> None:
        self.clock = clock
        self.timeout = timeout
        #: set by ``OK STARTTLS``: the rest of the read came in clear and is dropped
        self._discarding = False
        self._pending: deque[_Request] = deque()
        self._lost = False
        self.connected_d: defer.Deferred[NutClient] = defer.Deferred()
        self.closed: defer.Deferred[None] = defer.Deferred()
        #: after STARTTLS succeeded
        self.tls = False
        self._handshake: defer.Deferred[None] | None = None

    # --- transport ------------------------------------------------------------------

    def connectionMade(self) -> None:
        self.connected_d.callback(self)

    def dataReceived(self, data: bytes) -> None:
        self._discarding = False
        super().dataReceived(data)

    def lineReceived(self, line: bytes) -> None:
        if self._lost or self._discarding:
            return
        self._line(line.decode("ascii", "replace"))

    def lineLengthExceeded(self, line: bytes) -> None:
        self._fail_all(errors.ProtocolError("answer line too long"))
        self.transport.loseConnection()  # type: ignore[union-attr]

    def handshakeCompleted(self) -> None:
        if self._handshake is not None and not self._handshake.called:
            self._handshake.callback(None)

    def connectionLost(self, reason: Failure = protocol.connectionDone) -> None:
        self._lost = True
        err: errors.NutError = errors.ServerDisconnected()
        if reason is not None and reason.check(SSL.Error):
            err = errors.SslError(_ssl_reason(reason.value))
        elif reason is not None and reason.check(VerificationError):
            err = errors.SslError(f"certificate does not match the host: {reason.value}")
        if self._handshake is not None and not self._handshake.called:
            self._handshake.errback(err)
        self._fail_all(err)
        if not self.closed.called:
            self.closed.callback(None)

    def _fail_all(self, err: Exception) -> None:
        pending, self._pending = self._pending, deque()
        for req in pending:
            self._cancel_timer(req)
            if not req.deferred.called:
                req.deferred.errback(err)

    def _cancel_timer(self, req: _Request) -> None:
        if req.timer is not None and req.timer.active():
            req.timer.cancel()
        req.timer = None

    # --- requests -------------------------------------------------------------------

    def send_line(self, words: list[str]) -> None:
        """Send one request line: words separated by spaces, quoted where needed."""
        self.transport.write((" ".join(words) + "\n").encode("ascii", "replace"))  # type: ignore[union-attr]

    def _request(
        self, kind: str, line: str, query: list[str], need: int = 0, starttls: bool = False
    ) -> defer.Deferred[Any]:
        if self._lost or self.transport is None:
            return defer.fail(errors.ServerDisconnected())
        req = _Request(kind, query, defer.Deferred(), need=need, starttls=starttls)
        if self.timeout is not None:
            clock = self.clock
            if clock is None:
                from twisted.internet import reactor

                clock = reactor
            assert clock is not None
            req.timer = clock.callLater(self.timeout, self._timed_out, req)
        self._pending.append(req)
        self.transport.write((line + "\n").encode("ascii", "replace"))
        return req.deferred

    def _timed_out(self, req: _Request) -> None:
        req.timer = None
        self._fail_all(errors.Timeout())
        self._lost = True
        if self.transport is not None:
            self.transport.abortConnection()  # type: ignore[attr-defined]

    def _line(self, line: str) -> None:
        if not self._pending:
            return  # nothing asked: an unsolicited line is ignored
        req = self._pending[0]
        try:
            done, result = self._answer(req, line)
        except Exception as e:
            if not isinstance(e, errors.NutError):
                # whatever the reply was, the caller gets a protocol error, never a crash
                e = errors.MalformedReply(f"unreadable answer: {line!r}")
            self._pending.popleft()
            self._cancel_timer(req)
            req.deferred.errback(e)
            return
        if done:
            self._pending.popleft()
            self._cancel_timer(req)
            if req.starttls and line.startswith("OK STARTTLS"):
                # anything after OK STARTTLS that came in clear is not the server's to vouch
                # for (an attacker's answer, or the start of one): the server's next bytes
                # are its TLS handshake, and answers are read only from inside TLS
                self._buffer = b""
                self._discarding = True
            req.deferred.callback(result)

    def _answer(self, req: _Request, line: str) -> tuple[bool, Any]:
        if req.kind == "raw":
            if line.startswith("ERR"):
                raise errors.error_for(line)
            return True, line
        if not req.begun and line.startswith("ERR"):
            raise errors.error_for(line)
        if req.kind == "line":
            words = _words(line)
            if not _same(words, req.query):
                raise errors.ProtocolError(f"unexpected answer: {line}")
            return True, _after(words, req.query, req.need, line)
        # a list: BEGIN LIST <query>, rows that repeat <query>, END LIST <query>
        if not req.begun:
            if not _same(_words(line), ["BEGIN", "LIST", *req.query]):
                raise errors.ProtocolError(f"unexpected answer: {line}")
            req.begun = True
            return False, None
        if line.startswith("END LIST"):
            return True, req.rows
        words = _words(line)
        if not _same(words, req.query):
            raise errors.ProtocolError(f"unexpected list line: {line}")
        req.rows.append(_after(words, req.query, req.need, line))
        return False, None

    def raw(self, line: str) -> defer.Deferred[str]:
        """Send a line as it is and get the answer line back (``ERR`` fails)."""
        return self._request("raw", line, [])

    def get(self, *query: str, need: int = 0) -> defer.Deferred[list[str]]:
        """``GET <query>``: the words of the answer after the echoed query words
        (at least ``need`` of them, else :class:`~nutwist.client.errors.MalformedReply`)."""
        return self._request("line", "GET " + " ".join(map(word, query)), list(query), need)

    def list_of(self, *query: str, need: int = 0) -> defer.Deferred[list[list[str]]]:
        """``LIST <query>``: the words of each row after the echoed query words
        (at least ``need`` in every row, else :class:`~nutwist.client.errors.MalformedReply`)."""
        return self._request("list", "LIST " + " ".join(map(word, query)), list(query), need)

    # --- the protocol's commands ------------------------------------------------------

    def ver(self) -> defer.Deferred[str]:
        return self.raw("VER")

    def netver(self) -> defer.Deferred[str]:
        return self.raw("NETVER")

    def help(self) -> defer.Deferred[str]:
        return self.raw("HELP")

    @_deferred
    async def get_var(self, ups: str, var: str) -> str:
        return (await self.get("VAR", ups, var, need=1))[0]

    @_deferred
    async def get_type(self, ups: str, var: str) -> list[str]:
        return await self.get("TYPE", ups, var, need=1)

    @_deferred
    async def get_desc(self, ups: str, var: str) -> str:
        return (await self.get("DESC", ups, var, need=1))[0]

    @_deferred
    async def get_cmddesc(self, ups: str, cmd: str) -> str:
        return (await self.get("CMDDESC", ups, cmd, need=1))[0]

    @_deferred
    async def get_upsdesc(self, ups: str) -> str:
        return (await self.get("UPSDESC", ups, need=1))[0]

    @_deferred
    async def get_numlogins(self, ups: str) -> int:
        count = (await self.get("NUMLOGINS", ups, need=1))[0]
        try:
            return int(count)
        except ValueError:
            raise errors.MalformedReply(f"NUMLOGINS {ups}: not a number: {count}") from None

    @_deferred
    async def get_tracking(self, tracking_id: str | None = None) -> str:
        """``GET TRACKING [id]``: ON/OFF, or PENDING/SUCCESS (ERR results raise)."""
        line = "GET TRACKING" + (f" {word(tracking_id)}" if tracking_id else "")
        return await self.raw(line)

    @_deferred
    async def list_ups(self) -> dict[str, str]:
        return {r[0]: r[1] for r in await self.list_of("UPS", need=2)}

    @_deferred
    async def list_var(self, ups: str) -> dict[str, str]:
        return {r[0]: r[1] for r in await self.list_of("VAR", ups, need=2)}

    @_deferred
    async def list_rw(self, ups: str) -> dict[str, str]:
        return {r[0]: r[1] for r in await self.list_of("RW", ups, need=2)}

    @_deferred
    async def list_cmd(self, ups: str) -> list[str]:
        return [r[0] for r in await self.list_of("CMD", ups, need=1)]

    @_deferred
    async def list_enum(self, ups: str, var: str) -> list[str]:
        return [r[0] for r in await self.list_of("ENUM", ups, var, need=1)]

    @_deferred
    async def list_range(self, ups: str, var: str) -> list[tuple[str, str]]:
        return [(r[0], r[1]) for r in await self.list_of("RANGE", ups, var, need=2)]

    @_deferred
    async def list_client(self, ups: str) -> list[str]:
        return [r[0] for r in await self.list_of("CLIENT", ups, need=1)]

    @_deferred
    async def username(self, name: str) -> str:
        return await self.raw(f"USERNAME {word(name)}")

    @_deferred
    async def password(self, password: str) -> str:
        return await self.raw(f"PASSWORD {word(password)}")

    @_deferred
    async def login(self, ups: str) -> str:
        return await self.raw(f"LOGIN {word(ups)}")

    @_deferred
    async def primary(self, ups: str) -> str:
        """PRIMARY, falling back to MASTER for a server older than 2.8 (as upsmon does)."""
        try:
            return await self.raw(f"PRIMARY {word(ups)}")
        except errors.ServerError as e:
            if isinstance(e, errors.AccessDenied | errors.UnknownUps):
                raise
            return await self.raw(f"MASTER {word(ups)}")

    @_deferred
    async def fsd(self, ups: str) -> str:
        return await self.raw(f"FSD {word(ups)}")

    @_deferred
    async def set_var(self, ups: str, var: str, value: str) -> str | None:
        """SET VAR; returns the TRACKING id when tracking is on, else None."""
        return _tracking(await self.raw(f"SET VAR {word(ups)} {word(var)} {quote(value)}"))

    @_deferred
    async def instcmd(self, ups: str, cmd: str, param: str | None = None) -> str | None:
        """INSTCMD; returns the TRACKING id when tracking is on, else None."""
        line = f"INSTCMD {word(ups)} {word(cmd)}" + (f" {word(param)}" if param is not None else "")
        return _tracking(await self.raw(line))

    @_deferred
    async def set_tracking(self, on: bool) -> str:
        return await self.raw("SET TRACKING " + ("ON" if on else "OFF"))

    @_deferred
    async def starttls(self, options: Any) -> None:
        """STARTTLS that must succeed: the handshake done (and verified) or an error.

        ``options`` are Twisted TLS client options (see :mod:`nutwist.tls.context`).
        """
        try:
            reply = await self._request("raw", "STARTTLS", [], starttls=True)
        except errors.ServerError:
            raise errors.SslNotAvailable() from None
        if not reply.startswith("OK STARTTLS"):
            raise errors.SslNotAvailable()
        self._handshake = defer.Deferred()
        self.transport.startTLS(options)  # type: ignore[union-attr]
        self.tls = True
        # nothing more goes out until the handshake (and its checks) succeeded
        await self._handshake

    @_deferred
    async def secure(self, settings: Any, host: str) -> bool:
        """STARTTLS as ``settings`` (a :class:`~nutwist.tls.context.ClientTls`) say.

        Strict settings (CERTVERIFY or FORCESSL) fail closed; otherwise NUT 2.8.0's
        opportunistic, unverified STARTTLS.  Returns whether the link is now TLS.
        """
        if settings is None or not settings.strict:
            if settings is not None and settings.certfile:
                try:
                    await self.starttls(settings.options(host))
                    return True
                except errors.SslNotAvailable:
                    return False
            return bool(await self.starttls_try())
        await self.starttls(settings.options(host))
        return True

    @_deferred
    async def starttls_try(self) -> bool:
        """NUT 2.8.0's clients' opportunistic TLS: STARTTLS, and on ``OK STARTTLS``
        a handshake that checks no certificate; any other answer keeps the link in
        clear.  (Verified TLS, failing closed, is :meth:`starttls`'s business.)"""
        try:
            reply = await self._request("raw", "STARTTLS", [], starttls=True)
        except errors.ServerError:
            return False
        if not reply.startswith("OK STARTTLS"):
            return False
        from twisted.internet import ssl

        self.transport.startTLS(ssl.CertificateOptions())  # type: ignore[union-attr]
        self.tls = True
        return True

    @_deferred
    async def authenticate(self, user: str, password: str) -> None:
        """USERNAME then PASSWORD, both required to answer OK."""
        for reply in (await self.username(user), await self.password(password)):
            if not reply.startswith("OK"):
                raise errors.ProtocolError(reply)

    @_deferred
    async def logout(self) -> None:
        """LOGOUT, then wait for the server to close (whatever it answers)."""
        if self._lost:
            return
        try:
            await self.raw("LOGOUT")
        except errors.NutError:
            pass
        if self.transport is not None:
            self.transport.loseConnection()
        await self.closed


def _tracking(reply: str) -> str | None:
    if reply.startswith("OK TRACKING "):
        return reply[len("OK TRACKING ") :].strip()
    return None


def connect(
    reactor: Any,
    host: str,
    port: int = 3493,
    timeout: float | None = 5.0,
    connect_timeout: float = 10.0,
    factory: Callable[[], NutClient] | None = None,
) -> defer.Deferred[NutClient]:
    """Connect to upsd; fires with a :class:`NutClient` once the TCP connection is up."""
    from twisted.internet.endpoints import HostnameEndpoint
    from twisted.internet.error import ConnectError, DNSLookupError

    make = factory or (lambda: NutClient(reactor, timeout))
    endpoint = HostnameEndpoint(
        reactor, host.encode("idna") if host else b"localhost", port, timeout=connect_timeout
    )

    def failed(f: Failure) -> Failure:
        if f.check(DNSLookupError):
            return Failure(errors.NoSuchHost())
        if f.check(ConnectError):
            return Failure(errors.ConnectionFailed(_reason(f.value)))
        return f

    client_factory = protocol.Factory.forProtocol(make)
    client_factory.noisy = False  # no "Starting factory <...>" line per connection
    d: defer.Deferred[Any] = endpoint.connect(client_factory)
    d.addErrback(failed)
    return d


def _ssl_reason(exc: Any) -> str:
    """A one-line reason from an OpenSSL error (certificate verify failed, ...)."""
    try:
        for _lib, _func, reason in exc.args[0]:
            if reason:
                return str(reason)
    except (IndexError, TypeError, ValueError):
        pass
    return str(exc) or "handshake failed"


def _reason(exc: Any) -> str:
    """The strerror NUT prints for a failed connect (Connection refused, ...)."""
    import os

    errno = getattr(exc, "osError", None)
    if isinstance(errno, int):
        return os.strerror(errno)
    name = type(exc).__name__
    return {
        "ConnectionRefusedError": "Connection refused",
        "TimeoutError": "Connection timed out",
        "NoRouteError": "No route to host",
    }.get(name, str(exc.args[0]) if getattr(exc, "args", None) else name)
