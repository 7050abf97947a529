"""A device on a pseudo-terminal: a thread answers what a driver writes to the slave side.

The driver opens ``sim.path`` (a symlink to the pty's slave, so that a "replug"
can put a new pty behind the same name).  Every byte received is logged in
``received``.  ``unplug()`` keeps the pty but stops answering (a pulled cable);
``close()`` closes the master (the port vanishes: reads on the slave fail);
``replug()`` answers again, on a new pty if the old one was closed.
A JSON control file, when given, is re-read whenever it changes and its keys
update ``state`` (``{"status": "OB", "charge": 40}``, see each simulator).
"""

from __future__ import annotations

import json
import os
import select
import threading
import time
import tty
from collections.abc import Callable
from pathlib import Path
from typing import Any


class PtySim:
    #: bytes that end a command
    terminators = b"\r"

    def __init__(self, directory: Path | str, name: str = "ttyUPS", control: Path | None = None):
        self.dir = Path(directory)
        self.path = self.dir / name
        self.control = control
        self._control_mtime: float | None = None
        self.received = bytearray()
        self.commands: list[bytes] = []
        self.lock = threading.Lock()
        self.silent = False
        self.echo_unknown = True
        #: replaces every answer when set: f(command) -> bytes or None
        self.override: Callable[[bytes], bytes | None] | None = None
        self.master = -1
        self.slave = -1
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._buf = b""
        self.state: dict[str, Any] = {}

    # --- life cycle ----------------------------------------------------------------------

    def start(self) -> PtySim:
        self._open_pty()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"sim-{self.path.name}", daemon=True)
        self._thread.start()
        return self

    def _open_pty(self) -> None:
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        tmp = self.path.with_suffix(".new")
        if tmp.is_symlink() or tmp.exists():
            tmp.unlink()
        os.symlink(os.ttyname(self.slave), tmp)
        os.replace(tmp, self.path)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None
        for fd in (self.master, self.slave):
            if fd >= 0:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self.master = self.slave = -1

    def __enter__(self) -> PtySim:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def unplug(self) -> None:
        self.silent = True

    def close(self) -> None:
        """The port vanishes: close both ends of the pty."""
        self.stop()

    def replug(self) -> None:
        self.silent = False
        if self._thread is None:
            self.start()

    # --- control ----------------------------------------------------------------------------

    def set(self, **kw: Any) -> None:
        with self.lock:
            self.state.update(kw)

    def _read_control(self) -> None:
        if self.control is None:
            return
        try:
            mtime = self.control.stat().st_mtime
        except OSError:
            return
        if mtime == self._control_mtime:
            return
        self._control_mtime = mtime
        try:
            data = json.loads(self.control.read_text() or "{}")
        except (OSError, ValueError):
            return
        if isinstance(data, dict):
            if "silent" in data:
                self.silent = bool(data.pop("silent"))
            self.set(**data)

    def sent_commands(self) -> list[bytes]:
        with self.lock:
            return list(self.commands)

    def clear_log(self) -> None:
        with self.lock:
            self.received.clear()
            self.commands.clear()

    # --- the device ----------------------------------------------------------------------

    def answer(self, cmd: bytes) -> bytes | None:
        """The reply to one command (without its terminator); None: say nothing."""
        raise NotImplementedError

    def _run(self) -> None:
        while not self._stop.is_set():
            self._read_control()
            try:
                r, _, _ = select.select([self.master], [], [], 0.05)
            except (OSError, ValueError):
                return
            if not r:
                continue
            try:
                data = os.read(self.master, 4096)
            except OSError:
                time.sleep(0.05)
                continue
            with self.lock:
                self.received += data
            self._buf += data
            while True:
                idx = [i for i in (self._buf.find(bytes([t])) for t in self.terminators) if i >= 0]
                if not idx:
                    break
                i = min(idx)
                cmd, self._buf = self._buf[: i + 1], self._buf[i + 1 :]
                with self.lock:
                    self.commands.append(cmd)
                if self.silent:
                    continue
                with self.lock:
                    reply = self.override(cmd) if self.override else self.answer(cmd)
                if reply:
                    try:
                        os.write(self.master, reply)
                    except OSError:
                        pass
