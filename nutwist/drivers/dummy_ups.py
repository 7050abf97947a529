"""dummy-ups: a simulated UPS fed from an ``upsc``-style dump, as NUT 2.8.0's.

``port = file.dev`` is read once and re-read when its modification time
changes (mode ``dummy-once``); ``port = file.seq`` loops (``dummy-loop``);
``TIMER <seconds>`` pauses the reading.  ``mode =`` overrides the guess, and a
relative path is resolved against the configuration directory.  SET changes a
value in memory (creating unknown variables as ``RW STRING:32``); no instant
command does anything, as in NUT.  ``port = ups@host[:port]`` (mode
``repeater``) re-publishes a remote UPS instead: see :mod:`nutwist.drivers.repeater`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from twisted.internet import defer

from nutwist.config.base import Source, lines
from nutwist.config.diagnostics import Diagnostics
from nutwist.drivers.core import TRACKING_SUCCESS, TRACKING_UNKNOWN, DeviceError, Driver
from nutwist.drivers.repeater import Connector, Repeater

#: Flags and string lengths NUT 2.8.0's dummy-ups gives the variables it knows
#: (read back from the real program); every other variable becomes RW STRING of 32.
KNOWN_VARS: dict[str, tuple[tuple[str, ...], int]] = {
    "ups.mfr": (("RW", "STRING"), 32),
    "ups.model": (("RW", "STRING"), 32),
    "ups.status": (("RW", "STRING"), 32),
    "ups.serial": (("RW", "STRING"), 32),
    "ups.load": (("RW",), 0),
    "ups.alarm": (("RW", "STRING"), 32),
    "ups.time": (("RW", "STRING"), 16),
    "ups.date": (("RW", "STRING"), 16),
    "ups.mfr.date": (("RW", "STRING"), 16),
    "ups.firmware": (("RW", "STRING"), 16),
    "ups.firmware.aux": (("RW", "STRING"), 16),
    "ups.temperature": (("RW",), 0),
    "ups.id": (("RW", "STRING"), 16),
    "ups.delay.start": (("RW",), 0),
    "ups.delay.reboot": (("RW",), 0),
    "ups.delay.shutdown": (("RW",), 0),
    "ups.test.interval": (("RW",), 0),
    "ups.test.result": (("RW", "STRING"), 16),
    "input.voltage": (("RW",), 0),
    "input.voltage.maximum": (("RW",), 0),
    "input.voltage.minimum": (("RW",), 0),
    "input.voltage.nominal": (("RW",), 0),
    "input.transfer.reason": (("RW", "STRING"), 1),
    "input.transfer.low": (("RW",), 0),
    "input.transfer.high": (("RW",), 0),
    "input.sensitivity": (("RW", "STRING"), 1),
    "input.quality": (("RW", "STRING"), 6),
    "input.frequency": (("RW",), 0),
    "input.transfer.boost.low": (("RW",), 0),
    "input.transfer.boost.high": (("RW",), 0),
    "input.transfer.trim.low": (("RW",), 0),
    "input.transfer.trim.high": (("RW",), 0),
    "output.voltage": (("RW",), 0),
    "output.frequency": (("RW",), 0),
    "output.current": (("RW",), 0),
    "battery.charge": (("RW",), 0),
    "battery.charge.low": (("RW",), 0),
    "battery.voltage": (("RW",), 0),
    "battery.current": (("RW",), 0),
    "battery.runtime": (("RW",), 0),
    "battery.runtime.low": (("RW",), 0),
    "battery.charge.restart": (("RW",), 0),
    "battery.temperature": (("RW",), 0),
    "battery.voltage.nominal": (("RW",), 0),
    "ambient.temperature": (("RW",), 0),
    "ambient.temperature.alarm": (("RW",), 0),
    "ambient.temperature.high": (("RW",), 0),
    "ambient.temperature.low": (("RW",), 0),
    "ambient.humidity": (("RW",), 0),
    "ambient.humidity.alarm": (("RW",), 0),
    "ambient.humidity.high": (("RW",), 0),
    "ambient.humidity.low": (("RW",), 0),
}
UNKNOWN_VAR = (("RW", "STRING"), 32)
#: dummy-ups keeps values in 128-byte buffers
MAX_VALUE = 127

MODES = ("dummy-once", "dummy-loop", "dummy", "repeater")


@dataclass(frozen=True)
class SetEntry:
    lineno: int
    var: str
    value: str | None


@dataclass(frozen=True)
class TimerEntry:
    lineno: int
    seconds: int


Entry = SetEntry | TimerEntry


def parse_data(source: Source, diags: Diagnostics) -> list[Entry]:
    """The entries of a .dev/.seq file; malformed lines become warnings, never errors."""
    entries: list[Entry] = []
    before = len(diags)
    for line in lines(source, diags):
        words = line.words
        if words[0].startswith("TIMER"):
            try:
                seconds = int(words[1]) if len(words) > 1 else None
            except ValueError:
                seconds = None
            if seconds is None:
                diags.warning(line.lineno, "TIMER: expected 'TIMER <seconds>'")
                continue
            entries.append(TimerEntry(line.lineno, max(0, seconds)))
            continue
        var = words[0]
        if var.endswith(":"):
            var = var[:-1]
        else:
            diags.warning(line.lineno, f"expected '<variable>: <value>', got no ':' after {var!r}")
        if not var:
            diags.warning(line.lineno, "empty variable name")
            continue
        if var.startswith("driver."):
            continue
        # an empty value stays None: NUT's dummy-ups then reuses the previous value
        value = " ".join(words[1:])[:MAX_VALUE] if len(words) > 1 else None
        entries.append(SetEntry(line.lineno, var, value))
    # tokenizer errors are errors for a config file, but here the rest still loads
    for i in range(before, len(diags)):
        d = diags[i]
        if d.is_error:
            diags[i] = type(d)(type(d.level).WARNING, d.path, d.line, d.message)
    return entries


def guess_mode(port: str) -> str:
    if "@" in port:
        return "repeater"
    if port.endswith(".seq"):
        return "dummy-loop"
    if port.endswith(".dev"):
        return "dummy-once"
    return "dummy"


class DummyUps(Driver):
    name = "dummy-ups"
    options = {
        "mode": "dummy-once, dummy-loop (or dummy) or repeater (default: from the port)",
        "username": "repeater: upsd user to log in as (needed to forward SET and INSTCMD)",
        "password": "repeater: that user's password",
        "certpath": "repeater: CA bundle or directory to verify the remote upsd with",
        "certverify": "repeater: 1 to verify the remote's certificate (and require TLS)",
        "forcessl": "repeater: 1 to require TLS",
        "certhost": "repeater: the name the remote's certificate must carry",
        "certfile": "repeater: client certificate PEM (certificate, chain, key)",
    }

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        port = self.params.get("port", "")
        self.mode = self.params.get("mode") or guess_mode(port)
        if self.mode not in MODES:
            raise DeviceError(f"mode {self.mode!r}: expected one of {', '.join(MODES)}")
        self.path = port if os.path.isabs(port) else os.path.join(self.confdir, port)
        self.entries: list[Entry] = []
        self.pos = 0
        self.resume_at = 0.0
        self.mtime: float | None = None
        #: NUT parses into one static buffer, so a line without a value repeats the last one
        self.last_value = ""
        self.diagnostics = Diagnostics(self.path)
        self.repeater: Repeater | None = None
        #: how the repeater reaches its upsd (tests put an in-memory one here)
        self.connector: Connector | None = None

    @property
    def looping(self) -> bool:
        return self.mode in ("dummy-loop", "dummy")

    def initups(self) -> None:
        """NUT's dummy-ups will not start without its definition file."""
        if self.mode == "repeater":
            return
        try:
            with open(self.path, "rb"):
                pass
        except OSError as e:
            raise DeviceError(
                f"Can't open dummy-ups definition file {self.path}: "
                f"Can't open {self.path}: {e.strerror}"
            ) from None

    def initinfo(self) -> None:
        self.setinfo("driver.parameter.mode", self.mode)
        if self.mode == "repeater":
            port = self.params.get("port", "")
            self.repeater = Repeater(
                self,
                port,
                username=self.params.get("username"),
                password=self.params.get("password"),
                connector=self.connector,
            )
            return
        for var, value in (
            ("ups.mfr", "Dummy Manufacturer"),
            ("ups.model", "Dummy UPS"),
            ("ups.status", "OL"),
        ):
            self._set(var, value)
        self.addcmd("load.off")
        self._load()

    def _load(self) -> None:
        try:
            st = os.stat(self.path)
            source = Source.from_path(self.path)
        except OSError as e:
            raise DeviceError(f"cannot read {self.path}: {e.strerror}") from None
        self.diagnostics = Diagnostics(self.path)
        self.entries = parse_data(source, self.diagnostics)
        for d in self.diagnostics:
            self.log.warn("{d}", d=str(d))
        self.mtime = st.st_mtime
        self.pos = 0
        self.resume_at = 0.0

    def updateinfo(self) -> defer.Deferred[None] | None:
        if self.repeater is not None:
            return self.repeater.update()
        if self.mode == "repeater":
            raise DeviceError("repeater mode: no remote UPS (port = ups@host[:port])")
        if not self.looping:
            try:
                mtime = os.stat(self.path).st_mtime
            except OSError as e:
                raise DeviceError(f"cannot read {self.path}: {e.strerror}") from None
            if mtime != self.mtime:
                self.log.info("{path} changed: reading it again", path=self.path)
                self._load()
        now = self.clock.seconds()
        if now < self.resume_at:
            self.dataok()
            return None
        self._advance(now)
        self.dataok()
        return None

    def mirror_device_info(self) -> None:
        if self.repeater is None:  # a repeated UPS comes with the remote's device.*
            super().mirror_device_info()

    def _advance(self, now: float) -> None:
        n = len(self.entries)
        steps = 0
        while steps <= n:
            if self.pos >= n:
                if not self.looping or n == 0:
                    return
                self.pos = 0
            entry = self.entries[self.pos]
            self.pos += 1
            steps += 1
            if isinstance(entry, TimerEntry):
                self.resume_at = now + entry.seconds
                return
            if entry.value is not None:
                self.last_value = entry.value
            if entry.var.lower() == "ups.status":
                # the status is built from the line's own words, never the reused buffer
                self._set(entry.var, entry.value or "", status_may_be_empty=True)
            else:
                self._set(entry.var, self.last_value)

    def _set(self, var: str, value: str, status_may_be_empty: bool = False) -> None:
        if var.lower() == "ups.status" and (value or status_may_be_empty):
            self.status_init()
            self.status_set(value)
            self.status_commit()
            self._flags(var)
            return
        if value == "":
            self.delinfo(var)
            return
        self.setinfo(var, value)
        self._flags(var)

    def _flags(self, var: str) -> None:
        flags, aux = KNOWN_VARS.get(var.lower(), UNKNOWN_VAR)
        self.setflags(var, flags)
        if "STRING" in flags:
            self.setaux(var, aux)

    def setvar(self, var: str, value: str) -> int | defer.Deferred[int]:
        if self.repeater is not None:
            return self.repeater.setvar(var, value)
        self._set(var, value[:MAX_VALUE])
        return TRACKING_SUCCESS

    def instcmd(self, cmd: str, param: str | None) -> int | defer.Deferred[int]:
        if self.repeater is not None:
            return self.repeater.instcmd(cmd, param)
        return TRACKING_UNKNOWN

    def stop(self) -> None:
        super().stop()
        if self.repeater is not None:
            self.repeater.stop()

    def shutdown(self) -> None:
        self.log.info("{ups}: dummy-ups simulates the shutdown: no power is cut", ups=self.upsname)
