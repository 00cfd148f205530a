"""The intelligence items the engine holds, their windows, and the zones on watch
(docs/protocol.md §9).

A zone is on watch while at least one active, credible item names it. Items become
active and expire at instants of the engine's clock: the book keeps those instants in a
heap, so that :meth:`IntelBook.advance` changes the picture exactly when a window opens
or closes, with no message arriving and nothing polled.

Pure: no clock, no I/O.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable

from fusion.changes import Change, IntelUpdated, ZoneWatchChanged
from fusion.intel import IntelEvent, IntelItem, IntelMessage, item_window


class IntelBook:
    """Every item issued (its last version), in the order first issued."""

    def __init__(self, zones: Iterable[str], items: Iterable[IntelItem] = ()) -> None:
        self._items: dict[str, IntelItem] = {}
        self._by_zone: dict[str, set[str]] = {z: set() for z in zones}
        self._watch: dict[str, tuple[str, ...]] = dict.fromkeys(self._by_zone, ())
        self._heap: list[tuple[float, int, str, int]] = []
        self._seq = 0
        for item in items:
            self._put(item, None)

    # -- inputs -------------------------------------------------------------------------

    def apply(self, msg: IntelMessage, now: float) -> list[Change]:
        """An issue (create or replace whole) or a withdrawal received at ``now``."""
        out: list[Change] = []
        old = self._items.get(msg.item_id)
        if msg.event is IntelEvent.WITHDRAW:
            if old is None or old.withdrawn_t is not None:
                return out  # unknown or already withdrawn: accepted, changes nothing
            item = _replace(old, withdrawn_t=now)
            self._items[item.id] = item
            out.append(IntelUpdated(now, item, "withdrawn"))
            self._refresh(item.zones, now, out)
            return out
        content = msg.content
        assert content is not None
        start, end = item_window(content, now)
        item = IntelItem(
            id=msg.item_id,
            source=msg.source,
            ref=msg.ref,
            content=content,
            received_t=now,
            active_from_t=start,
            active_until_t=end,
            first_issued_t=old.first_issued_t if old is not None else now,
            version=old.version + 1 if old is not None else 1,
        )
        affected = set(item.zones)
        if old is not None:
            affected.update(old.zones)
            for z in old.zones:
                self._by_zone[z].discard(old.id)
        self._put(item, now)
        out.append(IntelUpdated(now, item, "replaced" if old is not None else "issued"))
        self._refresh(sorted(affected, key=self._order), now, out)
        return out

    def advance(self, now: float) -> list[Change]:
        """Let time pass to ``now``: windows that opened or closed change the watch."""
        out: list[Change] = []
        heap = self._heap
        while heap and heap[0][0] <= now:
            t, _, item_id, version = heapq.heappop(heap)
            item = self._items.get(item_id)
            if item is None or item.version != version or item.withdrawn_t is not None:
                continue  # replaced or withdrawn since: that window no longer holds
            change = "activated" if t == item.active_from_t else "expired"
            out.append(IntelUpdated(t, item, change))
            self._refresh(item.zones, t, out)
        return out

    def maybe_due(self, now: float) -> bool:
        heap = self._heap
        return bool(heap) and heap[0][0] <= now

    def next_deadline(self) -> float | None:
        return self._heap[0][0] if self._heap else None

    # -- views --------------------------------------------------------------------------

    def linked(self, zones: Iterable[str]) -> set[str]:
        """The active, credible items naming one of ``zones`` now (the book has been
        advanced to the current time): what an event that opens or joins an incident in
        those zones links to it. Read from the watch kept at every window instant, so
        it costs one lookup per zone, however many items were ever issued."""
        watch = self._watch
        found: set[str] = set()
        for z in zones:
            found.update(watch.get(z, ()))
        return found

    def watch(self, zone: str) -> bool:
        return bool(self._watch.get(zone))

    def watched_by(self, zone: str) -> tuple[str, ...]:
        """The active, credible items that put ``zone`` on watch (sorted ids)."""
        return self._watch.get(zone, ())

    def items(self) -> list[IntelItem]:
        """Every item, in the order first issued (a replaced item keeps its place)."""
        return list(self._items.values())

    def get(self, item_id: str) -> IntelItem | None:
        return self._items.get(item_id)

    # -- inside ---------------------------------------------------------------------------

    def _put(self, item: IntelItem, now: float | None) -> None:
        """Index the item; its window's instants still to come go on the heap (an
        instant at or before ``now`` has already been taken into account)."""
        self._items[item.id] = item
        for z in item.zones:
            self._by_zone.setdefault(z, set()).add(item.id)
        if item.withdrawn_t is None:
            for t in (item.active_from_t, item.active_until_t):
                if now is None or t > now:
                    self._seq += 1
                    heapq.heappush(self._heap, (t, self._seq, item.id, item.version))

    def _order(self, zone: str) -> int:
        return list(self._by_zone).index(zone)

    def _watching(self, zone: str, t: float) -> tuple[str, ...]:
        return tuple(
            sorted(
                i
                for i in self._by_zone.get(zone, ())
                if self._items[i].credible and self._items[i].active_at(t)
            )
        )

    def _refresh(self, zones: Iterable[str], t: float, out: list[Change]) -> None:
        """Recompute which items watch each zone; report every change of that set (not
        only of the flag: a desk that may see only some of the items must know)."""
        for z in zones:
            watching = self._watching(z, t)
            if watching != self._watch.get(z, ()):
                self._watch[z] = watching
                out.append(ZoneWatchChanged(t, z, bool(watching), watching))

    def settle(self, now: float) -> None:
        """After a restart: set each zone's watch for ``now`` without reporting it, and
        drop the window instants already past (they were reported before the restart)."""
        while self._heap and self._heap[0][0] <= now:
            heapq.heappop(self._heap)
        for z in self._by_zone:
            self._watch[z] = self._watching(z, now)


def _replace(item: IntelItem, *, withdrawn_t: float) -> IntelItem:
    return IntelItem(
        id=item.id,
        source=item.source,
        ref=item.ref,
        content=item.content,
        received_t=item.received_t,
        active_from_t=item.active_from_t,
        active_until_t=item.active_until_t,
        withdrawn_t=withdrawn_t,
        first_issued_t=item.first_issued_t,
        version=item.version,
    )
