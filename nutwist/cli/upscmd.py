"""``upscmd``: list a UPS's instant commands, or run one (NUT 2.8.0's drop-in)."""

from __future__ import annotations

import sys
from typing import Any

from nutwist.cli import clientcommon as cc
from nutwist.client import connect, errors

USAGE = """\
usage: upscmd [-h]
       upscmd [-l <ups>]
       upscmd [-u <username>] [-p <password>] [-w] [-t <timeout>] <ups> <command> [<value>]

Run an instant command on a UPS through upsd.

  -h             this help
  -l <ups>       the instant commands <ups> offers, with their descriptions
  -u <username>  the upsd.users user to log in as
  -p <password>  that user's password
  -w             wait for the driver's result of the command and print it
  -t <timeout>   how long -w waits, in seconds (default: 10)

  <ups>          <upsname>[@<hostname>[:<port>]]
  <command>      an instant command, such as test.battery.start
  [<value>]      its argument, if it takes one

Not in NUT 2.8.0's upscmd: -A <file> (nutauth.conf: credentials, TLS settings).
"""


def usage() -> None:
    sys.stdout.write(cc.banner("upscmd") + "\n\n" + USAGE)


async def run(reactor: Any, opts: dict[str, Any], args: list[str]) -> int:
    if not args:
        usage()
        return 0
    ups, host, port = cc.parse_ups_or_die(args[0], cc.BAD_UPS_ONE_LINE)
    client = await connect(reactor, host, port)
    await cc.secure(client, opts.get("authconf"), opts["user"], host, port, opportunistic=False)
    if opts["list"]:
        try:
            names = await client.list_cmd(ups)
        except errors.UnknownCommand:
            cc.fatal("Error: upsd is too old to support this query")
        lines = [f"Instant commands supported on UPS [{ups}]:\n\n"]
        for name in names:
            try:
                lines.append(f"{name} - {await client.get_cmddesc(ups, name)}\n")
            except errors.NutError:
                lines.append(f"{name}\n")
        sys.stdout.write("".join(lines))
        await client.logout()
        return 0
    if len(args) < 2:
        usage()
        return 0
    if "." not in args[1]:
        cc.fatal("Error: old command names are not supported")
    username, password = cc.ask_credentials(
        opts["user"],
        opts["password"],
        eof_fatal=True,
        stored=cc.stored_credentials(opts.get("authconf"), opts["user"], host, port),
    )
    await cc.send_credentials(client, username, password)
    if opts["wait"]:
        await cc.enable_tracking(client, "command")
    line = f"INSTCMD {ups} {args[1]}"
    if len(args) > 2:
        from nutwist.client.protocol import word

        line += " " + word(args[2])
    await cc.request_and_report(reactor, client, line, opts)
    await client.logout()
    return 0


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    cc.main_with(
        lambda: cc.admin_options(
            argv,
            "+lhu:p:t:wVA:",
            usage,
            lambda: cc.stderr(cc.banner("upscmd")),  # NUT's upscmd says it on stderr
            l="list",
        ),
        run,
    )


if __name__ == "__main__":
    main()
