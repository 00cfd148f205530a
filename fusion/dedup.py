"""Duplicate detection (docs/protocol.md §2a): a message is a duplicate only when the same
device already sent an accepted message with the same ``id`` **and** the same payload
bytes. The same id with other content is a device that restarted its numbering (a
reboot, a firmware update): a new event, reported as an id reuse.

Bounded in time and per device, so memory stays flat however long the service runs.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from enum import StrEnum


class Seen(StrEnum):
    """What the filter made of one offered message."""

    NEW = "new"
    DUPLICATE = "duplicate"
    ID_REUSED = "id_reused"
    """New content under an id already used by that device: processed as a new event."""


def payload_key(payload: bytes) -> int:
    """A short fingerprint of a payload's bytes.

    Python's 64-bit SipHash of the bytes: equal bytes give equal keys, and two different
    payloads under the same id collide with odds of 2^-64. Keys are per process (the
    hash is salted) and are never stored: a restart recomputes them from the stored
    payloads.
    """
    return hash(payload)


class DuplicateFilter:
    """Remembers each device's (id, payload) pairs for ``horizon_s`` seconds of receipt
    time, and at most its ``per_device`` most recent ones.

    QoS 1 redelivery and a repeating gateway repeat one of a device's latest messages
    within minutes, so both bounds keep every real duplicate in view while memory stays
    at most devices x ``per_device`` pairs, whatever the rate or the length of the run.
    An id normally has one payload: it is kept as a plain int, and only an id that was
    reused holds a set.
    """

    def __init__(
        self,
        horizon_s: float,
        per_device: int,
        seen: Iterable[tuple[float, str, str, bytes]] = (),
    ) -> None:
        self._horizon = horizon_s
        self._cap = per_device
        self._ids: dict[str, dict[str, int | set[int]]] = {}
        self._order: dict[str, deque[tuple[float, str, int]]] = {}
        for t, device, msg_id, payload in sorted(seen, key=lambda s: s[0]):
            self.offer(device, msg_id, payload_key(payload), t)

    def offer(self, device: str, msg_id: str, key: int, now: float) -> Seen:
        """Remember the pair unless it is a duplicate; say which it was."""
        ids = self._ids.get(device)
        if ids is None:
            ids = self._ids[device] = {}
            self._order[device] = deque()
        order = self._order[device]
        before = now - self._horizon
        while order and order[0][0] < before:
            _forget(ids, order.popleft())
        known = ids.get(msg_id)
        if known is not None and (known == key if isinstance(known, int) else key in known):
            return Seen.DUPLICATE
        if len(order) >= self._cap:
            _forget(ids, order.popleft())
            known = ids.get(msg_id)
        if known is None:
            ids[msg_id] = key
            verdict = Seen.NEW
        else:
            if isinstance(known, int):
                ids[msg_id] = {known, key}
            else:
                known.add(key)
            verdict = Seen.ID_REUSED
        order.append((now, msg_id, key))
        return verdict

    def knows(self, device: str, msg_id: str) -> bool:
        """Whether ``device`` sent an accepted message with this id (within the bounds)."""
        ids = self._ids.get(device)
        return ids is not None and msg_id in ids

    def __len__(self) -> int:
        return sum(len(order) for order in self._order.values())


def _forget(ids: dict[str, int | set[int]], entry: tuple[float, str, int]) -> None:
    _, msg_id, key = entry
    known = ids.get(msg_id)
    if known is None:
        return
    if isinstance(known, int):
        if known == key:
            del ids[msg_id]
        return
    known.discard(key)
    if len(known) == 1:
        ids[msg_id] = next(iter(known))
    elif not known:
        del ids[msg_id]
