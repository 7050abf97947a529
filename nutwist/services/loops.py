"""Repeating loops that one exception cannot end.

Every daemon has loops that run again and again (upsd's idle check, the driver
link's staleness check, upssched's passes).  A ``LoopingCall`` stops for good
at the first exception its function raises; a daemon whose loop stopped looks
healthy and does nothing.  :func:`guarded` wraps the function so that an
exception (or a failed Deferred) is logged and the loop goes on.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from twisted.internet import defer
from twisted.logger import Logger
from twisted.python.failure import Failure

_log = Logger(namespace="nutwist")


def guarded(f: Callable[..., Any], what: str, log: Logger = _log) -> Callable[..., Any]:
    """``f``, except that whatever it raises is logged (as ``what failed``) and swallowed."""

    def failed(failure: Failure) -> None:
        log.failure("{what} failed", failure, what=what)

    @functools.wraps(f)
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            result = f(*args, **kwargs)
        except Exception:
            failed(Failure())
            return None
        if isinstance(result, defer.Deferred):
            return result.addErrback(failed)
        return result

    return call
