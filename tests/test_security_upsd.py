"""upsd's authentication under attack, on loopback: each test reproduces one attack.

- a password changed (or a user deleted) and reloaded: sessions that logged in before
  lose their rights at once, as in NUT 2.8.0 (ERR ACCESS-DENIED to SET, INSTCMD, FSD);
- login throttling is per (user, address) and never shuts out a pair that logged in;
- scrypt runs off the reactor: a flood of guesses leaves other clients' latency bounded,
  and a user that does not exist costs the same time as one that does;
- a world-readable upsd.conf/upsd.users gets NUT's warning at start;
- a malformed scrypt entry is a file:line error, never matches, and the whole digest is
  compared.
"""

from __future__ import annotations

import hashlib
import os
import random
import re
import selectors
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from support.nut import (
    NutProcess,
    free_port,
    nut_env,
    require_nut,
    start_nutwist_upsd,
    wait_for_answers,
    wait_for_port,
    wait_for_socket,
)
from test_upsd_unit import client, make_state
from twisted.internet import defer

from nutwist import auth
from nutwist.config.base import Source
from nutwist.config.users import parse as parse_users

DEV = "ups.status: OL\nups.id: rack1\nbattery.charge: 90\n"
READY = {b"GET VAR dev ups.status\n": b'VAR dev ups.status "OL"\n'}

USERS = """[admin]
\tpassword = pw
\tactions = SET FSD
\tinstcmds = ALL
\tupsmon primary
[gone]
\tpassword = gp
\tactions = SET FSD
\tinstcmds = ALL
\tupsmon primary
"""
# the reload: admin's password changes, gone is deleted
USERS_AFTER = """[admin]
\tpassword = newpw
\tactions = SET FSD
\tinstcmds = ALL
\tupsmon primary
"""


class Server:
    """nutwist's upsd (``twistd nut upsd``, its own dummy-ups) or NUT's C upsd and dummy-ups."""

    def __init__(
        self, tmp: Path, which: str, users: str, mode: int = 0o640, upsd_conf: str = ""
    ) -> None:
        self.which = which
        self.conf = tmp / "conf"
        self.state = tmp / "state"
        self.conf.mkdir(parents=True)
        self.state.mkdir(mode=0o750)
        self.state.chmod(0o750)
        self.log = tmp / "upsd.log"
        self.port = free_port()
        (tmp / "ups.dev").write_text(DEV)
        (self.conf / "ups.conf").write_text(
            f"[dev]\n\tdriver = dummy-ups\n\tport = {tmp}/ups.dev\n"
        )
        (self.conf / "upsd.conf").write_text(f"LISTEN 127.0.0.1 {self.port}\n{upsd_conf}")
        (self.conf / "upsd.users").write_text(users)
        for f in self.conf.iterdir():
            f.chmod(mode)
        self.procs: list[NutProcess] = []
        env = nut_env(self.conf, self.state)
        if which == "nut":
            self.procs.append(
                NutProcess(["/lib/nut/dummy-ups", "-a", "dev", "-u", "root", "-F"], env, tmp / "d")
            )
            wait_for_socket(self.state / "dummy-ups-dev", probe=False)
            self.procs.append(NutProcess(["/lib/nut/upsd", "-u", "root", "-F"], env, self.log))
        else:
            self.procs.append(start_nutwist_upsd(self.conf, self.state, self.log))
        wait_for_port(self.port)
        wait_for_answers(self.port, READY)

    @property
    def upsd(self) -> NutProcess:
        return self.procs[-1]

    def stop(self) -> None:
        for p in reversed(self.procs):
            p.stop()


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    started: list[Server] = []

    def start(
        which: str = "nutwist", users: str = USERS, mode: int = 0o640, upsd_conf: str = ""
    ) -> Server:
        if which == "nut":
            require_nut("upsd", "dummy-ups")
        s = Server(tmp_path / f"{which}{len(started)}", which, users, mode, upsd_conf)
        started.append(s)
        return s

    yield start
    for s in started:
        s.stop()
    for s in started:
        if s.which == "nutwist":
            assert "Traceback" not in s.log.read_text()


class Session:
    """One client connection, one request line at a time."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.f = self.sock.makefile("rwb")

    def ask(self, line: str) -> str:
        self.f.write(line.encode() + b"\n")
        self.f.flush()
        return self.f.readline().decode().rstrip("\n")

    def close(self) -> None:
        self.sock.close()


def login(port: int, user: str, password: str) -> tuple[Session, list[str]]:
    s = Session(port)
    return s, [s.ask(f"USERNAME {user}"), s.ask(f"PASSWORD {password}"), s.ask("LOGIN dev")]


# --- 2: a reload reaches the sessions that logged in before ---------------------------------


def reload_revokes(server: Server) -> list[list[str]]:
    admin, a = login(server.port, "admin", "pw")
    gone, g = login(server.port, "gone", "gp")
    assert a == g == ["OK", "OK", "OK"]
    before = [admin.ask("SET VAR dev ups.id x"), admin.ask("INSTCMD dev load.off")]
    assert before == ["OK", "OK"]
    (server.conf / "upsd.users").write_text(USERS_AFTER)
    os.kill(server.upsd.proc.pid, signal.SIGHUP)
    deadline = time.monotonic() + 15
    while True:  # the reload is done when the new password works
        fresh, answers = login(server.port, "admin", "newpw")
        fresh.close()
        if answers == ["OK", "OK", "OK"]:
            break
        assert time.monotonic() < deadline, answers
        time.sleep(0.1)
    out = []
    for s in (admin, gone):
        out.append(
            [
                s.ask(x)
                for x in ("SET VAR dev ups.id y", "INSTCMD dev load.off", "FSD dev", "PRIMARY dev")
            ]
        )
        s.close()
    return out


# NUT 2.8.0, same steps: every command that checks the password is refused after the
# reload; the sessions stay logged in (NUMLOGINS does not drop)
REVOKED = ["ERR ACCESS-DENIED"] * 4


def test_reload_revokes_sessions_whose_password_changed(servers: Callable[..., Server]) -> None:
    assert reload_revokes(servers()) == [REVOKED, REVOKED]


@pytest.mark.nut
def test_reload_revokes_as_nut_does(servers: Callable[..., Server]) -> None:
    assert reload_revokes(servers("nut")) == [REVOKED, REVOKED]


# --- 3: throttling per (user, address); a valid pair is never locked out -----------------------


def test_guesses_never_lock_out_upsmon(tmp_path: Path) -> None:
    state, clock, _ = make_state(tmp_path)
    state.users = parse_users(
        Source.from_text(
            "[mon]\n password = mp\n upsmon primary\n[admin]\n password = ap\n actions = FSD\n",
            "upsd.users",
        )
    )
    mon, mt = client(state)
    mon.dataReceived(b"USERNAME mon\nPASSWORD mp\nLOGIN u\n")
    assert mt.value() == b"OK\nOK\nOK\n"
    # a client without credentials: wrong users, wrong passwords, many times, same address
    for i in range(30):
        bad, bt = client(state)
        user = (b"nobody", b"admin", b"mon")[i % 3]
        bad.dataReceived(b"USERNAME " + user + b"\nPASSWORD guess%d\nLOGIN u\n" % i)
        assert bt.value().endswith(b"ERR ACCESS-DENIED\n")
    # upsmon reconnects (as after a network blip) with its valid pair: it gets in
    again, at = client(state)
    again.dataReceived(b"USERNAME mon\nPASSWORD mp\nLOGIN u\nPRIMARY u\n")
    assert at.value() == b"OK\nOK\nOK\nOK PRIMARY-GRANTED\n"
    # another user was never attacked: not locked out either
    other, ot = client(state)
    state.users.users["other"] = parse_users(
        Source.from_text("[other]\n password = op\n actions = FSD\n", "upsd.users")
    ).users["other"]
    other.dataReceived(b"USERNAME other\nPASSWORD op\nFSD u\n")
    assert ot.value() == b"OK\nOK\nOK FSD-SET\n"
    # and throttling still holds: admin, attacked, is locked for a pair never seen before
    late, lt = client(state)
    late.dataReceived(b"USERNAME admin\nPASSWORD ap\nFSD u\n")
    assert lt.value() == b"OK\nOK\nERR ACCESS-DENIED\n"
    clock.advance(61)
    late2, lt2 = client(state)
    late2.dataReceived(b"USERNAME admin\nPASSWORD ap\nFSD u\n")
    assert lt2.value() == b"OK\nOK\nOK FSD-SET\n"


# --- 4: scrypt off the reactor; the same work for unknown users ---------------------------------

FLOOD = 200
#: the bound on a polite client's p99 latency while the flood runs
POLITE_P99_MAX = 0.050


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def flood(port: int, n: int) -> list[bytes]:
    """``n`` wrong guesses at once, each on its own connection; their answers."""
    sel = selectors.DefaultSelector()
    socks = []
    for i in range(n):
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.setblocking(False)
        user = b"mon" if i % 4 == 0 else b"ghost%d" % i
        s.sendall(b"USERNAME " + user + b"\nPASSWORD wrong%d\nLOGIN dev\n" % i)
        sel.register(s, selectors.EVENT_READ, [b""])
        socks.append(s)
    done: list[bytes] = []
    deadline = time.monotonic() + 120
    while len(done) < n and time.monotonic() < deadline:
        for key, _ in sel.select(timeout=1):
            data = key.fileobj.recv(4096)  # type: ignore[union-attr]
            key.data[0] += data
            if key.data[0].count(b"\n") >= 3 or not data:
                done.append(key.data[0])
                sel.unregister(key.fileobj)
    for s in socks:
        s.close()
    return done


def test_scrypt_flood_leaves_other_clients_fast(servers: Callable[..., Server]) -> None:
    hashed = auth.hash_password("right-one")
    # throttling off: only the verifier's bounded queue stands between the flood and scrypt
    server = servers(
        users=f'[mon]\n\tpassword = "{hashed}"\n\tupsmon primary\n',
        upsd_conf="LOGIN_THROTTLE 0 60\n",
    )
    polite = Session(server.port)
    assert polite.ask("GET VAR dev ups.status") == 'VAR dev ups.status "OL"'
    quiet = []
    for _ in range(100):
        t0 = time.perf_counter()
        polite.ask("GET VAR dev battery.charge")
        quiet.append(time.perf_counter() - t0)
    answers: list[bytes] = []
    runner = threading.Thread(target=lambda: answers.extend(flood(server.port, FLOOD)))
    busy = []
    t_start = time.perf_counter()
    runner.start()
    while runner.is_alive() or len(busy) < 200:
        t0 = time.perf_counter()
        assert polite.ask("GET VAR dev battery.charge") == 'VAR dev battery.charge "90"'
        busy.append(time.perf_counter() - t0)
    runner.join()
    took = time.perf_counter() - t_start
    polite.close()
    assert len(answers) == FLOOD
    assert all(a.endswith(b"ERR ACCESS-DENIED\n") for a in answers), answers[:3]
    p50, p99 = _percentile(busy, 0.5), _percentile(busy, 0.99)
    print(
        f"\npolite GET VAR latency: quiet p50 {_percentile(quiet, 0.5) * 1e3:.2f} ms "
        f"p99 {_percentile(quiet, 0.99) * 1e3:.2f} ms; during {FLOOD} wrong guesses "
        f"({took:.2f} s, {len(busy)} requests) p50 {p50 * 1e3:.2f} ms p99 {p99 * 1e3:.2f} ms "
        f"max {max(busy) * 1e3:.2f} ms"
    )
    assert p99 < POLITE_P99_MAX, f"p99 {p99 * 1e3:.1f} ms"
    # and the valid pair gets in right after the flood
    mon, a = login(server.port, "mon", "right-one")
    assert a == ["OK", "OK", "OK"]
    mon.close()


def _answer_time(port: int, user: str) -> float:
    s = Session(port)
    s.ask(f"USERNAME {user}")
    s.ask("PASSWORD not-it")
    t0 = time.perf_counter()
    assert s.ask("LOGIN dev") == "ERR ACCESS-DENIED"
    took = time.perf_counter() - t0
    s.close()
    return took


def test_unknown_user_costs_as_much_as_a_hashed_one(servers: Callable[..., Server]) -> None:
    hashed = auth.hash_password("secret")
    server = servers(users=f'[mon]\n\tpassword = "{hashed}"\n\tupsmon primary\n')
    known, unknown = [], []
    for i in range(8):  # below the throttle's 10 failures
        known.append(_answer_time(server.port, "mon"))
        unknown.append(_answer_time(server.port, f"nobody{i}"))
    k, u = statistics.median(known), statistics.median(unknown)
    print(f"\nwrong password: hashed user {k * 1e3:.1f} ms, unknown user {u * 1e3:.1f} ms")
    assert 0.5 < u / k < 2, (k, u)


class FakeVerifier:
    """A verifier whose answers the test releases by hand."""

    max_pending = 16

    def __init__(self) -> None:
        self.calls: list[tuple[defer.Deferred[bool], str, str]] = []

    def verify(self, stored: str, given: str) -> defer.Deferred[bool]:
        d: defer.Deferred[bool] = defer.Deferred()
        self.calls.append((d, stored, given))
        return d


def test_answers_stay_in_order_while_a_check_runs(tmp_path: Path) -> None:
    state, _, _ = make_state(tmp_path)
    hashed = auth.hash_password("mp", n=1024)
    state.users = parse_users(
        Source.from_text(f'[mon]\n password = "{hashed}"\n upsmon primary\n', "upsd.users")
    )
    fake = FakeVerifier()
    state.verifier = fake  # type: ignore[assignment]
    p, t = client(state)
    p.dataReceived(b"USERNAME mon\nPASSWORD mp\nLOGIN u\nGET VAR u ups.status\nVER")
    assert t.value() == b"OK\nOK\n" and len(fake.calls) == 1  # LOGIN waits for its check
    p.dataReceived(b"\nPRIMARY u\n")
    assert t.value() == b"OK\nOK\n"
    d, stored, given = fake.calls[0]
    assert (stored, given) == (hashed, "mp")
    d.callback(auth.verify_password(stored, given))
    assert t.value().startswith(b'OK\nOK\nOK\nVAR u ups.status "OL"\nNetwork UPS Tools upsd ')
    assert t.value().endswith(b"\nOK PRIMARY-GRANTED\n") and len(fake.calls) == 1
    # an unknown user: checked against a hash as costly as mon's, off the reactor too
    q, u = client(state)
    q.dataReceived(b"USERNAME ghost\nPASSWORD x\nFSD u\n")
    assert u.value() == b"OK\nOK\n" and len(fake.calls) == 2
    dummy = auth.parse_scrypt(fake.calls[1][1])
    assert dummy.params == auth.parse_scrypt(hashed).params
    fake.calls[1][0].callback(False)
    assert u.value() == b"OK\nOK\nERR ACCESS-DENIED\n"
    # quoted words (the tokenizer's path), and a read cut mid-line while waiting
    r, v = client(state)
    r.dataReceived(b'USERNAME "mon"\nPASSWORD "mq"\nFSD "u"\nGET VAR "u" "ups.')
    assert v.value() == b"OK\nOK\n" and len(fake.calls) == 3
    r.dataReceived(b'load"\nLIST UPS\n')
    fake.calls[2][0].callback(False)
    assert v.value() == (
        b'OK\nOK\nERR ACCESS-DENIED\nERR VAR-NOT-SUPPORTED\nBEGIN LIST UPS\nUPS u "desc"\nEND LIST UPS\n'
    )


# --- 7: NUT's warning for world-readable configuration files -------------------------------------


def test_world_readable_files_are_warned_about(servers: Callable[..., Server]) -> None:
    server = servers(mode=0o644)
    # NUT 2.8.0's upsd prints "<path> is world readable" for each
    wanted = [
        f"{server.conf}/upsd.conf is world readable",
        f"{server.conf}/upsd.users is world readable",
    ]
    deadline = time.monotonic() + 10
    while not all(w in server.log.read_text() for w in wanted):
        assert time.monotonic() < deadline, server.log.read_text()
        time.sleep(0.05)
    assert "ups.conf is world readable" not in server.log.read_text()


@pytest.mark.nut
def test_world_readable_warning_is_nuts(servers: Callable[..., Server]) -> None:
    nut = servers("nut", mode=0o644)
    ours = servers(mode=0o644)

    def warnings(s: Server) -> set[str]:
        found = re.findall(r"(\S+) is world readable", s.log.read_text())
        return {f.replace(str(s.conf), "<conf>") for f in found if f.startswith(str(s.conf))}

    deadline = time.monotonic() + 10
    while warnings(ours) != warnings(nut) or not warnings(nut):
        assert time.monotonic() < deadline, (warnings(ours), warnings(nut))
        time.sleep(0.05)
    assert warnings(nut) == {"<conf>/upsd.conf", "<conf>/upsd.users"}


# --- 10: malformed scrypt entries; the whole digest compared ------------------------------------

_GOOD = auth.hash_password("x", n=1024, salt=b"0123456789abcdef")
_SALT = _GOOD.split("$")[3]
MALFORMED = [
    f"$scrypt$n=1024,r=8,p=1${_SALT}$" + _GOOD.split("$")[4][:2],  # a 1-byte digest
    f"$scrypt$n=1024,r=8,p=1${_SALT}$",  # no digest
    f"$scrypt$n=-1,r=8,p=1${_SALT}$" + _GOOD.split("$")[4],  # TypeError in hashlib
    f"$scrypt$n=1024,r=8,p=99999999999999999999${_SALT}$" + _GOOD.split("$")[4],
    f"$scrypt$n=1000,r=8,p=1${_SALT}$" + _GOOD.split("$")[4],  # not a power of 2
    "$scrypt$n=1024,r=8$c2FsdA$ZGln",
    "$scrypt$n=1024,r=8,p=1$!!!$" + _GOOD.split("$")[4],
    "$scrypt$garbage",
]


def test_malformed_hashes_are_errors_and_never_match(tmp_path: Path) -> None:
    text = "".join(
        f'[u{i}]\n\tpassword = "{h}"\n\tactions = FSD\n' for i, h in enumerate(MALFORMED)
    )
    users = parse_users(Source.from_text(text, "upsd.users"))
    errors = [str(d) for d in users.diagnostics if d.is_error]
    assert len(errors) == len(MALFORMED)
    for i, e in enumerate(errors):
        assert e.startswith(f"upsd.users:{2 + 3 * i}: ") and "malformed scrypt hash" in e, e
    state, _, _ = make_state(tmp_path, "LOGIN_THROTTLE 0 60\n")
    state.users = users
    # the truncated digest: 600 random guesses, none accepted (2 of 600 were before)
    accepted = 0
    for n in range(600):
        p, t = client(state)
        p.dataReceived(b"USERNAME u0\nPASSWORD guess%d\nFSD u\n" % n)
        accepted += t.value().endswith(b"OK FSD-SET\n")
    assert accepted == 0
    for i in range(1, len(MALFORMED)):  # no traceback: a plain refusal
        p, t = client(state)
        p.dataReceived(b"USERNAME u%d\nPASSWORD x\nFSD u\n" % i)
        assert t.value() == b"OK\nOK\nERR ACCESS-DENIED\n", MALFORMED[i]


def test_check_config_reports_a_malformed_hash(tmp_path: Path) -> None:
    (tmp_path / "upsd.users").write_text(
        f'[mon]\n\tpassword = "{MALFORMED[0]}"\n\tupsmon primary\n'
    )
    (tmp_path / "upsd.users").chmod(0o640)
    out = subprocess.run(
        [sys.executable, "-m", "nutwist.cli.main", "check-config", "--confdir", str(tmp_path)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert out.returncode == 1
    assert f"{tmp_path}/upsd.users:2: error: password: malformed scrypt hash" in out.stdout


def test_the_whole_digest_is_compared() -> None:
    salt = b"fedcba9876543210"
    wrong = auth.hash_password("wrong", n=1024, salt=salt)
    digest = hashlib.scrypt(b"wrong", salt=salt, n=1024, r=8, p=1, dklen=32)
    # an entry whose digest matches "wrong" in every byte but the last
    near = wrong.rsplit("$", 1)[0] + "$" + auth._b64(digest[:-1] + bytes([digest[-1] ^ 1]))
    assert not auth.verify_password(near, "wrong")
    assert auth.verify_password(wrong, "wrong")


def test_waiting_for_a_check_changes_no_answer(tmp_path: Path) -> None:
    """Random request streams, cut into random reads: the same answers whether the
    password check runs inline or off the reactor (answered later, by hand)."""
    hashed = auth.hash_password("mp", n=16)
    users = parse_users(
        Source.from_text(
            f'[mon]\n password = "{hashed}"\n upsmon primary\n actions = SET\n', "upsd.users"
        )
    )
    lines = [
        b"USERNAME mon\n", b'USERNAME "mon"\n', b"PASSWORD mp\n", b'PASSWORD "mq"\n',
        b"LOGIN u\n", b"FSD u\n", b"GET VAR u ups.status\n", b'GET VAR "u" ups.id\n',
        b"VER\n", b"LIST UPS\n", b'SET VAR u ups.id "a b"\n', b"PRIMARY u\n",
        b'"unterminated #x"\n', b"HELP\n", b"GET VAR u" + b" x" * 300 + b"\n",
    ]  # fmt: skip
    rng = random.Random(20)
    for _ in range(1000):
        stream = b"".join(rng.choice(lines) for _ in range(rng.randint(1, 30)))
        cuts = sorted(rng.sample(range(1, len(stream)), min(len(stream) - 1, rng.randint(0, 6))))
        reads = [stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True)]
        answers = []
        for off_reactor in (False, True):
            state, _, _ = make_state(tmp_path)
            state.users = users
            fake = FakeVerifier()
            if off_reactor:
                state.verifier = fake  # type: ignore[assignment]
            p, t = client(state)
            done = 0
            for data in reads:
                p.dataReceived(data)
                while done < len(fake.calls):
                    d, stored, given = fake.calls[done]
                    done += 1
                    d.callback(auth.verify_password(stored, given))
            answers.append(t.value())
        assert answers[0] == answers[1], reads
