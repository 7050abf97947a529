"""The top of a daemon's services: the one owner of the process's signals."""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from twisted.application import service


class ProcessService(service.MultiService):
    """The top of a daemon's services, and the one owner of the process's signals.

    ``signals`` maps a signal number to what it does, in order: ``SIGHUP`` to every
    child's reload, ``SIGUSR1`` to upsmon's forced shutdown.  The handlers go in once
    the reactor runs, so that nothing twistd or the reactor installs at start-up
    replaces them, and each runs in the reactor's thread, never inside the signal.
    """

    def __init__(
        self,
        signals: Mapping[int, Iterable[Callable[[], object]]] | None = None,
        reactor: Any = None,
    ) -> None:
        super().__init__()
        if reactor is None:
            from twisted.internet import reactor as default_reactor

            reactor = default_reactor
        self.reactor = reactor
        self.signals = {sig: tuple(actions) for sig, actions in (signals or {}).items()}

    def startService(self) -> None:
        super().startService()
        if self.signals:
            self.reactor.callWhenRunning(self._install_signals)

    def _install_signals(self) -> None:
        for sig, actions in self.signals.items():
            signal.signal(sig, self._handler(actions))

    def _handler(self, actions: tuple[Callable[[], object], ...]) -> Callable[..., None]:
        def run_all() -> None:
            for action in actions:
                try:
                    action()
                except Exception:
                    # one part's failed reload never keeps the others from theirs
                    from twisted.logger import Logger

                    Logger().failure("signal handler {action!r} failed", action=action)

        def handler(signum: int, frame: object) -> None:
            self.reactor.callFromThread(run_all)

        return handler
