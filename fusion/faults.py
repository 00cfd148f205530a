"""Device faults (docs/protocol.md §3, rule 6) and the heartbeat watch that raises
``heartbeat_lost``."""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum


class FaultType(StrEnum):
    TAMPER = "tamper"
    FAULT = "fault"
    VIDEO_LOSS = "video_loss"
    HEARTBEAT_LOST = "heartbeat_lost"


CLEARED_BY_CLEAR = (FaultType.TAMPER, FaultType.FAULT, FaultType.VIDEO_LOSS)
"""``clear`` and ``video_restored`` end every reported condition of their device."""


@dataclass(frozen=True, slots=True)
class Fault:
    """One fault of one device, from when it was raised to when it cleared."""

    number: int
    device: str
    fault: FaultType
    t: float
    cleared_t: float | None = None


class FaultBook:
    """Open faults, at most one of each type per device."""

    def __init__(self, open_faults: Iterable[Fault] = (), next_number: int = 1) -> None:
        self._open: dict[tuple[str, FaultType], Fault] = {
            (f.device, f.fault): f for f in open_faults
        }
        self._next = next_number

    def raise_fault(self, device: str, fault: FaultType, t: float) -> Fault | None:
        """The new fault, or None if the same fault of that device is still open."""
        key = (device, fault)
        if key in self._open:
            return None
        raised = Fault(self._next, device, fault, t)
        self._next += 1
        self._open[key] = raised
        return raised

    def clear(self, device: str, faults: Iterable[FaultType], t: float) -> list[Fault]:
        """End these faults of ``device``; the cleared ones in the order they were raised."""
        ended = [f for f in (self._open.pop((device, k), None) for k in faults) if f is not None]
        ended.sort(key=lambda f: f.number)
        return [Fault(f.number, device, f.fault, f.t, cleared_t=t) for f in ended]

    def open_faults(self) -> list[Fault]:
        return sorted(self._open.values(), key=lambda f: f.number)

    @property
    def next_number(self) -> int:
        return self._next


class HeartbeatWatch:
    """Computes when each supervised device's silence reaches its limit.

    Holds one heap entry per device whatever the message rate: hearing a device
    only moves its ``last_heard``; a heap entry that comes due is checked against
    it and pushed back if the device was heard since. So nothing is polled and
    memory does not grow with heartbeats.
    """

    def __init__(
        self,
        limits: Mapping[str, float],
        start: float,
        last_heard: Mapping[str, float] | None = None,
        lost: Iterable[str] = (),
    ) -> None:
        self._limit = dict(limits)
        self._order = {device: i for i, device in enumerate(limits)}
        # Silence is counted from the start (docs/protocol.md §3, rule 6): after a restart,
        # a device heard before the outage is given its full limit from the restart, so
        # no fault is ever dated inside the time the service was not watching.
        self._last = {s: start for s in limits}
        self._last.update(
            {s: max(t, start) for s, t in (last_heard or {}).items() if s in self._limit}
        )
        self._lost = {s for s in lost if s in self._limit}
        self._heap = [
            (self._last[s] + limit, self._order[s], s)
            for s, limit in self._limit.items()
            if s not in self._lost
        ]
        heapq.heapify(self._heap)

    def heard(self, device: str, t: float) -> bool:
        """Note a sign of life; True if it ends a ``heartbeat_lost``."""
        limit = self._limit.get(device)
        if limit is None:
            return False
        self._last[device] = t
        if device in self._lost:
            self._lost.discard(device)
            heapq.heappush(self._heap, (t + limit, self._order[device], device))
            return True
        return False

    def due(self, now: float) -> list[tuple[float, str]]:
        """Devices whose silence reached the limit at or before ``now``, in order."""
        fired: list[tuple[float, str]] = []
        heap = self._heap
        while heap and heap[0][0] <= now:
            deadline, order, device = heapq.heappop(heap)
            actual = self._last[device] + self._limit[device]
            if actual > deadline:
                heapq.heappush(heap, (actual, order, device))
            else:
                self._lost.add(device)
                fired.append((deadline, device))
        return fired

    def maybe_due(self, now: float) -> bool:
        """Whether :meth:`due` may find something at ``now`` (cheap; may say yes early)."""
        heap = self._heap
        return bool(heap) and heap[0][0] <= now

    def next_deadline(self) -> float | None:
        """A time at or before the next possible ``heartbeat_lost`` (may be early)."""
        return self._heap[0][0] if self._heap else None

    def last_heard(self, device: str) -> float | None:
        return self._last.get(device)
