"""Errors of the NUT network protocol as typed exceptions.

Every ``ERR <CODE>`` a server can send has its own class (``UnknownUps`` for
``ERR UNKNOWN-UPS`` and so on); :func:`error_for` picks it.  ``message`` is the
one-line text NUT's client library prints for the same situation (after
``Error: ``), so the command-line tools word their errors exactly as NUT's do.
"""

from __future__ import annotations


class NutError(Exception):
    """Anything that went wrong talking to upsd."""

    #: the text NUT's clients print after "Error: "
    message = "Unknown error"

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail if detail is not None else self.message)
        if detail is not None:
            self.detail = detail


class ConnectionFailed(NutError):
    """The server could not be reached (refused, unreachable, timed out)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        self.message = f"Connection failure: {reason}"
        super().__init__(self.message)


class NoSuchHost(NutError):
    message = "No such host"


class ServerDisconnected(NutError):
    message = "Server disconnected"


class SslNotAvailable(NutError):
    """TLS was required (FORCESSL, CERTVERIFY) and the server does not offer STARTTLS."""

    message = "SSL is not available"


class SslError(NutError):
    """The TLS handshake failed: an unverifiable certificate, a wrong host name, ..."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        self.message = f"SSL error: {reason}"
        super().__init__(self.message)


class ProtocolError(NutError):
    """An answer that does not fit the request (wrong words, a line where a list was due)."""

    message = "Protocol error"


class MalformedReply(ProtocolError):
    """A reply the client library cannot make sense of: a value missing, a count
    that is not a number, a list row short of words, undecodable bytes.

    A server (or whoever sits between) can send anything; every such reply fails
    the request with this error and nothing else, so a caller's loop only ever
    has to handle :class:`NutError`.
    """


class ParseError(NutError):
    def __init__(self, reason: str) -> None:
        self.message = f"Parse error: {reason}"
        super().__init__(self.message)


class Timeout(NutError):
    def __init__(self, reason: str = "Connection timed out") -> None:
        self.message = f"Receive failure: {reason}"
        super().__init__(self.message)


class ServerError(NutError):
    """An ``ERR <CODE>`` answer; subclasses exist for every code upsd knows."""

    code = ""

    def __init__(self, code: str | None = None, extra: str = "") -> None:
        if code is not None:
            self.code = code
        self.extra = extra
        super().__init__(f"ERR {self.code}" + (f" {extra}" if extra else ""))

    @property
    def reply(self) -> str:
        """The answer line as the server sent it (without the LF)."""
        return str(self.args[0])


def _error(name: str, code: str, message: str = "Unknown error") -> type[ServerError]:
    cls = type(name, (ServerError,), {"code": code, "message": message, "__doc__": f"ERR {code}"})
    return cls


# NUT's client library maps codes to messages through this table, in this order,
# by prefix; codes it lacks print "Unknown error".
AccessDenied = _error("AccessDenied", "ACCESS-DENIED", "Access denied")
UnknownUps = _error("UnknownUps", "UNKNOWN-UPS", "Unknown UPS")
VarNotSupported = _error("VarNotSupported", "VAR-NOT-SUPPORTED", "Variable not supported by UPS")
CmdNotSupported = _error("CmdNotSupported", "CMD-NOT-SUPPORTED", "Instant command not supported")
InvalidArgument = _error("InvalidArgument", "INVALID-ARGUMENT")
InstcmdFailed = _error("InstcmdFailed", "INSTCMD-FAILED", "Instant command failed")
SetFailed = _error("SetFailed", "SET-FAILED", "Set command failed")
ReadOnly = _error("ReadOnly", "READONLY", "Read-only variable")
TooLong = _error("TooLong", "TOO-LONG", "New value is too long")
FeatureNotSupported = _error("FeatureNotSupported", "FEATURE-NOT-SUPPORTED")
FeatureNotConfigured = _error("FeatureNotConfigured", "FEATURE-NOT-CONFIGURED")
AlreadySslMode = _error("AlreadySslMode", "ALREADY-SSL-MODE")
DriverNotConnected = _error("DriverNotConnected", "DRIVER-NOT-CONNECTED", "Driver not connected")
DataStale = _error("DataStale", "DATA-STALE", "Data stale")
AlreadyLoggedIn = _error("AlreadyLoggedIn", "ALREADY-LOGGED-IN", "Already logged in")
AlreadySetPassword = _error("AlreadySetPassword", "ALREADY-SET-PASSWORD", "Already set password")
AlreadySetUsername = _error("AlreadySetUsername", "ALREADY-SET-USERNAME", "Already set username")
UsernameRequired = _error("UsernameRequired", "USERNAME-REQUIRED", "Username required")
PasswordRequired = _error("PasswordRequired", "PASSWORD-REQUIRED", "Password required")
UnknownCommand = _error("UnknownCommand", "UNKNOWN-COMMAND", "Unknown command")
InvalidValue = _error("InvalidValue", "INVALID-VALUE", "Invalid value for variable")
InvalidPassword = _error("InvalidPassword", "INVALID-PASSWORD", "Invalid password")
InvalidUsername = _error("InvalidUsername", "INVALID-USERNAME", "Invalid username")
PasswordIncorrect = _error("PasswordIncorrect", "PASSWORD-INCORRECT", "Password incorrect")
MissingArgument = _error("MissingArgument", "MISSING-ARGUMENT", "Missing argument")
VarUnknown = _error("VarUnknown", "VAR-UNKNOWN", "Variable unknown")
UnknownType = _error("UnknownType", "UNKNOWN-TYPE", "Unknown variable type")
UnknownVar = _error("UnknownVar", "UNKNOWN-VAR", "Unknown variable")
UnknownInstcmd = _error("UnknownInstcmd", "UNKNOWN-INSTCMD", "Unknown instant command")
#: tracking results (GET TRACKING): the driver answered, and not with success
TrackingUnknown = _error("TrackingUnknown", "UNKNOWN")
TrackingFailed = _error("TrackingFailed", "FAILED")

BY_CODE: dict[str, type[ServerError]] = {
    cls.code: cls
    for cls in (
        AccessDenied,
        UnknownUps,
        VarNotSupported,
        CmdNotSupported,
        InvalidArgument,
        InstcmdFailed,
        SetFailed,
        ReadOnly,
        TooLong,
        FeatureNotSupported,
        FeatureNotConfigured,
        AlreadySslMode,
        DriverNotConnected,
        DataStale,
        AlreadyLoggedIn,
        AlreadySetPassword,
        AlreadySetUsername,
        UsernameRequired,
        PasswordRequired,
        UnknownCommand,
        InvalidValue,
        InvalidPassword,
        InvalidUsername,
        PasswordIncorrect,
        MissingArgument,
        VarUnknown,
        UnknownType,
        UnknownVar,
        UnknownInstcmd,
        TrackingUnknown,
        TrackingFailed,
    )
}

# libupsclient's order: the first code the reply starts with wins
_PREFIX_ORDER = [
    "VAR-NOT-SUPPORTED",
    "UNKNOWN-UPS",
    "ACCESS-DENIED",
    "PASSWORD-REQUIRED",
    "PASSWORD-INCORRECT",
    "MISSING-ARGUMENT",
    "DATA-STALE",
    "VAR-UNKNOWN",
    "ALREADY-LOGGED-IN",
    "ALREADY-SET-PASSWORD",
    "UNKNOWN-TYPE",
    "UNKNOWN-VAR",
    "READONLY",
    "TOO-LONG",
    "INVALID-VALUE",
    "SET-FAILED",
    "UNKNOWN-INSTCMD",
    "INSTCMD-FAILED",
    "CMD-NOT-SUPPORTED",
    "INVALID-USERNAME",
    "ALREADY-SET-USERNAME",
    "UNKNOWN-COMMAND",
    "INVALID-PASSWORD",
    "USERNAME-REQUIRED",
    "DRIVER-NOT-CONNECTED",
]


def error_for(reply: str) -> ServerError:
    """The exception for an ``ERR ...`` answer line."""
    rest = reply[4:]
    code, _, extra = rest.partition(" ")
    cls = BY_CODE.get(code)
    if cls is not None:
        return cls(extra=extra)
    err = ServerError(code, extra)
    for known in _PREFIX_ORDER:
        if rest.startswith(known):
            err.message = BY_CODE[known].message
            break
    return err


def client_message(reply: str) -> str:
    """What NUT's client library says for an ``ERR`` line (its prefix matching, its order)."""
    rest = reply[4:]
    for known in _PREFIX_ORDER:
        if rest.startswith(known):
            return BY_CODE[known].message
    return "Unknown error"
