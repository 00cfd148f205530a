"""A store with every migration, and :class:`StoreWriter`, which fills it directly with
rows as the service would write them, for the reports' fixtures and bench."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from vigie.store.db import Database
from vigie.store.schema import migrate


def planned_store(url: str) -> Database:
    """A new store at ``url`` with every migration applied."""
    db = Database(url)
    migrate(db)
    db.commit()
    return db


INCIDENT_SQL = (
    "INSERT INTO incidents (id, zones, opened_t, confirmed_t, modalities, devices, priority,"
    " state, last_joined_t, outcome, closed_t, disruption, test)"
    " VALUES (?, ?, ?, ?, '[]', '[]', 3, ?, ?, ?, ?, ?, ?)"
)
AUDIT_SQL = (
    "INSERT INTO audit (incident_id, t, who, action, outcome, comment, address)"
    " VALUES (?, ?, 'alice', ?, ?, '', NULL)"
)
MESSAGE_SQL = (
    "INSERT INTO messages (received, topic, device, msg_id, event, zone, device_ts, payload)"
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
            "INSERT INTO faults (number, device, fault, t, cleared_t) VALUES (?, ?, ?, ?, ?)",
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
            "INSERT INTO intel_items (id, source, ref, title, zones, received_t, first_issued_t,"
            " active_from_t, active_until_t, withdrawn_t, credible, version, data)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?)",
            (
                item_id,
                source,
                ref,
                title or f"Item {ref}",
                json.dumps(list(zones)),
                received_t,
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
