"""The driver core and the drivers nutwist implements, by their NUT names."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping

from nutwist.config.ups import UpsSection
from nutwist.drivers.core import Driver

#: NUT driver name -> "module:class" of nutwist's implementation
REGISTRY = {
    "dummy-ups": "nutwist.drivers.dummy_ups:DummyUps",
    "nutdrv_qx": "nutwist.drivers.qx:NutdrvQx",
    "blazer_ser": "nutwist.drivers.blazer:BlazerSer",
    "apcsmart": "nutwist.drivers.apcsmart:ApcSmart",
    "usbhid-ups": "nutwist.drivers.hid.driver:UsbHidUps",
    "snmp-ups": "nutwist.drivers.snmp.driver:SnmpUps",
}


#: NUT's nutdrv_qx options that mean a USB device (nutwist's drives serial ports only)
QX_USB_KEYS = (
    "subdriver",
    "vendorid",
    "productid",
    "vendor",
    "product",
    "serial",
    "bus",
    "langid_fix",
)


def qx_is_serial(values: Mapping[str, str]) -> bool:
    port = values.get("port", "")
    return port.lower() != "auto" and not any(k in values for k in QX_USB_KEYS)


#: drivers nutwist runs for some sections only; the others are left to NUT's C driver
CONDITIONS: dict[str, Callable[[Mapping[str, str]], bool]] = {"nutdrv_qx": qx_is_serial}


def implemented(name: str | None, section: UpsSection | None = None) -> bool:
    """Whether nutwist runs this driver (for this ups.conf section, when given)."""
    if name not in REGISTRY:
        return False
    condition = CONDITIONS.get(name)
    return condition is None or section is None or condition(section.values)


def driver_class(name: str) -> type[Driver]:
    module, _, cls = REGISTRY[name].partition(":")
    found: type[Driver] = getattr(importlib.import_module(module), cls)
    return found
