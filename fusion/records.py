"""What the store hands back about incidents: plain rows, turned into JSON by
:mod:`fusion.wire` only. Defined here, beside the engine's own types, so that the
wire module can build every shape without knowing the store."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fusion.incidents import IncidentView


@dataclass(frozen=True, slots=True)
class IncidentRecord:
    """An incident as stored: the engine's view, and how an operator closed it.

    ``acknowledged_t`` is the first acknowledgement of its audit history; ``disruption``
    is set on resolved intrusions (None on one resolved before disruption was recorded).
    """

    view: IncidentView
    outcome: str | None
    closed_t: float | None
    disruption: str | None = None
    acknowledged_t: float | None = None


@dataclass(frozen=True, slots=True)
class EventRecord:
    """A device event that opened or joined an incident."""

    t: float
    role: str
    device: str
    event: str
    zone: str | None
    msg_id: str
    device_ts: float | None
    data: Any


@dataclass(frozen=True, slots=True)
class CommandRecord:
    t: float
    floodlight: str


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """An operator's acknowledgement or resolution."""

    t: float
    who: str
    action: str
    outcome: str | None
    comment: str
    address: str | None
    disruption: str | None = None


@dataclass(frozen=True, slots=True)
class StillRecord:
    """A camera still kept as evidence."""

    seq: int
    camera: str
    t: float
    zone: str | None
    msg_id: str


@dataclass(frozen=True, slots=True)
class ClipRecord:
    """An evidence clip kept for an incident: one camera's video, one stream format."""

    seq: int
    camera: str
    start: float  # wall-clock arrival of its first frame (a keyframe)
    end: float  # and of its last
    size: int


@dataclass(frozen=True, slots=True)
class IncidentTrail:
    """Everything that happened to one incident, in order."""

    events: tuple[EventRecord, ...]
    commands: tuple[CommandRecord, ...]
    history: tuple[AuditRecord, ...]
    evidence: tuple[StillRecord, ...]
    clips: tuple[ClipRecord, ...] = ()
    clips_removed: int = 0  # clips retention has removed since
