"""What the websocket sends, built from every kind of change the engine makes."""

from __future__ import annotations

import orjson

from dashboard.hub import coalesce
from fusion.changes import Change
from fusion.correlator import Correlator
from fusion.incidents import Outcome
from fusion.wire import change_json
from tests.builders import event, strip_site


def every_kind_of_change() -> list[Change]:
    c = Correlator(strip_site(), start=0.0)
    out: list[Change] = []
    for t, args, kw in [
        (1, ("fl-02", "state", "s"), {"data": {"on": False}}),
        (2, ("fence-01", "alarm", "a"), {}),
        (3, ("ir-01", "alarm", "b"), {}),
        (4, ("cam-01", "person", "c"), {"zone": "Z02"}),
        (5, ("ir-09", "tamper", "d"), {}),
        (6, ("ir-01", "clear", "e"), {}),
    ]:
        out += c.ingest(event(*args, **kw), t)  # type: ignore[arg-type]
    out += c.advance(100)
    out += c.acknowledge("INC-000001", 101, "alice", "seen")
    out += c.resolve("INC-000001", 102, "alice", Outcome.INTRUSION, "caught")
    return out


def test_every_change_serialises_and_coalesces() -> None:
    changes = every_kind_of_change()
    kinds = {type(c).__name__ for c in changes}
    assert {
        "IncidentOpened",
        "IncidentJoined",
        "IncidentConfirmed",
        "IncidentAcknowledged",
        "IncidentResolved",
        "FaultRaised",
        "FloodlightCommanded",
        "FloodlightReported",
        "DeviceAlarmChanged",
        "ZoneStateChanged",
    } <= kinds
    wire = [w for w in (change_json(c) for c in changes) if w is not None]
    frame = coalesce(wire)
    orjson.dumps(frame)
    [incident] = frame["incidents"]
    assert incident["state"] == "resolved" and incident["zones"] == ["Z01", "Z02"]
    assert [(e["sensor"], e["incident"]) for e in frame["events"]] == [
        ("fence-01", "INC-000001"),
        ("ir-01", "INC-000001"),
        ("cam-01", "INC-000001"),
    ]
    markers = [c["change"] for c in frame["changes"] if c["type"] == "incident"]
    assert markers == ["opened", "confirmed", "joined", "acknowledged", "resolved"]
    commands = [c for c in frame["changes"] if c["type"] == "command"]
    assert [(c["floodlight"], c["incident"]) for c in commands] == [
        ("fl-01", "INC-000001"),
        ("fl-01b", "INC-000001"),
        ("fl-02", "INC-000001"),
    ]
