"""The site's side of the joint centre on disk (docs/centre.md): the feed's epoch and
sequence, and the centre requests already answered (table ``centre_requests``).

Its own connection to the store's database, as :mod:`vigie.store.sessions` has, so that
it stays out of the ingest code's way; the service still calls it on the store's one
thread, after :class:`vigie.store.Store` has opened and migrated the database.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import psycopg

from vigie.store.db import Database, StoreError, redact
from vigie.store.writes import meta_int

R = TypeVar("R")

EPOCH_KEY = "centre_epoch"
RESERVED_KEY = "centre_seq_reserved"

_UPSERT = (
    "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key)"
    " DO UPDATE SET value = excluded.value"
)


@dataclass(frozen=True, slots=True)
class Answer:
    """What a site answered to one centre request."""

    request: str
    centre: str
    incident: str
    action: str
    t: float
    status: int
    reason: str


class LinkTable:
    """The feed's numbering and the answered requests; see the module docstring."""

    def __init__(self, url: str) -> None:
        self._db = Database(url)

    def sequence(self, block: int) -> tuple[str, int]:
        """The store's epoch and the first sequence number this run may use; numbers up
        to ``block`` beyond it are reserved on disk before it returns, so that a run
        that dies never hands out a number that the next run hands out again."""

        def read(db: Database) -> tuple[str, int]:
            rows = db.query("SELECT value FROM meta WHERE key = ?", (EPOCH_KEY,))
            epoch = rows[0][0] if rows else uuid.uuid4().hex[:12]
            first = meta_int(db, RESERVED_KEY)
            db.execute(_UPSERT, (EPOCH_KEY, epoch))
            db.execute(_UPSERT, (RESERVED_KEY, str(first + block)))
            return epoch, first

        return self._run(read, commit=True)

    def reserve(self, upto: int) -> None:
        """Reserve sequence numbers up to ``upto`` (not included)."""
        self._run(lambda db: db.execute(_UPSERT, (RESERVED_KEY, str(upto))), commit=True)

    def answered(self, request: str) -> Answer | None:
        rows = self._run(
            lambda db: db.query(
                "SELECT request, centre, incident_id, action, t, status, reason"
                " FROM centre_requests WHERE request = ?",
                (request,),
            )
        )
        return Answer(*rows[0]) if rows else None

    def decided(self, incident: str, address: str) -> bool:
        """Whether the audit history of ``incident`` holds a decision from ``address``
        (a request whose decision was committed just before a crash, unrecorded)."""
        rows = self._run(
            lambda db: db.query(
                "SELECT 1 FROM audit WHERE incident_id = ? AND address = ?", (incident, address)
            )
        )
        return bool(rows)

    def record(self, answer: Answer) -> None:
        a = answer
        self._run(
            lambda db: db.execute(
                "INSERT INTO centre_requests (request, centre, incident_id, action, t, status,"
                " reason) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (request) DO NOTHING",
                (a.request, a.centre, a.incident, a.action, a.t, a.status, a.reason),
            ),
            commit=True,
        )

    def close(self) -> None:
        self._db.close()

    def _run(self, fn: Callable[[Database], R], commit: bool = False) -> R:
        try:
            self._db.reconnect_if_broken()
            result = fn(self._db)
            if commit:
                self._db.commit()
            else:
                self._db.rollback()  # end the read transaction (PostgreSQL holds it open)
        except (sqlite3.Error, psycopg.Error) as exc:
            self._db.rollback_quietly()
            raise StoreError(f"centre link in {redact(self._db.url)}: {exc}") from exc
        return result
