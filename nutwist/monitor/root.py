"""upsmon's composition root: the configuration read as NUT's upsmon reads it, the
privileged helper forked, the service built, and its signals.

Used by every way upsmon runs: the drop-in ``upsmon`` command, ``twistd nut-monitor``
and ``twistd nut standalone``.  :func:`build_service` must run before privileges
drop: the helper that may run SHUTDOWNCMD is forked there.  :func:`signal_handlers`
says what SIGUSR1 (fsd) and SIGHUP (reload) do; the process's top service installs
them (:class:`nutwist.services.top.ProcessService`).
"""

from __future__ import annotations

import os
import signal
import stat
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from nutwist.config.upsmon import UpsmonConf
from nutwist.config.upsmon import load as load_upsmon
from nutwist.monitor import helper

if TYPE_CHECKING:
    from nutwist.monitor.service import UpsmonService


def warn_permissions(path: str, run_as: str | None) -> list[str]:
    """Loud warnings about a readable or RUN_AS_USER-writable upsmon.conf, never a refusal:
    refusing would leave the machine unprotected (NUT 2.8.0's upsmon checks nothing here)."""
    out: list[str] = []
    try:
        st = os.stat(path)
    except OSError:
        return out
    if st.st_mode & stat.S_IROTH:
        out.append(
            f"WARNING: {path} is readable by every user: it holds upsd passwords (chmod 640)"
        )
    if run_as:
        try:
            import pwd

            pw = pwd.getpwnam(run_as)
            if pw.pw_uid != 0 and (
                (st.st_uid == pw.pw_uid and st.st_mode & stat.S_IWUSR)
                or (st.st_gid == pw.pw_gid and st.st_mode & stat.S_IWGRP)
                or st.st_mode & stat.S_IWOTH
            ):
                out.append(
                    f"WARNING: {path} is writable by {run_as}, who could then change SHUTDOWNCMD"
                )
        except KeyError:
            pass
    return out


def startup_lines(conf: UpsmonConf) -> list[str]:
    """What NUT's upsmon says as it reads upsmon.conf, with the file's findings, in file order.

    Each MONITOR: ``UPS: <system> (primary|secondary) (power value N)``, or
    ``(monitoring only)`` for power value 0; POWERDOWNFLAG: ``Using power down flag file F``.
    """
    found: list[tuple[float, str]] = [
        (float("inf") if d.line is None else d.line, d.nut_line) for d in conf.diagnostics
    ]
    for m in conf.monitors:
        if m.powervalue == 0:
            text = f"UPS: {m.system} (monitoring only)"
        else:
            role = "primary" if m.primary else "secondary"
            text = f"UPS: {m.system} ({role}) (power value {m.powervalue})"
        found.append((m.lineno or 0, text))
    if conf.powerdownflag:
        found.append(
            (conf.powerdownflag_line or 0, f"Using power down flag file {conf.powerdownflag}")
        )
    return [text for _, text in sorted(found, key=lambda item: item[0])]


def load_conf(path: str, announce: bool = True) -> UpsmonConf | None:
    try:
        conf = load_upsmon(path)
    except OSError as e:
        print(f"Fatal error: Can't open {path}: {e.strerror}", file=sys.stderr)
        return None
    for line in startup_lines(conf) if announce else (d.nut_line for d in conf.diagnostics):
        print(line, file=sys.stderr)
    if conf.diagnostics.errors:
        return None
    from nutwist.tls.context import TlsConfigError, check_upsmon_tls

    try:
        check_upsmon_tls(conf)
    except TlsConfigError as e:
        print(f"Fatal error: {path}: {e}", file=sys.stderr)
        return None
    return conf


def build_service(
    conf: UpsmonConf,
    path: str,
    single: bool,
    keep_stderr: bool = False,
    run_as: str | None = None,
) -> UpsmonService:
    """The running upsmon: privileged helper (unless single) and service; its
    signals are :func:`signal_handlers`.

    Call before privileges drop: the helper that may run SHUTDOWNCMD is forked here.
    """
    from twisted.internet import reactor

    from nutwist.monitor.notify import Notifier
    from nutwist.monitor.service import UpsmonService, in_process_shutdown

    complaint = helper.clear_powerdownflag(conf.powerdownflag)
    if complaint:
        print(complaint, file=sys.stderr)
        conf.powerdownflag = None
    holder: dict[str, UpsmonService] = {}

    def on_exit() -> None:
        reactor.stop()

    shutdown: Callable[[], Any]
    if single:
        shutdown = in_process_shutdown(conf)
    else:
        sock = helper.start_helper(conf, keep_stderr=keep_stderr)

        def complain(line: str) -> None:
            svc = holder.get("svc")
            if svc is not None and not keep_stderr:
                svc.log.error("{line}", line=line)

        def lost() -> None:
            svc = holder.get("svc")
            if svc is not None and svc.running and not svc.shutting_down:
                svc.parent_died()

        link = helper.HelperLink(complain, lost)
        helper.adopt_helper(reactor, sock, link)
        shutdown = link.request_shutdown

    svc = UpsmonService(
        conf,
        reactor,
        shutdown=shutdown,
        notifier=Notifier(conf, reactor, run_as=run_as),
        on_exit=on_exit,
    )
    holder["svc"] = svc
    return svc


def signal_handlers(svc: UpsmonService, path: str) -> dict[int, Callable[[], None]]:
    """What upsmon's signals do: SIGUSR1 forces the shutdown (``upsmon -c fsd``),
    SIGHUP re-reads ``path`` (``-c reload``), keeping the old configuration when the
    new one is not usable.  The process's top service installs them."""

    def reload() -> None:
        new = load_conf(path, announce=False)
        if new is None:
            svc.log.error("reload: {path} is not usable; keeping the old configuration", path=path)
            return
        svc.reload(new)
        svc.log.info("reloaded {path}", path=path)

    return {signal.SIGUSR1: svc.request_fsd, signal.SIGHUP: reload}
