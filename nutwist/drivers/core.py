"""The driver core: one UPS's state, its poll loop, and its listeners.

A hardware driver subclasses :class:`Driver` and fills in ``initinfo``,
``updateinfo``, ``instcmd``, ``setvar`` and ``shutdown``, like NUT's
``upsdrv_*`` callbacks.  The core keeps the state tree, publishes the standard
``driver.*`` and ``device.*`` variables, applies ups.conf's ``override.*`` and
``default.*``, ``ignorelb``, builds ``ups.status``, and broadcasts only
changes to every listener: socket peers (:mod:`nutwist.protocols.sock`) and,
in-process, upsd's link to the driver.

Timers come from an injected clock so tests run on ``task.Clock``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from twisted.internet import defer
from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger

from nutwist import __version__
from nutwist.config.ups import UpsSection
from nutwist.model.state import VALUE_MAX, UpsState
from nutwist.protocols.sock import (
    TRACKING_FAILED,
    TRACKING_INVALID,
    TRACKING_SUCCESS,
    TRACKING_UNKNOWN,
    DriverListener,
)

# ups.conf keys the core consumes itself rather than publishing as parameters.
_NOT_PUBLISHED = frozenset({"driver", "desc", "sdorder", "maxstartdelay"})
# Values that must never leave the process (published as parameters or logged); NUT
# 2.8.0 publishes authProtocol and privProtocol (protocol names, not secrets).
SECRET_KEYS = frozenset({"password", "community", "authpassword", "privpassword", "secname"})
# The core mirrors these into device.* as NUT 2.8's dstate does.
_DEVICE_MIRROR = {
    "ups.mfr": "device.mfr",
    "ups.model": "device.model",
    "ups.serial": "device.serial",
}

STATUS_TOKENS_ORDERED = (
    "OL", "OB", "LB", "HB", "RB", "CHRG", "DISCHRG", "BYPASS", "CAL", "OFF", "OVER", "TRIM",
    "BOOST", "FSD", "ECO",
)  # fmt: skip


class DeviceError(Exception):
    """The device did not answer; the core marks the data stale and retries."""


class Driver:
    """Base class of every nutwist driver (NUT's ``main.c`` plus ``dstate.c``)."""

    log = Logger()
    #: the name NUT knows the driver by (ups.conf ``driver =``)
    name = "nutwist-driver"
    #: the driver's own version (``driver.version.internal``)
    version = "0.1"
    #: driver-specific ups.conf options: name -> help text
    options: dict[str, str] = {}
    #: seconds between ``updateinfo`` calls when ups.conf sets no pollinterval
    default_pollinterval = 2

    def __init__(
        self,
        upsname: str,
        section: UpsSection | None = None,
        *,
        confdir: str = ".",
        clock: IReactorTime | None = None,
        extra: Iterable[tuple[str, str]] = (),
    ) -> None:
        if clock is None:
            from twisted.internet import reactor

            clock = reactor
        assert clock is not None
        self.clock: IReactorTime = clock
        self.upsname = upsname
        self.confdir = confdir
        self.section = section or UpsSection(upsname, 0)
        self.params: dict[str, str] = dict(self.section.values)
        self.params.update(extra)
        self.flags: list[str] = list(self.section.flags)
        self.state = UpsState()
        self.listeners: list[DriverListener] = []
        self.stale = True
        self._status: list[str] = []
        self._alarm: list[str] = []
        self._poll: Any = None
        self._running = False
        self._failures = 0
        self.overrides = {
            k[len("override.") :]: v for k, v in self.params.items() if k.startswith("override.")
        }
        self.defaults = {
            k[len("default.") :]: v for k, v in self.params.items() if k.startswith("default.")
        }
        self._overridden = frozenset(k.lower() for k in self.overrides)

    # --- configuration ---------------------------------------------------------

    @property
    def pollinterval(self) -> float:
        try:
            return max(0.05, float(self.params.get("pollinterval", self.default_pollinterval)))
        except ValueError:
            return float(self.default_pollinterval)

    def getval(self, key: str, default: str | None = None) -> str | None:
        return self.params.get(key, default)

    def testvar(self, key: str) -> bool:
        return key in self.params or key in self.flags

    # --- the hooks a driver fills in ---------------------------------------------

    def initups(self) -> None:
        """Check the device can be opened before the driver starts (upsdrv_initups).

        Raise DeviceError with the one line to print: the driver then exits 1 at once.
        """
        return None

    def initinfo(self) -> defer.Deferred[None] | None:
        """Find the device and publish what it is (upsdrv_initinfo)."""
        return None

    def updateinfo(self) -> defer.Deferred[None] | None:
        """Poll the device once (upsdrv_updateinfo); raise DeviceError on failure."""
        return None

    def instcmd(self, cmd: str, param: str | None) -> int | defer.Deferred[int]:
        """Run an instant command; return a TRACKING status."""
        return TRACKING_UNKNOWN

    def setvar(self, var: str, value: str) -> int | defer.Deferred[int]:
        """Change a writable variable; return a TRACKING status."""
        return TRACKING_UNKNOWN

    def shutdown(self) -> defer.Deferred[None] | None:
        """Power the load off (``upsdrvctl shutdown``, driver ``-k``)."""
        raise NotImplementedError(f"{self.name} cannot shut down the UPS")

    # --- dstate: publishing ---------------------------------------------------------

    def broadcast(self, words: list[str]) -> None:
        for listener in list(self.listeners):
            try:
                listener.message(words)
            except Exception:
                self.log.failure("{ups}: a listener failed; detaching it", ups=self.upsname)
                self.detach(listener)

    def setinfo(self, var: str, value: str) -> None:
        low = var.lower()
        if low in self._overridden:
            return
        # NUT's dstate_setinfo formats the value into a 256-byte buffer: what a device
        # (or a repeated server) sends beyond 255 bytes is cut, never the line that carries it
        value = value[:VALUE_MAX]
        if self.state.setinfo(var, value):
            self.broadcast(["SETINFO", var, value])

    def mirror_device_info(self) -> None:
        """Copy ups.mfr/model/serial into device.*, as NUT's core does after reading."""
        for src, dst in _DEVICE_MIRROR.items():
            value = self.getinfo(src)
            if value is not None:
                self.setinfo(dst, value)

    def delinfo(self, var: str) -> None:
        if self.state.delinfo(var):
            self.broadcast(["DELINFO", var])

    def setflags(self, var: str, flags: Iterable[str]) -> None:
        words = list(flags)
        if self.state.setflags(var, words):
            self.broadcast(["SETFLAGS", var, *words])

    def setaux(self, var: str, aux: int) -> None:
        if self.state.setaux(var, aux):
            self.broadcast(["SETAUX", var, str(aux)])

    def addenum(self, var: str, value: str) -> None:
        if self.state.addenum(var, value):
            self.broadcast(["ADDENUM", var, value])

    def delenum(self, var: str, value: str) -> None:
        if self.state.delenum(var, value):
            self.broadcast(["DELENUM", var, value])

    def addrange(self, var: str, lo: int, hi: int) -> None:
        before = self.state.getflags(var)
        if self.state.addrange(var, lo, hi):
            self.broadcast(["ADDRANGE", var, str(lo), str(hi)])
            v = self.state.get(var)
            if v is not None and int(v.flags) != before:
                # a range makes the variable a NUMBER: tell listeners, as NUT's drivers do
                self.broadcast(["SETFLAGS", var, *v.flag_words()])

    def delrange(self, var: str, lo: int, hi: int) -> None:
        if self.state.delrange(var, lo, hi):
            self.broadcast(["DELRANGE", var, str(lo), str(hi)])

    def addcmd(self, cmd: str) -> None:
        if self.state.addcmd(cmd):
            self.broadcast(["ADDCMD", cmd])

    def delcmd(self, cmd: str) -> None:
        if self.state.delcmd(cmd):
            self.broadcast(["DELCMD", cmd])

    def getinfo(self, var: str) -> str | None:
        return self.state.getinfo(var)

    def dataok(self) -> None:
        if self.stale:
            self.stale = False
            self.broadcast(["DATAOK"])

    def datastale(self) -> None:
        if not self.stale:
            self.stale = True
            self.broadcast(["DATASTALE"])

    # ups.status, built as NUT's status_init / status_set / status_commit
    def status_init(self) -> None:
        self._status = []

    def status_set(self, token: str) -> None:
        for word in token.split():
            if self.testvar("ignorelb") and word == "LB":
                continue
            if word not in self._status:
                self._status.append(word)

    def status_commit(self) -> None:
        words = list(self._status)
        if self.testvar("ignorelb") and self._lb_from_thresholds() and "LB" not in words:
            words.append("LB")
        if self._alarm and "ALARM" not in words:
            words.insert(0, "ALARM")
        self.setinfo("ups.status", " ".join(words))

    def _lb_from_thresholds(self) -> bool:
        for value, low in (
            ("battery.charge", "battery.charge.low"),
            ("battery.runtime", "battery.runtime.low"),
        ):
            try:
                v, lo = self.getinfo(value), self.getinfo(low)
                if v is not None and lo is not None and float(v) < float(lo):
                    return True
            except ValueError:
                continue
        return False

    def alarm_init(self) -> None:
        self._alarm = []

    def alarm_set(self, text: str) -> None:
        if text not in self._alarm:
            self._alarm.append(text)

    def alarm_commit(self) -> None:
        if self._alarm:
            self.setinfo("ups.alarm", " ".join(self._alarm))
        else:
            self.delinfo("ups.alarm")

    # --- DriverBackend, for the socket and for upsd in-process ----------------------

    def attach(self, listener: DriverListener) -> None:
        self.listeners.append(listener)

    def detach(self, listener: DriverListener) -> None:
        if listener in self.listeners:
            self.listeners.remove(listener)

    def dump(self) -> list[list[str]]:
        out: list[list[str]] = [["DATASTALE"]] if self.stale else []
        out.extend(self.state.dump_words())
        if not self.stale:
            out.append(["DATAOK"])
        out.append(["DUMPDONE"])
        return out

    def _reply_tracking(self, tracking: str | None, result: defer.Deferred[int]) -> None:
        def report(status: int) -> None:
            if tracking is not None:
                self.broadcast(["TRACKING", tracking, str(status)])

        def failed(f: Any) -> int:
            self.log.failure("{ups}: command failed", f, ups=self.upsname)
            return TRACKING_FAILED

        result.addErrback(failed).addCallback(report)

    def handle_instcmd(self, cmd: str, param: str | None, tracking: str | None) -> None:
        self.log.info(
            "{ups}: instant command {cmd}{p}",
            ups=self.upsname,
            cmd=cmd,
            p=f" {param}" if param else "",
        )
        if self.state.getcmd(cmd) is None and not cmd.lower().startswith("driver."):
            self._reply_tracking(tracking, defer.succeed(TRACKING_UNKNOWN))
            return
        self._reply_tracking(tracking, _as_deferred(self.instcmd, cmd, param))

    def handle_setvar(self, var: str, value: str, tracking: str | None) -> None:
        if var.lower() in self._overridden:
            self._reply_tracking(tracking, defer.succeed(TRACKING_INVALID))
            return
        self._reply_tracking(tracking, _as_deferred(self.setvar, var, value))

    # --- lifecycle -----------------------------------------------------------------------

    def publish_driver_info(self) -> None:
        """The variables NUT's driver core publishes for every driver."""
        self.setinfo("device.type", self.params.get("device.type", "ups"))
        self.setinfo("driver.name", self.name)
        self.setinfo("driver.version", __version__)
        self.setinfo("driver.version.internal", self.version)
        self.set_driver_state("init.starting")
        if "pollinterval" not in self.params:
            self.setinfo("driver.parameter.pollinterval", str(self.default_pollinterval))
        for key, value in self.params.items():
            if key in _NOT_PUBLISHED or key.lower() in SECRET_KEYS:
                continue
            if key.lower().startswith(("override.", "default.")):
                continue  # NUT applies these to the variables, never as parameters
            self.setinfo(f"driver.parameter.{key}", value)
        for flag in self.flags:
            self.setinfo(f"driver.flag.{flag}", "enabled")
        # NUT 2.8.0's driver core always publishes this: "yes" and "auto" as written, else "no"
        sync = self.params.get("synchronous", "auto")
        self.setinfo("driver.parameter.synchronous", sync if sync in ("yes", "auto") else "no")

    def set_driver_state(self, state: str) -> None:
        self.setinfo("driver.state", state)

    def apply_overrides(self) -> None:
        for var, value in self.defaults.items():
            if self.getinfo(var) is None:
                self.setinfo(var, value)
        for var, value in self.overrides.items():
            if self.state.setinfo(var, value):
                self.broadcast(["SETINFO", var, value])

    async def _start(self) -> None:
        self.publish_driver_info()
        self.set_driver_state("init.device")
        await defer.maybeDeferred(self.initinfo)
        self.mirror_device_info()
        self.apply_overrides()
        self.set_driver_state("init.info")
        await self._update()

    async def _update(self) -> None:
        try:
            await defer.maybeDeferred(self.updateinfo)
        except DeviceError as e:
            self._failures += 1
            if self._failures == 1:
                self.log.warn("{ups}: device failed: {e}", ups=self.upsname, e=e)
            self.set_driver_state("reconnect.trying")
            self.datastale()
            return
        except Exception:
            self._failures += 1
            self.log.failure("{ups}: updateinfo failed", ups=self.upsname)
            self.set_driver_state("reconnect.trying")
            self.datastale()
            return
        if self._failures:
            self.log.info("{ups}: device answers again", ups=self.upsname)
        self._failures = 0
        self.mirror_device_info()
        self.apply_overrides()
        self.set_driver_state("quiet")

    def next_delay(self) -> float:
        """Seconds to the next poll: back off (to 60 s) while the device fails."""
        if self._failures:
            return min(60.0, self.pollinterval * 2 ** min(self._failures, 6))
        return self.pollinterval

    def start(self) -> defer.Deferred[None]:
        self._running = True
        d: defer.Deferred[None] = defer.Deferred.fromCoroutine(self._start())

        def schedule(_: object) -> None:
            self._schedule()

        def failed(f: Any) -> None:
            if f.check(DeviceError):
                self.log.error("{ups}: {e}", ups=self.upsname, e=f.getErrorMessage())
            else:
                self.log.failure("{ups}: driver start failed", f, ups=self.upsname)
            self.set_driver_state("reconnect.trying")
            self.datastale()
            self._failures = max(self._failures, 1)
            self._schedule()

        d.addCallbacks(schedule, failed)
        return d

    def _schedule(self) -> None:
        if self._running:
            self._poll = self.clock.callLater(self.next_delay(), self._tick)

    def _tick(self) -> None:
        self._poll = None
        try:
            d = defer.Deferred.fromCoroutine(self._update())
        except Exception:
            d = defer.fail()

        def failed(f: Any) -> None:
            self._failures += 1
            self.log.failure("{ups}: update failed", f, ups=self.upsname)

        # the next update comes whatever this one did
        d.addErrback(failed).addBoth(lambda _: self._schedule())

    def poll_now(self) -> None:
        """Run an update at once (a file changed, a command asked for fresh data)."""
        if self._poll is not None and self._poll.active():
            self._poll.cancel()
        self._tick()

    def stop(self) -> None:
        self._running = False
        if self._poll is not None and self._poll.active():
            self._poll.cancel()
        self._poll = None


def _as_deferred(f: Any, *args: Any) -> defer.Deferred[int]:
    """Call a hook that may answer at once or later; failures become errbacks."""
    result: defer.Deferred[int] = defer.maybeDeferred(f, *args)
    return result


__all__ = [
    "STATUS_TOKENS_ORDERED",
    "TRACKING_FAILED",
    "TRACKING_INVALID",
    "TRACKING_SUCCESS",
    "TRACKING_UNKNOWN",
    "DeviceError",
    "Driver",
]
