"""Where the reports read from: :class:`ReportSource`, and its implementation over the
store's SQL (SQLite or PostgreSQL), which streams rows rather than loading them.

Read-only: it never migrates or writes. A store from before walk tests, intelligence
or disruption (tables or columns missing) reads as having none of them.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol

import orjson
import psycopg

from reports.rows import (
    CrossingRow,
    DetectionRow,
    FaultRow,
    IncidentRow,
    IntelItemRow,
    WalkTestRow,
)
from vigie.store.db import Database, StoreError, redact


class ReportSource(Protocol):
    """Typed rows for the span ``start_t`` .. ``end_t`` (epoch seconds, end excluded)."""

    def incidents(self, start_t: float, end_t: float) -> Iterator[IncidentRow]:
        """Incidents opened in the span, in the order they opened."""
        ...

    def faults(self, start_t: float, end_t: float) -> Iterator[FaultRow]:
        """Faults open at some time in the span, ordered by device, then time raised."""
        ...

    def intel_items(self, start_t: float, end_t: float) -> Iterator[IntelItemRow]:
        """Items issued in the span, and items linked to an incident opened in it."""
        ...

    def walk_tests(self, start_t: float, end_t: float) -> Iterator[WalkTestRow]:
        """Walk tests whose window overlaps the span, in the order opened."""
        ...

    def crossings(self, start_t: float, end_t: float) -> Iterator[CrossingRow]:
        """Walk-test crossings in the span, in time order."""
        ...

    def detections(self, start_t: float, end_t: float, window_s: float) -> Iterator[DetectionRow]:
        """Alarms (ir, fence) and camera ``person`` events received within ``window_s``
        after a crossing of the span in the crossing's zone, in time order."""
        ...


_MODALITY_OF_EVENT = {
    ("ir", "alarm"): "ir",
    ("fence", "alarm"): "fence",
    ("camera", "person"): "camera",
}
"""Which messages detect: the kind level of the topic and the event."""


class SqlReportSource:
    """A :class:`ReportSource` over a Vigie store; use as a context manager."""

    def __init__(self, url: str) -> None:
        if not url.startswith(("postgresql://", "postgres://")):
            path = Path(url.removeprefix("sqlite:///").removeprefix("sqlite://"))
            if not path.is_file():
                raise StoreError(f"no store at {path}")
        self._db = Database(url)
        try:
            self._begin()
            self._tables = self._table_names()
            if "incidents" not in self._tables:
                raise StoreError(f"{redact(url)} is not a Vigie store (no incidents table)")
            self._incident_columns = self._columns("incidents")
        except (sqlite3.Error, psycopg.Error) as exc:
            self._db.close()
            raise StoreError(f"cannot read the store {redact(url)}: {exc}") from exc
        except StoreError:
            self._db.close()
            raise

    def __enter__(self) -> SqlReportSource:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._db.rollback()
        self._db.close()

    def _begin(self) -> None:
        """One snapshot for the whole report, so its tables agree with one another."""
        if self._db.dialect == "postgresql":
            self._db.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        else:
            self._db.execute("BEGIN")

    def _table_names(self) -> set[str]:
        if self._db.dialect == "postgresql":
            sql = (
                "SELECT table_name FROM information_schema.tables"
                " WHERE table_schema = current_schema()"
            )
        else:
            sql = "SELECT name FROM sqlite_master WHERE type = 'table'"
        return {r[0] for r in self._db.query(sql)}

    def _columns(self, table: str) -> set[str]:
        if self._db.dialect == "postgresql":
            rows = self._db.query(
                "SELECT column_name FROM information_schema.columns"
                " WHERE table_schema = current_schema() AND table_name = ?",
                (table,),
            )
            return {r[0] for r in rows}
        return {r[1] for r in self._db.query(f"PRAGMA table_info({table})")}

    def _rows(self, sql: str, params: tuple[Any, ...]) -> Iterator[Any]:
        try:
            yield from self._db.stream(sql, params)
        except (sqlite3.Error, psycopg.Error) as exc:
            raise StoreError(f"cannot read the store: {exc}") from exc

    # -- the protocol ---------------------------------------------------------------

    def incidents(self, start_t: float, end_t: float) -> Iterator[IncidentRow]:
        cols = self._incident_columns
        disruption = "i.disruption" if "disruption" in cols else "NULL"
        test = "i.test" if "test" in cols else "0"
        intel = "NULL"
        if "incident_intel" in self._tables:
            agg = (
                "json_agg(x.item_id)::text"
                if self._db.dialect == "postgresql"
                else ("json_group_array(x.item_id)")
            )
            intel = f"(SELECT {agg} FROM incident_intel x WHERE x.incident_id = i.id)"  # noqa: S608
        sql = (
            f"SELECT i.id, i.zones, i.opened_t, i.confirmed_t, i.outcome, {disruption},"  # noqa: S608 - constants only
            " i.closed_t, (SELECT MIN(a.t) FROM audit a WHERE a.incident_id = i.id"
            f" AND a.action = 'ack'), {test}, {intel}"
            " FROM incidents i WHERE i.opened_t >= ? AND i.opened_t < ? ORDER BY i.opened_t, i.id"
        )
        for r in self._rows(sql, (start_t, end_t)):
            yield IncidentRow(
                id=r[0],
                zones=tuple(orjson.loads(r[1])),
                opened_t=r[2],
                confirmed_t=r[3],
                outcome=r[4],
                disruption=r[5],
                closed_t=r[6],
                acked_t=r[7],
                test=bool(r[8]),
                intel=tuple(sorted(set(orjson.loads(r[9])))) if r[9] else (),
            )

    def faults(self, start_t: float, end_t: float) -> Iterator[FaultRow]:
        sql = (
            "SELECT device, fault, t, cleared_t FROM faults"
            " WHERE t < ? AND (cleared_t IS NULL OR cleared_t > ?) ORDER BY device, t, number"
        )
        for device, fault, t, cleared in self._rows(sql, (end_t, start_t)):
            yield FaultRow(device, fault, t, cleared)

    def intel_items(self, start_t: float, end_t: float) -> Iterator[IntelItemRow]:
        if "intel_items" not in self._tables:
            return
        linked = ""
        if "incident_intel" in self._tables:
            linked = (
                " OR id IN (SELECT x.item_id FROM incident_intel x JOIN incidents i"
                " ON i.id = x.incident_id WHERE i.opened_t >= ? AND i.opened_t < ?)"
            )
        sql = (
            "SELECT id, title, zones, received_t, credible, withdrawn_t FROM intel_items"  # noqa: S608 - constants only
            f" WHERE (received_t >= ? AND received_t < ?){linked} ORDER BY received_t, id"
        )
        params = (start_t, end_t, start_t, end_t) if linked else (start_t, end_t)
        for r in self._rows(sql, params):
            yield IntelItemRow(
                id=r[0],
                title=r[1] or "",
                zones=tuple(orjson.loads(r[2])) if r[2] else (),
                received_t=r[3],
                credible=bool(r[4]),
                withdrawn_t=r[5],
            )

    def walk_tests(self, start_t: float, end_t: float) -> Iterator[WalkTestRow]:
        if "walk_tests" not in self._tables:
            return
        sql = (
            "SELECT id, zone, opened_t, until_t, closed_t, opened_by FROM walk_tests"
            " WHERE opened_t < ? AND COALESCE(closed_t, until_t) >= ? ORDER BY opened_t, id"
        )
        for r in self._rows(sql, (end_t, start_t)):
            yield WalkTestRow(*r)

    def crossings(self, start_t: float, end_t: float) -> Iterator[CrossingRow]:
        if not {"walk_tests", "crossings"} <= self._tables:
            return
        sql = (
            "SELECT c.test_id, w.zone, c.t, c.mode FROM crossings c"
            " JOIN walk_tests w ON w.id = c.test_id"
            " WHERE c.t >= ? AND c.t < ? ORDER BY c.t, c.seq"
        )
        for r in self._rows(sql, (start_t, end_t)):
            yield CrossingRow(*r)

    def detections(self, start_t: float, end_t: float, window_s: float) -> Iterator[DetectionRow]:
        if not {"walk_tests", "crossings"} <= self._tables:
            return
        # Each crossing looks up its own 10 s through the index on messages.received,
        # so the cost follows the crossings, not the million messages around them.
        sql = (
            "SELECT DISTINCT m.seq, m.received, m.topic, m.device, m.event, m.zone"
            " FROM crossings c JOIN walk_tests w ON w.id = c.test_id"
            " JOIN messages m ON m.received >= c.t AND m.received <= c.t + ? AND m.zone = w.zone"
            " WHERE c.t >= ? AND c.t < ? AND m.event IN ('alarm', 'person')"
            " ORDER BY m.received, m.seq"
        )
        for _, t, topic, sensor, event, zone in self._rows(sql, (window_s, start_t, end_t)):
            kind = topic.rsplit("/", 2)[-2] if topic.count("/") >= 2 else ""
            modality = _MODALITY_OF_EVENT.get((kind, event))
            if modality is not None:
                yield DetectionRow(t, sensor, modality, zone)
