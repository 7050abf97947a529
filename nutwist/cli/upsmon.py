"""``upsmon`` as a drop-in command, with NUT 2.8.0's flags.

``-c fsd|stop|reload`` signals the running upsmon (SIGUSR1, SIGTERM, SIGHUP)
through its pid file; ``-K`` exits 0 when POWERDOWNFLAG holds NUT's magic (the
shutdown scripts' "should I cut the UPS power?"); ``-p`` keeps one process
that keeps its privileges, as NUT's (SHUTDOWNCMD runs in it), otherwise a small privileged helper is forked first
and only it can run SHUTDOWNCMD; ``-u USER`` (or RUN_AS_USER) is who the
monitor runs as; ``-f FILE`` reads another upsmon.conf.
"""

from __future__ import annotations

import os
import signal
import stat
import sys
from typing import Any

from nutwist import __version__, paths
from nutwist.cli.upsd import already_running, daemon_parser, signal_running
from nutwist.config.upsmon import UpsmonConf
from nutwist.config.upsmon import load as load_upsmon
from nutwist.privs import run_as_user


def pidfile() -> str:
    return os.path.join(paths.altpidpath(), "upsmon.pid")


def usage() -> str:
    return "\n".join(
        [
            "usage: upsmon [OPTIONS]",
            "  -c <cmd>   send <cmd> to the running upsmon: fsd, stop or reload",
            "  -P <pid>   send it to this process instead of the one in the pid file",
            "  -D         more debugging output (stays in the foreground)",
            "  -F         stay in the foreground",
            "  -B         go to the background (the default)",
            "  -K         exit 0 if the POWERDOWNFLAG file says the UPS should be cut",
            "  -p         one big process that keeps root: no helper (notifications run as RUN_AS_USER)",
            "  -u <user>  run as <user> (as root; RUN_AS_USER otherwise)",
            "  -f <file>  read this upsmon.conf",
            "  -4 / -6    IPv4 / IPv6 only",
            "  -h         this help",
            "  -V         the version",
            "",
            "Beyond NUT 2.8.0's upsmon: later NUT's OFFDURATION, OVERDURATION, OBLBDURATION, "
            "ALARMCRITICAL, SHUTDOWNEXIT and CERTFILE; TLS files are PEM, not NSS.",
        ]
    )


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


def powerdown_flag_status(path: str | None) -> tuple[int, str]:
    """``upsmon -K``: NUT's exit code and line for the POWERDOWNFLAG file."""
    from nutwist.monitor.helper import POWERDOWN_MAGIC

    if not path:
        return 1, "Power down flag is not set"
    try:
        with open(path) as f:
            head = f.read(len(POWERDOWN_MAGIC))
    except OSError:
        return 1, "Power down flag is not set"
    if head == POWERDOWN_MAGIC:
        return 0, "Power down flag is set"
    return 1, f"POWERDOWNFLAG ({path}) does not contain the upsmon magic string"


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


def main(argv: list[str] | None = None) -> int:
    p = daemon_parser("upsmon")
    p.add_argument("-K", dest="killpower", action="store_true")
    p.add_argument("-p", dest="single", action="store_true")
    p.add_argument("-f", dest="file")
    args = p.parse_args(argv)
    print(f"Network UPS Tools upsmon {__version__} (nutwist)", flush=True)
    if args.version:
        return 0
    if args.help:
        print(usage())
        return 0
    if args.command is not None:
        table = {"fsd": signal.SIGUSR1, "stop": signal.SIGTERM, "reload": signal.SIGHUP}
        return signal_running(args.command, table, args.pid, pidfile())
    path = args.file or os.path.join(paths.confpath(), "upsmon.conf")
    conf = load_conf(path)
    if conf is None:
        return 1
    if args.killpower:
        code, line = powerdown_flag_status(conf.powerdownflag)
        print(line, file=sys.stderr)
        return code
    if already_running(pidfile(), "upsmon"):
        return 1
    user = run_as_user(args.user, conf.run_as_user)
    for line in warn_permissions(path, user):
        print(line, file=sys.stderr)
    from nutwist.services.runner import run_daemon

    foreground = bool(args.foreground or args.debug)
    if args.single and os.geteuid() == 0:
        print("Warning: running as one big root process by request (upsmon -p)", file=sys.stderr)

    def build() -> Any:
        svc = build_service(conf, path, single=args.single, keep_stderr=foreground, run_as=user)
        if not foreground:
            # in the background these go to syslog as well, as NUT's upsmon logs them
            for line in startup_lines(conf):
                svc.log.info("{line}", line=line)
        return svc

    return run_daemon(
        build,
        foreground=foreground,
        debug=args.debug,
        pidfile=pidfile(),
        # -p: one big process that keeps its privileges, as NUT's (only the
        # notifications it starts run as the run-as user)
        user=None if user == "root" or args.single else user,
        syslog_prefix="upsmon",
    )


def build_service(
    conf: UpsmonConf,
    path: str,
    single: bool,
    keep_stderr: bool = False,
    run_as: str | None = None,
) -> Any:
    """The running upsmon: privileged helper (unless single), service, signals.

    Call before privileges drop: the helper that may run SHUTDOWNCMD is forked here.
    """
    from twisted.internet import protocol, reactor

    from nutwist.monitor.helper import (
        COMPLAINT,
        SHUTDOWN_DONE,
        clear_powerdownflag,
        start_helper,
    )
    from nutwist.monitor.service import UpsmonService, in_process_shutdown

    complaint = clear_powerdownflag(conf.powerdownflag)
    if complaint:
        print(complaint, file=sys.stderr)
        conf.powerdownflag = None
    holder: dict[str, Any] = {}

    def on_exit() -> None:
        reactor.stop()

    if single:
        shutdown = in_process_shutdown(conf)
    else:
        sock = start_helper(conf, keep_stderr=keep_stderr)

        class _HelperLink(protocol.Protocol):
            done: Any = None
            buf = b""

            def dataReceived(self, data: bytes) -> None:
                self.buf += data
                while self.buf:
                    if self.buf.startswith(COMPLAINT):
                        line, nl, rest = self.buf[1:].partition(b"\n")
                        if not nl:
                            return
                        self.buf = rest
                        svc = holder.get("svc")
                        if svc is not None and not keep_stderr:
                            svc.log.error("{line}", line=line.decode("utf-8", "replace"))
                        continue
                    byte, self.buf = self.buf[:1], self.buf[1:]
                    # the helper ran SHUTDOWNCMD
                    if byte == SHUTDOWN_DONE and self.done is not None and not self.done.called:
                        self.done.callback(None)

            def connectionLost(self, reason: Any = None) -> None:
                if self.done is not None and not self.done.called:
                    self.done.callback(None)
                svc = holder.get("svc")
                if svc is not None and svc.running and not svc.shutting_down:
                    svc.parent_died()

        link = _HelperLink()
        factory = protocol.Factory.forProtocol(lambda: link)
        factory.noisy = False
        reactor.adoptStreamConnection(sock.fileno(), sock.family, factory)  # type: ignore[attr-defined]
        sock.close()  # the reactor holds its own copy of the descriptor

        def shutdown() -> Any:
            """Ask the helper; done when it says SHUTDOWNCMD ran (or is gone)."""
            from twisted.internet import defer

            if link.transport is None:
                return None
            link.done = defer.Deferred()
            link.transport.write(b"\x01")
            return link.done

    svc = UpsmonService(conf, reactor, shutdown=shutdown, on_exit=on_exit)
    svc.notifier.run_as = run_as
    holder["svc"] = svc

    def reload() -> None:
        new = load_conf(path, announce=False)
        if new is None:
            svc.log.error("reload: {path} is not usable; keeping the old configuration", path=path)
            return
        svc.reload(new)
        svc.log.info("reloaded {path}", path=path)

    def install_signals() -> None:
        # once the reactor runs, so that twistd's own handlers do not replace ours
        signal.signal(signal.SIGUSR1, lambda *_: reactor.callFromThread(svc.request_fsd))  # type: ignore[attr-defined]
        signal.signal(signal.SIGHUP, lambda *_: reactor.callFromThread(reload))  # type: ignore[attr-defined]

    reactor.callWhenRunning(install_signals)
    return svc


if __name__ == "__main__":
    sys.exit(main())
