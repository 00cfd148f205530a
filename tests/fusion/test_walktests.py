"""Walk tests in the engine (docs/protocol.md §11): zones under test, detections within
10 s of a crossing, settling, expiry, and a restart; outcomes with their disruption."""

from __future__ import annotations

import math

import pytest

from fusion.changes import IncidentOpened, IncidentResolved
from fusion.correlator import Correlator, EngineState
from fusion.events import Modality
from fusion.incidents import Disruption, IllegalDisruption, Outcome
from fusion.walktests import (
    DETECTION_WINDOW_S,
    BadWalkTest,
    CrossingMode,
    UnknownWalkTest,
    WalkTestChange,
    WalkTestChanged,
    WalkTestConflict,
    zone_modalities,
)
from tests.builders import event, strip_site

WALK = CrossingMode.WALK


def test_each_zone_is_watched_by_the_modalities_of_its_devices() -> None:
    site = strip_site()
    assert zone_modalities(site) == {
        "Z01": (Modality.CAMERA, Modality.FENCE, Modality.IR),
        "Z02": (Modality.CAMERA, Modality.FENCE, Modality.IR),
        "Z03": (Modality.IR,),
        "Z09": (Modality.IR,),
    }


def test_incidents_opened_in_a_zone_under_test_are_tests_until_it_closes() -> None:
    c = Correlator(strip_site())
    c.walk_tests.open("Z03", 10, "ines", 0.0)
    first = c.ingest(event("ir-03", "alarm", "a"), 5.0)
    assert next(x for x in first if isinstance(x, IncidentOpened)).incident.test
    elsewhere = c.ingest(event("ir-09", "alarm", "b"), 6.0)
    assert not next(x for x in elsewhere if isinstance(x, IncidentOpened)).incident.test
    c.resolve("INC-000001", 7.0, "alice", Outcome.TEST, "")
    c.walk_tests.close("WT-000001", "ines", 8.0)
    after = c.ingest(event("ir-03", "alarm", "c"), 9.0)
    assert not next(x for x in after if isinstance(x, IncidentOpened)).incident.test


def test_a_test_ends_at_the_end_of_its_minutes() -> None:
    c = Correlator(strip_site())
    c.walk_tests.open("Z03", 1, "ines", 0.0)
    assert c.walk_tests.next_deadline() == 60.0
    assert c.walk_tests.under_test("Z03", 59.9) == "WT-000001"
    expired = c.advance(60.0)
    assert [
        (x.change, x.test.state_at(60.0)) for x in expired if isinstance(x, WalkTestChanged)
    ] == [(WalkTestChange.EXPIRED, "expired")]
    opened = c.ingest(event("ir-03", "alarm", "a"), 60.0)
    assert not next(x for x in opened if isinstance(x, IncidentOpened)).incident.test
    assert c.walk_tests.views() == []  # ended and nothing pending: left to the store
    with pytest.raises(UnknownWalkTest):
        c.walk_tests.cross("WT-000001", WALK, "ines", 61.0)


def test_a_crossing_is_detected_from_its_instant_to_ten_seconds_after_in_its_zone() -> None:
    c = Correlator(strip_site())
    c.walk_tests.open("Z01", 60, "ines", 0.0)
    c.ingest(event("fence-01", "alarm", "before"), 99.0)  # before the crossing: not counted
    c.walk_tests.cross("WT-000001", WALK, "ines", 100.0)
    c.ingest(event("ir-02", "alarm", "other-zone"), 101.0)
    c.ingest(event("cam-01", "motion", "m", zone="Z01"), 102.0)  # motion never detects
    changes = c.ingest(event("cam-01", "person", "p", zone="Z01"), 100.0 + DETECTION_WINDOW_S)
    detections = [x for x in changes if isinstance(x, WalkTestChanged)]
    assert [(d.change, d.crossing.detected if d.crossing else ()) for d in detections] == [
        (WalkTestChange.DETECTION, (Modality.CAMERA,))
    ]
    deadline = c.walk_tests.next_deadline()
    assert deadline == math.nextafter(110.0, math.inf)
    assert c.advance(110.0) == []  # its last instant still counts
    late = c.ingest(event("fence-01", "alarm", "late"), deadline)
    settled = [x for x in late if isinstance(x, WalkTestChanged)]
    assert [x.change for x in settled] == [WalkTestChange.SETTLED]
    assert settled[0].crossing is not None and settled[0].crossing.detected == (Modality.CAMERA,)


def test_one_alarm_detects_every_crossing_of_its_last_ten_seconds_once_per_modality() -> None:
    c = Correlator(strip_site())
    c.walk_tests.open("Z01", 60, "ines", 0.0)
    c.walk_tests.cross("WT-000001", CrossingMode.RUN, "ines", 10.0)
    c.walk_tests.cross("WT-000001", CrossingMode.CRAWL, "ines", 15.0)
    first = c.ingest(event("ir-01", "alarm", "a"), 18.0)
    again = c.ingest(event("ir-01", "alarm", "b"), 19.0)
    assert [x.crossing.number for x in first if isinstance(x, WalkTestChanged) and x.crossing] == [
        1,
        2,
    ]
    assert not [x for x in again if isinstance(x, WalkTestChanged)]


def test_inspectors_requests_that_do_not_fit_are_refused() -> None:
    c = Correlator(strip_site())
    with pytest.raises(BadWalkTest):
        c.walk_tests.open("Z77", 60, "ines", 0.0)
    with pytest.raises(BadWalkTest):
        c.walk_tests.open("Z01", 0, "ines", 0.0)
    c.walk_tests.open("Z01", 60, "ines", 0.0)
    with pytest.raises(WalkTestConflict):
        c.walk_tests.open("Z01", 60, "ada", 1.0)
    with pytest.raises(UnknownWalkTest):
        c.walk_tests.cross("WT-000009", WALK, "ines", 2.0)
    c.walk_tests.cross("WT-000001", WALK, "ines", 2.5)
    c.walk_tests.close("WT-000001", "ines", 3.0)
    with pytest.raises(WalkTestConflict):  # closed, its crossing not yet settled
        c.walk_tests.close("WT-000001", "ines", 4.0)
    c.advance(13.0)
    with pytest.raises(UnknownWalkTest):  # settled: left to the store (the service: 409)
        c.walk_tests.close("WT-000001", "ines", 14.0)


def test_a_restarted_engine_carries_on_with_the_running_test_and_pending_crossings() -> None:
    site = strip_site()
    c = Correlator(site)
    c.walk_tests.open("Z01", 60, "ines", 0.0)
    c.walk_tests.cross("WT-000001", WALK, "ines", 100.0)
    c.ingest(event("ir-01", "alarm", "a"), 103.0)
    state = EngineState(
        walk_tests=tuple(c.walk_tests.views()), next_walk_test=c.walk_tests.next_number
    )
    resumed = Correlator(site, start=105.0, state=state)
    assert resumed.walk_tests.under_test("Z01", 105.0) == "WT-000001"
    changes = resumed.ingest(event("fence-01", "alarm", "b"), 106.0)
    assert next(x for x in changes if isinstance(x, IncidentOpened)).incident.test
    detected = [x for x in changes if isinstance(x, WalkTestChanged)]
    assert detected[0].crossing is not None
    assert detected[0].crossing.detected == (Modality.FENCE, Modality.IR)
    opened = resumed.walk_tests.open("Z03", 5, "ines", 107.0)
    assert opened[0].test.id == "WT-000002"


def test_an_intrusion_carries_its_disruption_and_nothing_else_does() -> None:
    c = Correlator(strip_site())
    c.ingest(event("ir-03", "alarm", "a"), 0.0)
    c.ingest(event("ir-09", "alarm", "b"), 0.0)
    c.ingest(event("ir-01", "alarm", "c"), 0.0)
    with pytest.raises(IllegalDisruption):
        c.resolve("INC-000001", 1.0, "alice", Outcome.NUISANCE, "", disruption=Disruption.ESCAPED)
    resolved = c.resolve("INC-000001", 1.0, "alice", Outcome.INTRUSION, "")
    assert isinstance(resolved[0], IncidentResolved)
    assert resolved[0].disruption is Disruption.UNKNOWN
    told = c.resolve(
        "INC-000002", 2.0, "alice", Outcome.INTRUSION, "", disruption=Disruption.INTERCEPTED
    )
    assert isinstance(told[0], IncidentResolved)
    assert told[0].disruption is Disruption.INTERCEPTED
    other = c.resolve("INC-000003", 3.0, "alice", Outcome.FALSE_ALARM, "")
    assert isinstance(other[0], IncidentResolved)
    assert other[0].disruption is None
