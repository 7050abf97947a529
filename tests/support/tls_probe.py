"""Connect with nutwist's client library and given TLS settings; print what happened.

``python tls_probe.py HOST PORT UPS VAR '{"certpath": ..., "certverify": true, ...}'``
prints ``OK <value> tls=<0|1>`` or ``ERR <ErrorClass> <message>``.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from twisted.internet import defer, task

from nutwist.client import connect, errors
from nutwist.tls.context import ClientTls, TlsConfigError


async def main(reactor: Any) -> None:
    host, port, ups, var, raw = sys.argv[1:6]
    settings = ClientTls(**json.loads(raw)) if raw != "none" else None
    try:
        client = await connect(reactor, host, int(port), timeout=10)
        tls = await client.secure(settings, host)
        value = await client.get_var(ups, var)
        print(f"OK {value} tls={int(bool(tls))}")
        await client.logout()
    except errors.NutError as e:
        print(f"ERR {type(e).__name__} {e.message}")
    except TlsConfigError as e:
        print(f"ERR TlsConfigError {e}")


task.react(lambda r: defer.ensureDeferred(main(r)))
