"""Persistence: SQLite by default, PostgreSQL for larger installations."""

from vigie.store.batch import AuditEntry, Batch, Received, Still
from vigie.store.db import StoreError
from vigie.store.reads import DeadLetter, Restored
from vigie.store.store import Store, StoreRefused, StoreUnavailable

__all__ = [
    "AuditEntry",
    "Batch",
    "DeadLetter",
    "Received",
    "Restored",
    "Still",
    "Store",
    "StoreError",
    "StoreRefused",
    "StoreUnavailable",
]
