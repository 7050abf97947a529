"""Security defects of the client side (issue 20: 1, 5, 8, 9), each reproduced.

1. a malformed reply from a monitored upsd must not stop upsmon (or any daemon's
   loop) for good;
5. bytes that arrive before the TLS handshake must never be read as answers;
8. an over-long value is cut, never the line end;
9. upssched's long messages must not make its requests hang.
"""

from __future__ import annotations

import json
import os
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from twisted.internet import defer
from twisted.internet.protocol import Protocol
from twisted.internet.task import Clock
from twisted.test import iosim

from nutwist.client import NutClient, errors
from nutwist.config.base import Source
from nutwist.config.upsmon import UpsmonConf
from nutwist.config.upsmon import parse as parse_upsmon
from nutwist.monitor.service import UpsmonService

# --- a scripted upsd -------------------------------------------------------------------------


def honest(status: str = "OL") -> Callable[[str], bytes]:
    """The answers of a plain upsd whose UPS ``u`` has ``status``."""

    def answer(line: str) -> bytes:
        words = line.split()
        verb = words[0] if words else ""
        if verb in ("USERNAME", "PASSWORD"):
            return b"OK\n"
        if verb == "LOGIN":
            return b"OK\n"
        if verb in ("PRIMARY", "MASTER"):
            return b"OK MASTER-GRANTED\n"
        if verb == "FSD":
            return b"OK FSD-SET\n"
        if verb == "STARTTLS":
            return b"ERR FEATURE-NOT-CONFIGURED\n"
        if line == "GET VAR u ups.status":
            return f'VAR u ups.status "{status}"\n'.encode()
        if line == "GET NUMLOGINS u":
            return b"NUMLOGINS u 1\n"
        if verb == "LOGOUT":
            return b"OK Goodbye\n"
        return b"ERR UNKNOWN-COMMAND\n"

    return answer


class ScriptedUpsd(Protocol):
    """Answers each request line with whatever ``script(line)`` says; records the lines."""

    def __init__(self, script: Callable[[str], bytes]) -> None:
        self.script = script
        self.lines: list[str] = []
        self._buf = b""

    def dataReceived(self, data: bytes) -> None:
        self._buf += data
        while b"\n" in self._buf:
            raw, self._buf = self._buf.split(b"\n", 1)
            line = raw.decode("latin-1")
            self.lines.append(line)
            assert self.transport is not None
            self.transport.write(self.script(line))


class FakeUpsdLab:
    """upsmon on a task.Clock, its connections iosim pairs to a scripted upsd."""

    def __init__(self, script: Callable[[str], bytes]) -> None:
        self.clock = Clock()
        self.script = script
        self.servers: list[ScriptedUpsd] = []
        self.pumps: list[iosim.IOPump] = []

    def connect(self, host: str, port: int) -> defer.Deferred[NutClient]:
        server = ScriptedUpsd(lambda line: self.script(line))
        client = NutClient(self.clock, timeout=5)
        pump = iosim.connect(
            server, iosim.makeFakeServer(server), client, iosim.makeFakeClient(client), greet=False
        )
        self.servers.append(server)
        self.pumps.append(pump)
        pump.flush()
        return defer.succeed(client)

    def flush(self) -> None:
        for _ in range(6):
            for p in list(self.pumps):
                p.flush()

    def run(self, seconds: float, step: float = 0.25) -> None:
        end = self.clock.seconds() + seconds
        while self.clock.seconds() < end - 1e-9:
            self.clock.advance(step)
            self.flush()

    def polls(self) -> int:
        return sum(s.lines.count("GET VAR u ups.status") for s in self.servers)


class Recorder:
    """Stands in for the notifier: records, never spawns."""

    def __init__(self) -> None:
        self.types: list[str] = []
        self.walls: list[str] = []

    def notify(self, ntype: str, system: str | None, alarm: str = "") -> None:
        self.types.append(ntype)

    def wall(self, msg: str) -> None:
        self.walls.append(msg)


UPSMON_CONF = (
    "MONITOR u@localhost 1 pri p primary\n"
    "POLLFREQ 2\nPOLLFREQALERT 1\nHOSTSYNC 2\nDEADTIME 6\nFINALDELAY 0\nNOCOMMWARNTIME 10\n"
)


def start_upsmon(
    lab: FakeUpsdLab, conf_text: str = UPSMON_CONF
) -> tuple[UpsmonService, Recorder, list[float]]:
    conf: UpsmonConf = parse_upsmon(Source.from_text(conf_text, "upsmon.conf"))
    assert not conf.diagnostics.errors, conf.diagnostics.errors
    rec = Recorder()
    shutdowns: list[float] = []
    svc = UpsmonService(
        conf,
        lab.clock,
        shutdown=lambda: shutdowns.append(lab.clock.seconds()),
        notifier=rec,  # type: ignore[arg-type]
        connector=lab.connect,
    )
    svc.startService()
    lab.clock.advance(0)
    lab.flush()
    return svc, rec, shutdowns


# --- 1. a malformed reply stops upsmon ----------------------------------------------------------


def test_defect1_client_get_var_without_value_is_a_typed_protocol_error() -> None:
    lab = FakeUpsdLab(lambda line: b"VAR u ups.status\n")
    client = lab.connect("localhost", 3493).result
    d = client.get_var("u", "ups.status")
    lab.flush()
    failure = d.result
    d.addErrback(lambda _: None)
    assert isinstance(failure.value, errors.MalformedReply), failure
    assert isinstance(failure.value, errors.ProtocolError)


@pytest.mark.parametrize(
    ("call", "reply"),
    [
        (lambda c: c.get_numlogins("u"), b"NUMLOGINS u many\n"),
        (lambda c: c.get_numlogins("u"), b"NUMLOGINS u\n"),
        (lambda c: c.get_desc("u", "x"), b"DESC u x\n"),
        (lambda c: c.list_var("u"), b"BEGIN LIST VAR u\nVAR u ups.status\nEND LIST VAR u\n"),
        (lambda c: c.list_ups(), b"BEGIN LIST UPS\nUPS u\nEND LIST UPS\n"),
        (lambda c: c.list_range("u", "x"), b"BEGIN LIST RANGE u x\nRANGE u x 1\nEND LIST RANGE\n"),
    ],
)
def test_defect1_every_unparsable_reply_is_a_typed_protocol_error(
    call: Callable[[NutClient], defer.Deferred[Any]], reply: bytes
) -> None:
    lab = FakeUpsdLab(lambda line: reply)
    client = lab.connect("localhost", 3493).result
    d = call(client)
    lab.flush()
    failure = d.result
    d.addErrback(lambda _: None)
    assert isinstance(failure.value, errors.MalformedReply), failure


def test_defect1_upsmon_keeps_polling_after_a_malformed_status_reply() -> None:
    """A value-less ``VAR u ups.status`` answer counted as one failed poll (COMMBAD, then
    NOCOMM as NUT's rules say); polling goes on, and ``upsmon -c fsd`` still shuts down."""
    replies = {"status": b"VAR u ups.status\n"}
    script = honest()

    def answer(line: str) -> bytes:
        if line == "GET VAR u ups.status":
            return replies["status"]
        return script(line)

    lab = FakeUpsdLab(answer)
    svc, rec, shutdowns = start_upsmon(lab)
    lab.run(30)
    # one poll every POLLFREQ (5 s until the first status), each a failed one
    assert lab.polls() >= 6
    assert rec.types.count("COMMBAD") == 1
    assert "NOCOMM" in rec.types
    # the server answers properly again: the UPS is back
    replies["status"] = b'VAR u ups.status "OL"\n'
    lab.run(6)
    assert "COMMOK" in rec.types
    # and a user FSD is honoured
    svc.request_fsd()
    lab.run(6)
    assert shutdowns, rec.types


def test_defect1_upsmon_poll_loop_survives_any_exception() -> None:
    """Even an exception no one foresaw (here from the decision logic) is one failed poll."""
    lab = FakeUpsdLab(honest("OL"))
    svc, rec, shutdowns = start_upsmon(lab)
    real = svc.logic.polled
    broken = {"on": True}

    def polled(track: Any, status: str) -> None:
        if broken["on"]:
            raise RuntimeError("boom")
        real(track, status)

    svc.logic.polled = polled  # type: ignore[method-assign]
    before = lab.polls()
    lab.run(20)
    assert lab.polls() >= before + 4
    assert "COMMBAD" in rec.types
    broken["on"] = False
    lab.run(6)
    assert "COMMOK" in rec.types
    svc.request_fsd()
    lab.run(6)
    assert shutdowns


def test_defect1_upslog_keeps_logging_after_a_failed_entry(tmp_path: Any) -> None:
    """A log entry that fails (a full disk here) is reported; the next ones still come."""
    from nutwist.cli import upslog
    from nutwist.cli.clientcommon import split_name

    lab = FakeUpsdLab(honest("OL"))

    class FlakyFile(upslog.LogFile):
        fails = 1

        def write(self, line: bytes) -> None:
            if self.fails:
                self.fails -= 1
                raise OSError(28, "No space left on device")
            super().write(line)

    m = upslog.Monitored("u@localhost", str(tmp_path / "u.log"))
    m.ups, m.host, m.port = split_name("u@localhost")
    f = FlakyFile(m.logfn)
    f.open()
    said: list[str] = []
    logger = upslog.UpsLog(
        lab.clock,
        [m],
        {m.logfn: f},
        upslog.compile_format("%VAR ups.status%"),
        10,
        lambda host, port, first: lab.connect(host, port),
        said.append,
        hostname=lambda: "box",
    )
    done = defer.Deferred.fromCoroutine(logger.run())
    lab.run(35, step=1)
    f.close()
    assert not done.called, done.result
    assert (tmp_path / "u.log").read_text().splitlines() == ["OL", "OL", "OL"]
    assert any("No space left" in s for s in said), said
    logger.exit_signal = 15
    logger.wake()
    lab.flush()
    assert done.called


def test_defect1_upssched_daemon_passes_survive_an_exception() -> None:
    """A pass that raises is logged; the passes go on (and the idle daemon still exits)."""
    from nutwist.services.upssched import TimerDaemon

    clock = Clock()
    calls = {"n": 0}

    def busy() -> bool:
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("boom")
        return False

    daemon = TimerDaemon(clock, "/nonexistent/pipe", lambda c, e: None, busy=busy, empty_wait=4)
    daemon.start_passes()
    for _ in range(10):
        clock.advance(1)
    assert daemon.done.called


# --- 5. bytes received before the TLS handshake are trusted -------------------------------------

ROOT = Path(__file__).resolve().parent.parent
PROBE = Path(__file__).parent / "support" / "tls_probe.py"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from nutwist.tls import certs

    d = tmp_path_factory.mktemp("pki")
    ca = certs.make_ca("test CA")
    certs.write_bundle(str(d / "good.pem"), certs.issue(ca, "upsd", ["127.0.0.1"]))
    certs.write_public(str(d / "ca.pem"), ca.cert_pem())
    return {"good": d / "good.pem", "ca": d / "ca.pem"}


class InjectingServer:
    """A loopback server whose ``OK STARTTLS`` carries an attacker's answer in the same
    write; then it does the real handshake (with a certificate the client trusts) and
    answers honestly from inside TLS."""

    def __init__(self, pki: dict[str, Path], injected: bytes) -> None:
        self.injected = injected
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(str(pki["good"]))
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1)
        self.sock.settimeout(20)
        self.port = self.sock.getsockname()[1]
        self.requests: list[bytes] = []
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self) -> None:
        conn, _ = self.sock.accept()
        conn.settimeout(20)
        with conn:
            assert conn.recv(100) == b"STARTTLS\n"
            conn.sendall(b"OK STARTTLS\n" + self.injected)
            with self.ctx.wrap_socket(conn, server_side=True) as tls:
                buf = b""
                while True:
                    data = tls.recv(4096)
                    if not data:
                        return
                    buf += data
                    while b"\n" in buf:
                        line, buf = buf.split(b"\n", 1)
                        self.requests.append(line)
                        if line == b"GET VAR u ups.status":
                            tls.sendall(b'VAR u ups.status "OL"\n')
                        elif line == b"LOGOUT":
                            tls.sendall(b"OK Goodbye\n")
                            return
                        else:
                            tls.sendall(b"ERR UNKNOWN-COMMAND\n")


def probe(port: int, settings: dict[str, Any] | None) -> str:
    """nutwist's client library (this checkout's) reading u's ups.status over STARTTLS."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    p = subprocess.run(
        [sys.executable, str(PROBE), "127.0.0.1", str(port), "u", "ups.status",
         json.dumps(settings) if settings is not None else "none"],
        capture_output=True, text=True, timeout=30, env=env,
    )  # fmt: skip
    return p.stdout.strip() or p.stderr.strip()


FAKE = b'VAR u ups.status "OB LB FSD"'


@pytest.mark.parametrize(
    "injected",
    [FAKE, FAKE + b"\n", FAKE + b" #", FAKE + b"\n" + FAKE + b"\n" + FAKE],
    ids=["open-line", "whole-line", "comment", "several"],
)
@pytest.mark.parametrize("mode", ["verified", "opportunistic"])
def test_defect5_plaintext_after_ok_starttls_is_dropped(
    pki: dict[str, Path], injected: bytes, mode: str
) -> None:
    server = InjectingServer(pki, injected)
    settings = (
        {"certpath": str(pki["ca"]), "certverify": True, "forcessl": True}
        if mode == "verified"
        else None
    )
    out = probe(server.port, settings)
    server.thread.join(10)
    assert out == "OK OL tls=1", out


# --- 8. over-long values --------------------------------------------------------------------------

LONG = {
    "ups.mfr": "A" * 600,  # far past upsd's 512-byte answer buffer
    "ups.model": "B" * 470,  # near it
    "ups.serial": 'q"' * 200,  # escaped, it doubles: the cut must not split a \" pair
    "ups.id": "x\\" * 150,
}
STATIC = Path(__file__).parent / "support" / "static_driver.py"


def _raw_answers(port: int, requests: list[bytes]) -> bytes:
    """The bytes upsd sends for ``requests``, read until it has been quiet for a moment."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"".join(requests))
        s.settimeout(1.0)
        buf = b""
        while True:
            try:
                chunk = s.recv(65536)
            except TimeoutError:
                return buf
            if not chunk:
                return buf
            buf += chunk


def _expected_nut_line(name: str, raw: str) -> bytes:
    """What NUT 2.8.0's upsd answers for a value: pconf_encode into 256 bytes (255 kept,
    an escape pair never split), quoted, LF-terminated."""
    enc = raw.replace("\\", "\\\\").replace('"', '\\"')[:255]
    if (len(enc) - len(enc.rstrip("\\"))) % 2:
        enc = enc[:-1]
    return f'VAR u {name} "{enc}"\n'.encode()


@pytest.mark.nut
@pytest.mark.parametrize("which", ["nut", "nutwist"])
def test_defect8_overlong_values_are_cut_never_the_line_end(tmp_path: Path, which: str) -> None:
    """A driver publishes values of 400-600 bytes.  NUT 2.8.0's upsd keeps 255 bytes of
    each (escaped) value, so every answer ends in its quote and LF; nutwist's must too
    (it used to send 512 bytes without the LF, running answers together)."""
    from support.nut import NutProcess, free_port, nut_env, require_nut, start_nutwist_upsd
    from support.nut import wait_for_socket as wait_sock

    if which == "nut":
        require_nut("upsd")
    conf, state = tmp_path / "conf", tmp_path / "state"
    conf.mkdir()
    state.mkdir(mode=0o700)
    port = free_port()
    (conf / "ups.conf").write_text("[u]\n\tdriver = dummy-ups\n\tport = u.dev\n")
    (conf / "upsd.conf").write_text(f"LISTEN 127.0.0.1 {port}\n")
    (conf / "upsd.users").write_text("[a]\n\tpassword = p\n")
    for f in conf.iterdir():
        f.chmod(0o600)
    quote = lambda v: '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'  # noqa: E731
    (tmp_path / "dump").write_text(
        'SETINFO ups.status "OL"\n' + "".join(f"SETINFO {k} {quote(v)}\n" for k, v in LONG.items())
    )
    env = nut_env(conf, state)
    driver = NutProcess(
        [sys.executable, str(STATIC), str(state / "dummy-ups-u"), str(tmp_path / "dump")],
        env,
        tmp_path / "driver.log",
    )
    try:
        wait_sock(state / "dummy-ups-u")
        if which == "nut":
            upsd = NutProcess(["/lib/nut/upsd", "-u", "root", "-D"], env, tmp_path / "upsd.log")
        else:
            upsd = start_nutwist_upsd(conf, state, tmp_path / "upsd.log")
        try:
            from support.nut import wait_for_answers, wait_for_port

            wait_for_port(port)

            wait_for_answers(port, {b"GET VAR u ups.status\n": b'VAR u ups.status "OL"\n'})
            requests = [f"GET VAR u {k}\n".encode() for k in LONG]
            got = _raw_answers(port, [*requests, b"GET VAR u ups.status\n"])
        finally:
            upsd.stop()
    finally:
        driver.stop()
    want = b"".join(_expected_nut_line(k, v) for k, v in LONG.items())
    assert got == want + b'VAR u ups.status "OL"\n'
    assert all(len(line) < 512 for line in got.split(b"\n"))


def test_defect8_upsd_answer_for_a_long_value_from_a_driver_keeps_its_line_end(
    tmp_path: Path,
) -> None:
    """A (third-party) driver sends a 600-byte SETINFO: upsd answers NUT's 255-byte value,
    in a line that ends with its LF, in GET VAR and LIST VAR alike."""
    from test_upsd_unit import client, make_state

    state, _, _ = make_state(tmp_path)
    link = state.ups["u"].link
    for k, v in LONG.items():
        link.message(["SETINFO", k, v])
    p, t = client(state)
    p.dataReceived(b"".join(f"GET VAR u {k}\n".encode() for k in LONG) + b"LIST VAR u\n")
    lines = t.value().split(b"\n")
    assert t.value().endswith(b"END LIST VAR u\n")
    for k, v in LONG.items():
        assert _expected_nut_line(k, v) in t.value()
    assert all(len(line) < 512 for line in lines)


def test_defect8_an_answer_is_never_sent_without_its_line_end() -> None:
    """Even names long enough to pass 512 bytes: the line is cut, its quote closed, the
    escape pairs kept whole, and the LF sent (NUT would send 512 bytes and no LF)."""
    from nutwist.config.tokenizer import split
    from nutwist.protocols.net import _line_bytes

    for line in [
        "VAR " + "u" * 300 + " " + "v" * 300 + ' "value"',
        "VAR u " + "v" * 300 + ' "' + "\\\\" * 200 + '"',
        "VAR u " + "v" * 300 + ' "' + '\\"' * 200 + '"',
        "x" * 511,
        "x" * 512,
    ]:
        data = _line_bytes(line)
        assert data.endswith(b"\n") and len(data) <= 512, data[-20:]
        assert data.count(b"\n") == 1
        split(data[:-1].decode())  # one whole line: no open quote, no dangling escape


def test_defect8_repeater_cuts_a_remote_servers_long_values(tmp_path: Path) -> None:
    """The repeater keeps 255 bytes of a remote value (NUT's dstate_setinfo), so neither
    its driver socket nor the upsd above it gets a value that breaks a line."""
    from nutwist.config.ups import UpsSection
    from nutwist.drivers.dummy_ups import DummyUps

    def remote(line: str) -> bytes:
        if line == "LIST VAR u":
            rows = "".join(
                f'VAR u {k} "{v.replace(chr(92), chr(92) * 2).replace(chr(34), chr(92) + chr(34))}"\n'
                for k, v in {"ups.status": "OL", **LONG}.items()
            )
            return f"BEGIN LIST VAR u\n{rows}END LIST VAR u\n".encode()
        if line == "LIST CMD u":
            return b"BEGIN LIST CMD u\nEND LIST CMD u\n"
        if line.startswith("GET TYPE u "):
            return f"TYPE u {line.split()[3]} STRING:1024\n".encode()
        if line == "SET TRACKING ON":
            return b"OK\n"
        return b"ERR FEATURE-NOT-CONFIGURED\n"

    lab = FakeUpsdLab(remote)
    d = DummyUps(
        "r", UpsSection("r", 1, values={"port": "u@127.0.0.1:3493"}), confdir=str(tmp_path),
        clock=lab.clock,
    )  # fmt: skip
    d.connector = lambda: lab.connect("127.0.0.1", 3493)
    d.start()
    lab.run(3)
    for k, v in LONG.items():
        assert d.getinfo(k) == v[:255], k
    for words in d.dump():
        from nutwist.protocols.sock import format_line

        line = format_line(words)
        assert line.endswith(b"\n") and len(line) < 512, line[-20:]


# --- 9. upssched hangs on long messages -------------------------------------------------------------

LONG_MESSAGE = 'UPS ups1 on battery, "quoted" \\ and # ' + "M" * 600


@pytest.mark.parametrize("verb", ["START-SHARED", "CANCEL-MATCHED", "START", "CANCEL"])
@pytest.mark.parametrize(
    "name", ["t1", "x" * 600, '"' * 300, "\\" * 300], ids=["short", "long", "quotes", "backslashes"]
)
def test_defect9_upssched_requests_are_whole_lines_whatever_their_length(
    verb: str, name: str
) -> None:
    """The request a long message (or name) makes is still one whole line for the
    daemon's tokenizer: cut in its last words, never inside a quote."""
    from nutwist.cli import upssched as cli
    from nutwist.config.tokenizer import Tokenizer

    later = verb in ("START-SHARED", "CANCEL-MATCHED")
    c = cli.Upssched("ups1", "ONBATT", LONG_MESSAGE, {})
    data = c.request(verb, name, "5" if verb.startswith("START") else None, later)
    assert data.endswith(b"\n") and len(data) <= (cli.LARGEBUF if later else cli.SMALLBUF)
    items = Tokenizer().feed(data)
    assert len(items) == 1 and isinstance(items[0], list), items
    words = items[0]
    assert words[0] == verb
    if later:
        # the daemon's tokenizer keeps 512 bytes of a word, as NUT's does
        assert words[1:5] == [name[:512], "5" if verb.startswith("START") else "", "ONBATT", "ups1"]
        assert LONG_MESSAGE.startswith(words[5])


def _run_upssched(s: Any, ntype: str, message: str) -> subprocess.CompletedProcess[str]:
    from test_upssched import PROGRAMS

    env = dict(s.env, UPSNAME="ups1", NOTIFYTYPE=ntype)
    return subprocess.run(
        [*PROGRAMS["nutwist"], message], env=env, capture_output=True, text=True, timeout=10,
        cwd=s.root,
    )  # fmt: skip


def test_defect9_start_timer_shared_and_cancel_timer_matched_with_a_long_message(
    tmp_path: Path,
) -> None:
    """upsmon hands upssched its message; a long one made START-TIMER-SHARED and
    CANCEL-TIMER-MATCHED hang (the request was cut inside its quoted message) and the
    timer never started.  Now the timer starts, and is cancelled."""
    from test_upssched import Sched

    s = Sched(tmp_path)
    try:
        s.conf(
            "AT ONBATT * START-TIMER-SHARED started 1\n"
            "AT ONBATT * START-TIMER-SHARED cancelled 2\n"
            "AT ONLINE * CANCEL-TIMER-MATCHED cancelled\n"
        )
        r = _run_upssched(s, "ONBATT", LONG_MESSAGE)
        assert r.returncode == 0, r.stderr
        r = _run_upssched(s, "ONLINE", LONG_MESSAGE)
        assert r.returncode == 0, r.stderr
        s.wait_for("started")
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            assert "cancelled" not in s.names()
            time.sleep(0.1)
    finally:
        s.cleanup()


@pytest.mark.nut
def test_defect9_what_nut_2_8_0_does_with_a_long_message(tmp_path: Path) -> None:
    """NUT 2.8.0's upssched knows no START-TIMER-SHARED (later NUT's, which builds it in
    a 4096-byte buffer) and never sends the message with START-TIMER: a long message
    changes nothing there, and the plain timer starts."""
    from test_upssched import NUT_UPSSCHED, Sched

    if not os.access(NUT_UPSSCHED, os.X_OK):
        pytest.skip("NUT 2.8.0's upssched is not installed")
    s = Sched(tmp_path)
    try:
        s.conf("AT ONBATT * START-TIMER-SHARED shared 1\nAT ONBATT * START-TIMER plain 1\n")
        env = dict(s.env, UPSNAME="ups1", NOTIFYTYPE="ONBATT")
        r = subprocess.run(
            [NUT_UPSSCHED, LONG_MESSAGE], env=env, capture_output=True, text=True, timeout=10,
            cwd=s.root,
        )  # fmt: skip
        assert "Invalid command: START-TIMER-SHARED" in r.stderr
        s.wait_for("plain")
        assert "shared" not in s.names()
    finally:
        s.cleanup()


def test_defect1_driver_link_check_survives_an_exception(tmp_path: Path) -> None:
    """upsd's per-driver check (PING a quiet driver, log staleness) goes on after one of
    its passes raised; a stopped check would never report the data stale."""
    from test_upsd_unit import make_state

    state, clock, _ = make_state(tmp_path)
    link = state.ups["u"].link
    real = link.send
    calls = {"n": 0}

    def send(words: list[str]) -> bool:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("boom")
        return real(words)

    link.send = send  # type: ignore[method-assign]
    for _ in range(20):
        clock.advance(1)
    assert link._checker.running
    assert calls["n"] >= 2
