"""The driver core and the drivers nutwist implements, by their NUT names."""

from __future__ import annotations

import importlib

from nutwist.drivers.core import Driver

#: NUT driver name -> "module:class" of nutwist's implementation
REGISTRY = {
    "dummy-ups": "nutwist.drivers.dummy_ups:DummyUps",
    "snmp-ups": "nutwist.drivers.snmp.driver:SnmpUps",
}


def implemented(name: str | None) -> bool:
    return name in REGISTRY


def driver_class(name: str) -> type[Driver]:
    module, _, cls = REGISTRY[name].partition(":")
    found: type[Driver] = getattr(importlib.import_module(module), cls)
    return found
