"""nutwist's client for the NUT network protocol: Twisted, pipelined, typed errors.

>>> client = await connect(reactor, "127.0.0.1")
>>> await client.list_var("myups")
{'battery.charge': '100', ...}

:class:`NutClient` is one connection; :func:`connect` makes one;
:class:`NutSession` keeps one alive and logged in across reconnects.
"""

from nutwist.client import errors
from nutwist.client.protocol import NutClient, connect
from nutwist.client.session import NutSession

__all__ = ["NutClient", "NutSession", "connect", "errors"]
