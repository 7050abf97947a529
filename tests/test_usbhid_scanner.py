"""``nut-scanner -U``: the same ups.conf section as NUT 2.8.0's nut-scanner, on the fake device."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from nutwist.scanner import Found, parsable, ups_conf
from nutwist.scanner.usb import driver_for
from tests.support import hidcapture
from tests.support.nut import have_nut

CAPTURES = [p for p in hidcapture.captures() if p.parent == hidcapture.DATA]


def test_formats() -> None:
    dev = Found("USB", "usbhid-ups", "auto", [("vendorid", "051D"), ("flag", None)])
    assert ups_conf([dev, dev]) == (
        '[nutdev1]\n\tdriver = "usbhid-ups"\n\tport = "auto"\n\tvendorid = "051D"\n\tflag\n'
        '[nutdev2]\n\tdriver = "usbhid-ups"\n\tport = "auto"\n\tvendorid = "051D"\n\tflag\n'
    )
    assert parsable([dev]) == 'USB:driver="usbhid-ups",port="auto",vendorid="051D",flag\n'


def test_driver_table() -> None:
    assert driver_for(0x051D, 0x0002) == "usbhid-ups"
    assert driver_for(0x0764, 0x0501) == "usbhid-ups"
    assert driver_for(0x09AE, 0x0001) == "tripplite_usb"
    assert driver_for(0x0665, 0x5161) == "nutdrv_qx"
    assert driver_for(0x1234, 0x5678) is None


def nutwist_scanner() -> list[str]:
    script = Path(sys.executable).with_name("nut-scanner")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "nutwist.cli.nut_scanner"]


def run(capture: Path, cmd: list[str]) -> tuple[int, str, str]:
    done = subprocess.run(
        hidcapture.fake_argv(capture, cmd), capture_output=True, text=True, timeout=60
    )
    return done.returncode, done.stdout, done.stderr


@pytest.mark.nut
@pytest.mark.parametrize("flags", [["-U"], ["-U", "-P"], ["-U", "-N", "-q"]], ids=" ".join)
@pytest.mark.parametrize("capture", CAPTURES, ids=lambda p: p.stem)
def test_same_section_as_nut(capture: Path, flags: list[str]) -> None:
    if not have_nut("nut-scanner"):
        pytest.skip("NUT's nut-scanner not installed (Debian nut-server)")
    if not hidcapture.have_umockdev():
        pytest.skip("umockdev not installed")
    nut = run(capture, ["nut-scanner", *flags])
    ours = run(capture, [*nutwist_scanner(), *flags])
    assert ours == nut
    assert "[nutdev1]" in nut[1] or "USB:" in nut[1]
