"""Incidents: what the correlator opens, grows and confirms, and operators close."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from fusion.events import Modality


class IllegalTransition(ValueError):
    """An incident was asked to move to a state it cannot reach from where it is."""


class IncidentState(StrEnum):
    """open -> acknowledged -> resolved; open -> resolved. Resolved is final."""

    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"

    def to(self, target: IncidentState) -> IncidentState:
        if target not in _TRANSITIONS[self]:
            raise IllegalTransition(f"an incident that is {self} cannot become {target}")
        return target


_TRANSITIONS: dict[IncidentState, frozenset[IncidentState]] = {
    IncidentState.OPEN: frozenset({IncidentState.ACKNOWLEDGED, IncidentState.RESOLVED}),
    IncidentState.ACKNOWLEDGED: frozenset({IncidentState.RESOLVED}),
    IncidentState.RESOLVED: frozenset(),
}


class Outcome(StrEnum):
    """How an operator closes an incident."""

    INTRUSION = "intrusion"
    FALSE_ALARM = "false_alarm"
    NUISANCE = "nuisance"
    TEST = "test"


class Disruption(StrEnum):
    """What became of an intruder (docs/protocol.md §11): recorded with ``intrusion``."""

    INTERCEPTED = "intercepted"
    TURNED_BACK = "turned_back"
    ESCAPED = "escaped"
    UNKNOWN = "unknown"


class IllegalDisruption(ValueError):
    """A disruption given with an outcome other than ``intrusion``."""


def disruption_for(outcome: Outcome, disruption: Disruption | None) -> Disruption | None:
    """The disruption an incident is closed with: an intrusion always has one
    (``unknown`` unless told), any other outcome never."""
    if outcome is Outcome.INTRUSION:
        return disruption or Disruption.UNKNOWN
    if disruption is not None:
        raise IllegalDisruption(
            f"a disruption is recorded only with outcome intrusion, not {outcome}"
        )
    return None


MAX_PRIORITY = 5


@dataclass(frozen=True, slots=True)
class IncidentView:
    """An immutable snapshot of an incident, as the outputs see it."""

    id: str
    zones: tuple[str, ...]
    opened_t: float
    confirmed_t: float | None
    modalities: tuple[Modality, ...]
    devices: tuple[str, ...]
    priority: int
    state: IncidentState
    last_joined_t: float
    intel: tuple[str, ...] = ()
    """Intelligence items linked to the incident (docs/protocol.md §9), sorted."""
    test: bool = False
    """Opened in a zone under walk test (docs/protocol.md §11): never counted as real."""

    @property
    def confirmed(self) -> bool:
        return self.confirmed_t is not None


@dataclass(slots=True)
class Incident:
    """The correlator's working copy of one incident."""

    id: str
    zones: list[str]
    opened_t: float
    criticality: int
    last_joined_t: float
    join_seq: int
    modalities: set[Modality] = field(default_factory=set)
    devices: set[str] = field(default_factory=set)
    confirmed_t: float | None = None
    state: IncidentState = IncidentState.OPEN
    commanded: set[str] = field(default_factory=set)
    intel: set[str] = field(default_factory=set)
    test: bool = False

    @property
    def priority(self) -> int:
        """Rule 4 (docs/protocol.md §3, amended by §9): highest zone criticality, +1 once
        confirmed, +1 once an intelligence item is linked, at most 5."""
        bonus = (1 if self.confirmed_t is not None else 0) + (1 if self.intel else 0)
        return min(MAX_PRIORITY, self.criticality + bonus)

    def is_active(self, now: float, window_s: float) -> bool:
        """Rule 1: not resolved, and last joined at most ``window_s`` ago."""
        return self.state is not IncidentState.RESOLVED and now - self.last_joined_t <= window_s

    def view(self) -> IncidentView:
        return IncidentView(
            id=self.id,
            zones=tuple(self.zones),
            opened_t=self.opened_t,
            confirmed_t=self.confirmed_t,
            modalities=tuple(sorted(self.modalities)),
            devices=tuple(sorted(self.devices)),
            priority=self.priority,
            state=self.state,
            last_joined_t=self.last_joined_t,
            intel=tuple(sorted(self.intel)),
            test=self.test,
        )


def incident_id(number: int) -> str:
    """Incident ids are ``INC-`` and a zero-padded counter that survives restarts."""
    return f"INC-{number:06d}"
