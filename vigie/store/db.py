"""One connection to SQLite or PostgreSQL, with the little SQL dialect the store needs.

Statements are written once with ``?`` placeholders and ``{serial}``/``{real}``/
``{blob}`` types; :class:`Database` renders them for its engine.
"""

from __future__ import annotations

import contextlib
import itertools
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import psycopg

INSERT_PARAMS = 900
"""Values per multi-row INSERT: under SQLite's historical limit of 999 parameters."""


class StoreError(RuntimeError):
    """The store could not be opened, migrated or written."""


_TYPES = {
    "sqlite": {"serial": "INTEGER PRIMARY KEY AUTOINCREMENT", "real": "REAL", "blob": "BLOB"},
    "postgresql": {"serial": "BIGSERIAL PRIMARY KEY", "real": "DOUBLE PRECISION", "blob": "BYTEA"},
}


_CURSOR_NAMES = itertools.count(1)
"""Names for PostgreSQL server-side cursors, unique in the process."""


class Database:
    """A DB-API connection and its dialect. Not thread-safe: the store owns one thread."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.dialect = (
            "postgresql" if url.startswith(("postgresql://", "postgres://")) else "sqlite"
        )
        self._conn: Any = self._connect()

    def _connect(self) -> Any:
        url = self.url
        try:
            if self.dialect == "postgresql":
                return psycopg.connect(url, autocommit=False)
            path = Path(url.removeprefix("sqlite:///").removeprefix("sqlite://"))
            path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(path, check_same_thread=False)
            # WAL: readers never block the writer. FULL: a commit is on disk, not only
            # in the OS cache, before an acknowledgement is answered.
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA busy_timeout=5000")
            return conn
        except (sqlite3.Error, psycopg.Error, OSError) as exc:
            raise StoreError(f"cannot open the store {redact(url)}: {exc}") from exc

    def reconnect_if_broken(self) -> None:
        """A PostgreSQL connection lost with its server is opened again (a restarted
        database must not leave the service stuck on a dead connection)."""
        if self.dialect == "postgresql" and (self._conn.closed or self._conn.broken):
            try:
                self._conn.close()
            finally:
                self._conn = psycopg.connect(self.url, autocommit=False)

    def render(self, sql: str) -> str:
        sql = sql.format(**_TYPES[self.dialect])
        return sql.replace("?", "%s") if self.dialect == "postgresql" else sql

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        cur = self._conn.cursor()
        cur.execute(self.render(sql), params)
        return cur

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        rows = list(rows)
        if rows:
            self._conn.cursor().executemany(self.render(sql), rows)

    def insert_rows(self, table: str, columns: str, rows: Sequence[Sequence[Any]]) -> None:
        """Many rows in few statements (``INSERT ... VALUES (...), (...), ...``).

        Python's sqlite3 releases the GIL around every step, so ``executemany`` of 500
        rows hands the GIL to the MQTT thread 500 times, each time perhaps waiting the
        interpreter's switch interval to get it back; a statement of a hundred rows
        does so once. The rows must all have as many values as ``columns`` names."""
        if not rows:
            return
        width = len(rows[0])
        chunk = max(1, INSERT_PARAMS // width)
        one = "(" + ", ".join("?" * width) + ")"
        cur = self._conn.cursor()
        for start in range(0, len(rows), chunk):
            part = rows[start : start + chunk]
            values = ", ".join([one] * len(part))
            params = [v for row in part for v in row]
            cur.execute(self.render(f"INSERT INTO {table} ({columns}) VALUES {values}"), params)  # noqa: S608 - names are constants

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return list(self.execute(sql, params).fetchall())

    def stream(self, sql: str, params: Sequence[Any] = (), batch: int = 2000) -> Iterator[Any]:
        """Rows ``batch`` at a time, so that memory stays flat however many match: a
        server-side cursor on PostgreSQL (within the current transaction), SQLite's own
        stepping otherwise."""
        if self.dialect == "postgresql":
            cur = self._conn.cursor(name=f"vigie_stream_{next(_CURSOR_NAMES)}")
            cur.itersize = batch
        else:
            cur = self._conn.cursor()
        try:
            cur.execute(self.render(sql), params)
            while rows := cur.fetchmany(batch):
                yield from rows
        finally:
            cur.close()

    def commit(self) -> None:
        self._conn.commit()

    def rollback(self) -> None:
        self._conn.rollback()

    def rollback_quietly(self) -> None:
        """Roll back after a failure; a connection that is already gone has nothing to undo."""
        with contextlib.suppress(sqlite3.Error, psycopg.Error):
            self._conn.rollback()

    def close(self) -> None:
        self._conn.close()


def redact(url: str) -> str:
    """A database URL without its password, for logs and errors."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        user = creds.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}"
    return url
