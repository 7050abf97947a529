"""A fake USB HID UPS for one program, through umockdev's usbfs ioctl emulation.

Run with the system Python (it needs python3-gi and gir1.2-umockdev-1.0):

    /usr/bin/python3 tests/support/umockdev_hid.py CAPTURE [--control FILE] [--log FILE] -- CMD...

CMD runs under libumockdev-preload and sees one USB device, ``/dev/bus/usb/001/002``, with
the descriptors, strings, report descriptor and reports of the nut-ddl capture.  Both
libusb (NUT's C driver, pyusb) and sysfs enumeration find it.

``--control FILE`` is a JSON object the fake re-reads whenever it changes:

- ``"reports": {"0c": "0c64"}`` replaces the answer to GET_REPORT for a report ID (both in hex);
- ``"interrupt": ["1601", ...]`` queues reports for the interrupt-in endpoint (each list
  element is sent once, in order; the fake remembers how many it has sent);
- ``"unplugged": true`` makes every request fail with ENODEV and removes the device from
  the bus until it is set back to false.

``--log FILE`` gets one line per request: ``GET_REPORT 0c -> 0c64``, ``SET_REPORT 0f 0f1400``,
``INTERRUPT 1601``.  SET_REPORT also changes what later GET_REPORTs of that ID return, as
the device would.
"""

from __future__ import annotations

import errno
import json
import os
import struct
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import gi

gi.require_version("UMockdev", "1.0")
from gi.repository import GLib, UMockdev  # noqa: E402

from tests.support.hidcapture import Capture, load  # noqa: E402


def _ioc(direction: int, nr: int, size: int) -> int:
    return (direction << 30) | (size << 16) | (ord("U") << 8) | nr


SUBMITURB = _ioc(2, 10, 56)
DISCARDURB = _ioc(0, 11, 0)
REAPURB = _ioc(1, 12, 8)
REAPURBNDELAY = _ioc(1, 13, 8)
GET_CAPABILITIES = _ioc(2, 26, 4)
GETDRIVER = _ioc(1, 8, 260)
# requests that succeed with nothing to do on a fake
_NOOPS = {
    _ioc(2, 15, 4),  # CLAIMINTERFACE
    _ioc(2, 16, 4),  # RELEASEINTERFACE
    _ioc(2, 4, 8),  # SETINTERFACE
    _ioc(2, 5, 4),  # SETCONFIGURATION
    _ioc(0, 20, 0),  # RESET
    _ioc(2, 21, 4),  # CLEAR_HALT
    _ioc(2, 27, 264),  # DISCONNECT_CLAIM
    _ioc(3, 18, 16),  # IOCTL (driver detach/attach)
}
URB_CONTROL = 2
SYSFS = "/devices/pci0000:00/usb1/1-1"
NODE = "/dev/bus/usb/001/002"


class Device:
    def __init__(self, cap: Capture, control: str | None, log: str | None) -> None:
        self.cap = cap
        self.reports = dict(cap.reports)
        self.control_path = control
        self.control_mtime = 0.0
        self.interrupts: list[bytes] = []
        self.sent_interrupts = 0
        self.unplugged = False
        self.log = open(log, "a", buffering=1) if log else None  # noqa: SIM115
        rlen = len(cap.rdesc)
        self.devdesc = struct.pack(
            "<BBHBBBBHHHBBBB", 18, 1, 0x0110, 0, 0, 0, 8,
            cap.vendorid, cap.productid, cap.bcd, 1, 2, 3, 1,
        )  # fmt: skip
        self.hiddesc = struct.pack("<BBHBBBH", 9, 0x21, 0x0110, 0x21, 1, 0x22, rlen)
        interface = struct.pack("<BBBBBBBBB", 9, 4, 0, 0, 1, 3, 0, 0, 0)
        endpoint = struct.pack("<BBBBHB", 7, 5, 0x81, 3, 8, 10)
        body = interface + self.hiddesc + endpoint
        self.config = struct.pack("<BBHBBBBB", 9, 2, 9 + len(body), 1, 1, 0, 0xA0, 50) + body

    def note(self, text: str) -> None:
        if self.log is not None:
            self.log.write(text + "\n")

    def reload(self) -> bool:
        """Re-read the control file if it changed; True if the plug state changed."""
        if not self.control_path:
            return False
        try:
            mtime = os.stat(self.control_path).st_mtime_ns
        except OSError:
            return False
        if mtime == self.control_mtime:
            return False
        self.control_mtime = mtime
        try:
            with open(self.control_path, encoding="utf-8") as f:
                ctl = json.load(f)
        except (OSError, ValueError):
            return False
        for rid, hexdata in ctl.get("reports", {}).items():
            self.reports[int(rid, 16)] = bytes.fromhex(hexdata)
        self.interrupts = [bytes.fromhex(h) for h in ctl.get("interrupt", [])]
        was = self.unplugged
        self.unplugged = bool(ctl.get("unplugged", False))
        return was != self.unplugged

    def control(self, setup: bytes, data: bytes) -> bytes | None:
        rtype, req, value, _index, length = struct.unpack("<BBHHH", setup)
        kind, idx = value >> 8, value & 0xFF
        if rtype == 0x80 and req == 6:
            if kind == 1:
                return self.devdesc[:length]
            if kind == 2:
                return self.config[:length]
            if kind == 3:
                if idx == 0:
                    return b"\x04\x03\x09\x04"[:length]
                text = self.cap.strings.get(idx)
                if not text:
                    return None
                raw = text.encode("utf-16-le")
                return (bytes([2 + len(raw), 3]) + raw)[:length]
            return None
        if rtype == 0x81 and req == 6 and kind == 0x22:
            return self.cap.rdesc[:length]
        if rtype == 0x81 and req == 6 and kind == 0x21:
            return self.hiddesc[:length]
        if rtype == 0xA1 and req == 1:
            report = self.reports.get(idx)
            self.note(f"GET_REPORT {idx:02x} [{length}] -> {report.hex() if report else 'STALL'}")
            return None if report is None else report[:length]
        if rtype == 0x21 and req == 9:
            payload = data[:length]
            self.note(f"SET_REPORT {idx:02x} {payload.hex()}")
            if kind == 3 and payload:
                old = self.reports.get(idx, b"")
                self.reports[idx] = payload + old[len(payload) :]
            return b""
        if rtype == 0x21 and req == 0x0A:  # SET_IDLE
            return b""
        return None


class Handler(UMockdev.IoctlBase):  # type: ignore[misc]
    def __init__(self, device: Device) -> None:
        super().__init__()
        self.dev = device
        self.pending: list[tuple[object, object]] = []  # interrupt URBs waiting for data
        self.done: list[tuple[object, object, int, bytes, int]] = []

    def reset(self) -> None:
        """A new connection: transfers in flight on the old one are lost."""
        self.pending.clear()
        self.done.clear()

    def _feed_interrupts(self) -> None:
        dev = self.dev
        while self.pending and dev.sent_interrupts < len(dev.interrupts):
            urb, buf = self.pending.pop(0)
            data = dev.interrupts[dev.sent_interrupts]
            dev.sent_interrupts += 1
            dev.note(f"INTERRUPT {data.hex()}")
            self.done.append((urb, buf, 0, data, 0))

    def do_handle_ioctl(self, client: object) -> bool:
        dev = self.dev
        dev.reload()
        req = client.get_request()  # type: ignore[attr-defined]
        arg = client.get_arg()  # type: ignore[attr-defined]
        if dev.unplugged:
            client.complete(-1, errno.ENODEV)  # type: ignore[attr-defined]
            return True
        if req == GET_CAPABILITIES:
            arg.resolve(0, 4).update(0, list(struct.pack("<I", 0x01 | 0x04 | 0x08)))
            client.complete(0, 0)  # type: ignore[attr-defined]
            return True
        if req in _NOOPS:
            client.complete(0, 0)  # type: ignore[attr-defined]
            return True
        if req == GETDRIVER:
            client.complete(-1, errno.ENODATA)  # type: ignore[attr-defined]
            return True
        if req == SUBMITURB:
            urb = arg.resolve(0, 56)
            typ, _ep, _st, _fl, _buf, blen = struct.unpack_from(
                "<BBxxiIxxxxQi", bytes(urb.retrieve())
            )
            buf = urb.resolve(16, blen)
            if typ == URB_CONTROL:
                raw = bytes(buf.retrieve())
                reply = dev.control(raw[:8], raw[8:])
                if reply is None:
                    self.done.append((urb, buf, -errno.EPIPE, b"", 8))
                else:
                    self.done.append((urb, buf, 0, reply, 8))
            else:
                self.pending.append((urb, buf))
                self._feed_interrupts()
            client.complete(0, 0)  # type: ignore[attr-defined]
            return True
        if req == DISCARDURB:
            if self.pending:
                urb, buf = self.pending.pop(0)
                self.done.append((urb, buf, -errno.ENOENT, b"", 0))
            client.complete(0, 0)  # type: ignore[attr-defined]
            return True
        if req in (REAPURB, REAPURBNDELAY):
            self._feed_interrupts()
            if not self.done:
                client.complete(-1, errno.EAGAIN)  # type: ignore[attr-defined]
                return True
            urb, buf, status, payload, at = self.done.pop(0)
            if payload:
                buf.update(at, list(payload))  # type: ignore[attr-defined]
            urb.update(4, list(struct.pack("<i", status)))  # type: ignore[attr-defined]
            urb.update(28, list(struct.pack("<i", len(payload))))  # type: ignore[attr-defined]
            arg.resolve(0, 8).set_ptr(0, urb)
            client.complete(0, 0)  # type: ignore[attr-defined]
            return True
        return False


def sysfs_record(dev: Device) -> str:
    cap = dev.cap
    return (
        f"P: {SYSFS}\nN: bus/usb/001/002\nE: SUBSYSTEM=usb\nE: DEVTYPE=usb_device\n"
        f"E: DRIVER=usb\nE: BUSNUM=001\nE: DEVNUM=002\nE: DEVNAME={NODE}\n"
        f"E: PRODUCT={cap.vendorid:x}/{cap.productid:x}/{cap.bcd:x}\n"
        "A: busnum=1\\n\nA: devnum=2\\n\nA: bConfigurationValue=1\\n\nA: speed=12\\n\n"
        f"A: idVendor={cap.vendorid:04x}\\n\nA: idProduct={cap.productid:04x}\\n\n"
        f"A: manufacturer={cap.strings.get(1, '')}\\n\nA: product={cap.strings.get(2, '')}\\n\n"
        f"A: serial={cap.strings.get(3, '')}\\n\n"
        f"H: descriptors={(dev.devdesc + dev.config).hex()}\n"
    )


def main(argv: list[str]) -> int:
    if "--" not in argv:
        print(
            "usage: umockdev_hid.py CAPTURE [--control FILE] [--log FILE] -- CMD...",
            file=sys.stderr,
        )
        return 2
    ours, cmd = argv[: argv.index("--")], argv[argv.index("--") + 1 :]
    control = log = None
    capture = None
    i = 0
    while i < len(ours):
        if ours[i] == "--control":
            control, i = ours[i + 1], i + 2
        elif ours[i] == "--log":
            log, i = ours[i + 1], i + 2
        else:
            capture, i = ours[i], i + 1
    if capture is None:
        print("umockdev_hid: no capture given", file=sys.stderr)
        return 2
    cap = load(Path(capture))
    if cap is None:
        print(f"umockdev_hid: {capture}: no report descriptor in this capture", file=sys.stderr)
        return 2
    device = Device(cap, control, log)
    device.reload()
    testbed = UMockdev.Testbed.new()
    handler = Handler(device)
    testbed.attach_ioctl(NODE, handler)
    record = sysfs_record(device)
    plugged = [not device.unplugged]
    if plugged[0]:
        testbed.add_from_string(record)
    env = dict(
        os.environ, LD_PRELOAD="libumockdev-preload.so.0", UMOCKDEV_DIR=testbed.get_root_dir()
    )
    loop = GLib.MainLoop()
    proc = subprocess.Popen(cmd, env=env)

    def tick() -> bool:
        device.reload()
        if device.unplugged and plugged[0]:
            testbed.remove_device("/sys" + SYSFS)
            plugged[0] = False
        elif not device.unplugged and not plugged[0]:
            handler.reset()
            testbed.add_from_string(record)
            plugged[0] = True
        if proc.poll() is not None:
            loop.quit()
            return False
        return True

    GLib.timeout_add(50, tick)
    loop.run()
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
