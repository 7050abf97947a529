"""UPS names and server addresses as NUT 2.8.0's client library reads them.

``split_name`` and ``split_addr`` read ``ups[@host[:port]]`` and ``host[:port]``
with the rules, and the complaints, of NUT's upscli_splitname/upscli_splitaddr:
the command-line clients, upslog and the repeater driver all name UPSes this way.
"""

from __future__ import annotations

from nutwist.model.state import strtol

DEFAULT_PORT = 3493


class AddrError(ValueError):
    """A ``host[:port]`` NUT's library refuses; the message is its stderr line."""


def split_addr(text: str) -> tuple[str, int]:
    """``host[:port]`` or ``[v6-literal][:port]`` as NUT's upscli_splitaddr reads it."""
    if not text:
        raise AddrError("upscli_splitaddr: can't parse empty string")
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise AddrError("upscli_splitaddr: missing closing bracket in [domain literal]")
        host, rest = text[1:end], text[end + 1 :]
        if not rest.startswith(":"):
            return host, DEFAULT_PORT
        port_text = rest[1:]
    else:
        stripped = text.lstrip(":")
        host, sep, port_text = stripped.partition(":")
        if not host:
            raise AddrError("upscli_splitaddr: strtok_r error")
        if not sep:
            return host, DEFAULT_PORT
    port = strtol(port_text)
    if not port_text or port < 1 or port > 65535:
        raise AddrError("upscli_splitaddr: no port specified after ':' separator")
    return host, port


def split_name(text: str) -> tuple[str, str, int]:
    """``ups[@host[:port]]`` as NUT's upscli_splitname reads it; localhost by default.

    The UPS name is the first run of characters without an ``@`` (NUT cuts it with
    strtok, so ``@h`` names UPS ``h`` on host ``h``); the host is whatever follows
    the first ``@``.
    """
    if not text:
        raise AddrError("upscli_splitname: can't parse empty string")
    ups = next((part for part in text.split("@") if part), None)
    if ups is None:
        raise AddrError("upscli_splitname: strdup failed")
    at = text.find("@")
    if at < 0:
        return ups, "localhost", DEFAULT_PORT
    host, port = split_addr(text[at + 1 :])
    return ups, host, port
