"""USB I/O for usbhid-ups, through pyusb and libusb 1.0, the way NUT's libusb1.c talks.

Every call blocks: the driver runs them on its own I/O thread, never on the reactor.
Errors that mean the device is gone (no device, I/O error, access denied, not found, busy)
raise :class:`~nutwist.drivers.hid.engine.UsbGone`; a stall, a timeout or an overflow is a
failed read (``None``) and the device is kept.
"""

from __future__ import annotations

import ctypes
from collections.abc import Sequence
from typing import Any

from nutwist.drivers.hid.engine import Candidate, Handle, UsbGone

USB_TIMEOUT = 5000  # ms, for control transfers
MAX_REPORT_SIZE = 0x1800
HID_REP_INDEX = 0  # interface
HID_EP_IN = 0x81

# libusb error codes
_GONE = {-1, -3, -4, -5, -6}  # IO, ACCESS, NO_DEVICE, NOT_FOUND, BUSY
_PIPE = -9


def _code(e: Exception) -> int:
    code = getattr(e, "backend_error_code", None)
    return int(code) if isinstance(code, int) else -99


def _usb() -> Any:
    import usb.core
    import usb.util

    return usb


class PyUsbHandle:
    """A claimed device: HID class requests on interface 0."""

    def __init__(self, dev: Any) -> None:
        self.dev = dev

    def _fail(self, e: Exception) -> None:
        if _code(e) in _GONE:
            raise UsbGone(str(e)) from None

    def get_report(self, report_id: int, length: int) -> bytes | None:
        try:
            data = self.dev.ctrl_transfer(
                0xA1, 0x01, (0x03 << 8) | report_id, HID_REP_INDEX, length, USB_TIMEOUT
            )
        except Exception as e:
            self._fail(e)
            return None
        return bytes(data)

    def set_report(self, report_id: int, data: bytes) -> bool:
        try:
            sent = self.dev.ctrl_transfer(
                0x21, 0x09, (0x03 << 8) | report_id, HID_REP_INDEX, data, USB_TIMEOUT
            )
        except Exception as e:
            self._fail(e)
            return False
        return bool(sent and sent > 0)

    def get_string(self, index: int, buflen: int) -> str | None:
        try:
            return string_ascii(self.dev, index, buflen)
        except Exception as e:
            self._fail(e)
            return None

    def get_interrupt(self, size: int, timeout_ms: int) -> bytes | None:
        try:
            data = self.dev.read(HID_EP_IN, size, timeout_ms)
        except Exception as e:
            if _code(e) == _PIPE:
                try:
                    self.dev.clear_halt(HID_EP_IN)
                except Exception:
                    pass
                return None
            self._fail(e)
            return None
        return bytes(data)

    def close(self) -> None:
        try:
            _usb().util.dispose_resources(self.dev)
        except Exception:
            pass


def string_ascii(dev: Any, index: int, buflen: int) -> str:
    """libusb_get_string_descriptor_ascii: the first language, non-ASCII as ``?``."""
    if index == 0:
        return ""
    langs = bytes(dev.ctrl_transfer(0x80, 0x06, 0x0300, 0, 255, USB_TIMEOUT))
    if len(langs) < 4:
        raise ValueError("no language")
    langid = langs[2] | (langs[3] << 8)
    raw = bytes(dev.ctrl_transfer(0x80, 0x06, 0x0300 | index, langid, 255, USB_TIMEOUT))
    if len(raw) < 2 or raw[1] != 0x03 or raw[0] > len(raw):
        raise ValueError("bad string descriptor")
    out: list[str] = []
    for i in range(2, raw[0] - 1, 2):
        if len(out) >= buflen - 1:
            break
        lo, hi = raw[i], raw[i + 1]
        out.append("?" if (lo & 0x80) or hi else chr(lo))
    return "".join(out)


class PyUsbCandidate:
    def __init__(self, dev: Any) -> None:
        self.dev = dev
        self.vendor_id = int(dev.idVendor)
        self.product_id = int(dev.idProduct)
        self.bcd = int(dev.bcdDevice)
        self.bus = int(dev.bus or 0)
        self.desc_index = 0

    def open(self) -> None:
        pass

    def _string(self, index: int) -> str | None:
        if not index:
            return None
        for _ in range(3):
            try:
                text = string_ascii(self.dev, index, 256)
            except Exception as e:
                if _code(e) == -4:
                    raise UsbGone(str(e)) from None
                continue
            if text:
                return text
        return None

    def strings(self) -> tuple[str | None, str | None, str | None]:
        dev = self.dev
        if (self.vendor_id, self.bcd) == (0x0463, 0x0202):
            self.desc_index = 1
        return (
            self._string(dev.iManufacturer),
            self._string(dev.iProduct),
            self._string(dev.iSerialNumber),
        )

    def claim(self) -> Handle:
        dev = self.dev
        try:
            if dev.is_kernel_driver_active(HID_REP_INDEX):
                dev.detach_kernel_driver(HID_REP_INDEX)
        except Exception:
            pass
        try:
            _usb().util.claim_interface(dev, HID_REP_INDEX)
        except Exception as e:
            raise UsbGone(
                f"Can't claim USB device [{self.vendor_id:04x}:{self.product_id:04x}]: {e}"
            ) from None
        return PyUsbHandle(dev)

    def report_descriptor(self) -> bytes | None:
        """The HID report descriptor, its length taken as NUT takes it."""
        dev = self.dev
        rdlen1 = rdlen2 = -1
        try:
            hid = bytes(
                dev.ctrl_transfer(
                    0x81, 0x06, (0x21 << 8) + self.desc_index, HID_REP_INDEX, 9, USB_TIMEOUT
                )
            )
            if len(hid) >= 9:
                rdlen1 = hid[7] | (hid[8] << 8)
        except Exception as e:
            if _code(e) == -4:
                raise UsbGone(str(e)) from None
        try:
            extra = bytes(dev.get_active_configuration()[(HID_REP_INDEX, 0)].extra_descriptors)
        except Exception:
            extra = b""
        i = 0
        while i < len(extra) and extra[i] > 0:
            if i + 9 <= len(extra) and extra[i] >= 9 and extra[i + 1] == 0x21:
                rdlen2 = extra[i + 7] | (extra[i + 8] << 8)
                break
            i += extra[i]
        if (self.vendor_id, self.bcd) == (0x0463, 0x0202):
            rdlen = rdlen1
        else:
            rdlen = rdlen2 if rdlen2 >= 0 else rdlen1
        if rdlen < 0 or rdlen > MAX_REPORT_SIZE:
            return None
        try:
            data = bytes(
                dev.ctrl_transfer(
                    0x81, 0x06, (0x22 << 8) + self.desc_index, HID_REP_INDEX, rdlen, USB_TIMEOUT
                )
            )
        except Exception as e:
            if _code(e) == -4:
                raise UsbGone(str(e)) from None
            return None
        return data or None

    def close(self) -> None:
        try:
            _usb().util.dispose_resources(self.dev)
        except Exception:
            pass


class PyUsbBackend:
    """Every USB device libusb sees."""

    def devices(self) -> Sequence[Candidate]:
        usb = _usb()
        try:
            found = list(usb.core.find(find_all=True))
        except usb.core.NoBackendError as e:
            raise UsbGone(f"no libusb: {e}") from None
        except Exception as e:
            raise UsbGone(str(e)) from None
        return [PyUsbCandidate(d) for d in found]

    def version(self) -> str:
        usb = _usb()
        try:
            import usb.backend.libusb1 as lib1

            class Version(ctypes.Structure):
                _fields_ = [
                    ("major", ctypes.c_uint16),
                    ("minor", ctypes.c_uint16),
                    ("micro", ctypes.c_uint16),
                    ("nano", ctypes.c_uint16),
                ]

            backend = lib1.get_backend()
            if backend is None:
                raise LookupError("no libusb")
            fn = backend.lib.libusb_get_version
            fn.restype = ctypes.POINTER(Version)
            v = fn().contents
            return f"libusb-{v.major}.{v.minor}.{v.micro} (pyusb {usb.__version__})"
        except Exception:
            return f"pyusb {usb.__version__}"
