"""dummy-ups in repeater mode: re-publish a UPS that another upsd serves.

``port = ups@host[:port]`` names the remote UPS.  Each poll asks the remote
upsd for ``LIST VAR`` and ``LIST CMD`` and mirrors them into the driver's
state: new variables get their flags from ``GET TYPE`` (``RW``,
``STRING:<n>``, and the ``ENUM``/``RANGE`` lists), changed values are
updated, vanished variables and commands are deleted.  The remote's
``driver.*`` variables are left out (this driver has its own), as NUT does;
``ups.status`` goes through the status builder, so ``ignorelb`` still works.

With ``username``/``password`` the connection sends ``USERNAME``,
``PASSWORD`` and ``LOGIN <ups>``, and SET and INSTCMD received on the driver
socket are forwarded to the remote; their outcome is read back with
``SET TRACKING ON``/``GET TRACKING`` and becomes this driver's TRACKING answer.

The data goes stale while the remote cannot be reached or answers
``DATA-STALE``/``DRIVER-NOT-CONNECTED``; a lost connection is retried on the
next polls, backing off as the driver core does for any failing device.

NUT 2.8.0's C repeater differs (and this module does not copy those parts):
it exits when the first connection fails, never marks the data stale (it
reconnects after any error, which loses the DATA-STALE code it then checks),
keeps vanished variables, gives flags from dummy-ups' own table instead of the
remote's, answers no SET at all, does not forward instant commands, and
publishes a ``load.off`` command that does nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from twisted.internet import defer, task
from twisted.internet.interfaces import IReactorTCP
from twisted.logger import Logger

from nutwist.client import errors
from nutwist.client.names import AddrError, split_name
from nutwist.client.protocol import NutClient, connect
from nutwist.client.session import Credentials, Refusals, log_in
from nutwist.config.tokenizer import unescape
from nutwist.drivers.core import (
    TRACKING_FAILED,
    TRACKING_INVALID,
    TRACKING_SUCCESS,
    TRACKING_UNKNOWN,
    DeviceError,
    Driver,
)
from nutwist.model.state import fold
from nutwist.tls.context import ClientTls, TlsConfigError

#: seconds a remote request may take before the connection is given up
REQUEST_TIMEOUT = 5.0
#: seconds to wait for the remote driver to settle a forwarded SET/INSTCMD
COMMAND_TIMEOUT = 10.0
#: seconds between two GET TRACKING while the remote says PENDING
TRACKING_POLL = 0.2

# ERR codes of a refused SET/INSTCMD, as the driver socket's TRACKING statuses
_UNKNOWN_ERRORS = (
    errors.VarNotSupported,
    errors.UnknownVar,
    errors.VarUnknown,
    errors.CmdNotSupported,
    errors.UnknownInstcmd,
    errors.UnknownCommand,
    errors.TrackingUnknown,
)
_INVALID_ERRORS = (
    errors.InvalidValue,
    errors.ReadOnly,
    errors.TooLong,
    errors.InvalidArgument,
    errors.MissingArgument,
)

Connector = Callable[[], "defer.Deferred[NutClient]"]


def tracking_status(err: BaseException) -> int:
    """The TRACKING status a refused or failed remote SET/INSTCMD becomes."""
    if isinstance(err, _UNKNOWN_ERRORS):
        return TRACKING_UNKNOWN
    if isinstance(err, _INVALID_ERRORS):
        return TRACKING_INVALID
    return TRACKING_FAILED


@dataclass
class RemoteType:
    """What GET TYPE (and LIST ENUM/RANGE) said about one remote variable."""

    flags: list[str] = field(default_factory=list)
    aux: int = 0
    enums: list[str] = field(default_factory=list)
    ranges: list[tuple[int, int]] = field(default_factory=list)

    @classmethod
    def parse(cls, words: list[str]) -> RemoteType:
        t = cls()
        for w in words:
            up = w.upper()
            if up == "RW":
                t.flags.append("RW")
            elif up.startswith("STRING"):
                t.flags.append("STRING")
                _, _, n = w.partition(":")
                t.aux = int(n) if n.isdigit() else 0
            # NUMBER is what upsd says for anything that is not a STRING: no flag
        return t


class Repeater:
    """The repeater's side of :class:`~nutwist.drivers.dummy_ups.DummyUps`."""

    log = Logger()

    def __init__(
        self,
        driver: Driver,
        target: str,
        *,
        username: str | None = None,
        password: str | None = None,
        connector: Connector | None = None,
        request_timeout: float = REQUEST_TIMEOUT,
        command_timeout: float = COMMAND_TIMEOUT,
    ) -> None:
        self.driver = driver
        self.clock = driver.clock
        try:
            ups, host, port = split_name(target)
        except (AddrError, ValueError) as e:
            raise DeviceError(f"port {target!r}: expected upsname@hostname[:port] ({e})") from None
        if not host:
            raise DeviceError(f"port {target!r}: expected upsname@hostname[:port]")
        self.ups, self.host, self.port = ups, host, port
        self.username, self.password = username, password
        #: TLS from the ups.conf section (certpath, certverify, forcessl, certhost, certfile);
        #: without them, NUT's repeater habit: STARTTLS if offered, unverified
        self.tls = _tls_from_section(driver)
        self.request_timeout = request_timeout
        self.command_timeout = command_timeout
        self.connector = connector or self._connect_tcp
        self.client: NutClient | None = None
        #: the remote answered SET TRACKING ON: SET/INSTCMD outcomes can be read back
        self.tracking = False
        #: folded name -> name of every variable this repeater has published
        self.published: dict[str, str] = {}
        #: folded name -> the remote's type, for variables whose type has been read
        self.types: dict[str, RemoteType] = {}
        #: folded name -> name of every command published
        self.commands: dict[str, str] = {}
        self.remote_stale: str | None = None
        self._stopping = False

    @property
    def where(self) -> str:
        return f"{self.ups}@{self.host}:{self.port}"

    def _connect_tcp(self) -> defer.Deferred[NutClient]:
        reactor: Any = self.clock
        if not IReactorTCP.providedBy(reactor):
            # a driver on a test clock has no network (and must not borrow the real reactor)
            raise DeviceError(f"{self.where}: the driver's clock cannot make connections")
        return connect(reactor, self.host, self.port, timeout=self.request_timeout)

    # --- the connection ---------------------------------------------------------------

    async def _connect(self) -> NutClient:
        try:
            client = await self.connector()
        except errors.NutError as e:
            raise DeviceError(f"{self.where}: {e.message}") from None

        def tls_failed(e: Exception) -> None:
            if isinstance(e, TlsConfigError):
                raise errors.SslError(str(e)) from None
            raise e

        def login_refused(e: Exception) -> None:
            # counting as a login is a courtesy to the remote's upsmon, not a need
            assert isinstance(e, errors.ServerError)
            self.log.warn(
                "{ups}: LOGIN {where} refused: {err}",
                ups=self.driver.upsname,
                where=self.where,
                err=e.reply,
            )

        try:
            await log_in(
                client,
                self.host,
                tls=self.tls,
                try_starttls=True,
                credentials=Credentials(
                    username=self.username,
                    password=self.password,
                    login=self.ups if self.username is not None else None,
                ),
                refused=Refusals(tls=tls_failed, login=login_refused),
            )
            try:
                await client.set_tracking(True)
                self.tracking = True
            except errors.ServerError:
                self.tracking = False  # an upsd before 2.8: an accepted command is a success
        except errors.NutError as e:
            self._drop(client)
            raise DeviceError(f"{self.where}: {e}") from None
        self.client = client
        # a new connection may lead to a new remote driver: read every type again
        self.types.clear()
        client.closed.addCallback(lambda _: self._lost(client))
        self.log.info("{ups}: repeating {where}", ups=self.driver.upsname, where=self.where)
        return client

    def _drop(self, client: NutClient) -> None:
        if client.transport is not None:
            client.transport.loseConnection()

    def _lost(self, client: NutClient) -> None:
        if self.client is not client:
            return
        self.client = None
        if not self._stopping:
            self.log.warn(
                "{ups}: lost the connection to {where}", ups=self.driver.upsname, where=self.where
            )
            self.driver.datastale()

    def stop(self) -> None:
        self._stopping = True
        client, self.client = self.client, None
        if client is not None:
            self._drop(client)

    # --- polling ------------------------------------------------------------------------

    def update(self) -> defer.Deferred[None]:
        return defer.Deferred.fromCoroutine(self._update())

    async def _update(self) -> None:
        client = self.client or await self._connect()
        try:
            values = await client.list_var(self.ups)
            commands = await client.list_cmd(self.ups)
            values = {k: v for k, v in values.items() if not fold(k).startswith("driver.")}
            await self._read_types(client, [k for k in values if fold(k) not in self.types])
        except (errors.DataStale, errors.DriverNotConnected) as e:
            # the remote upsd is fine, its driver is not: keep the connection, wait
            if self.remote_stale is None:
                self.log.warn(
                    "{ups}: {where} answers {err}",
                    ups=self.driver.upsname,
                    where=self.where,
                    err=e.reply,
                )
            self.remote_stale = e.code
            self.driver.datastale()
            return
        except errors.ServerError as e:
            raise DeviceError(f"{self.where}: {e.reply}") from None
        except errors.NutError as e:
            self._drop(client)
            raise DeviceError(f"{self.where}: {e}") from None
        if self.remote_stale is not None:
            self.log.info(
                "{ups}: {where} has data again", ups=self.driver.upsname, where=self.where
            )
            self.remote_stale = None
        self._publish(values)
        self._publish_commands([c for c in commands if not fold(c).startswith("driver.")])
        self.driver.dataok()

    async def _read_types(self, client: NutClient, names: list[str]) -> None:
        """GET TYPE (and LIST ENUM/RANGE where it says so) for each name, pipelined."""

        async def one(name: str) -> None:
            try:
                words = await client.get_type(self.ups, name)
                t = RemoteType.parse(words)
                upper = [w.upper() for w in words]
                if "ENUM" in upper:
                    t.enums = await client.list_enum(self.ups, name)
                if "RANGE" in upper:
                    for lo, hi in await client.list_range(self.ups, name):
                        try:
                            t.ranges.append((int(lo), int(hi)))
                        except ValueError:
                            continue
            except (errors.DataStale, errors.DriverNotConnected):
                raise
            except errors.ServerError:
                # gone since LIST VAR, or an upsd without GET TYPE: publish it without flags
                t = RemoteType()
            self.types[fold(name)] = t

        pending = [defer.Deferred.fromCoroutine(one(n)) for n in names]
        failed: BaseException | None = None
        for d in pending:  # wait for every answer before handing on the first failure
            try:
                await d
            except errors.NutError as e:
                failed = failed or e
        if failed is not None:
            raise failed

    def _publish(self, values: dict[str, str]) -> None:
        d = self.driver
        for name, value in values.items():
            key = fold(name)
            if key == "ups.status":
                d.status_init()
                d.status_set(value)
                d.status_commit()
            else:
                d.setinfo(name, value)
            self.published[key] = name
            t = self.types.get(key)
            if t is not None:
                self._apply_type(name, t)
        seen = {fold(n) for n in values}
        for key in [k for k in self.published if k not in seen]:
            d.delinfo(self.published.pop(key))
            self.types.pop(key, None)

    def _apply_type(self, name: str, t: RemoteType) -> None:
        d = self.driver
        flags = list(t.flags)
        if t.ranges:
            flags.append("NUMBER")  # what a range makes of a variable anyway
        d.setflags(name, flags)
        if "STRING" in t.flags:
            d.setaux(name, t.aux)
        current = [unescape(e) for e in d.state.getenums(name) or ()]
        if current != t.enums:
            for enc in d.state.getenums(name) or ():
                if unescape(enc) not in t.enums:
                    d.delenum(name, enc)
            for e in t.enums:
                d.addenum(name, e)
        if list(d.state.getranges(name) or ()) != t.ranges:
            # DELRANGE removes the first range sharing a bound: empty the list from the front
            while ranges := d.state.getranges(name):
                d.delrange(name, *ranges[0])
            for lo, hi in t.ranges:
                d.addrange(name, lo, hi)

    def _publish_commands(self, commands: list[str]) -> None:
        seen = {fold(c) for c in commands}
        for key in [k for k in self.commands if k not in seen]:
            self.driver.delcmd(self.commands.pop(key))
        for c in commands:
            self.commands[fold(c)] = c
            self.driver.addcmd(c)

    # --- commands from the driver socket --------------------------------------------------

    def setvar(self, var: str, value: str) -> defer.Deferred[int]:
        return defer.Deferred.fromCoroutine(
            self._forward(lambda c: c.set_var(self.ups, var, value), f"SET {var}")
        )

    def instcmd(self, cmd: str, param: str | None) -> defer.Deferred[int]:
        if fold(cmd).startswith("driver."):
            # this driver's own commands never reach the remote one
            return defer.succeed(TRACKING_UNKNOWN)
        return defer.Deferred.fromCoroutine(
            self._forward(lambda c: c.instcmd(self.ups, cmd, param), f"INSTCMD {cmd}")
        )

    async def _forward(self, send: Callable[[NutClient], Any], what: str) -> int:
        client = self.client
        if client is None:
            self.log.warn(
                "{ups}: {what}: {where} is not connected",
                ups=self.driver.upsname,
                what=what,
                where=self.where,
            )
            return TRACKING_FAILED
        try:
            tracking_id = await send(client)
        except errors.NutError as e:
            self.log.warn(
                "{ups}: {what} refused by {where}: {err}",
                ups=self.driver.upsname,
                what=what,
                where=self.where,
                err=str(e),
            )
            return tracking_status(e)
        if tracking_id is None:
            return TRACKING_SUCCESS
        return await self._outcome(client, tracking_id, what)

    async def _outcome(self, client: NutClient, tracking_id: str, what: str) -> int:
        """Ask GET TRACKING until the remote driver has answered (or time runs out)."""
        deadline = self.clock.seconds() + self.command_timeout
        while True:
            try:
                answer = await client.get_tracking(tracking_id)
            except errors.NutError as e:
                return tracking_status(e)
            if answer.strip().upper() == "SUCCESS":
                return TRACKING_SUCCESS
            if self.clock.seconds() >= deadline:
                self.log.warn(
                    "{ups}: {what}: {where} did not settle it in {t} s",
                    ups=self.driver.upsname,
                    what=what,
                    where=self.where,
                    t=self.command_timeout,
                )
                return TRACKING_FAILED
            await task.deferLater(self.clock, TRACKING_POLL, lambda: None)


def _tls_from_section(driver: Driver) -> ClientTls | None:
    def flag(name: str) -> bool:
        return (driver.getval(name) or "0").strip().lower() in ("1", "yes", "on", "true")

    values = {k: driver.getval(k) for k in ("certpath", "certhost", "certfile")}
    if not any(values.values()) and not flag("certverify") and not flag("forcessl"):
        return None
    return ClientTls(
        certpath=values["certpath"],
        certverify=flag("certverify"),
        forcessl=flag("forcessl"),
        certhost=values["certhost"],
        certfile=values["certfile"],
    )
