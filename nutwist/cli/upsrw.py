"""``upsrw``: list a UPS's writable variables, or set one (NUT 2.8.0's drop-in)."""

from __future__ import annotations

import sys
from typing import Any

from nutwist.cli import clientcommon as cc
from nutwist.client import NutClient, connect, errors
from nutwist.client.protocol import word
from nutwist.config.tokenizer import encode
from nutwist.model.state import atoi, strtol

USAGE = """\
usage: upsrw [-h]
       upsrw [-s <variable>] [-u <username>] [-p <password>] [-w] [-t <timeout>] <ups>

Show or change the writable variables of a UPS through upsd.

  -h             this help
  -s <variable>  the variable to change; -s VAR=VALUE gives the value too
                 (otherwise it is asked for)
  -l             list the writable variables (what upsrw does without -s)
  -u <username>  the upsd.users user to log in as
  -p <password>  that user's password
  -w             wait for the driver's result of the change and print it
  -t <timeout>   how long -w waits, in seconds (default: 10)

  <ups>          <upsname>[@<hostname>[:<port>]]

Not in NUT 2.8.0's upsrw: -A <file> (nutauth.conf: credentials, TLS settings).
"""


def usage() -> None:
    sys.stdout.write(cc.banner("upsrw") + "\n\n" + USAGE)


async def _get(client: NutClient, kind: str, ups: str, var: str) -> list[str] | None:
    try:
        return await client.get(kind, ups, var)
    except errors.NutError:
        return None


async def _value(client: NutClient, ups: str, var: str, who: str) -> str:
    got = await _get(client, "VAR", ups, var)
    if not got:
        cc.fatal(f"{who}: can't get current value of {var}")
    return got[0]


async def _enum(client: NutClient, ups: str, var: str, kind: str | None, length: int) -> str:
    current = await _value(client, ups, var, "do_enum")
    try:
        options = await client.list_enum(ups, var)
    except errors.NutError as e:
        cc.fatal(f"Error: {e.message}")
    out = f"Type: ENUM {kind}\n" if kind else "Type: ENUM\n"
    if kind == "STRING":
        out += f"Maximum length: {length}\n"
    for option in options:
        out += f'Option: "{option}"' + (" SELECTED" if option == current else "") + "\n"
    return out


async def _range(client: NutClient, ups: str, var: str) -> str:
    current = atoi(await _value(client, ups, var, "do_range"))
    try:
        ranges = await client.list_range(ups, var)
    except errors.NutError as e:
        cc.fatal(f"Error: {e.message}")
    out = "Type: RANGE NUMBER\n"
    for lo_text, hi_text in ranges:
        lo, hi = atoi(lo_text), atoi(hi_text)
        out += f'Option: "{lo}-{hi}"' + (" SELECTED" if lo <= current <= hi else "") + "\n"
    return out


async def _type(client: NutClient, ups: str, var: str) -> str:
    words = await _get(client, "TYPE", ups, var)
    if words is None:
        return "Unknown type\n"
    out = ""
    is_enum = False
    for w in words:
        up = w.upper()
        if up == "ENUM":
            is_enum = True
        elif up == "RANGE":
            return out + await _range(client, ups, var)
        elif up.startswith("STRING:"):
            length = strtol(w[7:])
            if is_enum:
                return out + await _enum(client, ups, var, "STRING", length)
            value = await _value(client, ups, var, "do_string")
            return out + f"Type: STRING\nMaximum length: {length}\nValue: {value}\n"
        elif up == "NUMBER":
            if is_enum:
                return out + await _enum(client, ups, var, "NUMBER", 0)
            value = await _value(client, ups, var, "do_number")
            return out + f"Type: NUMBER\nValue: {value}\n"
        elif up != "RW":
            out += f"Type: {w} (unrecognized)\n"
    if is_enum:
        out += await _enum(client, ups, var, None, 0)
    return out


async def list_rw(client: NutClient, ups: str) -> None:
    try:
        names = list(await client.list_rw(ups))
    except errors.UnknownCommand:
        cc.fatal("Error: upsd is too old to support this query")
    for name in names:
        desc = await _get(client, "DESC", ups, name)
        text = f"[{name}]\n{desc[0] if desc else 'Description unavailable'}\n"
        text += await _type(client, ups, name) + "\n"
        sys.stdout.write(text)
        sys.stdout.flush()


async def set_var(reactor: Any, client: NutClient, ups: str, opts: dict[str, Any]) -> None:
    setvar: str = opts["set"]
    username, password = cc.ask_credentials(
        opts["user"],
        opts["password"],
        eof_fatal=False,
        stored=cc.stored_credentials(
            opts.get("authconf"), opts["user"], opts["host"], opts["port"]
        ),
    )
    name, eq, value = setvar.partition("=")
    if not eq:
        sys.stdout.write(f"Enter new value for {name}: ")
        sys.stdout.flush()
        value = sys.stdin.readline()
        value = value[:-1] if value else ""
    await cc.send_credentials(client, username, password)
    if "." not in name:
        cc.fatal("Error: old variable names are not supported")
    if opts["wait"]:
        await cc.enable_tracking(client, "set variable")
    await cc.request_and_report(
        reactor, client, f'SET VAR {ups} {word(name)} "{encode(value)}"', opts
    )


async def run(reactor: Any, opts: dict[str, Any], args: list[str]) -> int:
    if not args:
        usage()
        return 0
    ups, host, port = cc.parse_ups_or_die(args[0], cc.BAD_UPS_ONE_LINE)
    client = await connect(reactor, host, port)
    await cc.secure(client, opts.get("authconf"), opts["user"], host, port, opportunistic=False)
    opts["host"], opts["port"] = host, port
    if opts["set"] is not None:
        await set_var(reactor, client, ups, opts)
    else:
        await list_rw(client, ups)
    await client.logout()
    return 0


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    cc.main_with(
        lambda: cc.admin_options(
            argv,
            "+hls:p:t:u:wVA:",
            usage,
            lambda: sys.stdout.write(cc.banner("upsrw") + "\n"),
            s="set",
            l="listing",  # what upsrw does without -s anyway
        ),
        run,
    )


if __name__ == "__main__":
    main()
