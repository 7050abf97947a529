"""``nutwist check-config``: what NUT would refuse, and what is risky, one line each.

Beyond each file's own findings it checks across files what NUT's programs
refuse at start or what silently cannot work: no UPS without ALLOW_NO_DEVICE,
a driver that neither nutwist nor ups.conf's driverpath provides, TLS files
(CERTFILE, CERTPATH) that upsd or upsmon cannot load, a repeater port out of
range, a local MONITOR of a UPS or a user that does not exist, power values
below MINSUPPLIES, secrets readable by others, and a UPS that can never report
a low battery.
"""

from __future__ import annotations

import ipaddress
import os
import pwd
import socket
import stat
from dataclasses import dataclass

from nutwist.config import confset
from nutwist.config.base import Source, lines
from nutwist.config.diagnostics import Diagnostic, Diagnostics, Level
from nutwist.config.tcpwrap import load_access_file

_TRUE = ("true", "yes", "on", "1")


@dataclass
class Result:
    diagnostics: list[Diagnostic]

    @property
    def errors(self) -> int:
        return sum(1 for d in self.diagnostics if d.level is Level.ERROR)

    @property
    def warnings(self) -> int:
        return sum(1 for d in self.diagnostics if d.level is Level.WARNING)

    def exit_status(self, strict: bool = False) -> int:
        if self.errors:
            return 1
        if strict and self.warnings:
            return 2
        return 0


def _is_local_host(host: str) -> bool:
    h = host.strip("[]").lower()
    if h in ("localhost", "localhost.localdomain", "ip6-localhost"):
        return True
    try:
        return ipaddress.ip_address(h).is_loopback
    except ValueError:
        pass
    try:
        return h in (socket.gethostname().lower(), socket.getfqdn().lower())
    except OSError:
        return False


def _allow_no_device(cs: confset.ConfSet, environ: dict[str, str]) -> bool:
    env = environ.get("ALLOW_NO_DEVICE")
    if env is not None:
        return env.strip().lower().startswith(_TRUE)
    if cs.upsd is not None and cs.upsd.allow_no_device:
        return True
    if cs.nut is not None:
        v = cs.nut.values.get("ALLOW_NO_DEVICE", "")
        return v.strip().lower().startswith(_TRUE)
    return False


def _required_files(mode: str | None) -> tuple[str, ...]:
    if mode in ("standalone", "netserver"):
        server = ("ups.conf", "upsd.conf", "upsd.users")
        return (*server, "upsmon.conf") if mode == "standalone" else server
    if mode == "netclient":
        return ("upsmon.conf",)
    return ()


def _check_permissions(cs: confset.ConfSet, out: Diagnostics) -> None:
    for name in ("upsd.users", "upsmon.conf", "upsd.conf", "ups.conf"):
        if cs.model(name) is None:
            continue
        path = cs.path(name)
        try:
            st = os.stat(path)
        except OSError:
            continue
        if name in ("upsd.users", "upsmon.conf") and st.st_mode & stat.S_IROTH:
            out.append(
                Diagnostic(
                    Level.WARNING,
                    path,
                    None,
                    "readable by all users, and it holds passwords: chmod 640 (owner root, group nut)",
                )
            )
    upsmon = cs.upsmon
    if upsmon is not None:
        user = upsmon.run_as_user or "nut"
        path = cs.path("upsmon.conf")
        if _writable_by(path, user):
            out.append(
                Diagnostic(
                    Level.WARNING,
                    path,
                    None,
                    f"writable by RUN_AS_USER {user}, who could then change SHUTDOWNCMD: "
                    "make root its owner and remove group and other write permission",
                )
            )


def _writable_by(path: str, user: str) -> bool:
    try:
        st = os.stat(path)
        pw = pwd.getpwnam(user)
    except (OSError, KeyError):
        return False
    if pw.pw_uid == 0:
        return False
    if st.st_uid == pw.pw_uid and st.st_mode & stat.S_IWUSR:
        return True
    if st.st_mode & stat.S_IWOTH:
        return True
    if st.st_mode & stat.S_IWGRP:
        try:
            groups = os.getgrouplist(user, pw.pw_gid)
        except OSError:
            groups = [pw.pw_gid]
        return st.st_gid in groups
    return False


def _dummy_data_file(cs: confset.ConfSet, port: str) -> str | None:
    if "@" in port:
        return None
    path = port if os.path.isabs(port) else os.path.join(cs.confdir, port)
    return path if os.path.isfile(path) else None


def _lb_possible(path: str) -> bool | None:
    """Whether a dummy-ups data file can ever yield LB; None if unreadable."""
    try:
        source = Source.from_path(path)
    except OSError:
        return None
    found_low = False
    for line in lines(source, Diagnostics(path)):
        key = line.words[0].rstrip(":").lower()
        if key in ("battery.charge.low", "battery.runtime.low"):
            found_low = True
        if key == "ups.status" and any(w.upper() == "LB" for w in line.words[1:]):
            return True
    return found_low


def _check_ups(cs: confset.ConfSet, out: Diagnostics, environ: dict[str, str]) -> None:
    upsconf = cs.ups
    if upsconf is None:
        return
    if not upsconf.sections and not _allow_no_device(cs, environ):
        out.append(
            Diagnostic(
                Level.ERROR,
                upsconf.path,
                None,
                "no UPS is defined: upsd refuses to start without one "
                "(define a [section], or set ALLOW_NO_DEVICE in upsd.conf)",
                fatal=True,
            )
        )
    for section in upsconf.sections.values():
        if section.driver == "dummy-ups" and section.port:
            data = _dummy_data_file(cs, section.port)
            if data is None and "@" not in section.port:
                out.append(
                    Diagnostic(
                        Level.ERROR,
                        upsconf.path,
                        section.key_lines.get("port"),
                        f"[{section.name}] port: data file {section.port} not found",
                    )
                )
            elif data is not None and _lb_possible(data) is False:
                out.append(
                    Diagnostic(
                        Level.WARNING,
                        upsconf.path,
                        section.lineno,
                        f"[{section.name}] can never report a low battery: {data} has no "
                        "battery.charge.low, no battery.runtime.low and no LB status",
                    )
                )


def _check_drivers(cs: confset.ConfSet, out: Diagnostics) -> None:
    """Every section's driver is nutwist's own or an executable in ups.conf's driverpath."""
    from nutwist.drivers import implemented

    upsconf = cs.ups
    if upsconf is None:
        return
    driverpath = upsconf.driverpath
    for section in upsconf.sections.values():
        driver = section.driver
        if not driver or implemented(driver):
            continue
        path = os.path.join(driverpath, driver)
        if "/" not in driver and os.path.isfile(path) and os.access(path, os.X_OK):
            continue
        out.append(
            Diagnostic(
                Level.ERROR,
                upsconf.path,
                section.key_lines.get("driver", section.lineno),
                f"[{section.name}] driver {driver}: not one of nutwist's drivers, and {path} "
                "is not an executable (driverpath in ups.conf, default /lib/nut): upsdrvctl "
                "cannot start it",
            )
        )


def _check_repeater_ports(cs: confset.ConfSet, out: Diagnostics) -> None:
    from nutwist.config.upsmon import split_system

    upsconf = cs.ups
    if upsconf is None:
        return
    for section in upsconf.sections.values():
        port = section.port
        if section.driver != "dummy-ups" or not port or "@" not in port:
            continue
        if split_system(port) is None:
            out.append(
                Diagnostic(
                    Level.ERROR,
                    upsconf.path,
                    section.key_lines.get("port", section.lineno),
                    f"[{section.name}] port {port}: expected <upsname>@<host>[:<port>] with a "
                    "port from 1 to 65535 (IPv6 addresses in brackets)",
                )
            )


def _directive_line(path: str, directive: str) -> int | None:
    """The line of the last ``directive`` in a file (the one that takes effect)."""
    try:
        source = Source.from_path(path)
    except OSError:
        return None
    found = None
    for line in lines(source, Diagnostics(path)):
        if line.words and line.words[0] == directive:
            found = line.lineno
    return found


def _check_tls_files(cs: confset.ConfSet, out: Diagnostics) -> None:
    """The TLS settings upsd and upsmon would load at start, loaded the same way."""
    from nutwist.tls.context import TlsConfigError, check_upsmon_tls, server_context_from_conf

    def refused(path: str, daemon: str, e: TlsConfigError) -> None:
        word = str(e).split(" ", 1)[0]
        out.append(
            Diagnostic(
                Level.ERROR, path, _directive_line(path, word), f"{e}: {daemon} refuses to start"
            )
        )

    if cs.upsd is not None:
        try:
            server_context_from_conf(cs.upsd)
        except TlsConfigError as e:
            refused(cs.upsd.path, "upsd", e)
    if cs.upsmon is not None:
        try:
            check_upsmon_tls(cs.upsmon)
        except TlsConfigError as e:
            refused(cs.upsmon.path, "upsmon", e)


def _check_monitors(cs: confset.ConfSet, out: Diagnostics) -> None:
    upsmon = cs.upsmon
    if upsmon is None:
        return
    for mon in upsmon.monitors:
        if not _is_local_host(mon.host):
            continue
        where = (upsmon.path, mon.lineno)
        if cs.ups is not None and cs.ups.find(mon.upsname) is None:
            out.append(
                Diagnostic(
                    Level.ERROR,
                    *where,
                    f"MONITOR {mon.system}: no [{mon.upsname}] in {cs.ups.path}; "
                    "upsd will answer UNKNOWN-UPS",
                )
            )
        if cs.users is None:
            continue
        user = cs.users.get(mon.username)
        if user is None:
            out.append(
                Diagnostic(
                    Level.ERROR,
                    *where,
                    f"MONITOR {mon.system}: user {mon.username} is not in {cs.users.path}",
                )
            )
            continue
        if not user.has_action("login"):
            out.append(
                Diagnostic(
                    Level.ERROR,
                    *where,
                    f"MONITOR {mon.system}: user {mon.username} lacks the upsmon role "
                    f"(add 'upsmon {'primary' if mon.primary else 'secondary'}' to its section)",
                )
            )
        elif mon.primary and not (user.has_action("master") or user.has_action("primary")):
            out.append(
                Diagnostic(
                    Level.ERROR,
                    *where,
                    f"MONITOR {mon.system} is primary but user {mon.username} is "
                    "'upsmon secondary': it could not set FSD",
                )
            )
        if (
            user.password is not None
            and user.password_error is None  # a malformed hash is reported on its own line
            and not _password_matches(user.password, mon.password)
        ):
            out.append(
                Diagnostic(
                    Level.ERROR,
                    *where,
                    f"MONITOR {mon.system}: the password does not match user "
                    f"{mon.username} in {cs.users.path}",
                )
            )


def _password_matches(stored: str, given: str) -> bool:
    from nutwist.auth import verify_password

    return verify_password(stored, given)


def _check_acl(cs: confset.ConfSet, out: Diagnostics) -> None:
    if cs.upsd is None:
        return
    for path in (cs.upsd.hosts_allow, cs.upsd.hosts_deny):
        out.extend(load_access_file(path).diagnostics)


def check(confdir: str, environ: dict[str, str] | None = None) -> Result:
    env = dict(os.environ) if environ is None else environ
    cs = confset.load(confdir)
    found = list(cs.diagnostics())
    extra = Diagnostics(confdir)
    mode = cs.nut.mode if cs.nut is not None else None
    for name in _required_files(mode):
        if cs.model(name) is None:
            extra.append(
                Diagnostic(Level.ERROR, cs.path(name), None, f"missing, and MODE={mode} needs it")
            )
    if mode != "netclient":
        _check_ups(cs, extra, env)
        _check_drivers(cs, extra)
        _check_repeater_ports(cs, extra)
    _check_tls_files(cs, extra)
    _check_monitors(cs, extra)
    _check_permissions(cs, extra)
    _check_acl(cs, extra)
    return Result(found + list(extra))
