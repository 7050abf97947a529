"""The ``nutwist`` command: tools NUT lacks (check-config, and more to come)."""

from __future__ import annotations

import argparse
import sys

from nutwist import __version__, paths


def _check_config(args: argparse.Namespace) -> int:
    from nutwist.config.check import check

    confdir = paths.confpath(args.confdir)
    result = check(confdir)
    for d in result.diagnostics:
        print(d)
    status = result.exit_status(strict=args.strict)
    print(
        f"{confdir}: {result.errors} error(s), {result.warnings} warning(s)",
        file=sys.stderr,
    )
    return status


def _passwd(args: argparse.Namespace) -> int:
    import getpass

    from nutwist.auth import hash_password

    if args.stdin or not sys.stdin.isatty():
        # no terminal to prompt on: the first line of standard input is the password
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        try:
            password = getpass.getpass("New password: ")
            again = getpass.getpass("Again: ")
        except (EOFError, KeyboardInterrupt):
            print("\nnutwist passwd: no password given", file=sys.stderr)
            return 1
        if again != password:
            print("nutwist passwd: the passwords differ", file=sys.stderr)
            return 1
    if not password:
        print("nutwist passwd: empty password refused", file=sys.stderr)
        return 1
    print(f'password = "{hash_password(password)}"')
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nutwist", description="nutwist: Network UPS Tools on Twisted"
    )
    parser.add_argument("-V", "--version", action="version", version=f"nutwist {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    cc = sub.add_parser(
        "check-config",
        help="check a NUT configuration directory",
        description="Report, one line each, what NUT would refuse (errors) and what is risky "
        "(warnings). Exit 1 on errors; with --strict, 2 on warnings; else 0.",
    )
    cc.add_argument(
        "--confdir", help="configuration directory (default: $NUT_CONFPATH or /etc/nut)"
    )
    cc.add_argument("--strict", action="store_true", help="exit 2 when there are warnings")
    cc.set_defaults(func=_check_config)
    pw = sub.add_parser(
        "passwd",
        help="hash a password for upsd.users",
        description="Print a 'password = \"$scrypt$...\"' line for upsd.users (a nutwist extension; "
        "NUT's upsd does not understand it).",
    )
    pw.add_argument(
        "--stdin",
        action="store_true",
        help="read the password from standard input (the default when it is not a terminal)",
    )
    pw.set_defaults(func=_passwd)
    ex = sub.add_parser(
        "explain-shutdown",
        help="say when and why this host would shut down",
        description="Read upsmon.conf, poll each MONITORed UPS once as upsmon does (its TLS "
        "settings, login and UPS names), and explain upsmon's decision. Exit 0 when the host "
        "stays up, 2 when it would shut down now, 1 when upsmon could not reach or log in to a "
        "UPS, or on errors.",
    )
    ex.add_argument(
        "--confdir", help="configuration directory (default: $NUT_CONFPATH or /etc/nut)"
    )
    ex.add_argument("-f", dest="file", help="upsmon.conf to read (default: <confdir>/upsmon.conf)")
    ex.set_defaults(func=_explain)
    tls = sub.add_parser(
        "tls", help="certificates for TLS links", description="Make or convert TLS files."
    )
    tsub = tls.add_subparsers(dest="tls_command", metavar="ACTION")
    ti = tsub.add_parser(
        "init",
        help="make a CA, a server certificate and client certificates",
        description="Write ca.pem, ca.key, upsd.pem and client-NAME.pem (keys mode 0600) and "
        "print the upsd.conf, upsmon.conf and nutauth.conf lines to use them.",
    )
    ti.add_argument(
        "--dir", default="nut-tls", help="where to write the files (default: ./nut-tls)"
    )
    ti.add_argument("--name", action="append", default=[], help="server DNS name or IP (repeat)")
    ti.add_argument(
        "--client", action="append", default=[], help="client certificate to make (repeat)"
    )
    ti.add_argument("--force", action="store_true", help="replace existing files")
    ti.add_argument(
        "--require-client-cert",
        action="store_true",
        help="advise CERTREQUEST REQUIRE (clients without a certificate are refused) rather "
        "than REQUEST",
    )
    ti.set_defaults(func=_tls_init)
    tn = tsub.add_parser(
        "import-nss",
        help="convert a Debian NUT NSS database to PEM files",
        description="Export the trusted CAs and the server certificate with its key from an NSS "
        "database (certutil/pk12util from libnss3-tools) to ca.pem and upsd.pem.",
    )
    tn.add_argument("dbdir", help="the NSS database directory (NUT's CERTPATH)")
    tn.add_argument("--out", default="nut-tls", help="where to write ca.pem and upsd.pem")
    tn.add_argument("--nickname", help="the server certificate's name (NUT's CERTIDENT name)")
    tn.add_argument("--password", help="the database password (NUT's CERTIDENT password)")
    tn.add_argument("--force", action="store_true", help="replace existing files")
    tn.set_defaults(func=_tls_import)
    return parser


def _tls_init(args: argparse.Namespace) -> int:
    from nutwist.tls import tool

    try:
        lines = tool.init(args.dir, args.name, args.client, args.force, args.require_client_cert)
        print("\n".join(lines))
    except (tool.ToolError, OSError) as e:
        print(f"nutwist tls init: {e}", file=sys.stderr)
        return 1
    return 0


def _tls_import(args: argparse.Namespace) -> int:
    from nutwist.tls import tool

    try:
        print(
            "\n".join(
                tool.import_nss(args.dbdir, args.out, args.nickname, args.password, args.force)
            )
        )
    except (tool.ToolError, OSError, ValueError) as e:
        print(f"nutwist tls import-nss: {e}", file=sys.stderr)
        return 1
    return 0


def _explain(args: argparse.Namespace) -> int:
    import os

    from twisted.internet import defer, task

    from nutwist import paths
    from nutwist.cli.upsmon import load_conf
    from nutwist.monitor import explain

    path = args.file or os.path.join(args.confdir or paths.confpath(), "upsmon.conf")
    conf = load_conf(path)
    if conf is None:
        return 1
    result: list[int] = [0]

    async def go(reactor: object) -> None:
        down, lines, unconnected = await explain.run(reactor, conf)
        print("\n".join(lines))
        result[0] = 2 if down else 1 if unconnected else 0

    try:
        task.react(lambda r: defer.ensureDeferred(go(r)))
    except SystemExit as e:
        if e.code:
            return int(e.code)
    return result[0]


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 1


if __name__ == "__main__":
    sys.exit(main())
