"""One-line findings about configuration files, each naming ``file:line``."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Level(enum.Enum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Diagnostic:
    """A finding about a configuration file.

    ``fatal`` marks what NUT's own programs refuse to run with; a daemon stops on
    those, while ``nutwist check-config`` counts every error.
    """

    level: Level
    path: str
    line: int | None
    message: str
    fatal: bool = False
    #: the whole line as NUT's own program words it, for the drop-in commands to print
    text: str | None = None

    def __str__(self) -> str:
        where = self.path if self.line is None else f"{self.path}:{self.line}"
        return f"{where}: {self.level.value}: {self.message}"

    @property
    def nut_line(self) -> str:
        """The line a drop-in command prints: NUT's wording where it has one."""
        return self.text if self.text is not None else str(self)

    @property
    def is_error(self) -> bool:
        return self.level is Level.ERROR


class ConfigError(Exception):
    """A configuration nutwist cannot run with; ``str()`` is one line per problem."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        self.diagnostics = diagnostics
        super().__init__("\n".join(str(d) for d in diagnostics))


class Diagnostics(list[Diagnostic]):
    """The findings about one file, with helpers to add them."""

    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = path

    def error(self, line: int | None, message: str, *, fatal: bool = False) -> None:
        self.append(Diagnostic(Level.ERROR, self.path, line, message, fatal))

    def warning(self, line: int | None, message: str, *, text: str | None = None) -> None:
        self.append(Diagnostic(Level.WARNING, self.path, line, message, text=text))

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self if d.is_error]

    @property
    def fatal(self) -> list[Diagnostic]:
        return [d for d in self if d.fatal]
