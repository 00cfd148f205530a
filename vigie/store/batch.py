"""What the service hands to the store: one ingest batch, message by message, and an
operator's decision."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from fusion.changes import Change
from fusion.intake import Processed, Verdict


@dataclass(frozen=True, slots=True)
class Still:
    """A camera's evidence still, accepted for one of its own events."""

    camera: str
    msg_id: str
    jpeg: bytes


class Received(NamedTuple):
    """One message of a batch and what became of it: processed by the engine (a device
    message), kept as a still, or set aside as a dead letter with the error that stopped
    it. Exactly one of the three is set. (A named tuple: one is made per message.)"""

    t: float
    topic: str
    payload: bytes
    processed: Processed | None = None
    still: Still | None = None
    dead: str | None = None

    @property
    def changes(self) -> list[Change]:
        return self.processed.changes if self.processed is not None else []

    @property
    def verdict(self) -> Verdict | None:
        return self.processed.verdict if self.processed is not None else None


@dataclass(slots=True)
class Batch:
    """One transaction's worth of ingest. ``changes`` holds changes that no message
    caused (heartbeat faults that came due while the site was quiet)."""

    received: list[Received] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    next_incident: int = 1
    next_fault: int = 1

    def all_changes(self) -> list[Change]:
        out = list(self.changes)
        for r in self.received:
            out.extend(r.changes)
        return out

    def count(self, verdict: Verdict) -> int:
        return sum(1 for r in self.received if r.verdict is verdict)

    @property
    def id_reuses(self) -> int:
        return sum(1 for r in self.received if r.processed is not None and r.processed.id_reused)


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """An acknowledgement or resolution, as the audit history keeps it."""

    incident_id: str
    t: float
    who: str
    action: str
    comment: str
    address: str | None
    outcome: str | None = None
    disruption: str | None = None
