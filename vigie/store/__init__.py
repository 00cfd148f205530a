"""Persistence: SQLite by default, PostgreSQL for larger installations."""

from vigie.store.db import StoreError
from vigie.store.store import AuditEntry, Batch, Restored, Store

__all__ = ["AuditEntry", "Batch", "Restored", "Store", "StoreError"]
