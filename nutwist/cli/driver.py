"""Drop-in driver commands (``dummy-ups -a NAME``), with NUT's flags.

``-a NAME`` picks the ups.conf section, ``-x key=value`` adds options, ``-D``
debugs (and stays in the foreground, as does ``-F``), ``-k`` powers the UPS off
through the driver and exits (no socket, no pid file: this runs late in a
shutdown, with upsd gone and the root filesystem read-only), ``-u USER`` (else
ups.conf's ``user``, else ``nut`` as root) is who the driver runs as, switched to
before the socket is created, ``-h`` lists the options.  Otherwise the
driver starts, serves ``<statepath>/<driver>-<upsname>``, writes
``<altpidpath>/<driver>-<upsname>.pid`` and goes to the background.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import NoReturn

from nutwist import NUT_COMPAT_VERSION, __version__, paths
from nutwist.config import ups as upsconf
from nutwist.config.diagnostics import ConfigError
from nutwist.drivers import REGISTRY, driver_class
from nutwist.privs import run_as_user

BANNER = "Network UPS Tools - {desc} (nutwist {version}, NUT {nut} compatible)"


def die(msg: str, code: int = 1) -> NoReturn:
    print(msg, file=sys.stderr)
    raise SystemExit(code)


def build_parser(prog: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=prog, add_help=False)
    p.add_argument("-a", dest="upsname")
    p.add_argument("-D", dest="debug", action="count", default=0)
    p.add_argument("-x", dest="extra", action="append", default=[])
    p.add_argument("-k", dest="kill", action="store_true")
    p.add_argument("-h", dest="help", action="store_true")
    p.add_argument("-u", dest="user")
    p.add_argument("-r", dest="chroot")
    p.add_argument("-F", dest="foreground", action="count", default=0)
    p.add_argument("-B", dest="background", action="store_true")
    p.add_argument("-V", dest="version", action="store_true")
    p.add_argument("-L", dest="list_vars", action="store_true")
    p.add_argument("-q", dest="quiet", action="count", default=0)
    p.add_argument("-i", dest="interval")
    p.add_argument("-s", dest="standalone_name")
    p.add_argument("-d", dest="dump", type=int, default=0)
    return p


def usage(prog: str, drv: str) -> str:
    cls = driver_class(drv)
    lines = [
        f"usage: {prog} -a <id> [OPTIONS]",
        "  -a <id>        - autoconfig using ups.conf section <id>",
        "  -D             - raise debugging level (stay in the foreground)",
        "  -F             - stay in the foreground",
        "  -B             - go to the background (the default)",
        "  -k             - force shutdown (power the UPS off) and exit",
        "  -d <count>     - dump data to stdout after 'count' updates loop and exit",
        "  -u <user>      - switch to <user> (if started as root)",
        "  -x <var>=<val> - set a driver option",
        "  -V             - print the version and exit",
        "  -L             - print parseable list of driver variables",
        "  -h             - this help",
        "",
        "Options for this driver (ups.conf or -x):",
    ]
    for name, text in sorted(cls.options.items()):
        lines.append(f"  {name:<14} - {text}")
    lines += ["", "Not in NUT 2.8.0's drivers: the repeater's TLS options (cert*, forcessl)."]
    return "\n".join(lines)


def main(argv: list[str] | None = None, drv: str | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    prog = drv or os.path.basename(sys.argv[0])
    if drv is None:
        if not argv:
            die(f"usage: nutwist-driver <driver> -a <upsname> ...; drivers: {', '.join(REGISTRY)}")
        drv = argv.pop(0)
        prog = drv
    if drv not in REGISTRY:
        die(f"nutwist has no driver {drv!r}; it has: {', '.join(REGISTRY)}")
    args = build_parser(prog).parse_args(argv)
    cls = driver_class(drv)
    desc = getattr(cls, "description", drv)
    if args.version:
        print(BANNER.format(desc=desc, version=__version__, nut=NUT_COMPAT_VERSION))
        return 0
    if args.help:
        print(usage(prog, drv))
        return 0
    if args.list_vars:
        # NUT's format: the banner, then VALUE <name> "<description>" per driver option
        print(BANNER.format(desc=desc, version=__version__, nut=NUT_COMPAT_VERSION))
        for name, text in cls.options.items():
            print(f'VALUE {name} "{text}"')
        return 0
    if not args.quiet:
        print(
            BANNER.format(desc=desc, version=__version__, nut=NUT_COMPAT_VERSION), file=sys.stderr
        )
    if not args.upsname:
        die("Error: specifying '-a id' is now mandatory. Try -h for help.")
    extra = []
    for item in args.extra:
        if "=" not in item:
            extra.append((item, "enabled"))
        else:
            k, v = item.split("=", 1)
            extra.append((k, v))
    confdir = paths.confpath()
    try:
        conf = upsconf.load(os.path.join(confdir, "ups.conf"))
    except OSError as e:
        die(f"Can't open {os.path.join(confdir, 'ups.conf')}: {e.strerror}")
    for d in conf.diagnostics:
        print(d, file=sys.stderr)
    section = conf.find(args.upsname)
    if section is None:
        die(f"Error: Section {args.upsname} not found in ups.conf")
    if section.driver not in (drv, None):
        print(
            f"Warning: [{args.upsname}] is configured for driver {section.driver}", file=sys.stderr
        )
    from nutwist.services.runner import run_driver

    try:
        return run_driver(
            cls,
            section,
            confdir=confdir,
            statepath=paths.driver_statepath(),
            extra=extra,
            debug=args.debug,
            foreground=bool(args.foreground or args.debug),
            kill=args.kill,
            # NUT's precedence: -u, the section's user, the global one, then nut
            user=run_as_user(args.user, section.values.get("user"), conf.user),
            dump=max(0, args.dump),
        )
    except ConfigError as e:
        die(str(e))


def dummy_ups() -> int:
    return main(drv="dummy-ups")


def nutdrv_qx() -> int:
    return main(drv="nutdrv_qx")


def blazer_ser() -> int:
    return main(drv="blazer_ser")


def apcsmart() -> int:
    return main(drv="apcsmart")


def snmp_ups() -> int:
    return main(drv="snmp-ups")


def usbhid_ups() -> int:
    """The ``usbhid-ups`` command: it looks for the device before going to the background."""
    from nutwist.drivers.hid.driver import UsbHidUps

    UsbHidUps.preflight = True
    return main(drv="usbhid-ups")


if __name__ == "__main__":
    sys.exit(main())
