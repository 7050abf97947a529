"""Opening a logged-in session to upsd: the one way nutwist's clients do it.

:func:`log_in` runs the set-up on a connected :class:`NutClient`, in NUT's
order: TLS (verified settings fail closed; without settings, optionally NUT
2.8.0's unverified STARTTLS try), ``USERNAME``, ``PASSWORD``, ``LOGIN <ups>``,
``PRIMARY <ups>``.  Each step is sent only when it has a value.  What a refused
step means differs between NUT's programs, so each caller says it through
:class:`Refusals` (default: the error stops the set-up).  :class:`Backoff` spaces
out the attempts to a server that cannot be reached.

upsmon (:mod:`nutwist.monitor.service`), the repeater driver, upslog and the
command-line clients (:mod:`nutwist.cli.clientcommon`) all open their sessions
with :func:`log_in`.  :class:`NutSession` keeps one such session up as a
service, reconnecting with a backoff and logging in again each time, for
library users.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from twisted.application.internet import ClientService, backoffPolicy
from twisted.application.service import Service
from twisted.internet import defer, protocol
from twisted.internet.endpoints import HostnameEndpoint
from twisted.internet.interfaces import IStreamClientEndpoint
from twisted.logger import Logger

from nutwist.client import errors
from nutwist.client.protocol import NutClient, word

#: what a refused step does: return to carry on, raise to stop the set-up
OnRefused = Callable[[Exception], None]


def ignore(_: Exception) -> None:
    """A refusal that does not matter (NUT's clients do not check that answer)."""


@dataclass(frozen=True)
class Refusals:
    """Per step, what a refusal does; None: the error stops the set-up as it is.

    ``tls`` gets what the TLS step raised (a :class:`~nutwist.tls.context.TlsConfigError`
    for settings that cannot be loaded, an ``SslError`` or ``SslNotAvailable``); the
    others get upsd's :class:`~nutwist.client.errors.ServerError`.
    """

    tls: OnRefused | None = None
    username: OnRefused | None = None
    password: OnRefused | None = None
    login: OnRefused | None = None
    primary: OnRefused | None = None


@dataclass(frozen=True)
class Credentials:
    """What a session sends after TLS; None leaves a step out.

    ``bare_empty``: an empty user name or password goes out as ``USERNAME `` with
    nothing after it, as NUT's command-line clients send it (otherwise quoted, ``""``).
    """

    username: str | None = None
    password: str | None = None
    login: str | None = None
    primary: str | None = None
    bare_empty: bool = False


async def log_in(
    client: NutClient,
    host: str,
    *,
    tls: Any = None,
    try_starttls: bool = False,
    credentials: Credentials = Credentials(),
    refused: Refusals = Refusals(),
) -> None:
    """Set up a connected session: TLS, USERNAME, PASSWORD, LOGIN, PRIMARY.

    ``tls`` (a :class:`~nutwist.tls.context.ClientTls`) goes through
    :meth:`NutClient.secure` (strict settings fail closed); without it,
    ``try_starttls`` tries NUT 2.8.0's unverified STARTTLS, and otherwise the link
    stays in clear.
    """
    if tls is not None or try_starttls:
        try:
            if tls is not None:
                await client.secure(tls, host)
            else:
                await client.starttls_try()
        except Exception as e:
            if refused.tls is None:
                raise
            refused.tls(e)
    steps: tuple[tuple[str, str | None, OnRefused | None], ...] = (
        ("USERNAME", credentials.username, refused.username),
        ("PASSWORD", credentials.password, refused.password),
    )
    for verb, value, on_refused in steps:
        if value is None:
            continue
        line = f"{verb} " if credentials.bare_empty and not value else f"{verb} {word(value)}"
        try:
            await client.raw(line)
        except errors.ServerError as e:
            if on_refused is None:
                raise
            on_refused(e)
    if credentials.login is not None:
        try:
            await client.login(credentials.login)
        except errors.ServerError as e:
            if refused.login is None:
                raise
            refused.login(e)
    if credentials.primary is not None:
        try:
            await client.primary(credentials.primary)
        except errors.ServerError as e:
            if refused.primary is None:
                raise
            refused.primary(e)


class Backoff:
    """When the next attempt to reach each server may be made: after ``failures``
    failed attempts in a row, ``2 ** (failures - 1)`` seconds later, at most ``most``."""

    def __init__(self, most: float) -> None:
        self.most = most
        self._state: dict[str, tuple[int, float]] = {}

    def ready(self, key: str, now: float) -> bool:
        """Whether ``key`` may be tried at ``now``."""
        return now >= self._state.get(key, (0, 0.0))[1]

    def failed(self, key: str, now: float) -> None:
        failures = self._state.get(key, (0, 0.0))[0]
        self._state[key] = (failures + 1, now + min(2.0**failures, self.most))

    def succeeded(self, key: str) -> None:
        self._state.pop(key, None)


class NutSession(Service):
    """One session to upsd kept up as a service: reconnects with a backoff when the
    link drops, and logs in again (:func:`log_in`) before handing the client out."""

    log = Logger()

    def __init__(
        self,
        reactor: Any,
        host: str,
        port: int = 3493,
        username: str | None = None,
        password: str | None = None,
        login: list[str] | None = None,
        primary: list[str] | None = None,
        timeout: float | None = 10.0,
        endpoint: IStreamClientEndpoint | None = None,
        on_ready: Callable[[NutClient], Awaitable[None] | None] | None = None,
        max_delay: float = 30.0,
    ) -> None:
        self.reactor = reactor
        self.host, self.port = host, port
        self.username, self.password = username, password
        self.login_ups = list(login or [])
        self.primary_ups = list(primary or [])
        self.on_ready = on_ready
        self.endpoint = endpoint or HostnameEndpoint(reactor, host.encode("idna"), port, timeout=10)
        factory = protocol.Factory.forProtocol(lambda: NutClient(reactor, timeout))
        factory.noisy = False
        self._service = ClientService(
            self.endpoint,
            factory,
            retryPolicy=backoffPolicy(initialDelay=1.0, maxDelay=max_delay),
            clock=reactor,
            prepareConnection=self._prepare,
        )

    def _prepare(self, client: Any) -> defer.Deferred[None]:
        return defer.ensureDeferred(self._setup(client))

    async def _setup(self, client: NutClient) -> None:
        try:
            await log_in(
                client,
                self.host,
                credentials=Credentials(username=self.username, password=self.password),
            )
            for ups in self.login_ups:
                await log_in(client, self.host, credentials=Credentials(login=ups))
            for ups in self.primary_ups:
                await log_in(client, self.host, credentials=Credentials(primary=ups))
            if self.on_ready is not None:
                result = self.on_ready(client)
                if result is not None:
                    await result
        except Exception as e:
            # a failed set-up counts as a failed connection: drop it and retry later
            self.log.warn(
                "session set-up with {host}:{port} failed: {err}",
                host=self.host,
                port=self.port,
                err=e,
            )
            if client.transport is not None:
                client.transport.loseConnection()
            raise

    def startService(self) -> None:
        super().startService()
        self._service.startService()

    def stopService(self) -> defer.Deferred[None]:
        super().stopService()
        d: defer.Deferred[None] = self._service.stopService()
        return d

    def client(self, fail_after: int | None = None) -> defer.Deferred[NutClient]:
        """The connected, logged-in client (waits for one; ``fail_after`` failed tries)."""
        d: defer.Deferred[Any] = (
            self._service.whenConnected()
            if fail_after is None
            else self._service.whenConnected(failAfterFailures=fail_after)
        )
        return d
