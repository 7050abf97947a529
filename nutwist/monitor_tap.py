"""``twistd nut-monitor``: upsmon alone, for secondary systems."""

from __future__ import annotations

import os
import sys
from typing import Any

from twisted.application import service
from twisted.python import usage

from nutwist.tap import _PathOptions, load_checked


class Options(_PathOptions):
    # twistd puts "Usage: twistd [options] nut-monitor" before this
    synopsis = "[--confdir DIR] [--statepath DIR] [-p]"
    longdesc = "upsmon: watch UPSes through upsd and shut this system down in time."
    optFlags = [["single", "p", "one process: no privileged helper for SHUTDOWNCMD"]]


def monitor_service(confdir: str, single: bool, keep_stderr: bool = False) -> Any:
    """upsmon from ``<confdir>/upsmon.conf``, its privileged helper forked now."""
    from nutwist.cli.upsmon import build_service, warn_permissions

    cs = load_checked(confdir, ("upsmon.conf",))
    conf = cs.upsmon
    if conf is None:
        raise usage.UsageError("upsmon.conf is missing")
    path = os.path.join(confdir, "upsmon.conf")
    for line in warn_permissions(path, conf.run_as_user):
        print(line)
    return build_service(conf, path, single=single, keep_stderr=keep_stderr)


class _RunAs(service.Service):
    """Drop to RUN_AS_USER (as root: else ``nut``) once started; the privileged
    helper was forked before."""

    def __init__(self, user: str | None) -> None:
        self.user = user

    def startService(self) -> None:
        from nutwist.privs import PrivilegeError, drop_privileges, run_as_user

        super().startService()
        try:
            drop_privileges(run_as_user(self.user))
        except PrivilegeError as e:
            print(f"Fatal error: {e}", file=sys.stderr)
            raise SystemExit(1) from None


def _foreground(options: usage.Options) -> bool:
    """twistd's ``-n``: the helper may keep the terminal for SHUTDOWNCMD's output."""
    parent = getattr(options, "parent", None)
    try:
        return bool(parent is not None and parent["nodaemon"])
    except KeyError:
        return False


def makeService(options: Options) -> service.IService:
    top = service.MultiService()
    svc = monitor_service(options.confdir, bool(options["single"]), _foreground(options))
    if not options["single"]:
        # as NUT: the monitor and its notifications run as RUN_AS_USER
        _RunAs(svc.conf.run_as_user).setServiceParent(top)
    svc.setServiceParent(top)
    return top
