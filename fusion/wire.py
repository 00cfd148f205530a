"""The JSON the outside sees, built in one place from the core's types.

One builder per shape: the replay report's incident, fault and command
(docs/protocol.md §6), the floodlight command payload published over MQTT (§2), and
the richer API / websocket forms (§7), each built on the report form. The store hands
back rows (:mod:`fusion.records`), never JSON; the hub and the API call these.
Pure: dictionaries in, dictionaries out.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

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
    IntelUpdated,
    ZoneStateChanged,
    ZoneWatchChanged,
)
from fusion.events import DeviceEvent
from fusion.faults import Fault
from fusion.incidents import IncidentView
from fusion.intel import INFORMATION_WORDS, SOURCE_WORDS, IntelItem
from fusion.records import ClipRecord, IncidentRecord, IncidentTrail
from fusion.walktests import DETECTION_WINDOW_S, CrossingView, WalkTestChanged, WalkTestView

# -- the replay report's shapes (§6) --- ------------------------------------------------


def incident_report(v: IncidentView) -> dict[str, Any]:
    """An incident as the replay report lists it."""
    return {
        "id": v.id,
        "zones": list(v.zones),
        "opened_t": v.opened_t,
        "confirmed": v.confirmed,
        "confirmed_t": v.confirmed_t,
        "modalities": [str(m) for m in v.modalities],
        "sensors": list(v.devices),
        "priority": v.priority,
        "state": str(v.state),
        "intel": list(v.intel),
    }


def fault_report(f: Fault) -> dict[str, Any]:
    """A fault as the replay report lists it (its key calls every device a sensor)."""
    return {"sensor": f.device, "fault": str(f.fault), "t": f.t, "cleared_t": f.cleared_t}


def intel_report(item: IntelItem) -> dict[str, Any]:
    """An intelligence item as the replay report lists it (§9)."""
    return {
        "id": item.id,
        "zones": list(item.zones),
        "active_from_t": item.active_from_t,
        "active_until_t": item.active_until_t,
        "withdrawn_t": item.withdrawn_t,
        "credible": item.credible,
    }


def floodlight_command(incident_id: str) -> dict[str, Any]:
    """The payload published on ``.../floodlight/<id>/set`` (§2, rule 5 of §3)."""
    return {"on": True, "reason": incident_id}


def command_report(t: float, topic: str, incident_id: str) -> dict[str, Any]:
    return {"t": t, "topic": topic, "payload": floodlight_command(incident_id)}


# -- the API and websocket shapes (§7) -------------------------------------------------


def incident_json(v: IncidentView) -> dict[str, Any]:
    """An incident in the API and on the websocket: the report form, its window, and
    whether it is a walk-test incident (docs/protocol.md §11)."""
    return {**incident_report(v), "last_joined_t": v.last_joined_t, "test": v.test}


def fault_json(f: Fault) -> dict[str, Any]:
    return {"number": f.number, **fault_report(f)}


def event_json(e: DeviceEvent, t: float) -> dict[str, Any]:
    return {
        "t": t,
        "sensor": e.device,
        "kind": str(e.kind),
        "event": str(e.event),
        "zone": e.zone,
        "id": e.msg_id,
        "device_ts": e.device_ts,
        "data": dict(e.data),
    }


def intel_json(item: IntelItem, now: float) -> dict[str, Any]:
    """An item for the API and the page: the report form, what it says, its grading in
    words, and whether it is active at ``now`` (the page counts down from there)."""
    c = item.content
    return {
        **intel_report(item),
        "source": item.source,
        "ref": item.ref,
        "title": c.title,
        "source_grade": c.source_grade,
        "information_grade": c.information_grade,
        "grading": f"{c.source_grade}{c.information_grade}",
        "grading_words": (
            f"{SOURCE_WORDS[c.source_grade]}, {INFORMATION_WORDS[c.information_grade]}"
        ),
        "handling": c.handling,
        "conditions": c.conditions,
        "desks": list(c.desks) if c.desks is not None else None,
        "category": c.data.get("category"),
        "size": c.data.get("size"),
        "received_t": item.received_t,
        "active": item.active_at(now),
        "version": item.version,
    }


def stored_incident_json(r: IncidentRecord) -> dict[str, Any]:
    """An incident as the store keeps it: the API form, when it was first acknowledged,
    and how it was closed."""
    return {
        **incident_json(r.view),
        "acknowledged_t": r.acknowledged_t,
        "outcome": r.outcome,
        "disruption": r.disruption,
        "closed_t": r.closed_t,
    }


def incident_detail_json(r: IncidentRecord, trail: IncidentTrail) -> dict[str, Any]:
    """``GET /api/incidents/{id}``: the incident with its events, floodlight commands,
    evidence stills and clips, and audit history."""
    return {
        **stored_incident_json(r),
        "events": [
            {
                "t": e.t,
                "role": e.role,
                "sensor": e.device,
                "event": e.event,
                "zone": e.zone,
                "id": e.msg_id,
                "device_ts": e.device_ts,
                "data": e.data,
            }
            for e in trail.events
        ],
        "commands": [{"t": c.t, "floodlight": c.floodlight} for c in trail.commands],
        "history": [
            {
                "t": a.t,
                "who": a.who,
                "action": a.action,
                "outcome": a.outcome,
                "disruption": a.disruption,
                "comment": a.comment,
                "address": a.address,
            }
            for a in trail.history
        ],
        "evidence": [
            {"seq": s.seq, "camera": s.camera, "t": s.t, "zone": s.zone, "id": s.msg_id}
            for s in trail.evidence
        ],
        "clips": [clip_json(c) for c in trail.clips],
        "clips_removed": trail.clips_removed,
    }


def clip_json(c: ClipRecord) -> dict[str, Any]:
    """An evidence clip of an incident (docs/protocol.md §12): its camera, the wall-clock
    times of its first and last frames, and where the API serves it."""
    return {
        "id": c.seq,
        "camera": c.camera,
        "start": c.start,
        "end": c.end,
        "url": f"/api/clips/{c.seq}.mp4",
        "bytes": c.size,
    }


def recording_json(camera: str, fault: str | None, t: float) -> dict[str, Any]:
    """A camera's evidence recording stopped (``fault``: why, e.g. a full disk) or
    working again (None): on the websocket, and per camera in the picture (§12)."""
    return {"type": "recording", "camera": camera, "t": t, "ok": fault is None, "fault": fault}


def clip_kept_json(incident_id: str, clip: ClipRecord) -> dict[str, Any]:
    """On the websocket: a clip of ``incident_id`` is ready (the page's open detail
    fetches the incident again)."""
    return {"type": "clip", "incident": incident_id, "clip": clip_json(clip)}


_INCIDENT_CHANGES: dict[type, str] = {
    IncidentOpened: "opened",
    IncidentJoined: "joined",
    IncidentConfirmed: "confirmed",
    IncidentAcknowledged: "acknowledged",
    IncidentResolved: "resolved",
}


def change_json(c: Change) -> dict[str, Any] | None:  # noqa: PLR0911, PLR0912 - one return per change
    """One change as the websocket carries it; None for what the page does not need."""
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
                "disruption": str(c.disruption) if c.disruption else None,
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
        case DeviceAlarmChanged():
            return {"type": "device", "t": c.t, "id": c.device, "in_alarm": c.in_alarm}
        case ZoneStateChanged():
            return {
                "type": "zone",
                "t": c.t,
                "id": c.zone,
                "state": str(c.state),
                "degraded": c.degraded,
            }
        case ZoneWatchChanged():
            return {
                "type": "watch",
                "t": c.t,
                "id": c.zone,
                "watch": c.watch,
                "items": list(c.items),
            }
        case IntelUpdated():
            return {
                "type": "intel",
                "change": c.change,
                "t": c.t,
                "item": intel_json(c.item, c.t),
            }
        case WalkTestChanged():
            return walk_test_change_json(c)
    return None


def changes_json(changes: Iterable[Change]) -> list[dict[str, Any]]:
    return [w for w in (change_json(c) for c in changes) if w is not None]


# -- walk tests (§11) ---------------------------------------------------------------------


def crossing_json(c: CrossingView, modalities: Iterable[str], now: float) -> dict[str, Any]:
    """A crossing and the modalities that detected it; once its 10 s have passed
    (``settled``), ``missed`` lists the zone's modalities that did not."""
    settled = c.settled_at(now)
    detected = [str(m) for m in c.detected]
    return {
        "test": c.test_id,
        "n": c.number,
        "t": c.t,
        "mode": str(c.mode),
        "by": c.by,
        "window_until_t": c.t + DETECTION_WINDOW_S,
        "settled": settled,
        "detected": detected,
        "detected_by_system": bool(detected),
        "missed": [str(m) for m in modalities if m not in detected] if settled else [],
    }


def walk_test_json(v: WalkTestView, now: float) -> dict[str, Any]:
    """A walk test with every crossing, as the API and the page show it at ``now``."""
    modalities = [str(m) for m in v.modalities]
    crossings = [crossing_json(c, modalities, now) for c in v.crossings]
    return {
        "id": v.id,
        "zone": v.zone,
        "state": v.state_at(now),
        "opened_t": v.opened_t,
        "until_t": v.until_t,
        "closed_t": v.closed_t,
        "opened_by": v.opened_by,
        "closed_by": v.closed_by,
        "modalities": modalities,
        "crossings": crossings,
        "crossings_count": len(crossings),
        "detected_count": sum(1 for c in crossings if c["detected_by_system"]),
    }


def walk_test_change_json(c: WalkTestChanged) -> dict[str, Any]:
    test = walk_test_json(c.test, c.t)
    crossing = None
    if c.crossing is not None:
        crossing = test["crossings"][c.crossing.number - 1]
    return {
        "type": "walk_test",
        "change": str(c.change),
        "t": c.t,
        "walk_test": test,
        "crossing": crossing,
    }


# -- the joint centre's feed (§10, docs/centre.md) ------------------------------------------
# Published by each site under ``<prefix>/<site>/out/v1/``; requests from a centre arrive
# under ``in/v1/``. ``epoch`` names the site's store (a new store starts a new numbering),
# ``seq`` numbers the ``changes`` messages, ``boot`` names one run of ``vigie serve``.


def link_changes(
    site: str, epoch: str, seq: int, t: float, changes: list[dict[str, Any]]
) -> dict[str, Any]:
    """One ``changes`` message: committed changes in :func:`change_json` form, in order."""
    return {"site": site, "epoch": epoch, "seq": seq, "t": t, "changes": changes}


def link_heartbeat(
    site: str, *, epoch: str, boot: str, seq: int, t: float, nonce: str | None = None
) -> dict[str, Any]:
    """Every few seconds: the site is there, and ``seq`` is the last change it published.
    Also at once in answer to a centre's ``ping``, with its ``nonce``: published after
    everything queued before it, it tells the centre that its copy has caught up."""
    beat = {"site": site, "epoch": epoch, "boot": boot, "seq": seq, "t": t}
    if nonce is not None:
        beat["nonce"] = nonce
    return beat


def link_snapshot(
    site: str,
    *,
    epoch: str,
    boot: str,
    seq: int,
    t: float,
    nonce: str,
    picture: dict[str, Any],
    incidents: Iterable[IncidentRecord],
) -> dict[str, Any]:
    """The site's whole picture as of change ``seq``, and every incident a centre keeps
    (unresolved ones and the latest resolved), as ``GET /api/incidents`` lists them."""
    return {
        "site": site,
        "epoch": epoch,
        "boot": boot,
        "seq": seq,
        "t": t,
        "nonce": nonce,
        "picture": picture,
        "incidents": [stored_incident_json(r) for r in incidents],
    }


def link_reply(
    site: str, *, request: str, incident: str, action: str, status: int, reason: str, t: float
) -> dict[str, Any]:
    """What became of a centre's request: ``status`` 200 done, 400 malformed, 404 no such
    incident, 409 not possible in its state, 503 the site's store is busy (try again)."""
    return {
        "site": site,
        "request": request,
        "incident": incident,
        "action": action,
        "ok": status == 200,
        "status": status,
        "reason": reason,
        "t": t,
    }


def link_request(
    *,
    request: str,
    centre: str,
    user: str,
    desk: str,
    action: str,
    incident: str,
    comment: str,
    outcome: str | None = None,
    disruption: str | None = None,
) -> dict[str, Any]:
    """A centre's acknowledgement or resolution, sent to the site that owns the incident."""
    body: dict[str, Any] = {
        "request": request,
        "centre": centre,
        "user": user,
        "desk": desk,
        "action": action,
        "incident": incident,
        "comment": comment,
    }
    if outcome is not None:
        body["outcome"] = outcome
    if disruption is not None:
        body["disruption"] = disruption
    return body
