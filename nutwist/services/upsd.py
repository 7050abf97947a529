"""upsd: the data server.  What its clients share, and the service that listens.

:class:`UpsdState` holds the UPSes (each with its driver link, FSD latch and
login count), the users, the tracking table and the connected clients; the
protocol (:mod:`nutwist.protocols.net`) asks it everything.  :class:`UpsdService`
connects the links, listens on every LISTEN address, drops clients silent for
60 seconds and refuses connections past MAXCONN.
"""

from __future__ import annotations

import os
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from twisted.application import service
from twisted.internet import protocol
from twisted.internet.interfaces import IReactorTime
from twisted.internet.task import LoopingCall
from twisted.logger import Logger

from nutwist import NUT_COMPAT_VERSION, __version__
from nutwist.auth import verify_password
from nutwist.config.tcpwrap import HostsAccess
from nutwist.config.tokenizer import encode
from nutwist.config.ups import UpsConf
from nutwist.config.upsd import Listen, UpsdConf
from nutwist.config.users import UsersConf
from nutwist.model import cmdvartab
from nutwist.model.state import Variable
from nutwist.paths import DEFAULT_DATAPATH, socket_name
from nutwist.protocols.net import NetServerProtocol
from nutwist.services.driverlink import DriverLink
from nutwist.services.writethrough import listen_tcp
from nutwist.tls.context import TlsConfigError, server_context_from_conf

SERVER_VERSION = f"{__version__}-nutwist"
SERVER_INFO = (
    f"Network UPS Tools upsd {SERVER_VERSION} (NUT {NUT_COMPAT_VERSION} compatible) - "
    "http://www.networkupstools.org/"
)
IDLE_TIMEOUT = 60
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
    clock: IReactorTime
    conf: UpsdConf
    users: UsersConf
    descriptions: cmdvartab.Descriptions
    acl: HostsAccess | None = None
    ups: OrderedDict[str, UpsEntry] = field(default_factory=OrderedDict)
    clients: list[NetServerProtocol] = field(default_factory=list)
    tracking: dict[str, tuple[int, float]] = field(default_factory=dict)
    failures: dict[str, list[float]] = field(default_factory=dict)
    locked_until: dict[str, float] = field(default_factory=dict)
    max_line: int = 16 * 1024
    log: Any = field(default_factory=Logger)
    #: request line -> (entry, its state, state version, FSD latch, answer bytes):
    #: pollers ask the same GET VAR over and over; an answer is reused only while
    #: nothing it depends on has changed (see NetServerProtocol.dataReceived)
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

    def remember(self, line: bytes, entry: UpsEntry, answer: bytes) -> None:
        """Keep a GET VAR answer for the same request line while its data holds."""
        if len(self.answers) >= ANSWER_CACHE_MAX:
            self.answers.clear()
        st = entry.link.state
        self.answers[line] = (entry, st, st.version, entry.fsd, answer)

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

    def clients_of(self, entry: UpsEntry) -> list[NetServerProtocol]:
        return [c for c in self.clients if c.loginups == entry.name]

    # --- users -------------------------------------------------------------------------

    def check_password(self, client: NetServerProtocol) -> bool:
        """The client's USERNAME/PASSWORD match upsd.users, with login throttling (10.4)."""
        if client.verified:
            return True  # once its credentials passed, a connection is never locked out
        if client.password is None and client.username and client.certificate_is(client.username):
            client.verified = True
            return True
        now = self.clock.seconds()
        locked = self.locked_until.get(client.addr)
        if locked is not None and now < locked:
            return False
        user = self.users.get(client.username or "")
        stored = user.password if user is not None else None
        # unknown users cost a comparison too, so timing says nothing
        ok = verify_password(stored if stored is not None else "\0unknown", client.password or "")
        if ok and stored is not None:
            client.verified = True
            return True
        self._failed(client.addr, now)
        return False

    def _failed(self, addr: str, now: float) -> None:
        limit, window = self.conf.login_fail_limit, self.conf.login_fail_window
        if limit <= 0 or window <= 0:
            return
        times = [t for t in self.failures.get(addr, []) if now - t < window]
        times.append(now)
        self.failures[addr] = times
        if len(times) >= limit:
            self.failures.pop(addr, None)
            self.locked_until[addr] = now + window
            self.log.warn(
                "login throttling: {addr} locked out for {w} s after {n} failed password checks",
                addr=addr, w=window, n=len(times),
            )  # fmt: skip
            self.clock.callLater(window, self._unlock, addr)

    def _unlock(self, addr: str) -> None:
        if self.locked_until.pop(addr, None) is not None:
            self.log.info("login throttling: {addr} is no longer locked out", addr=addr)

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
        self, client: NetServerProtocol, what: str, ups: str, result: str, detail: str = ""
    ) -> None:
        self.log.info(
            "audit: {user}@{addr} {what} [{ups}] {detail}: {result}",
            user=client.username, addr=client.addr, what=what, ups=ups,
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


def _interfaces(listen: Listen) -> list[str]:
    """The addresses a LISTEN line binds; ``*`` means both wildcards."""
    if listen.address == "*":
        return ["0.0.0.0", "::"]
    return [listen.address]


class ListenError(Exception):
    pass


class UpsdService(service.MultiService):
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
        self._idle = LoopingCall(self.drop_idle)
        self._idle.clock = reactor
        self.upsconf = upsconf
        #: the in-process drivers' owner, kept in step with ups.conf on reload
        self.drivers_service: Any = None
        #: where reload re-reads the files (None: reload is not possible)
        self.confdir: str | None = None
        #: under twistd a start failure logs one line and stops; the drop-in raises
        self.stop_on_fatal = False
        #: reload on SIGHUP (set by the programs that own the process)
        self.handle_sighup = False

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
        self.state.users = cs.users
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
                    if c.loginups == name and c.transport is not None:
                        c.transport.loseConnection()
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

    def startService(self) -> None:
        super().startService()
        for entry in self.state.ups_list():
            entry.link.start()
        try:
            self.listen()
        except ListenError as e:
            if not self.stop_on_fatal:
                raise
            self.log.critical("upsd: {e}", e=str(e))
            self.reactor.callWhenRunning(self.reactor.stop)
            return
        self._idle.start(2, now=False)
        if self.handle_sighup:
            import signal

            signal.signal(signal.SIGHUP, lambda *_: self.reactor.callFromThread(self.reload))

    def listen(self) -> None:
        """Bind every LISTEN address now; fail as NUT does when one cannot be bound."""
        factory = UpsdFactory(self.state)
        conf = self.state.conf
        failed = []
        for listen in conf.listeners():
            for iface in _interfaces(listen):
                try:
                    port = listen_tcp(
                        self.reactor, listen.port, factory, backlog=self.backlog, interface=iface
                    )
                except Exception as e:
                    failed.append(f"{iface} port {listen.port}: {e}")
                    continue
                self.ports.append(port)
                self.log.info("listening on {addr} port {port}", addr=iface, port=listen.port)
        explicit = bool(conf.listen)
        if failed and (not self.ports or (explicit and not conf.allow_not_all_listeners)):
            for p in self.ports:
                p.stopListening()
            self.ports = []
            raise ListenError("not listening on " + "; ".join(failed))
        for f in failed:
            self.log.warn("not listening on {what}", what=f)

    def drop_idle(self) -> None:
        now = self.reactor.seconds()
        for client in list(self.state.clients):
            if now - client.last_heard > IDLE_TIMEOUT and client.transport is not None:
                client.closing = True
                client.transport.abortConnection()  # type: ignore[attr-defined]

    def stopService(self) -> Any:
        super().stopService()
        if self._idle.running:
            self._idle.stop()
        for entry in self.state.ups_list():
            entry.link.stop()
        ports, self.ports = self.ports, []
        from twisted.internet import defer

        return defer.gatherResults([defer.maybeDeferred(p.stopListening) for p in ports])
