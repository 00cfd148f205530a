"""The fusion engine: events and the current time in, changes out (docs/protocol.md §3).

Pure: no I/O, no clock, no asyncio. The live service calls it with the wall
clock, ``vigie replay`` with a virtual one; both get the same decisions.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from fusion.changes import (
    Change,
    DeviceAlarmChanged,
    FaultCleared,
    FaultRaised,
    FloodlightCommanded,
    FloodlightReported,
    IncidentAcknowledged,
    IncidentConfirmed,
    IncidentJoined,
    IncidentOpened,
    IncidentResolved,
    ZoneState,
    ZoneStateChanged,
)
from fusion.events import MODALITY_OF, DeviceEvent, EventType, Modality
from fusion.faults import CLEARED_BY_CLEAR, Fault, FaultBook, FaultType, HeartbeatWatch
from fusion.incidents import (
    Disruption,
    Incident,
    IncidentState,
    IncidentView,
    Outcome,
    disruption_for,
    incident_id,
)
from fusion.intel import IntelItem, IntelMessage
from fusion.intel_book import IntelBook
from fusion.site import SensorKind, Site
from fusion.walktests import WalkTestBook, WalkTestView

_OPENS = frozenset({EventType.ALARM, EventType.PERSON})
_FAULT_OF_EVENT = {
    EventType.TAMPER: FaultType.TAMPER,
    EventType.FAULT: FaultType.FAULT,
    EventType.VIDEO_LOSS: FaultType.VIDEO_LOSS,
}


class UnknownIncident(KeyError):
    """No incident with that id is held by the engine (never existed, or resolved)."""


@dataclass(frozen=True, slots=True)
class EngineState:
    """What the engine needs to carry on after a restart, as the store saved it."""

    incidents: tuple[IncidentView, ...] = ()
    commanded: Mapping[str, frozenset[str]] = field(default_factory=dict)
    open_faults: tuple[Fault, ...] = ()
    last_heard: Mapping[str, float] = field(default_factory=dict)
    floodlights_on: Mapping[str, bool] = field(default_factory=dict)
    devices_in_alarm: frozenset[str] = frozenset()
    next_incident: int = 1
    next_fault: int = 1
    intel_items: tuple[IntelItem, ...] = ()
    walk_tests: tuple[WalkTestView, ...] = ()
    """Tests still running, or whose last crossings are within their 10 s."""
    next_walk_test: int = 1


class Correlator:
    """Correlates events per zone into incidents, and supervises the devices."""

    def __init__(self, site: Site, start: float = 0.0, state: EngineState | None = None) -> None:
        state = state or EngineState()
        self.site = site
        self._window = site.fusion.window_s
        self._near = site.neighbourhood()
        self._criticality = {z.id: z.criticality for z in site.zones}
        self._floodlights: dict[str, list[str]] = defaultdict(list)
        self._device_zones: dict[str, tuple[str, ...]] = {}
        for s in site.sensors:
            self._device_zones[s.id] = (s.zone,) if s.zone else ()
            if s.kind is SensorKind.FLOODLIGHT and s.zone:
                self._floodlights[s.zone].append(s.id)
        for c in site.cameras:
            self._device_zones[c.id] = tuple(c.zones)
        misses = site.fusion.heartbeat_misses
        limits = {s.id: s.heartbeat_s * misses for s in site.sensors if s.heartbeat_s > 0}
        limits.update({c.id: c.heartbeat_s * misses for c in site.cameras if c.heartbeat_s > 0})
        lost = [f.device for f in state.open_faults if f.fault is FaultType.HEARTBEAT_LOST]
        self._watch = HeartbeatWatch(limits, start, state.last_heard, lost)
        self._faults = FaultBook(state.open_faults, state.next_fault)
        self.intel = IntelBook([z.id for z in site.zones], state.intel_items)
        self.intel.settle(start)
        self.walk_tests = WalkTestBook(site, state.walk_tests, state.next_walk_test)
        self.walk_tests.settle(start)
        self._incidents: dict[str, Incident] = {}
        self._recent: dict[str, Incident] = {}
        self._zone_incidents: dict[str, int] = defaultdict(int)
        self._zone_confirmed: dict[str, int] = defaultdict(int)
        self._next_incident = state.next_incident
        self._join_seq = 0
        for v in state.incidents:
            inc = _restore(v, state.commanded.get(v.id, frozenset()), self._criticality)
            self._incidents[v.id] = inc
            for z in inc.zones:
                self._zone_incidents[z] += 1
                self._zone_confirmed[z] += inc.confirmed_t is not None
        for inc in sorted(self._incidents.values(), key=lambda i: i.last_joined_t):
            self._mark_joined(inc, inc.last_joined_t)
        self._floodlight_on: dict[str, bool] = dict(state.floodlights_on)
        self._in_alarm: set[str] = set(state.devices_in_alarm)
        self._faulty_in_zone: dict[str, int] = defaultdict(int)
        for f in state.open_faults:
            for z in self._device_zones.get(f.device, ()):
                self._faulty_in_zone[z] += 1
        self._zone_state = {z.id: self._derive_zone_state(z.id) for z in site.zones}

    # -- inputs -----------------------------------------------------------------

    def ingest(self, event: DeviceEvent, now: float) -> list[Change]:
        """Apply one valid, new event received at ``now`` (after letting time pass to
        ``now``). Duplicates are filtered before: see :mod:`fusion.intake`."""
        return self._apply(event, now, self.advance(now))

    def apply(self, event: DeviceEvent, now: float) -> list[Change]:
        """As :meth:`ingest`, when time has already been advanced to ``now`` (the
        processing step does so for every message, valid or not)."""
        return self._apply(event, now, [])

    def _apply(self, event: DeviceEvent, now: float, out: list[Change]) -> list[Change]:
        if self._watch.heard(event.device, now):
            self._clear_faults(event.device, (FaultType.HEARTBEAT_LOST,), now, out)
        kind = event.event
        if kind is EventType.HEARTBEAT:
            return out
        if kind in _OPENS or kind is EventType.MOTION:
            self._correlate(event, now, out)
            if kind in _OPENS and event.zone is not None:
                out.extend(self.walk_tests.observe(event.zone, MODALITY_OF[event.kind], now))
            if kind is EventType.ALARM and event.device not in self._in_alarm:
                self._in_alarm.add(event.device)
                out.append(DeviceAlarmChanged(now, event.device, True))
        elif kind in _FAULT_OF_EVENT:
            fault = self._faults.raise_fault(event.device, _FAULT_OF_EVENT[kind], now)
            if fault is not None:
                out.append(FaultRaised(fault))
                self._zone_faults_changed(event.device, +1, now, out)
        elif kind is EventType.CLEAR or kind is EventType.VIDEO_RESTORED:
            self._clear_faults(event.device, CLEARED_BY_CLEAR, now, out)
            if event.device in self._in_alarm:
                self._in_alarm.discard(event.device)
                out.append(DeviceAlarmChanged(now, event.device, False))
        elif kind is EventType.STATE:
            on = bool(event.data["on"])
            self._floodlight_on[event.device] = on
            out.append(FloodlightReported(now, event.device, on))
        return out

    def ingest_intel(self, message: IntelMessage, now: float) -> list[Change]:
        """Apply one valid, new intelligence message received at ``now`` (after letting
        time pass to ``now``). An item never opens an incident: it is linked to those that
        events open or join."""
        out = self.advance(now)
        out.extend(self.intel.apply(message, now))
        return out

    def advance(self, now: float) -> list[Change]:
        """Let time pass up to ``now``: raise every ``heartbeat_lost`` that came due, and
        open or close the intelligence windows whose instant came."""
        out: list[Change] = []
        if not (
            self._watch.maybe_due(now)
            or self.intel.maybe_due(now)
            or self.walk_tests.maybe_due(now)
        ):
            return out  # the common case, checked without building anything
        due = self._watch.due(now)
        for deadline, device in due:
            fault = self._faults.raise_fault(device, FaultType.HEARTBEAT_LOST, deadline)
            if fault is not None:
                out.append(FaultRaised(fault))
                self._zone_faults_changed(device, +1, deadline, out)
        if (next_intel := self.intel.next_deadline()) is not None and next_intel <= now:
            out.extend(self.intel.advance(now))
        if (next_test := self.walk_tests.next_deadline()) is not None and next_test <= now:
            out.extend(self.walk_tests.advance(now))
        return out

    def next_deadline(self) -> float | None:
        """When :meth:`advance` should next be called, at the latest."""
        due = (self._watch.next_deadline(), self.intel.next_deadline())
        deadlines = [d for d in (*due, self.walk_tests.next_deadline()) if d is not None]
        return min(deadlines) if deadlines else None

    def acknowledge(self, incident: str, now: float, by: str, comment: str) -> list[Change]:
        inc = self._incident(incident)
        inc.state = inc.state.to(IncidentState.ACKNOWLEDGED)
        return [IncidentAcknowledged(now, inc.view(), by, comment)]

    def resolve(
        self,
        incident: str,
        now: float,
        by: str,
        outcome: Outcome,
        comment: str,
        *,
        disruption: Disruption | None = None,
    ) -> list[Change]:
        """Close an incident; an intrusion carries its disruption (``unknown`` unless
        told), any other outcome none (:class:`IllegalDisruption`)."""
        disruption = disruption_for(outcome, disruption)
        inc = self._incident(incident)
        inc.state = inc.state.to(IncidentState.RESOLVED)
        del self._incidents[incident]
        self._recent.pop(incident, None)
        for z in inc.zones:
            self._zone_incidents[z] -= 1
            if inc.confirmed_t is not None:
                self._zone_confirmed[z] -= 1
        out: list[Change] = [IncidentResolved(now, inc.view(), by, outcome, comment, disruption)]
        self._refresh_zones(inc.zones, now, out)
        return out

    # -- views ------------------------------------------------------------------

    def incidents(self) -> list[IncidentView]:
        """Every incident not yet resolved, in the order they opened."""
        return [inc.view() for inc in self._incidents.values()]

    def zone_states(self) -> dict[str, ZoneState]:
        return dict(self._zone_state)

    def zone_degraded(self, zone: str) -> bool:
        return self._faulty_in_zone.get(zone, 0) > 0

    def open_faults(self) -> list[Fault]:
        return self._faults.open_faults()

    def last_heard(self, device: str) -> float | None:
        return self._watch.last_heard(device)

    def floodlight_on(self, floodlight: str) -> bool | None:
        return self._floodlight_on.get(floodlight)

    def in_alarm(self, device: str) -> bool:
        return device in self._in_alarm

    @property
    def next_incident_number(self) -> int:
        return self._next_incident

    @property
    def next_fault_number(self) -> int:
        return self._faults.next_number

    # -- correlation ------------------------------------------------------------

    def _correlate(self, event: DeviceEvent, now: float, out: list[Change]) -> None:
        zone = event.zone
        if zone is None:
            return  # a device with no zone cannot be placed on the perimeter
        target = self._join_target(self._near[zone], now)
        modality = MODALITY_OF[event.kind]
        if target is None:
            if event.event is not EventType.MOTION:  # rule 2: motion never opens
                self._open(event, zone, modality, now, out)
            return
        new_zone = zone if zone not in target.zones else None
        was_confirmed = target.confirmed_t is not None
        self._mark_joined(target, now)
        target.modalities.add(modality)
        target.devices.add(event.device)
        if new_zone is not None:
            target.zones.append(new_zone)
            target.criticality = max(target.criticality, self._criticality[new_zone])
            self._zone_incidents[new_zone] += 1
            if was_confirmed:
                self._zone_confirmed[new_zone] += 1
        confirmed_now = not was_confirmed and len(target.modalities) >= 2
        if confirmed_now:
            target.confirmed_t = now
            for z in target.zones:
                self._zone_confirmed[z] += 1
        target.intel |= self.intel.linked(target.zones)
        view = target.view()
        out.append(IncidentJoined(now, view, event, new_zone))
        if confirmed_now:
            out.append(IncidentConfirmed(now, view))
        if new_zone is not None:
            self._command_floodlights(target, new_zone, now, out)
        if confirmed_now:
            self._refresh_zones(target.zones, now, out)
        elif new_zone is not None:
            self._refresh_zones((new_zone,), now, out)

    def _join_target(self, near: frozenset[str], now: float) -> Incident | None:
        """The most recently joined active incident in one of ``near``'s zones."""
        recent = self._recent
        horizon = now - self._window
        while recent:  # forget incidents whose window has passed: they are never joined again
            oldest = next(iter(recent.values()))
            if oldest.last_joined_t >= horizon and oldest.state is not IncidentState.RESOLVED:
                break
            del recent[oldest.id]
        for inc in reversed(recent.values()):
            if inc.state is not IncidentState.RESOLVED and not near.isdisjoint(inc.zones):
                return inc
        return None

    def _mark_joined(self, inc: Incident, now: float) -> None:
        self._join_seq += 1
        inc.last_joined_t = now
        inc.join_seq = self._join_seq
        self._recent.pop(inc.id, None)
        self._recent[inc.id] = inc  # most recently joined last

    def _open(
        self, event: DeviceEvent, zone: str, modality: Modality, now: float, out: list[Change]
    ) -> None:
        inc = Incident(
            id=incident_id(self._next_incident),
            zones=[zone],
            opened_t=now,
            criticality=self._criticality[zone],
            last_joined_t=now,
            join_seq=0,
            modalities={modality},
            devices={event.device},
            intel=self.intel.linked((zone,)),
            test=self.walk_tests.under_test(zone, now) is not None,
        )
        self._next_incident += 1
        self._incidents[inc.id] = inc
        self._mark_joined(inc, now)
        self._zone_incidents[zone] += 1
        out.append(IncidentOpened(now, inc.view(), event))
        self._command_floodlights(inc, zone, now, out)
        self._refresh_zones((zone,), now, out)

    def _command_floodlights(self, inc: Incident, zone: str, now: float, out: list[Change]) -> None:
        for light in self._floodlights.get(zone, ()):
            if self._floodlight_on.get(light) is True or light in inc.commanded:
                continue
            inc.commanded.add(light)
            out.append(FloodlightCommanded(now, light, inc.id))

    # -- faults and zone states ---------------------------------------------------

    def _clear_faults(
        self, device: str, faults: Iterable[FaultType], now: float, out: list[Change]
    ) -> None:
        cleared = self._faults.clear(device, faults, now)
        if cleared:
            out.extend(FaultCleared(f) for f in cleared)
            self._zone_faults_changed(device, -len(cleared), now, out)

    def _zone_faults_changed(self, device: str, delta: int, now: float, out: list[Change]) -> None:
        zones = self._device_zones.get(device, ())
        for z in zones:
            self._faulty_in_zone[z] += delta
        self._refresh_zones(zones, now, out)

    def _refresh_zones(self, zones: Iterable[str], now: float, out: list[Change]) -> None:
        for z in zones:
            state = self._derive_zone_state(z)
            if state is not self._zone_state[z]:
                self._zone_state[z] = state
                out.append(ZoneStateChanged(now, z, state, self.zone_degraded(z)))

    def _derive_zone_state(self, zone: str) -> ZoneState:
        """Confirmed over alarm over degraded: an open incident matters most."""
        if self._zone_confirmed[zone] > 0:
            return ZoneState.CONFIRMED
        if self._zone_incidents[zone] > 0:
            return ZoneState.ALARM
        if self._faulty_in_zone[zone] > 0:
            return ZoneState.DEGRADED
        return ZoneState.SECURE

    def _incident(self, incident: str) -> Incident:
        try:
            return self._incidents[incident]
        except KeyError:
            raise UnknownIncident(incident) from None


def _restore(v: IncidentView, commanded: frozenset[str], crit: Mapping[str, int]) -> Incident:
    return Incident(
        id=v.id,
        zones=list(v.zones),
        opened_t=v.opened_t,
        criticality=max(crit[z] for z in v.zones),
        last_joined_t=v.last_joined_t,
        join_seq=0,
        modalities=set(v.modalities),
        devices=set(v.devices),
        confirmed_t=v.confirmed_t,
        state=v.state,
        commanded=set(commanded),
        intel=set(v.intel),
        test=v.test,
    )
