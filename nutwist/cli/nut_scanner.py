"""``nut-scanner``: detect power devices and print ups.conf sections, NUT's way.

``-U`` scans USB; with no scan option every available scan runs (``-C``).  ``-N`` (the
default) prints ups.conf sections, ``-P`` one parsable line per device, ``-q`` leaves out the
"Scanning ... bus." progress lines (printed on stderr).  Scans nutwist does not have are
accepted and skipped.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from nutwist import NUT_COMPAT_VERSION
from nutwist.scanner import Found, parsable, ups_conf


def _usb() -> list[Found]:
    from nutwist.scanner import usb

    try:
        return usb.scan()
    except usb.NoUsb as e:
        print(f"{e}", file=sys.stderr)
        raise SystemExit(1) from None


#: scan flag -> (progress line, scan); other scans register here
SCANS: dict[str, tuple[str, Callable[[], list[Found]]]] = {
    "usb": ("Scanning USB bus.", _usb),
}
_ORDER = ("usb", "snmp", "xml", "oldnut", "avahi", "ipmi", "eaton_serial")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="nut-scanner", add_help=False)
    p.add_argument("-C", "--complete_scan", action="store_true")
    p.add_argument("-U", "--usb_scan", dest="usb", action="store_true")
    p.add_argument("-S", "--snmp_scan", dest="snmp", action="store_true")
    p.add_argument("-M", "--xml_scan", dest="xml", action="store_true")
    p.add_argument("-O", "--oldnut_scan", dest="oldnut", action="store_true")
    p.add_argument("-A", "--avahi_scan", dest="avahi", action="store_true")
    p.add_argument("-I", "--ipmi_scan", dest="ipmi", action="store_true")
    p.add_argument("-E", "--eaton_serial", dest="eaton_serial")
    p.add_argument("-T", "--thread")
    p.add_argument("-t", "--timeout")
    p.add_argument("-s", "--start_ip")
    p.add_argument("-e", "--end_ip")
    p.add_argument("-m", "--mask_cidr")
    p.add_argument("-c", "--community")
    p.add_argument("-l", "--secLevel")
    p.add_argument("-u", "--secName")
    p.add_argument("-w", "--authProtocol")
    p.add_argument("-W", "--authPassword")
    p.add_argument("-x", "--privProtocol")
    p.add_argument("-X", "--privPassword")
    p.add_argument("-b", "--username")
    p.add_argument("-B", "--password")
    p.add_argument("-d", "--authType")
    p.add_argument("-L", "--cipher_suite_id")
    p.add_argument("-p", "--port")
    p.add_argument("-N", "--disp_nut_conf", dest="display", action="store_const", const="conf")
    p.add_argument("-P", "--disp_parsable", dest="display", action="store_const", const="parsable")
    p.add_argument("-q", "--quiet", action="store_true")
    p.add_argument("-D", "--nut_debug_level", action="count", default=0)
    p.add_argument("-V", "--version", action="store_true")
    p.add_argument("-a", "--available", action="store_true")
    p.add_argument("-h", "--help", action="store_true")
    return p


def main(argv: list[str] | None = None) -> int:
    args, rest = build_parser().parse_known_args(sys.argv[1:] if argv is None else argv)
    if args.help or rest:
        print("nut-scanner : utility for detection of available power devices.\n")
        print(
            "OPTIONS:\n  -C, --complete_scan: Scan all available devices except serial ports (default)."
        )
        print("  -U, --usb_scan: Scan USB devices.")
        print("  -N, --disp_nut_conf: Display result in the ups.conf format")
        print("  -P, --disp_parsable: Display result in a parsable format")
        print(
            "  -q, --quiet: Display only scan result. No information on currently scanned bus is displayed."
        )
        return 0 if args.help and not rest else 1
    if args.version:
        print(f"Network UPS Tools - {NUT_COMPAT_VERSION}")
        return 0
    if args.available:
        for name in _ORDER:
            if name in SCANS:
                print(name.upper() if name != "oldnut" else "NUT")
        return 0
    wanted = [n for n in _ORDER if getattr(args, n, None)]
    if not wanted or args.complete_scan:
        wanted = [n for n in _ORDER if n != "eaton_serial"]
    show = parsable if args.display == "parsable" else ups_conf
    results: list[Found] = []
    for name in wanted:
        if name not in SCANS:
            continue
        progress, run = SCANS[name]
        if not args.quiet:
            print(progress, file=sys.stderr)
        results.extend(run())
    if results:
        sys.stdout.write(show(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
