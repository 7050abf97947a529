"""The HID report-descriptor parser against NUT 2.8.0's own: the explore listing of every
captured device (path, type, report ID, offset, size, value) is NUT's, line for line."""

from __future__ import annotations

import os
import random
import re
import subprocess
from pathlib import Path

import pytest

from nutwist.drivers.hid import parser
from nutwist.drivers.hid.usages import GENERIC_USAGES
from tests.support import hidcapture
from tests.support.nut import have_nut

CAPTURES = [p for p in hidcapture.captures() if hidcapture.load(p) is not None]
NAMES = parser.PathNames(GENERIC_USAGES)


def listing(cap: hidcapture.Capture) -> list[str]:
    desc = parser.parse(cap.rdesc)
    return parser.dump_tree(desc, NAMES, cap.reports.get)


def golden(path: Path) -> Path:
    return hidcapture.DATA / (path.stem + ".explore")


def nut_lines(text: str, marker: str) -> list[str]:
    """The lines of a NUT debug log that hold ``marker``, without timestamp and level."""
    out = []
    for line in text.splitlines():
        if marker in line:
            out.append(re.sub(r"^#?\s*[\d.]+\s+(?:\[D\d\] )?", "", line))
    return out


def test_captures_found() -> None:
    assert len(CAPTURES) >= 2


@pytest.mark.parametrize("path", CAPTURES, ids=lambda p: p.stem)
def test_listing_is_nuts(path: Path) -> None:
    """NUT's explore output for this device, recorded under umockdev in tests/data/usbhid."""
    cap = hidcapture.load(path)
    assert cap is not None
    want = golden(path)
    if not want.exists():
        pytest.skip(f"no recorded NUT listing for {path.name}")
    assert listing(cap) == want.read_text().splitlines()


def test_logmax_fixup_warns_as_nut() -> None:
    path = hidcapture.DATA / "APC__Back-UPS_BK650M2-CH__usbhid-ups__2.8.0__01.dev"
    cap = hidcapture.load(path)
    assert cap is not None
    desc = parser.parse(cap.rdesc)
    want = nut_lines(path.read_text(), "HIDParse: LogMax")
    assert desc.warnings == want
    # the field the fix-up applies to reads as unsigned 0..255
    field = desc.find_by_id(0x0C, 0, parser.ITEM_FEATURE)
    assert field is not None and (field.log_min, field.log_max) == (0, 255)


def test_collection_index_and_unknown_usage_names() -> None:
    # Usage Page 0x84, Usage UPS, Collection(Application); Usage 0xff01 page 0xff86,
    # Collection 0x85 (index 5); Report ID 7, Size 8, Count 1, Usage 0x30, Feature
    desc = bytes.fromhex("05840904a101 0686ff0901 a185 8507 7508 9501 05840930 b102 c0 c0")
    parsed = parser.parse(desc)
    assert len(parsed.items) == 1
    assert NAMES.path_to_string(parsed.items[0].path) == "UPS.ff860001.[5].Voltage"
    assert NAMES.string_to_path("UPS.ff860001.[5].Voltage") == parsed.items[0].path


def test_unit_exponent_and_physical_limits() -> None:
    # Voltage in volts (unit 0x00f0d121, exponent 7 = 10^0): 16-bit; exponent 5 gives /100
    desc = bytes.fromhex("05840904a101 8501 0930 7510 9501 150027ffff0000 6721d1f000 5505 b102 c0")
    item = parser.parse(desc).items[0]
    assert parser.unit_exponent(item) == -2
    value = parser.to_physical(item, parser.get_value(bytes([1, 0x10, 0x27]), item))
    assert parser.format_g(value) == "100"  # 10000 * 0.1 * 0.1, as C computes it
    # physical limits scale the logical range
    item.have_phy_min = item.have_phy_max = True
    item.phy_min, item.phy_max, item.log_max = 0, 200, 100
    item.unit, item.unit_exp = 0, 0
    assert parser.to_physical(item, 50) == 100.0
    assert parser.to_logical(item, 100.0) == 50


def test_signed_values_and_set_value() -> None:
    item = parser.HIDData(offset=4, size=8, log_min=-128, log_max=127)
    buf = bytearray(3)
    parser.set_value(item, buf, -2)
    assert parser.get_value(bytes(buf), item) == -2
    assert buf == bytearray([0, 0xE0, 0x0F])


def test_fuzzed_descriptors_never_raise() -> None:
    rng = random.Random(2025)
    seeds = [hidcapture.load(p) for p in CAPTURES]
    bases = [c.rdesc for c in seeds if c is not None]
    for n in range(400):
        base = bytearray(rng.choice(bases))
        for _ in range(rng.randint(1, 12)):
            i = rng.randrange(len(base))
            base[i] = rng.randrange(256)
        if n % 4 == 0:
            base = base[: rng.randrange(len(base))]
        if n % 7 == 0:
            base = bytearray(rng.randbytes(rng.randint(0, 300)))
        desc = parser.parse(bytes(base))
        lines = parser.dump_tree(desc, NAMES, lambda rid: rng.randbytes(rng.randint(0, 40)))
        assert len(lines) <= parser.MAX_REPORT


# --- against NUT's C driver, live, under umockdev ------------------------------------------


def run_nut_explore(path: Path, cap: hidcapture.Capture, tmp: Path) -> str:
    cmd = [
        "/lib/nut/usbhid-ups", "-DDD", "-u", "root", "-x", "explore",
        "-x", f"vendorid={cap.vendorid:04x}", "-x", "port=auto", "-s", "ups", "-d", "1",
    ]  # fmt: skip
    env = dict(os.environ, NUT_STATEPATH=str(tmp), NUT_CONFPATH=str(tmp))
    done = subprocess.run(
        hidcapture.fake_argv(path, cmd), env=env, capture_output=True, text=True, timeout=60
    )
    return done.stdout + done.stderr


@pytest.mark.nut
@pytest.mark.parametrize("path", CAPTURES, ids=lambda p: p.stem)
def test_listing_matches_nut_live(path: Path, tmp_path: Path) -> None:
    if not have_nut("usbhid-ups"):
        pytest.skip("NUT's usbhid-ups not installed")
    if not hidcapture.have_umockdev():
        pytest.skip("umockdev (gir1.2-umockdev-1.0, python3-gi) not installed")
    cap = hidcapture.load(path)
    assert cap is not None
    out = run_nut_explore(path, cap, tmp_path)
    want = nut_lines(out, "Path: ")
    assert want, out[-2000:]
    assert listing(cap) == want
    assert parser.parse(cap.rdesc).warnings == nut_lines(out, "HIDParse:")
