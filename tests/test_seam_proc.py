"""The process leaf and the one way to open a session (issue 22's process half)."""

from __future__ import annotations

import os
import signal
from typing import Any

import pytest
from twisted.internet import defer

from nutwist import process
from nutwist.client import errors
from nutwist.client.session import Backoff, Credentials, Refusals, ignore, log_in
from nutwist.services.top import ProcessService

# --- ProcessService ------------------------------------------------------------------------------


class _Reactor:
    """Runs at once what the reactor would run soon."""

    def callWhenRunning(self, f: Any, *a: Any) -> None:
        f(*a)

    def callFromThread(self, f: Any, *a: Any) -> None:
        f(*a)


def test_the_top_service_owns_the_signals_and_runs_every_action() -> None:
    ran: list[str] = []

    def broken() -> None:
        ran.append("broken")
        raise RuntimeError("reload failed")

    top = ProcessService(
        {signal.SIGUSR2: [broken, lambda: ran.append("second")]}, reactor=_Reactor()
    )
    old = signal.getsignal(signal.SIGUSR2)
    try:
        top.startService()
        os.kill(os.getpid(), signal.SIGUSR2)
        # one part's failed reload never keeps the others from theirs
        assert ran == ["broken", "second"]
    finally:
        signal.signal(signal.SIGUSR2, old)
        top.stopService()


def test_no_signals_no_handlers() -> None:
    old = signal.getsignal(signal.SIGUSR2)
    top = ProcessService(reactor=_Reactor())
    top.startService()
    assert signal.getsignal(signal.SIGUSR2) is old
    top.stopService()


# --- the background ---------------------------------------------------------------------------


@pytest.mark.parametrize("ready", [True, False, None])
def test_the_parent_hears_whether_the_child_is_ready(ready: bool | None) -> None:
    pid, fd = process.fork_with_pipe()
    if pid == 0:
        if ready is not None:
            process.signal_ready(fd, ok=ready)
        os._exit(0)
    got = process.read_ready(fd)
    os.waitpid(pid, 0)
    assert got == {True: process.READY, False: process.NOT_READY, None: b""}[ready]


def test_pidfile_replaces_a_planted_link(tmp_path: Any) -> None:
    victim = tmp_path / "victim"
    victim.write_text("keep\n")
    pidfile = tmp_path / "d.pid"
    pidfile.symlink_to(victim)
    process.write_pidfile(str(pidfile))
    assert victim.read_text() == "keep\n"
    assert not pidfile.is_symlink() and process.read_pid(str(pidfile)) == os.getpid()
    assert process.alive(os.getpid())


# --- log_in ---------------------------------------------------------------------------------------


class _Client:
    """Answers OK to everything but the verbs in ``refuse``; records what was sent."""

    def __init__(self, refuse: tuple[str, ...] = ()) -> None:
        self.sent: list[str] = []
        self.refuse = refuse

    def _answer(self, line: str) -> defer.Deferred[str]:
        self.sent.append(line)
        if line.split(" ", 1)[0] in self.refuse:
            return defer.fail(errors.error_for("ERR ACCESS-DENIED"))
        return defer.succeed("OK")

    def raw(self, line: str) -> defer.Deferred[str]:
        return self._answer(line)

    def login(self, ups: str) -> defer.Deferred[str]:
        return self._answer(f"LOGIN {ups}")

    def primary(self, ups: str) -> defer.Deferred[str]:
        return self._answer(f"PRIMARY {ups}")

    def secure(self, settings: Any, host: str) -> defer.Deferred[bool]:
        return self._answer(f"STARTTLS {settings} {host}").addCallback(lambda _: True)

    def starttls_try(self) -> defer.Deferred[bool]:
        return self._answer("STARTTLS").addCallback(lambda _: False)


def _run(coro: Any) -> Any:
    d = defer.ensureDeferred(coro)
    out: list[Any] = []
    d.addBoth(out.append)
    assert out, "log_in waited on something"
    return out[0]


def test_log_in_sends_the_steps_in_nuts_order() -> None:
    c = _Client()
    creds = Credentials(username="mon", password="p w", login="u", primary="u")
    assert _run(log_in(c, "h", tls="T", credentials=creds)) is None  # type: ignore[arg-type]
    assert c.sent == ["STARTTLS T h", "USERNAME mon", 'PASSWORD "p w"', "LOGIN u", "PRIMARY u"]


def test_log_in_leaves_out_what_it_was_not_given() -> None:
    c = _Client()
    _run(log_in(c, "h", credentials=Credentials(login="u")))  # type: ignore[arg-type]
    assert c.sent == ["LOGIN u"]
    c = _Client()
    _run(log_in(c, "h", try_starttls=True))  # type: ignore[arg-type]
    assert c.sent == ["STARTTLS"]


def test_an_empty_word_goes_bare_only_when_asked() -> None:
    c = _Client()
    _run(log_in(c, "h", credentials=Credentials(username="", password="")))  # type: ignore[arg-type]
    assert c.sent == ['USERNAME ""', 'PASSWORD ""']
    c = _Client()
    creds = Credentials(username="", password="", bare_empty=True)
    _run(log_in(c, "h", credentials=creds))  # type: ignore[arg-type]
    assert c.sent == ["USERNAME ", "PASSWORD "]


def test_a_refusal_stops_unless_the_caller_says_otherwise() -> None:
    creds = Credentials(username="m", password="p", login="u")
    c = _Client(refuse=("USERNAME",))
    result = _run(log_in(c, "h", credentials=creds))  # type: ignore[arg-type]
    assert result.check(errors.AccessDenied) and c.sent == ["USERNAME m"]
    c = _Client(refuse=("USERNAME",))
    _run(log_in(c, "h", credentials=creds, refused=Refusals(username=ignore)))  # type: ignore[arg-type]
    assert c.sent == ["USERNAME m", "PASSWORD p", "LOGIN u"]


def test_backoff_doubles_up_to_its_most() -> None:
    b = Backoff(8.0)
    assert b.ready("u", 0.0)
    waits = []
    now = 0.0
    for _ in range(6):
        b.failed("u", now)
        later = now
        while not b.ready("u", later):
            later += 0.5
        waits.append(later - now)
        now = later
    assert waits == [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    b.succeeded("u")
    assert b.ready("u", now)
