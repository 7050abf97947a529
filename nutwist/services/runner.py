"""Running one driver as its own process, the way NUT's drivers run.

The process serves the socket, writes ``<altpidpath>/<driver>-<upsname>.pid``,
and goes to the background once the socket exists, so that whoever started it
(upsdrvctl, an init script) knows the driver is ready when it returns.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any

from twisted.logger import Logger

from nutwist import paths
from nutwist.config.ups import UpsSection
from nutwist.drivers.core import DeviceError, Driver

log = Logger()


def pidfile_path(driver: str, upsname: str) -> str:
    return os.path.join(paths.altpidpath(), f"{driver}-{upsname}.pid")


def _start_logging(debug: int, syslog_prefix: str | None = None) -> None:
    """Log to stderr in the foreground, to syslog (daemon facility) in the background."""
    from twisted.logger import (
        FilteringLogObserver,
        ILogObserver,
        LegacyLogObserverWrapper,
        LogLevel,
        LogLevelFilterPredicate,
        globalLogBeginner,
        textFileLogObserver,
    )

    sink: ILogObserver
    if syslog_prefix is None:
        sink = textFileLogObserver(sys.stderr)
    else:
        from twisted.python.syslog import SyslogObserver

        sink = LegacyLogObserverWrapper(SyslogObserver(syslog_prefix).emit)  # type: ignore[arg-type]
    level = LogLevel.debug if debug else LogLevel.info
    observer = FilteringLogObserver(sink, [LogLevelFilterPredicate(defaultLogLevel=level)])
    globalLogBeginner.beginLoggingTo([observer], redirectStandardIO=False)


def _kill_power(driver: Driver) -> int:
    """``-k``: power the UPS off and exit; needs neither upsd nor a writable disk."""
    from twisted.internet import defer, task

    async def go() -> None:
        # NUT's -k only finds the device (upsdrv_initups) before upsdrv_shutdown;
        # a driver that splits the two says so with shutdown_prepare
        prepare = getattr(driver, "shutdown_prepare", None) or driver.initinfo
        await defer.maybeDeferred(prepare)
        await defer.maybeDeferred(driver.shutdown)

    result: list[int] = []

    def main(reactor: Any) -> defer.Deferred[None]:
        d = defer.Deferred.fromCoroutine(go())

        def ok(_: object) -> None:
            result.append(0)

        def failed(f: Any) -> None:
            print(f"Shutdown failed: {f.getErrorMessage()}", file=sys.stderr)
            result.append(1)

        return d.addCallbacks(ok, failed)

    try:
        task.react(main, [])
    except SystemExit:
        pass
    return result[0] if result else 1


def dump_data(driver: Driver, count: int) -> int:
    """NUT's ``-d <count>``: start, run ``count`` + 1 more update loops back to back,
    print the tree as ``var: value`` lines (sorted as NUT's tree) and exit."""
    from twisted.internet import defer, task

    async def go() -> None:
        driver.publish_driver_info()
        await defer.maybeDeferred(driver.initinfo)
        driver.mirror_device_info()
        driver.apply_overrides()
        for _ in range(count + 2):
            await defer.maybeDeferred(driver.updateinfo)
            driver.mirror_device_info()
            driver.apply_overrides()
        driver.delinfo("driver.state")
        for v in driver.state.variables():
            print(f"{v.name}: {v.raw}")
        sys.stdout.flush()

    result: list[int] = []

    def main(reactor: Any) -> defer.Deferred[None]:
        d = defer.Deferred.fromCoroutine(go())

        def ok(_: object) -> None:
            result.append(0)

        def failed(f: Any) -> None:
            print(f"Fatal error: {f.getErrorMessage()}", file=sys.stderr)
            result.append(1)

        d.addCallbacks(ok, failed)
        d.addBoth(lambda _: driver.stop())
        return d

    try:
        task.react(main, [])
    except SystemExit:
        pass
    return result[0] if result else 1


def run_driver(
    cls: type[Driver],
    section: UpsSection,
    *,
    confdir: str,
    statepath: str,
    extra: list[tuple[str, str]],
    debug: int = 0,
    foreground: bool = False,
    kill: bool = False,
    user: str | None = None,
    dump: int = 0,
) -> int:
    try:
        driver = cls(section.name, section, confdir=confdir, extra=extra)
    except DeviceError as e:
        print(f"Fatal error: {e}", file=sys.stderr)
        return 1
    if dump:
        _start_logging(debug)
        return dump_data(driver, dump)
    if kill:
        _start_logging(debug)
        return _kill_power(driver)
    from nutwist.services.driver import DriverService

    return run_daemon(
        lambda: DriverService(driver, statepath),
        foreground=foreground,
        debug=debug,
        pidfile=pidfile_path(cls.name, section.name),
        user=user,
        syslog_prefix=f"{cls.name}-{section.name}",
    )


def run_daemon(
    build: Callable[[], Any],
    *,
    foreground: bool,
    debug: int,
    pidfile: str | None,
    user: str | None,
    syslog_prefix: str,
    on_running: Callable[[Any], None] | None = None,
) -> int:
    """Start a service the way NUT's daemons start.

    In the background, the parent returns only once the service has started (0) or
    failed (1), so init scripts and upsdrvctl know when it is ready.
    """
    ready_w = None
    if not foreground:
        ready_r, ready_w = os.pipe()
        pid = os.fork()
        if pid:
            os.close(ready_w)
            with os.fdopen(ready_r, "rb") as ready:
                ok = ready.read(1)
            return 0 if ok == b"1" else 1
        os.close(ready_r)
        os.setsid()
    _start_logging(debug, None if foreground else syslog_prefix)
    from twisted.internet import reactor

    from nutwist.cli.driver import drop_privileges

    status = {"code": 0}
    holder: dict[str, Any] = {}

    def started() -> None:
        try:
            svc = build()
            holder["svc"] = svc
            svc.startService()
        except Exception as e:
            print(f"Fatal error: {e}", file=sys.stderr)
            status["code"] = 1
            reactor.stop()
            return
        drop_privileges(user)
        if pidfile is not None:
            try:
                with open(pidfile, "w") as f:
                    f.write(f"{os.getpid()}\n")
            except OSError as e:
                log.warn("cannot write {pidfile}: {e}", pidfile=pidfile, e=e.strerror)
        if on_running is not None:
            on_running(svc)
        if ready_w is not None:
            os.write(ready_w, b"1")
            os.close(ready_w)
            devnull = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(devnull, fd)

    def stopping() -> Any:
        if pidfile is not None:
            try:
                os.unlink(pidfile)
            except OSError:
                pass
        svc = holder.get("svc")
        if svc is not None and svc.running:
            return svc.stopService()
        return None

    reactor.callWhenRunning(started)
    reactor.addSystemEventTrigger("before", "shutdown", stopping)
    reactor.run()
    if ready_w is not None and status["code"]:
        try:
            os.write(ready_w, b"0")
        except OSError:
            pass
    return status["code"]
