"""Reading walk tests and the fault history back from the store (docs/protocol.md §11).

A crossing's detections are not stored: they are read from the messages, by the
definition the engine applies live and the reports apply too (an ``alarm`` of an IR
or fence sensor, or a camera ``person``, from the test's zone, received in
[t, t + 10 s]), so that the API, the page and the reports cannot disagree.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from fusion.events import MODALITY_OF, DeviceKind, EventType, Modality
from fusion.faults import Fault, FaultType
from fusion.walktests import DETECTION_WINDOW_S, CrossingMode, CrossingView, WalkTestView
from vigie.store.db import Database

_TEST_COLUMNS = "id, zone, opened_t, until_t, closed_t, opened_by, closed_by"

_DETECTING = {
    (DeviceKind.IR.value, EventType.ALARM.value),
    (DeviceKind.FENCE.value, EventType.ALARM.value),
    (DeviceKind.CAMERA.value, EventType.PERSON.value),
}


def _modality(topic: str, event: str) -> Modality | None:
    """The modality a stored message detects with, from its topic's kind level."""
    parts = topic.rsplit("/", 2)
    kind = parts[-2] if len(parts) == 3 else ""
    if (kind, event) not in _DETECTING:
        return None
    return MODALITY_OF[DeviceKind(kind)]


def walk_tests(
    db: Database,
    *,
    span: tuple[float, float] | None = None,
    test_id: str | None = None,
    limit: int = 200,
    modalities: Mapping[str, tuple[Modality, ...]] | None = None,
) -> list[WalkTestView]:
    """Tests whose window overlaps ``span`` (from included, to excluded; the reports'
    rule), or the one ``test_id``, or the latest ``limit``; oldest first."""
    where = ""
    params: tuple[Any, ...] = ()
    if test_id is not None:
        where, params = "WHERE id = ?", (test_id,)
    elif span is not None:
        where, params = (
            "WHERE opened_t < ? AND COALESCE(closed_t, until_t) >= ?",
            (span[1], span[0]),
        )
    rows = db.query(
        f"SELECT {_TEST_COLUMNS} FROM walk_tests {where}"  # noqa: S608 - constants only
        " ORDER BY opened_t DESC, id DESC LIMIT ?",
        (*params, limit),
    )
    views = _with_crossings(db, list(reversed(rows)), modalities or {})
    db.rollback()
    return views


def walk_tests_in_book(db: Database, now: float) -> list[WalkTestView]:
    """What the engine's book holds after a restart: tests still running, or ended so
    lately that a crossing's 10 s may not have passed."""
    rows = db.query(
        f"SELECT {_TEST_COLUMNS} FROM walk_tests"  # noqa: S608 - constants only
        " WHERE COALESCE(closed_t, until_t) >= ? ORDER BY opened_t, id",
        (now - DETECTION_WINDOW_S,),
    )
    return _with_crossings(db, rows, {})


def next_walk_test(db: Database) -> int:
    rows = db.query("SELECT MAX(id) FROM walk_tests")
    last = rows[0][0] if rows else None
    return int(last.removeprefix("WT-")) + 1 if last else 1


def _with_crossings(
    db: Database, rows: Sequence[tuple[Any, ...]], modalities: Mapping[str, tuple[Modality, ...]]
) -> list[WalkTestView]:
    if not rows:
        return []
    ids = [r[0] for r in rows]
    marks = ", ".join("?" for _ in ids)
    crossings: dict[str, list[tuple[int, float, str, str]]] = defaultdict(list)
    for seq, test, t, mode, by in db.query(
        f"SELECT seq, test_id, t, mode, by FROM crossings WHERE test_id IN ({marks})"  # noqa: S608 - placeholders only
        " ORDER BY t, seq",
        ids,
    ):
        crossings[test].append((seq, t, mode, by))
    detected: dict[int, set[Modality]] = defaultdict(set)
    for seq, topic, event in db.query(
        "SELECT c.seq, m.topic, m.event FROM crossings c JOIN walk_tests w ON w.id = c.test_id"  # noqa: S608 - placeholders only
        " JOIN messages m ON m.received >= c.t AND m.received <= c.t + ? AND m.zone = w.zone"
        f" WHERE c.test_id IN ({marks}) AND m.event IN ('alarm', 'person')",
        (DETECTION_WINDOW_S, *ids),
    ):
        modality = _modality(topic, event)
        if modality is not None:
            detected[seq].add(modality)
    views = []
    for test, zone, opened, until, closed, opened_by, closed_by in rows:
        views.append(
            WalkTestView(
                id=test,
                zone=zone,
                opened_t=opened,
                until_t=until,
                closed_t=closed,
                opened_by=opened_by,
                closed_by=closed_by,
                modalities=tuple(modalities.get(zone, ())),
                crossings=tuple(
                    CrossingView(
                        test, n, t, CrossingMode(mode), by, tuple(sorted(detected.get(seq, ())))
                    )
                    for n, (seq, t, mode, by) in enumerate(crossings.get(test, []), start=1)
                ),
            )
        )
    return views


def faults(db: Database, span: tuple[float, float], limit: int = 5000) -> list[Fault]:
    """Faults open at some moment of ``span`` (raised before its end, not cleared before
    its start: the reports' rule), in the order raised."""
    rows = db.query(
        "SELECT number, device, fault, t, cleared_t FROM faults"
        " WHERE t < ? AND (cleared_t IS NULL OR cleared_t > ?) ORDER BY number LIMIT ?",
        (span[1], span[0], limit),
    )
    db.rollback()
    return [Fault(n, d, FaultType(f), t, c) for n, d, f, t, c in rows]
