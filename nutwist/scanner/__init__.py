"""Finding power devices, for ``nut-scanner``: each scan yields :class:`Found` devices."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Found:
    """A device as nut-scanner reports it: its bus type, driver, port and ups.conf options."""

    type: str
    driver: str
    port: str
    options: list[tuple[str, str | None]] = field(default_factory=list)


def ups_conf(devices: list[Found], first: int = 1) -> str:
    """ups.conf sections, numbered ``nutdev1``, ``nutdev2``... as NUT prints them."""
    out = []
    for n, dev in enumerate(devices, first):
        out.append(f'[nutdev{n}]\n\tdriver = "{dev.driver}"\n\tport = "{dev.port}"\n')
        for name, value in dev.options:
            out.append(f"\t{name}" + (f' = "{value}"' if value is not None else "") + "\n")
    return "".join(out)


def parsable(devices: list[Found]) -> str:
    """One line per device: ``USB:driver="usbhid-ups",port="auto",vendorid="051D",...``."""
    out = []
    for dev in devices:
        line = f'{dev.type}:driver="{dev.driver}",port="{dev.port}"'
        for name, value in dev.options:
            line += f",{name}" + (f'="{value}"' if value is not None else "")
        out.append(line + "\n")
    return "".join(out)
