"""upsd as a drop-in command, with NUT 2.8.0's flags.

Like NUT's upsd it only reads driver sockets (run the drivers with upsdrvctl).
``-c reload|stop`` signals the running upsd through its pid file
(``<altpidpath>/upsd.pid``); ``-D`` and ``-F`` stay in the foreground, ``-B``
(the default) goes to the background once listening; ``-u USER`` drops
privileges after binding (as root, NUT's default user is ``nut``).
"""

from __future__ import annotations

import os
import signal
import sys

from nutwist import paths, process
from nutwist.cli.daemon import already_running, daemon_parser, signal_running
from nutwist.config import confset
from nutwist.services.upsd import SERVER_VERSION


def pidfile() -> str:
    return os.path.join(paths.altpidpath(), "upsd.pid")


def usage() -> str:
    return "\n".join(
        [
            "usage: upsd [OPTIONS]",
            "  -c <cmd>   send <cmd> via signal to background process",
            "             commands: reload, stop",
            "  -P <pid>   send the signal above to this process id",
            "  -D         raise debugging level (stay in the foreground)",
            "  -F         stay in the foreground",
            "  -B         go to the background (the default)",
            "  -h         display this help",
            "  -u <user>  switch to <user> (if started as root)",
            "  -V         display the version of this software",
            "  -r <dir>   chroot: not supported by nutwist (refused)",
            "  -4         IPv4 only",
            "  -6         IPv6 only",
            "",
            "Beyond NUT 2.8.0's upsd: upsd.conf's HOSTS_ALLOW, HOSTS_DENY, ACL_ON_CONNECT, "
            "LOGIN_THROTTLE and AUTH_REQUIRES_TLS, and hashed passwords in upsd.users.",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    p = daemon_parser("upsd")
    p.add_argument("-r", dest="chroot")
    p.add_argument("-q", dest="quiet", action="count", default=0)
    p.add_argument("-i", dest="old_i")
    p.add_argument("-p", dest="old_p")
    args = p.parse_args(argv)
    print(f"Network UPS Tools upsd {SERVER_VERSION}", flush=True)
    if args.version:
        return 0
    if args.help:
        print(usage())
        return 0
    if args.old_i or args.old_p:
        print("Error: -i and -p are deprecated, use LISTEN in upsd.conf", file=sys.stderr)
        return 1
    if args.chroot is not None:
        print(
            "Error: -r (chroot) is not supported by nutwist's upsd: confine it with "
            "systemd's RootDirectory= or a container instead",
            file=sys.stderr,
        )
        return 1
    if args.command is not None:
        return signal_running(
            args.command, {"reload": signal.SIGHUP, "stop": signal.SIGTERM}, args.pid, pidfile()
        )
    if already_running(pidfile(), "upsd"):
        return 1
    confdir = paths.confpath()
    cs = confset.load(confdir, ("ups.conf", "upsd.conf", "upsd.users"))
    for d in cs.diagnostics():
        print(d, file=sys.stderr)
    for name in ("upsd.conf", "ups.conf", "upsd.users"):
        if cs.model(name) is None:
            print(f"Fatal error: Can't open {cs.path(name)}", file=sys.stderr)
            return 1
    if any(d.fatal for d in cs.diagnostics()):
        print("Fatal error: the configuration above cannot be used", file=sys.stderr)
        return 1
    assert cs.ups is not None and cs.upsd is not None and cs.users is not None
    allow = os.environ.get("ALLOW_NO_DEVICE", "").lower().startswith(("1", "y", "t", "on"))
    if not cs.ups.sections and not (cs.upsd.allow_no_device or allow):
        print("Fatal error: at least one UPS must be defined in ups.conf", file=sys.stderr)
        return 1
    from nutwist.services.runner import run_daemon
    from nutwist.services.upsd import UpsdService

    process.raise_nofile_limit()
    statepath = paths.upsd_statepath(None, cs.upsd.statepath)
    user = args.user or (paths.DEFAULT_USER if os.geteuid() == 0 else None)

    from nutwist.services.top import ProcessService

    def build() -> ProcessService:
        assert cs.upsd is not None and cs.ups is not None and cs.users is not None
        family = None
        if args.family is not None:
            import socket

            family = socket.AF_INET6 if args.family == 6 else socket.AF_INET
        svc = UpsdService(
            cs.upsd, cs.ups, cs.users, statepath=statepath, confdir=confdir, family=family
        )
        # the process's top service owns SIGHUP: reload
        top = ProcessService({signal.SIGHUP: [svc.reload]})
        svc.setServiceParent(top)
        return top

    foreground = bool(args.foreground or args.debug)
    return run_daemon(
        build,
        foreground=foreground,
        debug=args.debug,
        pidfile=None if args.foreground == 1 and not args.background else pidfile(),
        user=user,
        syslog_prefix="upsd",
        statepath=statepath,
    )


if __name__ == "__main__":
    sys.exit(main())
