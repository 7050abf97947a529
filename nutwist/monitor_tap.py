"""``twistd nut-monitor``: upsmon alone, for secondary systems."""

from __future__ import annotations

import sys

from twisted.application import service

from nutwist.services.top import ProcessService
from nutwist.tap import _foreground, _PathOptions, monitor_service


class Options(_PathOptions):
    # twistd puts "Usage: twistd [options] nut-monitor" before this
    synopsis = "[--confdir DIR] [--statepath DIR] [-p]"
    longdesc = "upsmon: watch UPSes through upsd and shut this system down in time."
    optFlags = [["single", "p", "one process: no privileged helper for SHUTDOWNCMD"]]


class _RunAs(service.Service):
    """Drop to RUN_AS_USER (as root: else ``nut``) once started; the privileged
    helper was forked before."""

    def __init__(self, user: str | None) -> None:
        self.user = user

    def startService(self) -> None:
        from nutwist.process import PrivilegeError, drop_privileges, run_as_user

        super().startService()
        try:
            drop_privileges(run_as_user(self.user))
        except PrivilegeError as e:
            print(f"Fatal error: {e}", file=sys.stderr)
            raise SystemExit(1) from None


def makeService(options: Options) -> service.IService:
    svc, signals = monitor_service(options.confdir, bool(options["single"]), _foreground(options))
    top = ProcessService({sig: [action] for sig, action in signals.items()})
    if not options["single"]:
        # as NUT: the monitor and its notifications run as RUN_AS_USER
        _RunAs(svc.conf.run_as_user).setServiceParent(top)
    svc.setServiceParent(top)
    return top
