"""ups.conf: one section per UPS, read by the drivers, upsdrvctl and upsd.

Before the first section come global settings (``driverpath``, ``chroot``,
``user``, ``maxretry`` ...).  Inside a section every ``key = value`` becomes the
driver's ``driver.parameter.<key>`` and every lone word ``driver.flag.<word>``;
``driver`` and ``port`` are required.  Section names are matched without regard
to case by upsd, as NUT does.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from nutwist.config.base import Source, lines
from nutwist.config.diagnostics import Diagnostics
from nutwist.paths import DEFAULT_DRIVERPATH

#: Settings NUT's drivers and upsdrvctl read before the first section.
GLOBAL_KEYS = frozenset(
    {
        "chroot",
        "driverpath",
        "user",
        "group",
        "maxstartdelay",
        "maxretry",
        "retrydelay",
        "pollinterval",
        "synchronous",
        "statepath",
        "debug_min",
        "nowait",
        "libusb_debug",
    }
)

#: Settings whose value must be a whole number.
_INT_KEYS = frozenset(
    {"sdorder", "maxstartdelay", "maxretry", "retrydelay", "pollinterval", "debug_min"}
)


@dataclass
class UpsSection:
    """One ``[upsname]`` section."""

    name: str
    lineno: int
    #: ``key = value`` settings in file order (a repeated key keeps its last value)
    values: dict[str, str] = field(default_factory=dict)
    #: lone words (``nolock``, ``ignorelb`` ...) in file order
    flags: list[str] = field(default_factory=list)
    #: where each key was set
    key_lines: dict[str, int] = field(default_factory=dict)

    @property
    def driver(self) -> str | None:
        return self.values.get("driver")

    @property
    def port(self) -> str | None:
        return self.values.get("port")

    @property
    def desc(self) -> str | None:
        return self.values.get("desc")

    @property
    def sdorder(self) -> int:
        return _int_or(self.values.get("sdorder"), 0)

    def get_int(self, key: str, default: int) -> int:
        return _int_or(self.values.get(key), default)

    def has_flag(self, flag: str) -> bool:
        return flag in self.flags


def _int_or(value: str | None, default: int) -> int:
    if value is None:
        return default
    try:
        return int(value, 10)
    except ValueError:
        return default


@dataclass
class UpsConf:
    path: str
    globals: dict[str, str] = field(default_factory=dict)
    global_flags: list[str] = field(default_factory=list)
    #: sections in file order, keyed by the name as written
    sections: dict[str, UpsSection] = field(default_factory=dict)
    diagnostics: Diagnostics = field(default_factory=lambda: Diagnostics("ups.conf"))

    def find(self, name: str) -> UpsSection | None:
        """The section called ``name``, compared without regard to case as upsd does."""
        hit = self.sections.get(name)
        if hit is not None:
            return hit
        low = name.lower()
        for key, section in self.sections.items():
            if key.lower() == low:
                return section
        return None

    @property
    def driverpath(self) -> str:
        return self.globals.get("driverpath", DEFAULT_DRIVERPATH)

    @property
    def chroot(self) -> str | None:
        return self.globals.get("chroot")

    @property
    def user(self) -> str | None:
        return self.globals.get("user")

    @property
    def maxstartdelay(self) -> int:
        return _int_or(self.globals.get("maxstartdelay"), 45)

    @property
    def maxretry(self) -> int:
        return _int_or(self.globals.get("maxretry"), 1)

    @property
    def retrydelay(self) -> int:
        return _int_or(self.globals.get("retrydelay"), 5)

    @property
    def pollinterval(self) -> int:
        return _int_or(self.globals.get("pollinterval"), 2)

    @property
    def nowait(self) -> bool:
        return "nowait" in self.global_flags


def parse(source: Source) -> UpsConf:
    diags = Diagnostics(source.path)
    conf = UpsConf(source.path, diagnostics=diags)
    section: UpsSection | None = None
    for line in lines(source, diags):
        words = line.words
        first = words[0]
        if first.startswith("["):
            if len(first) < 3 or not first.endswith("]") or len(words) > 1:
                diags.error(line.lineno, "expected a section header '[upsname]' (one word)")
                section = None
                continue
            name = first[1:-1]
            if conf.find(name) is not None:
                diags.error(line.lineno, f"duplicate section [{name}]; only the first is used")
                section = None
                continue
            section = UpsSection(name, line.lineno)
            conf.sections[name] = section
            continue
        if len(words) == 1:
            key, value = first, None
        elif len(words) >= 3 and words[1] == "=":
            key, value = first, words[2]
            if len(words) > 3:
                diags.warning(
                    line.lineno,
                    f"{key}: words after the value are ignored (quote a value that has spaces)",
                )
        else:
            diags.error(line.lineno, "expected 'key = value', a lone flag word, or '[upsname]'")
            continue
        if value is not None and key in _INT_KEYS:
            try:
                int(value, 10)
            except ValueError:
                diags.error(line.lineno, f"{key}: expected a whole number, got {value!r}")
                continue
        if section is None:
            if conf.sections:
                # a bad or duplicate header above: its lines were already reported
                continue
            if key not in GLOBAL_KEYS:
                diags.warning(line.lineno, f"unknown global directive '{key}'")
            if value is None:
                conf.global_flags.append(key)
            else:
                conf.globals[key] = value
            continue
        if value is None:
            if key not in section.flags:
                section.flags.append(key)
            continue
        if key in section.values:
            diags.warning(
                line.lineno, f"[{section.name}] {key} is set again; the last value is used"
            )
        section.values[key] = value
        section.key_lines[key] = line.lineno
    for section in conf.sections.values():
        for required in ("driver", "port"):
            if required not in section.values:
                diags.error(
                    section.lineno,
                    f"[{section.name}] has no '{required}'; upsd and upsdrvctl skip this UPS",
                )
        sd = section.values.get("sdorder")
        if sd is not None and section.sdorder < -1:
            diags.error(section.key_lines["sdorder"], "sdorder: expected -1 (never) or 0 and up")
    return conf


def load(path: str) -> UpsConf:
    return parse(Source.from_path(path))
