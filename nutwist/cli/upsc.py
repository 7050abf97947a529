"""``upsc``: show a UPS's variables, the UPSes of a server, or a UPS's clients.

A drop-in for NUT 2.8.0's upsc: the same options (read up to the first
argument that is not one), output, error lines and exit codes.  ``-j`` (from
later NUT) prints JSON instead; ``-J`` does too, with numbers as JSON numbers
where the variable is numeric.
"""

from __future__ import annotations

import json
import re
import sys
from typing import Any

from nutwist.cli import clientcommon as cc
from nutwist.client import NutClient, connect

USAGE = """\
usage: upsc -l | -L [<hostname>[:port]]
       upsc <ups> [<variable>]
       upsc -c <ups>

Show what a NUT data server (upsd) knows.

  -l         the names of the UPSes on <hostname> (default: localhost)
  -L         the same, each with its description
  <ups>      <upsname>[@<hostname>[:<port>]]
  <variable> only this variable's value (default: every variable)
  -c         the addresses of the clients logged in to <ups>
  -j         JSON output (later NUT's layout)
  -J         JSON output, numbers as numbers where the UPS declares them numeric
  -A <file>  credentials file (nutauth.conf); 'default' or 'none'
  -h         this help
  -V         the version

Not in NUT 2.8.0's upsc: -j/-J (JSON) and -A (nutauth.conf: credentials, TLS settings).
"""

_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?\Z")


def usage() -> None:
    sys.stdout.write(cc.banner("upsc") + "\n\n" + USAGE)


def parse_args(argv: list[str]) -> tuple[dict[str, Any], list[str]]:
    opts: dict[str, Any] = {"list": False, "verbose": False, "clients": False, "json": None}
    found, args = cc.getopt(argv, "+hlLcVjJA:", sys.argv[0])
    for c, value in found:
        if c == "L":
            opts["list"] = opts["verbose"] = True
        elif c == "l":
            opts["list"] = True
        elif c == "c":
            opts["clients"] = True
        elif c == "j":
            opts["json"] = opts["json"] or "strings"
        elif c == "J":
            opts["json"] = "typed"
        elif c == "A":
            opts["authconf"] = value
        elif c == "V":
            # NUT 2.8.0's upsc says this on stderr
            cc.stderr(cc.banner("upsc"))
            raise cc.Exit(0)
        else:  # -h, and (as NUT) an unknown option: the help, exit 0
            usage()
            raise cc.Exit(0)
    return opts, args


def _emit_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, ensure_ascii=False) + "\n")


async def _typed(client: NutClient, ups: str, name: str, value: str) -> Any:
    """A numeric variable's value as a JSON number; anything else stays a string."""
    if not _NUMBER.match(value):
        return value
    words = await client.get_type(ups, name)
    if "NUMBER" not in words:
        return value
    return int(value) if re.fullmatch(r"-?\d+", value) else float(value)


async def run(reactor: Any, opts: dict[str, Any], args: list[str]) -> int:
    out = sys.stdout.write
    jmode = opts["json"]
    if opts["list"]:
        try:
            host, port = cc.split_addr(args[0]) if args else ("localhost", cc.DEFAULT_PORT)
        except cc.AddrError as e:
            cc.stderr(str(e))
            cc.fatal("Error: invalid hostname.\nRequired format: [hostname[:port]]")
        client = await connect(reactor, host, port)
        await cc.secure(client, opts.get("authconf"), None, host, port, opportunistic=True)
        upses = await client.list_ups()
        if jmode:
            _emit_json(upses if opts["verbose"] else list(upses))
        else:
            for name, desc in upses.items():
                out(f"{name}: {desc}\n" if opts["verbose"] else f"{name}\n")
        await client.logout()
        return 0
    if not args:
        cc.fatal(cc.BAD_UPS)
    ups, host, port = cc.parse_ups_or_die(args[0])
    client = await connect(reactor, host, port)
    await cc.secure(client, opts.get("authconf"), None, host, port, opportunistic=True)
    if opts["clients"]:
        clients = await client.list_client(ups)
        if jmode:
            _emit_json(clients)
        else:
            for addr in clients:
                out(addr + "\n")
        await client.logout()
        return 0
    if len(args) > 1:
        var = args[1]
        if "." not in var:
            cc.fatal("Error: old-style variable names are not supported")
        value = await client.get_var(ups, var)
        if jmode == "typed":
            _emit_json(await _typed(client, ups, var, value))
        elif jmode:
            _emit_json(value)
        else:
            out(value + "\n")
        await client.logout()
        return 0
    variables = await client.list_var(ups)
    if jmode == "typed":
        _emit_json({k: await _typed(client, ups, k, v) for k, v in variables.items()})
    elif jmode:
        _emit_json(variables)
    else:
        out("".join(f"{k}: {v}\n" for k, v in variables.items()))
    await client.logout()
    return 0


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    # NUT's upsc ignores SIGPIPE: a closed pipe ends it with status 0
    cc.main_with(lambda: parse_args(argv), run, pipe_status=0)


if __name__ == "__main__":
    main()
