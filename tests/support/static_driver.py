"""A stand-in driver that serves a fixed dump on a driver socket (enums, ranges, flags).

Neither NUT's dummy-ups nor nutwist's can declare ENUM or RANGE values, so tests
that need them run this: ``python static_driver.py SOCKET DUMPFILE``.  DUMPFILE
holds driver-protocol lines (``SETINFO``, ``SETFLAGS``, ``SETAUX``, ``ADDENUM``,
``ADDRANGE``, ``ADDCMD``, ...).  It answers ``DUMPALL`` with them and
``DUMPDONE``, ``PING`` with ``PONG``, applies ``SET`` (broadcasting the new
value) and reports every ``SET``/``INSTCMD`` that carries a TRACKING id as done.
"""

from __future__ import annotations

import os
import selectors
import shlex
import socket
import sys


def quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def main() -> None:
    path, dump_file = sys.argv[1], sys.argv[2]
    with open(dump_file) as f:
        dump = [line.rstrip("\n") for line in f if line.strip()]
    if os.path.exists(path):
        os.unlink(path)
    server = socket.socket(socket.AF_UNIX)
    server.bind(path)
    server.listen(16)
    sel = selectors.DefaultSelector()
    sel.register(server, selectors.EVENT_READ)
    buffers: dict[socket.socket, bytes] = {}

    def broadcast(line: str) -> None:
        for c in list(buffers):
            try:
                c.sendall((line + "\n").encode())
            except OSError:
                pass

    while True:
        for key, _ in sel.select():
            sock = key.fileobj
            assert isinstance(sock, socket.socket)
            if sock is server:
                conn, _ = server.accept()
                sel.register(conn, selectors.EVENT_READ)
                buffers[conn] = b""
                continue
            data = sock.recv(4096)
            if not data:
                sel.unregister(sock)
                buffers.pop(sock, None)
                sock.close()
                continue
            buffers[sock] += data
            while b"\n" in buffers[sock]:
                raw, buffers[sock] = buffers[sock].split(b"\n", 1)
                words = shlex.split(raw.decode())
                if not words:
                    continue
                if words[0] == "DUMPALL":
                    sock.sendall(("\n".join([*dump, "DATAOK", "DUMPDONE"]) + "\n").encode())
                elif words[0] == "PING":
                    sock.sendall(b"PONG\n")
                elif words[0] in ("SET", "INSTCMD"):
                    tracking = words[words.index("TRACKING") + 1] if "TRACKING" in words else None
                    if words[0] == "SET":
                        name, value = words[1], words[2]
                        dump = [d for d in dump if not d.startswith(f"SETINFO {name} ")]
                        dump.append(f"SETINFO {name} {quote(value)}")
                        broadcast(f"SETINFO {name} {quote(value)}")
                    if tracking:
                        sock.sendall(f"TRACKING {tracking} 0\n".encode())


if __name__ == "__main__":
    main()
