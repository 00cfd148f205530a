"""Logging at a bounded rate: a flood of bad messages must not become a flood of log lines.

The first line of each kind goes out at once; later ones within the period are only
counted, and one summary line per kind says how many were held back. The metrics keep
the exact counts; the log keeps an example and the rate.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

PERIOD_S: Final = 60.0
"""One example and one summary per kind per minute: enough to see what is wrong and how
often, at any rate of bad input."""


@dataclass(slots=True)
class _Kind:
    since: float
    held: int = 0
    last: str = field(default="")


class LogLimiter:
    """Logs the first message of each kind per period, then a count of the rest."""

    def __init__(
        self,
        logger: logging.Logger,
        level: int = logging.WARNING,
        period_s: float = PERIOD_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._log = logger
        self._level = level
        self._period = period_s
        self._clock = clock
        self._kinds: dict[str, _Kind] = {}

    def log(self, kind: str, message: str) -> None:
        now = self._clock()
        k = self._kinds.get(kind)
        if k is not None and now - k.since < self._period:
            k.held += 1
            k.last = message
            return
        if k is not None:
            self._summary(kind, k)
        self._kinds[kind] = _Kind(now)
        self._log.log(self._level, "%s", message)

    def flush(self) -> None:
        """Write the summary of every kind whose period is over (call now and then)."""
        now = self._clock()
        for kind, k in list(self._kinds.items()):
            if now - k.since >= self._period:
                self._summary(kind, k)
                del self._kinds[kind]

    def _summary(self, kind: str, k: _Kind) -> None:
        if k.held:
            self._log.log(
                self._level,
                "%d more %s in the last %.0f s (latest: %s)",
                k.held,
                kind,
                self._period,
                k.last,
            )
