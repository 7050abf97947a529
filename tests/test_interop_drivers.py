"""nutwist's drivers with NUT 2.8.0's own programs, over loopback and unix sockets.

* NUT's C upsd serving nutwist's dummy-ups: upsc, upsrw -s -w, upscmd -w give
  exactly what they give with NUT's own dummy-ups behind the same upsd;
* nutwist's reading side (DriverLink) consuming NUT's C dummy-ups socket;
* DUMPALL of nutwist's and NUT's dummy-ups on the same DDL dumps;
* nutwist's upsdrvctl starting and stopping a mix of its own and NUT's C drivers.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from support.nut import (
    DDL,
    DriverPeer,
    NutProcess,
    dumpall,
    free_port,
    have_nut,
    nut_env,
    require_nut,
    wait_for_port,
    wait_for_socket,
    wait_until,
)
from twisted.internet import defer, reactor, task
from twisted.trial import unittest

from nutwist.services.driverlink import DriverLink

pytestmark = pytest.mark.nut

DEV = """device.mfr: Interop
ups.mfr: Interop Inc
ups.model: IO-1
ups.status: OL CHRG
ups.id: rack1
battery.charge: 97
battery.charge.low: 20
input.voltage: 229.5
custom.text: "two words"
"""


def make_conf(tmp: Path, port: int) -> tuple[Path, Path]:
    conf, state = tmp / "conf", tmp / "state"
    conf.mkdir()
    state.mkdir()
    (conf / "ups.dev").write_text(DEV)
    (conf / "ups.conf").write_text(
        '[dev]\n\tdriver = dummy-ups\n\tport = ups.dev\n\tdesc = "interop"\n'
    )
    (conf / "upsd.conf").write_text(f"LISTEN 127.0.0.1 {port}\n")
    (conf / "upsd.users").write_text(
        "[admin]\n\tpassword = pw\n\tactions = SET\n\tinstcmds = ALL\n"
    )
    for f in conf.iterdir():
        f.chmod(0o640)
    return conf, state


def start_nutwist_driver(env: dict[str, str], name: str = "dev") -> None:
    """Start nutwist's dummy-ups the way an init script would: it returns once ready."""
    rc = subprocess.run(
        [sys.executable, "-m", "nutwist.cli.driver", "dummy-ups", "-a", name, "-u", "root", "-q"],
        env=env,
        timeout=60,
    ).returncode
    assert rc == 0


def stop_by_pidfile(state: Path, name: str) -> None:
    pidfile = state / f"{name}.pid"
    if pidfile.exists():
        try:
            os.kill(int(pidfile.read_text()), 15)
        except (ProcessLookupError, ValueError):
            pass


def run(argv: list[str], env: dict[str, str]) -> tuple[int, str, str]:
    p = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)
    err = "".join(
        line
        for line in p.stderr.splitlines(True)
        if "Init SSL without certificate database" not in line
    )
    return p.returncode, p.stdout, err


def normalise(text: str) -> str:
    """Drop what differs by design: driver.* and device.type (NUT 2.8.0's drivers publish no
    driver.state, and the versions are nutwist's)."""
    keep = []
    for line in text.splitlines():
        word = line.split(":", 1)[0].strip().lstrip("[")
        if word.startswith("driver.") or word == "device.type":
            continue
        keep.append(line)
    return "\n".join(keep)


def cli_session(tmp: Path, nutwist_driver: bool) -> list[tuple[int, str, str]]:
    port = free_port()
    conf, state = make_conf(tmp, port)
    env = nut_env(conf, state)
    upsd = None
    nut_driver = None
    try:
        if nutwist_driver:
            start_nutwist_driver(env)
        else:
            nut_driver = NutProcess(
                ["/lib/nut/dummy-ups", "-a", "dev", "-u", "root", "-F"], env, tmp / "drv.log"
            )
        wait_for_socket(state / "dummy-ups-dev", probe=False)
        upsd = NutProcess(["/lib/nut/upsd", "-u", "root", "-F"], env, tmp / "upsd.log")
        wait_for_port(port)
        ups = f"dev@127.0.0.1:{port}"
        deadline = time.monotonic() + 15
        while run(["upsc", ups, "ups.status"], env)[1].strip() in ("", "WAIT"):
            assert time.monotonic() < deadline, "upsd never got the driver's data"
            time.sleep(0.2)
        results = [
            run(["upsc", ups], env),
            run(["upsc", ups, "custom.text"], env),
            run(["upsc", ups, "no.such"], env),
            run(["upsrw", ups], env),
            run(["upsrw", "-s", "ups.id=rack 9", "-u", "admin", "-p", "pw", "-w", ups], env),
            run(["upsrw", "-s", "battery.charge=55", "-u", "admin", "-p", "pw", "-w", ups], env),
        ]
        charge_set = results[-1][0] == 0
        wait_until(
            lambda: (
                run(["upsc", ups, "ups.id"], env)[1] == "rack 9\n"
                and (not charge_set or run(["upsc", ups, "battery.charge"], env)[1] == "55\n")
            ),
            what="upsd to show the values set through the driver",
        )
        results += [
            run(["upsc", ups, "ups.id"], env),
            run(["upsc", ups, "battery.charge"], env),
            run(["upscmd", "-l", ups], env),
            run(["upscmd", "-u", "admin", "-p", "pw", "-w", ups, "load.off"], env),
            run(["upscmd", "-u", "admin", "-p", "pw", "-w", ups, "no.such.cmd"], env),
        ]
        return [(rc, normalise(out), normalise(err)) for rc, out, err in results]
    finally:
        if upsd is not None:
            upsd.stop()
        if nut_driver is not None:
            nut_driver.stop()
        stop_by_pidfile(state, "dummy-ups-dev")


def test_nut_upsd_and_clients_cannot_tell_nutwist_dummy_ups_from_nuts(tmp_path: Path) -> None:
    require_nut("upsd", "dummy-ups", "upsc", "upsrw", "upscmd")
    (tmp_path / "nut").mkdir()
    (tmp_path / "nutwist").mkdir()
    theirs = cli_session(tmp_path / "nut", nutwist_driver=False)
    ours = cli_session(tmp_path / "nutwist", nutwist_driver=True)
    # the values really went through: the SET reached the driver and came back
    assert ours[6][1].strip() == "rack 9" and ours[7][1].strip() == "55"
    assert "custom.text: two words" in ours[0][1]
    for i, (a, b) in enumerate(zip(theirs, ours, strict=True)):
        assert a == b, f"step {i} differs:\nNUT:     {a}\nnutwist: {b}"


# --- nutwist's reading side on NUT's C driver ------------------------------------------


class LinkReadsNutDriver(unittest.TestCase):
    timeout = 60

    def setUp(self) -> None:
        if not have_nut("dummy-ups"):
            raise unittest.SkipTest("NUT's dummy-ups is not installed")
        # a short path: unix socket names are limited to 108 bytes
        self.tmp = Path(tempfile.mkdtemp(prefix="nwlink"))
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.conf, self.state = self.tmp / "conf", self.tmp / "state"
        self.conf.mkdir(parents=True)
        self.state.mkdir()
        (self.conf / "ups.dev").write_text(DEV)
        (self.conf / "ups.conf").write_text("[c]\n\tdriver = dummy-ups\n\tport = ups.dev\n")
        self.proc = NutProcess(
            ["/lib/nut/dummy-ups", "-a", "c", "-u", "root", "-F"],
            nut_env(self.conf, self.state),
            self.tmp / "drv.log",
        )
        self.addCleanup(self.proc.stop)

    async def wait_until(self, predicate: object, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():  # type: ignore[operator]
            if time.monotonic() > deadline:
                self.fail("condition never became true")
            await task.deferLater(reactor, 0.1, lambda: None)

    @defer.inlineCallbacks
    def test_sees_every_value_and_later_changes(self) -> object:
        path = self.state / "dummy-ups-c"
        yield defer.Deferred.fromCoroutine(self.wait_until(path.exists))
        link = DriverLink("c", clock=reactor, reactor=reactor, maxage=15, socket_path=str(path))
        link.start()
        self.addCleanup(link.stop)
        yield defer.Deferred.fromCoroutine(
            self.wait_until(lambda: link.dumpdone and not link.is_stale())
        )
        expected = dict(line.split(": ", 1) for line in DEV.splitlines())
        for var, value in expected.items():
            want = value.strip('"') if var != "device.mfr" else "Interop Inc"
            self.assertEqual(link.state.getinfo(var), want, var)
        self.assertEqual(link.state.commands(), ["load.off"])
        # a later change: rewrite the file; NUT's dummy-ups re-reads it and broadcasts
        dev = self.conf / "ups.dev"
        dev.write_text(
            DEV.replace("battery.charge: 97", "battery.charge: 12").replace("OL CHRG", "OB DISCHRG")
        )
        os.utime(dev, (time.time() + 5, time.time() + 5))
        yield defer.Deferred.fromCoroutine(
            self.wait_until(lambda: link.state.getinfo("battery.charge") == "12")
        )
        self.assertEqual(link.state.getinfo("ups.status"), "OB DISCHRG")
        # and a SET through the link reaches the C driver, with its TRACKING answer
        results: list[tuple[str, int]] = []
        link.on_tracking = lambda i, s: results.append((i, s))
        self.assertTrue(link.setvar("ups.id", "via link", "ID-1"))
        yield defer.Deferred.fromCoroutine(self.wait_until(lambda: results == [("ID-1", 0)]))
        yield defer.Deferred.fromCoroutine(
            self.wait_until(lambda: link.state.getinfo("ups.id") == "via link")
        )
        # killing the driver: not connected at once
        self.proc.stop()
        yield defer.Deferred.fromCoroutine(self.wait_until(lambda: not link.connected))
        self.assertTrue(link.is_stale())
        self.assertIsNone(link.state.getinfo("ups.id"))
        # a new driver: the link reconnects by itself, flushes and dumps again
        self.proc = NutProcess(
            ["/lib/nut/dummy-ups", "-a", "c", "-u", "root", "-F"],
            nut_env(self.conf, self.state),
            self.tmp / "drv2.log",
        )
        self.addCleanup(self.proc.stop)
        yield defer.Deferred.fromCoroutine(
            self.wait_until(lambda: link.connected and link.dumpdone and not link.is_stale())
        )
        self.assertEqual(link.state.getinfo("battery.charge"), "12")


# --- DUMPALL, nutwist vs NUT, on real device dumps ------------------------------------------


def _ours(dev: Path) -> list[str]:
    from twisted.internet.task import Clock

    from nutwist.config.ups import UpsSection
    from nutwist.drivers.dummy_ups import DummyUps
    from nutwist.protocols.sock import format_line

    section = UpsSection("t", 1, values={"driver": "dummy-ups", "port": str(dev)})
    d = DummyUps("t", section, confdir=str(dev.parent), clock=Clock())
    d.start()
    return [format_line(w).decode().rstrip("\n") for w in d.dump()]


def _by_design(lines: list[str]) -> list[str]:
    out = []
    for line in lines:
        words = line.split(" ")
        if len(words) > 1 and (words[1].startswith("driver.") or words[1] == "device.type"):
            continue
        out.append(line)
    return out


SAMPLE = 16


def test_dumpall_matches_nut_on_ddl_sample(tmp_path: Path) -> None:
    require_nut("dummy-ups")
    files = sorted(DDL.rglob("*.dev"))
    if not files:
        pytest.skip("the DDL is not beside the checkout")
    step = max(1, len(files) // SAMPLE)
    chosen = files[::step][:SAMPLE]
    procs = []
    for i, dev in enumerate(chosen):
        conf, state = tmp_path / f"c{i}", tmp_path / f"s{i}"
        conf.mkdir()
        state.mkdir()
        shutil.copy(dev, conf / "x.dev")
        (conf / "ups.conf").write_text("[t]\n driver = dummy-ups\n port = x.dev\n")
        procs.append(
            NutProcess(
                ["/lib/nut/dummy-ups", "-a", "t", "-u", "root", "-F"],
                nut_env(conf, state),
                tmp_path / f"{i}.log",
            )
        )
    try:
        for i, dev in enumerate(chosen):
            sock = tmp_path / f"s{i}" / "dummy-ups-t"
            wait_for_socket(sock, probe=False)
            assert _by_design(dumpall(sock)) == _by_design(_ours(dev)), dev.name
    finally:
        for p in procs:
            p.stop()


def test_every_ddl_dump_loads_without_a_crash() -> None:
    files = sorted(DDL.rglob("*.dev"))
    if not files:
        pytest.skip("the DDL is not beside the checkout")
    assert len(files) > 700
    for dev in files:
        lines = _ours(dev)
        assert lines[-1] == "DUMPDONE" and "DATAOK" in lines, dev.name


# --- upsdrvctl with nutwist's driver and NUT's C clone driver ------------------------------


def test_upsdrvctl_starts_and_stops_a_mix(tmp_path: Path) -> None:
    require_nut("dummy-ups", "clone")
    conf, state = tmp_path / "conf", tmp_path / "state"
    conf.mkdir()
    state.mkdir()
    (conf / "ups.dev").write_text(DEV)
    (conf / "ups.conf").write_text(
        "[src]\n\tdriver = dummy-ups\n\tport = ups.dev\n\tsdorder = 1\n"
        "[copy]\n\tdriver = clone\n\tport = dummy-ups-src\n\tsdorder = 0\n"
    )
    env = nut_env(conf, state)
    upsdrvctl = [sys.executable, "-m", "nutwist.cli.upsdrvctl"]
    dry = subprocess.run(
        [*upsdrvctl, "-t", "-u", "root", "start"], env=env, capture_output=True, text=True
    )
    assert dry.returncode == 0
    assert (
        "/lib/nut/clone -a copy -u root" in dry.stdout
        and "nutwist.cli.driver dummy-ups -a src" in dry.stdout
    )
    # sdorder orders start too: copy (0) before src (1), as NUT's upsdrvctl does
    assert dry.stdout.index("clone") < dry.stdout.index("dummy-ups -a src")
    try:
        # the clone waits for its source, so start the source first
        assert (
            subprocess.run(
                [*upsdrvctl, "-u", "root", "start", "src"], env=env, timeout=120
            ).returncode
            == 0
        )
        assert (
            subprocess.run(
                [*upsdrvctl, "-u", "root", "start", "copy"], env=env, timeout=120
            ).returncode
            == 0
        )
        wait_for_socket(state / "dummy-ups-src")
        wait_for_socket(state / "clone-copy", probe=False)
        peer = DriverPeer(state / "clone-copy")
        deadline = time.monotonic() + 20
        while 'SETINFO ups.id "rack1"' not in peer.dumpall():
            assert time.monotonic() < deadline, "NUT's clone never showed nutwist's data"
            time.sleep(0.3)
        shut = subprocess.run(
            [*upsdrvctl, "-t", "shutdown"], env=env, capture_output=True, text=True
        )
        assert shut.stdout.index("-a copy") < shut.stdout.index("-a src")
        peer.close()
    finally:
        stop = subprocess.run(
            [*upsdrvctl, "stop"], env=env, capture_output=True, text=True, timeout=60
        )
    assert stop.returncode == 0, stop.stderr
    deadline = time.monotonic() + 10
    while (state / "dummy-ups-src").exists() or (state / "clone-copy").exists():
        assert time.monotonic() < deadline, list(state.iterdir())
        time.sleep(0.1)
