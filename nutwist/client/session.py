"""A NUT session that survives the server going away.

:class:`NutSession` is a Twisted service around :class:`ClientService`: it keeps
one connection to upsd, reconnects with a backoff when it drops, and before
handing the connection out again it repeats the session's set-up (USERNAME,
PASSWORD, then LOGIN and PRIMARY for each UPS asked for), so a caller such as
upsmon or the repeater driver never sees a connection without its login.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from twisted.application.internet import ClientService, backoffPolicy
from twisted.application.service import Service
from twisted.internet import defer, protocol
from twisted.internet.endpoints import HostnameEndpoint
from twisted.internet.interfaces import IStreamClientEndpoint
from twisted.logger import Logger

from nutwist.client.protocol import NutClient


class NutSession(Service):
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
            if self.username is not None:
                await client.username(self.username)
            if self.password is not None:
                await client.password(self.password)
            for ups in self.login_ups:
                await client.login(ups)
            for ups in self.primary_ups:
                await client.primary(ups)
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
