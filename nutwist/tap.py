"""``twistd nut``: upsd, a driver, or the standalone set (upsd + drivers + upsmon).

As Twisted's own taps: the options are checked in ``postOptions`` (a
``usage.UsageError``, which twistd prints with the usage text); ``makeService``
then loads and validates the configuration (every finding printed), builds each
service with what it needs, and puts them under one
:class:`~nutwist.services.top.ProcessService` that owns the process's signals
(SIGHUP reloads upsd and upsmon, SIGUSR1 is upsmon's fsd).

A configuration NUT would refuse is not a usage error: twistd would print the
whole usage text after it.  :func:`fail` prints the finding on one line and
exits 1, as NUT's daemons do.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, NoReturn

from twisted.application import service
from twisted.python import usage

from nutwist import paths, process
from nutwist.config import confset
from nutwist.config.diagnostics import ConfigError, Diagnostic

if TYPE_CHECKING:
    from nutwist.monitor.service import UpsmonService
    from nutwist.services.drivers import DriversService
    from nutwist.services.upsd import UpsdService


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
    # twistd puts "Usage: twistd [options] nut" before this
    synopsis = "{upsd|driver|standalone} [options]"
    subCommands = [
        ["upsd", None, UpsdOptions, "upsd, with nutwist's drivers in-process"],
        ["driver", None, DriverOptions, "one driver: -a <upsname>"],
        ["standalone", None, StandaloneOptions, "upsd, drivers and upsmon (make demo)"],
    ]

    def getSynopsis(self) -> str:
        full = super().getSynopsis()
        if self.subCommand is not None and full.endswith(self.synopsis):
            # a subcommand's usage names itself after "nut", not the three choices
            return full[: -len(self.synopsis)].rstrip()
        return full

    def postOptions(self) -> None:
        if self.subCommand is None:
            raise usage.UsageError("choose one of: upsd, driver, standalone")


def report(diagnostics: list[Diagnostic]) -> None:
    for d in diagnostics:
        print(str(d), file=sys.stderr)


def fail(line: str | None = None) -> NoReturn:
    """Stop ``twistd`` with exit status 1 after ``line`` (the findings are out already
    when None): a configuration that cannot be used, said in one line."""
    if line is not None:
        print(line, file=sys.stderr)
    raise SystemExit(1)


def load_checked(confdir: str, required: tuple[str, ...]) -> confset.ConfSet:
    """Load the directory; print every finding; exit 1 on what NUT would refuse."""
    cs = confset.load(confdir)
    report(cs.diagnostics())
    try:
        cs.require(*required)
    except ConfigError as e:
        report([d for d in e.diagnostics if d not in cs.diagnostics()])
        fail()
    return cs


def _driver_service(sub: DriverOptions) -> service.IService:
    from nutwist.drivers import REGISTRY, driver_class, implemented
    from nutwist.drivers.core import DeviceError
    from nutwist.services.driver import DriverService

    cs = load_checked(sub.confdir, ("ups.conf",))
    assert cs.ups is not None
    section = cs.ups.find(sub["upsname"])
    if section is None:
        fail(f"nutwist: no [{sub['upsname']}] section in {cs.path('ups.conf')}")
    if not implemented(section.driver, section):
        fail(
            f"nutwist: driver {section.driver!r} is not one nutwist implements "
            f"({', '.join(REGISTRY)}); run NUT's own ({cs.ups.driverpath}/{section.driver})"
        )
    assert section.driver is not None
    try:
        driver = driver_class(section.driver)(
            section.name, section, confdir=sub.confdir, extra=sub["extra"]
        )
    except DeviceError as e:
        fail(f"nutwist: [{section.name}]: {e}")
    return DriverService(driver, paths.driver_statepath(sub["statepath"]))


def _server(sub: _PathOptions, cs: confset.ConfSet) -> tuple[DriversService, UpsdService]:
    """nutwist's drivers in-process, and upsd reading them and every other section."""
    from nutwist.services.drivers import DriversService
    from nutwist.services.upsd import UpsdService
    from nutwist.tls.context import TlsConfigError

    assert cs.ups is not None and cs.upsd is not None and cs.users is not None
    allow_env = os.environ.get("ALLOW_NO_DEVICE", "").lower().startswith(("1", "y", "t", "on"))
    if not cs.ups.sections and not (cs.upsd.allow_no_device or allow_env):
        fail(
            f"{cs.path('ups.conf')}: Fatal error: at least one UPS must be defined in ups.conf "
            "(or set ALLOW_NO_DEVICE)"
        )
    statepath = paths.upsd_statepath(sub["statepath"], cs.upsd.statepath)
    drivers = DriversService(cs.ups, confdir=sub.confdir, statepath=statepath)
    drivers.plan()
    try:
        upsd = UpsdService(
            cs.upsd,
            cs.ups,
            cs.users,
            statepath=statepath,
            drivers=drivers.drivers,
            drivers_service=drivers,
            confdir=sub.confdir,
            stop_on_fatal=True,
        )
    except TlsConfigError as e:
        fail(f"Fatal error: upsd.conf TLS: {e}")
    return drivers, upsd


def monitor_service(
    confdir: str, single: bool, keep_stderr: bool = False
) -> tuple[UpsmonService, dict[int, Callable[[], None]]]:
    """upsmon from ``<confdir>/upsmon.conf``, its privileged helper forked now; and
    what its signals do, for the process's top service."""
    from nutwist.monitor.root import build_service, signal_handlers, warn_permissions

    cs = load_checked(confdir, ("upsmon.conf",))
    conf = cs.upsmon
    if conf is None:
        raise usage.UsageError("upsmon.conf is missing")
    path = os.path.join(confdir, "upsmon.conf")
    for line in warn_permissions(path, conf.run_as_user):
        print(line)
    svc = build_service(conf, path, single=single, keep_stderr=keep_stderr)
    return svc, signal_handlers(svc, path)


def _foreground(options: usage.Options) -> bool:
    """twistd's ``-n``: the helper may keep the terminal for SHUTDOWNCMD's output."""
    parent = getattr(options, "parent", None)
    try:
        return bool(parent is not None and parent["nodaemon"])
    except KeyError:
        return False


def makeService(options: Options) -> service.IService:
    import signal

    sub = options.subOptions
    if options.subCommand == "driver":
        return _driver_service(sub)
    process.raise_nofile_limit()
    children: list[service.IService] = []
    signals: dict[int, list[Callable[[], object]]] = {}
    if options.subCommand == "upsd":
        cs = load_checked(sub.confdir, ("ups.conf", "upsd.conf", "upsd.users"))
        drivers, upsd = _server(sub, cs)
    else:
        cs = load_checked(sub.confdir, ("ups.conf", "upsd.conf", "upsd.users", "upsmon.conf"))
        drivers, upsd = _server(sub, cs)
        monitor, monitor_signals = monitor_service(
            sub.confdir, single=False, keep_stderr=_foreground(options)
        )
        children.append(monitor)
        for sig, action in monitor_signals.items():
            signals.setdefault(sig, []).append(action)
    children[:0] = [drivers, upsd]
    signals.setdefault(signal.SIGHUP, []).insert(0, upsd.reload)
    from nutwist.services.top import ProcessService

    top = ProcessService(signals)
    for child in children:
        child.setServiceParent(top)
    return top
