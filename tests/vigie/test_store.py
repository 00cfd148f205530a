"""The store on SQLite and on the machine's PostgreSQL: what is written is what restarts."""

from __future__ import annotations

from fusion.changes import Change
from fusion.correlator import Correlator
from fusion.incidents import IncidentState, Outcome
from tests.builders import event, strip_site
from vigie.store import AuditEntry, Batch, Store


def run_some(engine: Correlator) -> tuple[Batch, list[Change]]:
    batch = Batch()
    for t, args in [
        (100.0, ("fence-01", "alarm", "f1")),
        (101.0, ("ir-02", "alarm", "i1")),
        (102.0, ("fl-02", "state", "s1")),
        (103.0, ("ir-03", "tamper", "t1")),
        (104.0, ("ir-01", "heartbeat", "h1")),
    ]:
        e = event(*args, data={"on": True} if args[1] == "state" else None)
        changes, duplicate = engine.ingest(e, t)
        assert not duplicate
        batch.accepted.append((t, b"{}", e))
        batch.changes.extend(changes)
    batch.next_incident = engine.next_incident_number
    batch.next_fault = engine.next_fault_number
    return batch, batch.changes


def test_a_restart_restores_what_the_engine_needs(db_url: str) -> None:
    site = strip_site()
    engine = Correlator(site, start=100.0)
    batch, _ = run_some(engine)
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
    assert view.zones == ("Z01", "Z02") and view.sensors == ("fence-01", "ir-02")
    assert state.commanded["INC-000001"] == {"fl-01", "fl-01b", "fl-02"}
    assert [(f.sensor, f.fault.value) for f in state.open_faults] == [("ir-03", "tamper")]
    assert state.floodlights_on == {"fl-02": True}
    assert state.sensors_in_alarm == {"fence-01", "ir-02"}
    assert len(state.seen) == 5 and state.next_incident == 2 and state.next_fault == 2
    assert restored.accepted == 5

    resumed = Correlator(site, start=106.0, state=state)
    _, duplicate = resumed.ingest(event("fence-01", "alarm", "f1"), 107.0)
    assert duplicate, "a redelivered message is recognised after the restart"
    resumed.ingest(event("ir-01", "alarm", "x"), 108.0)
    assert resumed.incidents()[0].zones == ("Z01", "Z02"), "joined, not a new incident"
    resolved = resumed.resolve("INC-000001", 109.0, "alice", Outcome.INTRUSION, "caught")
    again.save_decision(
        resolved, AuditEntry("INC-000001", 109.0, "alice", "resolve", "caught", None, "intrusion")
    )
    detail = again.incident("INC-000001")
    assert detail is not None
    assert detail["state"] == "resolved" and detail["outcome"] == "intrusion"
    assert [h["action"] for h in detail["history"]] == ["ack", "resolve"]
    assert [e["sensor"] for e in detail["events"]] == ["fence-01", "ir-02"]
    assert [i["id"] for i in again.incidents("resolved")] == ["INC-000001"]
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
