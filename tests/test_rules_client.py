"""Client command rules without NUT or sockets.

``upsc -J`` (typed JSON), checked as text against an in-memory upsd over iosim: a
variable upsd types NUMBER prints as a JSON number written as upsd sent it (``88`` stays
``88``, an integer, not ``88.0``; ``230.1`` stays ``230.1``); anything else, and a STRING
variable that looks like a number, prints as a JSON string.

upslog: a fatal error while reconnecting ends it with that error's status.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from twisted.internet import defer
from twisted.internet.task import Clock
from twisted.test import iosim

from nutwist.cli import upsc
from nutwist.client import NutClient
from nutwist.config.base import Source
from nutwist.config.ups import UpsSection
from nutwist.config.upsd import parse as parse_upsd
from nutwist.config.users import parse as parse_users
from nutwist.drivers.dummy_ups import DummyUps
from nutwist.model import cmdvartab
from nutwist.protocols.net import NetServerProtocol
from nutwist.services.driverlink import DriverLink
from nutwist.services.upsd import UpsdState, UpsEntry

DEV = """\
ups.status: OL
battery.charge: 88
battery.runtime: 1200
input.voltage: 230.1
ups.temperature: -5
ups.mfr: 1234
ups.id: 042
"""


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    (tmp_path / "u.dev").write_text(DEV)
    clock = Clock()
    d = DummyUps(
        "u", UpsSection("u", 1, values={"port": "u.dev"}), confdir=str(tmp_path), clock=clock
    )
    d.start()
    link = DriverLink("u", clock=clock, driver=d)
    link.start()
    state = UpsdState(
        clock,
        parse_upsd(Source.from_text("", "upsd.conf")),
        parse_users(Source.from_text("", "upsd.users")),
        cmdvartab.default(),
    )
    state.add_ups(UpsEntry("u", None, link))
    pumps: list[iosim.IOPump] = []

    def connect(reactor: Any, host: str, port: int, **kw: Any) -> defer.Deferred[NutClient]:
        server = NetServerProtocol(state, "127.0.0.1")
        client = NutClient(clock, timeout=10)
        pumps.append(
            iosim.connect(
                server, iosim.makeFakeServer(server), client, iosim.makeFakeClient(client),
                greet=False,
            )
        )  # fmt: skip
        return defer.succeed(client)

    monkeypatch.setattr(upsc, "connect", connect)

    def run(*argv: str) -> str:
        opts, args = upsc.parse_args(list(argv))
        opts["authconf"] = "none"
        done = defer.ensureDeferred(upsc.run(clock, opts, args))
        for _ in range(200):
            if done.called:
                break
            for p in pumps:
                p.flush()
            clock.advance(0)
        assert done.called
        result: list[Any] = []
        done.addBoth(result.append)
        assert result == [0], result
        return str(result)

    return run


def test_upsc_J_prints_integers_as_integers(
    served: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    served("-J", "u@127.0.0.1")
    out = capsys.readouterr().out
    data = json.loads(out)
    assert '"battery.charge": 88,' in out  # not 88.0
    assert type(data["battery.charge"]) is int
    assert '"battery.runtime": 1200,' in out
    assert type(data["ups.temperature"]) is int and data["ups.temperature"] == -5
    assert '"input.voltage": 230.1,' in out
    # ups.mfr is a string variable, whatever it looks like
    assert data["ups.mfr"] == "1234"
    assert data["ups.status"] == "OL"


def test_upsc_J_one_variable(served: Any, capsys: pytest.CaptureFixture[str]) -> None:
    served("-J", "u@127.0.0.1", "battery.charge")
    assert capsys.readouterr().out == "88\n"
    served("-J", "u@127.0.0.1", "input.voltage")
    assert capsys.readouterr().out == "230.1\n"
    served("-J", "u@127.0.0.1", "ups.id")
    assert capsys.readouterr().out == '"042"\n'


def test_upsc_j_prints_every_value_as_a_string(
    served: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    served("-j", "u@127.0.0.1", "battery.charge")
    assert capsys.readouterr().out == '"88"\n'


# --- upslog: a fatal error on a reconnection --------------------------------------------------


def test_upslog_ends_with_the_fatal_line_of_a_reconnection(tmp_path: Path) -> None:
    """cc.fatal while reconnecting (a CERTPATH upslog can no longer read, say) reaches
    upslog's main loop as the Exit it is, which ends upslog with its one Error line;
    it used to arrive wrapped in a FirstError and print a traceback."""
    from test_upslog import make_logger, start

    from nutwist.cli import clientcommon as cc

    logger, clock, net, _, _ = make_logger(tmp_path, interval=1)
    done = start(logger)
    plain_connect = net.__call__

    async def fatal_on_reconnect(host: str, port: int, first: bool) -> NutClient:
        if not first:
            cc.fatal("Error: CERTPATH /x: No such file or directory")
        return await plain_connect(host, port, first)

    logger.connector = fatal_on_reconnect
    net.drop("h1")
    clock.advance(1)
    clock.advance(1)
    failures: list[Any] = []
    done.addErrback(failures.append)
    assert len(failures) == 1
    assert isinstance(failures[0].value, cc.Exit) and failures[0].value.status == 1
