"""``twistd nut-monitor``: upsmon alone, for secondary systems."""

from __future__ import annotations

import os
from typing import Any

from twisted.application import service
from twisted.python import usage

from nutwist.tap import _PathOptions, load_checked


class Options(_PathOptions):
    # twistd puts "Usage: twistd [options] nut-monitor" before this
    synopsis = "[--confdir DIR] [--statepath DIR] [-p]"
    longdesc = "upsmon: watch UPSes through upsd and shut this system down in time."
    optFlags = [["single", "p", "one process: no privileged helper for SHUTDOWNCMD"]]


def monitor_service(confdir: str, single: bool) -> Any:
    """upsmon from ``<confdir>/upsmon.conf``, its privileged helper forked now."""
    from nutwist.cli.upsmon import build_service, warn_permissions

    cs = load_checked(confdir, ("upsmon.conf",))
    conf = cs.upsmon
    if conf is None:
        raise usage.UsageError("upsmon.conf is missing")
    path = os.path.join(confdir, "upsmon.conf")
    for line in warn_permissions(path, conf.run_as_user):
        print(line)
    return build_service(conf, path, single=single)


class _RunAs(service.Service):
    """Drop to RUN_AS_USER once started (the privileged helper was forked before)."""

    def __init__(self, user: str | None) -> None:
        self.user = user

    def startService(self) -> None:
        from nutwist.cli.driver import drop_privileges

        super().startService()
        drop_privileges(self.user)


def makeService(options: Options) -> service.IService:
    top = service.MultiService()
    svc = monitor_service(options.confdir, bool(options["single"]))
    if not options["single"]:
        # as NUT: the monitor and its notifications run as RUN_AS_USER
        _RunAs(svc.conf.run_as_user).setServiceParent(top)
    svc.setServiceParent(top)
    return top
