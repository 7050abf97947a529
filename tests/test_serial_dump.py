"""NUT's ``-d <count>`` dump mode in nutwist's driver command, for any driver.

nutwist's dummy-ups prints what NUT's prints for the same ups.conf and data
file (identity lines aside: ``driver.version*``, the banner, and NUT's
``driver.parameter.synchronous``), writes no pid file and serves no socket.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from support.nut import NUT_LIB, nut_env, require_nut
from support.sim.harness import normalise_dump

pytestmark = pytest.mark.nut


def test_dummy_ups_dump_matches_nut(tmp_path: Path) -> None:
    require_nut("dummy-ups")
    (tmp_path / "x.dev").write_text("ups.status: OB LB\nbattery.charge: 9\nups.mfr: Acme\n")
    (tmp_path / "ups.conf").write_text('[x]\n\tdriver = dummy-ups\n\tport = x.dev\n\tdesc = "d"\n')
    env = nut_env(tmp_path, tmp_path)
    out = []
    for argv in (
        [str(NUT_LIB / "dummy-ups"), "-d", "1", "-a", "x", "-u", "root"],
        [sys.executable, "-m", "nutwist.cli.driver", "dummy-ups", "-d", "1", "-a", "x"],
    ):
        p = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)
        assert p.returncode == 0, p.stderr
        out.append(normalise_dump(p.stdout, "x.dev"))
    assert out[1] == out[0]
    assert "ups.status: OB LB" in out[0]
    assert not list(tmp_path.glob("*.pid")) and not (tmp_path / "dummy-ups-x").exists()


def test_dump_of_an_absent_device_fails(tmp_path: Path) -> None:
    (tmp_path / "ups.conf").write_text(
        f"[q]\n\tdriver = nutdrv_qx\n\tport = {tmp_path / 'nothing'}\n"
    )
    p = subprocess.run(
        [sys.executable, "-m", "nutwist.cli.driver", "nutdrv_qx", "-d", "1", "-a", "q"],
        env=nut_env(tmp_path, tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert p.returncode == 1 and "Unable to open" in p.stderr and "Traceback" not in p.stderr
