"""The ups.status words, and how drivers put them together.

Words are space-separated, in the order a driver sets them, each once.
``ALARM`` leads when ``ups.alarm`` has something; upsd itself adds ``FSD``
(its latch) in front and shows ``WAIT`` while a driver dumps its data.
"""

from __future__ import annotations

TOKENS: dict[str, str] = {
    "OL": "on line (mains power)",
    "OB": "on battery",
    "LB": "low battery",
    "HB": "high battery",
    "RB": "the battery needs replacing",
    "CHRG": "the battery is charging",
    "DISCHRG": "the battery is discharging",
    "BYPASS": "on bypass: powered, not protected",
    "CAL": "calibrating",
    "OFF": "off, or asleep",
    "OVER": "overloaded",
    "TRIM": "trimming high input voltage",
    "BOOST": "boosting low input voltage",
    "FSD": "forced shutdown in progress (set by upsd's latch)",
    "ALARM": "one or more alarms (see ups.alarm)",
    "ECO": "in an economy mode",
    "WAIT": "upsd is waiting for the driver's data",
}


def parse_status(value: str) -> tuple[str, ...]:
    """The status words, upper-cased, in order."""
    return tuple(w.upper() for w in value.split())


def build_status(words: list[str] | tuple[str, ...], alarm: bool = False) -> str:
    """status_init/status_set/status_commit: each word once, ALARM first if any alarm."""
    out: list[str] = []
    for w in words:
        for token in w.split():
            if token not in out:
                out.append(token)
    if alarm and "ALARM" not in out:
        out.insert(0, "ALARM")
    return " ".join(out)
