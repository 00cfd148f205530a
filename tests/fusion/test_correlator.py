"""The fusion rules of docs/protocol.md §3, one by one, on the pure engine."""

from __future__ import annotations

import json
from typing import TypeVar

import pytest

from fusion.changes import (
    Change,
    FaultCleared,
    FaultRaised,
    FloodlightCommanded,
    IncidentConfirmed,
    IncidentJoined,
    IncidentOpened,
    ZoneState,
)
from fusion.correlator import Correlator, EngineState, UnknownIncident
from fusion.events import Modality
from fusion.faults import FaultType
from fusion.incidents import IllegalTransition, IncidentState, Outcome
from fusion.intake import Intake, Processed, Verdict
from tests.builders import event, strip_site

C = TypeVar("C")


def engine(criticality: dict[str, int] | None = None) -> Correlator:
    return Correlator(strip_site(criticality=criticality), start=0.0)


def feed(c: Correlator, t: float, *args: str, **kw: object) -> list[Change]:
    return c.ingest(event(*args, **kw), t)  # type: ignore[arg-type]


def step(c: Correlator) -> Intake:
    """The processing step around an engine: duplicates are filtered there."""
    return Intake(c.site, c, start=0.0)


def receive(i: Intake, t: float, device: str, event: str, msg_id: str) -> Processed:
    kind = "camera" if device.startswith("cam") else device.split("-", maxsplit=1)[0]
    topic = f"perimeter/coquelles/{kind}/{device}"
    return i.receive(topic, json.dumps({"id": msg_id, "event": event}).encode(), t)


def of(changes: list[Change], kind: type[C]) -> list[C]:
    return [c for c in changes if isinstance(c, kind)]


# -- rule 1: open or join -----------------------------------------------------------


def test_rule1_an_alarm_opens_an_unconfirmed_incident_in_its_zone() -> None:
    c = engine()
    out = feed(c, 12.5, "ir-01", "alarm", "a1")
    [opened] = of(out, IncidentOpened)
    assert isinstance(opened, IncidentOpened)
    assert opened.incident.zones == ("Z01",)
    assert not opened.incident.confirmed
    assert opened.incident.opened_t == 12.5
    assert c.zone_states()["Z01"] is ZoneState.ALARM


def test_rule1_a_camera_person_opens_too() -> None:
    c = engine()
    assert of(feed(c, 1, "cam-01", "person", "p1", zone="Z02"), IncidentOpened)


def test_rule1_alarms_in_the_same_or_an_adjacent_zone_join() -> None:
    c = engine()
    feed(c, 0, "ir-01", "alarm", "a")
    out = feed(c, 5, "ir-02", "alarm", "b")  # Z02 adjacent to Z01 (listed on Z01 only)
    [joined] = of(out, IncidentJoined)
    assert isinstance(joined, IncidentJoined)
    assert joined.new_zone == "Z02"
    assert joined.incident.zones == ("Z01", "Z02")
    assert len(c.incidents()) == 1


def test_rule1_adjacency_is_symmetric_when_listed_on_one_side_only() -> None:
    c = engine()
    feed(c, 0, "ir-02", "alarm", "a")  # Z02 lists nobody; Z03 lists Z02
    assert of(feed(c, 1, "ir-03", "alarm", "b"), IncidentJoined)


def test_rule1_a_distant_zone_opens_its_own_incident() -> None:
    c = engine()
    feed(c, 0, "ir-01", "alarm", "a")
    assert of(feed(c, 1, "ir-03", "alarm", "b"), IncidentOpened)  # Z03 not adjacent to Z01
    assert len(c.incidents()) == 2


def test_rule1_the_window_is_inclusive_then_a_new_incident_opens() -> None:
    c = engine()
    feed(c, 0, "ir-01", "alarm", "a")
    assert of(feed(c, 30, "ir-01", "alarm", "b"), IncidentJoined), "exactly window_s old joins"
    assert of(feed(c, 60.001, "ir-01", "alarm", "c"), IncidentOpened)


def test_rule1_the_window_runs_from_the_last_joining_event() -> None:
    c = engine()
    feed(c, 0, "ir-01", "alarm", "a")
    for i, t in enumerate((25, 50, 75, 100)):
        assert of(feed(c, t, "ir-01", "alarm", f"x{i}"), IncidentJoined)
    assert len(c.incidents()) == 1


def test_rule1_of_several_candidates_the_most_recently_joined_wins() -> None:
    c = engine()
    feed(c, 0, "ir-01", "alarm", "a")  # INC-1 in Z01
    feed(c, 1, "ir-03", "alarm", "b")  # INC-2 in Z03 (not adjacent to Z01)
    feed(c, 2, "ir-01", "alarm", "c")  # joins INC-1: now most recently joined
    [joined] = of(feed(c, 3, "ir-02", "alarm", "d"), IncidentJoined)  # Z02 touches both
    assert isinstance(joined, IncidentJoined)
    assert joined.incident.id == "INC-000001"
    other = engine()
    feed(other, 0, "ir-01", "alarm", "a")
    feed(other, 1, "ir-03", "alarm", "b")
    feed(other, 2, "ir-03", "alarm", "c")  # now INC-2 is the most recently joined
    [joined] = of(feed(other, 3, "fence-02", "alarm", "f"), IncidentJoined)
    assert isinstance(joined, IncidentJoined)
    assert joined.incident.id == "INC-000002"
    assert joined.incident.zones == ("Z03", "Z02")


def test_rule1_an_incident_follows_the_intruder_along_the_fence() -> None:
    c = engine()
    feed(c, 0, "ir-01", "alarm", "a")
    feed(c, 10, "ir-02", "alarm", "b")
    feed(c, 20, "ir-03", "alarm", "c")  # Z03 is adjacent to Z02, which the incident is in
    [inc] = c.incidents()
    assert inc.zones == ("Z01", "Z02", "Z03")


def test_rule1_a_resolved_incident_is_never_joined() -> None:
    c = engine()
    feed(c, 0, "ir-01", "alarm", "a")
    c.resolve("INC-000001", 1, "alice", Outcome.TEST, "")
    assert of(feed(c, 2, "ir-01", "alarm", "b"), IncidentOpened)


# -- rule 2: camera motion -------------------------------------------------------------


def test_rule2_motion_never_opens_an_incident() -> None:
    c = engine()
    assert feed(c, 0, "cam-01", "motion", "m", zone="Z01") == []
    assert c.incidents() == []


def test_rule2_motion_joins_as_the_camera_modality_and_confirms() -> None:
    c = engine()
    feed(c, 0, "fence-01", "alarm", "f")
    out = feed(c, 3, "cam-01", "motion", "m", zone="Z02")
    assert of(out, IncidentJoined)
    assert of(out, IncidentConfirmed)
    [inc] = c.incidents()
    assert inc.modalities == (Modality.CAMERA, Modality.FENCE)
    assert inc.zones == ("Z01", "Z02")


def test_rule2_motion_outside_any_active_neighbourhood_is_ignored() -> None:
    c = engine()
    feed(c, 0, "fence-01", "alarm", "f")
    out = feed(c, 40, "cam-01", "motion", "m", zone="Z01")
    assert not of(out, IncidentJoined) and not of(out, IncidentOpened)
    assert c.incidents()[0].modalities == (Modality.FENCE,)


# -- rule 3: confirmation, zones and sensors --------------------------------------------


def test_rule3_two_modalities_confirm_one_does_not() -> None:
    c = engine()
    feed(c, 0, "ir-01", "alarm", "a")
    assert not of(feed(c, 1, "ir-02", "alarm", "b"), IncidentConfirmed), "same modality"
    out = feed(c, 2.5, "fence-01", "alarm", "c")
    [confirmed] = of(out, IncidentConfirmed)
    assert isinstance(confirmed, IncidentConfirmed)
    assert confirmed.incident.confirmed_t == 2.5
    assert c.zone_states()["Z01"] is ZoneState.CONFIRMED
    assert c.zone_states()["Z02"] is ZoneState.CONFIRMED
    assert not of(feed(c, 3, "cam-01", "person", "d", zone="Z01"), IncidentConfirmed), "once"
    [inc] = c.incidents()
    assert inc.devices == ("cam-01", "fence-01", "ir-01", "ir-02")
    assert inc.confirmed_t == 2.5


# -- rule 4: priority ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("z1", "z2", "unconfirmed", "confirmed"),
    [(3, 4, 4, 5), (1, 2, 2, 3), (5, 5, 5, 5), (2, 1, 2, 3)],
)
def test_rule4_priority_is_highest_criticality_plus_one_when_confirmed_capped_at_5(
    z1: int, z2: int, unconfirmed: int, confirmed: int
) -> None:
    c = engine(criticality={"Z01": z1, "Z02": z2})
    feed(c, 0, "ir-01", "alarm", "a")
    assert c.incidents()[0].priority == z1
    feed(c, 1, "ir-02", "alarm", "b")
    assert c.incidents()[0].priority == unconfirmed
    feed(c, 2, "fence-02", "alarm", "c")
    assert c.incidents()[0].priority == confirmed


# -- rule 5: floodlights ----------------------------------------------------------------


def test_rule5_floodlights_of_the_zone_are_commanded_on_open_and_on_each_new_zone() -> None:
    c = engine()
    out = feed(c, 0, "ir-01", "alarm", "a")
    assert [(x.floodlight, x.incident_id) for x in of(out, FloodlightCommanded)] == [
        ("fl-01", "INC-000001"),
        ("fl-01b", "INC-000001"),
    ]
    assert of(feed(c, 1, "ir-01", "alarm", "b"), FloodlightCommanded) == [], "zone not new"
    out = feed(c, 2, "ir-02", "alarm", "c")
    assert [x.floodlight for x in of(out, FloodlightCommanded)] == ["fl-02"]


def test_rule5_a_floodlight_reported_on_is_not_commanded() -> None:
    c = engine()
    feed(c, 0, "fl-01", "state", "s1", data={"on": True})
    feed(c, 0, "fl-01b", "state", "s2", data={"on": False})
    out = feed(c, 1, "ir-01", "alarm", "a")
    assert [x.floodlight for x in of(out, FloodlightCommanded)] == ["fl-01b"]


def test_rule5_each_incident_commands_for_itself() -> None:
    c = engine()
    feed(c, 0, "ir-01", "alarm", "a")
    c.resolve("INC-000001", 1, "op", Outcome.FALSE_ALARM, "")
    out = feed(c, 2, "ir-01", "alarm", "b")
    assert len(of(out, FloodlightCommanded)) == 2


# -- rule 6: faults and heartbeats -------------------------------------------------------


def faults(changes: list[Change]) -> list[tuple[str, str, float, float | None]]:
    return [
        (x.fault.device, x.fault.fault, x.fault.t, x.fault.cleared_t)
        for x in changes
        if isinstance(x, FaultRaised | FaultCleared)
    ]


def test_rule6_a_reported_fault_is_raised_once_while_open() -> None:
    c = engine()
    assert faults(feed(c, 1, "ir-02", "tamper", "t1")) == [("ir-02", "tamper", 1, None)]
    assert faults(feed(c, 2, "ir-02", "tamper", "t2")) == []
    assert faults(feed(c, 3, "ir-02", "fault", "f1")) == [("ir-02", "fault", 3, None)]
    assert c.zone_states()["Z02"] is ZoneState.DEGRADED
    assert faults(feed(c, 4, "ir-02", "clear", "c")) == [
        ("ir-02", "tamper", 1, 4),
        ("ir-02", "fault", 3, 4),
    ]
    assert c.zone_states()["Z02"] is ZoneState.SECURE
    assert faults(feed(c, 5, "ir-02", "tamper", "t3")) == [("ir-02", "tamper", 5, None)]


def test_rule6_video_loss_and_camera_tamper_end_with_video_restored() -> None:
    c = engine()
    feed(c, 1, "cam-01", "video_loss", "v")
    feed(c, 2, "cam-01", "tamper", "t")
    assert c.zone_states()["Z01"] is ZoneState.DEGRADED
    assert c.zone_states()["Z02"] is ZoneState.DEGRADED, "a camera degrades every zone it watches"
    assert faults(feed(c, 3, "cam-01", "video_restored", "r")) == [
        ("cam-01", "video_loss", 1, 3),
        ("cam-01", "tamper", 2, 3),
    ]


def test_rule6_heartbeat_lost_at_the_instant_silence_reaches_the_limit() -> None:
    c = engine()  # ir-01: 10 s x 3 misses; cam-01: 5 s x 3 misses
    assert c.advance(14.9) == []
    assert faults(c.advance(15)) == [("cam-01", "heartbeat_lost", 15, None)]
    feed(c, 20, "ir-01", "heartbeat", "h1")
    assert faults(c.advance(49.99)) == []
    assert faults(c.advance(1000)) == [("ir-01", "heartbeat_lost", 50, None)], "raised once"
    assert faults(feed(c, 1001, "ir-01", "heartbeat", "h2")) == [
        ("ir-01", "heartbeat_lost", 50, 1001)
    ]
    assert faults(c.advance(1031)) == [("ir-01", "heartbeat_lost", 1031, None)]


def test_rule6_any_accepted_message_is_heard_but_a_duplicate_is_not() -> None:
    c = engine()
    i = step(c)
    receive(i, 10, "ir-01", "clear", "x")
    assert receive(i, 35, "ir-01", "clear", "x").verdict is Verdict.DUPLICATE
    assert faults(c.advance(40)) == [("ir-01", "heartbeat_lost", 40, None)]


def test_time_passes_even_when_the_message_is_a_duplicate() -> None:
    c = engine()
    i = step(c)
    receive(i, 10, "ir-01", "clear", "x")
    done = receive(i, 45, "ir-01", "clear", "x")
    assert done.verdict is Verdict.DUPLICATE
    assert faults(done.changes) == [
        ("cam-01", "heartbeat_lost", 15, None),
        ("ir-01", "heartbeat_lost", 40, None),
    ]


def test_rule6_a_fault_raised_by_silence_degrades_the_zone() -> None:
    c = engine()
    c.advance(30)
    assert c.zone_states()["Z01"] is ZoneState.DEGRADED
    feed(c, 31, "ir-01", "heartbeat", "h")
    feed(c, 31, "cam-01", "heartbeat", "h")
    assert c.zone_states()["Z01"] is ZoneState.SECURE


def test_rule6_ties_are_raised_in_site_order() -> None:
    data_site = strip_site()
    c = Correlator(data_site, start=0.0)
    c.ingest(event("ir-01", "heartbeat", "a"), 0)
    c.ingest(event("cam-01", "heartbeat", "b"), 15)
    assert [f[0] for f in faults(c.advance(30))] == ["ir-01", "cam-01"]


# -- rule 7 and the operator -------------------------------------------------------------


def test_rule7_clear_ends_the_sensor_condition_but_not_the_incident() -> None:
    c = engine()
    feed(c, 0, "ir-01", "alarm", "a")
    assert c.in_alarm("ir-01")
    feed(c, 1, "ir-01", "clear", "b")
    assert not c.in_alarm("ir-01")
    assert [i.state for i in c.incidents()] == [IncidentState.OPEN]
    assert c.zone_states()["Z01"] is ZoneState.ALARM


def test_only_an_operator_closes_an_incident_through_legal_transitions() -> None:
    c = engine()
    feed(c, 0, "ir-01", "alarm", "a")
    c.acknowledge("INC-000001", 5, "alice", "patrol sent")
    with pytest.raises(IllegalTransition):
        c.acknowledge("INC-000001", 6, "alice", "again")
    [view] = c.incidents()
    assert view.state is IncidentState.ACKNOWLEDGED
    out = c.resolve("INC-000001", 7, "alice", Outcome.INTRUSION, "caught")
    assert c.zone_states()["Z01"] is ZoneState.SECURE
    assert out
    with pytest.raises(UnknownIncident):
        c.resolve("INC-000001", 8, "alice", Outcome.TEST, "")


def test_heartbeat_lost_on_a_device_with_no_heartbeat_never_happens() -> None:
    c = engine()
    assert all(
        f.device in ("ir-01", "cam-01")
        for f in [x.fault for x in c.advance(10**6) if isinstance(x, FaultRaised)]
    )
    assert {f.device for f in c.open_faults()} == {"ir-01", "cam-01"}
    assert FaultType.HEARTBEAT_LOST in {f.fault for f in c.open_faults()}


def test_rule6_after_a_restart_silence_counts_from_the_restart() -> None:
    """A device last heard long before an outage gets no fault dated inside the outage."""
    site = strip_site()
    before = Correlator(site, start=0.0)
    feed(before, 100, "ir-01", "heartbeat", "h1")
    state = EngineState(last_heard={"ir-01": 100.0, "cam-01": 100.0})
    c = Correlator(site, start=5000.0, state=state)  # restarted after a long outage
    assert faults(c.advance(5014.9)) == []
    assert faults(c.advance(5030)) == [
        ("cam-01", "heartbeat_lost", 5015, None),
        ("ir-01", "heartbeat_lost", 5030, None),
    ]
