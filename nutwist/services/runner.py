"""Running one driver as its own process, the way NUT's drivers run.

The process serves the socket, writes ``<altpidpath>/<driver>-<upsname>.pid``,
and goes to the background once the socket exists, so that whoever started it
(upsdrvctl, an init script) knows the driver is ready when it returns.
"""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Callable
from typing import Any

from twisted.logger import Logger

from nutwist import paths, process
from nutwist.config.ups import UpsSection
from nutwist.drivers.core import DeviceError, Driver

log = Logger()


def pidfile_path(driver: str, upsname: str) -> str:
    return os.path.join(paths.altpidpath(), f"{driver}-{upsname}.pid")


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
    try:
        driver.initups()
    except DeviceError as e:
        print(e, file=sys.stderr)  # NUT's own words, as its drivers print them
        return 1
    if dump:
        process.start_logging(debug)
        return dump_data(driver, dump)
    if kill:
        process.start_logging(debug)
        return _kill_power(driver)
    from nutwist.services.driver import DriverService

    return run_daemon(
        lambda: DriverService(driver, statepath),
        foreground=foreground,
        debug=debug,
        pidfile=pidfile_path(cls.name, section.name),
        user=user,
        syslog_prefix=f"{cls.name}-{section.name}",
        # as NUT's drivers: become the run-as user first, so that the socket is
        # created by (and belongs to) that user, never created or chmod'ed by root
        drop_first=True,
        statepath=statepath,
    )


def check_statepath(path: str | None) -> None:
    """NUT's daemons chdir to the state path once they are their run-as user, and
    stop if they cannot: the same test and the same words, without the chdir."""
    if path is None:
        return
    try:
        os.stat(path)
        ok = os.access(path, os.X_OK)
        err = errno.EACCES
    except OSError as e:
        ok, err = False, e.errno or errno.ENOENT
    if not ok:
        raise OSError(err, f"Can't chdir to {path}: {os.strerror(err)}")


def _describe(e: BaseException) -> str:
    """One line for a start-up failure: the OS's words for an OS error."""
    if isinstance(e, OSError) and e.strerror:
        where = f"{e.filename}: " if e.filename else ""
        return f"{where}{e.strerror}"
    return str(e)


def run_daemon(
    build: Callable[[], Any],
    *,
    foreground: bool,
    debug: int,
    pidfile: str | None,
    user: str | None,
    syslog_prefix: str,
    on_running: Callable[[Any], None] | None = None,
    drop_first: bool = False,
    statepath: str | None = None,
) -> int:
    """Start a service the way NUT's daemons start.

    In the background, the parent returns only once the service has started (0) or
    failed (1), so init scripts and upsdrvctl know when it is ready.  As root the
    process becomes ``user`` after the service started (upsd: its ports are bound)
    or, with ``drop_first``, before (a driver: its socket is the user's).  Like
    NUT's upsd and drivers, it then stops at once if that user cannot enter
    ``statepath``.
    """
    ready_w = None
    if not foreground:
        pid, fd = process.fork_with_pipe()
        if pid:
            return 0 if process.read_ready(fd) == process.READY else 1
        ready_w = fd
        process.new_session()
    process.start_logging(debug, None if foreground else syslog_prefix)
    from twisted.internet import reactor

    status = {"code": 0}
    holder: dict[str, Any] = {}

    def started() -> None:
        try:
            if drop_first:
                process.drop_privileges(user)
                check_statepath(statepath)
            svc = build()
            holder["svc"] = svc
            svc.startService()
            if not drop_first:
                process.drop_privileges(user)
                check_statepath(statepath)
        except (Exception, SystemExit) as e:
            msg = str(e) if isinstance(e, (process.PrivilegeError, SystemExit)) else _describe(e)
            if msg and msg != "None":
                print(
                    msg if msg.startswith("Fatal error") else f"Fatal error: {msg}", file=sys.stderr
                )
            status["code"] = 1
            reactor.stop()
            return
        if pidfile is not None:
            try:
                process.write_pidfile(pidfile)
                holder["pidfile"] = pidfile
            except OSError as e:
                log.warn("cannot write {pidfile}: {e}", pidfile=pidfile, e=e.strerror)
        if on_running is not None:
            on_running(svc)
        if ready_w is not None:
            process.signal_ready(ready_w)
            process.stdio_to_devnull()

    def stopping() -> Any:
        # only our own: an instance that failed to start leaves the running one's alone
        if "pidfile" in holder:
            try:
                os.unlink(holder["pidfile"])
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
        process.signal_ready(ready_w, ok=False)
    return status["code"]
