"""The store on SQLite and on the machine's PostgreSQL: what is written is what restarts."""

from __future__ import annotations

import json

from fusion.correlator import Correlator
from fusion.incidents import IncidentState, Outcome
from fusion.intake import Intake, Verdict
from fusion.wire import incident_detail_json, stored_incident_json
from tests.builders import strip_site
from vigie.store import AuditEntry, Batch, Received, Store

MESSAGES = [
    (100.0, "fence", "fence-01", {"id": "f1", "event": "alarm"}),
    (101.0, "ir", "ir-02", {"id": "i1", "event": "alarm"}),
    (102.0, "floodlight", "fl-02", {"id": "s1", "event": "state", "data": {"on": True}}),
    (103.0, "ir", "ir-03", {"id": "t1", "event": "tamper"}),
    (104.0, "ir", "ir-01", {"id": "h1", "event": "heartbeat"}),
]


def topic(kind: str, device: str) -> str:
    return f"perimeter/coquelles/{kind}/{device}"


def run_some(intake: Intake) -> Batch:
    batch = Batch()
    for t, kind, device, body in MESSAGES:
        payload = json.dumps(body).encode()
        done = intake.receive(topic(kind, device), payload, t)
        assert done.verdict is Verdict.ACCEPTED
        batch.received.append(Received(t, topic(kind, device), payload, processed=done))
    batch.next_incident = intake.engine.next_incident_number
    batch.next_fault = intake.engine.next_fault_number
    return batch


def test_a_restart_restores_what_the_engine_needs(db_url: str) -> None:
    site = strip_site()
    engine = Correlator(site, start=100.0)
    batch = run_some(Intake(site, engine, start=100.0))
    store = Store(db_url)
    store.save_batch(batch)
    changes = engine.acknowledge("INC-000001", 105.0, "alice", "patrol sent")
    store.save_decision(
        changes, AuditEntry("INC-000001", 105.0, "alice", "ack", "patrol sent", "10.0.0.7")
    )
    store.close()

    again = Store(db_url)  # a new process would do exactly this
    restored = again.restore(now=106.0, dedup_horizon_s=3600)
    state = restored.state
    assert [v.id for v in state.incidents] == ["INC-000001"]
    [view] = state.incidents
    assert view.state is IncidentState.ACKNOWLEDGED
    assert view.zones == ("Z01", "Z02") and view.devices == ("fence-01", "ir-02")
    assert state.commanded["INC-000001"] == {"fl-01", "fl-01b", "fl-02"}
    assert [(f.device, f.fault.value) for f in state.open_faults] == [("ir-03", "tamper")]
    assert state.floodlights_on == {"fl-02": True}
    assert state.devices_in_alarm == {"fence-01", "ir-02"}
    assert len(restored.seen) == 5 and state.next_incident == 2 and state.next_fault == 2
    assert restored.accepted == 5

    resumed = Correlator(site, start=106.0, state=state)
    intake = Intake(site, resumed, start=106.0, seen=restored.seen)
    again_f1 = json.dumps(MESSAGES[0][3]).encode()
    done = intake.receive(topic("fence", "fence-01"), again_f1, 107.0)
    assert done.verdict is Verdict.DUPLICATE, "a redelivered message is recognised"
    reused = json.dumps({"id": "f1", "event": "clear"}).encode()
    done = intake.receive(topic("fence", "fence-01"), reused, 107.5)
    assert done.verdict is Verdict.ACCEPTED and done.id_reused, "same id, other content"
    intake.receive(topic("ir", "ir-01"), b'{"id": "x", "event": "alarm"}', 108.0)
    assert resumed.incidents()[0].zones == ("Z01", "Z02"), "joined, not a new incident"
    resolved = resumed.resolve("INC-000001", 109.0, "alice", Outcome.INTRUSION, "caught")
    again.save_decision(
        resolved, AuditEntry("INC-000001", 109.0, "alice", "resolve", "caught", None, "intrusion")
    )
    found = again.incident("INC-000001")
    assert found is not None
    detail = incident_detail_json(*found)
    assert detail["state"] == "resolved" and detail["outcome"] == "intrusion"
    assert [h["action"] for h in detail["history"]] == ["ack", "resolve"]
    assert [e["sensor"] for e in detail["events"]] == ["fence-01", "ir-02"]
    assert [stored_incident_json(r)["id"] for r in again.incidents("resolved")] == ["INC-000001"]
    assert again.incidents("open") == []
    again.close()


def test_migrations_are_applied_once(db_url: str) -> None:
    first = Store(db_url)
    version = first.schema_version
    first.close()
    second = Store(db_url)
    assert second.schema_version == version
    second.ping()
    second.close()
