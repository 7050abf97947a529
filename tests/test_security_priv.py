"""Privileges as NUT is really run: as root, every daemon becoming the ``nut`` user.

Real processes on loopback, in temp dirs that ``nut`` can traverse.  Each test
reproduces one defect of the review (issue 20): a driver socket created by root
and chmod'ed through a planted link, a drop-in set-up whose upsd (as ``nut``)
could not reach its drivers, Twisted's retry chatter instead of NUT's log line,
notifications run as root, upsmon's helper holding the caller's pipe, and
lazily-loaded code (the ``idna`` codec) that ``nut`` cannot load after the switch.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.nut import free_port, have_nut, require_nut, wait_for_port

BIN = Path(sys.executable).parent
NUT_LIB = Path("/lib/nut")


def _nut_ids() -> tuple[int, int] | None:
    try:
        pw = pwd.getpwnam("nut")
    except KeyError:
        return None
    return pw.pw_uid, pw.pw_gid


NUT = _nut_ids()
pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or NUT is None, reason="needs root and a 'nut' user (as NUT runs)"
)


def wait_until(cond: Callable[[], object], timeout: float = 20, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.05)
    raise AssertionError(f"{what} never became true")


class Site:
    """A confdir and a statepath as Debian lays them out: root:nut, nut may write state."""

    def __init__(self, top: Path) -> None:
        assert NUT is not None
        self.top = top
        self.conf = top / "conf"
        self.state = top / "state"
        self.out = top / "out"
        self.conf.mkdir()
        self.state.mkdir()
        self.out.mkdir()
        os.chown(self.state, 0, NUT[1])
        self.state.chmod(0o770)
        os.chown(self.out, NUT[0], NUT[1])
        self.out.chmod(0o777)
        self.conf.chmod(0o755)
        self.port = free_port()
        self.procs: list[subprocess.Popen[bytes]] = []

    def write(self, name: str, text: str, mode: int = 0o640) -> Path:
        assert NUT is not None
        path = self.conf / name
        path.write_text(text)
        os.chown(path, 0, NUT[1])
        path.chmod(mode)
        return path

    def env(self, **extra: str) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            NUT_CONFPATH=str(self.conf),
            NUT_STATEPATH=str(self.state),
            NUT_ALTPIDPATH=str(self.state),
            **extra,
        )
        return env

    def run(
        self, argv: list[str], timeout: float = 30, **kw: object
    ) -> subprocess.CompletedProcess:
        return subprocess.run(
            argv, env=self.env(), capture_output=True, text=True, timeout=timeout, **kw
        )  # type: ignore[call-overload]

    def start(self, argv: list[str], log: str, env: dict[str, str] | None = None) -> Path:
        path = self.top / log
        proc = subprocess.Popen(
            argv,
            env=env or self.env(),
            stdout=path.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.procs.append(proc)
        return path

    def ups(self, name: str = "u1", status: str = "OL") -> None:
        self.write("ups.conf", f"[{name}]\n\tdriver = dummy-ups\n\tport = {name}.dev\n")
        self.write(f"{name}.dev", f"ups.status: {status}\nbattery.charge: 100\n", 0o644)
        self.write("upsd.conf", f"LISTEN 127.0.0.1 {self.port}\n")
        self.write("upsd.users", "[mon]\n\tpassword = pw\n\tupsmon primary\n")

    def upsmon_conf(self, name: str = "u1", extra: str = "") -> Path:
        notify = self.top / "notify.sh"
        notify.write_text(f'#!/bin/sh\necho "$NOTIFYTYPE $(id -u)" >> {self.out}/notify.log\n')
        notify.chmod(0o755)
        return self.write(
            "upsmon.conf",
            f"MONITOR {name}@127.0.0.1:{self.port} 1 mon pw primary\n"
            "POLLFREQ 1\nPOLLFREQALERT 1\nFINALDELAY 0\n"
            f'SHUTDOWNCMD "echo shutdown >> {self.out}/shutdown.log"\n'
            f"NOTIFYCMD {notify}\nNOTIFYFLAG ONBATT SYSLOG+WALL+EXEC\n"
            f"POWERDOWNFLAG {self.top}/killpower\n" + extra,
        )

    def notified(self) -> list[tuple[str, int]]:
        log = self.out / "notify.log"
        if not log.exists():
            return []
        return [(w[0], int(w[1])) for w in (ln.split() for ln in log.read_text().splitlines())]

    def stop(self) -> None:
        for pidfile in sorted(self.state.glob("*.pid")):
            try:
                os.kill(int(pidfile.read_text().split()[0]), signal.SIGTERM)
            except (OSError, ValueError):
                pass
        for proc in self.procs:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)


@pytest.fixture
def site() -> Iterator[Site]:
    top = Path(tempfile.mkdtemp(prefix="nutwist-priv-", dir="/tmp"))
    top.chmod(0o755)
    s = Site(top)
    try:
        yield s
    finally:
        s.stop()
        shutil.rmtree(top, ignore_errors=True)


def upsc(site: Site, ups: str = "u1") -> subprocess.CompletedProcess:
    return site.run([str(BIN / "upsc"), f"{ups}@127.0.0.1:{site.port}", "ups.status"])


def answers(site: Site, want: str = "OL") -> bool:
    return upsc(site).stdout.strip() == want


# --- 6: the driver socket ----------------------------------------------------------


def test_a_link_planted_at_the_socket_path_is_never_followed(site: Site) -> None:
    """nut owns the state directory: while the driver binds, nut swaps its socket for
    a link to a root:nut 0640 file.  The file keeps its mode, owner and content."""
    assert NUT is not None
    site.ups()
    secret = site.write("upsmon.conf", "SHUTDOWNCMD /sbin/poweroff\n", 0o640)
    sock = site.state / "dummy-ups-u1"
    sock.symlink_to(secret)  # a link there before the driver starts, too
    # widen the window between bind() and what follows, as the review did
    hook = site.top / "hook"
    hook.mkdir(mode=0o755)
    (hook / "sitecustomize.py").write_text(
        "import os, socket, time\n"
        "_bind = socket.socket.bind\n"
        "def bind(self, addr):\n"
        "    _bind(self, addr)\n"
        "    if isinstance(addr, (str, bytes)) and os.fsdecode(addr).endswith('dummy-ups-u1'):\n"
        "        time.sleep(1.0)\n"
        "socket.socket.bind = bind\n"
    )
    # the attacker, as nut: whenever a socket appears there, replace it with the link
    attacker = subprocess.Popen(
        [
            "/bin/sh",
            "-c",
            f'while :; do if [ -S "{sock}" ]; then rm -f "{sock}"; ln -s "{secret}" "{sock}"; fi; '
            "sleep 0.005; done",
        ],
        user=NUT[0],
        group=NUT[1],
        extra_groups=[],
        start_new_session=True,
    )
    try:
        env = site.env(PYTHONPATH=str(hook))
        rc = subprocess.run(
            [str(BIN / "dummy-ups"), "-a", "u1"], env=env, capture_output=True, timeout=30
        ).returncode
        time.sleep(0.3)  # let the attacker see the socket too, if there is one
    finally:
        os.killpg(attacker.pid, signal.SIGKILL)
        attacker.wait()
    st = os.stat(secret)
    assert stat.S_IMODE(st.st_mode) == 0o640, oct(st.st_mode)
    assert (st.st_uid, st.st_gid) == (0, NUT[1])
    assert secret.read_text() == "SHUTDOWNCMD /sbin/poweroff\n"
    assert rc in (0, 1)


def test_a_link_planted_at_a_pid_file_is_replaced_not_written_through(site: Site) -> None:
    """The state directory is nut's: a daemon that stays root (``-u root``) must not
    write its pid through a link nut left there."""
    assert NUT is not None
    site.ups()
    secret = site.write("upsmon.conf", "SHUTDOWNCMD /sbin/poweroff\n", 0o640)
    for name in ("upsd.pid", "dummy-ups-u1.pid"):
        link = site.state / name
        link.symlink_to(secret)
        os.lchown(link, NUT[0], NUT[1])
    r = site.run([str(BIN / "dummy-ups"), "-a", "u1", "-u", "root"])
    assert r.returncode == 0, r.stderr
    r = site.run([str(BIN / "upsd"), "-u", "root"])
    assert r.returncode == 0, r.stderr
    wait_until(lambda: answers(site), 15, "upsc answering OL")
    assert secret.read_text() == "SHUTDOWNCMD /sbin/poweroff\n"
    for name in ("upsd.pid", "dummy-ups-u1.pid"):
        assert not (site.state / name).is_symlink()
        assert int((site.state / name).read_text()) > 1


def test_the_driver_socket_belongs_to_the_run_as_user(site: Site) -> None:
    """As NUT's drivers started by root: the socket is nut:nut 0660."""
    assert NUT is not None
    site.ups()
    r = site.run([str(BIN / "dummy-ups"), "-a", "u1"])
    assert r.returncode == 0, r.stderr
    st = os.lstat(site.state / "dummy-ups-u1")
    assert stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o660
    assert (st.st_uid, st.st_gid) == NUT


def test_dropin_upsdrvctl_then_upsd_as_root(site: Site) -> None:
    """``upsdrvctl start; upsd`` as root: both become nut, and upsc gets answers."""
    site.ups()
    r = site.run([str(BIN / "upsdrvctl"), "start"])
    assert r.returncode == 0, r.stderr
    r = site.run([str(BIN / "upsd")])
    assert r.returncode == 0, r.stderr
    wait_for_port(site.port)
    wait_until(lambda: answers(site), 15, "upsc answering OL")
    upsd_pid = int((site.state / "upsd.pid").read_text())
    assert os.stat(f"/proc/{upsd_pid}").st_uid == NUT[0]  # type: ignore[index]


@pytest.mark.nut
@pytest.mark.parametrize("which", ["nut-upsd+nutwist-driver", "nutwist-upsd+nut-driver"])
def test_dropin_mixed_with_nut_programs(site: Site, which: str) -> None:
    """NUT's C upsd reads nutwist's driver socket, nutwist's upsd NUT's C driver's,
    every daemon started by root without -u (so as nut)."""
    require_nut("upsd", "dummy-ups")
    site.ups()
    if which.startswith("nut-upsd"):
        r = site.run([str(BIN / "upsdrvctl"), "start"])
        assert r.returncode == 0, r.stderr
        site.start([str(NUT_LIB / "upsd"), "-F"], "upsd.log")
    else:
        site.start([str(NUT_LIB / "dummy-ups"), "-a", "u1", "-F"], "driver.log")
        wait_until((site.state / "dummy-ups-u1").exists, 15, "NUT's driver socket")
        r = site.run([str(BIN / "upsd")])
        assert r.returncode == 0, r.stderr
    wait_for_port(site.port)
    wait_until(lambda: answers(site), 15, f"upsc answering OL ({which})")


@pytest.mark.nut
def test_an_unreachable_driver_is_logged_as_nut_does(site: Site) -> None:
    """A root-only driver socket: upsd (nut) says NUT's one line, with the errno text."""
    site.ups()
    r = site.run([str(BIN / "dummy-ups"), "-a", "u1", "-u", "root"])
    assert r.returncode == 0, r.stderr
    log = site.start([str(BIN / "upsd"), "-F"], "upsd.log")
    wait_for_port(site.port)
    line = "Can't connect to UPS [u1] (dummy-ups-u1): Permission denied"
    wait_until(lambda: line in log.read_text(), 10, "NUT's connect failure line")
    time.sleep(3)  # several retries' worth: still one line, no reconnect chatter
    text = log.read_text()
    assert text.count(line) == 1, text
    assert "Scheduling retry" not in text and "Failed to connect" not in text, text
    if have_nut("upsd"):
        # NUT's C upsd says the same line in the same situation
        proc = site.procs.pop()
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(10)
        nut_log = site.start([str(NUT_LIB / "upsd"), "-F"], "nut-upsd.log")
        wait_until(lambda: line in nut_log.read_text(), 10, "NUT's own line")


# --- also: notifications never run as root ---------------------------------------


@pytest.mark.parametrize("how", ["twistd standalone", "twistd nut-monitor", "upsmon"])
def test_notifications_never_run_as_root(site: Site, how: str) -> None:
    """NOTIFYCMD and wall run as nut (RUN_AS_USER unset), however upsmon is run."""
    assert NUT is not None
    site.ups(status="OB")
    site.upsmon_conf()
    fake = site.top / "bin"
    fake.mkdir(mode=0o755)
    (fake / "wall").write_text(
        f'#!/bin/sh\ncat >/dev/null; echo "WALL $(id -u)" >> {site.out}/notify.log\n'
    )
    (fake / "wall").chmod(0o755)
    env = site.env(PATH=f"{fake}:{os.environ.get('PATH', '/usr/bin:/bin')}")
    twistd = [str(BIN / "twistd"), "--pidfile=", "-n"]
    if how == "twistd standalone":
        argv = [
            *twistd,
            "nut",
            "standalone",
            "--confdir",
            str(site.conf),
            "--statepath",
            str(site.state),
        ]
    else:
        r = site.run([str(BIN / "upsdrvctl"), "start"])
        assert r.returncode == 0, r.stderr
        site.start([str(BIN / "upsd"), "-F"], "upsd.log")
        wait_for_port(site.port)
        if how == "twistd nut-monitor":
            argv = [*twistd, "nut-monitor", "--confdir", str(site.conf)]
        else:
            argv = [str(BIN / "upsmon"), "-F"]
    log = site.start(argv, "monitor.log", env=env)
    wait_until(lambda: len(site.notified()) >= 2, 30, f"ONBATT notified ({how})")
    got = site.notified()
    assert {t for t, _ in got} >= {"ONBATT", "WALL"}, (got, log.read_text())
    assert {uid for _, uid in got} == {NUT[0]}, (got, log.read_text())


def test_upsmon_p_keeps_root_for_shutdowncmd_only(site: Site) -> None:
    """``upsmon -p`` is NUT's one big root process: SHUTDOWNCMD runs as root (it must
    be able to shut down), its notifications still run as nut."""
    assert NUT is not None
    site.ups()
    site.upsmon_conf()
    conf = site.conf / "upsmon.conf"
    text = (
        conf.read_text().replace("echo shutdown >>", "id -u >>")
        + "NOTIFYFLAG SHUTDOWN SYSLOG+EXEC\n"
    )
    site.write("upsmon.conf", text)
    r = site.run([str(BIN / "upsdrvctl"), "start"])
    assert r.returncode == 0, r.stderr
    upsd_log = site.start([str(BIN / "upsd"), "-F"], "upsd.log")
    wait_for_port(site.port)
    log = site.start([str(BIN / "upsmon"), "-p", "-F"], "upsmon.log")
    wait_until(lambda: "logged into UPS [u1]" in upsd_log.read_text(), 20, "upsmon's login")
    pid = site.procs[-1].pid
    r = site.run([str(BIN / "upsmon"), "-c", "fsd", "-P", str(pid)])
    assert r.returncode == 0, r.stderr
    shut = site.out / "shutdown.log"
    wait_until(shut.exists, 20, "SHUTDOWNCMD")
    wait_until(lambda: site.notified(), 10, "SHUTDOWN notified")
    assert shut.read_text().split() == ["0"], log.read_text()
    assert {uid for _, uid in site.notified()} == {NUT[0]}, log.read_text()
    assert "running as one big root process by request (upsmon -p)" in log.read_text()


# --- also: upsmon's helper holds no pipe of the caller's -----------------------------


def test_upsmon_in_the_background_leaves_no_pipe_open(site: Site) -> None:
    """``upsmon | cat`` ends once upsmon is in the background; nothing is printed on
    the pipe, then or at ``upsmon -c stop``; the helper ends with the monitor."""
    site.ups()
    site.upsmon_conf()
    r = site.run([str(BIN / "upsdrvctl"), "start"])
    assert r.returncode == 0, r.stderr
    site.start([str(BIN / "upsd"), "-F"], "upsd.log")
    wait_for_port(site.port)
    proc = subprocess.Popen(
        f"{BIN / 'upsmon'} 2>&1 | cat > {site.top}/pipe.out",
        shell=True,
        env=site.env(),
        start_new_session=True,
    )
    try:
        rc = proc.wait(20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        rc = None
    pidfile = site.state / "upsmon.pid"
    wait_until(pidfile.exists, 10, "upsmon's pid file")
    pid = int(pidfile.read_text())
    helpers = [int(p) for p in os.listdir("/proc") if p.isdigit() and _ppid(int(p)) == pid]
    assert rc == 0, "upsmon | cat never ended: something kept the pipe open"
    stop = site.run([str(BIN / "upsmon"), "-c", "stop"])
    assert stop.returncode == 0, stop.stderr
    wait_until(lambda: not os.path.exists(f"/proc/{pid}"), 10, "upsmon gone")
    wait_until(lambda: not any(os.path.exists(f"/proc/{h}") for h in helpers), 10, "helper gone")
    out = (site.top / "pipe.out").read_text()
    assert "Traceback" not in out and "Exception" not in out, out


def _ppid(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return -1


# --- also: what is loaded lazily is loaded before the switch -------------------------


def _nut_can_read(path: str) -> bool:
    assert NUT is not None
    r = subprocess.run(
        ["/usr/bin/test", "-r", path, "-a", "-x", os.path.dirname(path)],
        user=NUT[0],
        group=NUT[1],
        extra_groups=[],
    )
    return r.returncode == 0


def test_upsmon_as_nut_polls_though_python_is_unreadable_to_nut(site: Site) -> None:
    """A Python nut cannot read (pyenv under /root here): upsmon still logs in and
    polls, with no ``unknown encoding: idna`` after the switch."""
    import encodings.idna

    if _nut_can_read(encodings.idna.__file__):
        pytest.skip("nut can read this Python's library: nothing to load early")
    site.ups()
    site.upsmon_conf()
    r = site.run([str(BIN / "upsdrvctl"), "start"])
    assert r.returncode == 0, r.stderr
    upsd_log = site.start([str(BIN / "upsd"), "-F"], "upsd.log")
    wait_for_port(site.port)
    log = site.start([str(BIN / "upsmon"), "-F"], "upsmon.log")
    wait_until(lambda: "logged into UPS [u1]" in upsd_log.read_text(), 20, "upsmon's login")
    time.sleep(2.5)  # two more polls
    text = log.read_text()
    assert "LookupError" not in text and "idna" not in text, text


@pytest.mark.parametrize("program", ["upsd", "dummy-ups"])
def test_a_state_path_the_run_as_user_cannot_enter_fails_at_start(site: Site, program: str) -> None:
    """As NUT's upsd and drivers: one line, exit 1, not a daemon that cannot work."""
    site.ups()
    site.state.chmod(0o700)
    argv = [str(BIN / program)] + (["-a", "u1"] if program == "dummy-ups" else [])
    r = site.run(argv, timeout=20)
    assert r.returncode == 1, r.stderr
    assert f"Can't chdir to {site.state}: Permission denied" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr


def test_a_run_as_user_that_cannot_be_used_fails_at_start(site: Site) -> None:
    """One line and a non-zero exit, not a daemon that fails later."""
    site.ups()
    site.upsmon_conf(extra="RUN_AS_USER nutwist-no-such-user\n")
    r = site.run([str(BIN / "upsmon")], timeout=20)
    assert r.returncode != 0
    errors = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert errors[-1:] == ["Fatal error: user nutwist-no-such-user not found"], r.stderr
    assert "Traceback" not in r.stderr
