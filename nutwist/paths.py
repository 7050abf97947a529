"""Where nutwist finds its configuration and state, resolved as NUT 2.8 does.

An explicit nutwist flag wins, then NUT's environment variables, then Debian's
built-in paths: upsd takes upsd.conf's STATEPATH, then $NUT_STATEPATH, then
/run/nut; the drivers and upsdrvctl $NUT_STATEPATH, then /run/nut (ups.conf has
no state path key); the configuration directory is $NUT_CONFPATH, then /etc/nut.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

DEFAULT_CONFPATH = "/etc/nut"
DEFAULT_STATEPATH = "/run/nut"
DEFAULT_DATAPATH = "/usr/share/nut"
DEFAULT_DRIVERPATH = "/lib/nut"
DEFAULT_USER = "nut"
DEFAULT_PORT = 3493


def confpath(flag: str | None = None, environ: Mapping[str, str] | None = None) -> str:
    """The configuration directory: ``--confdir`` > ``NUT_CONFPATH`` > /etc/nut."""
    env = os.environ if environ is None else environ
    return flag or env.get("NUT_CONFPATH") or DEFAULT_CONFPATH


def upsd_statepath(
    flag: str | None = None,
    conf_statepath: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> str:
    """upsd's state path: flag > upsd.conf STATEPATH > ``NUT_STATEPATH`` > /run/nut."""
    env = os.environ if environ is None else environ
    return flag or conf_statepath or env.get("NUT_STATEPATH") or DEFAULT_STATEPATH


def driver_statepath(flag: str | None = None, environ: Mapping[str, str] | None = None) -> str:
    """A driver's (and upsdrvctl's) state path: flag > ``NUT_STATEPATH`` > /run/nut."""
    env = os.environ if environ is None else environ
    return flag or env.get("NUT_STATEPATH") or DEFAULT_STATEPATH


def altpidpath(environ: Mapping[str, str] | None = None) -> str:
    """Where upsd and drivers write pid files: ``NUT_ALTPIDPATH`` > ``NUT_STATEPATH``."""
    env = os.environ if environ is None else environ
    return env.get("NUT_ALTPIDPATH") or env.get("NUT_STATEPATH") or DEFAULT_STATEPATH


def socket_name(driver: str, upsname: str) -> str:
    """A driver socket's file name inside the state path: ``<driver>-<upsname>``."""
    return f"{driver}-{upsname}"
