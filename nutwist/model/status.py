"""The ups.status words, and how drivers put them together.

A status is space-separated words in the order the driver set them
(status_init, status_set..., status_commit).  ``ALARM`` leads when
``ups.alarm`` holds something.  upsd adds two words of its own: ``FSD`` in
front once its forced-shutdown latch is set, and ``WAIT`` while it waits for a
driver's first dump.
"""

from __future__ import annotations

from collections.abc import Iterable

#: every status word, with what it means (docs/new-drivers.txt)
TOKENS: dict[str, str] = {
    "OL": "on line (mains power)",
    "OB": "on battery",
    "LB": "low battery",
    "HB": "high battery",
    "RB": "the battery needs replacing",
    "CHRG": "the battery is charging",
    "DISCHRG": "the battery is discharging",
    "BYPASS": "on bypass: powered, but not protected",
    "CAL": "calibrating",
    "OFF": "off, or administratively asleep",
    "OVER": "overloaded",
    "TRIM": "trimming a high input voltage",
    "BOOST": "boosting a low input voltage",
    "FSD": "forced shutdown in progress (upsd's latch; drivers should not set it)",
    "ALARM": "one or more alarms are active (see ups.alarm)",
    "ECO": "in an economy mode, as the vendor defines it",
    "WAIT": "upsd is waiting for the driver's data (upsd only)",
}

#: words only upsd puts into a status, never a driver
UPSD_TOKENS = frozenset({"FSD", "WAIT"})


def parse_status(value: str) -> tuple[str, ...]:
    """The status words, upper-cased, in order (as upsmon reads them)."""
    return tuple(w.upper() for w in value.split())


class StatusBuilder:
    """NUT's status_init / status_set / status_commit for one driver.

    Each word is kept once, in the order first set.  With ``ignorelb``
    (``driver.flag.ignorelb``) the device's own LB is dropped; the caller then
    decides LB from the thresholds and passes ``low_battery`` to :meth:`commit`.
    """

    __slots__ = ("_words", "ignorelb")

    def __init__(self, ignorelb: bool = False) -> None:
        self.ignorelb = ignorelb
        self._words: list[str] = []

    def init(self) -> None:
        """Start a new status (status_init)."""
        self._words = []

    def set(self, words: str) -> None:
        """Add one or more space-separated words (status_set); repeats are ignored."""
        for w in words.split():
            if self.ignorelb and w.upper() == "LB":
                continue
            if w not in self._words:
                self._words.append(w)

    def __contains__(self, word: object) -> bool:
        return word in self._words

    def words(self) -> tuple[str, ...]:
        return tuple(self._words)

    def commit(self, alarm: bool = False, low_battery: bool = False) -> str:
        """The ups.status value (status_commit) for a driver with/without active alarms.

        Built as NUT 2.8.0 builds it: LB from the ignorelb thresholds is appended
        as ``" LB"``, and an active alarm prefixes ``"ALARM "`` (so an alarm with
        no other word gives ``"ALARM "``, trailing space included).
        """
        words = [w for w in self._words if w != "ALARM"] if alarm else self._words
        value = " ".join(words)
        if low_battery and self.ignorelb:
            value += " LB"
        return f"ALARM {value}" if alarm else value


def build_status(words: Iterable[str], alarm: bool = False) -> str:
    """A whole status_init/status_set.../status_commit pass in one call."""
    b = StatusBuilder()
    for w in words:
        b.set(w)
    return b.commit(alarm=alarm)
