"""``upsmon`` as a drop-in command, with NUT 2.8.0's flags.

``-c fsd|stop|reload`` signals the running upsmon (SIGUSR1, SIGTERM, SIGHUP)
through its pid file; ``-K`` exits 0 when POWERDOWNFLAG holds NUT's magic (the
shutdown scripts' "should I cut the UPS power?"); ``-p`` keeps one process
that keeps its privileges, as NUT's (SHUTDOWNCMD runs in it), otherwise a small privileged helper is forked first
and only it can run SHUTDOWNCMD; ``-u USER`` (or RUN_AS_USER) is who the
monitor runs as; ``-f FILE`` reads another upsmon.conf.
"""

from __future__ import annotations

import os
import signal
import sys

from nutwist import __version__, paths
from nutwist.cli.daemon import already_running, daemon_parser, signal_running
from nutwist.monitor.root import (
    build_service,
    load_conf,
    signal_handlers,
    startup_lines,
    warn_permissions,
)
from nutwist.privs import run_as_user


def pidfile() -> str:
    return os.path.join(paths.altpidpath(), "upsmon.pid")


def usage() -> str:
    return "\n".join(
        [
            "usage: upsmon [OPTIONS]",
            "  -c <cmd>   send <cmd> to the running upsmon: fsd, stop or reload",
            "  -P <pid>   send it to this process instead of the one in the pid file",
            "  -D         more debugging output (stays in the foreground)",
            "  -F         stay in the foreground",
            "  -B         go to the background (the default)",
            "  -K         exit 0 if the POWERDOWNFLAG file says the UPS should be cut",
            "  -p         one big process that keeps root: no helper (notifications run as RUN_AS_USER)",
            "  -u <user>  run as <user> (as root; RUN_AS_USER otherwise)",
            "  -f <file>  read this upsmon.conf",
            "  -4 / -6    IPv4 / IPv6 only",
            "  -h         this help",
            "  -V         the version",
            "",
            "Beyond NUT 2.8.0's upsmon: later NUT's OFFDURATION, OVERDURATION, OBLBDURATION, "
            "ALARMCRITICAL, SHUTDOWNEXIT and CERTFILE; TLS files are PEM, not NSS.",
        ]
    )


def powerdown_flag_status(path: str | None) -> tuple[int, str]:
    """``upsmon -K``: NUT's exit code and line for the POWERDOWNFLAG file."""
    from nutwist.monitor.helper import POWERDOWN_MAGIC

    if not path:
        return 1, "Power down flag is not set"
    try:
        with open(path) as f:
            head = f.read(len(POWERDOWN_MAGIC))
    except OSError:
        return 1, "Power down flag is not set"
    if head == POWERDOWN_MAGIC:
        return 0, "Power down flag is set"
    return 1, f"POWERDOWNFLAG ({path}) does not contain the upsmon magic string"


def main(argv: list[str] | None = None) -> int:
    p = daemon_parser("upsmon")
    p.add_argument("-K", dest="killpower", action="store_true")
    p.add_argument("-p", dest="single", action="store_true")
    p.add_argument("-f", dest="file")
    args = p.parse_args(argv)
    print(f"Network UPS Tools upsmon {__version__} (nutwist)", flush=True)
    if args.version:
        return 0
    if args.help:
        print(usage())
        return 0
    if args.command is not None:
        table = {"fsd": signal.SIGUSR1, "stop": signal.SIGTERM, "reload": signal.SIGHUP}
        return signal_running(args.command, table, args.pid, pidfile())
    path = args.file or os.path.join(paths.confpath(), "upsmon.conf")
    conf = load_conf(path)
    if conf is None:
        return 1
    if args.killpower:
        code, line = powerdown_flag_status(conf.powerdownflag)
        print(line, file=sys.stderr)
        return code
    if already_running(pidfile(), "upsmon"):
        return 1
    user = run_as_user(args.user, conf.run_as_user)
    for line in warn_permissions(path, user):
        print(line, file=sys.stderr)
    from nutwist.services.runner import run_daemon

    foreground = bool(args.foreground or args.debug)
    if args.single and os.geteuid() == 0:
        print("Warning: running as one big root process by request (upsmon -p)", file=sys.stderr)

    from nutwist.services.top import ProcessService

    def build() -> ProcessService:
        svc = build_service(conf, path, single=args.single, keep_stderr=foreground, run_as=user)
        if not foreground:
            # in the background these go to syslog as well, as NUT's upsmon logs them
            for line in startup_lines(conf):
                svc.log.info("{line}", line=line)
        handlers = signal_handlers(svc, path)
        top = ProcessService({sig: [action] for sig, action in handlers.items()})
        svc.setServiceParent(top)
        return top

    return run_daemon(
        build,
        foreground=foreground,
        debug=args.debug,
        pidfile=pidfile(),
        # -p: one big process that keeps its privileges, as NUT's (only the
        # notifications it starts run as the run-as user)
        user=None if user == "root" or args.single else user,
        syslog_prefix="upsmon",
    )


if __name__ == "__main__":
    sys.exit(main())
