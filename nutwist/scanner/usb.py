"""``nut-scanner -U``: the USB devices a NUT driver knows, with what ups.conf needs to match them.

Like NUT's scan: every device libusb lists whose vendor and product IDs are in the drivers'
tables, opened to read its serial number, product and vendor strings (trailing blanks
trimmed), with the bus number.
"""

from __future__ import annotations

from typing import Any

from nutwist.scanner import Found
from nutwist.scanner.usb_ids import USB_DEVICES

_DRIVERS = {(vid, pid): drv for vid, pid, drv in USB_DEVICES}


class NoUsb(Exception):
    """libusb is missing or lists no device at all."""


def driver_for(vendor_id: int, product_id: int) -> str | None:
    return _DRIVERS.get((vendor_id, product_id))


def _string(dev: Any, index: int) -> str | None:
    from nutwist.drivers.hid.usb import string_ascii

    if not index:
        return None
    try:
        text = string_ascii(dev, index, 256)
    except Exception:
        return None
    return text.rstrip(" ") if text else None


def scan() -> list[Found]:
    try:
        import usb.core
        import usb.util
    except ImportError as e:  # pragma: no cover - pyusb is a dependency
        raise NoUsb(str(e)) from None
    try:
        devices = list(usb.core.find(find_all=True))
    except Exception as e:
        raise NoUsb(str(e)) from None
    if not devices:
        raise NoUsb("No USB device found")
    found = []
    for dev in devices:
        vid, pid = int(dev.idVendor), int(dev.idProduct)
        driver = driver_for(vid, pid)
        if driver is None:
            continue
        serial = _string(dev, dev.iSerialNumber)
        product = _string(dev, dev.iProduct)
        vendor = _string(dev, dev.iManufacturer)
        options: list[tuple[str, str | None]] = [
            ("vendorid", f"{vid:04X}"),
            ("productid", f"{pid:04X}"),
        ]
        if product:
            options.append(("product", product))
        if serial:
            options.append(("serial", serial))
        if vendor:
            options.append(("vendor", vendor))
        options.append(("bus", f"{int(dev.bus or 0):03d}"))
        found.append(Found("USB", driver, "auto", options))
        try:
            usb.util.dispose_resources(dev)
        except Exception:
            pass
    return found
