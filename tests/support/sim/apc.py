"""An APC Smart-UPS speaking the Smart protocol (apcsmart) on a pseudo-terminal.

Commands are single bytes; replies end with CR LF.  ``Y`` enters smart mode
(``SM``), ``a`` lists the protocol, alerts and commands, ^Z the settable
values, ``Q`` the status byte in hex, ``-`` steps the variable asked last to
its next value (``OK``; strings take 8 bytes after it), ``R`` leaves smart
mode (``BYE``), anything unknown answers ``NA``.  ``set(status="OB")`` sends
the alert character for the change at once (``!``, ``$``, ``%``, ``+``, ``#``),
as APC units do between replies.

State keys: ``status`` (words OL OB LB RB CAL TRIM BOOST OVER, or ``byte``),
``vars`` (command char -> value), ``cmdset``, ``caps``, ``silent``, ``nolf``
(command chars whose replies lack their CR LF).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

from support.sim.base import PtySim

STATUS_BITS = {
    "CAL": 0x01,
    "TRIM": 0x02,
    "BOOST": 0x04,
    "OL": 0x08,
    "OB": 0x10,
    "OVER": 0x20,
    "LB": 0x40,
    "RB": 0x80,
}

VARS: dict[str, str] = {
    "\x01": "Smart-UPS 1000",
    "n": "QS0123456789",
    "m": "01/02/03",
    "b": "50.9.D",
    "V": "NA",
    "v": "2.0",
    "c": "UPS_IDEN",
    "x": "05/06/07",
    "E": "336",
    "X": "NO",
    "r": "000",
    "p": "020",
    "L": "230.4",
    "F": "50.00",
    "s": "H",
    "9": "FF",
    "l": "196",
    "u": "253",
    "G": "O",
    "M": "231.0",
    "N": "229.0",
    "O": "230.4",
    "o": "230",
    "f": "100.0",
    "e": "00",
    "B": "27.30",
    "g": "024",
    "j": "0045:",
    "q": "02",
    "k": "0",
    "C": "029.2",
    "P": "041.6",
    ">": "000",
    "<": "000",
    "/": "01.20",
}

CMDSET = "3.!$%+?=#|.\x01\x0e\x1a')-+89@ABCDEFGKLMNOPQRSUVWXYZabcefgjklmnopqrsuxyz~"
#: ^Z's answer: for each settable variable, its char, locale, count and width of its values
CAPS = "#" + "".join(
    (
        "u443253264271280",
        "l443196188208204",
        "e44200155090",
        "p443020180300600",
        "r443000060180300",
        "s441HMLL",
        "q44202050710",
        "k4410TLN",
        "oD13230",
        "E443336168ON OFF",
    )
)
#: replies to the action commands
ACTIONS = {"A": "OK", "U": "OK", "W": "OK", "D": "OK", "S": "OK", "K": "OK", "@": "OK"}


class ApcSim(PtySim):
    terminators = b""

    def __init__(self, directory: Path | str, name: str = "ttyUPS", **kw: Any) -> None:
        super().__init__(directory, name, kw.pop("control", None))
        self.state = {
            "status": "OL",
            "vars": dict(VARS),
            "cmdset": CMDSET,
            "caps": CAPS,
            "smart": False,
        }
        self.state["vars"].update(kw.pop("vars", {}))
        self.state.update(kw)
        self._last_var: str | None = None
        self._pending: str | None = None
        self._arg = ""
        self._wlock = threading.Lock()

    # --- status --------------------------------------------------------------------------

    def status_byte(self) -> int:
        s = self.state["status"]
        if isinstance(s, int):
            return s
        return sum(STATUS_BITS.get(w, 0) for w in str(s).split())

    def set(self, **kw: Any) -> None:
        before = self.status_byte()
        super().set(**kw)
        after = self.status_byte()
        alerts = ""
        if after & 0x10 and not before & 0x10:
            alerts += "!"
        if after & 0x08 and not before & 0x08:
            alerts += "$"
        if after & 0x40 and not before & 0x40:
            alerts += "%"
        if before & 0x40 and not after & 0x40:
            alerts += "+"
        if after & 0x80 and not before & 0x80:
            alerts += "#"
        if alerts and not self.silent and self.master >= 0:
            self._write(alerts.encode())

    def _write(self, data: bytes) -> None:
        with self._wlock:
            try:
                os.write(self.master, data)
            except OSError:
                pass

    # --- the device ----------------------------------------------------------------------

    def _run(self) -> None:
        import select
        import time

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
            for b in data:
                byte = bytes([b])
                with self.lock:
                    self.received += byte
                    self.commands.append(byte)
                if self.silent:
                    continue
                reply = self.byte(chr(b))
                if reply is not None:
                    end = b"" if chr(b) in str(self.state.get("nolf", "")) else b"\r\n"
                    self._write(reply.encode("latin-1") + end)

    def byte(self, ch: str) -> str | None:
        s = self.state
        if self._pending == "@":
            self._arg += ch
            if len(self._arg) < 3:
                return None
            self._pending = None
            return "OK"
        if self._pending == "-str":
            self._arg += ch
            if len(self._arg) < 8:
                return None
            self._pending = None
            assert self._last_var is not None
            s["vars"][self._last_var] = self._arg.rstrip("\r")
            return "OK"
        if ch == "Y":
            s["smart"] = True
            return "SM"
        if ch == "\x1b":
            return None
        if ch == "R":
            s["smart"] = False
            return "BYE"
        if ch == "Q":
            return f"{self.status_byte():02X}"
        if ch == "a":
            return str(s["cmdset"])
        if ch == "\x1a":
            return str(s["caps"])
        if ch == "-":
            return self._next_value()
        if ch == "@":
            self._pending, self._arg = "@", ""
            return None
        if ch in ("Z", "\x0e"):
            return None
        if ch in ACTIONS:
            return ACTIONS[ch]
        if ch in s["vars"]:
            self._last_var = ch
            return str(s["vars"][ch])
        return "NA"

    def _next_value(self) -> str:
        var = self._last_var
        s = self.state
        if var in ("c", "x"):
            self._pending, self._arg = "-str", ""
            return None  # type: ignore[return-value]
        caps = str(s["caps"])[1:]
        i = 0
        while i + 4 <= len(caps):
            cmd, n, width = caps[i], ord(caps[i + 2]) - 48, ord(caps[i + 3]) - 48
            values = [caps[i + 4 + k * width : i + 4 + (k + 1) * width] for k in range(n)]
            i += 4 + n * width
            if cmd == var and var in s["vars"]:
                cur = s["vars"][var]
                nxt = values[(values.index(cur) + 1) % len(values)] if cur in values else values[0]
                s["vars"][var] = nxt
                return "OK"
        return "NO"
