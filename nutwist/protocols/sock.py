"""The driver socket protocol (NUT's docs/sock-protocol.txt), both ends.

A driver serves a unix stream socket ``<statepath>/<driver>-<upsname>``; upsd
and other tools connect to it.  Both sides speak parseconf lines:

driver -> listeners: SETINFO, DELINFO, ADDENUM, DELENUM, ADDRANGE, DELRANGE,
SETAUX, SETFLAGS, ADDCMD, DELCMD, DATAOK, DATASTALE, DUMPDONE, PONG,
``TRACKING <id> <status>``, and (later NUT) ``PID <n>``, ``OK Goodbye``.

listener -> driver: DUMPALL, PING, ``INSTCMD <cmd> [<param>] [TRACKING <id>]``,
``SET <var> "<value>" [TRACKING <id>]``, GETPID, LOGOUT, NOBROADCAST,
``BROADCAST [0|1]``.

Messages travel inside nutwist as word lists; :func:`format_line` renders one
with NUT's quoting, and the tokenizer turns a line back into the same words.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol as TypingProtocol

from twisted.internet import protocol
from twisted.logger import Logger

from nutwist.config.tokenizer import TokenizerError, encode
from nutwist.protocols.framing import WordReceiver

#: Words that are sent as a quoted value (the word at that index).
_QUOTED_ARG = {"SETINFO": 2, "ADDENUM": 2, "DELENUM": 2, "SET": 2}

#: Tracking results a driver reports (NUT's STAT_* codes).
TRACKING_SUCCESS = 0
TRACKING_UNKNOWN = 1
TRACKING_INVALID = 2
TRACKING_FAILED = 3

#: Bound on a line a peer may send before we give up on it.
MAX_LINE = 16 * 1024
#: Consecutive lines we do not understand before a peer counts as sending garbage.
MAX_BAD_LINES = 32


def format_line(words: Sequence[str]) -> bytes:
    """A message as a protocol line with NUT's quoting, LF-terminated."""
    q = _QUOTED_ARG.get(words[0], -1) if words else -1
    out = []
    for i, w in enumerate(words):
        if i == q or (i and (not w or any(c in w for c in ' \t"#\\='))):
            out.append('"' + encode(w) + '"')
        else:
            out.append(w)
    return (" ".join(out) + "\n").encode("ascii", "replace")


def parse_instcmd(args: Sequence[str]) -> tuple[str, str | None, str | None] | None:
    """``INSTCMD`` arguments as NUT 2.8.0 drivers read them: (cmd, param, tracking id)."""
    n = len(args)
    if n == 1:
        return args[0], None, None
    if n == 2:
        return args[0], args[1], None
    if n == 3 and args[1] == "TRACKING":
        return args[0], None, args[2]
    if n == 4 and args[2] == "TRACKING":
        return args[0], args[1], args[3]
    return None


def parse_set(args: Sequence[str]) -> tuple[str, str, str | None] | None:
    """``SET`` arguments as NUT 2.8.0 drivers read them: (var, value, tracking id)."""
    if len(args) < 2:
        return None
    tracking = args[3] if len(args) >= 4 and args[2] == "TRACKING" else None
    return args[0], args[1], tracking


class DriverBackend(TypingProtocol):
    """What the serving side needs from a driver."""

    def dump(self) -> list[list[str]]: ...

    def handle_instcmd(self, cmd: str, param: str | None, tracking: str | None) -> None: ...

    def handle_setvar(self, var: str, value: str, tracking: str | None) -> None: ...

    def attach(self, listener: DriverListener) -> None: ...

    def detach(self, listener: DriverListener) -> None: ...


class DriverListener(TypingProtocol):
    """Anything a driver broadcasts to: a socket peer, or upsd's link in-process."""

    def message(self, words: list[str]) -> None: ...


class DriverServerProtocol(WordReceiver):
    """The driver's end of one socket connection."""

    log = Logger()
    max_line = MAX_LINE

    def __init__(self, backend: DriverBackend, name: str = "driver") -> None:
        super().__init__()
        self.backend = backend
        self.name = name
        self.broadcast = True
        self.bad_lines = 0
        self.attached = False

    def connectionMade(self) -> None:
        self.backend.attach(self)
        self.attached = True

    def connectionLost(self, reason: object = None) -> None:
        if self.attached:
            self.backend.detach(self)
            self.attached = False

    def message(self, words: list[str]) -> None:
        if self.broadcast:
            self.transport.write(format_line(words))

    def reply(self, words: list[str]) -> None:
        """Send to this peer whatever its broadcast setting (answers, not updates)."""
        self.transport.write(format_line(words))

    def wordsReceived(self, words: list[str]) -> None:
        if words:
            self.lineReceived(words)

    def parseError(self, error: TokenizerError) -> bool:
        self._bad(f"parse error: {error.message}")
        return False

    def stopped(self) -> bool:
        return self.transport is None or bool(getattr(self.transport, "disconnecting", False))

    def lineTooLong(self) -> None:
        self.log.warn(
            "{name}: dropping a socket peer: line longer than {n} bytes",
            name=self.name,
            n=MAX_LINE,
        )
        self.tokenizer.reset()
        self.transport.loseConnection()

    def _bad(self, why: str) -> None:
        self.bad_lines += 1
        if self.bad_lines >= MAX_BAD_LINES:
            self.log.warn(
                "{name}: dropping a socket peer that sends garbage ({why})", name=self.name, why=why
            )
            self.transport.loseConnection()

    def lineReceived(self, words: list[str]) -> None:
        cmd, args = words[0].upper(), words[1:]
        handler = getattr(self, "cmd_" + cmd, None)
        if handler is None:
            self._bad(f"unknown command {words[0][:32]!r}")
            return
        self.bad_lines = 0
        handler(args)

    def cmd_DUMPALL(self, args: list[str]) -> None:
        write = self.transport.write
        write(b"".join(format_line(w) for w in self.backend.dump()))

    def cmd_PING(self, args: list[str]) -> None:
        self.reply(["PONG"])

    def cmd_GETPID(self, args: list[str]) -> None:
        import os

        self.reply(["PID", str(os.getpid())])

    def cmd_LOGOUT(self, args: list[str]) -> None:
        self.reply(["OK", "Goodbye"])
        self.transport.loseConnection()

    def cmd_NOBROADCAST(self, args: list[str]) -> None:
        self.broadcast = False

    def cmd_BROADCAST(self, args: list[str]) -> None:
        self.broadcast = not args or args[0] != "0"

    def cmd_INSTCMD(self, args: list[str]) -> None:
        parsed = parse_instcmd(args)
        if parsed is None:
            self._bad("malformed INSTCMD")
            return
        self.backend.handle_instcmd(*parsed)

    def cmd_SET(self, args: list[str]) -> None:
        parsed = parse_set(args)
        if parsed is None:
            self._bad("malformed SET")
            return
        self.backend.handle_setvar(*parsed)


class DriverClientListener(TypingProtocol):
    """What the connecting end of a driver socket reports to (upsd's link to a driver)."""

    def driver_connected(self, proto: DriverClientProtocol) -> None: ...

    def message(self, words: list[str]) -> None: ...

    def driver_disconnected(self, proto: DriverClientProtocol) -> None: ...


class DriverClientProtocol(WordReceiver):
    """The connecting end of a driver socket: words from the driver go to its listener."""

    log = Logger()
    max_line = MAX_LINE

    def __init__(self, listener: DriverClientListener, name: str) -> None:
        super().__init__()
        self.listener = listener
        self.name = name

    def connectionMade(self) -> None:
        self.listener.driver_connected(self)

    def connectionLost(self, reason: object = None) -> None:
        self.listener.driver_disconnected(self)

    def wordsReceived(self, words: list[str]) -> None:
        if words:
            self.listener.message(words)

    def parseError(self, error: TokenizerError) -> bool:
        # NUT's upsd loses such an update too (an unescaped '#' from a C driver)
        self.log.info(
            "{ups}: parse error on driver socket: {msg}", ups=self.name, msg=error.message
        )
        return False

    def lineTooLong(self) -> None:
        self.log.warn("{ups}: driver sent an over-long line; reconnecting", ups=self.name)
        self.tokenizer.reset()
        self.transport.loseConnection()

    def send(self, words: list[str]) -> None:
        self.transport.write(format_line(words))


class DriverServerFactory(protocol.Factory):
    #: the driver service logs the socket it serves; no "Starting factory <...>" lines
    noisy = False

    def logPrefix(self) -> str:
        return f"driver socket {self.name}"

    def __init__(self, backend: DriverBackend, name: str) -> None:
        self.backend = backend
        self.name = name

    def buildProtocol(self, addr: object) -> DriverServerProtocol:
        return DriverServerProtocol(self.backend, self.name)
