"""What Vigie keeps: every accepted message (append-only), rejects with their reason,
dead letters, incidents with their events, floodlight commands, faults, the audit
history, and what the engine needs to carry on after a restart.

Synchronous on purpose: the service runs every call on one dedicated thread, so
writes are applied in the order the engine made them. Failures come in two kinds:
:class:`StoreUnavailable` (the database is unreachable, locked, out of space: try
again later) and :class:`StoreRefused` (it refuses this data: trying again would fail
again, so the caller sets the data aside).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping, Sequence
from typing import TypeVar

import psycopg

from fusion.changes import Change
from fusion.events import Modality
from fusion.faults import Fault
from fusion.intake import Verdict
from fusion.records import IncidentRecord, IncidentTrail
from fusion.walktests import WalkTestView
from vigie.store import clips, inspections, reads, writes
from vigie.store.batch import AuditEntry, Batch, Received
from vigie.store.clips import KeptClip, NewClip
from vigie.store.db import Database, StoreError, redact
from vigie.store.reads import DeadLetter, Restored
from vigie.store.schema import migrate

T = TypeVar("T")


class StoreUnavailable(StoreError):
    """The database cannot be reached or written just now; the same write may succeed later."""


class StoreRefused(StoreError):
    """The database refused this data; writing it again would fail again."""


_UNAVAILABLE = (sqlite3.OperationalError, psycopg.OperationalError, psycopg.InterfaceError)
_REFUSED = (sqlite3.Error, psycopg.Error, ValueError, TypeError, OverflowError)
"""Besides the drivers' own errors, binding a value can raise ValueError (a lone
surrogate, a NUL), TypeError or OverflowError: the data is at fault, not the database."""


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
        self._transaction(lambda db: db.query("SELECT 1"), "check")

    # -- writing ------------------------------------------------------------------

    def save_batch(self, batch: Batch) -> None:
        """Write one ingest batch in one transaction; returns once it is committed."""
        self._transaction(lambda db: writes.write_batch(db, batch), "store an ingest batch")

    def save_received(self, entry: Received) -> None:
        """One message of a batch on its own (when the batch as a whole was refused)."""
        self._transaction(lambda db: writes.write_received(db, [entry]), "store a message")

    def save_tail(self, batch: Batch) -> None:
        """The rest of a batch written message by message: the changes no message caused,
        and the counters."""

        def tail(db: Database) -> None:
            writes.write_changes(db, batch.changes)
            writes.write_counters(
                db,
                batch.next_incident,
                batch.next_fault,
                duplicates=batch.count(Verdict.DUPLICATE),
                id_reuses=batch.id_reuses,
            )

        self._transaction(tail, "store the end of a batch")

    def save_decision(self, changes: list[Change], audit: AuditEntry) -> None:
        """An operator's acknowledgement or resolution: committed before this returns."""

        def decision(db: Database) -> None:
            writes.write_changes(db, changes)
            writes.write_audit(db, audit)

        self._transaction(decision, f"store the {audit.action} of {audit.incident_id}")

    def save_changes(self, changes: Sequence[Change], what: str) -> None:
        """Changes no message caused (a walk test opened, crossed or closed): committed
        before this returns."""
        self._transaction(lambda db: writes.write_changes(db, changes), what)

    def _transaction(self, work: Callable[[Database], T], what: str) -> T:
        db = self._db
        try:
            db.reconnect_if_broken()
            result = work(db)
            db.commit()
            return result
        except _UNAVAILABLE as exc:
            db.rollback_quietly()
            raise StoreUnavailable(f"could not {what}: {exc}") from exc
        except _REFUSED as exc:
            db.rollback_quietly()
            raise StoreRefused(f"could not {what}: {exc}") from exc

    # -- reading ------------------------------------------------------------------

    def restore(self, now: float, dedup_horizon_s: float) -> Restored:
        """What the engine needs to go on after a restart."""
        return self._transaction(
            lambda db: reads.restore(db, now, dedup_horizon_s), "restore the engine"
        )

    def incidents(
        self,
        state: str | None = None,
        limit: int = 500,
        opened: tuple[float | None, float | None] = (None, None),
    ) -> list[IncidentRecord]:
        return self._transaction(
            lambda db: reads.incidents(db, state, limit, opened), "read incidents"
        )

    def walk_tests(
        self,
        *,
        span: tuple[float, float] | None = None,
        test_id: str | None = None,
        modalities: Mapping[str, tuple[Modality, ...]] | None = None,
    ) -> list[WalkTestView]:
        return self._transaction(
            lambda db: inspections.walk_tests(
                db, span=span, test_id=test_id, modalities=modalities
            ),
            "read walk tests",
        )

    def faults(self, span: tuple[float, float]) -> list[Fault]:
        return self._transaction(lambda db: inspections.faults(db, span), "read faults")

    def incident(self, incident_id: str) -> tuple[IncidentRecord, IncidentTrail] | None:
        return self._transaction(lambda db: reads.incident(db, incident_id), "read an incident")

    def evidence_jpeg(self, seq: int) -> bytes | None:
        return self._transaction(lambda db: reads.evidence_jpeg(db, seq), "read a still")

    def dead_letters(self, limit: int = 100) -> list[DeadLetter]:
        return self._transaction(lambda db: reads.dead_letters(db, limit), "read dead letters")

    # -- evidence clips (vigie/store/clips.py) ----------------------------------------

    def save_clip(self, clip: NewClip) -> int:
        """Keep a finished clip's row; returns its number (the URL's id)."""
        return self._transaction(lambda db: clips.write_clip(db, clip), "store a clip")

    def clip_name(self, seq: int) -> str | None:
        return self._transaction(lambda db: clips.clip_name(db, seq), "read a clip")

    def kept_clips(self) -> list[KeptClip]:
        return self._transaction(clips.kept_clips, "read the kept clips")

    def clips_removed(self, seqs: list[int], now: float, why: str) -> None:
        self._transaction(lambda db: clips.mark_removed(db, seqs, now, why), "record removed clips")
