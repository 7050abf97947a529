"""upsc, upsrw and upscmd: nutwist's against NUT 2.8.0's, on both servers.

Two servers read the same driver sockets (NUT's C dummy-ups, and a stand-in
driver with ENUM and RANGE values): NUT's C upsd and nutwist's drop-in upsd.
Every case runs NUT's program and nutwist's against each, and stdout, stderr
and the exit status must be the same, normalising only what differs by design
(the banner lines, which name nutwist's version) plus NUT's NSS line, and the help prose (nutwist writes
its own; the usage lines must match).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.nut import (
    NutProcess,
    free_port,
    have_nut,
    nut_env,
    wait_for_answers,
    wait_for_port,
    wait_for_socket,
)

pytestmark = [
    pytest.mark.nut,
    pytest.mark.skipif(
        not have_nut("upsd", "dummy-ups", "upsc"), reason="NUT 2.8.0's programs are not installed"
    ),
]

BIN = Path(sys.executable).parent
NUT_BIN = Path("/usr/bin")
DEV = """ups.mfr: Diff Labs
ups.model: D-1
ups.status: OL
ups.load: 31
battery.charge: 88
battery.charge.low: 20
input.voltage: 230.1
ups.delay.shutdown: 20
"""
STATIC = """SETINFO ups.status "OL"
SETINFO ups.mfr "Static"
SETINFO input.transfer.low "190"
SETFLAGS input.transfer.low RW NUMBER
ADDRANGE input.transfer.low 160 200
ADDRANGE input.transfer.low 210 215
SETINFO input.sensitivity "M"
SETFLAGS input.sensitivity RW STRING
SETAUX input.sensitivity 4
ADDENUM input.sensitivity "L"
ADDENUM input.sensitivity "M"
ADDENUM input.sensitivity "H"
SETINFO output.voltage.nominal "230"
SETFLAGS output.voltage.nominal RW NUMBER
ADDENUM output.voltage.nominal "220"
ADDENUM output.voltage.nominal "230"
SETINFO ups.id "rack \\"A\\" #1"
SETFLAGS ups.id RW STRING
SETAUX ups.id 20
ADDCMD test.battery.start
ADDCMD load.off
ADDCMD beeper.toggle
"""
USERS = (
    "[admin]\n\tpassword = pw\n\tactions = SET FSD\n\tinstcmds = ALL\n"
    "[mon]\n\tpassword = mp\n\tupsmon secondary\n"
)


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    tmp = tmp_path_factory.mktemp("clidiff")
    conf, state = tmp / "conf", tmp / "state"
    conf.mkdir()
    state.mkdir()
    (conf / "dev.dev").write_text(DEV)
    (conf / "static.dump").write_text(STATIC)
    (conf / "ups.conf").write_text(
        '[dev]\n\tdriver = dummy-ups\n\tport = dev.dev\n\tdesc = "diff ups"\n'
        "[st]\n\tdriver = static\n\tport = none\n"
    )
    nut_port, nw_port = free_port(), free_port()
    (conf / "upsd.users").write_text(USERS)
    nw_conf = tmp / "nwconf"
    nw_conf.mkdir()
    for name in ("ups.conf", "upsd.users"):
        (nw_conf / name).write_text((conf / name).read_text())
    (conf / "upsd.conf").write_text(f"LISTEN 127.0.0.1 {nut_port}\n")
    (nw_conf / "upsd.conf").write_text(f"LISTEN 127.0.0.1 {nw_port}\n")
    for d in (conf, nw_conf):
        for f in d.iterdir():
            f.chmod(0o600)
    env = nut_env(conf, state)
    procs = [
        NutProcess(
            [
                sys.executable,
                str(Path(__file__).parent / "support" / "static_driver.py"),
                str(state / "static-st"),
                str(conf / "static.dump"),
            ],
            env,
            tmp / "static.log",
        ),
        NutProcess(["/lib/nut/dummy-ups", "-a", "dev", "-u", "root", "-F"], env, tmp / "dev.log"),
    ]
    try:
        wait_for_socket(state / "dummy-ups-dev", probe=False)
        wait_for_socket(state / "static-st", probe=False)
        procs.append(NutProcess(["/lib/nut/upsd", "-u", "root", "-F"], env, tmp / "upsd.log"))
        procs.append(
            NutProcess(
                [str(BIN / "upsd"), "-F", "-u", "root"], nut_env(nw_conf, state), tmp / "nw.log"
            )
        )
        for port in (nut_port, nw_port):
            wait_for_port(port)
            wait_for_answers(
                port,
                {
                    b"GET VAR dev ups.status\n": b'VAR dev ups.status "OL"\n',
                    b"GET VAR st ups.status\n": b'VAR st ups.status "OL"\n',
                },
            )
        yield {"nut": nut_port, "nutwist": nw_port, "env": env}
    finally:
        for p in reversed(procs):
            p.stop()


def run(
    program: Path, args: list[str], env: dict[str, str], stdin: str = ""
) -> tuple[int, str, str]:
    p = subprocess.run(
        [str(program), *args], input=stdin, capture_output=True, text=True, env=env, timeout=30
    )
    err = "".join(
        line
        for line in p.stderr.splitlines(keepends=True)
        if "Init SSL without certificate" not in line
    )
    # getopt names the program as it was called: the two live in different directories
    return p.returncode, p.stdout, err.replace(f"{program}: ", f"{program.name}: ")


_BANNER = re.compile(r"^Network UPS Tools (upsc|upscmd|upsrw) \S+( \(nutwist\))?$", re.M)


def normalise(text: str) -> str:
    text = _BANNER.sub("Network UPS Tools <banner>", text)
    if "usage:" not in text:
        return text
    # the help: keep the usage lines, drop the prose (nutwist words its own)
    head, _, rest = text.partition("usage:")
    block = rest.split("\n\n", 1)[0]
    return head + "usage:" + block + "\n<help>\n"


UPS = "{ups}@127.0.0.1:{port}"
CASES: list[tuple[str, list[str], str]] = [
    # upsc
    ("upsc", [UPS.replace("{ups}", "dev")], ""),
    ("upsc", [UPS.replace("{ups}", "st")], ""),
    ("upsc", [UPS.replace("{ups}", "dev"), "ups.load"], ""),
    ("upsc", [UPS.replace("{ups}", "st"), "ups.id"], ""),
    ("upsc", [UPS.replace("{ups}", "dev"), "nosuch.var"], ""),
    ("upsc", [UPS.replace("{ups}", "dev"), "load"], ""),
    ("upsc", [UPS.replace("{ups}", "nosuch")], ""),
    ("upsc", [UPS.replace("{ups}", "nosuch"), "ups.load"], ""),
    ("upsc", ["-l", "127.0.0.1:{port}"], ""),
    ("upsc", ["-L", "127.0.0.1:{port}"], ""),
    ("upsc", ["-lL", "127.0.0.1:{port}", "extra"], ""),
    ("upsc", ["-l", "-c", "127.0.0.1:{port}"], ""),
    ("upsc", ["-c", UPS.replace("{ups}", "dev")], ""),
    ("upsc", ["-c", UPS.replace("{ups}", "nosuch")], ""),
    ("upsc", ["-l", "127.0.0.1:abc"], ""),
    ("upsc", ["-L", "[::1"], ""),
    ("upsc", ["dev@127.0.0.1:"], ""),
    ("upsc", ["dev@"], ""),
    ("upsc", ["dev@127.0.0.1:99999"], ""),
    ("upsc", ["dev@[127.0.0.1]:{port}", "ups.status"], ""),
    ("upsc", ["dev@127.0.0.1:{port}x", "ups.status"], ""),
    ("upsc", ["--", UPS.replace("{ups}", "dev"), "ups.load"], ""),
    ("upsc", [UPS.replace("{ups}", "dev"), "ups.load", "-x"], ""),
    ("upsc", [], ""),
    ("upsc", ["-c"], ""),
    ("upsc", [""], ""),
    ("upsc", ["dev@127.0.0.1:{port}x@"], ""),
    ("upsc", ["-h"], ""),
    ("upsc", ["-x"], ""),
    ("upsc", ["-V"], ""),
    # upsrw
    ("upsrw", [UPS.replace("{ups}", "dev")], ""),
    ("upsrw", [UPS.replace("{ups}", "st")], ""),
    ("upsrw", ["-l", UPS.replace("{ups}", "st")], ""),
    ("upsrw", [UPS.replace("{ups}", "nosuch")], ""),
    (
        "upsrw",
        ["-s", "ups.delay.shutdown=30", "-u", "admin", "-p", "pw", UPS.replace("{ups}", "dev")],
        "",
    ),
    (
        "upsrw",
        [
            "-s",
            "ups.delay.shutdown=30",
            "-u",
            "admin",
            "-p",
            "pw",
            "-w",
            UPS.replace("{ups}", "dev"),
        ],
        "",
    ),
    (
        "upsrw",
        [
            "-w",
            "-t",
            "3",
            "-s",
            "input.sensitivity=H",
            "-u",
            "admin",
            "-p",
            "pw",
            UPS.replace("{ups}", "st"),
        ],
        "",
    ),
    (
        "upsrw",
        ["-s", "input.sensitivity=X", "-u", "admin", "-p", "pw", UPS.replace("{ups}", "st")],
        "",
    ),
    (
        "upsrw",
        ["-s", "input.transfer.low=205", "-u", "admin", "-p", "pw", UPS.replace("{ups}", "st")],
        "",
    ),
    (
        "upsrw",
        [
            "-s",
            "ups.id=this value is far too long",
            "-u",
            "admin",
            "-p",
            "pw",
            UPS.replace("{ups}", "st"),
        ],
        "",
    ),
    (
        "upsrw",
        ["-s", "ups.delay.shutdown", "-u", "admin", "-p", "pw", UPS.replace("{ups}", "dev")],
        "30\n",
    ),
    ("upsrw", ["-s", "nosuch.var=1", "-u", "admin", "-p", "pw", UPS.replace("{ups}", "dev")], ""),
    ("upsrw", ["-s", "ups.load=1", "-u", "admin", "-p", "bad", UPS.replace("{ups}", "dev")], ""),
    ("upsrw", ["-s", "ups.load=1", "-u", "mon", "-p", "mp", UPS.replace("{ups}", "dev")], ""),
    ("upsrw", ["-s", "ups.load=1", "-u", "admin", "-p", "pw", UPS.replace("{ups}", "nosuch")], ""),
    ("upsrw", ["-s", "load=1", "-u", "admin", "-p", "pw", UPS.replace("{ups}", "dev")], ""),
    ("upsrw", ["-s", "ups.delay.shutdown=30", UPS.replace("{ups}", "dev")], "admin\npw\n"),
    ("upsrw", ["-s", "ups.delay.shutdown=30", "-u", "admin", UPS.replace("{ups}", "dev")], "pw\n"),
    ("upsrw", ["-s", "ups.delay.shutdown=30", UPS.replace("{ups}", "dev")], ""),
    ("upsrw", ["-t", "x", UPS.replace("{ups}", "dev")], ""),
    ("upsrw", ["dev@127.0.0.1:abc"], ""),
    ("upsrw", [], ""),
    ("upsrw", ["-h"], ""),
    ("upsrw", ["-x"], ""),
    ("upsrw", ["-V"], ""),
    # upscmd
    ("upscmd", ["-l", UPS.replace("{ups}", "dev")], ""),
    ("upscmd", ["-l", UPS.replace("{ups}", "st")], ""),
    ("upscmd", ["-l", UPS.replace("{ups}", "nosuch")], ""),
    ("upscmd", ["-u", "admin", "-p", "pw", UPS.replace("{ups}", "dev"), "load.off"], ""),
    ("upscmd", ["-u", "admin", "-p", "pw", "-w", UPS.replace("{ups}", "dev"), "load.off"], ""),
    (
        "upscmd",
        [
            "-u",
            "admin",
            "-p",
            "pw",
            "-w",
            "-t",
            "2",
            UPS.replace("{ups}", "st"),
            "test.battery.start",
        ],
        "",
    ),
    ("upscmd", ["-u", "admin", "-p", "pw", UPS.replace("{ups}", "st"), "load.off", "5"], ""),
    ("upscmd", ["-u", "admin", "-p", "pw", UPS.replace("{ups}", "dev"), "nosuch.cmd"], ""),
    ("upscmd", ["-u", "admin", "-p", "bad", UPS.replace("{ups}", "dev"), "load.off"], ""),
    ("upscmd", ["-u", "mon", "-p", "mp", UPS.replace("{ups}", "dev"), "load.off"], ""),
    ("upscmd", ["-u", "admin", "-p", "pw", UPS.replace("{ups}", "nosuch"), "load.off"], ""),
    ("upscmd", ["-u", "admin", "-p", "pw", UPS.replace("{ups}", "dev"), "load"], ""),
    ("upscmd", ["-u", "admin", "-p", "pw", UPS.replace("{ups}", "dev")], ""),
    ("upscmd", [UPS.replace("{ups}", "dev"), "load.off"], "admin\npw\n"),
    ("upscmd", [UPS.replace("{ups}", "dev"), "load.off", "-u", "admin"], ""),
    ("upscmd", ["-t", "abc", UPS.replace("{ups}", "dev"), "load.off"], ""),
    ("upscmd", ["-t"], ""),
    ("upscmd", ["-l"], ""),
    ("upscmd", ["-l", "dev@127.0.0.1:abc"], ""),
    ("upscmd", ["-l", ""], ""),
    ("upscmd", [], ""),
    ("upscmd", ["-h"], ""),
    ("upscmd", ["-V"], ""),
]


@pytest.mark.parametrize("server", ["nut", "nutwist"])
@pytest.mark.parametrize(
    ("program", "args", "stdin"), CASES, ids=[f"{c[0]} {' '.join(c[1])}" for c in CASES]
)
def test_same_as_nut(
    servers: dict[str, object], server: str, program: str, args: list[str], stdin: str
) -> None:
    port = servers[server]
    argv = [a.replace("{port}", str(port)) for a in args]
    env = dict(servers["env"])  # type: ignore[call-overload]
    env.pop("NUT_AUTHCONF_FILE", None)
    theirs = run(NUT_BIN / program, argv, env, stdin)
    ours = run(BIN / program, argv, env, stdin)
    assert (ours[0], normalise(ours[1]), normalise(ours[2])) == (
        theirs[0],
        normalise(theirs[1]),
        normalise(theirs[2]),
    )


def test_the_banner_names_nutwist(servers: dict[str, object]) -> None:
    for program in ("upsc", "upsrw", "upscmd"):
        _, out, err = run(BIN / program, ["-V"], dict(os.environ))
        assert re.search(rf"^Network UPS Tools {program} \S+ \(nutwist\)$", out + err, re.M)


# --- what NUT 2.8.0's programs lack: tests of their own ---------------------------------


def ours(
    servers: dict[str, object], program: str, *args: str, stdin: str = "", **env: str
) -> tuple[int, str, str]:
    e = dict(servers["env"])  # type: ignore[call-overload]
    e.update(env)
    argv = [a.replace("{port}", str(servers["nutwist"])) for a in args]
    return run(BIN / program, argv, e, stdin)


def test_upsc_json(servers: dict[str, object]) -> None:
    import json

    rc, out, _ = ours(servers, "upsc", "-j", "dev@127.0.0.1:{port}")
    assert rc == 0
    plain = ours(servers, "upsc", "dev@127.0.0.1:{port}")[1]
    assert json.loads(out) == dict(line.split(": ", 1) for line in plain.splitlines())
    assert json.loads(ours(servers, "upsc", "-j", "dev@127.0.0.1:{port}", "ups.load")[1]) == "31"
    assert json.loads(ours(servers, "upsc", "-j", "-l", "127.0.0.1:{port}")[1]) == ["dev", "st"]
    assert json.loads(ours(servers, "upsc", "-j", "-L", "127.0.0.1:{port}")[1]) == {
        "dev": "diff ups",
        "st": "Description unavailable",
    }
    assert json.loads(ours(servers, "upsc", "-j", "-c", "dev@127.0.0.1:{port}")[1]) == []


def test_upsc_typed_json(servers: dict[str, object]) -> None:
    import json

    rc, out, _ = ours(servers, "upsc", "-J", "dev@127.0.0.1:{port}")
    data = json.loads(out)
    assert rc == 0
    assert data["battery.charge"] == 88 and data["input.voltage"] == 230.1
    assert data["ups.mfr"] == "Diff Labs" and data["driver.version"] == "2.8.0"
    # a STRING variable stays a string even when it looks like a number
    assert json.loads(
        ours(servers, "upsc", "-J", "st@127.0.0.1:{port}", "input.sensitivity")[1]
    ) in ("L", "M", "H")
    assert (
        json.loads(ours(servers, "upsc", "-J", "st@127.0.0.1:{port}", "input.transfer.low")[1])
        == 190
    )


def test_credentials_from_nutauth_conf(servers: dict[str, object], tmp_path: Path) -> None:
    auth = tmp_path / "nutauth.conf"
    auth.write_text("[@127.0.0.1]\n  user = admin\n  password = pw\n")
    auth.chmod(0o600)
    # -A FILE: no prompt, the command runs
    assert ours(servers, "upscmd", "-A", str(auth), "dev@127.0.0.1:{port}", "load.off") == (
        0,
        "",
        "OK\n",
    )
    # the search order: $NUT_AUTHCONF_FILE
    assert ours(
        servers,
        "upsrw",
        "-s",
        "ups.delay.shutdown=30",
        "dev@127.0.0.1:{port}",
        NUT_AUTHCONF_FILE=str(auth),
    ) == (0, "", "OK\n")
    # -A none: nothing is read, so upscmd asks (and stdin is empty)
    rc, out, err = ours(
        servers,
        "upscmd",
        "-A",
        "none",
        "dev@127.0.0.1:{port}",
        "load.off",
        NUT_AUTHCONF_FILE=str(auth),
    )
    assert (rc, err) == (1, "Error reading from stdin!\n") and out.startswith("Username (")
    # -u picks the user; a file readable by others is refused in one line
    auth.chmod(0o644)
    rc, _, err = ours(servers, "upscmd", "-A", str(auth), "dev@127.0.0.1:{port}", "load.off")
    assert rc == 1 and "must not be readable by others" in err and len(err.splitlines()) == 1
