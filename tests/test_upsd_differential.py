"""nutwist's upsd against NUT 2.8.0's, byte for byte, on the same driver socket.

NUT's C dummy-ups serves one UPS; NUT's C upsd and nutwist's upsd both read its
socket (so only the server differs).  Every session below is sent to both, and
the answers must be identical after normalising only what differs by design:
the VER line, server.info/server.version, TRACKING ids, and driver.*/device.type.
A second run puts nutwist's own dummy-ups (in-process) behind nutwist's upsd.
"""

from __future__ import annotations

import re
import socket
import time

import pytest
from support.nut import (
    NutProcess,
    free_port,
    nut_env,
    require_nut,
    start_nutwist_upsd,
    wait_for_port,
    wait_for_socket,
)

pytestmark = pytest.mark.nut

DEV = """device.mfr: Differential
ups.mfr: Diff Inc
ups.model: D-1
ups.status: OL CHRG
ups.id: rack1
ups.load: 23
battery.charge: 97
battery.charge.low: 20
input.voltage: 229.5
custom.text: "two words"
custom.quote: a\\"b
"""

USERS = """[admin]
\tpassword = pw
\tactions = SET FSD
\tinstcmds = ALL
[mon]
\tpassword = mp
\tupsmon primary
[sec]
\tpassword = sp
\tupsmon secondary
[fsdonly]
\tpassword = fp
\tactions = FSD
[cmdonly]
\tpassword = cp
\tinstcmds = test.battery.start
"""

# Each session: chunks sent one after another (a short pause between), then LOGOUT.
SESSIONS: list[list[bytes]] = [
    [b"VER\nNETVER\nPROTVER\nHELP\n"],
    [b"VER x\nNETVER x\nHELP x\n\n   \n# comment only\nNOPE\nget\n"],
    [b"LIST UPS\nlist ups\nLIST\nLIST VAR\nLIST CLIENTS dev\nLIST FOO dev\n"],
    [b"LIST VAR dev\nLIST VAR DEV\nlist var Dev\n"],
    [
        b"LIST RW dev\nLIST CMD dev\nLIST ENUM dev ups.id\nLIST RANGE dev ups.id\nLIST ENUM dev no.such\n"
    ],
    [
        b"LIST VAR nodriver\nLIST VAR nosuch\nLIST CLIENT dev\nLIST CLIENT nodriver\nLIST CLIENT nosuch\n"
    ],
    [b"GET VAR dev ups.status\nGET VAR dev UPS.STATUS\nget var dev ups.status extra words\n"],
    [
        b"GET VAR dev no.such\nGET VAR nosuch ups.status\nGET VAR nodriver ups.status\nGET VAR dev\nGET VAR\n"
    ],
    [
        b"GET VAR dev=ups.status\nGET VAR dev custom.text\nGET VAR dev custom.quote\nGET VAR x server.other\n"
    ],
    [
        b"GET TYPE dev ups.id\nGET TYPE dev battery.charge\nGET TYPE dev driver.name\nGET TYPE dev nope\n"
    ],
    [
        b"GET DESC dev ups.status\nGET DESC dev bogus.x\nGET DESC DEV Battery.Charge\nGET CMDDESC dev load.off\n"
    ],
    [
        b"GET CMDDESC dev nope\nGET DESC nodriver ups.status\nGET UPSDESC dev\nGET UPSDESC nodriver\n"
    ],
    [
        b"GET UPSDESC nosuch\nGET NUMLOGINS dev\nGET NUMLOGINS nodriver\nGET NUMLOGINS\nGET FOO dev\nGET\n"
    ],
    [b"GET TRACKING\nGET TRACKING abc\nGET TRACKING x y\n"],
    [b'\tGET  VAR   dev\tups.load  \r\nGET VAR "dev" "ups.load"\nGET VAR dev ups.lo\\ad\n'],
    [b"GET VAR d\xc3\xbcv ups.load\nGET VAR dev ups.load\xff\nGET VAR \x01dev ups.load\n"],
    [b"GET VAR " + b"x" * 600 + b" ups.load\nGET " + b"a " * 40 + b"\n"],
    [b"LOGIN dev\nPRIMARY dev\nMASTER dev\nFSD dev\nSET VAR dev ups.id x\nINSTCMD dev load.off\n"],
    [b"USERNAME admin\nLOGIN dev\nFSD dev\nSET TRACKING ON\n"],
    [b"USERNAME admin\nUSERNAME again\nPASSWORD pw\nPASSWORD again\nUSERNAME\nPASSWORD a b\n"],
    [b"USERNAME admin\nPASSWORD pw\nLOGIN dev\nPRIMARY dev\nMASTER dev\n"],
    [
        b"USERNAME mon\nPASSWORD mp\nLOGIN dev\nLOGIN dev\nGET NUMLOGINS dev\nPRIMARY dev\nMASTER dev\nMASTER\n"
    ],
    [b"USERNAME sec\nPASSWORD sp\nLOGIN nodriver\nPRIMARY dev\nFSD dev\nLOGIN nosuch\nLOGIN\n"],
    [b"USERNAME mon\nPASSWORD wrong\nLOGIN dev\nPRIMARY dev\nFSD dev\n"],
    [b"USERNAME nobody\nPASSWORD x\nLOGIN dev\nSET VAR dev ups.id x\nINSTCMD dev load.off\n"],
    [b"USERNAME fsdonly\nPASSWORD fp\nLOGIN dev\nFSD nodriver\nFSD nosuch\nFSD\n"],
    [b'USERNAME admin\nPASSWORD pw\nSET VAR dev ups.id rack1\nSET VAR dev ups.id "rack1"\n'],
    [
        b"USERNAME admin\nPASSWORD pw\nSET VAR dev ups.id 12345678901234567\nSET VAR dev driver.name x\n"
    ],
    [
        b"USERNAME admin\nPASSWORD pw\nSET VAR dev no.such 1\nSET VAR nodriver ups.id x\nSET VAR nosuch ups.id x\n"
    ],
    [
        b"USERNAME admin\nPASSWORD pw\nSET VAR dev ups.id\nSET VAR\nSET FOO\nSET TRACKING\nSET TRACKING maybe\n"
    ],
    [b"USERNAME mon\nPASSWORD mp\nSET VAR dev ups.id rack1\nINSTCMD dev load.off\n"],
    [b"USERNAME admin\nPASSWORD pw\nINSTCMD dev no.such\nINSTCMD dev\nINSTCMD nodriver load.off\n"],
    [b"USERNAME cmdonly\nPASSWORD cp\nINSTCMD dev load.off\nINSTCMD DEV LOAD.OFF 5\n"],
    [
        b"USERNAME admin\nPASSWORD pw\nSET TRACKING on\nGET TRACKING\nSET TRACKING OFF\nGET TRACKING\n"
    ],
    # a user without the right asking for a UPS, variable or command that does not exist:
    # which ERR wins (UNKNOWN-UPS, then ACCESS-DENIED for SET, CMD-NOT-SUPPORTED for INSTCMD)
    [
        b"USERNAME fsdonly\nPASSWORD fp\nLOGIN nosuch\nPRIMARY nosuch\nSET VAR dev no.such 1\n"
        b"SET VAR nosuch ups.id x\nINSTCMD dev no.such\nINSTCMD nosuch load.off\n"
    ],
    [b"USERNAME sec\nPASSWORD sp\nFSD nosuch\nSET VAR dev no.such 1\nINSTCMD dev no.such\n"],
    [b"USERNAME mon\nPASSWORD wrong\nLOGIN nosuch\nFSD nosuch\nINSTCMD dev no.such\n"],
    [b"STARTTLS\n"],
    [b'SET VAR dev ups.id "x#y"\n', b"VER\n"],
    [b"VER\nNETVER\nGET VAR dev ups.status\nLIST UPS\nGET VAR dev ups.load\n" * 5],
    # the FSD latch, then how it shows (last: it lasts for every later session)
    [
        b"USERNAME admin\nPASSWORD pw\nFSD dev\nFSD DEV\nGET VAR dev ups.status\nLIST RW dev\nLIST VAR dev\n"
    ],
    [b"GET VAR dev ups.status\n"],
]

VER_RE = re.compile(rb"^Network UPS Tools upsd [^\n]*$", re.M)
INFO_RE = re.compile(rb'^(VAR \S+ server\.(info|version)) "[^"\n]*"$', re.M | re.I)
TRACK_RE = re.compile(
    rb"TRACKING [0-9A-F]{8}-[0-9A-F]{4}-4[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}"
)


BY_DESIGN_RE = re.compile(rb"^(VAR|RW) \S+ (driver\.\S*|device\.type) .*\n", re.M | re.I)


def normalise(data: bytes) -> bytes:
    data = BY_DESIGN_RE.sub(b"", data)
    data = VER_RE.sub(b"<VER>", data)
    data = INFO_RE.sub(rb'\1 "<SERVER>"', data)
    return TRACK_RE.sub(b"TRACKING <ID>", data)


def session(port: int, chunks: list[bytes]) -> bytes:
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    for chunk in chunks:
        s.sendall(chunk)
        time.sleep(0.15)  # part of the scenario: each chunk arrives as a read of its own
    s.sendall(b"LOGOUT\n")
    out = b""
    while True:
        try:
            data = s.recv(65536)
        except TimeoutError:
            break
        if not data:
            break
        out += data
    s.close()
    return out


def until_ready(port: int) -> None:
    deadline = time.monotonic() + 20
    while b'"OL CHRG"' not in session(port, [b"GET VAR dev ups.status\n"]):
        assert time.monotonic() < deadline, "upsd never got the driver's data"
        time.sleep(0.2)


@pytest.fixture(scope="module", params=["nut-driver", "nutwist-driver"])
def servers(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[int, int]:
    """NUT's upsd on NUT's dummy-ups; nutwist's upsd on the same socket, or on its own dummy-ups."""
    require_nut("upsd", "dummy-ups")
    tmp = tmp_path_factory.mktemp("diff")
    state = tmp / "state"
    state.mkdir()
    (tmp / "ups.dev").write_text(DEV)
    ups_conf = (
        f'[dev]\n\tdriver = dummy-ups\n\tport = {tmp / "ups.dev"}\n\tdesc = "Differential \\"box\\""\n'
        "[nodriver]\n\tdriver = nutdrv_atcl_usb\n\tport = auto\n"
    )
    ports = []
    confs = []
    for name in ("nut", "nutwist"):
        conf = tmp / name
        conf.mkdir()
        port = free_port()
        ports.append(port)
        (conf / "ups.conf").write_text(ups_conf)
        (conf / "upsd.conf").write_text(f"LISTEN 127.0.0.1 {port}\n")
        (conf / "upsd.users").write_text(USERS)
        for f in conf.iterdir():
            f.chmod(0o640)
        confs.append(conf)
    procs = [
        NutProcess(
            ["/lib/nut/dummy-ups", "-a", "dev", "-u", "root", "-F"],
            nut_env(confs[0], state),
            tmp / "drv.log",
        ),
    ]
    wait_for_socket(state / "dummy-ups-dev", probe=False)
    procs.append(
        NutProcess(
            ["/lib/nut/upsd", "-u", "root", "-F"], nut_env(confs[0], state), tmp / "upsd.log"
        )
    )
    our_state = state
    if request.param == "nutwist-driver":
        our_state = tmp / "state-nutwist"
        our_state.mkdir()
    procs.append(start_nutwist_upsd(confs[1], our_state, tmp / "nutwist.log"))
    try:
        for port in ports:
            wait_for_port(port)
            until_ready(port)
        yield ports[0], ports[1]
    finally:
        for p in reversed(procs):
            p.stop()
        log = (tmp / "nutwist.log").read_text()
        assert "Traceback" not in log, log


@pytest.mark.parametrize("index", range(len(SESSIONS)))
def test_same_answers_as_nut(servers: tuple[int, int], index: int) -> None:
    nut_port, our_port = servers
    chunks = SESSIONS[index]
    theirs = normalise(session(nut_port, chunks))
    ours = normalise(session(our_port, chunks))
    assert ours == theirs


def test_tracking_flow(servers: tuple[int, int]) -> None:
    results = []
    for port in servers:
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        f = s.makefile("rwb")
        answers = []
        for line in (b"USERNAME admin", b"PASSWORD pw", b"SET TRACKING ON"):
            f.write(line + b"\n")
            f.flush()
            answers.append(f.readline())
        for request in (b"SET VAR dev ups.id rack1", b"INSTCMD dev load.off"):
            f.write(request + b"\n")
            f.flush()
            reply = f.readline()
            tid = reply.split()[-1]
            status = b"PENDING\n"
            deadline = time.monotonic() + 10
            while status == b"PENDING\n" and time.monotonic() < deadline:
                time.sleep(0.2)
                f.write(b"GET TRACKING " + tid + b"\n")
                f.flush()
                status = f.readline()
            answers += [normalise(reply), status]
        f.write(b"GET TRACKING 00000000-0000-4000-8000-000000000000\n")
        f.flush()
        answers.append(f.readline())
        s.close()
        results.append(answers)
    assert results[0] == results[1]
    assert results[1][-3:] == [b"OK TRACKING <ID>\n", b"ERR UNKNOWN\n", b"ERR UNKNOWN\n"]
