"""The JSON the API and the websocket speak, built from the engine's types."""

from __future__ import annotations

from typing import Any

from fusion.changes import (
    Change,
    FaultCleared,
    FaultRaised,
    FloodlightCommanded,
    FloodlightReported,
    IncidentAcknowledged,
    IncidentConfirmed,
    IncidentJoined,
    IncidentOpened,
    IncidentResolved,
    SensorAlarmChanged,
    ZoneStateChanged,
)
from fusion.events import SensorEvent
from fusion.faults import Fault
from fusion.incidents import IncidentView


def incident_json(v: IncidentView) -> dict[str, Any]:
    return {**v.as_report(), "last_joined_t": v.last_joined_t}


def fault_json(f: Fault) -> dict[str, Any]:
    return {
        "number": f.number,
        "sensor": f.sensor,
        "fault": str(f.fault),
        "t": f.t,
        "cleared_t": f.cleared_t,
    }


def event_json(e: SensorEvent, t: float) -> dict[str, Any]:
    return {
        "t": t,
        "sensor": e.sensor,
        "kind": str(e.kind),
        "event": str(e.event),
        "zone": e.zone,
        "id": e.msg_id,
        "device_ts": e.device_ts,
        "data": dict(e.data),
    }


_INCIDENT_CHANGES: dict[type, str] = {
    IncidentOpened: "opened",
    IncidentJoined: "joined",
    IncidentConfirmed: "confirmed",
    IncidentAcknowledged: "acknowledged",
    IncidentResolved: "resolved",
}


def change_json(c: Change) -> dict[str, Any] | None:  # noqa: PLR0911 - one return per change
    """One change as the websocket sends it; None for what the page does not need."""
    match c:
        case IncidentOpened() | IncidentJoined():
            out = {
                "type": "incident",
                "change": _INCIDENT_CHANGES[type(c)],
                "t": c.t,
                "incident": incident_json(c.incident),
                "event": event_json(c.event, c.t),
            }
            if isinstance(c, IncidentJoined):
                out["new_zone"] = c.new_zone
            return out
        case IncidentConfirmed():
            return {
                "type": "incident",
                "change": "confirmed",
                "t": c.t,
                "incident": incident_json(c.incident),
            }
        case IncidentAcknowledged():
            return {
                "type": "incident",
                "change": "acknowledged",
                "t": c.t,
                "incident": incident_json(c.incident),
                "by": c.by,
                "comment": c.comment,
            }
        case IncidentResolved():
            return {
                "type": "incident",
                "change": "resolved",
                "t": c.t,
                "incident": incident_json(c.incident),
                "by": c.by,
                "outcome": str(c.outcome),
                "comment": c.comment,
            }
        case FaultRaised():
            return {"type": "fault", "change": "raised", "fault": fault_json(c.fault)}
        case FaultCleared():
            return {"type": "fault", "change": "cleared", "fault": fault_json(c.fault)}
        case FloodlightCommanded():
            return {
                "type": "command",
                "t": c.t,
                "floodlight": c.floodlight,
                "incident": c.incident_id,
            }
        case FloodlightReported():
            return {"type": "device", "t": c.t, "id": c.floodlight, "on": c.on}
        case SensorAlarmChanged():
            return {"type": "device", "t": c.t, "id": c.sensor, "in_alarm": c.in_alarm}
        case ZoneStateChanged():
            return {
                "type": "zone",
                "t": c.t,
                "id": c.zone,
                "state": str(c.state),
                "degraded": c.degraded,
            }
    return None


def coalesce(changes: list[dict[str, Any]]) -> dict[str, Any]:
    """One frame's changes, with each incident sent once (its latest state) and each
    sensor event once, compactly. Joins that brought nothing new beyond their event
    travel only as events: at 2,000 alarms/s this cuts a frame by about seven times."""
    incidents: dict[str, dict[str, Any]] = {}
    events: list[dict[str, Any]] = []
    rest: list[dict[str, Any]] = []
    for c in changes:
        if c.get("type") != "incident":
            rest.append(c)
            continue
        view = c["incident"]
        incidents[view["id"]] = view
        event = c.get("event")
        if event is not None:
            events.append({**event, "incident": view["id"]})
        if c["change"] != "joined" or c.get("new_zone"):
            marker = {k: v for k, v in c.items() if k not in ("incident", "event")}
            marker["id"] = view["id"]
            rest.append(marker)
    return {"incidents": list(incidents.values()), "events": events, "changes": rest}
