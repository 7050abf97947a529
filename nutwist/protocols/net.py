"""The NUT network protocol (TCP 3493), server side, as NUT 2.8.0's upsd speaks it.

One line in, zero or more lines out, in order (pipelined requests included).
Keywords are matched without regard to case and echoed upper-case; UPS and
variable names are echoed exactly as the client typed them.  Errors come in
NUT 2.8.0's order of precedence (for example LOGIN: INVALID-ARGUMENT, then
ALREADY-LOGGED-IN, then UNKNOWN-UPS, then ACCESS-DENIED).  The protocol keeps only the
per-connection state (user, password, login, tracking); everything shared
lives behind the :class:`UpsdBackend` it is given (upsd's state implements it).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any
from typing import Protocol as TypingProtocol

from twisted.internet.interfaces import IPushProducer, IReactorTime
from twisted.logger import Logger
from zope.interface import implementer

from nutwist.config.tokenizer import TokenizerError, encode
from nutwist.model.state import Flag, Variable, atoi
from nutwist.protocols.framing import Item, WordReceiver

#: upsd answers in a 512-byte buffer; longer lines are cut (the LF too), as in NUT
ANSWER_MAX = 512
#: upsd reads at most 512 bytes at a time; a parse error drops the rest of that read
READ_MAX = 512
#: what a client may send while its password check runs, before it is dropped
BACKLOG_MAX = 64 * 1024
HELP = "Commands: HELP VER GET LIST SET INSTCMD LOGIN LOGOUT USERNAME PASSWORD STARTTLS"
NETVER = "1.3"

#: a request line the tokenizer would split at single spaces and nothing else:
#: upsd's fast path takes these without the tokenizer (an optional CR ends it)
_PLAIN_REQUEST = re.compile(rb"[\w.:@/+-]{1,64}(?: [\w.:@/+-]{1,64}){0,7}\r?\Z")

#: outcomes of a password check (NetServerProtocol.auth)
AUTH_OK, AUTH_BAD, AUTH_THROTTLED = "ok", "bad", "throttled"

_USER_COMMANDS = frozenset({"LOGIN", "PRIMARY", "MASTER", "FSD", "SET", "INSTCMD"})


class Ups(TypingProtocol):
    """A UPS as the protocol sees it: a handle to pass back to the backend."""

    @property
    def name(self) -> str: ...

    @property
    def desc(self) -> str | None: ...

    @property
    def numlogins(self) -> int: ...


class UpsdBackend(TypingProtocol):
    """What the protocol asks of upsd: everything that is not one connection's own."""

    clock: IReactorTime
    #: bytes a client may leave without a line end before it is dropped
    max_line: int
    #: the TLS context factory for STARTTLS (None: ERR FEATURE-NOT-CONFIGURED)
    tls: Any

    # --- connections
    def client_connected(self, client: NetServerProtocol) -> None: ...

    def client_disconnected(self, client: NetServerProtocol) -> None: ...

    def clients_of(self, ups: Ups) -> list[NetServerProtocol]: ...

    # --- UPSes and their data
    @property
    def server_info(self) -> str: ...

    def server_var(self, name: str) -> str | None: ...

    def find_ups(self, name: str) -> Ups | None: ...

    def ups_list(self) -> Sequence[Ups]: ...

    def unavailable(self, ups: Ups) -> str | None:
        """The ERR code when the UPS's data cannot be served (no driver, stale), else None."""

    def variable(self, ups: Ups, name: str) -> Variable | None: ...

    def variables(self, ups: Ups) -> Iterable[Variable]: ...

    def value_of(self, ups: Ups, var: Variable) -> str:
        """The value served for ``var`` (ups.status with the FSD latch)."""

    def type_words(self, ups: Ups, name: str) -> str | None: ...

    def commands(self, ups: Ups) -> Sequence[str]: ...

    def has_command(self, ups: Ups, cmd: str) -> bool: ...

    def describe_var(self, name: str) -> str: ...

    def describe_cmd(self, name: str) -> str: ...

    # --- the answer cache (GET VAR)
    def cached_answer(self, line: bytes) -> bytes | None:
        """The answer kept for this request line, while everything it depends on holds."""

    def remember(self, line: bytes, ups: Ups, answer: bytes) -> None: ...

    # --- actions
    def logged_in(self, ups: Ups) -> None: ...

    def set_fsd(self, ups: Ups) -> None: ...

    def new_tracking(self) -> str: ...

    def tracking_result(self, tid: str) -> str: ...

    def setvar(self, ups: Ups, name: str, value: str, tracking: str | None) -> bool:
        """Forward SET to the driver; False when it cannot be sent."""

    def instcmd(self, ups: Ups, cmd: str, param: str | None, tracking: str | None) -> bool:
        """Forward INSTCMD to the driver; False when it cannot be sent."""

    # --- users and rights
    def check_password(self, username: str, password: str, addr: str, inline: bool) -> Any:
        """The outcome (AUTH_OK, AUTH_BAD, AUTH_THROTTLED) of checking a password, or a
        Deferred firing with it (None: check again later) when the check runs off the
        reactor; ``inline`` asks for the outcome now."""

    def certificate_of(self, username: str) -> str | None:
        """The client certificate CN that stands in for this user's password, if any."""

    @property
    def auth_requires_tls(self) -> bool: ...

    def acl_allows(self, username: str, addr: str) -> bool: ...

    def user_has_action(self, username: str | None, action: str) -> bool: ...

    def user_may_instcmd(self, username: str | None, cmd: str) -> bool: ...

    def audit(
        self, username: str | None, addr: str, what: str, ups: str, result: str, detail: str = ""
    ) -> None: ...


def _line_bytes(line: str) -> bytes:
    """One answer line as sent: LF-terminated, at most upsd's 512 bytes.

    Values are kept to 255 bytes, so only outlandish names make a line too long.
    NUT then sends the first 512 bytes without the LF, which runs the answer into
    the next one; here the end of the line is cut instead (an open quote closed,
    an escape pair kept whole) and the LF is always sent.
    """
    data = line.encode("ascii", "replace")
    if len(data) < ANSWER_MAX:
        return data + b"\n"
    return _cut(data, ANSWER_MAX - 1) + b"\n"


def _cut(data: bytes, limit: int) -> bytes:
    """The longest head of ``data`` that, with its open quote closed, fits in ``limit``."""
    end, closed = 0, False
    quoted = False
    i = 0
    while i < len(data):
        step = 2 if data[i] == 0x5C else 1  # a backslash and what it escapes go together
        if data[i] == 0x22:
            quoted = not quoted
        i = min(i + step, len(data))
        if i + quoted > limit:
            break
        end, closed = i, quoted
    return data[:end] + (b'"' if closed else b"")


class ServerTransport(TypingProtocol):
    """What upsd's protocol uses of its transport (TCP, with TLS and flow control)."""

    disconnecting: bool

    def write(self, data: bytes) -> None: ...

    def loseConnection(self) -> None: ...

    def abortConnection(self) -> None: ...

    def pauseProducing(self) -> None: ...

    def resumeProducing(self) -> None: ...

    def registerProducer(self, producer: Any, streaming: bool) -> None: ...

    def startTLS(self, contextFactory: Any) -> None: ...  # noqa: N803 (Twisted's name)

    def getPeerCertificate(self) -> Any: ...


class NutError(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@implementer(IPushProducer)
class _StopReadingWhenFull:
    def __init__(self, transport: ServerTransport) -> None:
        self.transport = transport

    def pauseProducing(self) -> None:
        self.transport.pauseProducing()

    def resumeProducing(self) -> None:
        self.transport.resumeProducing()

    def stopProducing(self) -> None:
        pass


class NetServerProtocol(WordReceiver):
    """One client connection to upsd: framing, per-connection state, and the answers.

    It keeps what belongs to this connection only (USERNAME, PASSWORD, the UPS it
    logged into, TRACKING on/off, STARTTLS done, the last time it was heard) and asks
    its backend everything else: the UPSes and their data, users and rights, password
    checks, tracking ids, the answer cache and the audit log.
    """

    log = Logger()
    #: declared as what upsd uses (Twisted declares a bare ITransport, or None)
    transport: ServerTransport  # type: ignore[assignment]
    #: upsd reads at most 512 bytes at a time; a parse error drops the rest of that read
    read_size = READ_MAX

    def __init__(self, state: UpsdBackend, addr: str) -> None:
        super().__init__()
        self.state = state
        self.addr = addr
        self.username: str | None = None
        self.password: str | None = None
        self.loginups: str | None = None
        self.tracking = False
        self.ssl = False
        #: the credentials passed a check once (login throttling never locks this one out)
        self.verified = False
        self.last_heard = 0.0
        self.closing = False
        #: the plain request line being answered (the key for upsd's answer cache)
        self._request_line: bytes | None = None
        #: the outcome of checking USERNAME/PASSWORD (AUTH_*), None: not yet
        self.auth: str | None = None
        #: a password check runs off the reactor: the request that needs it, and what
        #: came after it, wait (answers stay in order on the connection)
        self.waiting = False
        self._waiting_line: list[str] = []
        self._replay: list[Item] = []
        #: (whether it goes straight to the tokenizer, bytes): reads to handle after it
        self._backlog: list[tuple[bool, bytes]] = []
        self._lost = False

    # --- transport ------------------------------------------------------------------

    def connectionMade(self) -> None:
        self.last_heard = self.state.clock.seconds()
        self.state.client_connected(self)
        # when our answers back up (a client that does not read), stop reading its
        # requests: memory stays bounded and the idle rule drops it after 60 s
        self.transport.registerProducer(_StopReadingWhenFull(self.transport), True)

    def connectionLost(self, reason: object = None) -> None:
        self._lost = True
        self.state.client_disconnected(self)

    def dataReceived(self, data: bytes) -> None:
        if self.closing:
            return
        if self.waiting:
            self._backlog.append((False, data))
            if sum(len(b) for _, b in self._backlog) > max(self.state.max_line, BACKLOG_MAX):
                self.log.info("{addr}: dropping a client flooding a password check", addr=self.addr)
                self.closing = True
                self.transport.loseConnection()
            return
        self.discarding = False
        pending = self.tokenizer.take_pending()
        if pending is not None:
            data = self._plain_requests(pending + data if pending else data)
            if not data or self.closing:
                return
        self.feed(data)

    # --- framing hooks (WordReceiver) -------------------------------------------------

    def stopped(self) -> bool:
        return self.closing

    def wordsReceived(self, words: list[str]) -> None:
        self.last_heard = self.state.clock.seconds()
        self.lineReceived(words)

    def parseError(self, error: TokenizerError) -> bool:
        # upsd drops the rest of the 512-byte read
        self.log.info("Parse error on sock: {msg}", msg=error.message)
        return True

    def interrupted(self, items: list[Item], rest: bytes) -> bool:
        if self.waiting:
            self._hold(items, rest, tokenizer=True)
            return True
        return False

    def discarded(self) -> None:
        self._drop_after_starttls()

    def line_limit(self) -> int:
        return self.state.max_line

    def lineTooLong(self) -> None:
        self.log.info("{addr}: dropping a client sending an endless line", addr=self.addr)
        self.closing = True
        self.transport.loseConnection()

    # --- a request waiting for its password check --------------------------------------

    def _wait_for(self, d: Any, words: list[str]) -> None:
        """Answer ``words`` once the Deferred ``d`` (a password check) fires."""
        self.waiting = True
        self._waiting_line = words
        self.transport.pauseProducing()
        d.addBoth(self._resume)

    def _hold(self, items: list[Item], rest: bytes, tokenizer: bool = False) -> None:
        """Keep what followed the waiting request, to be handled after it as it would
        have been at once (``tokenizer``: the rest of a read the tokenizer was taking)."""
        self._replay = [self._waiting_line, *items]
        if rest:
            self._backlog.insert(0, (tokenizer, rest))

    def _resume(self, _: object) -> None:
        self.waiting = False
        items, self._replay = self._replay, []
        backlog, self._backlog = self._backlog, []
        if self.closing or self._lost:
            return
        if not self.deliver(items):
            if self.waiting:  # waiting again: what came after stays queued, in order
                self._backlog = backlog
            return
        self.transport.resumeProducing()
        for tokenizer, data in backlog:
            if self.closing:
                return
            if self.waiting:  # waiting again: the rest queue behind, in order
                self._backlog.append((tokenizer, data))
            elif tokenizer:
                self.feed(data)
            else:
                self.dataReceived(data)

    def _drop_after_starttls(self) -> None:
        self.tokenizer.reset()
        self.log.info(
            "{addr}: bytes sent after STARTTLS before the handshake were dropped", addr=self.addr
        )

    def _plain_requests(self, data: bytes) -> bytes:
        """Answer the leading plain request lines of ``data``; return the rest.

        A plain line (words of safe characters at single spaces) gives the same
        words as the tokenizer, so it skips it; a GET VAR answered before is
        answered again from the backend's answer cache while what it depends on
        holds.  Answers go out in one write.
        """
        cached = self.state.cached_answer
        out: list[bytes] = []
        pos = 0
        while True:
            nl = data.find(b"\n", pos)
            if nl < 0:
                break
            line = data[pos:nl]
            answer = cached(line)
            if answer is not None:
                out.append(answer)
                pos = nl + 1
                continue
            if _PLAIN_REQUEST.match(line) is None:
                break
            if out:
                self.transport.write(b"".join(out))
                out = []
            self.last_heard = self.state.clock.seconds()
            self._request_line = line
            self.lineReceived(line.decode("ascii").split())
            self._request_line = None
            pos = nl + 1
            if self.closing:
                return b""
            if self.waiting:
                self._hold([], data[pos:])
                return b""
            if self.discarding:
                if pos < len(data):
                    self._drop_after_starttls()
                return b""
        if pos:
            self.last_heard = self.state.clock.seconds()
        if out:
            self.transport.write(b"".join(out))
        return data[pos:]

    def send(self, line: str) -> None:
        self.transport.write(_line_bytes(line))

    def send_lines(self, lines: list[str]) -> None:
        self.transport.write(b"".join(_line_bytes(line) for line in lines))

    # --- dispatch ----------------------------------------------------------------------

    def lineReceived(self, words: list[str]) -> None:
        if not words:
            self.send("ERR UNKNOWN-COMMAND")
            return
        cmd = words[0].upper()
        name = _HANDLERS.get(cmd)
        handler: Callable[[list[str]], None] | None = getattr(self, name) if name else None
        if handler is None:
            self.send("ERR UNKNOWN-COMMAND")
            return
        try:
            if cmd in _USER_COMMANDS:
                self.check_user()
                d = self.start_check()
                if d is not None:
                    self._wait_for(d, words)
                    return
            handler(words[1:])
        except NutError as e:
            self.send(f"ERR {e.code}")

    def check_user(self) -> None:
        if self.username is None:
            raise NutError("USERNAME-REQUIRED")
        if self.password is None and not self.certificate_is(self.username):
            raise NutError("PASSWORD-REQUIRED")
        if not self.state.acl_allows(self.username, self.addr):
            raise NutError("ACCESS-DENIED")

    def certificate_is(self, username: str) -> bool:
        """A verified client certificate on this TLS link names this upsd.users user
        (its ``certificate =`` CN): an extension that stands in for the password."""
        if not self.ssl:
            return False
        expected = self.state.certificate_of(username)
        if expected is None:
            return False
        try:
            cert = self.transport.getPeerCertificate()
        except Exception:
            return False
        if cert is None:
            return False
        return bool(expected == cert.get_subject().CN)

    # --- the password check ------------------------------------------------------------

    def start_check(self, inline: bool = False) -> Any:
        """Settle :attr:`auth` for this USERNAME/PASSWORD: now when the backend can, else
        return the Deferred of the check running off the reactor."""
        if self.verified or self.auth is not None or self.password is None:
            return None
        outcome = self.state.check_password(self.username or "", self.password, self.addr, inline)
        if isinstance(outcome, str) or outcome is None:
            self.auth = outcome
            return None
        return outcome.addCallback(self._checked)

    def _checked(self, outcome: str | None) -> None:
        self.auth = outcome

    def password_ok(self) -> bool:
        """USERNAME/PASSWORD match upsd.users (login throttling applies).

        The check itself is settled beforehand by :meth:`start_check` (called before
        every command that needs it); this reads its outcome.
        """
        if self.verified:
            return True
        if self.password is None and self.username and self.certificate_is(self.username):
            self.verified = True
            return True
        if self.auth is None:
            self.start_check(inline=True)
        outcome = self.auth
        if outcome == AUTH_OK:
            self.verified = True
            return True
        if outcome == AUTH_THROTTLED:
            self.auth = None  # asked again at the next command
        return False

    def credentials_changed(self) -> None:
        """upsd.users changed: check the credentials again at the next command."""
        self.verified = False
        self.auth = None

    def close(self, abort: bool = False) -> None:
        """Hang up (``abort``: at once, reading nothing more, as for an idle client)."""
        if self.transport is None:
            return
        if abort:
            self.closing = True
            self.transport.abortConnection()
        else:
            self.transport.loseConnection()

    def user_may(self, action: str) -> bool:
        """The user exists, the password matches, and the action is granted."""
        return self.password_ok() and self.state.user_has_action(self.username, action)

    def audit(self, what: str, ups: str, result: str, detail: str = "") -> None:
        self.state.audit(self.username, self.addr, what, ups, result, detail)

    def ups(self, name: str) -> Ups:
        entry = self.state.find_ups(name)
        if entry is None:
            raise NutError("UNKNOWN-UPS")
        return entry

    def available(self, entry: Ups) -> None:
        code = self.state.unavailable(entry)
        if code is not None:
            raise NutError(code)

    # --- commands needing no login ---------------------------------------------------------

    def cmd_VER(self, args: list[str]) -> None:
        if args:
            raise NutError("INVALID-ARGUMENT")
        self.send(self.state.server_info)

    def cmd_NETVER(self, args: list[str]) -> None:
        if args:
            raise NutError("INVALID-ARGUMENT")
        self.send(NETVER)

    cmd_PROTVER = cmd_NETVER

    def cmd_HELP(self, args: list[str]) -> None:
        if args:
            raise NutError("INVALID-ARGUMENT")
        self.send(HELP)

    def cmd_STARTTLS(self, args: list[str]) -> None:
        if self.ssl:
            raise NutError("ALREADY-SSL-MODE")
        if self.state.tls is None:
            raise NutError("FEATURE-NOT-CONFIGURED")
        self.send("OK STARTTLS")
        self.transport.startTLS(self.state.tls)
        self.ssl = True
        # anything the client sent after STARTTLS, before its handshake, is dropped:
        # it must never be read as plaintext commands
        self.discard()

    def cmd_USERNAME(self, args: list[str]) -> None:
        self._auth_needs_tls("USERNAME")
        if len(args) != 1:
            raise NutError("INVALID-ARGUMENT")
        if self.username is not None:
            raise NutError("ALREADY-SET-USERNAME")
        self.username = args[0]
        self.verified = False
        self.auth = None
        self.send("OK")

    def _auth_needs_tls(self, what: str) -> None:
        """AUTH_REQUIRES_TLS (an extension): no credentials in clear."""
        if self.state.auth_requires_tls and not self.ssl:
            self.log.warn(
                "{addr}: {what} refused before STARTTLS (AUTH_REQUIRES_TLS)",
                addr=self.addr,
                what=what,
            )
            raise NutError("ACCESS-DENIED")

    def cmd_PASSWORD(self, args: list[str]) -> None:
        self._auth_needs_tls("PASSWORD")
        if len(args) != 1:
            raise NutError("INVALID-ARGUMENT")
        if self.password is not None:
            raise NutError("ALREADY-SET-PASSWORD")
        self.password = args[0]
        self.verified = False
        self.auth = None
        self.send("OK")

    def cmd_LOGOUT(self, args: list[str]) -> None:
        if args:
            raise NutError("INVALID-ARGUMENT")
        self.send("OK Goodbye")
        self.closing = True
        self.transport.loseConnection()

    def cmd_GET(self, args: list[str]) -> None:
        if args and args[0].upper() == "TRACKING":
            self.get_tracking(args[1:])
            return
        if len(args) < 2:
            raise NutError("INVALID-ARGUMENT")
        sub = args[0].upper()
        if sub == "NUMLOGINS":
            entry = self.ups(args[1])
            self.available(entry)
            self.send(f"NUMLOGINS {args[1]} {entry.numlogins}")
            return
        if sub == "UPSDESC":
            entry = self.ups(args[1])
            desc = encode(entry.desc) if entry.desc is not None else "Unavailable"
            self.send(f'UPSDESC {args[1]} "{desc}"')
            return
        if len(args) < 3 or sub not in ("VAR", "TYPE", "DESC", "CMDDESC"):
            raise NutError("INVALID-ARGUMENT")
        upsname, name = args[1], args[2]
        if sub == "VAR" and name.lower().startswith("server."):
            value = self.state.server_var(name)
            if value is None:
                raise NutError("VAR-NOT-SUPPORTED")
            self.send(f'VAR {upsname} {name} "{value}"')
            return
        entry = self.ups(upsname)
        self.available(entry)
        if sub == "DESC":
            self.send(f'DESC {upsname} {name} "{self.state.describe_var(name)}"')
            return
        if sub == "CMDDESC":
            self.send(f'CMDDESC {upsname} {name} "{self.state.describe_cmd(name)}"')
            return
        var = self.state.variable(entry, name)
        if var is None:
            raise NutError("VAR-NOT-SUPPORTED")
        if sub == "VAR":
            value = self.state.value_of(entry, var)
            answer = _line_bytes(f'VAR {upsname} {name} "{value}"')
            self.transport.write(answer)
            if self._request_line is not None:
                self.state.remember(self._request_line, entry, answer)
        else:
            self.send(f"TYPE {upsname} {name} {self.state.type_words(entry, name)}")

    def get_tracking(self, args: list[str]) -> None:
        if not args:
            self.send("ON" if self.tracking else "OFF")
            return
        if not self.tracking:
            raise NutError("FEATURE-NOT-CONFIGURED")
        self.send(self.state.tracking_result(args[0]))

    def cmd_LIST(self, args: list[str]) -> None:
        if not args:
            raise NutError("INVALID-ARGUMENT")
        sub = args[0].upper()
        if sub == "UPS":
            out = ["BEGIN LIST UPS"]
            for entry in self.state.ups_list():
                desc = encode(entry.desc) if entry.desc is not None else "Description unavailable"
                out.append(f'UPS {entry.name} "{desc}"')
            out.append("END LIST UPS")
            self.send_lines(out)
            return
        if len(args) < 2:
            raise NutError("INVALID-ARGUMENT")
        upsname = args[1]
        if sub == "CLIENT":
            entry = self.ups(upsname)
            out = [f"BEGIN LIST CLIENT {upsname}"]
            out += [f"CLIENT {entry.name} {c.addr}" for c in self.state.clients_of(entry)]
            out.append(f"END LIST CLIENT {upsname}")
            self.send_lines(out)
            return
        if sub in ("VAR", "RW", "CMD"):
            entry = self.ups(upsname)
            self.available(entry)
            out = [f"BEGIN LIST {sub} {upsname}"]
            if sub == "CMD":
                out += [f"CMD {upsname} {c}" for c in self.state.commands(entry)]
            elif sub == "VAR":
                value_of = self.state.value_of
                for v in self.state.variables(entry):
                    out.append(f'VAR {upsname} {v.name} "{value_of(entry, v)}"')
            else:
                out += [
                    f'RW {upsname} {v.name} "{v.value}"'
                    for v in self.state.variables(entry)
                    if v.flags & Flag.RW
                ]
            out.append(f"END LIST {sub} {upsname}")
            self.send_lines(out)
            return
        if sub in ("ENUM", "RANGE"):
            if len(args) < 3:
                raise NutError("INVALID-ARGUMENT")
            name = args[2]
            entry = self.ups(upsname)
            self.available(entry)
            var = self.state.variable(entry, name)
            if var is None:
                raise NutError("VAR-NOT-SUPPORTED")
            out = [f"BEGIN LIST {sub} {upsname} {name}"]
            if sub == "ENUM":
                out += [f'ENUM {upsname} {name} "{e}"' for e in var.enums or ()]
            else:
                out += [f'RANGE {upsname} {name} "{lo}" "{hi}"' for lo, hi in var.ranges or ()]
            out.append(f"END LIST {sub} {upsname} {name}")
            self.send_lines(out)
            return
        raise NutError("INVALID-ARGUMENT")

    # --- commands needing USERNAME and PASSWORD ------------------------------------------------

    def cmd_LOGIN(self, args: list[str]) -> None:
        if len(args) != 1:
            raise NutError("INVALID-ARGUMENT")
        if self.loginups is not None:
            raise NutError("ALREADY-LOGGED-IN")
        entry = self.ups(args[0])
        if not self.user_may("login"):
            raise NutError("ACCESS-DENIED")
        self.loginups = entry.name
        self.state.logged_in(entry)
        self.log.info(
            "User {user}@{addr} logged into UPS [{ups}]{ssl}",
            user=self.username, addr=self.addr, ups=entry.name, ssl=" (SSL)" if self.ssl else "",
        )  # fmt: skip
        self.send("OK")

    def _primary(self, args: list[str], word: str) -> None:
        if len(args) != 1:
            raise NutError("INVALID-ARGUMENT")
        self.ups(args[0])
        granted = self.state.user_has_action(
            self.username, "primary"
        ) or self.state.user_has_action(self.username, "master")
        if not (self.password_ok() and granted):
            raise NutError("ACCESS-DENIED")
        self.send(f"OK {word}-GRANTED")

    def cmd_PRIMARY(self, args: list[str]) -> None:
        self._primary(args, "PRIMARY")

    def cmd_MASTER(self, args: list[str]) -> None:
        self._primary(args, "MASTER")

    def cmd_FSD(self, args: list[str]) -> None:
        if len(args) != 1:
            raise NutError("INVALID-ARGUMENT")
        entry = self.ups(args[0])
        if not self.user_may("fsd"):
            self.audit("FSD", entry.name, "denied")
            raise NutError("ACCESS-DENIED")
        self.state.set_fsd(entry)
        self.audit("FSD", entry.name, "set")
        self.send("OK FSD-SET")

    def cmd_SET(self, args: list[str]) -> None:
        if args and args[0].upper() == "TRACKING":
            if len(args) < 2 or args[1].upper() not in ("ON", "OFF"):
                raise NutError("INVALID-ARGUMENT")
            self.tracking = args[1].upper() == "ON"
            self.send("OK")
            return
        if len(args) < 4 or args[0].upper() != "VAR":
            raise NutError("INVALID-ARGUMENT")
        upsname, name, value = args[1], args[2], args[3]
        entry = self.ups(upsname)
        self.available(entry)
        what = f"{name} = {value!r}"
        if not self.user_may("set"):
            self.audit("SET", entry.name, "denied", what)
            raise NutError("ACCESS-DENIED")
        var = self.state.variable(entry, name)
        if var is None:
            raise NutError("VAR-NOT-SUPPORTED")
        if not var.flags & Flag.RW:
            raise NutError("READONLY")
        if var.flags & Flag.STRING:
            if var.aux < 1:
                raise NutError("SET-FAILED")
            if len(value) > var.aux:
                raise NutError("TOO-LONG")
        if var.enums and value not in var.enums:
            raise NutError("INVALID-VALUE")
        if var.ranges and not any(lo <= atoi(value) <= hi for lo, hi in var.ranges):
            raise NutError("INVALID-VALUE")
        tid = self.state.new_tracking() if self.tracking else None
        if not self.state.setvar(entry, name, value, tid):
            self.audit("SET", entry.name, "failed", what)
            raise NutError("SET-FAILED")
        self.audit("SET", entry.name, "forwarded", what)
        self.send(f"OK TRACKING {tid}" if tid else "OK")

    def cmd_INSTCMD(self, args: list[str]) -> None:
        if len(args) < 2:
            raise NutError("INVALID-ARGUMENT")
        upsname, cmd = args[0], args[1]
        param = args[2] if len(args) == 3 else None
        entry = self.ups(upsname)
        self.available(entry)
        if not self.state.has_command(entry, cmd):
            raise NutError("CMD-NOT-SUPPORTED")
        what = cmd + (f" {param!r}" if param is not None else "")
        if not (self.password_ok() and self.state.user_may_instcmd(self.username, cmd)):
            self.audit("INSTCMD", entry.name, "denied", what)
            raise NutError("ACCESS-DENIED")
        tid = self.state.new_tracking() if self.tracking else None
        if not self.state.instcmd(entry, cmd, param, tid):
            self.audit("INSTCMD", entry.name, "failed", what)
            raise NutError("INSTCMD-FAILED")
        self.audit("INSTCMD", entry.name, "forwarded", what)
        self.send(f"OK TRACKING {tid}" if tid else "OK")


_HANDLERS = {name[4:]: name for name in dir(NetServerProtocol) if name.startswith("cmd_")}

__all__ = [
    "AUTH_BAD",
    "AUTH_OK",
    "AUTH_THROTTLED",
    "NetServerProtocol",
    "NutError",
    "Ups",
    "UpsdBackend",
]
