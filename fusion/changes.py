"""What the correlator decides: the changes every output subscribes to.

The engine knows no transport: the replay report, the store, the websocket hub
and the MQTT command publisher each fold these into what they need.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from fusion.events import DeviceEvent
from fusion.faults import Fault
from fusion.incidents import Disruption, IncidentView, Outcome
from fusion.intel import IntelItem
from fusion.walktests import WalkTestChanged


class ZoneState(StrEnum):
    """How a zone is drawn: the most urgent of what holds in it."""

    SECURE = "secure"
    ALARM = "alarm"
    CONFIRMED = "confirmed"
    DEGRADED = "degraded"


@dataclass(frozen=True, slots=True)
class IncidentOpened:
    t: float
    incident: IncidentView
    event: DeviceEvent


@dataclass(frozen=True, slots=True)
class IncidentJoined:
    """An event joined an incident; ``new_zone`` if it brought one."""

    t: float
    incident: IncidentView
    event: DeviceEvent
    new_zone: str | None


@dataclass(frozen=True, slots=True)
class IncidentConfirmed:
    t: float
    incident: IncidentView


@dataclass(frozen=True, slots=True)
class IncidentAcknowledged:
    t: float
    incident: IncidentView
    by: str
    comment: str


@dataclass(frozen=True, slots=True)
class IncidentResolved:
    t: float
    incident: IncidentView
    by: str
    outcome: Outcome
    comment: str
    disruption: Disruption | None = None
    """What became of the intruder; set with outcome ``intrusion`` only."""


@dataclass(frozen=True, slots=True)
class FaultRaised:
    fault: Fault


@dataclass(frozen=True, slots=True)
class FaultCleared:
    fault: Fault


@dataclass(frozen=True, slots=True)
class FloodlightCommanded:
    """Switch ``floodlight`` on because of ``incident_id`` (docs/protocol.md §3, rule 5)."""

    t: float
    floodlight: str
    incident_id: str


@dataclass(frozen=True, slots=True)
class FloodlightReported:
    t: float
    floodlight: str
    on: bool


@dataclass(frozen=True, slots=True)
class DeviceAlarmChanged:
    """A detector went into alarm (``alarm``) or back to normal (``clear``)."""

    t: float
    device: str
    in_alarm: bool


@dataclass(frozen=True, slots=True)
class ZoneStateChanged:
    t: float
    zone: str
    state: ZoneState
    degraded: bool


@dataclass(frozen=True, slots=True)
class IntelUpdated:
    """An intelligence item was issued, replaced or withdrawn, or its window opened
    (``activated``) or closed (``expired``)."""

    t: float
    item: IntelItem
    change: str


@dataclass(frozen=True, slots=True)
class ZoneWatchChanged:
    """The items that put a zone on watch changed (an active, credible item names it);
    ``watch`` is whether any does."""

    t: float
    zone: str
    watch: bool
    items: tuple[str, ...] = ()


Change = (
    IncidentOpened
    | IncidentJoined
    | IncidentConfirmed
    | IncidentAcknowledged
    | IncidentResolved
    | FaultRaised
    | FaultCleared
    | FloodlightCommanded
    | FloodlightReported
    | DeviceAlarmChanged
    | ZoneStateChanged
    | IntelUpdated
    | ZoneWatchChanged
    | WalkTestChanged
)
