"""Reading a USB HID UPS out of a nut-ddl ``.dev`` capture (NUT's ``usbhid-ups -DDD`` log).

A usable capture logs the report descriptor in hex (``Report Descriptor: (N bytes) => ...``
and continuation lines) and the reports the driver fetched (``Report[get]: (N bytes) =>``).
The first answer seen for each report ID is the one served.  A ``<name>.reports.json`` beside
the capture adds reports the log does not hold (``{"reports": {"16": "160e"}}``, IDs in hex) and strings (``{"strings": {"4": "PbAc"}}``).  Plain ``lsusb -v`` dumps
(``Report Descriptors: ** UNAVAILABLE **``) carry no descriptor and are not usable.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

_HEX = re.compile(r"^(?:[0-9a-f]{2} ?)+$")
_DESC = re.compile(r"Report Descriptor: \((\d+) bytes\) => ([0-9a-f ]+)")
_CONT = re.compile(r"^#?\s*(?:[\d.]+\s+)?\[D\d\]\s+([0-9a-f ]+)$")
_REPORT = re.compile(r"Report\[get\]: \(\d+ bytes\) => ([0-9a-f ]+)")
_FIELD = re.compile(
    r"- (VendorID|ProductID|Manufacturer|Product|Serial Number|Device release number): (.*)"
)


@dataclass
class Capture:
    path: Path
    rdesc: bytes
    reports: dict[int, bytes]
    vendorid: int
    productid: int
    bcd: int = 0x0100
    strings: dict[int, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.path.stem


_ITEM_TAGS = {
    "Main": {"Input": 0x8, "Output": 0x9, "Feature": 0xB, "Collection": 0xA, "End Collection": 0xC},
    "Global": {
        "Usage Page": 0x0, "Logical Minimum": 0x1, "Logical Maximum": 0x2,
        "Physical Minimum": 0x3, "Physical Maximum": 0x4, "Unit Exponent": 0x5, "Unit": 0x6,
        "Report Size": 0x7, "Report ID": 0x8, "Report Count": 0x9, "Push": 0xA, "Pop": 0xB,
    },
    "Local": {
        "Usage": 0x0, "Usage Minimum": 0x1, "Usage Maximum": 0x2, "Designator Index": 0x3,
        "Designator Minimum": 0x4, "Designator Maximum": 0x5, "String Index": 0x7,
        "String Minimum": 0x8, "String Maximum": 0x9, "Delimiter": 0xA,
    },
}  # fmt: skip
_TYPES = {"Main": 0, "Global": 1, "Local": 2}
_LSUSB_ITEM = re.compile(
    r"Item\((Main|Global|Local)\s*\): ([A-Za-z ]+?), data=(?: \[ ((?:0x[0-9a-f]{2} )*)\]|none)"
)


def _lsusb_descriptor(lines: list[str]) -> bytes:
    """The report descriptor of an ``lsusb -v`` dump, rebuilt from its decoded items."""
    out = bytearray()
    for line in lines:
        m = _LSUSB_ITEM.search(line)
        if not m:
            continue
        kind, name = m.group(1), m.group(2).strip()
        data = bytes.fromhex((m.group(3) or "").replace("0x", ""))
        size = {0: 0, 1: 1, 2: 2, 4: 3}[len(data)]
        out.append((_ITEM_TAGS[kind][name] << 4) | (_TYPES[kind] << 2) | size)
        out += data
    return bytes(out)


def _lsusb(path: Path, lines: list[str]) -> Capture | None:
    text = "\n".join(lines)
    m = re.search(r"Report Descriptor: \(length is (\d+)\)", text)
    vid = re.search(r"idVendor\s+0x([0-9a-f]{4})", text)
    pid = re.search(r"idProduct\s+0x([0-9a-f]{4})", text)
    bcd = re.search(r"bcdDevice\s+(\d+)\.(\d+)", text)
    if not (m and vid and pid):
        return None
    rdesc = _lsusb_descriptor(lines)
    if len(rdesc) != int(m.group(1)):
        return None
    strings = {}
    for index, key in ((1, "iManufacturer"), (2, "iProduct"), (3, "iSerial")):
        sm = re.search(rf"{key}\s+\d+ (.*)", text)
        if sm:
            strings[index] = sm.group(1)
    return Capture(
        path=path,
        rdesc=rdesc,
        reports={},
        vendorid=int(vid.group(1), 16),
        productid=int(pid.group(1), 16),
        bcd=int(bcd.group(1) + bcd.group(2), 16) if bcd else 0x0100,
        strings=strings,
    )


def _supplement(path: Path, reports: dict[int, bytes], strings: dict[int, str]) -> None:
    """Add what ``<name>.reports.json`` beside the capture supplies."""
    extra = path.with_name(path.stem + ".reports.json")
    if not extra.exists():
        return
    import json

    supplement = json.loads(extra.read_text())
    for rid, hexdata in supplement.get("reports", {}).items():
        reports.setdefault(int(rid, 16), bytes.fromhex(hexdata))
    for index, text in supplement.get("strings", {}).items():
        strings.setdefault(int(index), text)


def load(path: Path) -> Capture | None:
    """The device in ``path``, or None when the capture has no report descriptor."""
    if path.name.endswith(".synth.json"):
        return load_synth(path)
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    rdesc = b""
    reports: dict[int, bytes] = {}
    fields: dict[str, str] = {}
    i = 0
    while i < len(lines):
        line = lines[i]
        m = _DESC.search(line)
        if m and not rdesc:
            size = int(m.group(1))
            chunks = [m.group(2).strip()]
            j = i + 1
            while j < len(lines):
                c = _CONT.match(lines[j].rstrip())
                if not c or not _HEX.match(c.group(1).strip()):
                    break
                chunks.append(c.group(1).strip())
                j += 1
            data = bytes.fromhex(" ".join(chunks))
            if len(data) >= size:
                rdesc = data[:size]
            i = j
            continue
        m = _REPORT.search(line)
        if m:
            data = bytes.fromhex(m.group(1).strip())
            if data:
                reports.setdefault(data[0], data)
        m = _FIELD.search(line)
        if m:
            fields.setdefault(m.group(1), m.group(2).strip())
        i += 1
    if not rdesc and any("Report Descriptor: (length is" in x for x in lines):
        cap = _lsusb(path, lines)
        if cap is None:
            return None
        _supplement(path, cap.reports, cap.strings)
        return cap
    if not rdesc or "VendorID" not in fields:
        return None
    strings = {
        1: fields.get("Manufacturer", ""),
        2: fields.get("Product", ""),
        3: fields.get("Serial Number", ""),
    }
    _supplement(path, reports, strings)
    return Capture(
        path=path,
        rdesc=rdesc,
        reports=reports,
        vendorid=int(fields["VendorID"], 16),
        productid=int(fields.get("ProductID", "0"), 16),
        bcd=int(fields.get("Device release number", "0100"), 16),
        strings=strings,
    )


def load_synth(path: Path) -> Capture:
    """A synthetic device (see hidsynth)."""
    from tests.support import hidsynth

    spec = hidsynth.load_spec(path)
    rdesc, reports = hidsynth.build(spec)
    return Capture(
        path=path,
        rdesc=rdesc,
        reports=reports,
        vendorid=int(spec["vendorid"], 16),
        productid=int(spec["productid"], 16),
        bcd=int(spec.get("bcd", "0100"), 16),
        strings={int(k): v for k, v in spec.get("strings", {}).items()},
    )


DATA = Path(__file__).resolve().parents[1] / "data" / "usbhid"
# nut-ddl checked out beside the project, when present (kept stdlib-only: the umockdev fake
# imports this module under the system Python)
DDL = Path(__file__).resolve().parents[3] / "shared" / "data" / "nut-ddl"


def captures() -> list[Path]:
    """Every usable capture: the copies in tests/data/usbhid, then nut-ddl's when present."""
    found = sorted(DATA.glob("*.dev")) + sorted(DATA.glob("*.synth.json"))
    names = {p.name for p in found}
    if DDL.is_dir():
        for p in sorted(DDL.glob("**/*usbhid*.dev")):
            if p.name not in names and "Report Descriptor: (" in p.read_text(errors="replace"):
                found.append(p)
                names.add(p.name)
    return found


SYSTEM_PYTHON = "/usr/bin/python3"
FAKE = Path(__file__).resolve().parent / "umockdev_hid.py"


def have_umockdev() -> bool:
    """True when the system Python can run the umockdev fake (python3-gi, gir1.2-umockdev-1.0)."""
    import subprocess

    if not Path(SYSTEM_PYTHON).exists():
        return False
    probe = "import gi; gi.require_version('UMockdev', '1.0'); from gi.repository import UMockdev"
    return subprocess.run([SYSTEM_PYTHON, "-c", probe], capture_output=True).returncode == 0


def fake_argv(
    capture: Path, cmd: list[str], control: Path | None = None, log: Path | None = None
) -> list[str]:
    """argv that runs ``cmd`` with the device of ``capture`` plugged in (see umockdev_hid)."""
    argv = [SYSTEM_PYTHON, str(FAKE), str(capture)]
    if control is not None:
        argv += ["--control", str(control)]
    if log is not None:
        argv += ["--log", str(log)]
    return [*argv, "--", *cmd]
