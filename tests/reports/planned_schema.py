"""The store as the reports expect it: the existing migrations, then the PLANNED schema.

PLANNED SCHEMA: the columns and tables below are not in vigie/store/schema.py yet;
they are what walk tests, outcomes with disruption and intelligence will write. They
belong in a new migration there; until then, the reports' tests and bench apply them
here. :class:`StoreWriter` fills such a store directly, as the service would.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any, Final

from vigie.store.db import Database
from vigie.store.schema import migrate

PLANNED_DDL: Final[list[str]] = [
    # incidents: what stopped an intrusion, and whether it happened under a walk test
    "ALTER TABLE incidents ADD COLUMN disruption TEXT",
    "ALTER TABLE incidents ADD COLUMN test INTEGER NOT NULL DEFAULT 0",
    "CREATE INDEX incidents_opened ON incidents (opened_t)",
    # walk tests (contract section 11)
    """CREATE TABLE walk_tests (
        id TEXT PRIMARY KEY, zone TEXT NOT NULL, opened_t {real} NOT NULL,
        until_t {real} NOT NULL, closed_t {real}, opened_by TEXT NOT NULL)""",
    """CREATE TABLE crossings (
        seq {serial}, test_id TEXT NOT NULL REFERENCES walk_tests (id),
        t {real} NOT NULL, mode TEXT NOT NULL, by TEXT NOT NULL)""",
    "CREATE INDEX crossings_t ON crossings (t)",
    # intelligence items (contract section 9) and their links to incidents
    """CREATE TABLE intel_items (
        id TEXT PRIMARY KEY, source TEXT, ref TEXT, title TEXT, zones TEXT,
        received_t {real}, active_from_t {real}, active_until_t {real},
        withdrawn_t {real}, credible INTEGER, data TEXT)""",
    "CREATE INDEX intel_items_received ON intel_items (received_t)",
    """CREATE TABLE incident_intel (
        incident_id TEXT NOT NULL REFERENCES incidents (id), item_id TEXT NOT NULL,
        t {real} NOT NULL)""",
    "CREATE INDEX incident_intel_incident ON incident_intel (incident_id)",
]


def planned_store(url: str) -> Database:
    """A new store at ``url`` with the existing migrations and the planned schema."""
    db = Database(url)
    migrate(db)
    for statement in PLANNED_DDL:
        db.execute(statement)
    db.commit()
    return db


INCIDENT_SQL = (
    "INSERT INTO incidents (id, zones, opened_t, confirmed_t, modalities, sensors, priority,"
    " state, last_joined_t, outcome, closed_t, disruption, test)"
    " VALUES (?, ?, ?, ?, '[]', '[]', 3, ?, ?, ?, ?, ?, ?)"
)
AUDIT_SQL = (
    "INSERT INTO audit (incident_id, t, who, action, outcome, comment, address)"
    " VALUES (?, ?, 'alice', ?, ?, '', NULL)"
)
MESSAGE_SQL = (
    "INSERT INTO messages (received, topic, sensor, msg_id, event, zone, device_ts, payload)"
    " VALUES (?, ?, ?, ?, ?, ?, NULL, ?)"
)


class StoreWriter:
    """Writes rows as the service would, for fixtures and the bench."""

    def __init__(self, db: Database, prefix: str = "perimeter/coquelles") -> None:
        self.db = db
        self.prefix = prefix
        self._msg = 0

    def incident(
        self,
        incident_id: str,
        zones: Sequence[str],
        opened_t: float,
        *,
        confirmed_t: float | None = None,
        outcome: str | None = None,
        disruption: str | None = None,
        closed_t: float | None = None,
        acked_t: Iterable[float] = (),
        test: bool = False,
        intel: Iterable[str] = (),
    ) -> None:
        state = "resolved" if outcome else ("acknowledged" if acked_t else "open")
        self.db.execute(
            INCIDENT_SQL,
            (
                incident_id,
                json.dumps(list(zones)),
                opened_t,
                confirmed_t,
                state,
                opened_t,
                outcome,
                closed_t,
                disruption,
                int(test),
            ),
        )
        for t in acked_t:
            self.db.execute(AUDIT_SQL, (incident_id, t, "ack", None))
        if outcome is not None:
            self.db.execute(AUDIT_SQL, (incident_id, closed_t, "resolve", outcome))
        for item in intel:
            self.db.execute(
                "INSERT INTO incident_intel (incident_id, item_id, t) VALUES (?, ?, ?)",
                (incident_id, item, opened_t),
            )

    def fault(
        self, number: int, device: str, fault: str, t: float, cleared_t: float | None
    ) -> None:
        self.db.execute(
            "INSERT INTO faults (number, sensor, fault, t, cleared_t) VALUES (?, ?, ?, ?, ?)",
            (number, device, fault, t, cleared_t),
        )

    def message(self, t: float, kind: str, sensor: str, event: str, zone: str | None) -> None:
        self._msg += 1
        payload = json.dumps({"id": f"m{self._msg}", "event": event}).encode()
        self.db.execute(
            MESSAGE_SQL,
            (t, f"{self.prefix}/{kind}/{sensor}", sensor, f"m{self._msg}", event, zone, payload),
        )

    def walk_test(
        self,
        test_id: str,
        zone: str,
        opened_t: float,
        crossings: Iterable[tuple[float, str]],
        closed_t: float | None = None,
    ) -> None:
        self.db.execute(
            "INSERT INTO walk_tests (id, zone, opened_t, until_t, closed_t, opened_by)"
            " VALUES (?, ?, ?, ?, ?, 'ines')",
            (test_id, zone, opened_t, opened_t + 3600, closed_t),
        )
        for t, mode in crossings:
            self.db.execute(
                "INSERT INTO crossings (test_id, t, mode, by) VALUES (?, ?, ?, 'ines')",
                (test_id, t, mode),
            )

    def intel_item(
        self,
        item_id: str,
        received_t: float,
        zones: Sequence[str],
        *,
        credible: bool = True,
        withdrawn_t: float | None = None,
        title: str = "",
    ) -> None:
        source, _, ref = item_id.partition("/")
        data: dict[str, Any] = {"ref": ref}
        self.db.execute(
            "INSERT INTO intel_items (id, source, ref, title, zones, received_t, active_from_t,"
            " active_until_t, withdrawn_t, credible, data)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                item_id,
                source,
                ref,
                title or f"Item {ref}",
                json.dumps(list(zones)),
                received_t,
                received_t,
                received_t + 3600,
                withdrawn_t,
                int(credible),
                json.dumps(data),
            ),
        )

    def commit(self) -> None:
        self.db.commit()
