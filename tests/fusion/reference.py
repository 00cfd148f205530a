"""A deliberately naive second reading of docs/protocol.md §2a, §3 and §9, for model-based
tests.

No indexes, no heaps, no horizons: linear scans over everything, written straight
from the protocol's sentences. The engine must produce the same report.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from fusion.events import Rejection
from fusion.intel import IntelMessage
from fusion.parser import MessageParser
from fusion.site import Site


def reference_report(  # noqa: PLR0912 - one flat reading, on purpose
    site: Site, lines: list[tuple[float, str, Any]]
) -> dict[str, Any]:
    parser = MessageParser(site)
    near: dict[str, set[str]] = {z.id: {z.id} for z in site.zones}
    for z in site.zones:
        for a in z.adjacent:
            near[z.id].add(a)
            near[a].add(z.id)
    crit = {z.id: z.criticality for z in site.zones}
    home = {s.id: ([s.zone] if s.zone else []) for s in site.sensors}
    home.update({c.id: list(c.zones) for c in site.cameras})
    lights = [(s.id, s.zone) for s in site.sensors if s.kind == "floodlight"]
    order = [d.id for d in site.sensors] + [c.id for c in site.cameras]
    period = {s.id: s.heartbeat_s for s in site.sensors} | {
        c.id: c.heartbeat_s for c in site.cameras
    }
    limit = {d: p * site.fusion.heartbeat_misses for d, p in period.items() if p > 0}
    last = dict.fromkeys(limit, 0.0)
    lost: set[str] = set()
    seen: set[tuple[str, str, str]] = set()  # (device, id, the payload's text): §2a
    ids: set[tuple[str, str]] = set()
    incidents: list[dict[str, Any]] = []
    faults: list[dict[str, Any]] = []
    commands: list[dict[str, Any]] = []
    light_on: dict[str, bool] = {}
    counts = {"messages": 0, "rejected": 0, "duplicates": 0, "id_reuses": 0}
    clock = 0.0

    def open_fault(sensor: str, kind: str) -> dict[str, Any] | None:
        for f in faults:
            if f["sensor"] == sensor and f["fault"] == kind and f["cleared_t"] is None:
                return f
        return None

    def raise_fault(sensor: str, kind: str, t: float) -> None:
        if open_fault(sensor, kind) is None:
            faults.append({"sensor": sensor, "fault": kind, "t": t, "cleared_t": None})

    def clear_fault(sensor: str, kind: str, t: float) -> None:
        f = open_fault(sensor, kind)
        if f is not None:
            f["cleared_t"] = t

    def run_clock(t: float) -> None:
        while True:
            due = [
                (last[d] + limit[d], order.index(d), d)
                for d in limit
                if d not in lost and last[d] + limit[d] <= t
            ]
            if not due:
                return
            deadline, _, d = min(due)
            lost.add(d)
            raise_fault(d, "heartbeat_lost", deadline)

    def command(inc: dict[str, Any], zone: str, t: float) -> None:
        for light, lz in lights:
            if lz == zone and not light_on.get(light) and light not in inc["_commanded"]:
                inc["_commanded"].add(light)
                commands.append(
                    {
                        "t": t,
                        "topic": f"{site.mqtt.prefix}/{site.site}/floodlight/{light}/set",
                        "payload": {"on": True, "reason": inc["id"]},
                    }
                )

    items: dict[str, dict[str, Any]] = {}  # in the order first issued

    def intel_message(body: dict[str, Any], item_id: str, t: float) -> None:
        data = body["data"]
        if body["event"] == "withdraw":
            if item_id in items and items[item_id]["withdrawn_t"] is None:
                items[item_id]["withdrawn_t"] = t
            return
        ts = when(body["ts"])
        items[item_id] = {
            "zones": list(dict.fromkeys(data["zones"])),
            "active_from_t": t + seconds_between(when(data["valid_from"]), ts),
            "active_until_t": t + seconds_between(when(data["valid_until"]), ts),
            "withdrawn_t": None,
            "credible": str(data["source_grade"]) != "3"
            and data["information_grade"] not in ("D", "E"),
        }

    for t, topic, payload in lines:
        counts["messages"] += 1
        clock = max(clock, t)
        raw = payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()
        ev = parser.parse(topic, raw)
        run_clock(clock)
        if isinstance(ev, Rejection):
            counts["rejected"] += 1
            continue
        text = payload if isinstance(payload, str) else json.dumps(payload)
        if (ev.device, ev.msg_id, text) in seen:
            counts["duplicates"] += 1
            continue
        seen.add((ev.device, ev.msg_id, text))
        if (ev.device, ev.msg_id) in ids:
            counts["id_reuses"] += 1  # a restarted device: a new event all the same
        ids.add((ev.device, ev.msg_id))
        if isinstance(ev, IntelMessage):
            assert isinstance(payload, dict)
            intel_message(payload, ev.item_id, clock)
            continue
        if ev.device in limit:
            last[ev.device] = clock
            if ev.device in lost:
                lost.discard(ev.device)
                clear_fault(ev.device, "heartbeat_lost", clock)
        name = ev.event.value
        if name in ("tamper", "fault", "video_loss"):
            raise_fault(ev.device, name, clock)
        elif name in ("clear", "video_restored"):
            for k in ("tamper", "fault", "video_loss"):
                clear_fault(ev.device, k, clock)
        elif name == "state":
            light_on[ev.device] = ev.data["on"]
        elif name in ("alarm", "person", "motion") and ev.zone is not None:
            zone = ev.zone
            modality = "camera" if ev.kind == "camera" else ev.kind.value
            active = [
                i
                for i in incidents
                if clock - i["_last"] <= site.fusion.window_s and set(i["zones"]) & near[zone]
            ]
            if active:
                inc = max(active, key=lambda i: i["_seq"])
            elif name == "motion":
                continue
            else:
                inc = {
                    "id": f"INC-{len(incidents) + 1:06d}",
                    "zones": [],
                    "opened_t": clock,
                    "confirmed_t": None,
                    "modalities": set(),
                    "sensors": set(),
                    "_commanded": set(),
                    "intel": set(),
                    "_last": clock,
                    "_seq": 0,
                }
                incidents.append(inc)
            inc["_last"] = clock
            inc["_seq"] = counts["messages"]
            inc["modalities"].add(modality)
            inc["sensors"].add(ev.device)
            if len(inc["modalities"]) >= 2 and inc["confirmed_t"] is None:
                inc["confirmed_t"] = clock
            if zone not in inc["zones"]:
                inc["zones"].append(zone)
                command(inc, zone, clock)
            for item_id, item in items.items():  # §9: link what is active, credible, there
                if (
                    item["credible"]
                    and item["withdrawn_t"] is None
                    and item["active_from_t"] <= clock < item["active_until_t"]
                    and set(item["zones"]) & set(inc["zones"])
                ):
                    inc["intel"].add(item_id)
    run_clock(clock)
    return {
        "incidents": [
            {
                "id": i["id"],
                "zones": i["zones"],
                "opened_t": i["opened_t"],
                "confirmed": i["confirmed_t"] is not None,
                "confirmed_t": i["confirmed_t"],
                "modalities": sorted(i["modalities"]),
                "sensors": sorted(i["sensors"]),
                "priority": min(
                    5,
                    max(crit[z] for z in i["zones"])
                    + (i["confirmed_t"] is not None)
                    + (len(i["intel"]) > 0),
                ),
                "state": "open",
                "intel": sorted(i["intel"]),
            }
            for i in incidents
        ],
        "faults": faults,
        "commands": commands,
        "intel": [
            {"id": k, **{f: v for f, v in it.items() if f != "_order"}} for k, it in items.items()
        ],
        **counts,
    }


def when(value: Any) -> datetime | float:
    return datetime.fromisoformat(value) if isinstance(value, str) else float(value)


def seconds_between(a: datetime | float, b: datetime | float) -> float:
    if isinstance(a, datetime) and isinstance(b, datetime):
        return (a - b).total_seconds()
    ta = a.timestamp() if isinstance(a, datetime) else a
    tb = b.timestamp() if isinstance(b, datetime) else b
    return ta - tb
