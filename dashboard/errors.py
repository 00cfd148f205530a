"""What the service behind the API may raise that the API answers in its own way."""

from __future__ import annotations


class StoreBusy(RuntimeError):
    """The service could not commit a decision in time: answered 503, try again."""
