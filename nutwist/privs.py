"""Who a daemon runs as, and the switch to that user, as NUT 2.8.0's daemons do it.

As root, NUT's daemons give up root for their run-as user: ``-u USER`` first, then
the configuration (ups.conf ``user`` for a driver, upsmon.conf ``RUN_AS_USER``),
else the built-in ``nut``.  A driver switches before it creates its socket, so
the socket belongs to that user; upsd binds its TCP ports first, then switches.

Python loads some code lazily (codecs such as ``idna``, parts of Twisted and of
nutwist).  Once the process is ``nut``, a Python installed where ``nut`` cannot
read (a pyenv under /root, a 0700 venv) could not load them, and every poll
would fail.  :func:`drop_privileges` therefore loads all of that first, and
after the switch checks that what the daemon will need works, failing at
start-up with one line otherwise.
"""

from __future__ import annotations

import codecs
import importlib
import os
import sys

from nutwist import paths

#: codecs a daemon may look up after the switch (host names go through idna)
LATE_CODECS = ("idna", "punycode", "ascii", "latin-1", "utf-8", "utf-16", "utf-32")

#: modules imported on the first use of a code path, long after start-up
LATE_MODULES = (
    "encodings.idna",
    "stringprep",
    "unicodedata",
    "twisted.internet._idna",
    "twisted.internet.endpoints",
    "twisted.internet.tcp",
    "twisted.internet.unix",
    "twisted.internet.process",
    "twisted.internet._baseprocess",
    "twisted.internet.address",
    "twisted.internet.error",
    "twisted.internet.ssl",
    "twisted.application.internet",
    "twisted.python.syslog",
    "twisted.python.util",
    "twisted.logger._flatten",
    "twisted.logger._format",
    "nutwist.client",
    "nutwist.client.errors",
    "nutwist.client.protocol",
    "nutwist.client.session",
    "nutwist.config.upsmon",
    "nutwist.config.confset",
    "nutwist.config.tcpwrap",
    "nutwist.auth",
    "nutwist.monitor.helper",
    "nutwist.monitor.logic",
    "nutwist.monitor.notify",
    "nutwist.monitor.service",
    "nutwist.protocols.net",
    "nutwist.protocols.sock",
    "nutwist.services.driverlink",
    "nutwist.tls.context",
    "shutil",
    "signal",
    "subprocess",
    "syslog",
    "traceback",
    "linecache",
)


class PrivilegeError(Exception):
    """The run-as user is unknown, or could not run the program once switched to."""


def run_as_user(*choices: str | None) -> str | None:
    """The first choice given; else ``nut`` when running as root; else None (stay)."""
    for choice in choices:
        if choice:
            return choice
    return paths.DEFAULT_USER if os.geteuid() == 0 else None


def user_ids(user: str | None) -> tuple[int, int] | None:
    """(uid, gid) to switch a child to: None unless root and ``user`` is someone else."""
    if user is None or os.geteuid() != 0:
        return None
    import pwd

    try:
        pw = pwd.getpwnam(user)
    except KeyError:
        raise PrivilegeError(f"user {user} not found") from None
    if pw.pw_uid == 0:
        return None
    return pw.pw_uid, pw.pw_gid


def preload() -> None:
    """Load what the daemon would otherwise load lazily, while it still can."""
    for name in LATE_CODECS:
        try:
            codecs.lookup(name)
        except LookupError:
            pass
    "localhost".encode("idna")
    for mod in LATE_MODULES:
        try:
            importlib.import_module(mod)
        except ImportError:
            pass


def preflight() -> str | None:
    """After the switch: None if the daemon can still do its work, else why not."""
    for name in ("idna", "ascii", "utf-8"):
        try:
            codecs.lookup(name)
        except LookupError:
            return f"cannot load the {name} codec from {os.path.dirname(codecs.__file__)}"
    try:
        "localhost".encode("idna")
    except (LookupError, UnicodeError) as e:
        return f"cannot encode host names ({e})"
    for mod in LATE_MODULES:
        if mod in sys.modules:
            continue
        try:
            importlib.import_module(mod)
        except ModuleNotFoundError:
            continue  # not installed for anyone: that code path is never taken
        except (ImportError, OSError) as e:
            return f"cannot load {mod}: {e}"
    return None


def drop_privileges(user: str | None) -> None:
    """Switch to ``user`` (as root only), after loading what is needed later.

    Raises :class:`PrivilegeError` with a one-line reason when ``user`` does not
    exist or cannot run the program once switched to.
    """
    ids = user_ids(user)
    if user is None or os.geteuid() != 0:
        return
    preload()
    if ids is None:
        return  # root stays root
    uid, gid = ids
    assert user is not None
    os.setgroups(os.getgrouplist(user, gid))
    os.setgid(gid)
    os.setuid(uid)
    problem = preflight()
    if problem is not None:
        raise PrivilegeError(f"user {user} cannot run nutwist: {problem}")


def child_ids_for(user: str | None) -> dict[str, int]:
    """``uid``/``gid`` keywords for ``spawnProcess``: a child of root runs as ``user``
    (``nut`` when none is given); empty when this process is not root.

    Raises :class:`PrivilegeError` when that user does not exist.
    """
    ids = user_ids(run_as_user(user))
    if ids is None:
        return {}
    return {"uid": ids[0], "gid": ids[1]}
