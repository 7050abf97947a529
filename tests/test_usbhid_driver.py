"""usbhid-ups without USB: the captured devices served in-process (tests/support/hidfake.py).

What NUT 2.8.0's C driver published for the same devices (recorded under umockdev in
tests/data/usbhid/*.dumpall) is what nutwist's publishes; status changes by polled and by
interrupt reports; commands and writable variables become NUT's SET_REPORTs; device matching
options; unplug and replug; the USB work stays off the reactor thread; fuzzed reports and
descriptors never raise.
"""

from __future__ import annotations

import random
import threading
from pathlib import Path
from typing import Any

import pytest
from twisted.internet import defer, task
from twisted.trial import unittest

from nutwist.config.ups import UpsSection
from nutwist.drivers import driver_class
from nutwist.drivers.core import DeviceError
from nutwist.drivers.hid import parser
from nutwist.drivers.hid.driver import UsbHidUps
from nutwist.protocols.sock import format_line
from tests.support import hidcapture
from tests.support.hidfake import FakeBackend

BK650 = hidcapture.DATA / "APC__Back-UPS_BK650M2-CH__usbhid-ups__2.8.0__01.dev"
CS500 = hidcapture.DATA / "APC__Back-UPS_CS_500__usbhid-ups__2.8.0__01.dev"
# what only the driver core publishes, or publishes differently by design
SKIP = ("driver.version", "driver.state", "driver.parameter.synchronous")


def sync_io(fn: Any, *args: Any) -> defer.Deferred[Any]:
    return defer.maybeDeferred(fn, *args)


def make(
    path: Path = BK650, rdesc: bytes | None = None, **params: str
) -> tuple[UsbHidUps, FakeBackend, task.Clock]:
    cap = hidcapture.load(path)
    assert cap is not None
    backend = FakeBackend(cap, rdesc)
    clock = task.Clock()
    clock.advance(1_000_000)
    values = {"driver": "usbhid-ups", "port": "auto", **params}
    section = UpsSection("ups", 1, values=values)
    drv = UsbHidUps("ups", section, clock=clock, backend=backend, run_io=sync_io)
    return drv, backend, clock


def dump(drv: UsbHidUps) -> list[str]:
    return [format_line(w).decode().rstrip("\n") for w in drv.dump()]


def comparable(lines: list[str]) -> list[str]:
    out = []
    for line in lines:
        words = line.split(" ")
        if len(words) > 1 and words[1].startswith(SKIP):
            continue
        out.append(line)
    return out


def poll(drv: UsbHidUps, clock: task.Clock, seconds: float = 2) -> None:
    clock.advance(seconds)


def status(drv: UsbHidUps) -> str | None:
    return drv.getinfo("ups.status")


def craft(
    backend: FakeBackend, values: dict[str, float], type_: int = parser.ITEM_FEATURE
) -> bytes:
    """A report with these fields set (all in one report), from the device's descriptor."""
    from nutwist.drivers.hid.subdrivers.apc import APC_USAGE_LKP
    from nutwist.drivers.hid.usages import GENERIC_USAGES

    desc = parser.parse(backend.rdesc)
    names = parser.PathNames(APC_USAGE_LKP, GENERIC_USAGES)
    buf: bytearray | None = None
    for path, value in values.items():
        field = desc.find_raw(names.string_to_path(path), type_)
        assert field is not None, path
        if buf is None:
            old = backend.reports.get(field.report_id, b"")
            buf = bytearray(desc.replen[field.report_id] + 1)
            buf[: len(old)] = old[: len(buf)]
            buf[0] = field.report_id
        parser.set_value(field, buf, parser.to_logical(field, value))
    assert buf is not None
    return bytes(buf)


def test_registered_in_process() -> None:
    assert driver_class("usbhid-ups") is UsbHidUps


RECORDED = sorted(
    p
    for p in hidcapture.DATA.iterdir()
    if p.suffix in (".dev", ".json") and p.with_suffix(".dumpall").exists()
)


@pytest.mark.parametrize("path", RECORDED, ids=lambda p: p.stem)
def test_publishes_what_nut_publishes(path: Path) -> None:
    drv, _, _ = make(path)
    drv.start()
    want = path.with_suffix(".dumpall").read_text().splitlines()
    assert comparable(dump(drv)) == comparable(want)


def test_driver_info() -> None:
    drv, _, _ = make()
    drv.start()
    assert drv.getinfo("driver.version.data") == "APC HID 0.98"
    assert drv.getinfo("driver.version.internal") == "0.47"
    assert drv.getinfo("driver.parameter.pollfreq") == "30"
    assert not drv.stale


STATUS_16 = "UPS.PowerSummary.PresentStatus.{}"


def test_on_battery_then_low_battery_by_polled_report() -> None:
    drv, backend, clock = make()
    drv.start()
    assert status(drv) == "OL DISCHRG"
    # this device says "AC present" in two reports (0x16's PresentStatus and 0x13)
    backend.reports[0x16] = craft(backend, {STATUS_16.format("ACPresent"): 0})
    backend.reports[0x13] = bytes([0x13, 0])
    poll(drv, clock)
    assert status(drv) == "OB DISCHRG"
    backend.reports[0x14] = bytes([0x14, 1])  # BelowRemainingCapacityLimit
    poll(drv, clock)
    assert status(drv) == "OB DISCHRG LB"
    assert drv.getinfo("ups.alarm") is None
    # ShutdownImminent is not quick-polled: it shows at the next full walk (pollfreq)
    backend.reports[0x14] = bytes([0x14, 0])
    backend.reports[0x16] = craft(backend, {STATUS_16.format("ShutdownImminent"): 1})
    poll(drv, clock)
    assert status(drv) == "OB DISCHRG"
    poll(drv, clock, 30)
    assert drv.getinfo("ups.alarm") == "Shutdown imminent!"
    assert status(drv) == "ALARM OB DISCHRG LB"


def test_status_by_interrupt_report() -> None:
    drv, backend, clock = make()
    drv.start()
    backend.interrupts.append(bytes([0x13, 0]))
    before = len(backend.log)
    poll(drv, clock)
    assert status(drv) == "OB DISCHRG"
    # the interrupt report refreshed the buffer: the quick walk did not ask for it again
    assert [e for e in backend.log[before:] if e[:2] == ("get", 0x13)] == []
    # the device itself still says "on line": the next poll reads it back
    poll(drv, clock)
    assert status(drv) == "OL DISCHRG"


def test_instcmd_and_setvar_send_nuts_set_reports() -> None:
    drv, backend, clock = make()
    drv.start()
    results: list[int] = []
    drv.instcmd("beeper.enable", None).addCallback(results.append)
    drv.instcmd("test.battery.start.quick", None).addCallback(results.append)
    drv.instcmd("no.such.command", None).addCallback(results.append)
    drv.setvar("battery.charge.low", "40").addCallback(results.append)
    drv.setvar("input.sensitivity", "high").addCallback(results.append)
    drv.setvar("ups.delay.shutdown", "60").addCallback(results.append)
    drv.setvar("battery.charge", "1").addCallback(results.append)
    assert results == [0, 0, 2, 0, 0, 0, 1]
    sets = backend.sets()
    by_id = dict(sets)
    # AudibleAlarmControl 2 (enabled), in report 0x18
    assert by_id[0x18] == bytes([0x18, 0x02])
    assert by_id[0x21][:2] == bytes([0x21, 0x01])
    assert by_id[0x35][:2] == bytes([0x35, 0x02])
    # a server-side variable changes without a transfer
    assert drv.getinfo("ups.delay.shutdown") == "60"
    poll(drv, clock)
    assert drv.getinfo("battery.charge.low") == "40"
    assert drv.getinfo("input.sensitivity") == "high"


def test_shutdown_falls_back_as_nut() -> None:
    """No shutdown.return for this device, nor the composite one (it has no startup delay):
    shutdown.reboot, i.e. APCDelayBeforeReboot = 10, the whole report buffer sent."""
    drv, backend, _clock = make()
    drv.start()
    failures: list[Any] = []
    drv.shutdown().addErrback(failures.append)
    assert not failures
    assert backend.sets() == [(0x40, bytes([0x40, 10]) + bytes(22))]


def test_shutdown_without_a_way_fails() -> None:
    drv, backend, _clock = make(vendorid="051d", explore="enabled")
    drv.start()
    assert drv.getinfo("driver.version.data") == "EXPLORE HID 0.2"
    failures: list[Any] = []
    drv.shutdown().addErrback(failures.append)
    assert failures and failures[0].getErrorMessage() == "Shutdown failed!"
    assert backend.sets() == []


@pytest.mark.parametrize(
    ("params", "found"),
    [
        ({"vendorid": "051d"}, True),
        ({"vendorid": "051D"}, True),
        ({"vendorid": "051"}, False),
        ({"productid": "000[0-9]"}, True),
        ({"vendor": "american.*"}, True),
        ({"product": "BK650M2-CH"}, True),
        ({"product": "BK650"}, False),
        ({"serial": "9B2019A14274"}, True),
        ({"serial": "other"}, False),
        ({"bus": "001"}, True),
        ({"bus": "002"}, False),
        ({"device": ""}, True),
    ],
)
def test_device_matching_as_nut(params: dict[str, str], found: bool) -> None:
    drv, _, _ = make(**params)
    drv.start()
    assert (drv.getinfo("ups.model") == "BK650M2-CH") is found
    assert drv.stale is not found


def test_no_device_in_process_stays_stale_and_looks_again() -> None:
    drv, backend, clock = make()
    backend.unplugged = True
    drv.start()
    assert drv.stale
    assert drv.getinfo("ups.model") is None
    backend.unplugged = False
    clock.advance(2)
    assert not drv.stale
    assert drv.getinfo("ups.model") == "BK650M2-CH"


def test_command_finds_its_device_first(monkeypatch: pytest.MonkeyPatch) -> None:
    """The drop-in command fails at once, as NUT's does, when no device matches."""
    monkeypatch.setattr(UsbHidUps, "preflight", True)
    with pytest.raises(DeviceError, match="No matching HID UPS found"):
        make(vendorid="9999")
    with pytest.raises(DeviceError, match="invalid regular expression"):
        make(vendorid="(")
    drv, _, _ = make()
    drv.start()
    assert drv.getinfo("ups.model") == "BK650M2-CH"


def test_unplug_makes_data_stale_and_replug_brings_it_back() -> None:
    drv, backend, clock = make()
    drv.start()
    assert not drv.stale
    backend.unplugged = True
    poll(drv, clock)  # the interrupt read fails: reconnect next time
    poll(drv, clock)
    poll(drv, clock)
    assert drv.stale
    backend.unplugged = False
    backend.reports[0x0C] = bytes([0x0C, 55])
    poll(drv, clock)
    assert not drv.stale
    poll(drv, clock, 31)
    assert drv.getinfo("battery.charge") == "55"


def test_fuzzed_reports_never_raise() -> None:
    rng = random.Random(7)
    drv, backend, clock = make()
    drv.start()
    ids = list(backend.reports)
    for n in range(300):
        rid = rng.choice(ids)
        backend.reports[rid] = bytes([rid]) + rng.randbytes(rng.randint(0, 40))
        if n % 3 == 0:
            backend.interrupts.append(rng.randbytes(rng.randint(0, 20)))
        if n % 17 == 0:
            del backend.reports[rid]
            ids.remove(rid)
            if not ids:
                break
        clock.advance(rng.choice((2, 31)))
    assert drv.getinfo("ups.status") is not None


def test_fuzzed_descriptors_never_raise() -> None:
    rng = random.Random(11)
    cap = hidcapture.load(BK650)
    assert cap is not None
    for _ in range(60):
        desc = bytearray(cap.rdesc)
        for _ in range(rng.randint(1, 20)):
            desc[rng.randrange(len(desc))] = rng.randrange(256)
        drv, _backend, clock = make(rdesc=bytes(desc))
        drv.start()
        clock.advance(31)
        drv.instcmd("beeper.enable", None)
        drv.setvar("battery.charge.low", "10")


class IoThread(unittest.TestCase):
    """The session runs on the driver's pool thread; the reactor only applies the results."""

    @defer.inlineCallbacks
    def test_io_runs_off_the_reactor_thread(self) -> Any:
        cap = hidcapture.load(BK650)
        assert cap is not None
        backend = FakeBackend(cap)
        seen: list[str] = []
        real = backend.devices

        def devices() -> Any:
            seen.append(threading.current_thread().name)
            return real()

        backend.devices = devices  # type: ignore[method-assign]
        section = UpsSection("ups", 1, values={"driver": "usbhid-ups", "port": "auto"})
        drv = UsbHidUps("ups", section, backend=backend)
        self.addCleanup(drv._stop_pool)
        yield drv.initinfo()
        self.assertTrue(seen)
        self.assertNotIn(threading.current_thread().name, seen)
        self.assertEqual(drv.getinfo("ups.model"), "BK650M2-CH")


def test_flags_pollonly_maxreport_interruptsize_onlinedischarge() -> None:
    drv, backend, clock = make(pollonly="enabled")
    drv.start()
    clock.advance(2)
    assert not [e for e in backend.log if e[0] == "interrupt"]

    drv, backend, clock = make(maxreport="enabled", interruptsize="16")
    drv.start()
    clock.advance(2)
    gets = [e for e in backend.log if e[0] == "get"]
    assert gets and all(length == 8 for _, _, length in gets)
    assert ("interrupt", 16, 750) in backend.log

    # this device reports OL + DISCHRG: onlinedischarge reads that as on battery
    drv, backend, clock = make()
    drv.start()
    assert drv.getinfo("ups.status") == "OL DISCHRG"
    drv, backend, clock = make(onlinedischarge="enabled")
    drv.start()
    assert drv.getinfo("ups.status") == "OB DISCHRG"


def test_lowbatt_ondelay_offdelay_options() -> None:
    drv, _backend, _clock = make(lowbatt="35", offdelay="45")
    drv.start()
    assert drv.getinfo("battery.charge.low") == "35"
    assert drv.getinfo("ups.delay.shutdown") == "45"


def test_explore_lists_the_tree() -> None:
    drv, _backend, _clock = make(vendorid="051d", explore="enabled")
    drv.start()
    want = BK650.with_suffix(".explore").read_text().splitlines()
    assert drv.session.explore_lines == want
