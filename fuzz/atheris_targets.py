"""Coverage-guided fuzzing with atheris (deeper than the hypothesis runs in the suite).

    .venv/bin/pip install atheris
    .venv/bin/python fuzz/atheris_targets.py net  -max_total_time=600
    .venv/bin/python fuzz/atheris_targets.py sock -runs=1000000
    .venv/bin/python fuzz/atheris_targets.py conf
    .venv/bin/python fuzz/atheris_targets.py seq

Targets: ``net`` (upsd's request handling, one connection), ``sock`` (both ends of
the driver socket), ``conf`` (every configuration file parser), ``seq`` (the
dummy-ups ``.dev``/``.seq`` reader).  Any exception other than the documented
ones is a finding: atheris stops and writes the input to ``crash-*``.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))


def _net() -> Any:
    from test_upsd_unit import client, make_state

    state, _, _ = make_state(Path(tempfile.mkdtemp()))

    def one(data: bytes) -> None:
        p, _ = client(state)
        p.dataReceived(data)
        p.connectionLost(None)

    return one


def _sock() -> Any:
    from twisted.internet.task import Clock
    from twisted.internet.testing import StringTransport

    from nutwist.protocols.sock import DriverServerProtocol
    from nutwist.services.driverlink import DriverLink, _LinkProtocol

    class Backend:
        def dump(self) -> list[list[str]]:
            return [["SETINFO", "ups.status", "OL"]]

        def handle_instcmd(self, *a: Any) -> None:
            pass

        def handle_setvar(self, *a: Any) -> None:
            pass

        def attach(self, listener: Any) -> None:
            pass

        def detach(self, listener: Any) -> None:
            pass

    def one(data: bytes) -> None:
        server = DriverServerProtocol(Backend())  # type: ignore[arg-type]
        server.makeConnection(StringTransport())
        server.dataReceived(data)
        clock = Clock()
        link = DriverLink("u", clock=clock, socket_path="/nonexistent", reactor=clock)
        proto = _LinkProtocol(link)
        proto.makeConnection(StringTransport())
        proto.dataReceived(data)

    return one


def _conf() -> Any:
    from nutwist.config import ups, upsd, upsmon, upssched, users
    from nutwist.config.base import Source

    parsers = [ups.parse, upsd.parse, users.parse, upsmon.parse, upssched.parse]

    def one(data: bytes) -> None:
        text = data.decode("latin-1")
        for parse in parsers:
            parse(Source.from_text(text, "fuzz.conf"))

    return one


def _seq() -> Any:
    from nutwist.config.base import Diagnostics, Source
    from nutwist.drivers.dummy_ups import parse_data

    def one(data: bytes) -> None:
        parse_data(Source.from_text(data.decode("latin-1"), "fuzz.seq"), Diagnostics("fuzz.seq"))

    return one


TARGETS = {"net": _net, "sock": _sock, "conf": _conf, "seq": _seq}


def main() -> None:
    import atheris

    if len(sys.argv) < 2 or sys.argv[1] not in TARGETS:
        sys.exit(f"usage: {sys.argv[0]} {{{'|'.join(TARGETS)}}} [libFuzzer options]")
    with atheris.instrument_imports():
        target = TARGETS[sys.argv[1]]()
    atheris.Setup([sys.argv[0], *sys.argv[2:]], target)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
