"""Writing to the store: one ingest batch, the changes the engine made, an operator's
decision. Each function only executes statements; the caller commits or rolls back."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson

from fusion.changes import (
    Change,
    DeviceAlarmChanged,
    FaultCleared,
    FaultRaised,
    FloodlightCommanded,
    FloodlightReported,
    IncidentAcknowledged,
    IncidentConfirmed,
    IncidentJoined,
    IncidentOpened,
    IncidentResolved,
    IntelUpdated,
)
from fusion.events import DeviceEvent
from fusion.incidents import IncidentView
from fusion.intake import Verdict
from fusion.intel import IntelItem, IntelMessage
from fusion.walktests import WalkTestChange, WalkTestChanged
from vigie.store.batch import AuditEntry, Batch, Received
from vigie.store.db import Database

INCIDENT_COLUMNS = (
    "id, zones, opened_t, confirmed_t, modalities, devices, priority, state, last_joined_t, "
    "outcome, closed_t, intel, disruption, test"
)


def json_text(value: Any) -> str:
    return orjson.dumps(value).decode()


def write_received(db: Database, entries: Iterable[Received]) -> None:
    """The messages themselves (accepted, rejected, stills, dead letters) and the changes
    each caused, in order."""
    accepted: list[tuple[Any, ...]] = []
    rejected: list[tuple[Any, ...]] = []
    stills: list[tuple[Any, ...]] = []
    dead: list[tuple[Any, ...]] = []
    last: dict[str, float] = {}
    changes: list[Change] = []
    for r in entries:
        p = r.processed
        if r.dead is not None:
            dead.append((r.t, r.topic, r.payload, r.dead))
        elif r.still is not None:
            stills.append((r.still.camera, r.t, r.still.msg_id, r.still.jpeg))
        elif p is not None:
            changes.extend(p.changes)
            e = p.event
            if p.verdict is Verdict.ACCEPTED and isinstance(e, IntelMessage):
                row = (r.t, e.topic, e.device, e.msg_id, e.event.value, None, e.ts, r.payload)
                accepted.append(row)
            elif p.verdict is Verdict.ACCEPTED and isinstance(e, DeviceEvent):
                zone, ts = e.zone, e.device_ts
                accepted.append(
                    (r.t, e.topic, e.device, e.msg_id, e.event.value, zone, ts, r.payload)
                )
                last[e.device] = r.t
            elif p.verdict is Verdict.REJECTED and p.rejection is not None:
                j = p.rejection
                rejected.append((r.t, j.topic, j.reason.value, j.detail, j.prefix))
    db.insert_rows(
        "messages", "received, topic, device, msg_id, event, zone, device_ts, payload", accepted
    )
    db.executemany(
        "INSERT INTO rejects (received, topic, reason, detail, prefix) VALUES (?, ?, ?, ?, ?)",
        rejected,
    )
    db.executemany(
        "INSERT INTO evidence (camera, t, zone, msg_id, jpeg) VALUES (?, ?, NULL, ?, ?)", stills
    )
    db.executemany(
        "INSERT INTO dead_letters (received, topic, payload, error) VALUES (?, ?, ?, ?)", dead
    )
    db.executemany(
        "INSERT INTO devices (id, last_heard) VALUES (?, ?) ON CONFLICT (id)"
        " DO UPDATE SET last_heard = excluded.last_heard",
        sorted(last.items()),
    )
    write_changes(db, changes)


def write_batch(db: Database, batch: Batch) -> None:
    write_received(db, batch.received)
    write_changes(db, batch.changes)
    write_counters(
        db,
        batch.next_incident,
        batch.next_fault,
        duplicates=batch.count(Verdict.DUPLICATE),
        id_reuses=batch.id_reuses,
    )


def write_counters(
    db: Database, next_incident: int, next_fault: int, *, duplicates: int, id_reuses: int
) -> None:
    upsert = (
        "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key)"
        " DO UPDATE SET value = excluded.value"
    )
    db.execute(upsert, ("next_incident", str(next_incident)))
    db.execute(upsert, ("next_fault", str(next_fault)))
    for key, added in (("duplicates", duplicates), ("id_reuses", id_reuses)):
        if added:
            db.execute(upsert, (key, str(meta_int(db, key) + added)))


def meta_int(db: Database, key: str) -> int:
    rows = db.query("SELECT value FROM meta WHERE key = ?", (key,))
    return int(rows[0][0]) if rows else 0


def write_audit(db: Database, audit: AuditEntry) -> None:
    db.execute(
        "INSERT INTO audit (incident_id, t, who, action, outcome, comment, address,"
        " disruption) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            audit.incident_id,
            audit.t,
            audit.who,
            audit.action,
            audit.outcome,
            audit.comment,
            audit.address,
            audit.disruption,
        ),
    )


def write_changes(db: Database, changes: Iterable[Change]) -> None:
    for c in changes:
        match c:
            case IncidentOpened() | IncidentJoined():
                _upsert_incident(db, c.incident)
                db.executemany(
                    "INSERT INTO incident_intel (incident_id, item_id, t) VALUES (?, ?, ?)"
                    " ON CONFLICT (incident_id, item_id) DO NOTHING",
                    [(c.incident.id, item, c.t) for item in c.incident.intel],
                )
                e = c.event
                db.execute(
                    "INSERT INTO incident_events (incident_id, t, role, device, event, zone,"
                    " msg_id, device_ts, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        c.incident.id,
                        c.t,
                        "opened" if isinstance(c, IncidentOpened) else "joined",
                        e.device,
                        e.event.value,
                        e.zone,
                        e.msg_id,
                        e.device_ts,
                        json_text(e.data),
                    ),
                )
            case IncidentConfirmed() | IncidentAcknowledged():
                _upsert_incident(db, c.incident)
            case IntelUpdated():
                _upsert_item(db, c.item)
            case IncidentResolved():
                disruption = c.disruption.value if c.disruption else None
                _upsert_incident(db, c.incident, c.outcome.value, c.t, disruption)
            case WalkTestChanged():
                write_walk_test(db, c)
            case FaultRaised():
                f = c.fault
                db.execute(
                    "INSERT INTO faults (number, device, fault, t, cleared_t)"
                    " VALUES (?, ?, ?, ?, NULL)",
                    (f.number, f.device, f.fault.value, f.t),
                )
            case FaultCleared():
                db.execute(
                    "UPDATE faults SET cleared_t = ? WHERE number = ?",
                    (c.fault.cleared_t, c.fault.number),
                )
            case FloodlightCommanded():
                db.execute(
                    "INSERT INTO commands (t, floodlight, incident_id) VALUES (?, ?, ?)",
                    (c.t, c.floodlight, c.incident_id),
                )
            case FloodlightReported():
                db.execute(
                    "INSERT INTO devices (id, floodlight_on) VALUES (?, ?) ON CONFLICT (id)"
                    " DO UPDATE SET floodlight_on = excluded.floodlight_on",
                    (c.floodlight, int(c.on)),
                )
            case DeviceAlarmChanged():
                db.execute(
                    "INSERT INTO devices (id, in_alarm) VALUES (?, ?) ON CONFLICT (id)"
                    " DO UPDATE SET in_alarm = excluded.in_alarm",
                    (c.device, int(c.in_alarm)),
                )
            case _:
                pass


def _upsert_incident(
    db: Database,
    v: IncidentView,
    outcome: str | None = None,
    closed_t: float | None = None,
    disruption: str | None = None,
) -> None:
    db.execute(
        f"INSERT INTO incidents ({INCIDENT_COLUMNS})"  # noqa: S608 - constants only
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (id) DO UPDATE SET zones = excluded.zones,"
        " confirmed_t = excluded.confirmed_t, modalities = excluded.modalities,"
        " devices = excluded.devices, priority = excluded.priority, state = excluded.state,"
        " last_joined_t = excluded.last_joined_t, intel = excluded.intel,"
        " outcome = COALESCE(excluded.outcome, incidents.outcome),"
        " closed_t = COALESCE(excluded.closed_t, incidents.closed_t),"
        " disruption = COALESCE(excluded.disruption, incidents.disruption)",
        (
            v.id,
            json_text(list(v.zones)),
            v.opened_t,
            v.confirmed_t,
            json_text([str(m) for m in v.modalities]),
            json_text(list(v.devices)),
            v.priority,
            v.state.value,
            v.last_joined_t,
            outcome,
            closed_t,
            json_text(list(v.intel)),
            disruption,
            int(v.test),
        ),
    )


def write_walk_test(db: Database, c: WalkTestChanged) -> None:
    """A test opened or closed, a crossing recorded. Detections are not written: they
    are read back from the messages, by the same definition (docs/reports.md)."""
    v = c.test
    if c.change is WalkTestChange.OPENED:
        db.execute(
            "INSERT INTO walk_tests (id, zone, opened_t, until_t, closed_t, opened_by,"
            " closed_by) VALUES (?, ?, ?, ?, NULL, ?, NULL)",
            (v.id, v.zone, v.opened_t, v.until_t, v.opened_by),
        )
    elif c.change is WalkTestChange.CROSSING and c.crossing is not None:
        x = c.crossing
        db.execute(
            "INSERT INTO crossings (test_id, t, mode, by) VALUES (?, ?, ?, ?)",
            (v.id, x.t, x.mode.value, x.by),
        )
    elif c.change is WalkTestChange.CLOSED:
        db.execute(
            "UPDATE walk_tests SET closed_t = ?, closed_by = ? WHERE id = ?",
            (v.closed_t, v.closed_by, v.id),
        )


def _upsert_item(db: Database, item: IntelItem) -> None:
    c = item.content
    db.execute(
        "INSERT INTO intel_items (id, source, ref, title, zones, received_t, first_issued_t,"
        " active_from_t, active_until_t, withdrawn_t, credible, version, data)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET"
        " title = excluded.title, zones = excluded.zones, received_t = excluded.received_t,"
        " active_from_t = excluded.active_from_t, active_until_t = excluded.active_until_t,"
        " withdrawn_t = excluded.withdrawn_t, credible = excluded.credible,"
        " version = excluded.version, data = excluded.data",
        (
            item.id,
            item.source,
            item.ref,
            c.title,
            json_text(list(item.zones)),
            item.received_t,
            item.first_issued_t,
            item.active_from_t,
            item.active_until_t,
            item.withdrawn_t,
            int(item.credible),
            item.version,
            json_text(dict(c.data)),
        ),
    )
