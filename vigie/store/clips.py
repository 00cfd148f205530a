"""Evidence clips in the store (migration 9): one row per clip file, kept when the file
is removed by retention (``removed``, ``removed_why``), so that an incident says how
many of its clips are gone and why. The files themselves live in the clip folder
(docs/video.md); rows hold their names relative to it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from fusion.incidents import IncidentState
from fusion.records import ClipRecord
from vigie.store.db import Database


@dataclass(frozen=True, slots=True)
class NewClip:
    """A finished clip file to keep."""

    incident_id: str
    camera: str
    start: float
    end: float
    name: str  # the file's name in the clip folder
    size: int
    created: float


@dataclass(frozen=True, slots=True)
class KeptClip:
    """A clip whose file is kept, with what retention needs of its incident."""

    seq: int
    incident_id: str
    name: str
    size: int
    start: float
    resolved_at: float | None  # None: the incident is still open


def write_clip(db: Database, clip: NewClip) -> int:
    row = db.execute(
        "INSERT INTO clips (incident_id, camera, start_t, end_t, path, bytes, created)"
        " VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING seq",
        (clip.incident_id, clip.camera, clip.start, clip.end, clip.name, clip.size, clip.created),
    ).fetchone()
    return int(row[0])


def clip_name(db: Database, seq: int) -> str | None:
    """The file name of a clip that is still kept."""
    rows = db.query("SELECT path FROM clips WHERE seq = ? AND removed IS NULL", (seq,))
    db.rollback()
    return str(rows[0][0]) if rows else None


def incident_clips(db: Database, incident_id: str) -> tuple[tuple[ClipRecord, ...], int]:
    """An incident's kept clips in time order, and how many were removed."""
    rows = db.query(
        "SELECT seq, camera, start_t, end_t, bytes, removed FROM clips WHERE incident_id = ?"
        " ORDER BY start_t, seq",
        (incident_id,),
    )
    kept = tuple(ClipRecord(q, c, s, e, b) for q, c, s, e, b, gone in rows if gone is None)
    return kept, len(rows) - len(kept)


def kept_clips(db: Database) -> list[KeptClip]:
    """Every clip whose file is kept, with when its incident was resolved (if it was)."""
    rows = db.query(
        "SELECT c.seq, c.incident_id, c.path, c.bytes, c.start_t, i.state, i.closed_t"
        " FROM clips c JOIN incidents i ON i.id = c.incident_id"
        " WHERE c.removed IS NULL ORDER BY c.start_t, c.seq"
    )
    db.rollback()
    resolved = IncidentState.RESOLVED.value
    return [
        KeptClip(q, inc, name, size, start, closed if state == resolved else None)
        for q, inc, name, size, start, state, closed in rows
    ]


def mark_removed(db: Database, seqs: Iterable[int], now: float, why: str) -> None:
    db.executemany(
        "UPDATE clips SET removed = ?, removed_why = ? WHERE seq = ?",
        [(now, why, seq) for seq in seqs],
    )
