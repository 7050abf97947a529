"""TCP connections that send at once when nothing is waiting to be sent.

Twisted's ``transport.write`` only appends to a buffer and registers the socket
for writing; the next reactor iteration calls ``doWrite``, which sends and then
unregisters the socket.  A client that keeps one request in flight (upsmon,
upsc, exporters) therefore costs upsd two reactor dispatches and two epoll
modifications per answer.  :class:`WriteThroughServer` tries ``send()`` right
away when the connection has nothing buffered and hands Twisted only what the
kernel did not take, so the usual case costs one system call and no
registration.

What stays Twisted's:

* TLS: once ``startTLS`` has run, writes go through the TLS layer, whose
  encrypted output reaches the socket by ``FileDescriptor.write`` (buffered), so
  ordering is unchanged.  A plaintext answer written before ``startTLS`` (``OK
  STARTTLS``) leaves first: either the kernel took it, or it sits at the head
  of the buffer that the encrypted bytes are appended to.
* ordering: as soon as anything is buffered, every later write is buffered
  behind it until ``doWrite`` has drained the buffer.
* backpressure: a partial send buffers the rest through Twisted's ``write``,
  which pauses a registered producer past ``bufferSize``.
* errors: a send that fails with anything but ``EAGAIN``/``ENOBUFS`` buffers
  the data instead, and the next ``doWrite`` meets the same error and closes the
  connection the normal way (``connectionLost``).
* ``loseConnection``: a write after it is still delivered before the close, as
  with the buffered path.

The second cost on that path is the reactor's own dispatch: for every ready
descriptor the epoll reactor sets up a log context and a context call before
``doRead``, about a quarter of upsd's time under one-request-in-flight load.
:class:`WriteThroughPort` therefore registers its connections in a
:class:`ConnectionSet`, an inner epoll that is a single reader of the reactor:
one reactor event serves every connection that is ready.
"""

from __future__ import annotations

import errno
import select
import sys
import weakref
from typing import Any

from twisted.internet import error, main, tcp
from twisted.internet.interfaces import (
    IHalfCloseableDescriptor,
    IListeningPort,
    IReactorFDSet,
    IReactorTCP,
    IReadDescriptor,
)
from twisted.internet.protocol import Factory
from twisted.python import failure, log
from zope.interface import directlyProvides, implementer, providedBy

_RETRY_LATER = (errno.EAGAIN, errno.EWOULDBLOCK, errno.ENOBUFS)


class WriteThroughServer(tcp.Server):
    """A server-side TCP connection whose writes go straight out when they can."""

    def write(self, data: bytes) -> None:
        if (
            self.TLS
            or not data
            or not self.connected
            or self._writeDisconnected
            or self._tempDataBuffer
            or self.offset < len(self.dataBuffer)
            or not isinstance(data, bytes)
        ):
            super().write(data)
            return
        try:
            sent = self.socket.send(data)
        except OSError as e:
            if e.errno not in _RETRY_LATER:
                # Let doWrite meet the error and close the connection as usual.
                super().write(data)
                return
            sent = 0
        if sent < len(data):
            super().write(data[sent:])


_HAVE_EPOLL = hasattr(select, "epoll")
_EPOLLIN = getattr(select, "EPOLLIN", 1)
_EPOLLOUT = getattr(select, "EPOLLOUT", 4)
_DISCONNECTED = getattr(select, "EPOLLHUP", 16) | getattr(select, "EPOLLERR", 8)
_LOST = {
    error.ConnectionDone: failure.Failure(error.ConnectionDone()),
    error.ConnectionLost: failure.Failure(error.ConnectionLost()),
}


@implementer(IReactorFDSet)
class ConnectionSet:
    """A reactor facade that keeps its connections in one epoll of its own.

    The connections of a :class:`WriteThroughPort` are given this object as
    their reactor.  Their ``startReading``/``startWriting`` and the reverse
    register them here, in an inner ``epoll``; everything else (``callLater``,
    ``seconds``, ``running``, ...) is the real reactor's.  The inner epoll's
    descriptor is one reader of the real reactor (:class:`_Hub`): one reactor
    event then serves every connection that is ready, where the real reactor
    would pay its per-event dispatch (log context, context call) for each.

    Each ready connection is handled as the real epoll reactor handles it:
    hang-up or error without pending input ends it (a clean end, or a half-close
    where the connection supports one, if it was reading), a descriptor of -1
    ends it, an exception from ``doRead``/``doWrite`` is logged and ends it.
    When the real reactor stops, its ``disconnectAll`` ends the hub, and the hub
    ends every connection registered here, as the reactor would have.
    """

    def __init__(self, reactor: Any) -> None:
        self._reactor = reactor
        self._poller = select.epoll()
        self._reads: set[int] = set()
        self._writes: set[int] = set()
        self._selectables: dict[int, Any] = {}
        self._hub = _Hub(self)
        self._hub_registered = False
        directlyProvides(self, *providedBy(reactor))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._reactor, name)

    def _hub_needed(self) -> None:
        if not self._hub_registered:
            self._hub_registered = True
            self._reactor.addReader(self._hub)

    def _hub_idle(self) -> None:
        if not self._selectables and self._hub_registered:
            self._hub_registered = False
            self._reactor.removeReader(self._hub)

    def _add(self, xer: Any, primary: set[int], other: set[int], event: int, anti: int) -> None:
        fd = xer.fileno()
        if fd not in primary:
            if fd in other:
                self._poller.modify(fd, event | anti)
            else:
                self._poller.register(fd, event)
            primary.add(fd)
            self._selectables[fd] = xer
            self._hub_needed()

    def _remove(self, xer: Any, primary: set[int], other: set[int], anti: int) -> None:
        fd = xer.fileno()
        if fd == -1:  # closed already: find it by identity
            fd = next((n for n, known in self._selectables.items() if known is xer), -1)
            if fd == -1:
                return
        if fd in primary:
            if fd in other:
                self._poller.modify(fd, anti)
            else:
                del self._selectables[fd]
                self._poller.unregister(fd)
            primary.remove(fd)
            self._hub_idle()

    def addReader(self, reader: Any) -> None:
        self._add(reader, self._reads, self._writes, _EPOLLIN, _EPOLLOUT)

    def addWriter(self, writer: Any) -> None:
        self._add(writer, self._writes, self._reads, _EPOLLOUT, _EPOLLIN)

    def removeReader(self, reader: Any) -> None:
        self._remove(reader, self._reads, self._writes, _EPOLLOUT)

    def removeWriter(self, writer: Any) -> None:
        self._remove(writer, self._writes, self._reads, _EPOLLIN)

    def getReaders(self) -> list[Any]:
        return [self._selectables[fd] for fd in self._reads]

    def getWriters(self) -> list[Any]:
        return [self._selectables[fd] for fd in self._writes]

    def removeAll(self) -> list[Any]:
        readers = set(self.getReaders())
        writers = set(self.getWriters())
        for r in readers:
            self.removeReader(r)
        for w in writers:
            self.removeWriter(w)
        return list(readers | writers)

    def dispatch(self) -> None:
        """Serve every connection that is ready now."""
        selectables = self._selectables
        try:
            ready = self._poller.poll(0, len(selectables) or 1)
        except InterruptedError:
            return
        reads = self._reads
        for fd, event in ready:
            selectable = selectables.get(fd)
            if selectable is None:
                continue
            why: Any = None
            in_read = False
            if event & _DISCONNECTED and not event & _EPOLLIN:
                if fd in reads:
                    in_read = True
                    why = main.CONNECTION_DONE
                else:
                    why = main.CONNECTION_LOST
            else:
                try:
                    if selectable.fileno() == -1:
                        why = _NO_FILEDESC
                    else:
                        if event & _EPOLLIN:
                            why = selectable.doRead()
                            in_read = True
                        if not why and event & _EPOLLOUT:
                            why = selectable.doWrite()
                            in_read = False
                except BaseException:
                    why = sys.exc_info()[1]
                    log.callWithLogger(selectable, log.err)
            if why:
                try:
                    log.callWithLogger(selectable, self._disconnect, selectable, why, in_read)
                except BaseException:
                    # the real reactor would let this reach its main loop, which logs it
                    # and goes on; it must not end the hub (and every other connection)
                    log.err()

    def _disconnect(self, selectable: Any, why: Any, is_read: bool) -> None:
        self.removeReader(selectable)
        f = _LOST.get(why.__class__)
        if f:
            if (
                is_read
                and why.__class__ == error.ConnectionDone
                and IHalfCloseableDescriptor.providedBy(selectable)
            ):
                selectable.readConnectionLost(f)
            else:
                self.removeWriter(selectable)
                selectable.connectionLost(f)
        else:
            self.removeWriter(selectable)
            selectable.connectionLost(failure.Failure(why))

    def hub_lost(self) -> None:
        """The real reactor let go of the hub (it is stopping): end every connection."""
        self._hub_registered = False
        for selectable in self.removeAll():
            try:
                log.callWithLogger(
                    selectable, selectable.connectionLost, failure.Failure(main.CONNECTION_LOST)
                )
            except BaseException:
                log.err()


_NO_FILEDESC = error.ConnectionFdescWentAway("File descriptor lost")


@implementer(IReadDescriptor)
class _Hub:
    """The inner epoll of a :class:`ConnectionSet`, as one reader of the real reactor."""

    def __init__(self, connections: ConnectionSet) -> None:
        self._connections = weakref.proxy(connections)
        self._fileno = connections._poller.fileno()

    def fileno(self) -> int:
        return self._fileno

    def doRead(self) -> None:
        self._connections.dispatch()

    def connectionLost(self, reason: failure.Failure) -> None:
        self._connections.hub_lost()

    def logPrefix(self) -> str:
        return "upsd-connections"


_sets: weakref.WeakKeyDictionary[Any, ConnectionSet] = weakref.WeakKeyDictionary()


def connection_set(reactor: Any) -> ConnectionSet:
    """The :class:`ConnectionSet` of ``reactor`` (one per reactor, made on first use)."""
    cs = _sets.get(reactor)
    if cs is None:
        cs = _sets[reactor] = ConnectionSet(reactor)
    return cs


class WriteThroughPort(tcp.Port):
    """A listening TCP port whose connections are :class:`WriteThroughServer`,
    registered in the reactor's :class:`ConnectionSet`."""

    def transport(  # type: ignore[override]
        self, skt: Any, protocol: Any, addr: Any, server: Any, sessionno: int, reactor: Any
    ) -> WriteThroughServer:
        if _HAVE_EPOLL:
            reactor = connection_set(reactor)
        return WriteThroughServer(skt, protocol, addr, server, sessionno, reactor)


def listen_tcp(
    reactor: Any, port: int, factory: Factory, backlog: int = 50, interface: str = ""
) -> IListeningPort:
    """``reactor.listenTCP`` with write-through connections where the reactor allows.

    A reactor that is not file-descriptor based (a test's memory reactor) gets
    an ordinary ``listenTCP``.
    """
    if IReactorFDSet.providedBy(reactor) and IReactorTCP.providedBy(reactor):
        p = WriteThroughPort(port, factory, backlog, interface, reactor)
        p.startListening()
        return p
    listening: IListeningPort = reactor.listenTCP(
        port, factory, backlog=backlog, interface=interface
    )
    return listening
