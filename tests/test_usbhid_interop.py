"""nutwist's usbhid-ups beside NUT 2.8.0's C usbhid-ups, each on its own fake USB device.

Twin umockdev fakes (tests/support/umockdev_hid.py) serve the same capture to both drivers;
they must publish the same variables, values, commands and writable variables, follow the
same status changes (polled and interrupt reports), send the same SET_REPORTs for commands,
variables and ``-k``, and go stale when the device is unplugged.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support import hidcapture
from tests.support.nut import DriverPeer, NutProcess, have_nut, nut_env, wait_for_socket

pytestmark = pytest.mark.nut

BK650 = hidcapture.DATA / "APC__Back-UPS_BK650M2-CH__usbhid-ups__2.8.0__01.dev"
CAPTURES = [p for p in hidcapture.captures() if p.parent == hidcapture.DATA]
SKIP = ("driver.version", "driver.state", "driver.parameter.synchronous")


def need() -> None:
    if not have_nut("usbhid-ups"):
        pytest.skip("NUT's usbhid-ups not installed (Debian nut-server)")
    if not hidcapture.have_umockdev():
        pytest.skip("umockdev not installed (umockdev, gir1.2-umockdev-1.0, python3-gi)")


def nutwist_cmd() -> list[str]:
    script = Path(sys.executable).with_name("usbhid-ups")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "nutwist.cli.driver", "usbhid-ups"]


def driver_cmd(kind: str) -> list[str]:
    return ["/lib/nut/usbhid-ups"] if kind == "nut" else nutwist_cmd()


def comparable(lines: list[str]) -> list[str]:
    out = []
    for line in lines:
        words = line.split(" ")
        if len(words) > 1 and words[1].startswith(SKIP):
            continue
        out.append(line)
    return out


def wait_until(check: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


class Twin:
    """One driver (NUT's or nutwist's) on its own fake device, in its own directories."""

    def __init__(self, tmp: Path, kind: str, capture: Path, conf_extra: str = "") -> None:
        self.dir = tmp / kind
        self.dir.mkdir()
        self.kind = kind
        self.capture = capture
        self.control_file = self.dir / "control.json"
        self.control_file.write_text("{}")
        self.log = self.dir / "fake.log"
        (self.dir / "ups.conf").write_text(
            f"[ups]\n\tdriver = usbhid-ups\n\tport = auto\n{conf_extra}"
        )
        self.env = nut_env(self.dir, self.dir)
        self.proc: NutProcess | None = None
        self.peer: DriverPeer | None = None
        self.ctl: dict[str, object] = {}

    def start(self) -> None:
        argv = hidcapture.fake_argv(
            self.capture,
            [*driver_cmd(self.kind), "-a", "ups", "-u", "root", "-F"],
            self.control_file,
            self.log,
        )
        self.proc = NutProcess(argv, self.env, self.dir / "driver.log")
        wait_for_socket(self.dir / "usbhid-ups-ups", timeout=30, probe=False)
        self.peer = DriverPeer(self.dir / "usbhid-ups-ups")
        wait_until(lambda: "DATAOK" in self.dump())

    def dump(self) -> list[str]:
        assert self.peer is not None
        return self.peer.dumpall()

    def status(self) -> str | None:
        for line in self.dump():
            if line.startswith("SETINFO ups.status "):
                return line.split(" ", 2)[2].strip('"')
        return None

    def control(self, **changes: object) -> None:
        self.ctl.update(changes)
        tmp = self.control_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.ctl))
        os.replace(tmp, self.control_file)

    def send(self, line: str) -> None:
        assert self.peer is not None
        self.peer.sock.sendall(line.encode() + b"\n")

    def set_reports(self) -> list[str]:
        if not self.log.exists():
            return []
        return [x for x in self.log.read_text().splitlines() if x.startswith("SET_REPORT")]

    def stop(self) -> None:
        if self.peer is not None:
            self.peer.close()
        if self.proc is not None:
            self.proc.stop()


@pytest.fixture
def twins(tmp_path: Path) -> Iterator[Callable[..., tuple[Twin, Twin]]]:
    need()
    made: list[Twin] = []

    def start(capture: Path = BK650, conf_extra: str = "") -> tuple[Twin, Twin]:
        nut = Twin(tmp_path, "nut", capture, conf_extra)
        ours = Twin(tmp_path, "nutwist", capture, conf_extra)
        made.extend((nut, ours))
        nut.start()
        ours.start()
        return nut, ours

    yield start
    for twin in made:
        twin.stop()


def same(nut: Twin, ours: Twin, timeout: float = 20.0) -> None:
    """Both publish the same thing (they poll at their own pace: wait for them to agree)."""
    last: list[list[str]] = []

    def agree() -> bool:
        a, b = comparable(nut.dump()), comparable(ours.dump())
        last[:] = [a, b]
        return a == b

    try:
        wait_until(agree, timeout)
    except AssertionError:
        assert last[1] == last[0]


@pytest.mark.parametrize("capture", CAPTURES, ids=lambda p: p.stem)
def test_same_variables_values_commands(
    twins: Callable[..., tuple[Twin, Twin]], capture: Path
) -> None:
    nut, ours = twins(capture)
    same(nut, ours)
    assert any(line.startswith("SETINFO ups.status ") for line in ours.dump())


def test_on_battery_then_low_battery(twins: Callable[..., tuple[Twin, Twin]]) -> None:
    nut, ours = twins()
    same(nut, ours)
    for twin in (nut, ours):
        twin.control(reports={"13": "1300", "16": "160a"})
    wait_until(lambda: nut.status() == "OB DISCHRG" and ours.status() == "OB DISCHRG")
    same(nut, ours)
    for twin in (nut, ours):
        twin.control(reports={"13": "1300", "16": "160a", "14": "1401"})
    wait_until(lambda: nut.status() == "OB DISCHRG LB" and ours.status() == "OB DISCHRG LB")
    same(nut, ours)


def test_interrupt_report_switches_to_battery(twins: Callable[..., tuple[Twin, Twin]]) -> None:
    nut, ours = twins()
    seen: dict[str, set[str | None]] = {"nut": set(), "nutwist": set()}
    for twin in (nut, ours):
        twin.control(interrupt=["1300"])

    def both_saw() -> bool:
        for twin in (nut, ours):
            seen[twin.kind].add(twin.status())
        return all("OB DISCHRG" in s for s in seen.values())

    wait_until(both_saw)
    for twin in (nut, ours):
        assert "INTERRUPT 1300" in twin.log.read_text()


COMMANDS = [
    "INSTCMD beeper.enable",
    "INSTCMD beeper.disable",
    "INSTCMD test.battery.start.quick",
    "INSTCMD shutdown.stop",
    "INSTCMD load.off",
    "SET battery.charge.low 40",
    "SET input.sensitivity high",
    "SET input.transfer.low 170",
    "SET ups.delay.shutdown 60",
    "INSTCMD load.off.delay",
]


def test_commands_and_variables_send_the_same_set_reports(
    twins: Callable[..., tuple[Twin, Twin]],
) -> None:
    nut, ours = twins()
    for command in COMMANDS:
        for twin in (nut, ours):
            twin.send(command)
    # every command but the server-side ups.delay.shutdown writes one report
    wait_until(lambda: len(nut.set_reports()) >= 9 and len(ours.set_reports()) >= 9)
    assert ours.set_reports() == nut.set_reports()
    same(nut, ours)


def run_kill(tmp: Path, kind: str, capture: Path) -> tuple[int, list[str]]:
    d = tmp / f"k-{kind}"
    d.mkdir()
    (d / "ups.conf").write_text("[ups]\n\tdriver = usbhid-ups\n\tport = auto\n")
    log = d / "fake.log"
    argv = hidcapture.fake_argv(
        capture, [*driver_cmd(kind), "-a", "ups", "-u", "root", "-k"], None, log
    )
    done = subprocess.run(argv, env=nut_env(d, d), capture_output=True, timeout=60)
    sets = (
        [x for x in log.read_text().splitlines() if x.startswith("SET_REPORT")]
        if log.exists()
        else []
    )
    return done.returncode, sets


@pytest.mark.parametrize("capture", CAPTURES, ids=lambda p: p.stem)
def test_kill_power_sends_the_same_set_reports(tmp_path: Path, capture: Path) -> None:
    need()
    nut = run_kill(tmp_path, "nut", capture)
    ours = run_kill(tmp_path, "nutwist", capture)
    assert ours == nut


def test_unplug_goes_stale_replug_comes_back(tmp_path: Path) -> None:
    """Stale while unplugged, data back once plugged in again, without a restart.

    (NUT's C driver goes stale too, but under umockdev its libusb finds no bus after the
    device comes back, so only nutwist's is followed through.)"""
    need()
    ours = Twin(tmp_path, "nutwist", BK650)
    try:
        ours.start()
        ours.control(unplugged=True)
        wait_until(lambda: "DATASTALE" in ours.dump())
        ours.control(unplugged=False, reports={"0c": "0c3c"})
        wait_until(lambda: "DATAOK" in ours.dump())
        wait_until(lambda: 'SETINFO battery.charge "60"' in ours.dump(), 45)
    finally:
        ours.stop()


@pytest.mark.skipif(shutil.which("umockdev-run") is None, reason="umockdev not installed")
def test_help_lists_nuts_options() -> None:
    out = subprocess.run([*nutwist_cmd(), "-h"], capture_output=True, text=True, timeout=30).stdout
    for option in ("vendorid", "productid", "pollfreq", "pollonly", "explore", "offdelay"):
        assert option in out


def test_no_matching_device_exits_1_as_nut(tmp_path: Path) -> None:
    need()
    results = []
    for kind in ("nut", "nutwist"):
        d = tmp_path / kind
        d.mkdir()
        (d / "ups.conf").write_text(
            "[ups]\n\tdriver = usbhid-ups\n\tport = auto\n\tvendorid = 1234\n"
        )
        argv = hidcapture.fake_argv(BK650, [*driver_cmd(kind), "-a", "ups", "-u", "root"])
        done = subprocess.run(argv, env=nut_env(d, d), capture_output=True, text=True, timeout=60)
        results.append((done.returncode, "No matching HID UPS found" in done.stderr))
    assert results == [(1, True), (1, True)]


def test_in_process_under_nutwist_upsd(tmp_path: Path) -> None:
    """``driver = usbhid-ups`` in ups.conf: nutwist's upsd runs it in-process; NUT's upsc
    reads the same variables as from NUT's upsd and C driver."""
    need()
    from tests.support.nut import free_port, nutwist_upsd_argv, wait_for_port

    outputs = []
    procs: list[NutProcess] = []
    try:
        for kind in ("nut", "nutwist"):
            d = tmp_path / kind
            d.mkdir()
            port = free_port()
            (d / "ups.conf").write_text("[ups]\n\tdriver = usbhid-ups\n\tport = auto\n")
            (d / "upsd.conf").write_text(f"LISTEN 127.0.0.1 {port}\n")
            (d / "upsd.users").write_text("")
            env = nut_env(d, d)
            if kind == "nut":
                drv = hidcapture.fake_argv(
                    BK650, ["/lib/nut/usbhid-ups", "-a", "ups", "-u", "root", "-F"]
                )
                procs.append(NutProcess(drv, env, d / "driver.log"))
                wait_for_socket(d / "usbhid-ups-ups", timeout=30, probe=False)
                procs.append(NutProcess(["/lib/nut/upsd", "-u", "root", "-F"], env, d / "upsd.log"))
            else:
                argv = hidcapture.fake_argv(BK650, nutwist_upsd_argv(d, d))
                procs.append(NutProcess(argv, env, d / "upsd.log"))
            wait_for_port(port)

            def listing(port: int = port) -> list[str]:
                out = subprocess.run(
                    ["upsc", f"ups@127.0.0.1:{port}"], capture_output=True, text=True, timeout=10
                ).stdout
                return [line for line in out.splitlines() if not line.startswith(SKIP)]

            seen: list[list[str]] = [[]]

            def settled(
                listing: Callable[[], list[str]] = listing, seen: list[list[str]] = seen
            ) -> bool:
                now = listing()
                done = now == seen[0] and any(x.startswith("ups.model:") for x in now)
                seen[0] = now
                return done

            wait_until(settled, 40)
            outputs.append(seen[0])
    finally:
        for p in procs:
            p.stop()
    assert outputs[1] == outputs[0], (tmp_path, outputs)


def _status_report(capture: Path, bits: dict[str, int]) -> dict[str, str]:
    """The device's status reports with these PresentStatus bits changed (by usage name)."""
    from nutwist.drivers.hid import parser
    from nutwist.drivers.hid.subdrivers import SUBDRIVERS

    cap = hidcapture.load(capture)
    assert cap is not None
    desc = parser.parse(cap.rdesc)
    names = parser.PathNames(*(t for sub in SUBDRIVERS for t in sub.usages))
    out: dict[int, bytearray] = {}
    for field in desc.items:
        if field.type != parser.ITEM_FEATURE:
            continue
        name = names.path_to_string(field.path).split(".")[-1]
        if name not in bits:
            continue
        rid = field.report_id
        buf = out.setdefault(rid, bytearray(cap.reports.get(rid, bytes([rid]))))
        buf.extend(bytes(max(0, desc.replen[rid] + 1 - len(buf))))
        parser.set_value(field, buf, bits[name])
    return {f"{rid:02x}": bytes(buf).hex() for rid, buf in out.items()}


SYNTH = [p for p in CAPTURES if p.name.endswith(".synth.json")]


@pytest.mark.parametrize("capture", SYNTH, ids=lambda p: p.stem)
def test_synthesized_devices_switch_to_battery_alike(
    twins: Callable[..., tuple[Twin, Twin]], capture: Path
) -> None:
    nut, ours = twins(capture)
    same(nut, ours)
    on_battery = _status_report(
        capture, {"ACPresent": 0, "Discharging": 1, "Charging": 0, "BelowRemainingCapacityLimit": 1}
    )
    assert on_battery
    before = nut.status()
    for twin in (nut, ours):
        twin.control(reports=on_battery)
    try:
        wait_until(lambda: nut.status() != before, 15)
    except AssertionError:
        # (PowerCOM's own status words, read after these bits, keep it on line)
        pass
    same(nut, ours, 30)
    assert ours.status() == nut.status()


def _tracked(twin: Twin, lines: list[str], timeout: float = 60.0) -> dict[str, str]:
    """Send each line with a TRACKING id; the statuses the driver answers, by id."""
    assert twin.peer is not None
    sock = twin.peer.sock
    for n, line in enumerate(lines):
        sock.sendall(f"{line} TRACKING t{n}\n".encode())
    answers: dict[str, str] = {}
    buf = b""
    deadline = time.monotonic() + timeout
    while len(answers) < len(lines) and time.monotonic() < deadline:
        chunk = sock.recv(65536)
        if not chunk:
            break
        buf += chunk
        *done, buf = buf.split(b"\n")
        for raw in done:
            words = raw.decode(errors="replace").split()
            if len(words) == 3 and words[0] == "TRACKING":
                answers[words[1]] = words[2]
    return answers


@pytest.mark.parametrize("capture", CAPTURES, ids=lambda p: p.stem)
def test_every_command_and_writable_variable_alike(
    twins: Callable[..., tuple[Twin, Twin]], capture: Path
) -> None:
    """Every command the device offers, and every writable variable set to its own value:
    the same answers and the same SET_REPORTs from both drivers."""
    nut, ours = twins(capture)
    same(nut, ours)
    dump = nut.dump()
    lines = [f"INSTCMD {x.split()[1]}" for x in dump if x.startswith("ADDCMD ")]
    values = {x.split()[1]: x.split(" ", 2)[2] for x in dump if x.startswith("SETINFO ")}
    # NUT turns ups.date/ups.time back into seconds with a struct tm whose DST flag it never
    # sets: its SET_REPORT for them can be an hour off from one run to the next
    unsteady = {"ups.date", "ups.time"}
    for x in dump:
        if x.startswith("SETFLAGS ") and "RW" in x.split()[2:] and x.split()[1] not in unsteady:
            lines.append(f"SET {x.split()[1]} {values[x.split()[1]]}")
    if not lines:
        pytest.skip("this device has neither commands nor writable variables")
    answers = [_tracked(twin, lines) for twin in (nut, ours)]
    assert len(answers[0]) == len(lines)
    assert answers[1] == answers[0]
    assert ours.set_reports() == nut.set_reports()
