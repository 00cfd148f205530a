"""A joint centre's own store (SQLite by default, or PostgreSQL): each site's copy as
its mirror holds it (numbering, link, picture, incidents), the requests its users sent,
and its sign-in sessions. Nothing here is the sites' data of record: a site is master
of its incidents, and a centre that lost its store catches up from the sites.

Its own migrations and version table (``centre_schema_version``): give a centre a
database of its own (a site's store refuses to become one: its ``sessions`` table is
there already). Synchronous, called on one thread, like :mod:`vigie.store.store`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final, TypeVar

import orjson
import psycopg

from vigie.centre.mirror import Restored
from vigie.store import StoreError, StoreRefused, StoreUnavailable
from vigie.store.db import Database, redact
from vigie.store.schema import migrate

T = TypeVar("T")

CENTRE_MIGRATIONS: Final[list[list[str]]] = [
    [  # 1: the copies of the sites, the requests sent to them, sign-in sessions
        """CREATE TABLE centre_sites (
            site TEXT PRIMARY KEY, epoch TEXT NOT NULL, seq BIGINT NOT NULL,
            boot TEXT NOT NULL, synced INTEGER NOT NULL, heard {real}, lost_since {real},
            picture TEXT)""",
        """CREATE TABLE centre_incidents (
            site TEXT NOT NULL, id TEXT NOT NULL, state TEXT NOT NULL, opened_t {real},
            data TEXT NOT NULL, PRIMARY KEY (site, id))""",
        """CREATE TABLE centre_requests (
            request TEXT PRIMARY KEY, site TEXT NOT NULL, incident_id TEXT NOT NULL,
            action TEXT NOT NULL, user_name TEXT NOT NULL, desk TEXT NOT NULL,
            t {real} NOT NULL, body TEXT NOT NULL, status INTEGER, reason TEXT,
            answered_t {real})""",
        "CREATE INDEX centre_requests_t ON centre_requests (t)",
        """CREATE TABLE sessions (
            id_sha256 TEXT PRIMARY KEY, user_name TEXT NOT NULL, fingerprint TEXT NOT NULL,
            created {real} NOT NULL, last_used {real} NOT NULL)""",
    ],
]

_UNAVAILABLE = (sqlite3.OperationalError, psycopg.OperationalError, psycopg.InterfaceError)
_REFUSED = (sqlite3.Error, psycopg.Error, ValueError, TypeError, OverflowError)


@dataclass(frozen=True, slots=True)
class SiteRow:
    """A site's state as its mirror has it; ``picture`` (JSON) only when it changed."""

    site: str
    epoch: str
    seq: int
    boot: str
    synced: bool
    heard: float | None
    lost_since: float | None
    picture: bytes | None = None


@dataclass(slots=True)
class Step:
    """One transaction: what a batch of the sites' messages (or the watchdog) changed."""

    sites: list[SiteRow] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    """Sites whose incidents are written whole (a snapshot): the old rows go first."""
    incidents: list[tuple[str, str, str, float | None, bytes]] = field(default_factory=list)
    """(site, id, state, opened_t, JSON)."""
    answers: list[tuple[int, str, float, str]] = field(default_factory=list)
    """(status, reason, answered at, request)."""


@dataclass(frozen=True, slots=True)
class RequestRow:
    """A request a centre user sent to a site, and its answer once it came."""

    request: str
    site: str
    incident: str
    action: str
    user: str
    desk: str
    t: float
    body: str
    status: int | None
    reason: str | None
    answered_t: float | None


class CentreStore:
    """See the module docstring."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._db = Database(url)
        try:
            self.schema_version = migrate(self._db, CENTRE_MIGRATIONS, "centre_schema_version")
        except (sqlite3.Error, psycopg.Error) as exc:
            self._db.close()
            raise StoreError(f"cannot migrate the centre's store {redact(url)}: {exc}") from exc

    def close(self) -> None:
        self._db.close()

    def ping(self) -> None:
        self._transaction(lambda db: db.query("SELECT 1"), "check")

    # -- writing ----------------------------------------------------------------------

    def save(self, step: Step) -> None:
        self._transaction(lambda db: _write(db, step), "store the sites' changes")

    def add_request(self, row: RequestRow) -> None:
        """A request, on disk before the 202."""
        r = row
        self._transaction(
            lambda db: db.execute(
                "INSERT INTO centre_requests (request, site, incident_id, action, user_name,"
                " desk, t, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (r.request, r.site, r.incident, r.action, r.user, r.desk, r.t, r.body),
            ),
            "store a request",
        )

    # -- reading ----------------------------------------------------------------------

    def restore(self) -> dict[str, Restored]:
        def read(db: Database) -> dict[str, Restored]:
            incidents: dict[str, list[dict[str, Any]]] = {}
            for site, data in db.query(
                "SELECT site, data FROM centre_incidents ORDER BY site, opened_t, id"
            ):
                incidents.setdefault(site, []).append(orjson.loads(data))
            out = {}
            for site, epoch, seq, boot, synced, heard, lost, picture in db.query(
                "SELECT site, epoch, seq, boot, synced, heard, lost_since, picture"
                " FROM centre_sites"
            ):
                out[site] = Restored(
                    epoch=epoch,
                    seq=int(seq),
                    boot=boot,
                    synced=bool(synced),
                    heard=heard,
                    lost_since=lost,
                    picture=orjson.loads(picture) if picture else None,
                    incidents=tuple(incidents.get(site, ())),
                )
            db.rollback()
            return out

        return self._transaction(read, "restore the sites' copies")

    def request(self, request: str) -> RequestRow | None:
        rows = self._transaction(
            lambda db: db.query(_REQUEST_SELECT + " WHERE request = ?", (request,)), "read"
        )
        return _request_row(rows[0]) if rows else None

    def unanswered(self, since: float) -> list[RequestRow]:
        """Requests sent since ``since`` and not answered (sent again after a restart)."""
        rows = self._transaction(
            lambda db: db.query(
                _REQUEST_SELECT + " WHERE status IS NULL AND t >= ? ORDER BY t", (since,)
            ),
            "read unanswered requests",
        )
        return [_request_row(r) for r in rows]

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


_REQUEST_SELECT = (
    "SELECT request, site, incident_id, action, user_name, desk, t, body, status, reason,"
    " answered_t FROM centre_requests"
)


def _request_row(r: tuple[Any, ...]) -> RequestRow:
    return RequestRow(*r)


def _write(db: Database, step: Step) -> None:
    for s in step.sites:
        db.execute(
            "INSERT INTO centre_sites (site, epoch, seq, boot, synced, heard, lost_since,"
            " picture) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (site) DO UPDATE SET"
            " epoch = excluded.epoch, seq = excluded.seq, boot = excluded.boot,"
            " synced = excluded.synced, heard = excluded.heard,"
            " lost_since = excluded.lost_since,"
            " picture = COALESCE(excluded.picture, centre_sites.picture)",
            (
                s.site,
                s.epoch,
                s.seq,
                s.boot,
                int(s.synced),
                s.heard,
                s.lost_since,
                s.picture.decode() if s.picture is not None else None,
            ),
        )
    db.executemany("DELETE FROM centre_incidents WHERE site = ?", [(s,) for s in step.replaced])
    db.executemany(
        "INSERT INTO centre_incidents (site, id, state, opened_t, data) VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT (site, id) DO UPDATE SET state = excluded.state,"
        " opened_t = excluded.opened_t, data = excluded.data",
        [(site, i, state, t, data.decode()) for site, i, state, t, data in step.incidents],
    )
    db.executemany(
        "UPDATE centre_requests SET status = ?, reason = ?, answered_t = ? WHERE request = ?",
        step.answers,
    )
