"""The dashboard's sign-in sessions on disk (table ``sessions``, migration 3).

Its own connection to the store's database, so that it stays out of the way of the
ingest code; the service still calls it on the store's one thread, after
:class:`vigie.store.Store` has opened (and migrated) the database.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import psycopg

from dashboard.sessions import SessionRecord
from vigie.store.db import Database, StoreError, redact

R = TypeVar("R")


class SessionTable:
    """Sessions kept across restarts; only hashes of their ids are stored."""

    def __init__(self, url: str) -> None:
        self._db = Database(url)

    def load(self) -> list[SessionRecord]:
        rows = self._run(
            lambda db: db.query(
                "SELECT id_sha256, user_name, fingerprint, created, last_used FROM sessions"
            )
        )
        return [SessionRecord(r[0], r[1], r[2], float(r[3]), float(r[4])) for r in rows]

    def save(self, record: SessionRecord) -> None:
        self._run(
            lambda db: db.execute(
                "INSERT INTO sessions (id_sha256, user_name, fingerprint, created, last_used) "
                "VALUES (?, ?, ?, ?, ?)",
                (
                    record.id_sha256,
                    record.user,
                    record.fingerprint,
                    record.created,
                    record.last_used,
                ),
            ),
            commit=True,
        )

    def touch(self, last_used: dict[str, float]) -> None:
        self._run(
            lambda db: db.executemany(
                "UPDATE sessions SET last_used = ? WHERE id_sha256 = ?",
                [(t, key) for key, t in last_used.items()],
            ),
            commit=True,
        )

    def end(self, ids: list[str]) -> None:
        self._run(
            lambda db: db.executemany(
                "DELETE FROM sessions WHERE id_sha256 = ?", [(key,) for key in ids]
            ),
            commit=True,
        )

    def close(self) -> None:
        self._db.close()

    def _run(self, fn: Callable[[Database], R], commit: bool = False) -> R:
        try:
            result = fn(self._db)
            if commit:
                self._db.commit()
            else:
                self._db.rollback()  # end the read transaction (PostgreSQL holds it open)
        except (sqlite3.Error, psycopg.Error) as exc:
            self._db.rollback()
            raise StoreError(f"sessions in {redact(self._db.url)}: {exc}") from exc
        return result


class StoredSessions:
    """The session store a site or a joint centre gives its sign-in code
    (:class:`dashboard.sessions.SessionStore`): a :class:`SessionTable` in the service's
    own database, opened on first use (once the store has opened and migrated it), every
    call run on the store thread through ``db``."""

    def __init__(self, db: Callable[..., Awaitable[Any]], url: Callable[[], str]) -> None:
        self._db = db
        self._url = url
        self._table: SessionTable | None = None

    async def load_sessions(self) -> list[SessionRecord]:
        records: list[SessionRecord] = await self._db(lambda: self._opened().load())
        return records

    async def save_session(self, record: SessionRecord) -> None:
        await self._db(lambda: self._opened().save(record))

    async def touch_sessions(self, last_used: dict[str, float]) -> None:
        await self._db(lambda: self._opened().touch(last_used))

    async def end_sessions(self, ids: list[str]) -> None:
        await self._db(lambda: self._opened().end(ids))

    def close(self) -> None:
        """On the store thread, before the store closes."""
        if self._table is not None:
            self._table.close()
            self._table = None

    def _opened(self) -> SessionTable:
        if self._table is None:
            self._table = SessionTable(self._url())
        return self._table
