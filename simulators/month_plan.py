"""A month at a site as a plan: what devices send and inspectors do, in time order, and
how the control room deals with each incident (drawn by :mod:`simulators.month_draw`,
played by :mod:`simulators.month`).

Heartbeats are generated lazily, device by device: a month of them is millions of
messages.
"""

from __future__ import annotations

import heapq
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Final

from fusion.incidents import Disruption, Outcome
from fusion.site import Site
from fusion.walktests import CrossingMode

OPERATORS: Final = ("alice", "bruno", "chloe")
"""The control room's three shifts: 06-14, 14-22 and the night."""

INSPECTOR: Final = "ines"
"""Who runs the walk tests."""

DISRUPTION_WEIGHTS: Final = {
    Disruption.INTERCEPTED: 4,
    Disruption.TURNED_BACK: 3,
    Disruption.ESCAPED: 2,
    Disruption.UNKNOWN: 1,
}
"""How an intrusion ends, drawn with these weights: most intruders are caught or turned
back; a few escape, and now and then nobody knows."""


@dataclass(frozen=True, slots=True)
class Story:
    """How the control room deals with the incident a message opens."""

    cause: str
    outcome: Outcome
    ack_after_s: float | None
    """None: resolved without being acknowledged first."""
    resolve_after_s: float
    comment: str
    disruption: Disruption | None = None


@dataclass(frozen=True, slots=True)
class Sent:
    """A message a device (or an intelligence feed) sends at ``t``; the id is added when
    it is sent."""

    t: float
    device: str
    kind: str
    body: dict[str, Any]
    story: Story | None = None


@dataclass(frozen=True, slots=True)
class Inspection:
    """An inspector's action: ``open`` a test on ``zone`` (``ref`` names it in the plan),
    ``cross`` it in ``mode``, ``close`` it."""

    t: float
    action: str
    ref: int
    zone: str
    minutes: float = 0.0
    mode: CrossingMode | None = None


Happening = Sent | Inspection


@dataclass(slots=True)
class MonthPlan:
    """Everything but the heartbeats, in time order, and who is silent when."""

    site: Site
    start: float
    end: float
    seed: int
    sparse_heartbeats: bool = False
    happenings: list[Happening] = field(default_factory=list)
    silences: dict[str, list[tuple[float, float]]] = field(default_factory=dict)

    def silent(self, device: str, t: float) -> bool:
        return any(a <= t < b for a, b in self.silences.get(device, ()))

    def stream(self) -> Iterator[Happening]:
        """The happenings and every heartbeat, merged in time order."""
        streams: list[Iterator[Happening]] = [iter(self.happenings)]
        rng = random.Random(self.seed + 1)
        misses = self.site.fusion.heartbeat_misses
        devices = [(s.id, str(s.kind), s.heartbeat_s) for s in self.site.sensors]
        devices += [(c.id, "camera", c.heartbeat_s) for c in self.site.cameras]
        for device, kind, period in devices:
            if period > 0:
                every = period * (misses - 0.5) if self.sparse_heartbeats and misses > 1 else period
                streams.append(self._beats(device, kind, every, rng.uniform(0, period)))
        return heapq.merge(*streams, key=lambda h: h.t)

    def _beats(self, device: str, kind: str, every: float, phase: float) -> Iterator[Sent]:
        """Every ``every`` seconds, but not while the device is silenced."""
        t = self.start + phase
        for quiet_from, quiet_until in [*sorted(self.silences.get(device, ())), (math.inf, 0.0)]:
            while t < min(quiet_from, self.end):
                yield Sent(t, device, kind, {"event": "heartbeat"})
                t += every
            if t >= self.end:
                return
            t += math.ceil(max(0.0, quiet_until - t) / every) * every
