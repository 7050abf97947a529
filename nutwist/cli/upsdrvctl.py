"""upsdrvctl: start, stop and shut down every driver of ups.conf, as NUT's does.

For a driver nutwist implements it runs nutwist's; for any other it runs NUT's
C driver from ``driverpath`` (ups.conf global, default /lib/nut), so one
ups.conf can mix both.  Sections are handled in ``sdorder`` order; ``sdorder =
-1`` keeps a UPS out of ``shutdown``.  ``-t`` only prints what would run.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time

from nutwist import NUT_COMPAT_VERSION, __version__, paths, process
from nutwist.config import ups as upsconf
from nutwist.drivers import implemented


def driver_argv(
    conf: upsconf.UpsConf, section: upsconf.UpsSection, args: argparse.Namespace
) -> list[str]:
    drv = section.driver or ""
    if implemented(drv, section):
        argv = [sys.executable, "-m", "nutwist.cli.driver", drv]
    else:
        argv = [os.path.join(conf.driverpath, drv)]
    if getattr(args, "pass_debug", False) and args.debug and not getattr(args, "shutdown", False):
        # -d: the driver gets upsdrvctl's own debug level (-D, -DD, ...), as NUT's does
        argv.append("-" + "D" * args.debug)
    argv += ["-a", section.name]
    if args.user:
        argv += ["-u", args.user]
    if args.chroot:
        argv += ["-r", args.chroot]
    return argv


def ordered(
    conf: upsconf.UpsConf, names: list[str], for_shutdown: bool
) -> list[upsconf.UpsSection]:
    if names:
        found = []
        for n in names:
            s = conf.find(n)
            if s is None:
                raise SystemExit(f"UPS {n} not found in ups.conf")
            found.append(s)
        sections = found
    else:
        sections = list(conf.sections.values())
    sections = [s for s in sections if s.driver and s.port]
    if for_shutdown:
        sections = [s for s in sections if s.sdorder >= 0]
    return sorted(sections, key=lambda s: s.sdorder if s.sdorder >= 0 else 1 << 30)


def _start(conf: upsconf.UpsConf, section: upsconf.UpsSection, args: argparse.Namespace) -> bool:
    argv = driver_argv(conf, section, args)
    if args.testing:
        print(f"exec: {' '.join(argv)}")
        return True
    if not os.path.exists(argv[0]):
        print(f"Can't start {argv[0]}: No such file or directory", file=sys.stderr)
        return False
    retries = max(1, conf.maxretry)
    delay = section.get_int("maxstartdelay", conf.maxstartdelay)
    for attempt in range(retries):
        proc = subprocess.Popen(argv)
        try:
            rc = proc.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            # left running, as NUT's upsdrvctl leaves it (a driver in the foreground: -d -D)
            print("Startup timer elapsed, continuing...", file=sys.stderr)
            return False
        if rc == 0:
            return True
        print(f"Driver failed to start (exit status={rc})", file=sys.stderr)
        if attempt + 1 < retries:
            time.sleep(conf.retrydelay)
    return False


def _stop(conf: upsconf.UpsConf, section: upsconf.UpsSection, args: argparse.Namespace) -> bool:
    pidfile = os.path.join(paths.altpidpath(), f"{section.driver}-{section.name}.pid")
    if args.testing:
        print(f"kill -TERM $(cat {pidfile})")
        return True
    pid = process.read_pid(pidfile)
    if pid is None:
        print(f"Can't open {pidfile}: No such file or directory", file=sys.stderr)
        return False
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        print(f"Can't kill pid {pid}: the driver is not running", file=sys.stderr)
        return False
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return True


def _shutdown(conf: upsconf.UpsConf, section: upsconf.UpsSection, args: argparse.Namespace) -> bool:
    # NUT's upsdrvctl passes no debug level to a driver it runs with -k
    argv = [*driver_argv(conf, section, argparse.Namespace(**vars(args), shutdown=True)), "-k"]
    if args.testing:
        print(f"exec: {' '.join(argv)}")
        return True
    try:
        return subprocess.run(argv, timeout=60).returncode == 0
    except (OSError, subprocess.TimeoutExpired) as e:
        print(f"Shutdown of {section.name} failed: {e}", file=sys.stderr)
        return False


ACTIONS = {"start": _start, "stop": _stop, "shutdown": _shutdown}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="upsdrvctl", add_help=False)
    p.add_argument("-t", dest="testing", action="store_true")
    p.add_argument("-u", dest="user")
    p.add_argument("-r", dest="chroot")
    p.add_argument("-D", dest="debug", action="count", default=0)
    p.add_argument("-d", dest="pass_debug", action="store_true")
    p.add_argument("-h", dest="help", action="store_true")
    p.add_argument("-V", dest="version", action="store_true")
    p.add_argument("command", nargs="?")
    p.add_argument("ups", nargs="*")
    args = p.parse_args(argv)
    print(
        f"Network UPS Tools - UPS driver controller (nutwist {__version__}, "
        f"NUT {NUT_COMPAT_VERSION} compatible)",
        file=sys.stderr,
    )
    if args.version:
        return 0
    if args.help or args.command not in ACTIONS:
        print(
            "usage: upsdrvctl [OPTIONS] (start | stop | shutdown) [<ups>]\n"
            "  -t  testing mode: print the actions without doing them\n"
            "  -u <user>  drivers drop privileges to <user>\n"
            "  -D  raise debugging level\n"
            "  -d  pass the debugging level from upsdrvctl to the driver\n\n"
            "Unlike NUT 2.8.0's: dummy-ups is nutwist's own (Python); other drivers are NUT's.",
            file=sys.stderr,
        )
        return 0 if args.help else 1
    confdir = paths.confpath()
    path = os.path.join(confdir, "ups.conf")
    try:
        conf = upsconf.load(path)
    except OSError as e:
        print(f"Can't open {path}: {e.strerror}", file=sys.stderr)
        return 1
    for d in conf.diagnostics:
        print(d, file=sys.stderr)
    try:
        sections = ordered(conf, args.ups, args.command == "shutdown")
    except SystemExit as e:
        print(e.code, file=sys.stderr)
        return 1
    word = {"start": "Starting", "stop": "Stopping", "shutdown": "Shutdown"}[args.command]
    failed = 0
    for section in sections:
        print(f"{word} UPS: {section.name}", file=sys.stderr)
        if not ACTIONS[args.command](conf, section, args):
            failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
