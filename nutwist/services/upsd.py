"""upsd: the data server.  What its clients share, and the service that listens.

:class:`UpsdState` holds the UPSes (each with its driver link, FSD latch and
login count), the users, the tracking table and the connected clients; the
protocol (:mod:`nutwist.protocols.net`) asks it everything.  :class:`UpsdService`
connects the links, listens on every LISTEN address, drops clients silent for
60 seconds and refuses connections past MAXCONN.
"""

from __future__ import annotations

import os
import socket
import stat
import uuid
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from twisted.application import service
from twisted.internet import protocol
from twisted.internet.interfaces import IReactorTime
from twisted.internet.task import LoopingCall
from twisted.logger import Logger

from nutwist import NUT_COMPAT_VERSION, __version__, auth
from nutwist.config.tcpwrap import HostsAccess
from nutwist.config.tokenizer import encode
from nutwist.config.ups import UpsConf
from nutwist.config.upsd import Listen, UpsdConf
from nutwist.config.users import UsersConf
from nutwist.model import cmdvartab
from nutwist.model.state import Variable
from nutwist.paths import DEFAULT_DATAPATH, socket_name
from nutwist.protocols.net import AUTH_BAD, AUTH_OK, AUTH_THROTTLED, NetServerProtocol, Ups
from nutwist.services.driverlink import DriverLink
from nutwist.services.loops import guarded
from nutwist.services.writethrough import listen_tcp
from nutwist.tls.context import TlsConfigError, server_context_from_conf

SERVER_VERSION = f"{__version__}-nutwist"
SERVER_INFO = (
    f"Network UPS Tools upsd {SERVER_VERSION} (NUT {NUT_COMPAT_VERSION} compatible) - "
    "http://www.networkupstools.org/"
)
IDLE_TIMEOUT = 60
#: (user, address) pairs whose failed checks are remembered (the oldest are forgotten)
FAILURES_MAX = 4096
#: pairs that logged in, remembered (only valid pairs get in: the bound is generous)
KNOWN_GOOD_MAX = 1024
#: request lines whose answers upsd keeps (a poller fleet asks a few dozen)
ANSWER_CACHE_MAX = 4096
TRACKING_TEXT = {
    -1: "PENDING",
    0: "SUCCESS",
    1: "ERR UNKNOWN",
    2: "ERR INVALID-ARGUMENT",
    3: "ERR FAILED",
}


@dataclass(eq=False)
class UpsEntry:
    name: str
    desc: str | None
    link: DriverLink
    fsd: bool = False
    numlogins: int = 0

    def status_value(self, var: Variable) -> str:
        return ("FSD " + var.value) if self.fsd else var.value


@dataclass
class UpsdState:
    """What upsd's connections share: the UPSes, users, ACL, tracking table, login
    throttling, the answer cache and the list of connected clients.

    Each connection's protocol asks it everything that is not the connection's own:
    it implements :class:`nutwist.protocols.net.UpsdBackend`.
    """

    clock: IReactorTime
    conf: UpsdConf
    users: UsersConf
    descriptions: cmdvartab.Descriptions
    acl: HostsAccess | None = None
    ups: OrderedDict[str, UpsEntry] = field(default_factory=OrderedDict)
    clients: list[NetServerProtocol] = field(default_factory=list)
    tracking: dict[str, tuple[int, float]] = field(default_factory=dict)
    #: login throttling, per (user name, address): failed checks, and locks
    failures: dict[tuple[str, str], list[float]] = field(default_factory=dict)
    locked_until: dict[tuple[str, str], float] = field(default_factory=dict)
    #: pairs that logged in (auth.pair_key of user, entry, password): never locked out
    known_good: set[bytes] = field(default_factory=set)
    #: scrypt checks off the reactor (None: checked in line, as in unit tests)
    verifier: auth.Verifier | None = None
    max_line: int = 16 * 1024
    log: Any = field(default_factory=Logger)
    #: request line -> (entry, its state, state version, FSD latch, answer bytes):
    #: pollers ask the same GET VAR over and over; an answer is reused only while
    #: nothing it depends on has changed (see :meth:`cached_answer`)
    answers: dict[bytes, tuple[UpsEntry, Any, int, bool, bytes]] = field(default_factory=dict)
    #: the TLS context factory for STARTTLS (None: ERR FEATURE-NOT-CONFIGURED)
    tls: Any = None

    # --- UPSes ------------------------------------------------------------------

    def find_ups(self, name: str) -> UpsEntry | None:
        hit = self.ups.get(name.lower())
        return hit

    def ups_list(self) -> list[UpsEntry]:
        return list(self.ups.values())

    def add_ups(self, entry: UpsEntry, first: bool = False) -> None:
        self.ups[entry.name.lower()] = entry
        if first:
            self.ups.move_to_end(entry.name.lower(), last=False)
        self.answers.clear()

    def remove_ups(self, name: str) -> None:
        del self.ups[name.lower()]
        self.answers.clear()

    def cached_answer(self, line: bytes) -> bytes | None:
        """The GET VAR answer kept for ``line``, while its UPS data, FSD latch and
        freshness are unchanged (upsd's fast path: keep this cheap)."""
        hit = self.answers.get(line)
        if hit is None:
            return None
        entry, st, version, fsd, answer = hit
        link = entry.link
        # DriverLink.is_stale() written out: this runs for every cached request
        if (
            link.state is st
            and st.version == version
            and entry.fsd is fsd
            and link.connected
            and (link.data_ok or not link.dumpdone)
            and link.clock.seconds() - link.last_heard <= link.maxage
        ):
            return answer
        return None

    def remember(self, line: bytes, ups: Ups, answer: bytes) -> None:
        """Keep a GET VAR answer for the same request line while its data holds."""
        entry = self._ups(ups)
        if len(self.answers) >= ANSWER_CACHE_MAX:
            self.answers.clear()
        st = entry.link.state
        self.answers[line] = (entry, st, st.version, entry.fsd, answer)

    @staticmethod
    def _ups(ups: Ups) -> UpsEntry:
        assert isinstance(ups, UpsEntry)
        return ups

    def unavailable(self, ups: Ups) -> str | None:
        link = self._ups(ups).link
        if not link.connected:
            return "DRIVER-NOT-CONNECTED"
        if link.is_stale():
            return "DATA-STALE"
        return None

    def variable(self, ups: Ups, name: str) -> Variable | None:
        return self._ups(ups).link.state.get(name)

    def variables(self, ups: Ups) -> Iterable[Variable]:
        return iter(self._ups(ups).link.state)

    def value_of(self, ups: Ups, var: Variable) -> str:
        entry = self._ups(ups)
        return entry.status_value(var) if var.name.lower() == "ups.status" else var.value

    def type_words(self, ups: Ups, name: str) -> str | None:
        return self._ups(ups).link.state.type_words(name)

    def commands(self, ups: Ups) -> Sequence[str]:
        return self._ups(ups).link.state.commands()

    def has_command(self, ups: Ups, cmd: str) -> bool:
        return self._ups(ups).link.state.getcmd(cmd) is not None

    def describe_var(self, name: str) -> str:
        return self.descriptions.var(name)

    def describe_cmd(self, name: str) -> str:
        return self.descriptions.cmd(name)

    def logged_in(self, ups: Ups) -> None:
        self._ups(ups).numlogins += 1

    def set_fsd(self, ups: Ups) -> None:
        self._ups(ups).fsd = True

    def setvar(self, ups: Ups, name: str, value: str, tracking: str | None) -> bool:
        return self._ups(ups).link.setvar(name, value, tracking)

    def instcmd(self, ups: Ups, cmd: str, param: str | None, tracking: str | None) -> bool:
        return self._ups(ups).link.instcmd(cmd, param, tracking)

    @property
    def server_info(self) -> str:
        return SERVER_INFO

    def server_var(self, name: str) -> str | None:
        low = name.lower()
        if low == "server.info":
            return encode(SERVER_INFO)
        if low == "server.version":
            return SERVER_VERSION
        return None

    # --- clients --------------------------------------------------------------------

    def client_connected(self, client: NetServerProtocol) -> None:
        self.clients.insert(0, client)

    def client_disconnected(self, client: NetServerProtocol) -> None:
        if client in self.clients:
            self.clients.remove(client)
        if client.loginups is not None:
            entry = self.find_ups(client.loginups)
            if entry is not None and entry.numlogins > 0:
                entry.numlogins -= 1

    def clients_of(self, ups: Ups) -> list[NetServerProtocol]:
        return [c for c in self.clients if c.loginups == ups.name]

    # --- users -------------------------------------------------------------------------

    def _entry(self, username: str) -> tuple[str, bool]:
        """What a password for ``username`` is checked against, and whether it can match.

        A user that does not exist, has no password or a malformed hash is checked
        against a hash nothing matches, at the same cost, so timing tells nothing.
        """
        user = self.users.get(username)
        if user is None or user.password is None:
            return self.users.dummy_password(), False
        return user.password, user.password_error is None

    def check_password(self, username: str, given: str, addr: str, inline: bool = False) -> Any:
        """The outcome (AUTH_OK, AUTH_BAD, AUTH_THROTTLED) of checking ``given`` for
        ``username`` from ``addr``: now when that is cheap (or ``inline``), else a
        Deferred of the scrypt run on the verifier's threads, firing with the outcome
        (None: upsd.users was reloaded meanwhile, check again).

        A pair that logged in before against the same entry always passes (a lock never
        shuts out upsmon's valid login); otherwise a locked (user, address), or a full
        verifier queue, gets the throttle's answer without any check.
        """
        stored, real = self._entry(username)
        if real and auth.pair_key(username, stored, given) in self.known_good:
            return AUTH_OK
        key = (username, addr)
        locked = self.locked_until.get(key)
        if locked is not None and self.clock.seconds() < locked:
            return AUTH_THROTTLED
        users = self.users
        if inline or self.verifier is None or not auth.costly(stored):
            return self._settle(
                users, key, stored, real, given, auth.verify_password(stored, given)
            )
        d = self.verifier.verify(stored, given)
        if d is None:
            self.log.warn(
                "login throttling: {n} password checks already waiting; refusing {user}@{addr}",
                n=self.verifier.max_pending, user=username, addr=addr,
            )  # fmt: skip
            return AUTH_THROTTLED

        def failed(f: Any) -> str:
            self.log.failure("password check failed", f)
            return AUTH_THROTTLED

        d.addCallbacks(lambda ok: self._settle(users, key, stored, real, given, ok), failed)
        return d

    def _settle(
        self,
        users: UsersConf,
        key: tuple[str, str],
        stored: str,
        real: bool,
        given: str,
        ok: bool,
    ) -> str | None:
        if users is not self.users:
            return None  # upsd.users was reloaded meanwhile: the client is checked again
        if ok and real:
            if len(self.known_good) >= KNOWN_GOOD_MAX:
                self.known_good.clear()
            self.known_good.add(auth.pair_key(key[0], stored, given))
            self.failures.pop(key, None)
            return AUTH_OK
        self._failed(key, self.clock.seconds())
        return AUTH_BAD

    def _failed(self, key: tuple[str, str], now: float) -> None:
        limit, window = self.conf.login_fail_limit, self.conf.login_fail_window
        if limit <= 0 or window <= 0:
            return
        times = [t for t in self.failures.pop(key, []) if now - t < window]
        times.append(now)
        self.failures[key] = times  # newest last: the oldest go first when there are too many
        while len(self.failures) > FAILURES_MAX:
            del self.failures[next(iter(self.failures))]
        if len(times) >= limit:
            self.failures.pop(key, None)
            self.locked_until[key] = now + window
            self.log.warn(
                "login throttling: {user}@{addr} locked out for {w} s after {n} failed password checks",
                user=key[0], addr=key[1], w=window, n=len(times),
            )  # fmt: skip
            self.clock.callLater(window, self._unlock, key)

    def _unlock(self, key: tuple[str, str]) -> None:
        if self.locked_until.pop(key, None) is not None:
            self.log.info(
                "login throttling: {user}@{addr} is no longer locked out", user=key[0], addr=key[1]
            )

    def users_reloaded(self, users: UsersConf) -> None:
        """New upsd.users: every connection's credentials and rights are checked again
        at its next command, as NUT checks them at every command."""
        self.users = users
        for client in self.clients:
            client.credentials_changed()

    def certificate_of(self, username: str) -> str | None:
        """The certificate CN standing in for ``username``'s password (CERTREQUEST on)."""
        if not self.conf.certrequest:
            return None
        user = self.users.get(username)
        return None if user is None else user.certificate

    @property
    def auth_requires_tls(self) -> bool:
        return bool(self.conf.auth_requires_tls)

    def user_has_action(self, username: str | None, action: str) -> bool:
        user = self.users.get(username or "")
        return user is not None and user.has_action(action)

    def user_may_instcmd(self, username: str | None, cmd: str) -> bool:
        user = self.users.get(username or "")
        return user is not None and user.may_instcmd(cmd)

    def acl_allows(self, username: str, addr: str) -> bool:
        if self.acl is None:
            return True
        return self.acl.check("upsd", addr, username)

    def audit(
        self, username: str | None, addr: str, what: str, ups: str, result: str, detail: str = ""
    ) -> None:
        self.log.info(
            "audit: {user}@{addr} {what} [{ups}] {detail}: {result}",
            user=username, addr=addr, what=what, ups=ups,
            detail=detail, result=result,
        )  # fmt: skip

    # --- tracking ------------------------------------------------------------------------

    def new_tracking(self) -> str:
        tid = str(uuid.uuid4()).upper()
        self.tracking[tid] = (-1, self.clock.seconds())
        return tid

    def tracking_done(self, tid: str, status: int) -> None:
        key = tid.upper()
        if key in self.tracking:
            self.tracking[key] = (status, self.tracking[key][1])

    def tracking_result(self, tid: str) -> str:
        self.purge_tracking()
        hit = self.tracking.get(tid.upper())
        if hit is None:
            return "ERR UNKNOWN"
        return TRACKING_TEXT.get(hit[0], "ERR UNKNOWN")

    def purge_tracking(self) -> None:
        cutoff = self.clock.seconds() - self.conf.trackingdelay
        for tid in [t for t, (_, when) in self.tracking.items() if when < cutoff]:
            del self.tracking[tid]


class UpsdFactory(protocol.Factory):
    log = Logger()
    #: no "Starting factory <...>" lines: the service logs what it listens on
    noisy = False

    def logPrefix(self) -> str:
        return "upsd"

    def __init__(self, state: UpsdState) -> None:
        self.state = state

    def buildProtocol(self, addr: Any) -> NetServerProtocol | None:
        host = getattr(addr, "host", str(addr))
        maxconn = self.state.conf.maxconn
        if maxconn is not None and len(self.state.clients) >= maxconn:
            self.log.warn(
                "MAXCONN ({n}) reached: refusing a connection from {host}", n=maxconn, host=host
            )
            return None
        addr = host.removeprefix("::ffff:")
        conf, acl = self.state.conf, self.state.acl
        if conf.acl_on_connect and acl is not None and not acl.check("upsd", addr, None):
            self.log.info("hosts.allow/deny refuse a connection from {host}", host=addr)
            return None
        return NetServerProtocol(self.state, addr)


def _interfaces(listen: Listen, family: int | None = None) -> list[str]:
    """The addresses a LISTEN line binds; ``*`` means both wildcards.

    ``family`` (``upsd -4`` / ``-6``) keeps one address family, as NUT's upsd does: a
    name is resolved in that family only, and an address of the other family is fatal.
    """
    if listen.address == "*":
        both = [("0.0.0.0", socket.AF_INET), ("::", socket.AF_INET6)]
        return [addr for addr, fam in both if family in (None, fam)]
    if family is None:
        return [listen.address]
    try:
        found = socket.getaddrinfo(
            listen.address, listen.port, family, socket.SOCK_STREAM, 0, socket.AI_PASSIVE
        )
    except socket.gaierror as e:
        raise ListenError(f"getaddrinfo: {e.strerror} (LISTEN {listen.address})") from None
    return [str(found[0][4][0])]


class ListenError(Exception):
    pass


def _bound_address(interface: str) -> str:
    """The address a listening port on ``interface`` binds: a name resolved as Twisted does
    (IPv4 unless it is an IPv6 literal), so that two names of one socket compare equal."""
    if ":" in interface:
        return interface
    try:
        return socket.gethostbyname(interface)
    except OSError:
        return interface


def _allow_not_all_listeners(conf: UpsdConf) -> bool:
    """ALLOW_NOT_ALL_LISTENERS: the environment variable wins over upsd.conf, as in NUT."""
    env = os.environ.get("ALLOW_NOT_ALL_LISTENERS")
    if env is not None and env.strip():
        return env.strip().lower().startswith(("1", "y", "t", "on"))
    return bool(conf.allow_not_all_listeners)


class UpsdService(service.MultiService):
    """upsd as a service: builds the shared state and the driver links from the
    configuration, listens on every LISTEN address, drops clients idle for 60 s,
    and reloads the configuration on request."""

    log = Logger()
    backlog = 4096

    def __init__(
        self,
        conf: UpsdConf,
        upsconf: UpsConf,
        users: UsersConf,
        *,
        statepath: str,
        drivers: dict[str, Any] | None = None,
        drivers_service: Any = None,
        confdir: str | None = None,
        stop_on_fatal: bool = False,
        family: int | None = None,
        reactor: Any = None,
    ) -> None:
        super().__init__()
        if reactor is None:
            from twisted.internet import reactor as default_reactor

            reactor = default_reactor
        self.reactor = reactor
        self.statepath = statepath
        datapath = conf.datapath or DEFAULT_DATAPATH
        descriptions = cmdvartab.from_datapath(datapath)
        if descriptions.problem is not None:
            descriptions = cmdvartab.default()
        acl = HostsAccess(conf.hosts_allow, conf.hosts_deny)
        self.state = UpsdState(reactor, conf, users, descriptions, acl)
        # a TLS setting that cannot be loaded stops upsd here (TlsConfigError, one line)
        self.state.tls = server_context_from_conf(conf)
        self.statepath = statepath
        for section in upsconf.sections.values():
            if section.driver and section.port:
                self.state.add_ups(
                    UpsEntry(
                        section.name,
                        section.desc,
                        self._link_for(section, (drivers or {}).get(section.name)),
                    )
                )
        self.ports: list[Any] = []
        self._idle = LoopingCall(guarded(self.drop_idle, "idle connection check"))
        self._idle.clock = reactor
        self.upsconf = upsconf
        #: the in-process drivers' owner, kept in step with ups.conf on reload
        self.drivers_service = drivers_service
        #: where reload re-reads the files (None: reload is not possible)
        self.confdir = confdir
        #: under twistd a start failure logs one line and stops; the drop-in raises
        self.stop_on_fatal = stop_on_fatal
        #: ``upsd -4`` / ``-6``: socket.AF_INET or AF_INET6 only; None: both
        self.family = family

    def _link_for(self, section: Any, in_process: Any = None) -> DriverLink:
        conf = self.state.conf
        if in_process is not None:
            link = DriverLink(
                section.name, clock=self.reactor, maxage=conf.maxage, driver=in_process
            )
        else:
            path = os.path.join(self.statepath, socket_name(section.driver, section.name))
            link = DriverLink(
                section.name,
                clock=self.reactor,
                reactor=self.reactor,
                maxage=conf.maxage,
                socket_path=path,
            )
        link.on_tracking = self.state.tracking_done
        return link

    def reload(self) -> bool:
        """Re-read upsd.conf (but LISTEN), upsd.users, ups.conf and the ACL files.

        UPS sections added or removed start or stop; unchanged ones and their
        clients are untouched.  An invalid new configuration keeps the old one.
        """
        from nutwist.config import confset

        if self.confdir is None:
            return False
        cs = confset.load(self.confdir, ("ups.conf", "upsd.conf", "upsd.users"))
        problems = [d for d in cs.diagnostics() if d.is_error]
        missing = [n for n in ("ups.conf", "upsd.conf", "upsd.users") if cs.model(n) is None]
        if problems or missing:
            why = "; ".join([str(d) for d in problems] + [f"{n} missing" for n in missing])
            self.log.error("reload failed, keeping the old configuration: {why}", why=why)
            return False
        assert cs.ups is not None and cs.upsd is not None and cs.users is not None
        new_conf = cs.upsd
        try:
            new_tls = server_context_from_conf(new_conf)
        except TlsConfigError as e:
            self.log.error("reload failed, keeping the old configuration: {why}", why=str(e))
            return False
        new_conf.listen = self.state.conf.listen  # LISTEN changes need a restart, as in NUT
        self.state.conf = new_conf
        self.state.tls = new_tls
        self.state.users_reloaded(cs.users)
        self.warn_world_readable(new_conf.path, cs.users.path)
        self.state.acl = HostsAccess(new_conf.hosts_allow, new_conf.hosts_deny)
        in_process = {}
        if self.drivers_service is not None:
            in_process = self.drivers_service.sync(cs.ups)
        old = {e.name: e for e in self.state.ups_list()}
        new_sections = {s.name: s for s in cs.ups.sections.values() if s.driver and s.port}
        for name, entry in old.items():
            section = new_sections.get(name)
            before = self.upsconf.find(name)
            if section is None or (before is not None and before.driver != section.driver):
                entry.link.stop()
                self.state.remove_ups(name)
                for c in list(self.state.clients):
                    if c.loginups == name:
                        c.close()
                self.log.info("UPS [{ups}] removed", ups=name)
            else:
                entry.desc = section.desc
        for name, section in new_sections.items():
            if self.state.find_ups(name) is None:
                link = self._link_for(section, in_process.get(name))
                self.state.add_ups(UpsEntry(name, section.desc, link), first=True)
                link.start()
                self.log.info("UPS [{ups}] added", ups=name)
        self.upsconf = cs.ups
        self.log.info("reloaded the configuration")
        return True

    def warn_world_readable(self, *paths: str) -> None:
        """NUT's warning for a configuration file (or the state directory) others can read."""
        for path in paths:
            try:
                mode = os.stat(path).st_mode
            except OSError:
                continue
            if mode & (stat.S_IROTH | stat.S_IXOTH):
                self.log.warn("{path} is world readable", path=path)

    def startService(self) -> None:
        super().startService()
        if self.state.verifier is None and hasattr(self.reactor, "callFromThread"):
            self.state.verifier = auth.Verifier(self.reactor)
            self.state.verifier.start()
        self.warn_world_readable(self.state.conf.path)
        for entry in self.state.ups_list():
            entry.link.start()
        self.warn_world_readable(self.statepath, self.state.users.path)
        try:
            self.listen()
        except ListenError as e:
            if not self.stop_on_fatal:
                raise
            self.log.critical("upsd: {e}", e=str(e))
            if not self.reactor.running:
                # twistd starts the services before its reactor: exit 1 from here, as NUT's
                # upsd exits 1 when it cannot listen (stopping the reactor would exit 0)
                raise SystemExit(1) from None
            self.reactor.callWhenRunning(self.reactor.stop)
            return
        self._idle.start(2, now=False)

    def listen(self) -> None:
        """Bind every LISTEN address now, and decide as NUT does when some cannot be bound.

        Each address gets ``listening on A port P`` or ``not listening on A port P``.  None
        bound: ``no listening interface available``.  When every failure named only sockets
        this upsd had already bound (``localhost`` beside ``127.0.0.1``), upsd goes on.  Any
        other failure stops upsd unless ALLOW_NOT_ALL_LISTENERS (environment first, then
        upsd.conf) is set, which warns.
        """
        factory = UpsdFactory(self.state)
        conf = self.state.conf
        failed: list[tuple[bool, str]] = []
        bound = 0
        listeners = conf.listeners()
        if not conf.listen and self.family is not None:
            # the default pair: only the loopback of the family asked for
            v6 = self.family == socket.AF_INET6
            listeners = [x for x in listeners if (":" in x.address) == v6]
        mine: set[tuple[str, int]] = set()  # sockets this upsd has bound
        for listen in listeners:
            ok = False
            try:
                interfaces = _interfaces(listen, self.family)
            except ListenError:
                for p in self.ports:
                    p.stopListening()
                self.ports = []
                raise
            keys = [_bound_address(i) for i in interfaces]
            for iface, key in zip(interfaces, keys, strict=True):
                if (key, listen.port) in mine:
                    continue
                try:
                    port = listen_tcp(
                        self.reactor, listen.port, factory, backlog=self.backlog, interface=iface
                    )
                except Exception as e:
                    self.log.debug(
                        "bind {addr} port {port}: {e}", addr=iface, port=listen.port, e=e
                    )
                    continue
                self.ports.append(port)
                mine.add((key, listen.port))
                ok = True
            where = f"{listen.address} port {listen.port}"
            if ok:
                bound += 1
                self.log.info("listening on {where}", where=where)
            else:
                # a name of a socket already bound here (localhost beside 127.0.0.1) is a
                # duplicate, which later NUT lets through; anything else did not bind
                duplicate = bool(keys) and all((k, listen.port) in mine for k in keys)
                failed.append((duplicate, where))
                self.log.error("not listening on {where}", where=where)
        if not failed:
            return
        if not bound:
            why = "no listening interface available"
        elif all(duplicate for duplicate, _ in failed):
            return
        elif _allow_not_all_listeners(conf):
            self.log.warn(
                "WARNING: some listening interfaces were not available, "
                "but the ALLOW_NOT_ALL_LISTENERS setting is active"
            )
            return
        else:
            why = (
                "some listening interfaces were not available ("
                + "; ".join(w for _, w in failed)
                + "): reconcile the LISTEN lines with this host's addresses, "
                "or set ALLOW_NOT_ALL_LISTENERS"
            )
        for p in self.ports:
            p.stopListening()
        self.ports = []
        raise ListenError(why)

    def drop_idle(self) -> None:
        now = self.reactor.seconds()
        for client in list(self.state.clients):
            if now - client.last_heard > IDLE_TIMEOUT:
                client.close(abort=True)

    def stopService(self) -> Any:
        super().stopService()
        if self._idle.running:
            self._idle.stop()
        for entry in self.state.ups_list():
            entry.link.stop()
        verifier, self.state.verifier = self.state.verifier, None
        if verifier is not None:
            verifier.stop()
        ports, self.ports = self.ports, []
        from twisted.internet import defer

        return defer.gatherResults([defer.maybeDeferred(p.stopListening) for p in ports])
