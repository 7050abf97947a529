"""``twistd nut``: upsd, a driver, or the standalone set (upsd + drivers + upsmon).

Each subcommand loads and validates the configuration first (every finding
printed, exit 1 on what NUT would refuse), then builds its services.
"""

from __future__ import annotations

import sys

from twisted.application import service
from twisted.python import usage

from nutwist import paths
from nutwist.config import confset
from nutwist.config.diagnostics import ConfigError, Diagnostic


class _PathOptions(usage.Options):
    optParameters = [
        ["confdir", None, None, "configuration directory (default: $NUT_CONFPATH or /etc/nut)"],
        [
            "statepath",
            None,
            None,
            "state directory for driver sockets (default as NUT resolves it)",
        ],
    ]

    @property
    def confdir(self) -> str:
        return paths.confpath(self["confdir"])


class UpsdOptions(_PathOptions):
    """Run upsd with every driver nutwist implements in the same process."""

    longdesc = "upsd on TCP 3493 plus nutwist's own drivers in-process; NUT's C drivers by socket."


class StandaloneOptions(_PathOptions):
    """upsd, the drivers and upsmon in one process (NUT's MODE=standalone)."""

    longdesc = "upsd, nutwist's drivers and upsmon together, as NUT's MODE=standalone."


class DriverOptions(_PathOptions):
    """Run one driver, for one ups.conf section."""

    optParameters = [["upsname", "a", None, "the ups.conf section to drive (required)"]]
    optFlags = [["debug", "D", "debug output"]]

    def __init__(self) -> None:
        super().__init__()
        self["extra"] = []

    def opt_x(self, value: str) -> None:
        """set a driver option: -x key=value (repeatable)"""
        if "=" not in value:
            raise usage.UsageError("-x takes key=value")
        self["extra"].append(tuple(value.split("=", 1)))

    def postOptions(self) -> None:
        if not self["upsname"]:
            raise usage.UsageError("driver needs -a <upsname>")


class Options(usage.Options):
    synopsis = "Usage: twistd [twistd options] nut {upsd|driver|standalone} [options]"
    subCommands = [
        ["upsd", None, UpsdOptions, "upsd, with nutwist's drivers in-process"],
        ["driver", None, DriverOptions, "one driver: -a <upsname>"],
        ["standalone", None, StandaloneOptions, "upsd, drivers and upsmon (make demo)"],
    ]

    def postOptions(self) -> None:
        if self.subCommand is None:
            raise usage.UsageError("choose one of: upsd, driver, standalone")


def report(diagnostics: list[Diagnostic]) -> None:
    for d in diagnostics:
        print(str(d), file=sys.stderr)


def load_checked(confdir: str, required: tuple[str, ...]) -> confset.ConfSet:
    """Load the directory; print every finding; exit 1 on what NUT would refuse."""
    cs = confset.load(confdir)
    report(cs.diagnostics())
    try:
        cs.require(*required)
    except ConfigError as e:
        report([d for d in e.diagnostics if d not in cs.diagnostics()])
        raise SystemExit(1) from None
    return cs


def _driver_service(sub: DriverOptions) -> service.IService:
    from nutwist.drivers import REGISTRY, driver_class, implemented
    from nutwist.drivers.core import DeviceError
    from nutwist.services.driver import DriverService

    cs = load_checked(sub.confdir, ("ups.conf",))
    assert cs.ups is not None
    section = cs.ups.find(sub["upsname"])
    if section is None:
        print(f"nutwist: no [{sub['upsname']}] section in {cs.path('ups.conf')}", file=sys.stderr)
        raise SystemExit(1)
    if not implemented(section.driver, section):
        print(
            f"nutwist: driver {section.driver!r} is not one nutwist implements "
            f"({', '.join(REGISTRY)}); run NUT's own ({cs.ups.driverpath}/{section.driver})",
            file=sys.stderr,
        )
        raise SystemExit(1)
    assert section.driver is not None
    try:
        driver = driver_class(section.driver)(
            section.name, section, confdir=sub.confdir, extra=sub["extra"]
        )
    except DeviceError as e:
        print(f"nutwist: [{section.name}]: {e}", file=sys.stderr)
        raise SystemExit(1) from None
    return DriverService(driver, paths.driver_statepath(sub["statepath"]))


def _server(sub: _PathOptions, cs: confset.ConfSet, top: service.MultiService) -> None:
    """nutwist's drivers in-process, and upsd reading them and every other section."""
    import os

    from nutwist.services.drivers import DriversService
    from nutwist.services.upsd import UpsdService

    assert cs.ups is not None and cs.upsd is not None and cs.users is not None
    allow_env = os.environ.get("ALLOW_NO_DEVICE", "").lower().startswith(("1", "y", "t", "on"))
    if not cs.ups.sections and not (cs.upsd.allow_no_device or allow_env):
        print(
            f"{cs.path('ups.conf')}: Fatal error: at least one UPS must be defined in ups.conf "
            "(or set ALLOW_NO_DEVICE)",
            file=sys.stderr,
        )
        raise SystemExit(1)
    statepath = paths.upsd_statepath(sub["statepath"], cs.upsd.statepath)
    drivers = DriversService(cs.ups, confdir=sub.confdir, statepath=statepath)
    drivers.plan()
    drivers.setServiceParent(top)
    from nutwist.tls.context import TlsConfigError

    try:
        upsd = UpsdService(cs.upsd, cs.ups, cs.users, statepath=statepath, drivers=drivers.drivers)
    except TlsConfigError as e:
        print(f"Fatal error: upsd.conf TLS: {e}", file=sys.stderr)
        raise SystemExit(1) from None
    upsd.confdir = sub.confdir
    upsd.drivers_service = drivers
    upsd.stop_on_fatal = True
    upsd.handle_sighup = True
    upsd.setServiceParent(top)


def raise_nofile_limit() -> tuple[int, int]:
    """Raise the soft open-file limit to the hard one (each client and driver is a file)."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError):
            pass
    return soft, hard


def makeService(options: Options) -> service.IService:
    sub = options.subOptions
    if options.subCommand == "driver":
        return _driver_service(sub)
    raise_nofile_limit()
    top = service.MultiService()
    if options.subCommand == "upsd":
        cs = load_checked(sub.confdir, ("ups.conf", "upsd.conf", "upsd.users"))
        _server(sub, cs, top)
    else:
        cs = load_checked(sub.confdir, ("ups.conf", "upsd.conf", "upsd.users", "upsmon.conf"))
        _server(sub, cs, top)
        from nutwist.monitor_tap import monitor_service

        monitor_service(sub.confdir, single=False).setServiceParent(top)
    return top
