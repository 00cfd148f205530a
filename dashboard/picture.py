"""The tactical picture (docs/protocol.md §7): what ``GET /api/picture`` and a
websocket snapshot show. Built from the engine's current state, never stored."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fusion.correlator import Correlator
from fusion.site import Site
from fusion.wire import fault_json, incident_json, intel_json, walk_test_json


def tactical_picture(
    site: Site, engine: Correlator, last_seen: Mapping[str, float], now: float
) -> dict[str, Any]:
    states = engine.zone_states()
    incidents = engine.incidents()
    faults = engine.open_faults()
    near = site.neighbourhood()
    faults_of: dict[str, list[str]] = {}
    for f in faults:
        faults_of.setdefault(f.device, []).append(str(f.fault))
    return {
        "t": now,
        "site": {
            "id": site.site,
            "name": site.name,
            "timezone": site.timezone,
            "window_s": site.fusion.window_s,
        },
        "zones": [
            {
                "id": z.id,
                "name": z.name,
                "polygon": z.polygon,
                "adjacent": sorted(near[z.id] - {z.id}),
                "criticality": z.criticality,
                "state": str(states[z.id]),
                "degraded": engine.zone_degraded(z.id),
                "incidents": [i.id for i in incidents if z.id in i.zones],
                "watch": engine.intel.watch(z.id),
                "intel": list(engine.intel.watched_by(z.id)),
            }
            for z in site.zones
        ],
        "incidents": [incident_json(i) for i in incidents],
        "sensors": [
            {
                "id": s.id,
                "kind": str(s.kind),
                "zone": s.zone,
                "name": s.name,
                "position": s.position,
                "heartbeat_s": s.heartbeat_s,
                "health": "faulty" if s.id in faults_of else "ok",
                "faults": faults_of.get(s.id, []),
                "last_heard": last_seen.get(s.id),
                "in_alarm": engine.in_alarm(s.id),
                "on": engine.floodlight_on(s.id),
            }
            for s in site.sensors
        ],
        "cameras": [
            {
                "id": c.id,
                "name": c.name,
                "zones": sorted(c.zones),
                "position": c.position,
                "heartbeat_s": c.heartbeat_s,
                "health": "faulty" if c.id in faults_of else "ok",
                "faults": faults_of.get(c.id, []),
                "last_heard": last_seen.get(c.id),
            }
            for c in site.cameras
        ],
        "faults": [fault_json(f) for f in faults],
        "intel": [
            intel_json(item, now)
            for item in engine.intel.items()
            if item.withdrawn_t is None and item.active_until_t > now
        ],
        "walk_tests": [walk_test_json(v, now) for v in engine.walk_tests.views()],
    }
