"""What Vigie keeps: every accepted message (append-only), rejects with their reason,
incidents with their events, floodlight commands, faults, the audit history, and
what the engine needs to carry on after a restart.

Synchronous on purpose: the service runs every call on one dedicated thread, so
writes are applied in the order the engine made them.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from typing import Any

import orjson
import psycopg

from fusion.changes import (
    Change,
    FaultCleared,
    FaultRaised,
    FloodlightCommanded,
    FloodlightReported,
    IncidentAcknowledged,
    IncidentConfirmed,
    IncidentJoined,
    IncidentOpened,
    IncidentResolved,
    SensorAlarmChanged,
)
from fusion.correlator import EngineState
from fusion.events import Modality, Rejection, SensorEvent
from fusion.faults import Fault, FaultType
from fusion.incidents import IncidentState, IncidentView
from vigie.store.db import Database, StoreError, redact
from vigie.store.schema import migrate


@dataclass(slots=True)
class Batch:
    """One transaction's worth of ingest."""

    accepted: list[tuple[float, bytes, SensorEvent]] = field(default_factory=list)
    rejected: list[tuple[float, Rejection]] = field(default_factory=list)
    duplicates: int = 0
    changes: list[Change] = field(default_factory=list)
    stills: list[tuple[str, float, str, bytes]] = field(default_factory=list)
    next_incident: int = 1
    next_fault: int = 1


@dataclass(frozen=True, slots=True)
class AuditEntry:
    incident_id: str
    t: float
    who: str
    action: str
    comment: str
    address: str | None
    outcome: str | None = None


@dataclass(frozen=True, slots=True)
class Restored:
    state: EngineState
    last_seen: dict[str, float]
    accepted: int
    rejected: int
    duplicates: int


_INCIDENT_COLUMNS = (
    "id, zones, opened_t, confirmed_t, modalities, sensors, priority, state, last_joined_t, "
    "outcome, closed_t"
)


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


class Store:
    """The service's store; see the module docstring."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._db = Database(url)
        try:
            self.schema_version = migrate(self._db)
        except (sqlite3.Error, psycopg.Error) as exc:
            self._db.close()
            raise StoreError(f"cannot migrate the store {redact(url)}: {exc}") from exc

    def close(self) -> None:
        self._db.close()

    def ping(self) -> None:
        self._db.query("SELECT 1")
        self._db.rollback()

    # -- writing ------------------------------------------------------------------

    def save_batch(self, batch: Batch) -> None:
        """Write one ingest batch in one transaction; returns once it is committed."""
        db = self._db
        try:
            db.executemany(
                "INSERT INTO messages (received, topic, sensor, msg_id, event, zone, device_ts,"
                " payload) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (t, e.topic, e.sensor, e.msg_id, e.event.value, e.zone, e.device_ts, raw)
                    for t, raw, e in batch.accepted
                ],
            )
            db.executemany(
                "INSERT INTO rejects (received, topic, reason, detail, prefix)"
                " VALUES (?, ?, ?, ?, ?)",
                [(t, r.topic, r.reason.value, r.detail, r.prefix) for t, r in batch.rejected],
            )
            db.executemany(
                "INSERT INTO evidence (camera, t, zone, msg_id, jpeg) VALUES (?, ?, NULL, ?, ?)",
                batch.stills,
            )
            last: dict[str, float] = {}
            for t, _, e in batch.accepted:
                last[e.sensor] = t
            db.executemany(
                "INSERT INTO devices (id, last_heard) VALUES (?, ?) ON CONFLICT (id)"
                " DO UPDATE SET last_heard = excluded.last_heard",
                sorted(last.items()),
            )
            self._apply(batch.changes)
            self._counters(batch.next_incident, batch.next_fault, batch.duplicates)
            db.commit()
        except (sqlite3.Error, psycopg.Error) as exc:
            db.rollback()
            raise StoreError(f"could not store an ingest batch: {exc}") from exc

    def save_decision(self, changes: list[Change], audit: AuditEntry) -> None:
        """An operator's acknowledgement or resolution: committed before this returns."""
        db = self._db
        try:
            self._apply(changes)
            db.execute(
                "INSERT INTO audit (incident_id, t, who, action, outcome, comment, address)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    audit.incident_id,
                    audit.t,
                    audit.who,
                    audit.action,
                    audit.outcome,
                    audit.comment,
                    audit.address,
                ),
            )
            db.commit()
        except (sqlite3.Error, psycopg.Error) as exc:
            db.rollback()
            raise StoreError(
                f"could not store the {audit.action} of {audit.incident_id}: {exc}"
            ) from exc

    def _counters(self, next_incident: int, next_fault: int, duplicates: int) -> None:
        upsert = (
            "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key)"
            " DO UPDATE SET value = excluded.value"
        )
        self._db.execute(upsert, ("next_incident", str(next_incident)))
        self._db.execute(upsert, ("next_fault", str(next_fault)))
        if duplicates:
            total = self._meta_int("duplicates") + duplicates
            self._db.execute(upsert, ("duplicates", str(total)))

    def _apply(self, changes: list[Change]) -> None:
        db = self._db
        for c in changes:
            match c:
                case IncidentOpened() | IncidentJoined():
                    self._upsert_incident(c.incident, None, None)
                    e = c.event
                    db.execute(
                        "INSERT INTO incident_events (incident_id, t, role, sensor, event, zone,"
                        " msg_id, device_ts, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (
                            c.incident.id,
                            c.t,
                            "opened" if isinstance(c, IncidentOpened) else "joined",
                            e.sensor,
                            e.event.value,
                            e.zone,
                            e.msg_id,
                            e.device_ts,
                            _json(e.data),
                        ),
                    )
                case IncidentConfirmed() | IncidentAcknowledged():
                    self._upsert_incident(c.incident, None, None)
                case IncidentResolved():
                    self._upsert_incident(c.incident, c.outcome.value, c.t)
                case FaultRaised():
                    f = c.fault
                    db.execute(
                        "INSERT INTO faults (number, sensor, fault, t, cleared_t)"
                        " VALUES (?, ?, ?, ?, NULL)",
                        (f.number, f.sensor, f.fault.value, f.t),
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
                case SensorAlarmChanged():
                    db.execute(
                        "INSERT INTO devices (id, in_alarm) VALUES (?, ?) ON CONFLICT (id)"
                        " DO UPDATE SET in_alarm = excluded.in_alarm",
                        (c.sensor, int(c.in_alarm)),
                    )
                case _:
                    pass

    def _upsert_incident(
        self, v: IncidentView, outcome: str | None, closed_t: float | None
    ) -> None:
        self._db.execute(
            f"INSERT INTO incidents ({_INCIDENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"  # noqa: S608 - constants only
            " ON CONFLICT (id) DO UPDATE SET zones = excluded.zones,"
            " confirmed_t = excluded.confirmed_t, modalities = excluded.modalities,"
            " sensors = excluded.sensors, priority = excluded.priority, state = excluded.state,"
            " last_joined_t = excluded.last_joined_t,"
            " outcome = COALESCE(excluded.outcome, incidents.outcome),"
            " closed_t = COALESCE(excluded.closed_t, incidents.closed_t)",
            (
                v.id,
                _json(list(v.zones)),
                v.opened_t,
                v.confirmed_t,
                _json([str(m) for m in v.modalities]),
                _json(list(v.sensors)),
                v.priority,
                v.state.value,
                v.last_joined_t,
                outcome,
                closed_t,
            ),
        )

    # -- reading ------------------------------------------------------------------

    def restore(self, now: float, dedup_horizon_s: float) -> Restored:
        """What the engine needs to go on as if the service had not stopped."""
        db = self._db
        open_rows = db.query(
            f"SELECT {_INCIDENT_COLUMNS} FROM incidents WHERE state <> ? ORDER BY opened_t, id",  # noqa: S608 - constants only
            (IncidentState.RESOLVED.value,),
        )
        views = tuple(_view(r) for r in open_rows)
        commanded: dict[str, set[str]] = {v.id: set() for v in views}
        for incident_id, light in db.query("SELECT incident_id, floodlight FROM commands"):
            if incident_id in commanded:
                commanded[incident_id].add(light)
        faults = tuple(
            Fault(n, s, FaultType(f), t, None)
            for n, s, f, t in db.query(
                "SELECT number, sensor, fault, t FROM faults WHERE cleared_t IS NULL"
                " ORDER BY number"
            )
        )
        devices = db.query("SELECT id, last_heard, floodlight_on, in_alarm FROM devices")
        seen = tuple(
            (t, s, m)
            for t, s, m in db.query(
                "SELECT received, sensor, msg_id FROM messages WHERE received >= ? ORDER BY seq",
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
            sensors_in_alarm=frozenset(d for d, _, _, alarm in devices if alarm),
            seen=seen,
            next_incident=self._meta_int("next_incident") or 1,
            next_fault=self._meta_int("next_fault") or 1,
        )
        accepted = db.query("SELECT COUNT(*) FROM messages")[0][0]
        rejected = db.query("SELECT COUNT(*) FROM rejects")[0][0]
        duplicates = self._meta_int("duplicates")
        db.rollback()
        return Restored(state, last_seen, accepted, rejected, duplicates)

    def incidents(self, state: str | None = None, limit: int = 500) -> list[dict[str, Any]]:
        where, params = ("WHERE state = ?", [state]) if state else ("", [])
        rows = self._db.query(
            f"SELECT {_INCIDENT_COLUMNS} FROM incidents {where} ORDER BY opened_t DESC, id DESC"  # noqa: S608 - constants only
            " LIMIT ?",
            (*params, limit),
        )
        self._db.rollback()
        return [_incident_dict(r) for r in rows]

    def incident(self, incident_id: str) -> dict[str, Any] | None:
        db = self._db
        rows = db.query(f"SELECT {_INCIDENT_COLUMNS} FROM incidents WHERE id = ?", (incident_id,))  # noqa: S608 - constants only
        if not rows:
            db.rollback()
            return None
        out = _incident_dict(rows[0])
        out["events"] = [
            {
                "t": t,
                "role": role,
                "sensor": s,
                "event": ev,
                "zone": z,
                "id": m,
                "device_ts": dts,
                "data": orjson.loads(data),
            }
            for t, role, s, ev, z, m, dts, data in db.query(
                "SELECT t, role, sensor, event, zone, msg_id, device_ts, data FROM incident_events"
                " WHERE incident_id = ? ORDER BY seq",
                (incident_id,),
            )
        ]
        out["commands"] = [
            {"t": t, "floodlight": f}
            for t, f in db.query(
                "SELECT t, floodlight FROM commands WHERE incident_id = ? ORDER BY seq",
                (incident_id,),
            )
        ]
        out["history"] = [
            {"t": t, "who": who, "action": a, "outcome": o, "comment": c, "address": addr}
            for t, who, a, o, c, addr in db.query(
                "SELECT t, who, action, outcome, comment, address FROM audit"
                " WHERE incident_id = ? ORDER BY seq",
                (incident_id,),
            )
        ]
        cameras = [s for s in out["sensors"]]
        out["evidence"] = self._evidence_for(cameras, out["opened_t"], out["last_joined_t"])
        db.rollback()
        return out

    def _evidence_for(self, devices: list[str], start: float, end: float) -> list[dict[str, Any]]:
        if not devices:
            return []
        marks = ", ".join("?" for _ in devices)
        rows = self._db.query(
            f"SELECT seq, camera, t, zone, msg_id FROM evidence WHERE camera IN ({marks})"  # noqa: S608 - constants only
            " AND t BETWEEN ? AND ? ORDER BY t LIMIT 50",
            (*devices, start - 5, end + 5),
        )
        return [{"seq": q, "camera": c, "t": t, "zone": z, "id": m} for q, c, t, z, m in rows]

    def evidence_jpeg(self, seq: int) -> bytes | None:
        rows = self._db.query("SELECT jpeg FROM evidence WHERE seq = ?", (seq,))
        self._db.rollback()
        return bytes(rows[0][0]) if rows else None

    def _meta_int(self, key: str) -> int:
        rows = self._db.query("SELECT value FROM meta WHERE key = ?", (key,))
        return int(rows[0][0]) if rows else 0


def _view(r: tuple[Any, ...]) -> IncidentView:
    return IncidentView(
        id=r[0],
        zones=tuple(orjson.loads(r[1])),
        opened_t=r[2],
        confirmed_t=r[3],
        modalities=tuple(Modality(m) for m in orjson.loads(r[4])),
        sensors=tuple(orjson.loads(r[5])),
        priority=r[6],
        state=IncidentState(r[7]),
        last_joined_t=r[8],
    )


def _incident_dict(r: tuple[Any, ...]) -> dict[str, Any]:
    return {
        "id": r[0],
        "zones": orjson.loads(r[1]),
        "opened_t": r[2],
        "confirmed": r[3] is not None,
        "confirmed_t": r[3],
        "modalities": orjson.loads(r[4]),
        "sensors": orjson.loads(r[5]),
        "priority": r[6],
        "state": r[7],
        "last_joined_t": r[8],
        "outcome": r[9],
        "closed_t": r[10],
    }
