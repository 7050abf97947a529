"""apcsmart: APC's Smart protocol, ported from NUT 2.8.0's apcsmart driver (3.2).

Single-byte commands; replies end with LF (CR is ignored).  The line is read
as NUT's canonical tty reads it: a line ends at LF or at ``*`` (which only a
shutdown command's reply turns into "OK").  Alert characters that arrive
between replies (``!`` on battery, ``$`` on line, ``%`` low battery, ``+`` not
low, ``#`` replace battery, ``?``/``=`` overload) change the status when they
are read with the next reply or flush.

Start-up: ``Y`` (smart mode, up to 5 tries with ESC between), the firmware
(``V``, else ``b``) looked up in the compatibility table, else the command set
(``a``): each variable it lists is read once and kept if it answers, each
command becomes an instant command; then ^Z gives the settable values
(enumerations, for the UPS's locale).  A full read of every variable at the
first poll and hourly, the status and the polled variables every poll.

"Nasty" commands (load.off, shutdown.*) must be sent twice within 3 to 15 s.
``sdtype``/``advorder``/``awd``/``cshdelay`` choose the ``-k`` method as in
NUT; ``ttymode = raw`` reads whatever has arrived instead of whole lines.
``cable = 940-0095B`` only sets DTR on and RTS off, which a pseudo-terminal
cannot show (tests cannot check it).
"""

# printf formats on purpose: the values must be formatted as NUT's C code does
# ruff: noqa: UP031

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

from twisted.internet import defer

from nutwist.drivers.core import (
    TRACKING_FAILED,
    TRACKING_INVALID,
    TRACKING_SUCCESS,
    TRACKING_UNKNOWN,
    DeviceError,
    Driver,
)
from nutwist.drivers.qx.cstr import cstr, eq, strtol
from nutwist.drivers.serialport import PortError, Reader, SerialLine

# vartab flags
PRESENT, NASTY, REPEAT = 0x1, 0x2, 0x4
POLL, RW, ENUM, STRING, MULTI, PACK = 0x100, 0x200, 0x400, 0x800, 0x1000, 0x2000
F_MASK = 0xFF000000
F_LEAVE, F_PERCENT, F_VOLT, F_AMP, F_CELSIUS, F_HEX, F_DEC = (
    0, 0x01000000, 0x02000000, 0x03000000, 0x04000000, 0x05000000, 0x06000000,
)  # fmt: skip
F_SECONDS, F_MINUTES, F_HOURS, F_REASON = 0x07000000, 0x08000000, 0x09000000, 0x0A000000
PACK_MAX = 4

ENDCHAR = "\n"
IGN_AACHARS = "\r|&"
ALERT_CHARS = "$!%+#?="
IGN_CHARS = IGN_AACHARS + ALERT_CHARS
IGN_CCCHARS = "\r|&$!%+?="
IGN_CSCHARS = ""
MINCMDTIME, MAXCMDTIME = 3, 15
APC_STRLEN = 8
APC_LBUF = 512
APC_SBUF = 32

SER_D0, SER_DX, SER_D1, SER_D3 = 0x001, 0x002, 0x004, 0x008
SER_AA, SER_CC, SER_CS, SER_TO, SER_HA = 0x010, 0x020, 0x040, 0x080, 0x100

APC_UNR_CMDS = "\x1a\x7f~')-+8QRYayz"
STAT_CAL, STAT_TRIM, STAT_BOOST, STAT_OL = 0x01, 0x02, 0x04, 0x08
STAT_OB, STAT_OVER, STAT_LB, STAT_RB = 0x10, 0x20, 0x40, 0x80

APC_STATUS, APC_GOSMART, APC_GODUMB, APC_CMDSET = "Q", "Y", "R", "a"
APC_CMDSET_FMT = r"^[0-9]\.[^.]*\.[^.]+(\.[^.]+)?$"
APC_CAPS, APC_NEXTVAL, APC_FW_OLD, APC_FW_NEW = "\x1a", "-", "V", "b"
APC_AWDFMT = r"^[0-9]{1,3}$"
APC_SDFMT = r"^[0-5]$"
APC_ADVFMT = r"^([0-4]{1,5}|[Nn][Oo])$"
APC_CSHDFMT = r"^([0-9]\.?|[0-9]?\.[0-9])$"

CMD_OFF, CMD_ON, CMD_FPTEST, CMD_SIMPWF = "Z", "\x0e", "A", "U"
CMD_BTESTTOGGLE, CMD_GRACEDOWN, CMD_SOFTDOWN = "W", "@", "S"
CMD_SHUTDOWN, CMD_CALTOGGLE, CMD_BYPTOGGLE = "K", "D", "^"
ALT_CABLE_1 = "940-0095B"


@dataclass
class Var:
    name: str
    cmd: str
    flags: int
    regex: str | None = None
    cnt: int = 0


@dataclass
class Cmd:
    name: str
    ext: str | None
    cmd: str
    flags: int


#: NUT's apc_vartab (version 3.1); the MULTI ones in order of preference
VARTAB = [
    Var("ups.temperature", "C", POLL | F_CELSIUS),
    Var("ups.load", "P", POLL | F_PERCENT),
    Var("ups.test.interval", "E", F_HOURS),
    Var("ups.test.result", "X", POLL),
    Var("ups.delay.start", "r", F_SECONDS),
    Var("ups.delay.shutdown", "p", F_SECONDS),
    Var("ups.id", "c", STRING),
    Var("ups.contacts", "i", POLL | F_HEX),
    Var("ups.display.language", "\x0c", 0),
    Var("input.voltage", "L", POLL | F_VOLT),
    Var("input.frequency", "F", POLL | F_DEC),
    Var("input.sensitivity", "s", 0),
    Var("input.quality", "9", POLL | F_HEX),
    Var("input.transfer.low", "l", F_VOLT),
    Var("input.transfer.high", "u", F_VOLT),
    Var("input.transfer.reason", "G", POLL | F_REASON),
    Var("input.voltage.maximum", "M", POLL | F_VOLT),
    Var("input.voltage.minimum", "N", POLL | F_VOLT),
    Var("output.current", "/", POLL | F_AMP),
    Var("output.voltage", "O", POLL | F_VOLT),
    Var("output.voltage.nominal", "o", F_VOLT),
    Var("ambient.humidity", "h", POLL | F_PERCENT),
    Var("ambient.0.humidity", "H", POLL | PACK | F_PERCENT),
    Var("ambient.0.humidity.high", "{", POLL | PACK | F_PERCENT),
    Var("ambient.0.humidity.low", "}", POLL | PACK | F_PERCENT),
    Var("ambient.temperature", "t", POLL | F_CELSIUS),
    Var("ambient.0.temperature", "T", MULTI | POLL | PACK | F_CELSIUS, r"^[0-9]{2}\.[0-9]{2}$"),
    Var("ambient.0.temperature.high", "[", POLL | PACK | F_CELSIUS),
    Var("ambient.0.temperature.low", "]", POLL | PACK | F_CELSIUS),
    Var("battery.date", "x", STRING),
    Var("battery.charge", "f", POLL | F_PERCENT),
    Var("battery.charge.restart", "e", F_PERCENT),
    Var("battery.voltage", "B", POLL | F_VOLT),
    Var("battery.voltage.nominal", "g", 0),
    Var("battery.runtime", "j", POLL | F_MINUTES),
    Var("battery.runtime.low", "q", F_MINUTES),
    Var("battery.packs", ">", F_DEC),
    Var("battery.packs.bad", "<", F_DEC),
    Var("battery.alarm.threshold", "k", 0),
    Var("device.uptime", "T", MULTI | POLL | F_HOURS, r"^[0-9]{3}\.[0-9]{1}$"),
    Var("ups.serial", "n", 0),
    Var("ups.mfr.date", "m", 0),
    Var("ups.model", "\x01", 0),
    Var("ups.firmware.aux", "v", 0),
    Var("ups.firmware", "b", MULTI, r"^[A-Za-z0-9]+\.[A-Za-z0-9]+\.[A-Za-z0-9]+$"),
    Var("ups.firmware", "V", MULTI),
]

CMDTAB = [
    Cmd("shutdown.return", r"^[Aa][Tt]:[0-9]{1,3}$", CMD_GRACEDOWN, NASTY),
    Cmd("shutdown.return", r"^([Cc][Ss]|)$", CMD_SOFTDOWN, NASTY),
    Cmd("shutdown.stayoff", None, CMD_SHUTDOWN, NASTY | REPEAT),
    Cmd("load.off", None, CMD_OFF, NASTY | REPEAT),
    Cmd("load.on", None, CMD_ON, REPEAT),
    Cmd("calibrate.start", None, CMD_CALTOGGLE, 0),
    Cmd("calibrate.stop", None, CMD_CALTOGGLE, 0),
    Cmd("test.panel.start", None, CMD_FPTEST, 0),
    Cmd("test.failure.start", None, CMD_SIMPWF, 0),
    Cmd("test.battery.start", None, CMD_BTESTTOGGLE, 0),
    Cmd("test.battery.stop", None, CMD_BTESTTOGGLE, 0),
    Cmd("bypass.start", None, CMD_BYPTOGGLE, 0),
    Cmd("bypass.stop", None, CMD_BYPTOGGLE, 0),
]

#: firmware -> command chars, for units that do not answer ``a``
COMPATTAB = {
    "0XI": "@789ABCDEFGKLMNOPQRSTUVWXYZcefgjklmnopqrsuwxz/<>\\^\x0c\x16",
    "0XM": "@789ABCDEFGKLMNOPQRSTUVWXYZcefgjklmnopqrsuwxz/<>\\^\x0c\x16",
    "0ZI": "@79ABCDEFGKLMNOPQRSUVWXYZcefgjklmnopqrsuxz/<>",
    "5UI": "@79ABCDEFGKLMNOPQRSUVWXYZcefgjklmnopqrsuxz/<>",
    "5ZM": "@79ABCDEFGKLMNOPQRSUVWXYZcefgjklmnopqrsuxz/<>",
    "6QD": "@79ABCDEFGKLMNOPQRSUVWXYZcefgjklmnopqrsuxz",
    "6QI": "@79ABCDEFGKLMNOPQRSUVWXYZcefgjklmnopqrsuxz",
    "6TD": "@79ABCDEFGKLMNOPQRSUVWXYZcefgjklmnopqrsuxz",
    "6TI": "@79ABCDEFGKLMNOPQRSUVWXYZcefgjklmnopqrsuxz",
    "7QD": "@79ABCDEFGKLMNOPQRSUVWXYZcefgjklmnopqrsuxz",
    "7QI": "@79ABCDEFGKLMNOPQRSUVWXYZcefgjklmnopqrsuxz",
    "7TD": "@79ABCDEFGKLMNOPQRSUVWXYZcefgjklmnopqrsuxz",
    "7TI": "@79ABCDEFGKLMNOPQRSUVWXYZcefgjklmnopqrsuxz",
    "6JI": "@789ABCFGKLMNOPQSTUVWXYZfg",
    "7II": "@79ABCEFGKLMNOPQRSUVWXYZcfg",
    "9II": "@79ABCEFGKLMNOPQRSUVWXYZcfg",
    "9GI": "@79ABCEFGKLMNOPQRSUVWXYZcfg",
    "8II": "@79ABCEFGKLMNOPQRSUVWXYZcfg",
    "8GI": "@79ABCEFGKLMNOPQRSUVWXYZfg",
    "8QD": "@79ABCDEFGKLMNOPQRSUVWXYZcefgjklmnopqrsuxz",
    "8QI": "@79ABCDEFGKLMNOPQRSUVWXYZcefgjklmnopqrsuxz",
    "8TD": "@79ABCDEFGKLMNOPQRSUVWXYZcefgjklmnopqrsuxz",
    "8TI": "@79ABCDEFGKLMNOPQRSUVWXYZcefgjklmnopqrsuxz",
    "5.4.D": "@\x01ABPQRSUYbdfgjmnx9",
    "set\x01": "@789ABCFGKLMNOPQRSUVWXYZ",
}

REASONS = {
    "R": "unacceptable utility voltage rate of change",
    "H": "high utility voltage",
    "L": "low utility voltage",
    "T": "line voltage notch or spike",
    "O": "no transfers yet since turnon",
    "S": "simulated power failure or UPS test",
}


def rexhlp(rex: str | None, val: str | None) -> bool:
    if not rex:
        return True
    return re.search(rex, val or "") is not None


def convert_data(vt: Var, upsval: str) -> str:
    fmt = vt.flags & F_MASK
    if fmt == F_HOURS:
        return "%d" % (3600 * strtol(upsval))
    if fmt == F_MINUTES:
        return "%d" % (60 * strtol(upsval))
    if fmt == F_REASON:
        return REASONS.get(upsval[:1], upsval)
    return upsval[: APC_LBUF - 1]


def canonical_apc() -> Reader:
    """A canonical tty line with VEOL '*': up to LF or '*', inclusive."""

    def reader(buf: bytes) -> int | None:
        for i, b in enumerate(buf):
            if b in (0x0A, 0x2A):
                return i + 1
            if i + 1 >= 4095:
                return i + 1
        return None

    return reader


def raw_chunk() -> Reader:
    """A non-canonical read (``ttymode = raw``): whatever has arrived."""

    def reader(buf: bytes) -> int | None:
        return min(len(buf), APC_LBUF) if buf else None

    return reader


def _sleep(clock: Any, seconds: float) -> defer.Deferred[None]:
    d: defer.Deferred[None] = defer.Deferred()
    clock.callLater(seconds, d.callback, None)
    return d


class ApcSmart(Driver):
    name = "apcsmart"
    version = "3.2"
    description = "APC Smart protocol driver"
    default_pollinterval = 2
    options = {
        "ttymode": "tty discipline selection",
        "cable": "alternate cable (940-0095B) selection",
        "awd": "hard hibernate's additional wakeup delay",
        "sdtype": "simple shutdown method",
        "advorder": "advanced shutdown control",
        "cshdelay": "CS hack delay",
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.getval("port"):
            raise DeviceError("Error: you must specify a port name in ups.conf")
        for opt, rex in (
            ("awd", APC_AWDFMT),
            ("sdtype", APC_SDFMT),
            ("advorder", APC_ADVFMT),
            ("cshdelay", APC_CSHDFMT),
        ):
            val = self.getval(opt)
            if val is not None and not rexhlp(rex, val):
                raise DeviceError(f"invalid value ({val}) for option '{opt}'")
        self.vartab = [replace(v) for v in VARTAB]
        self.cmdtab = [replace(c) for c in CMDTAB]
        self.ups_status = 0
        self.line: SerialLine | None = None
        self._io = defer.DeferredLock()
        self.initialised = False
        self.last_worked = 0
        self.last_full = 0
        self.last_nasty = 0
        self.comm_failures = 0
        #: ``ttymode = raw``: reads return what has arrived, not whole lines
        self.raw_mode = self.getval("ttymode") == "raw"

    def now(self) -> int:
        return int(self.clock.seconds())

    # --- serial I/O -----------------------------------------------------------------------

    def open_port(self) -> SerialLine:
        if self.line is None:
            alt = eq(self.getval("cable") or "", ALT_CABLE_1)
            self.line = SerialLine(
                self.params["port"],
                clock=self.clock,
                baudrate=2400,
                dtr=True,
                rts=not alt,
                lock=not self.testvar("nolock"),
            )
        self.line.ensure_open()
        return self.line

    def apc_write(self, code: str) -> int:
        try:
            self.open_port().write(code.encode("latin-1"))
        except PortError:
            return -1
        return 1

    async def _line(self, timeout: float) -> bytes | None:
        """One canonical read: a line, b"" on timeout, None on I/O errors."""
        if self.line is None or not self.line.is_open:
            return None
        reader = raw_chunk() if self.raw_mode else canonical_apc()
        try:
            return await self.line.read(reader, timeout)
        except PortError:
            return None

    async def apc_read(self, flags: int, buflen: int = APC_LBUF) -> tuple[int, str]:
        iset, aset = IGN_CHARS, ""
        timeout = 3.0
        if flags & SER_D0:
            timeout = 0.0
        if flags & SER_DX:
            timeout = 0.2
        if flags & SER_D1:
            timeout = 1.5
        if flags & SER_D3:
            timeout = 3.0
        if flags & SER_AA:
            iset, aset = IGN_AACHARS, ALERT_CHARS
        if flags & SER_CC:
            iset, aset, timeout = IGN_CCCHARS, "", 6.0
        if flags & SER_CS:
            iset, aset, timeout = IGN_CSCHARS, "", 6.0
        buf: list[str] = []
        while len(buf) < buflen - 1:
            raw = await self._line(timeout)
            if raw is None:
                return -1, ""
            # canonical mode sets IGNCR: the tty drops CR before anything sees it
            data = (raw if self.raw_mode else raw.replace(b"\r", b"")).decode("latin-1")
            if not data and not raw:
                if buf:
                    return -1, ""
                return 0, ""
            for ch in data:
                if len(buf) == buflen - 1:
                    if self.line is not None:
                        self.line.flush()
                    return -1, ""
                if ch == ENDCHAR:
                    return len(buf), "".join(buf)
                if flags & SER_HA and ch == "*":
                    await self._line(1.0)
                    return 2, "OK"
                if ch in iset or ch == "*" or ch == "\0":
                    continue
                if ch in aset:
                    self.alert_handler(ch)
                    continue
                buf.append(ch)
        return len(buf), "".join(buf)

    async def apc_write_long(self, code: str) -> int:
        if self.apc_write(code[0]) != 1:
            return -1
        ret, _ = await self.apc_read(SER_DX | SER_TO)
        if ret:
            return -1
        for ch in code[1:]:
            if self.apc_write(ch) != 1:
                return -1
            await _sleep(self.clock, 0.05)
        return len(code)

    async def apc_write_rep(self, code: str) -> int:
        if self.apc_write(code) != 1:
            return -1
        ret, _ = await self.apc_read(SER_DX | SER_TO)
        if ret:
            return -1
        await _sleep(self.clock, 1.3)
        if self.apc_write(code) != 1:
            return -1
        return 2

    async def apc_flush(self, flags: int) -> None:
        if flags & SER_AA:
            while (await self.apc_read(SER_D0 | SER_TO | SER_AA))[0] > 0:
                pass
        elif self.line is not None:
            self.line.flush()

    # --- status ---------------------------------------------------------------------------

    def ups_status_set(self) -> None:
        self.status_init()
        s = self.ups_status
        for bit, word in (
            (STAT_CAL, "CAL"), (STAT_TRIM, "TRIM"), (STAT_BOOST, "BOOST"), (STAT_OL, "OL"),
            (STAT_OB, "OB"), (STAT_OVER, "OVER"), (STAT_LB, "LB"), (STAT_RB, "RB"),
        ):  # fmt: skip
            if s & bit:
                self.status_set(word)
        if s == 0:
            self.status_set("OFF")
        self.status_commit()

    def alert_handler(self, ch: str) -> None:
        if ch == "!":
            self.ups_status = (self.ups_status & ~STAT_OL) | STAT_OB
        elif ch == "$":
            self.ups_status = (self.ups_status & ~STAT_OB) | STAT_OL
        elif ch == "%":
            self.ups_status |= STAT_LB
        elif ch == "+":
            self.ups_status &= ~STAT_LB
        elif ch == "#":
            self.ups_status |= STAT_RB
        elif ch == "?":
            self.ups_status |= STAT_OVER
        elif ch == "=":
            self.ups_status &= ~STAT_OVER
        self.ups_status_set()

    # --- variables ------------------------------------------------------------------------

    def vt_lookup_char(self, ch: str) -> Var | None:
        for vt in self.vartab:
            if vt.flags & PRESENT and vt.cmd == ch:
                return vt
        return None

    def vt_lookup_name(self, name: str) -> Var | None:
        for vt in self.vartab:
            if vt.flags & PRESENT and eq(vt.name, name):
                return vt
        return None

    def _packed_name(self, vt: Var, index: int) -> str:
        i = vt.name.index(".0.") + 1
        return vt.name[:i] + chr(ord("1") + index) + vt.name[i + 1 :]

    def dstate_delinfo(self, vt: Var, skip: int = 0) -> None:
        if not vt.flags & PACK:
            self.delinfo(vt.name)
            return
        for c in range(skip, vt.cnt):
            self.delinfo(self._packed_name(vt, c))
        vt.cnt = 0

    def dstate_setinfo(self, vt: Var, upsval: str) -> None:
        if not vt.flags & PACK:
            self.setinfo(vt.name, convert_data(vt, upsval))
            return
        parts = upsval.split(",", PACK_MAX - 1)
        if len(parts) == PACK_MAX and "," in parts[-1]:
            parts[-1] = parts[-1].split(",", 1)[0]
        c = len(parts)
        if vt.cnt > c:
            self.dstate_delinfo(vt, c)
        vt.cnt = c
        for i in reversed(range(c)):
            name = self._packed_name(vt, i)
            self.setinfo(name, convert_data(vt, parts[i]) if parts[i] else "N/A")

    async def preread_data(self, vt: Var) -> str | None:
        await self.apc_flush(0)
        if self.apc_write(vt.cmd) != 1:
            return None
        ret, temp = await self.apc_read(SER_TO)
        if ret < 1 or temp == "NA":
            return None
        return temp

    async def poll_data(self, vt: Var) -> bool:
        if not vt.flags & PRESENT:
            return True
        await self.apc_flush(SER_AA)
        if self.apc_write(vt.cmd) != 1:
            return False
        ret, temp = await self.apc_read(SER_AA)
        if ret < 1:
            return False
        if temp == "NA":
            self.log.warn("verified variable {n} returned NA, removing", n=vt.name)
            vt.flags &= ~PRESENT
            self.dstate_delinfo(vt, 0)
        else:
            self.dstate_setinfo(vt, temp)
        return True

    async def update_status(self) -> bool:
        await self.apc_flush(SER_AA)
        if self.apc_write(APC_STATUS) != 1:
            return False
        ret, buf = await self.apc_read(SER_AA)
        if ret < 1 or buf == "NA":
            return False
        self.ups_status = strtol(buf, 16) & 0xFF
        self.ups_status_set()
        return True

    def var_string_setup(self, vt: Var) -> None:
        if vt.flags & STRING:
            self.setflags(vt.name, ["RW", "STRING"])
            self.setaux(vt.name, APC_STRLEN)
            vt.flags |= RW

    async def var_verify(self, vt: Var) -> int:
        if vt.flags & MULTI:
            vt.flags |= PRESENT
            return -1
        temp = await self.preread_data(vt)
        if temp is None or not rexhlp(vt.regex, temp):
            return 0
        vt.flags |= PRESENT
        self.dstate_setinfo(vt, temp)
        self.var_string_setup(vt)
        return 1

    async def deprecate_vars(self) -> None:
        for i, vt in enumerate(self.vartab):
            if not vt.flags & MULTI or not vt.flags & PRESENT:
                continue
            temp = await self.preread_data(vt)
            if temp is None or not rexhlp(vt.regex, temp):
                vt.flags &= ~PRESENT
                continue
            for vtn in self.vartab[i + 1 :]:
                if vtn.name != vt.name and vtn.cmd != vt.cmd:
                    continue
                vtn.flags &= ~PRESENT
            self.dstate_setinfo(vt, temp)
            self.var_string_setup(vt)

    async def apc_getcaps(self, qco: int) -> None:
        fw = self.getinfo("ups.firmware")
        upsloc = fw[-1] if fw else "\0"
        await self.apc_flush(0)
        if self.apc_write(APC_CAPS) != 1:
            return
        ret, temp = await self.apc_read(SER_CC | SER_TO)
        if ret < 1 or temp == "NA":
            self.log.warn("APC cannot do capabilities but said it could !")
            return
        temp = cstr(temp)
        if not temp.startswith("#"):
            self.log.warn("unknown capability start char [{c}] !", c=temp[:1])
            return
        matrix = temp[1:2] == "#"
        pos = 0 if matrix else 1
        end = len(temp)
        while pos < end:
            if matrix:
                pos += 2
            if pos >= end:
                if qco:
                    return
                raise DeviceError("capability string has overflowed, please report this error !")
            entry = temp[pos : pos + 4].ljust(4, "\0")
            cmd, loc = entry[0], entry[1]
            if ord(entry[2]) < 48 or ord(entry[3]) < 48:
                raise DeviceError("nument or entlen out of range: capability overflow!")
            nument, entlen = ord(entry[2]) - 48, ord(entry[3]) - 48
            entpos = pos + 4
            vt = self.vt_lookup_char(cmd)
            valid = vt is not None and (loc == upsloc or loc == "4") and not vt.flags & PACK
            if valid and vt is not None:
                self.setflags(vt.name, ["RW"])
                vt.flags |= RW | ENUM
            for _ in range(nument):
                if valid and vt is not None:
                    self.addenum(vt.name, convert_data(vt, temp[entpos : entpos + entlen]))
                entpos += entlen
            pos = entpos

    async def legacy_verify(self, name: str) -> None:
        for vt in self.vartab:
            if vt.name == name:
                await self.var_verify(vt)

    async def protocol_verify(self, cmd: str) -> None:
        if cmd in APC_UNR_CMDS:
            return
        found = False
        for vt in self.vartab:
            if vt.cmd == cmd:
                await self.var_verify(vt)
                found = True
        if found:
            return
        for ct in self.cmdtab:
            if ct.cmd == cmd:
                ct.flags |= PRESENT
                self.addcmd(ct.name)
                found = True
        if not found:
            self.log.warn("[{c}] unrecognized", c=_prtchr(cmd))

    async def oldapcsetup(self) -> None:
        for name in (
            "ups.temperature", "ups.load", "input.voltage", "output.voltage", "battery.charge",
            "battery.voltage", "ups.model", "ups.serial", "ups.firmware", "output.current",
        ):  # fmt: skip
            await self.legacy_verify(name)
        await self.deprecate_vars()
        if self.vt_lookup_name("output.current"):
            self.setinfo("ups.model", "Matrix-UPS")
        elif not self.vt_lookup_name("ups.model"):
            self.setinfo("ups.model", "Smart-UPS")

    async def firmware_table_lookup(self) -> int:
        await self.apc_flush(0)
        if self.apc_write(APC_FW_OLD) != 1:
            return 0
        ret, buf = await self.apc_read(SER_TO)
        if ret < 0:
            return 0
        if not ret or buf == "NA":
            if self.apc_write(APC_FW_NEW) != 1:
                return 0
            ret, buf = await self.apc_read(SER_TO)
            if ret < 1:
                return 0
        if buf == "451.2.I":
            return 2
        if rexhlp(r"^[a-fA-F0-9]{2}$", buf):
            buf = "set\x01"
        chars = COMPATTAB.get(buf)
        if chars is None:
            return 0
        self.setinfo("ups.model", "Matrix-UPS" if buf[:1] in "05" else "Smart-UPS")
        for ch in chars:
            await self.protocol_verify(ch)
        await self.deprecate_vars()
        return 1

    async def getbaseinfo(self) -> bool:
        qco = await self.firmware_table_lookup()
        if qco == 1:
            return True
        await self.apc_flush(0)
        if self.apc_write(APC_CMDSET) != 1:
            return False
        ret, temp = await self.apc_read(SER_CS | SER_TO)
        if ret < 0:
            return False
        if not ret or temp == "NA" or not rexhlp(APC_CMDSET_FMT, temp):
            self.log.info("very old or unknown APC model, support will be limited")
            await self.oldapcsetup()
            return True
        cmds = temp.split(".")[2]
        for ch in cmds:
            await self.protocol_verify(ch)
        await self.deprecate_vars()
        if APC_CAPS in cmds:
            await self.apc_getcaps(qco)
        return True

    async def smartmode(self, cnt: int) -> bool:
        for _ in range(cnt):
            await self.apc_flush(0)
            if self.apc_write(APC_GOSMART) != 1:
                return False
            ret, temp = await self.apc_read(SER_TO | SER_D1)
            if ret > 0 and temp == "SM":
                return True
            if ret < 0:
                await _sleep(self.clock, 1.0)
            if self.apc_write("\x1b") != 1:
                return False
            await self.apc_read(SER_TO | SER_D1)
        return False

    # --- start-up and polling -------------------------------------------------------------

    async def _initinfo(self) -> None:
        async with self._io:
            try:
                self.open_port()
            except PortError as e:
                raise DeviceError(str(e)) from None
            if not await self.smartmode(5):
                raise DeviceError(
                    f"unable to detect an APC Smart protocol UPS on port {self.params['port']}"
                )
            if not await self.getbaseinfo():
                raise DeviceError(
                    f"Problems with communicating APC UPS on port {self.params['port']}"
                )
            self.setinfo("ups.mfr", "APC")
            self.initialised = True
            self.dataok()

    def initinfo(self) -> defer.Deferred[None]:
        return defer.Deferred.fromCoroutine(self._initinfo_guarded())

    async def _initinfo_guarded(self) -> None:
        try:
            await self._initinfo()
        except DeviceError:
            if self.line is not None:
                self.line.close()
            raise

    def updateinfo(self) -> defer.Deferred[None]:
        return defer.Deferred.fromCoroutine(self._updateinfo())

    async def _updateinfo(self) -> None:
        if not self.initialised:
            await self._initinfo_guarded()
            return
        async with self._io:
            if self.stale:
                if not self.last_worked:
                    self.last_full = 0
                self.last_worked += 1
                if self.last_worked < 10:
                    return
                if not await self.smartmode(1):
                    return
                self.last_worked = 0
            if not await self.update_status():
                self.datastale()
                return
            now = self.now()
            full = now - self.last_full > 3600
            if full:
                self.last_full = now
            for vt in self.vartab:
                if not full and not vt.flags & POLL:
                    continue
                if not await self.poll_data(vt):
                    self.datastale()
                    return
            self.dataok()

    # --- settings ---------------------------------------------------------------------------

    def setvar(self, var: str, value: str) -> defer.Deferred[int]:
        async def go() -> int:
            async with self._io:
                return await self.apc_setvar(var, value)

        return defer.Deferred.fromCoroutine(go())

    async def apc_setvar(self, varname: str, val: str) -> int:
        vt = self.vt_lookup_name(varname)
        if vt is None:
            return TRACKING_UNKNOWN
        if not vt.flags & RW:
            self.log.warn("setvar: [{v}] is not writable", v=varname)
            return TRACKING_UNKNOWN
        if vt.flags & ENUM:
            return await self.setvar_enum(vt, val)
        if vt.flags & STRING:
            return await self.setvar_string(vt, val)
        return TRACKING_UNKNOWN

    async def setvar_enum(self, vt: Var, val: str) -> int:
        await self.apc_flush(SER_AA)
        if self.apc_write(vt.cmd) != 1:
            return TRACKING_FAILED
        ret, orig = await self.apc_read(SER_AA)
        if ret < 1 or orig == "NA":
            return TRACKING_FAILED
        if convert_data(vt, orig) == val:
            return TRACKING_SUCCESS
        for _ in range(32):
            if self.apc_write(APC_NEXTVAL) != 1:
                return TRACKING_FAILED
            ret, temp = await self.apc_read(SER_AA)
            if ret < 1 or temp in ("NA", "NO") or temp != "OK":
                return TRACKING_FAILED
            if self.apc_write(vt.cmd) != 1:
                return TRACKING_FAILED
            ret, temp = await self.apc_read(SER_AA)
            if ret < 1 or temp == "NA":
                return TRACKING_FAILED
            ptr = convert_data(vt, temp)
            if ptr == val:
                self.log.info("setvar_enum: SET {n}='{v}'", n=vt.name, v=val)
                await self.poll_data(vt)
                return TRACKING_SUCCESS
            if ptr == orig:
                self.log.error("setvar_enum: variable {n} wrapped", n=vt.name)
                return TRACKING_FAILED
        await self.poll_data(vt)
        return TRACKING_FAILED

    async def setvar_string(self, vt: Var, val: str) -> int:
        if len(val) > APC_STRLEN:
            return TRACKING_FAILED
        await self.apc_flush(SER_AA)
        if self.apc_write(vt.cmd) != 1:
            return TRACKING_FAILED
        ret, temp = await self.apc_read(SER_AA)
        if ret < 1 or temp == "NA":
            return TRACKING_FAILED
        if temp == val:
            return TRACKING_SUCCESS
        code = APC_NEXTVAL + val + "\r" * (APC_STRLEN - len(val))
        if await self.apc_write_long(code) != APC_STRLEN + 1:
            return TRACKING_FAILED
        ret, temp = await self.apc_read(SER_AA)
        if ret < 1 or temp == "NO":
            return TRACKING_FAILED
        await self.poll_data(vt)
        return TRACKING_SUCCESS

    # --- instant commands and shutdown ------------------------------------------------------

    def handle_instcmd(self, cmd: str, param: str | None, tracking: str | None) -> None:
        # NUT's driver core hands every command to the driver, listed or not
        self._reply_tracking(tracking, defer.maybeDeferred(self.instcmd, cmd, param))

    def instcmd(self, cmd: str, param: str | None) -> defer.Deferred[int]:
        async def go() -> int:
            async with self._io:
                return await self.apc_instcmd(cmd, param)

        return defer.Deferred.fromCoroutine(go())

    async def sdok(self, ign: bool) -> int:
        ret, temp = await self.apc_read(SER_HA | SER_D1 | SER_TO, APC_SBUF)
        if ret < 0:
            return TRACKING_FAILED
        if (not ret and ign) or temp == "OK":
            return TRACKING_SUCCESS
        return TRACKING_FAILED

    async def sdcmd_S(self, skip_flush: bool = False) -> int:
        await self.apc_flush(0)
        if self.apc_write(CMD_SOFTDOWN) != 1:
            return TRACKING_FAILED
        return await self.sdok(False)

    async def sdcmd_CS(self) -> int:
        cshd = 3.5
        val = self.getval("cshdelay")
        if val:
            try:
                cshd = float(val)
            except ValueError:
                cshd = 0.0
        if self.ups_status & STAT_OL:
            await self.apc_flush(0)
            if self.apc_write(CMD_SIMPWF) != 1:
                return TRACKING_FAILED
            ret, _ = await self.apc_read(SER_D1 | SER_TO, APC_SBUF)
            if ret < 0:
                return TRACKING_FAILED
            await _sleep(self.clock, cshd)
        return await self.sdcmd_S(True)

    async def sdcmd_AT(self, awd: str | None) -> int:
        awd = awd if awd else "000"
        padto = 2 if len(awd) == 2 else 3
        code = CMD_GRACEDOWN + "0" * max(0, padto - len(awd)) + awd
        await self.apc_flush(0)
        ret = await self.apc_write_long(code)
        if ret != padto + 1:
            self.log.error("issuing [@] with {n} digits failed", n=padto)
            return TRACKING_FAILED
        ret = await self.sdok(False)
        if ret == TRACKING_SUCCESS or padto == 3:
            return ret
        self.log.error("command [@] with 2 digits doesn't work - try 3 digits")
        self.apc_write(APC_GOSMART)
        await self.apc_read(SER_D1 | SER_TO, APC_SBUF)
        return TRACKING_FAILED

    async def sdcmd_K(self) -> int:
        await self.apc_flush(0)
        if await self.apc_write_rep(CMD_SHUTDOWN) != 2:
            return TRACKING_FAILED
        return await self.sdok(False)

    async def sdcmd_Z(self) -> int:
        await self.apc_flush(0)
        if await self.apc_write_rep(CMD_OFF) != 2:
            return TRACKING_FAILED
        return await self.sdok(True)

    async def do_cal(self, start: bool) -> int:
        await self.apc_flush(SER_AA)
        if self.apc_write(APC_STATUS) != 1:
            return TRACKING_SUCCESS
        ret, temp = await self.apc_read(SER_AA)
        if ret < 1 or temp == "NA":
            return TRACKING_SUCCESS
        calibrating = bool(strtol(temp, 16) & STAT_CAL)
        if calibrating == start:
            return TRACKING_SUCCESS
        if self.apc_write(CMD_CALTOGGLE) != 1:
            return TRACKING_SUCCESS
        await self.apc_read(SER_AA)
        return TRACKING_SUCCESS

    async def do_cmd(self, ct: Cmd) -> int:
        await self.apc_flush(SER_AA)
        if ct.flags & REPEAT:
            ret, c = await self.apc_write_rep(ct.cmd), 2
        else:
            ret, c = self.apc_write(ct.cmd), 1
        if ret != c:
            return TRACKING_FAILED
        ret, temp = await self.apc_read(SER_AA)
        if ret < 1 or temp != "OK":
            return TRACKING_FAILED
        return TRACKING_SUCCESS

    def instcmd_chktime(self) -> bool:
        now = self.now()
        elapsed = now - self.last_nasty
        self.last_nasty = now
        return MINCMDTIME <= elapsed <= MAXCMDTIME

    async def apc_instcmd(self, cmd: str, ext: str | None) -> int:
        ct = None
        for c in self.cmdtab:
            if not eq(c.name, cmd):
                continue
            if c.ext is not None:
                if not rexhlp(c.ext, ext):
                    continue
            elif ext:
                continue
            ct = c
            break
        if ct is None or not ct.flags & PRESENT:
            self.log.warn("instcmd: unknown or unsupported command [{c}]", c=cmd)
            return TRACKING_INVALID
        if ct.flags & NASTY and not self.instcmd_chktime():
            # the first of the pair: NUT answers "handled" and does nothing yet
            return TRACKING_SUCCESS
        low = cmd.lower()
        if low == "calibrate.start":
            return await self.do_cal(True)
        if low == "calibrate.stop":
            return await self.do_cal(False)
        if low == "load.on":
            await self.apc_flush(0)
            return TRACKING_SUCCESS if await self.apc_write_rep(CMD_ON) == 2 else TRACKING_FAILED
        if low == "load.off":
            return await self.sdcmd_Z()
        if low == "shutdown.stayoff":
            return await self.sdcmd_K()
        if low == "shutdown.return":
            if not ext:
                return await self.sdcmd_S()
            if ext[:1].upper() == "A":
                return await self.sdcmd_AT(ext[3:])
            if ext[:1].upper() == "C":
                return await self.sdcmd_CS()
        return await self.do_cmd(ct)

    def shutdown_prepare(self) -> defer.Deferred[None]:
        """NUT's -k only opens the port before the shutdown sequence."""

        def go() -> None:
            try:
                self.open_port()
            except PortError as e:
                raise DeviceError(str(e)) from None

        return defer.maybeDeferred(go)

    def shutdown(self) -> defer.Deferred[None]:
        async def go() -> None:
            async with self._io:
                if not await self.smartmode(1):
                    self.log.warn("upsdrv_shutdown: setting SmartMode failed !")
                if self.apc_write(APC_STATUS) == 1:
                    ret, temp = await self.apc_read(SER_D1)
                    # NUT 2.8.0 accepts only a one-character answer here; the usual
                    # two hex digits make it assume on battery with a low battery
                    if ret == 1:
                        self.ups_status = strtol(temp, 16)
                    else:
                        self.ups_status = STAT_LB | STAT_OB
                else:
                    self.ups_status = STAT_LB | STAT_OB
                adv = self.getval("advorder")
                if self.testvar("advorder") and adv and adv[:1].upper() != "N":
                    await self._shutdown_advanced(adv)
                else:
                    await self._shutdown_simple()
                self._go_dumb()

        return defer.Deferred.fromCoroutine(go())

    async def _shutdown_simple(self) -> None:
        sdtype = strtol(self.getval("sdtype") or "0")
        if sdtype == 5:
            await self.sdcmd_AT(self.getval("awd"))
        elif sdtype == 4:
            await self.sdcmd_CS()
        elif sdtype == 3:
            await self.sdcmd_K()
        elif sdtype == 2:
            await self.sdcmd_Z()
        elif sdtype == 1:
            if not self.ups_status & STAT_OB or await self.sdcmd_S() != TRACKING_SUCCESS:
                await self.sdcmd_AT(self.getval("awd"))
        elif self.ups_status & STAT_OL:
            await self.sdcmd_AT(self.getval("awd"))
        else:
            await self.sdcmd_S()

    async def _shutdown_advanced(self, order: str) -> None:
        for ch in order:
            i = ord(ch) - ord("0")
            if i == 0:
                ret = await self.sdcmd_S()
            elif i == 1:
                ret = await self.sdcmd_AT(self.getval("awd"))
            elif i == 2:
                ret = await self.sdcmd_K()
            elif i == 3:
                ret = await self.sdcmd_Z()
            else:
                ret = await self.sdcmd_CS()
            if ret == TRACKING_SUCCESS:
                break

    def _go_dumb(self) -> None:
        """NUT's cleanup: leave smart mode (``R``); the reply is not waited for."""
        if self.line is not None and self.line.is_open:
            self.line.flush()
            self.apc_write(APC_GODUMB)

    def stop(self) -> None:
        super().stop()
        if self.line is not None:
            self._go_dumb()
            self.line.close()


def _prtchr(x: str) -> str:
    return x if x.isprintable() else "0x%02x" % ord(x)
