"""An in-memory ring of recent video, kept whole GOPs at a time so that it can always
start at a keyframe: bounded by time (at least ``horizon_s`` back from the newest
item, from a keyframe) and by bytes."""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

log = logging.getLogger("vigie.video")


class Timed(Protocol):
    """What the ring needs of an item: its arrival time, whether a decoder can start
    at it, and its size."""

    @property
    def t(self) -> float: ...
    @property
    def keyframe(self) -> bool: ...
    @property
    def size(self) -> int: ...


T = TypeVar("T", bound=Timed)


@dataclass(slots=True)
class Gop(Generic[T]):
    """A keyframe and the frames that depend on it, with the stream header (for fMP4,
    the init segment) that a decoder needs first."""

    header: T | None
    items: list[T] = field(default_factory=list)
    size: int = 0

    @property
    def start(self) -> float:
        return self.items[0].t


@dataclass(slots=True)
class RingCounts:
    """What the ring let go of, and why."""

    before_keyframe: int = 0  # items that came with no keyframe before them
    over_budget: int = 0  # GOPs dropped early because the byte budget was reached
    oversized_gops: int = 0  # GOPs larger than the whole budget (a camera without keyframes)


class Ring(Generic[T]):
    """Recent GOPs: at least ``horizon_s`` of video back from the newest item (when the
    bytes allow), never more than ``max_bytes``.

    ``horizon_s=0`` keeps only the GOP in progress: what a new live viewer needs.
    """

    def __init__(self, horizon_s: float, max_bytes: int) -> None:
        self.horizon_s = horizon_s
        self.max_bytes = max_bytes
        self.counts = RingCounts()
        self._gops: deque[Gop[T]] = deque()
        self._bytes = 0
        self._header: T | None = None
        self._broken = False  # the GOP in progress was dropped: wait for a keyframe

    @property
    def bytes(self) -> int:
        return self._bytes

    @property
    def span_s(self) -> float:
        """Seconds from the oldest kept keyframe to the newest item."""
        if not self._gops:
            return 0.0
        return self._gops[-1].items[-1].t - self._gops[0].start

    def set_header(self, header: T) -> None:
        """A new stream header: the next GOP (it starts at a keyframe) goes with it."""
        self._header = header
        self._broken = True  # frames after a new header are useless until its keyframe

    def add(self, item: T) -> None:
        if item.keyframe:
            self._gops.append(Gop(self._header))
            self._broken = False
        elif not self._gops or self._broken:
            self.counts.before_keyframe += 1
            return
        gop = self._gops[-1]
        gop.items.append(item)
        gop.size += item.size
        self._bytes += item.size
        self._trim(item.t)

    def _trim(self, newest: float) -> None:
        gops = self._gops
        while len(gops) > 1 and gops[1].start <= newest - self.horizon_s:
            self._bytes -= gops.popleft().size
        while self._bytes > self.max_bytes and len(gops) > 1:
            self._bytes -= gops.popleft().size
            self.counts.over_budget += 1
        if self._bytes > self.max_bytes:  # one GOP larger than the budget
            self._bytes -= gops.pop().size
            self._broken = True
            self.counts.oversized_gops += 1
            log.warning("a GOP outgrew the ring's %d bytes: dropped until the next keyframe",
                        self.max_bytes)  # fmt: skip

    def since(self, t: float) -> Iterator[tuple[T | None, list[T]]]:
        """From the latest keyframe at or before ``t`` (or the oldest one kept, if the ring
        does not reach back that far), each GOP's header and items, oldest first.
        The lists are copies: the ring goes on changing."""
        gops = list(self._gops)
        first = 0
        for i, gop in enumerate(gops):
            if gop.start <= t:
                first = i
        for gop in gops[first:]:
            yield gop.header, list(gop.items)

    def latest(self) -> tuple[T | None, list[T]] | None:
        """The GOP in progress, from its keyframe: where a new viewer starts."""
        if not self._gops or self._broken:
            return None
        gop = self._gops[-1]
        return gop.header, list(gop.items)
