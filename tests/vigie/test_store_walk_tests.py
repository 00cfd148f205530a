"""Walk tests and outcomes in the store, on SQLite and PostgreSQL: what is written is what
restarts and what the API reads back; an existing store migrates."""

from __future__ import annotations

import json

from fusion.correlator import Correlator
from fusion.events import Modality
from fusion.incidents import Disruption, Outcome
from fusion.intake import Intake
from fusion.walktests import CrossingMode
from reports.command import monthly
from tests.builders import strip_site
from vigie.store import AuditEntry, Batch, Received, Store
from vigie.store.db import Database
from vigie.store.schema import MIGRATIONS

T0 = 1_794_296_000.0  # 2026-11-10 07:33:20 UTC


def feed(intake: Intake, store: Store, t: float, device: str, body: dict[str, object]) -> None:
    kind = device.split("-", maxsplit=1)[0] if not device.startswith("cam") else "camera"
    topic = f"perimeter/coquelles/{kind}/{device}"
    payload = json.dumps(body).encode()
    done = intake.receive(topic, payload, t)
    batch = Batch([Received(done.t, topic, payload, processed=done)])
    batch.next_incident = intake.engine.next_incident_number
    batch.next_fault = intake.engine.next_fault_number
    store.save_batch(batch)


def test_walk_tests_and_their_crossings_restart_and_read_back_with_detections(
    db_url: str,
) -> None:
    site = strip_site()
    engine = Correlator(site, start=T0)
    intake = Intake(site, engine, start=T0)
    store = Store(db_url)
    store.save_changes(engine.walk_tests.open("Z01", 60, "ines", T0), "open")
    store.save_changes(
        engine.walk_tests.cross("WT-000001", CrossingMode.CLIMB, "ines", T0 + 5), "x"
    )
    feed(intake, store, T0 + 9, "fence-01", {"id": "f1", "event": "alarm"})
    feed(intake, store, T0 + 15.5, "ir-01", {"id": "i1", "event": "alarm"})  # too late
    store.save_changes(engine.walk_tests.cross("WT-000001", CrossingMode.RUN, "ines", T0 + 20), "x")
    store.close()

    again = Store(db_url)
    restored = again.restore(now=T0 + 22, dedup_horizon_s=3600)
    [running] = restored.state.walk_tests
    assert running.id == "WT-000001" and running.closed_t is None
    assert [c.detected for c in running.crossings] == [(Modality.FENCE,), ()]
    assert restored.state.next_walk_test == 2
    resumed = Correlator(site, start=T0 + 22, state=restored.state)
    assert resumed.walk_tests.under_test("Z01", T0 + 22) == "WT-000001"
    [incident] = again.incidents()
    assert incident.view.test  # opened under the test, and still so after the restart

    [shown] = again.walk_tests(test_id="WT-000001")
    assert [(c.number, c.mode, c.detected) for c in shown.crossings] == [
        (1, CrossingMode.CLIMB, (Modality.FENCE,)),
        (2, CrossingMode.RUN, ()),  # the ir alarm came 4.5 s before it
    ]
    assert again.walk_tests(span=(T0 + 3601, T0 + 7200)) == []
    assert [t.id for t in again.walk_tests(span=(T0 + 10, T0 + 11))] == ["WT-000001"]
    again.close()


def test_a_store_from_before_disruption_migrates_and_its_intrusions_read_as_unknown(
    db_url: str,
) -> None:
    db = Database(db_url)
    db.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
    db.execute("INSERT INTO schema_version (version) VALUES (5)")
    for statements in MIGRATIONS[:5]:
        for statement in statements:
            db.execute(statement)
    db.execute(
        "INSERT INTO incidents (id, zones, opened_t, confirmed_t, modalities, devices, priority,"
        " state, last_joined_t, outcome, closed_t) VALUES"
        " ('INC-000001', '[\"Z01\"]', ?, NULL, '[\"ir\"]', '[\"ir-01\"]', 3, 'resolved', ?,"
        " 'intrusion', ?)",
        (T0, T0, T0 + 60),
    )
    db.execute("INSERT INTO meta (key, value) VALUES ('next_incident', '2')")
    db.execute(
        "INSERT INTO audit (incident_id, t, who, action, outcome, comment, address)"
        " VALUES ('INC-000001', ?, 'alice', 'resolve', 'intrusion', '', NULL)",
        (T0 + 60,),
    )
    db.commit()
    db.close()

    store = Store(db_url)  # migrates
    assert store.schema_version == len(MIGRATIONS)
    [old] = store.incidents()
    assert (old.outcome, old.disruption, old.view.test) == ("intrusion", None, False)
    site = strip_site()
    state = store.restore(T0 + 100, 3600).state
    engine = Correlator(site, start=T0 + 100, state=state)
    intake = Intake(site, engine, start=T0 + 100)
    feed(intake, store, T0 + 100, "ir-03", {"id": "a", "event": "alarm"})
    changes = engine.resolve(
        "INC-000002", T0 + 160, "alice", Outcome.INTRUSION, "", disruption=Disruption.ESCAPED
    )
    entry = AuditEntry("INC-000002", T0 + 160, "alice", "resolve", "", None, "intrusion", "escaped")
    store.save_decision(changes, entry)
    found = store.incident("INC-000002")
    assert found is not None
    assert found[0].disruption == "escaped"
    assert found[1].history[-1].disruption == "escaped"
    store.close()

    figures = monthly(db_url, site, "2026-11", lang="en", now=T0 + 86400).figures
    assert figures["incidents"]["by_disruption"] == {
        "intercepted": 0,
        "turned_back": 0,
        "escaped": 1,
        "unknown": 1,
    }
