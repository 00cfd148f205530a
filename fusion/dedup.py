"""Duplicate detection on (device, message id), bounded in time and per device."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable


class DuplicateFilter:
    """Remembers each device's message ids for ``horizon_s`` seconds of receipt time,
    and at most its ``per_device`` most recent ones.

    QoS 1 redelivery and a repeating gateway repeat one of a device's latest
    messages, so both bounds keep every real duplicate in view while memory stays
    at most devices x ``per_device`` ids, whatever the rate or the length of the run.
    """

    def __init__(
        self,
        horizon_s: float,
        per_device: int,
        seen: Iterable[tuple[float, str, str]] = (),
    ) -> None:
        self._horizon = horizon_s
        self._cap = per_device
        self._ids: dict[str, set[str]] = {}
        self._order: dict[str, deque[tuple[float, str]]] = {}
        for t, sensor, msg_id in sorted(seen):
            self.first_time(sensor, msg_id, t)

    def first_time(self, sensor: str, msg_id: str, now: float) -> bool:
        """True the first time an id of a device is offered (within the bounds), then False."""
        ids = self._ids.get(sensor)
        if ids is None:
            ids = self._ids[sensor] = set()
            self._order[sensor] = deque()
        order = self._order[sensor]
        before = now - self._horizon
        while order and order[0][0] < before:
            ids.discard(order.popleft()[1])
        if msg_id in ids:
            return False
        if len(order) >= self._cap:
            ids.discard(order.popleft()[1])
        ids.add(msg_id)
        order.append((now, msg_id))
        return True

    def __len__(self) -> int:
        return sum(len(ids) for ids in self._ids.values())
