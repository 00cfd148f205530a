"""Reading the store: what a restart needs, and incidents as rows (:mod:`fusion.records`).
JSON is built by :mod:`fusion.wire`, never here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from fusion.correlator import EngineState
from fusion.events import Modality
from fusion.faults import Fault, FaultType
from fusion.incidents import IncidentState, IncidentView
from fusion.intel import IntelItem, graded_content
from fusion.records import (
    AuditRecord,
    CommandRecord,
    EventRecord,
    IncidentRecord,
    IncidentTrail,
    StillRecord,
)
from vigie.store.clips import incident_clips
from vigie.store.db import Database
from vigie.store.inspections import next_walk_test, walk_tests_in_book
from vigie.store.writes import INCIDENT_COLUMNS, meta_int

EVIDENCE_MARGIN_S = 5.0
"""Stills this long before an incident opened or after it was last joined belong to it:
a camera's still may arrive a moment before the event that opened the incident."""

EVIDENCE_LIMIT = 50


@dataclass(frozen=True, slots=True)
class Restored:
    """What a restart takes from the store."""

    state: EngineState
    seen: tuple[tuple[float, str, str, bytes], ...]
    last_seen: dict[str, float]
    accepted: int
    rejected: int
    duplicates: int
    id_reuses: int
    dead_letters: int


@dataclass(frozen=True, slots=True)
class DeadLetter:
    seq: int
    received: float
    topic: str
    payload: bytes
    error: str


def restore(db: Database, now: float, dedup_horizon_s: float) -> Restored:
    """What the engine and the duplicate filter need to go on after a restart."""
    open_rows = db.query(
        f"SELECT {INCIDENT_COLUMNS}, NULL FROM incidents WHERE state <> ?"  # noqa: S608 - constants only
        " ORDER BY opened_t, id",
        (IncidentState.RESOLVED.value,),
    )
    views = tuple(_record(r).view for r in open_rows)
    commanded: dict[str, set[str]] = {v.id: set() for v in views}
    for incident_id, light in db.query("SELECT incident_id, floodlight FROM commands"):
        if incident_id in commanded:
            commanded[incident_id].add(light)
    faults = tuple(
        Fault(n, d, FaultType(f), t, None)
        for n, d, f, t in db.query(
            "SELECT number, device, fault, t FROM faults WHERE cleared_t IS NULL ORDER BY number"
        )
    )
    devices = db.query("SELECT id, last_heard, floodlight_on, in_alarm FROM devices")
    seen = tuple(
        (t, d, m, bytes(p))
        for t, d, m, p in db.query(
            "SELECT received, device, msg_id, payload FROM messages WHERE received >= ?"
            " ORDER BY seq",
            (now - dedup_horizon_s,),
        )
    )
    last_seen = {d: t for d, t, _, _ in devices if t is not None}
    state = EngineState(
        incidents=views,
        commanded={k: frozenset(v) for k, v in commanded.items()},
        open_faults=faults,
        last_heard=last_seen,
        floodlights_on={d: bool(on) for d, _, on, _ in devices if on is not None},
        devices_in_alarm=frozenset(d for d, _, _, alarm in devices if alarm),
        next_incident=meta_int(db, "next_incident") or 1,
        next_fault=meta_int(db, "next_fault") or 1,
        intel_items=intel_items(db),
        walk_tests=tuple(walk_tests_in_book(db, now)),
        next_walk_test=next_walk_test(db),
    )
    restored = Restored(
        state=state,
        seen=seen,
        last_seen=last_seen,
        accepted=_count(db, "messages"),
        rejected=_count(db, "rejects"),
        duplicates=meta_int(db, "duplicates"),
        id_reuses=meta_int(db, "id_reuses"),
        dead_letters=_count(db, "dead_letters"),
    )
    db.rollback()
    return restored


def _count(db: Database, table: str) -> int:
    return int(db.query(f"SELECT COUNT(*) FROM {table}")[0][0])  # noqa: S608 - constants only


_FIRST_ACK = (
    "(SELECT MIN(a.t) FROM audit a WHERE a.incident_id = incidents.id AND a.action = 'ack')"
)
"""The first acknowledgement, as the reports time it (docs/reports.md)."""


def incidents(
    db: Database,
    state: str | None = None,
    limit: int = 500,
    opened: tuple[float | None, float | None] = (None, None),
) -> list[IncidentRecord]:
    """Newest first; ``opened`` bounds the opening time (from included, to excluded)."""
    where: list[str] = []
    params: list[Any] = []
    if state:
        where.append("state = ?")
        params.append(state)
    if opened[0] is not None:
        where.append("opened_t >= ?")
        params.append(opened[0])
    if opened[1] is not None:
        where.append("opened_t < ?")
        params.append(opened[1])
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    rows = db.query(
        f"SELECT {INCIDENT_COLUMNS}, {_FIRST_ACK} FROM incidents {clause}"  # noqa: S608 - constants only
        " ORDER BY opened_t DESC, id DESC LIMIT ?",
        (*params, limit),
    )
    db.rollback()
    return [_record(r) for r in rows]


def incident(db: Database, incident_id: str) -> tuple[IncidentRecord, IncidentTrail] | None:
    rows = db.query(
        f"SELECT {INCIDENT_COLUMNS}, {_FIRST_ACK} FROM incidents WHERE id = ?",  # noqa: S608 - constants only
        (incident_id,),
    )
    if not rows:
        db.rollback()
        return None
    record = _record(rows[0])
    events = tuple(
        EventRecord(t, role, d, ev, z, m, dts, orjson.loads(data))
        for t, role, d, ev, z, m, dts, data in db.query(
            "SELECT t, role, device, event, zone, msg_id, device_ts, data FROM incident_events"
            " WHERE incident_id = ? ORDER BY seq",
            (incident_id,),
        )
    )
    commands = tuple(
        CommandRecord(t, f)
        for t, f in db.query(
            "SELECT t, floodlight FROM commands WHERE incident_id = ? ORDER BY seq",
            (incident_id,),
        )
    )
    history = tuple(
        AuditRecord(t, who, a, o, c, addr, d)
        for t, who, a, o, c, addr, d in db.query(
            "SELECT t, who, action, outcome, comment, address, disruption FROM audit"
            " WHERE incident_id = ? ORDER BY seq",
            (incident_id,),
        )
    )
    v = record.view
    stills = _stills(db, list(v.devices), v.opened_t, v.last_joined_t)
    kept, removed = incident_clips(db, incident_id)
    db.rollback()
    return record, IncidentTrail(events, commands, history, stills, kept, removed)


def _stills(db: Database, devices: list[str], start: float, end: float) -> tuple[StillRecord, ...]:
    if not devices:
        return ()
    marks = ", ".join("?" for _ in devices)
    rows = db.query(
        f"SELECT seq, camera, t, zone, msg_id FROM evidence WHERE camera IN ({marks})"  # noqa: S608 - placeholders only
        " AND t BETWEEN ? AND ? ORDER BY t LIMIT ?",
        (*devices, start - EVIDENCE_MARGIN_S, end + EVIDENCE_MARGIN_S, EVIDENCE_LIMIT),
    )
    return tuple(StillRecord(q, c, t, z, m) for q, c, t, z, m in rows)


def evidence_jpeg(db: Database, seq: int) -> bytes | None:
    rows = db.query("SELECT jpeg FROM evidence WHERE seq = ?", (seq,))
    db.rollback()
    return bytes(rows[0][0]) if rows else None


def dead_letters(db: Database, limit: int = 100) -> list[DeadLetter]:
    rows = db.query(
        "SELECT seq, received, topic, payload, error FROM dead_letters ORDER BY seq DESC LIMIT ?",
        (limit,),
    )
    db.rollback()
    return [DeadLetter(q, t, topic, bytes(p), e) for q, t, topic, p, e in rows]


def _record(r: tuple[Any, ...]) -> IncidentRecord:
    view = IncidentView(
        id=r[0],
        zones=tuple(orjson.loads(r[1])),
        opened_t=r[2],
        confirmed_t=r[3],
        modalities=tuple(Modality(m) for m in orjson.loads(r[4])),
        devices=tuple(orjson.loads(r[5])),
        priority=r[6],
        state=IncidentState(r[7]),
        last_joined_t=r[8],
        intel=tuple(orjson.loads(r[11])),
        test=bool(r[13]),
    )
    return IncidentRecord(
        view, outcome=r[9], closed_t=r[10], disruption=r[12], acknowledged_t=r[14]
    )


def intel_items(db: Database) -> tuple[IntelItem, ...]:
    """Every item, in the order first issued, rebuilt from its original message data."""
    rows = db.query(
        "SELECT id, source, ref, zones, received_t, first_issued_t, active_from_t,"
        " active_until_t, withdrawn_t, version, data FROM intel_items"
        " ORDER BY first_issued_t, id"
    )
    items = []
    for item_id, source, ref, zones, received, first, start, end, withdrawn, version, data in rows:
        content = graded_content(
            orjson.loads(data), tuple(orjson.loads(zones)), start - received, end - received
        )
        items.append(
            IntelItem(
                id=item_id,
                source=source,
                ref=ref,
                content=content,
                received_t=received,
                active_from_t=start,
                active_until_t=end,
                withdrawn_t=withdrawn,
                first_issued_t=first,
                version=version,
            )
        )
    return tuple(items)
