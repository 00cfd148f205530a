"""Small builders for sites, events and recording lines used across the tests."""

from __future__ import annotations

import json
from typing import Any

from fusion.events import DeviceEvent, DeviceKind, EventType
from fusion.site import Site, site_from_mapping


def strip(criticality: dict[str, int] | None = None, **extra: Any) -> dict[str, Any]:
    """A three-zone fence line Z01 - Z02 - Z03 (Z01~Z02 listed on Z01 only, Z02~Z03 on Z03)."""
    crit = {"Z01": 3, "Z02": 4, "Z03": 2, **(criticality or {})}
    data: dict[str, Any] = {
        "site": "coquelles",
        "zones": [
            {
                "id": "Z01",
                "polygon": [[0, 0], [100, 0], [100, 10], [0, 10]],
                "adjacent": ["Z02"],
                "criticality": crit["Z01"],
            },
            {
                "id": "Z02",
                "polygon": [[100, 0], [200, 0], [200, 10], [100, 10]],
                "criticality": crit["Z02"],
            },
            {
                "id": "Z03",
                "polygon": [[200, 0], [300, 0], [300, 10], [200, 10]],
                "adjacent": ["Z02"],
                "criticality": crit["Z03"],
            },
            {"id": "Z09", "polygon": [[0, 50], [10, 50], [10, 60], [0, 60]], "criticality": 1},
        ],
        "sensors": [
            {"id": "ir-01", "kind": "ir", "zone": "Z01", "heartbeat_s": 10},
            {"id": "ir-02", "kind": "ir", "zone": "Z02"},
            {"id": "ir-03", "kind": "ir", "zone": "Z03"},
            {"id": "ir-09", "kind": "ir", "zone": "Z09"},
            {"id": "fence-01", "kind": "fence", "zone": "Z01"},
            {"id": "fence-02", "kind": "fence", "zone": "Z02"},
            {"id": "fl-01", "kind": "floodlight", "zone": "Z01"},
            {"id": "fl-01b", "kind": "floodlight", "zone": "Z01"},
            {"id": "fl-02", "kind": "floodlight", "zone": "Z02"},
        ],
        "cameras": [
            {
                "id": "cam-01",
                "url": "rtsp://127.0.0.1:8554/cam-01",
                "heartbeat_s": 5,
                "zones": {
                    "Z01": [[0, 0.5], [1, 0.5], [1, 1], [0, 1]],
                    "Z02": [[0, 0], [1, 0], [1, 0.5], [0, 0.5]],
                },
            },
        ],
        "fusion": {"window_s": 30, "heartbeat_misses": 3},
    }
    data.update(extra)
    return data


def strip_site(**kw: Any) -> Site:
    return site_from_mapping(strip(**kw), "strip.yaml")


KIND_OF_ID = {
    "ir": DeviceKind.IR,
    "fence": DeviceKind.FENCE,
    "fl": DeviceKind.FLOODLIGHT,
    "cam": DeviceKind.CAMERA,
}


def event(
    sensor: str,
    name: str,
    msg_id: str,
    zone: str | None = None,
    data: dict[str, Any] | None = None,
) -> DeviceEvent:
    """An already-valid event; the zone defaults to the strip's home zone of the sensor."""
    kind = KIND_OF_ID[sensor.split("-", maxsplit=1)[0]]
    home = None if kind is DeviceKind.CAMERA else "Z" + sensor.split("-")[1][:2]
    return DeviceEvent(
        sensor,
        kind,
        msg_id,
        EventType(name),
        zone or home,
        None,
        data or {},
        f"perimeter/coquelles/{kind}/{sensor}",
    )


def line(t: float, topic: str, payload: Any) -> bytes:
    return json.dumps({"t": t, "topic": topic, "payload": payload}).encode() + b"\n"


def msg(t: float, sensor: str, name: str, msg_id: str, **body: Any) -> bytes:
    kind = KIND_OF_ID[sensor.split("-", maxsplit=1)[0]]
    return line(t, f"perimeter/coquelles/{kind}/{sensor}", {"id": msg_id, "event": name, **body})
