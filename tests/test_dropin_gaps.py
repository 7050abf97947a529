"""What a NUT administrator hits when swapping NUT's programs for nutwist's (issue 21, gaps 1-4, 9).

Where NUT is involved, NUT 2.8.0's own program runs in the same test on the same files
and nutwist's output is compared with it.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.nut import (
    NUT_LIB,
    ROOT,
    DriverPeer,
    free_port,
    nut_env,
    require_nut,
    wait_for_port,
    wait_for_socket,
)
from twisted.internet.task import Clock

from nutwist.config.ups import UpsSection
from nutwist.drivers.dummy_ups import DummyUps

PY = sys.executable


def run(argv: list[str], env: dict[str, str], **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60, cwd=ROOT, **kw)  # type: ignore[call-overload, no-any-return]


def nutwist(cmd: str, *args: str) -> list[str]:
    return [PY, "-m", f"nutwist.cli.{cmd}", *args]


@pytest.fixture
def dirs(tmp_path: Path) -> tuple[Path, Path, dict[str, str]]:
    conf, state = tmp_path / "c", tmp_path / "s"
    conf.mkdir()
    state.mkdir()
    (conf / "u.dev").write_text("ups.status: OL\nbattery.charge: 90\n")
    (conf / "ups.conf").write_text("[u]\n\tdriver = dummy-ups\n\tport = u.dev\n")
    (conf / "upsd.users").write_text("[a]\n\tpassword = p\n\tupsmon secondary\n")
    for f in conf.iterdir():
        f.chmod(0o640)
    return conf, state, nut_env(conf, state)


def upsd_outcome(argv: list[str], env: dict[str, str], port: int) -> tuple[str, str]:
    """Start a upsd in the foreground: ("runs", output) once it answers, or ("exit N", output)."""
    log = Path(env["NUT_STATEPATH"]) / f"upsd-{port}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            argv, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True
        )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                return f"exit {proc.returncode}", log.read_text()
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return "runs", log.read_text()
            except OSError:
                time.sleep(0.05)
        raise TimeoutError(f"{argv[0]} neither answered nor exited")
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


NUTWIST_UPSD = [PY, "-m", "nutwist.cli.upsd", "-F", "-u", "root"]
NUT_UPSD = [str(NUT_LIB / "upsd"), "-F", "-u", "root"]


# --- gap 1: LISTEN with duplicates of localhost -------------------------------------------


@pytest.mark.nut
def test_listen_localhost_twice_runs_as_nut_does(dirs: tuple[Path, Path, dict[str, str]]) -> None:
    require_nut("upsd")
    conf, _, env = dirs
    outcomes = {}
    for name, argv in (("nut", NUT_UPSD), ("nutwist", NUTWIST_UPSD)):
        port = free_port()
        (conf / "upsd.conf").write_text(f"LISTEN localhost {port}\nLISTEN 127.0.0.1 {port}\n")
        (conf / "upsd.conf").chmod(0o640)
        outcomes[name] = upsd_outcome(argv, env, port)
        # NUT 2.8.0 binds the lines last first, later NUT (and nutwist) in file order
        failed = re.findall(rf"not listening on (\S+) port {port}$", outcomes[name][1], re.M)
        assert len(failed) == 1 and failed[0] in ("localhost", "127.0.0.1"), outcomes[name][1]
    assert outcomes["nut"][0] == outcomes["nutwist"][0] == "runs", outcomes


def test_listen_loopback_duplicates_run(dirs: tuple[Path, Path, dict[str, str]]) -> None:
    conf, _, env = dirs
    port = free_port()
    (conf / "upsd.conf").write_text(
        f"LISTEN 127.0.0.1 {port}\nLISTEN localhost {port}\nLISTEN 127.0.0.1 {port}\n"
    )
    outcome, out = upsd_outcome(NUTWIST_UPSD, env, port)
    assert outcome == "runs", out
    assert out.count("not listening on") == 2, out


@pytest.fixture
def taken() -> Iterator[int]:
    """A port of 127.0.0.2 held by the test: a LISTEN there cannot be bound."""
    s = socket.socket()
    s.bind(("127.0.0.2", 0))
    s.listen(1)
    yield s.getsockname()[1]
    s.close()


def test_listen_on_a_missing_interface_is_refused(
    dirs: tuple[Path, Path, dict[str, str]], taken: int
) -> None:
    conf, _, env = dirs
    port = free_port()
    (conf / "upsd.conf").write_text(f"LISTEN 127.0.0.1 {port}\nLISTEN 127.0.0.2 {taken}\n")
    outcome, out = upsd_outcome(NUTWIST_UPSD, env, port)
    assert outcome == "exit 1", out
    assert f"not listening on 127.0.0.2 port {taken}" in out
    assert "some listening interfaces were not available" in out
    assert "ALLOW_NOT_ALL_LISTENERS" in out and "Traceback" not in out


@pytest.mark.parametrize("where", ["upsd.conf", "environment"])
def test_allow_not_all_listeners_lets_upsd_run(
    dirs: tuple[Path, Path, dict[str, str]], taken: int, where: str
) -> None:
    conf, _, env = dirs
    port = free_port()
    text = f"LISTEN 127.0.0.1 {port}\nLISTEN 127.0.0.2 {taken}\n"
    if where == "upsd.conf":
        text += "ALLOW_NOT_ALL_LISTENERS 1\n"
    else:
        env = {**env, "ALLOW_NOT_ALL_LISTENERS": "true"}
    (conf / "upsd.conf").write_text(text)
    outcome, out = upsd_outcome(NUTWIST_UPSD, env, port)
    assert outcome == "runs", out
    assert "WARNING: some listening interfaces were not available, but the " in out


def test_no_listener_at_all_is_nuts_error(
    dirs: tuple[Path, Path, dict[str, str]], taken: int
) -> None:
    conf, _, env = dirs
    (conf / "upsd.conf").write_text(f"LISTEN 127.0.0.2 {taken}\n")
    outcome, out = upsd_outcome(NUTWIST_UPSD, env, taken)
    assert outcome == "exit 1" and "no listening interface available" in out, out


# --- gap 2: driver.parameter.synchronous -----------------------------------------------


def driver_lines(path: Path, kill: Path) -> list[str]:
    wait_for_socket(path, probe=False)
    peer = DriverPeer(path)
    try:
        return [line for line in peer.dumpall() if line.startswith("SETINFO driver.")]
    finally:
        os.kill(int(kill.read_text()), 15)
        peer.close()


@pytest.mark.nut
@pytest.mark.parametrize("setting", [None, "yes", "no", "on"])
def test_driver_parameters_as_nuts_dummy_ups(
    dirs: tuple[Path, Path, dict[str, str]], setting: str | None
) -> None:
    require_nut("dummy-ups")
    conf, state, env = dirs
    extra = "" if setting is None else f"\tsynchronous = {setting}\n"
    (conf / "ups.conf").write_text(f"[u]\n\tdriver = dummy-ups\n\tport = u.dev\n{extra}")
    sock, pid = state / "dummy-ups-u", state / "dummy-ups-u.pid"
    found = {}
    for name, argv in (
        ("nut", [str(NUT_LIB / "dummy-ups"), "-a", "u", "-u", "root"]),
        ("nutwist", nutwist("driver", "dummy-ups", "-a", "u", "-u", "root")),
    ):
        assert run(argv, env).returncode == 0
        lines = driver_lines(sock, pid)
        found[name] = [
            line
            for line in lines
            if line.startswith("SETINFO driver.parameter.") or "driver.name" in line
        ]
        deadline = time.monotonic() + 10
        while sock.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
    assert found["nutwist"] == found["nut"]
    assert any("driver.parameter.synchronous" in line for line in found["nut"])


@pytest.mark.parametrize(
    ("setting", "published"), [(None, "auto"), ("auto", "auto"), ("yes", "yes"), ("Yes", "no")]
)
def test_synchronous_is_published(tmp_path: Path, setting: str | None, published: str) -> None:
    (tmp_path / "u.dev").write_text("ups.status: OL\n")
    values = {"driver": "dummy-ups", "port": "u.dev"}
    if setting is not None:
        values["synchronous"] = setting
    d = DummyUps("u", UpsSection("u", 1, values=values), confdir=str(tmp_path), clock=Clock())
    d.start()
    assert d.getinfo("driver.parameter.synchronous") == published


# --- gap 3: upsmon.conf typos warn (NUT's words + a suggestion), upsmon runs -------------

TYPOS = """\
MONITOR u@127.0.0.1:{port} 1 a p secondary
MINSUPPLIES 1
SHUTDOWNCMD "/bin/true"
POLFREQ 2
NOTIFYFLAG ONBAT SYSLOG
NOTIFYFLAG ONBATT SYSLG+WALL
NOTIFYMSG ONBAT "x"
NOTIFYFLAG ONBATT
MONITOR v@127.0.0.1:{port} 0 a p slave
POWERDOWNFLAG {flag}
pollfreq 5
"""


def upsmon_k(argv: list[str], env: dict[str, str]) -> tuple[int, list[str]]:
    r = run([*argv, "-K"], env)
    noise = ("PID file", "upsmon.pid", "Network UPS Tools upsmon", "kill: ")
    return r.returncode, [x for x in r.stderr.splitlines() if x and not any(n in x for n in noise)]


@pytest.mark.nut
@pytest.mark.parametrize("flag_text", [None, "upsmon-shutdown-file\n", "something else\n"])
def test_upsmon_warns_in_nuts_words_and_runs(
    dirs: tuple[Path, Path, dict[str, str]], flag_text: str | None
) -> None:
    require_nut("upsmon")
    conf, state, env = dirs
    flag = state / "killpower"
    if flag_text is not None:
        flag.write_text(flag_text)
    path = conf / "upsmon.conf"
    path.write_text(TYPOS.format(port=free_port(), flag=flag))
    path.chmod(0o600)
    nut_rc, nut = upsmon_k([str(NUT_LIB / "upsmon")], env)
    ours_rc, ours = upsmon_k(nutwist("upsmon"), env)
    assert ours_rc == nut_rc == (0 if flag_text and flag_text.startswith("upsmon-") else 1)
    # every line of NUT's, in NUT's order, starts nutwist's line (which may add a hint)
    assert len(ours) == len(nut), (nut, ours)
    for n, o in zip(nut, ours, strict=True):
        assert o.startswith(n), (n, o)
    assert any(line.startswith("UPS: u@") for line in nut)
    assert f"{path} line 4: invalid directive POLFREQ 2 (did you mean POLLFREQ?)" in ours
    assert any("[ONBAT]" in o and "did you mean ONBATT?" in o for o in ours)
    assert any("[SYSLG]" in o and "did you mean SYSLOG?" in o for o in ours)


def test_upsmon_starts_on_a_file_with_typos(dirs: tuple[Path, Path, dict[str, str]]) -> None:
    conf, state, env = dirs
    path = conf / "upsmon.conf"
    path.write_text(TYPOS.format(port=free_port(), flag=state / "killpower"))
    path.chmod(0o600)
    rc, lines = upsmon_k(nutwist("upsmon"), env)
    assert rc == 1 and lines[-1] == "Power down flag is not set", lines
    assert "UPS: v@" in "\n".join(lines) and "(monitoring only)" in "\n".join(lines)
    (state / "killpower").write_text("upsmon-shutdown-file\n")
    rc, lines = upsmon_k(nutwist("upsmon"), env)
    assert rc == 0 and lines[-1] == "Power down flag is set", lines


# --- gap 4: a missing .dev file ----------------------------------------------------------


def reap(state: Path) -> None:
    """End any driver that did start anyway (the bug this guards against)."""
    for pid in state.glob("*.pid"):
        try:
            os.kill(int(pid.read_text()), 15)
        except (OSError, ValueError):
            pass


@pytest.fixture
def reaped(dirs: tuple[Path, Path, dict[str, str]]) -> Iterator[tuple[Path, Path, dict[str, str]]]:
    yield dirs
    reap(dirs[1])


@pytest.mark.nut
def test_missing_dev_file_refused_as_nut(reaped: tuple[Path, Path, dict[str, str]]) -> None:
    require_nut("dummy-ups")
    conf, state, env = reaped
    (conf / "ups.conf").write_text("[u]\n\tdriver = dummy-ups\n\tport = gone.dev\n")
    nut = run([str(NUT_LIB / "dummy-ups"), "-a", "u", "-u", "root"], env)
    ours = run(nutwist("driver", "dummy-ups", "-a", "u", "-u", "root"), env)
    reap(state)
    assert ours.returncode == nut.returncode == 1
    want = f"Can't open dummy-ups definition file {conf}/gone.dev: "
    assert want in nut.stderr
    assert [x for x in ours.stderr.splitlines() if x.startswith(want)] == [
        x for x in nut.stderr.splitlines() if x.startswith(want)
    ]
    nut_ctl = run(["/sbin/upsdrvctl", "-u", "root", "start", "u"], env)
    ours_ctl = run(nutwist("upsdrvctl", "-u", "root", "start", "u"), env)
    assert ours_ctl.returncode == nut_ctl.returncode == 1
    assert "Driver failed to start (exit status=1)" in nut_ctl.stderr
    assert "Driver failed to start (exit status=1)" in ours_ctl.stderr
    assert sorted(p.name for p in state.iterdir()) == []


# --- gap 9: commands ---------------------------------------------------------------------


def test_upsd_chroot_is_refused(dirs: tuple[Path, Path, dict[str, str]]) -> None:
    conf, _, env = dirs
    (conf / "upsd.conf").write_text(f"LISTEN 127.0.0.1 {free_port()}\n")
    r = run([*NUTWIST_UPSD, "-r", str(conf)], env)
    assert r.returncode == 1
    assert "-r (chroot) is not supported" in r.stderr and "Traceback" not in r.stderr


def ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.nut
@pytest.mark.parametrize("flag", ["-4", "-6"])
def test_upsd_address_family_flags_as_nut(
    dirs: tuple[Path, Path, dict[str, str]], flag: str
) -> None:
    require_nut("upsd")
    if not ipv6_loopback():
        pytest.skip("no ::1 here")
    conf, _, env = dirs
    got = {}
    for name, argv in (("nut", NUT_UPSD), ("nutwist", NUTWIST_UPSD)):
        port = free_port()
        (conf / "upsd.conf").write_text(f"LISTEN ::1 {port}\nLISTEN 127.0.0.1 {port}\n")
        (conf / "upsd.conf").chmod(0o640)
        outcome, out = upsd_outcome([*argv, flag], env, port)
        got[name] = (outcome, "getaddrinfo: Address family for hostname not supported" in out)
    assert got["nutwist"] == got["nut"] == ("exit 1", True)


def test_upsd_ipv4_flag_keeps_the_ipv4_loopback(dirs: tuple[Path, Path, dict[str, str]]) -> None:
    if not ipv6_loopback():
        pytest.skip("no ::1 here")
    conf, _, env = dirs
    port = free_port()
    (conf / "upsd.conf").write_text(f"LISTEN localhost {port}\nLISTEN ::1 {port}\n")
    outcome, out = upsd_outcome([*NUTWIST_UPSD, "-4"], env, port)
    assert outcome == "exit 1" and "LISTEN ::1" in out, out
    (conf / "upsd.conf").write_text(f"LISTEN localhost {port}\n")
    assert upsd_outcome([*NUTWIST_UPSD, "-6"], env, port)[0] == "exit 1"
    assert upsd_outcome([*NUTWIST_UPSD, "-4"], env, port)[0] == "runs"


@pytest.mark.nut
def test_upsdrvctl_d_passes_the_debug_level(dirs: tuple[Path, Path, dict[str, str]]) -> None:
    require_nut("upsdrvctl")
    env = dirs[2]
    nut = run(["/sbin/upsdrvctl", "-t", "-D", "-D", "-d", "start", "u"], env)
    ours = run(nutwist("upsdrvctl", "-t", "-D", "-D", "-d", "start", "u"), env)
    nut_exec = re.findall(r"exec:\s+\S+dummy-ups (.*)", nut.stderr)
    ours_exec = re.findall(r"exec: .*dummy-ups (.*)", ours.stdout)
    assert ours_exec == nut_exec == ["-DD -a u"]
    plain = run(nutwist("upsdrvctl", "-t", "-D", "start", "u"), env)
    assert re.findall(r"exec: .*dummy-ups (.*)", plain.stdout) == ["-a u"]


@pytest.mark.nut
def test_dummy_ups_L_lists_variables_as_nut(dirs: tuple[Path, Path, dict[str, str]]) -> None:
    require_nut("dummy-ups")
    env = dirs[2]
    nut = run([str(NUT_LIB / "dummy-ups"), "-L"], env)
    ours = run(nutwist("driver", "dummy-ups", "-L"), env)
    assert ours.returncode == nut.returncode == 0
    shape = re.compile(r'^VALUE \S+ "[^"]*"$')
    for out in (nut.stdout, ours.stdout):
        banner, *rest = out.splitlines()
        assert banner.startswith("Network UPS Tools - ") and rest
        assert all(shape.match(line) for line in rest), rest
    assert any(line.startswith('VALUE mode "') for line in ours.stdout.splitlines())


def test_passwd_without_a_terminal(dirs: tuple[Path, Path, dict[str, str]]) -> None:
    env = dirs[2]
    empty = run(nutwist("main", "passwd"), env, stdin=subprocess.DEVNULL)
    assert empty.returncode == 1 and "Traceback" not in empty.stderr
    assert empty.stderr.strip().splitlines() == ["nutwist passwd: empty password refused"]
    piped = run(nutwist("main", "passwd"), env, input="s3cret\n")
    assert piped.returncode == 0 and piped.stdout.startswith('password = "$scrypt$')


@pytest.fixture
def served(dirs: tuple[Path, Path, dict[str, str]]) -> Iterator[tuple[int, dict[str, str]]]:
    """nutwist's dummy-ups and upsd, for the clients."""
    conf, state, env = dirs
    port = free_port()
    (conf / "upsd.conf").write_text(f"LISTEN 127.0.0.1 {port}\n")
    assert run(nutwist("driver", "dummy-ups", "-a", "u", "-q", "-u", "root"), env).returncode == 0
    assert run(nutwist("upsd", "-u", "root"), env).returncode == 0
    try:
        wait_for_port(port)
        yield port, env
    finally:
        for pid in ("upsd.pid", "dummy-ups-u.pid"):
            try:
                os.kill(int((state / pid).read_text()), 15)
            except (OSError, ValueError):
                pass


def closed_pipe_run(argv: list[str], env: dict[str, str]) -> tuple[int, str]:
    """Run with standard output a pipe whose reader has already gone."""
    r, w = os.pipe()
    os.close(r)
    try:
        p = subprocess.run(
            argv, env=env, stdout=w, stderr=subprocess.PIPE, text=True, timeout=60, cwd=ROOT
        )
    finally:
        os.close(w)
    return p.returncode, p.stderr


CLIENTS = [
    ("upsrw", "u@127.0.0.1:{port}"),
    ("upscmd", "-l u@127.0.0.1:{port}"),
    ("upsc", "u@127.0.0.1:{port}"),
    ("upsc", "-l 127.0.0.1:{port}"),
]


@pytest.mark.parametrize(("prog", "args"), CLIENTS)
def test_clients_end_quietly_on_a_closed_pipe(
    served: tuple[int, dict[str, str]], prog: str, args: str
) -> None:
    port, env = served
    rc, err = closed_pipe_run(nutwist(prog, *args.format(port=port).split()), env)
    assert "Traceback" not in err and "BrokenPipe" not in err, err
    assert rc == (0 if prog == "upsc" else -13)


@pytest.mark.nut
@pytest.mark.parametrize(("prog", "args"), CLIENTS)
def test_clients_closed_pipe_status_as_nut(
    served: tuple[int, dict[str, str]], prog: str, args: str
) -> None:
    require_nut(prog)
    port, env = served
    words = args.format(port=port).split()
    nut_rc, _ = closed_pipe_run([f"/usr/bin/{prog}", *words], env)
    ours_rc, _ = closed_pipe_run(nutwist(prog, *words), env)
    assert ours_rc == nut_rc


@pytest.mark.parametrize(
    ("args", "first"),
    [
        (["nut", "--help"], "Usage: twistd [options] nut {upsd|driver|standalone} [options]"),
        (["nut", "upsd", "--help"], "Usage: twistd [options] nut upsd [options]"),
        (
            ["nut-monitor", "--help"],
            "Usage: twistd [options] nut-monitor [--confdir DIR] [--statepath DIR] [-p]",
        ),
    ],
)
def test_twistd_plugin_usage(args: list[str], first: str) -> None:
    code = "import sys; sys.argv[0] = 'twistd'; from twisted.scripts.twistd import run; run()"
    r = run([PY, "-c", code, *args], dict(os.environ))
    out = r.stdout.splitlines()
    assert out[0] == first and r.stdout.count("Usage:") == 1, r.stdout
