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
"""

from __future__ import annotations

import errno
from typing import Any

from twisted.internet import tcp
from twisted.internet.interfaces import IListeningPort, IReactorFDSet, IReactorTCP
from twisted.internet.protocol import Factory

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


class WriteThroughPort(tcp.Port):
    """A listening TCP port whose connections are :class:`WriteThroughServer`."""

    transport = WriteThroughServer


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
