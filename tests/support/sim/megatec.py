"""A Megatec/Q1 UPS (nutdrv_qx protocols megatec and q1, blazer_ser).

State keys: ``status`` ("OL", "OB", "LB": OB with battery low), ``vin``,
``vfault``, ``vout``, ``load`` (%), ``freq``, ``batt`` (battery volts) or
``charge`` (% of the range NUT guesses, between 104/120 and 130/120 of the
nominal battery voltage), ``temp``, ``bits`` (the 8 status bits, overriding
``status``), and the rating (``F``) and vendor (``I``) replies.  With
``protocol="q1"`` it answers Q1 only; ``mustek`` asks QS, ``megatec/old`` D
and ``zinto`` (also Hunnox) FW? for the vendor.  ``qpi`` answers QPI (Mecer,
Voltronic: ``"PI98"``, ``"NAK"``); ``ack`` is the reply to action commands
(``"(ACK"``; None: silence); ``m`` answers M (Voltronic-QS: ``"V"``).  Action commands (T, TL, Tnn, CT, Q, C,
S...) get no reply; anything else is echoed back, as many of these units do.

Run as a script: ``python -m support.sim.megatec DIR [control.json]`` prints
the port path and serves until killed.
"""

# printf formats on purpose: the values must be formatted as NUT's C code does
# ruff: noqa: UP031

from __future__ import annotations

import re
import sys
import time
from pathlib import Path
from typing import Any

from support.sim.base import PtySim

DEFAULTS: dict[str, Any] = {
    "status": "OL",
    "vin": 230.0,
    "vfault": 195.0,
    "vout": 230.0,
    "load": 14,
    "freq": 50.0,
    "batt": 27.30,
    "temp": 30.0,
    "beeper": False,
    "standby": True,
    "bits": None,
    "rating": "#230.0 004 024.0 50.0",
    "vendor": "#FakeMegatec     FAKE-UPS   V1.0      ",
}

_ACTION = re.compile(rb"^(T|TL|T\d\d|CT|Q|C|S\.\d|S\d\d|S\.\dR\d{4}|S\d\dR\d{4})\r$")


class MegatecSim(PtySim):
    def __init__(
        self, directory: Path | str, name: str = "ttyUPS", protocol: str = "megatec", **kw: Any
    ):
        super().__init__(directory, name, kw.pop("control", None))
        self.protocol = protocol
        self.state = dict(DEFAULTS)
        self.state.update(kw)

    def bits(self) -> str:
        s = self.state
        if s.get("bits"):
            return str(s["bits"])
        words = str(s["status"]).split()
        ob = "OB" in words or "LB" in words
        return "".join(
            "1" if b else "0"
            for b in (
                ob,
                "LB" in words,
                "BYPASS" in words or "TRIM" in words or "BOOST" in words,
                "FAIL" in words,
                s["standby"],
                "CAL" in words,
                "FSD" in words,
                s["beeper"],
            )
        )

    def battery_volts(self) -> float:
        s = self.state
        if s.get("charge") is not None:
            nominal = 24.0
            low, high = 104 * nominal / 120, 130 * nominal / 120
            return low + (high - low) * float(s["charge"]) / 100
        return float(s["batt"])

    def q1(self) -> bytes:
        s = self.state
        volts = self.battery_volts()
        batt = "%04.1f" % volts if volts >= 9.95 else "%4.2f" % volts
        text = "(%05.1f %05.1f %05.1f %03d %04.1f %s %04.1f %s\r" % (
            s["vin"], s["vfault"], s["vout"], int(s["load"]), s["freq"], batt, s["temp"],
            self.bits(),
        )  # fmt: skip
        return text.encode()

    #: protocol -> (status query, rating query, vendor query)
    QUERIES = {
        "megatec": (b"Q1\r", b"F\r", b"I\r"),
        "q1": (b"Q1\r", None, None),
        "mustek": (b"QS\r", b"F\r", b"I\r"),
        "megatec/old": (b"D\r", b"F\r", b"I\r"),
        "zinto": (b"Q1\r", b"F\r", b"FW?\r"),
        "mecer": (b"Q1\r", b"F\r", b"I\r"),
        "voltronic-qs": (b"QS\r", b"F\r", None),
        "voltronic-qs-hex": (None, None, None),
        "bestups": (b"Q1\r", None, None),
        "ablerex": (b"Q1\r", b"F\r", b"I\r"),
    }
    #: Best Power's other queries (protocol "bestups"); state keys of the same names override
    BESTUPS = {
        b"ID\r": "FOR,750,120,120,20.0,27.6",
        b"RT\r": "015",
        b"BP?\r": "02",
        b"SS?\r": "0",
        b"M\r": "0",
    }

    def qs_hex(self) -> bytes:
        """Voltronic-QS-Hex's binary QS answer: raw bytes, escaped where they would end a line."""
        s = self.state
        esc = {0x0D: b"(\x00", 0x11: b"(\x01", 0x13: b"(\x02", 0x0A: b"(\x03", 0x20: b"(\x04"}

        def raw(value: int, n: int) -> bytes:
            value = max(0, min(value, 256**n - 1))
            return b"".join(esc.get(b, bytes([b])) for b in value.to_bytes(n, "big"))

        mult = 0x35
        volts = [
            raw(round(float(v) * 256 * 51 / mult), 2) + b" " + raw(mult, 1)
            for v in (s["vin"], s["vout"])
        ]
        fields = [
            *volts,
            raw(int(s["load"]), 1),
            raw(25000, 2) + b" " + raw(round(25000 * float(s["freq"])), 3),
            raw(230, 1) + b" " + raw(round(self.battery_volts() * 510 / 230), 1),
            raw(int(self.bits(), 2), 1),
        ]
        if s.get("ratings_bits"):
            fields.append(raw(int(str(s["ratings_bits"]), 2), 1))
        return b"#" + b" ".join(fields) + b"\r"

    def ablerex(self, cmd: bytes) -> bytes:
        """Ablerex's binary answers: Q5 (frequency, battery, error, current), At, TR."""
        s = self.state

        def word(v: int) -> bytes:
            return int(v).to_bytes(2, "big")

        if cmd == b"Q5\r":
            body = (
                word(round(float(s["freq"]) * 10)) + b"\x01\x02\x03\x04"
                + word(int(s.get("q5_vb", 1300))) + word(int(s.get("q5_vbc", 1000)))
                + b"\x00\x00" + word(int(s.get("q5_err", 0))) + word(int(s.get("q5_cur", 12)))
                + b"\x20\x21\x22\x23"
            )  # fmt: skip
            return b"(" + body + b"\r"
        if cmd == b"At\r":
            return b"(" + int(s.get("at", 1800)).to_bytes(4, "big") + b"\r"
        return b"#" + str(s.get("tr", "OK  ")).encode() + b"\r"

    def answer(self, cmd: bytes) -> bytes | None:
        if self.protocol == "voltronic-qs-hex" and cmd == b"QS\r":
            return self.qs_hex()
        if self.protocol == "ablerex" and cmd in (b"Q5\r", b"At\r", b"TR\r"):
            return self.ablerex(cmd)
        if self.protocol == "bestups" and cmd in self.BESTUPS:
            key = cmd[:-1].decode()
            return (str(self.state.get(key, self.BESTUPS[cmd])) + "\r").encode()
        status, rating, vendor = self.QUERIES[self.protocol]
        if cmd == status:
            return self.q1()
        if cmd == rating:
            return (self.state["rating"] + "\r").encode()
        if cmd == vendor:
            return (self.state["vendor"] + "\r").encode()
        if cmd == b"M\r" and self.state.get("m"):
            return str(self.state["m"]).encode() + b"\r"
        if cmd == b"QPI\r" and self.state.get("qpi"):
            return b"(" + str(self.state["qpi"]).encode() + b"\r"
        if _ACTION.match(cmd):
            ack = self.state.get("ack")
            return None if ack is None else str(ack).encode() + b"\r"
        return cmd if self.echo_unknown else None


def main(argv: list[str]) -> int:
    directory = Path(argv[0]) if argv else Path(".")
    control = Path(argv[1]) if len(argv) > 1 else None
    sim = MegatecSim(directory, control=control).start()
    print(sim.path, flush=True)
    try:
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
