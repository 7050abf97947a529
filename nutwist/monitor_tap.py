"""``twistd nut-monitor``: upsmon alone, for secondary systems."""

from __future__ import annotations

from twisted.application import service

from nutwist.tap import NotImplementedYet, _PathOptions, load_checked


class Options(_PathOptions):
    synopsis = "Usage: twistd [twistd options] nut-monitor [--confdir DIR] [--statepath DIR]"
    longdesc = "upsmon: watch UPSes through upsd and shut this system down in time."


def makeService(options: Options) -> service.IService:
    load_checked(options.confdir, ("upsmon.conf",))
    top = service.MultiService()
    NotImplementedYet("upsmon is").setServiceParent(top)
    return top
