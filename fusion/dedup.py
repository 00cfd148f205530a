"""Duplicate detection on (device, message id), over a bounded time horizon."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable


class DuplicateFilter:
    """Remembers each (device, id) pair for ``horizon_s`` seconds of receipt time.

    Pairs are inserted once and expire in the order they arrived, so a deque of
    arrival times beside a set is all the bookkeeping needed: memory follows the
    message rate times the horizon, not the length of the run.
    """

    def __init__(self, horizon_s: float, seen: Iterable[tuple[float, str, str]] = ()) -> None:
        self._horizon = horizon_s
        self._seen: set[tuple[str, str]] = set()
        self._arrivals: deque[tuple[float, tuple[str, str]]] = deque()
        for t, sensor, msg_id in sorted(seen):
            key = (sensor, msg_id)
            if key not in self._seen:
                self._seen.add(key)
                self._arrivals.append((t, key))

    def first_time(self, sensor: str, msg_id: str, now: float) -> bool:
        """True the first time a pair is offered within the horizon, then False."""
        arrivals = self._arrivals
        if arrivals and arrivals[0][0] < now - self._horizon:
            self._expire(now - self._horizon)
        key = (sensor, msg_id)
        if key in self._seen:
            return False
        self._seen.add(key)
        arrivals.append((now, key))
        return True

    def _expire(self, before: float) -> None:
        arrivals, seen = self._arrivals, self._seen
        while arrivals and arrivals[0][0] < before:
            seen.discard(arrivals.popleft()[1])

    def __len__(self) -> int:
        return len(self._seen)
