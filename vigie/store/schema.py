"""The store's schema, as numbered migrations applied in order at start."""

from __future__ import annotations

from typing import Final

from vigie.store.db import Database

MIGRATIONS: Final[list[list[str]]] = [
    [  # 1: the first schema
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        """CREATE TABLE messages (
            seq {serial}, received {real} NOT NULL, topic TEXT NOT NULL,
            sensor TEXT NOT NULL, msg_id TEXT NOT NULL, event TEXT NOT NULL, zone TEXT,
            device_ts {real}, payload {blob} NOT NULL)""",
        "CREATE INDEX messages_received ON messages (received)",
        """CREATE TABLE rejects (
            seq {serial}, received {real} NOT NULL, topic TEXT NOT NULL,
            reason TEXT NOT NULL, detail TEXT NOT NULL, prefix {blob} NOT NULL)""",
        """CREATE TABLE incidents (
            id TEXT PRIMARY KEY, zones TEXT NOT NULL, opened_t {real} NOT NULL,
            confirmed_t {real}, modalities TEXT NOT NULL, sensors TEXT NOT NULL,
            priority INTEGER NOT NULL, state TEXT NOT NULL, last_joined_t {real} NOT NULL,
            outcome TEXT, closed_t {real})""",
        "CREATE INDEX incidents_state ON incidents (state)",
        """CREATE TABLE incident_events (
            seq {serial}, incident_id TEXT NOT NULL REFERENCES incidents (id),
            t {real} NOT NULL, role TEXT NOT NULL, sensor TEXT NOT NULL, event TEXT NOT NULL,
            zone TEXT, msg_id TEXT NOT NULL, device_ts {real}, data TEXT NOT NULL)""",
        "CREATE INDEX incident_events_incident ON incident_events (incident_id)",
        """CREATE TABLE commands (
            seq {serial}, t {real} NOT NULL, floodlight TEXT NOT NULL,
            incident_id TEXT NOT NULL REFERENCES incidents (id))""",
        """CREATE TABLE faults (
            number INTEGER PRIMARY KEY, sensor TEXT NOT NULL, fault TEXT NOT NULL,
            t {real} NOT NULL, cleared_t {real})""",
        """CREATE TABLE audit (
            seq {serial}, incident_id TEXT NOT NULL REFERENCES incidents (id),
            t {real} NOT NULL, who TEXT NOT NULL, action TEXT NOT NULL, outcome TEXT,
            comment TEXT NOT NULL, address TEXT)""",
        "CREATE INDEX audit_incident ON audit (incident_id)",
        """CREATE TABLE devices (
            id TEXT PRIMARY KEY, last_heard {real}, floodlight_on INTEGER,
            in_alarm INTEGER NOT NULL DEFAULT 0)""",
    ],
    [  # 2: camera stills kept as evidence for incidents
        """CREATE TABLE evidence (
            seq {serial}, camera TEXT NOT NULL, t {real} NOT NULL, zone TEXT,
            msg_id TEXT NOT NULL, jpeg {blob} NOT NULL)""",
        "CREATE INDEX evidence_camera_t ON evidence (camera, t)",
    ],
    [  # 3: the dashboard's sign-in sessions (vigie/store/sessions.py); ids kept hashed
        """CREATE TABLE sessions (
            id_sha256 TEXT PRIMARY KEY, user_name TEXT NOT NULL, fingerprint TEXT NOT NULL,
            created {real} NOT NULL, last_used {real} NOT NULL)""",
    ],
    [  # 4: one word per idea ("device" is anything that reports); poison messages set aside
        "ALTER TABLE messages RENAME COLUMN sensor TO device",
        "ALTER TABLE incident_events RENAME COLUMN sensor TO device",
        "ALTER TABLE faults RENAME COLUMN sensor TO device",
        "ALTER TABLE incidents RENAME COLUMN sensors TO devices",
        """CREATE TABLE dead_letters (
            seq {serial}, received {real} NOT NULL, topic TEXT NOT NULL,
            payload {blob} NOT NULL, error TEXT NOT NULL)""",
    ],
    [  # 5: intelligence items (docs/protocol.md §9) and the incidents they are linked to
        """CREATE TABLE intel_items (
            id TEXT PRIMARY KEY, source TEXT NOT NULL, ref TEXT NOT NULL, title TEXT NOT NULL,
            zones TEXT NOT NULL, received_t {real} NOT NULL, first_issued_t {real} NOT NULL,
            active_from_t {real} NOT NULL, active_until_t {real} NOT NULL, withdrawn_t {real},
            credible INTEGER NOT NULL, version INTEGER NOT NULL, data TEXT NOT NULL)""",
        "CREATE INDEX intel_items_issued ON intel_items (first_issued_t)",
        """CREATE TABLE incident_intel (
            incident_id TEXT NOT NULL, item_id TEXT NOT NULL, t {real} NOT NULL,
            PRIMARY KEY (incident_id, item_id))""",
        "ALTER TABLE incidents ADD COLUMN intel TEXT NOT NULL DEFAULT '[]'",
    ],
    [  # 6: outcomes with their disruption, walk tests and their crossings (protocol §11)
        "ALTER TABLE incidents ADD COLUMN disruption TEXT",
        "ALTER TABLE incidents ADD COLUMN test INTEGER NOT NULL DEFAULT 0",
        "CREATE INDEX incidents_opened ON incidents (opened_t)",
        """CREATE TABLE walk_tests (
            id TEXT PRIMARY KEY, zone TEXT NOT NULL, opened_t {real} NOT NULL,
            until_t {real} NOT NULL, closed_t {real}, opened_by TEXT NOT NULL)""",
        """CREATE TABLE crossings (
            seq {serial}, test_id TEXT NOT NULL REFERENCES walk_tests (id),
            t {real} NOT NULL, mode TEXT NOT NULL, by TEXT NOT NULL)""",
        "CREATE INDEX crossings_t ON crossings (t)",
        "CREATE INDEX incident_intel_incident ON incident_intel (incident_id)",
        "CREATE INDEX intel_items_received ON intel_items (received_t)",
    ],
    [  # 7: who closed a walk test, and the disruption in the audit history of a
        # resolution (protocol §11)
        "ALTER TABLE audit ADD COLUMN disruption TEXT",
        "ALTER TABLE walk_tests ADD COLUMN closed_by TEXT",
        "CREATE INDEX crossings_test ON crossings (test_id)",
    ],
    [  # 8: the joint centre (docs/centre.md): each centre request answered once, whatever
        # the redeliveries; the feed's epoch and sequence live in ``meta``
        """CREATE TABLE centre_requests (
            request TEXT PRIMARY KEY, centre TEXT NOT NULL, incident_id TEXT NOT NULL,
            action TEXT NOT NULL, t {real} NOT NULL, status INTEGER NOT NULL,
            reason TEXT NOT NULL)""",
    ],
    [  # 9: evidence clips (docs/video.md): the files, and what retention removed and why
        """CREATE TABLE clips (
            seq {serial}, incident_id TEXT NOT NULL REFERENCES incidents (id),
            camera TEXT NOT NULL, start_t {real} NOT NULL, end_t {real} NOT NULL,
            path TEXT NOT NULL, bytes BIGINT NOT NULL, created {real} NOT NULL,
            removed {real}, removed_why TEXT)""",
        "CREATE INDEX clips_incident ON clips (incident_id)",
    ],
]


def migrate(
    db: Database, migrations: list[list[str]] = MIGRATIONS, table: str = "schema_version"
) -> int:
    """Bring the schema up to date; returns the version now in force. A joint centre's
    store has its own list and version table (vigie/centre/store.py)."""
    db.execute(f"CREATE TABLE IF NOT EXISTS {table} (version INTEGER NOT NULL)")
    rows = db.query(f"SELECT version FROM {table}")  # noqa: S608 - constants only
    current = rows[0][0] if rows else 0
    if not rows:
        db.execute(f"INSERT INTO {table} (version) VALUES (0)")  # noqa: S608 - constants only
    for number, statements in enumerate(migrations[current:], start=current + 1):
        for statement in statements:
            db.execute(statement)
        db.execute(f"UPDATE {table} SET version = ?", (number,))  # noqa: S608 - constants only
    db.commit()
    return len(migrations)
