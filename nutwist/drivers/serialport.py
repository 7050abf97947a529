"""A serial port for a driver, on the reactor (pyserial underneath, no threads).

NUT's serial drivers open their port with ``O_RDWR|O_NOCTTY|O_EXCL|O_NONBLOCK``
and an exclusive ``flock`` (unless ``nolock``), set 8N1 at the driver's speed
with ``CLOCAL|CREAD``, and drive DTR/RTS as their cable needs.  Before each
command they flush both directions (``tcflush(TCIOFLUSH)``), then wait for the
answer with a timeout.  :class:`SerialLine` does the same without blocking the
reactor: bytes arrive through :class:`twisted.internet.serialport.SerialPort`,
and every wait is a Deferred with a ``callLater`` timeout.

When the port goes away (an unplugged USB adapter, a closed pseudo-terminal),
the transport is dropped; the next command tries to open the port again, at
most once per back-off period (1 s doubling to 60 s), so a driver recovers
without a restart.  Opening a tty with ``O_NONBLOCK`` and setting its
attributes do not block.
"""

from __future__ import annotations

import os
import termios
from collections.abc import Callable
from typing import Any

from twisted.internet import defer, protocol
from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger
from twisted.python.failure import Failure

from nutwist.drivers.core import DeviceError


class PortError(DeviceError):
    """The port cannot be opened, or vanished."""


class _Receiver(protocol.Protocol):
    def __init__(self, line: SerialLine) -> None:
        self.line = line

    def dataReceived(self, data: bytes) -> None:
        self.line._received(data)

    def connectionLost(self, reason: Failure = protocol.connectionDone) -> None:
        self.line._lost(reason)


#: A reader looks at the bytes received so far and returns how many of them
#: make the answer (the rest is dropped), or None to wait for more.
Reader = Callable[[bytes], int | None]


def canonical_line(maxlen: int = 511) -> Reader:
    """Read as a tty in canonical mode with VEOL='\\r': up to CR or LF, inclusive."""

    def reader(buf: bytes) -> int | None:
        for i, b in enumerate(buf):
            if b in (0x0D, 0x0A):
                return min(i + 1, maxlen)
            if i + 1 >= maxlen:
                return maxlen
        return None

    return reader


class SerialLine:
    """One serial port, opened as NUT's ``ser_open``/``ser_set_speed``."""

    log = Logger()
    #: back-off between attempts to open the port again, doubling to the maximum
    backoff_min = 1.0
    backoff_max = 60.0

    def __init__(
        self,
        path: str,
        *,
        clock: IReactorTime | None = None,
        baudrate: int = 2400,
        dtr: bool | None = True,
        rts: bool | None = False,
        lock: bool = True,
    ) -> None:
        if clock is None:
            from twisted.internet import reactor

            clock = reactor
        assert clock is not None
        self.clock: Any = clock
        self.path = path
        self.baudrate = baudrate
        self.dtr = dtr
        self.rts = rts
        self.lock = lock
        self.port: Any = None
        self._buf = b""
        self._waiter: defer.Deferred[bytes] | None = None
        self._reader: Reader | None = None
        self._timer: Any = None
        self._next_open = 0.0
        self._backoff = self.backoff_min
        self._closing = False
        #: every byte written, for tests and debugging
        self.sent: list[bytes] = []

    # --- opening --------------------------------------------------------------------

    @property
    def is_open(self) -> bool:
        return self.port is not None

    def open(self) -> None:
        """Open the port now; PortError says why not."""
        import serial
        from twisted.internet.serialport import SerialPort

        def factory(port: str, **kw: Any) -> Any:
            s = serial.Serial()
            s.port = port
            s.baudrate = kw["baudrate"]
            s.bytesize = kw["bytesize"]
            s.parity = kw["parity"]
            s.stopbits = kw["stopbits"]
            s.timeout = 0
            s.xonxoff = False
            s.rtscts = False
            s.exclusive = self.lock or None
            # pyserial raises both lines on open unless told otherwise
            if self.dtr is not None:
                s.dtr = self.dtr
            if self.rts is not None:
                s.rts = self.rts
            s.open()
            return s

        class _Port(SerialPort):
            _serialFactory = staticmethod(factory)

        self._buf = b""
        try:
            self.port = _Port(_Receiver(self), self.path, self.clock, baudrate=self.baudrate)
        except (OSError, ValueError, serial.SerialException) as e:
            self.port = None
            self._next_open = self.clock.seconds() + self._backoff
            self._backoff = min(self.backoff_max, self._backoff * 2)
            raise PortError(f"Unable to open {self.path}: {_why(e)}") from None
        self._backoff = self.backoff_min
        self._next_open = 0.0

    def ensure_open(self) -> None:
        """Open the port if it is closed and the back-off allows; PortError otherwise."""
        if self.port is not None:
            return
        if self.clock.seconds() < self._next_open:
            raise PortError(f"{self.path}: not open (waiting to retry)")
        self.open()
        self.log.info("{path}: port open", path=self.path)

    def close(self) -> None:
        port, self.port = self.port, None
        self._fail(PortError(f"{self.path}: closed"))
        if port is not None:
            self._closing = True
            try:
                port.loseConnection()
                port.connectionLost(Failure(PortError("closed")))
            except Exception:
                pass
            finally:
                self._closing = False

    def _lost(self, reason: Failure) -> None:
        if self._closing:
            return
        if self.port is not None:
            self.log.warn("{path}: port lost: {why}", path=self.path, why=reason.getErrorMessage())
        self.port = None
        self._next_open = self.clock.seconds() + self._backoff
        self._backoff = min(self.backoff_max, self._backoff * 2)
        self._fail(PortError(f"{self.path}: port lost"))

    # --- line control -------------------------------------------------------------------

    def set_dtr(self, on: bool) -> None:
        if self.port is not None:
            try:
                self.port.setDTR(on)
            except (OSError, ValueError, Exception):
                pass

    def set_rts(self, on: bool) -> None:
        if self.port is not None:
            try:
                self.port.setRTS(on)
            except (OSError, ValueError, Exception):
                pass

    # --- I/O ------------------------------------------------------------------------------

    def flush(self) -> None:
        """Drop unread input and unsent output (``tcflush(TCIOFLUSH)``)."""
        self._buf = b""
        if self.port is not None:
            try:
                termios.tcflush(self.port.fileno(), termios.TCIOFLUSH)
            except (OSError, termios.error):
                pass

    def write(self, data: bytes) -> None:
        self.ensure_open()
        self.sent.append(data)
        try:
            os.write(self.port.fileno(), data)
        except BlockingIOError:
            self.port.write(data)
        except OSError as e:
            self._lost(Failure(e))
            raise PortError(f"{self.path}: write: {e.strerror}") from None

    def read(self, reader: Reader, timeout: float) -> defer.Deferred[bytes]:
        """The answer the reader finds, or what came before the timeout (maybe b"")."""
        if self._waiter is not None:
            raise RuntimeError("one read at a time")
        if self.port is None:
            return defer.fail(PortError(f"{self.path}: not open"))
        d: defer.Deferred[bytes] = defer.Deferred()
        self._waiter = d
        self._reader = reader
        self._timer = self.clock.callLater(timeout, self._timeout)
        self._check()
        return d

    def command(self, data: bytes, reader: Reader, timeout: float) -> defer.Deferred[bytes]:
        """Flush, send ``data`` and read the answer, as NUT's ``qx_command``."""
        try:
            self.ensure_open()
            self.flush()
            self.write(data)
        except PortError as e:
            return defer.fail(e)
        return self.read(reader, timeout)

    def _received(self, data: bytes) -> None:
        self._buf += data
        if len(self._buf) > 65536:
            self._buf = self._buf[-4096:]
        self._check()

    def _check(self) -> None:
        if self._waiter is None or self._reader is None:
            return
        n = self._reader(self._buf)
        if n is None:
            return
        answer, self._buf = self._buf[:n], b""
        self._finish(answer)

    def _timeout(self) -> None:
        self._timer = None
        # a partial line never completes a canonical read: the driver sees a timeout
        self._buf = b""
        self._finish(b"")

    def _finish(self, answer: bytes) -> None:
        d, self._waiter, self._reader = self._waiter, None, None
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None
        if d is not None:
            d.callback(answer)

    def _fail(self, e: Exception) -> None:
        d, self._waiter, self._reader = self._waiter, None, None
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None
        if d is not None:
            d.errback(Failure(e))


def _why(e: BaseException) -> str:
    if isinstance(e, OSError) and e.strerror:
        return e.strerror
    text = str(e)
    # pyserial: "[Errno 11] Could not exclusively lock port X: ..." -> NUT's wording
    if "exclusively lock" in text:
        return "locked by another process"
    return text
