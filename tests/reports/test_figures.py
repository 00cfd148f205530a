"""Every figure of both reports against the hand-counted November (tests/reports/november.py),
read from SQLite and from PostgreSQL; then empty and running months, and the edges."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from fusion.site import Site, site_from_mapping
from reports.command import inspection, monthly
from reports.detection import DetectionTally
from reports.figures import Availability
from reports.rows import CrossingRow, DetectionRow, FaultRow, PeriodError, layout_of, month_period
from reports.stats import clopper_pearson_lower
from tests.reports import november as nov
from tests.reports.planned_schema import StoreWriter, planned_store


@pytest.fixture
def site() -> Site:
    return site_from_mapping(nov.site_data(), "strip.yaml")


@pytest.fixture
def november(db_url: str) -> str:
    db = planned_store(db_url)
    nov.fill(StoreWriter(db))
    db.close()
    return db_url


def _day(d: int) -> date:
    return date(2026, 11, d)


def _device(report: dict[str, Any], device: str) -> dict[str, Any]:
    found: dict[str, Any] = next(d for d in report["devices"] if d["device"] == device)
    return found


def test_monthly_figures_are_the_hand_counted_ones(november: str, site: Site) -> None:
    f = monthly(november, site, "2026-11", lang="en", now=nov.NOW).figures
    assert f["empty"] is False
    assert f["period"]["from_t"] == nov.nov(1)
    assert f["period"]["to_t"] == nov.at(12, 1)
    assert f["period"]["days"] == 30.0 and f["period"]["complete"] is True
    assert f["incidents"] == nov.MONTHLY_INCIDENTS
    assert f["response"] == nov.MONTHLY_RESPONSE
    intel = dict(f["intel"])
    items = intel.pop("items")
    assert intel == {k: v for k, v in nov.MONTHLY_INTEL.items() if k != "items"}
    assert [
        {k: i[k] for k in ("id", "issued_in_period", "credible", "withdrawn", "incidents_linked")}
        for i in items
    ] == nov.MONTHLY_INTEL["items"]
    assert f["faults"] == nov.FAULTS_IN_MONTH
    assert [d["device"] for d in f["devices"]] == [
        "ir-01", "ir-02", "ir-03", "ir-09", "fence-01", "fence-02", "fl-01", "fl-01b", "fl-02",
        "cam-01",
    ]  # fmt: skip
    for d in f["devices"]:
        down = nov.DOWNTIME_S.get(d["device"], 0.0)
        assert d["downtime_s"] == pytest.approx(down), d["device"]
        assert d["availability"] == pytest.approx(1 - down / nov.MONTH_S), d["device"]
    assert _device(f, "ir-01")["by_fault"] == {"heartbeat_lost": 1, "tamper": 1}
    assert _device(f, "ir-02")["faults"] == 0  # cleared at the instant the month began
    assert _device(f, "cam-01")["zones"] == ["Z01", "Z02"]


def test_inspection_figures_are_the_hand_counted_ones(november: str, site: Site) -> None:
    f = inspection(november, site, _day(1), _day(30), lang="en", now=nov.NOW).figures
    assert f["empty"] is False
    assert f["crossings"] == 33
    assert f["incidents"]["seen"] == 7 and f["incidents"]["test_excluded"] == 3
    assert [(w["id"], w["zone"], w["crossings"], w["detected"]) for w in f["walk_tests"]] == (
        nov.WALK_TESTS
    )
    zones = {z["zone"]: z for z in f["zones"]}
    assert list(zones) == ["Z01", "Z02", "Z03", "Z09"]
    for zone, expected in nov.DETECTION.items():
        rows = {r["modality"]: r for r in zones[zone]["detection"]}
        assert list(rows) == list(expected), zone  # site's modalities, sorted, then any
        for modality, (k, n) in expected.items():
            row = rows[modality]
            assert (row["detected"], row["crossings"]) == (k, n), (zone, modality)
            if n:
                assert row["pod"] == pytest.approx(k / n)
                assert row["pod_lower_95"] == pytest.approx(clopper_pearson_lower(k, n))
            else:
                assert row["pod"] is None and row["pod_lower_95"] is None
    assert round(zones["Z02"]["detection"][-1]["pod_lower_95"], 3) == 0.902
    for zone, modes in nov.BY_MODE.items():
        got = [(m["mode"], m["crossings"], m["detected"]) for m in zones[zone]["by_mode"]]
        assert got == modes, zone
    for zone, (nuisance, false_alarms) in nov.RATES.items():
        z = zones[zone]
        assert z["nuisance"]["count"] == nuisance
        assert z["nuisance"]["per_30d"] == pytest.approx(nuisance)  # a 30-day month
        assert z["nuisance"]["limit_per_30d"] == pytest.approx(30 / 7)
        assert z["false_alarm"]["count"] == false_alarms
        assert z["false_alarm"]["per_30d"] == pytest.approx(false_alarms)
        assert z["false_alarm"]["limit_per_30d"] == 1.0
    for zone, (verdict, codes) in nov.VERDICTS.items():
        assert zones[zone]["verdict"] == verdict, zone
        assert [r["code"] for r in zones[zone]["reasons"]] == codes, zone
        assert all(r["text"] for r in zones[zone]["reasons"])
    weak = [r["params"]["modality"] for r in zones["Z01"]["reasons"][1:]]
    assert weak == ["camera", "fence", "ir"]
    degraded = zones["Z02"]["reasons"][-1]
    assert degraded["params"]["device"] == "fence-02"
    assert degraded["text"] == "fence-02 available 97.50\u00a0% of the time, below 99.00\u00a0%."


def test_an_empty_month_says_so_and_counts_nothing(db_url: str, site: Site) -> None:
    planned_store(db_url).close()
    f = monthly(db_url, site, "2025-10", lang="en", now=nov.NOW).figures
    assert f["empty"] is True
    # October 2025 in Paris: 31 days and the hour given back when summer time ended
    assert f["period"]["days"] == pytest.approx(31 + 1 / 24)
    assert f["incidents"]["seen"] == 0
    assert f["incidents"]["by_outcome"] == {
        "intrusion": 0, "false_alarm": 0, "nuisance": 0, "unresolved": 0
    }  # fmt: skip
    assert [w["week"] for w in f["incidents"]["by_week"]] == [
        "2025-W40", "2025-W41", "2025-W42", "2025-W43", "2025-W44"
    ]  # fmt: skip
    assert f["response"]["acknowledge"] == {"n": 0, "p50_s": None, "p90_s": None}
    assert f["intel"]["items"] == [] and f["faults"] == 0
    assert all(d["availability"] == 1.0 for d in f["devices"])
    g = inspection(db_url, site, _day(1), _day(30), lang="fr", now=nov.NOW).figures
    assert g["empty"] is True and g["walk_tests"] == [] and g["crossings"] == 0
    assert {z["verdict"] for z in g["zones"]} == {"attention"}
    assert g["zones"][0]["reasons"][0]["text"] == "Aucun franchissement d’essai sur cette période."


def test_a_month_still_running_covers_up_to_now(november: str, site: Site) -> None:
    now = nov.nov(16, 12)
    f = monthly(november, site, "2026-11", lang="en", now=now).figures
    assert f["period"]["until_t"] == now and f["period"]["complete"] is False
    assert f["period"]["days"] == pytest.approx(15.5)
    assert f["incidents"]["seen"] == 4  # i1 i2 i3 i4
    assert [w["week"] for w in f["incidents"]["by_week"]] == [
        "2026-W44", "2026-W45", "2026-W46", "2026-W47"
    ]  # fmt: skip
    fence = _device(f, "fence-02")
    assert fence["faults"] == 1
    assert fence["availability"] == pytest.approx(1 - 43200 / (15.5 * 86400))
    assert _device(f, "cam-01")["faults"] == 0


def test_a_period_that_has_not_begun_is_refused(site: Site) -> None:
    layout = layout_of(site)
    with pytest.raises(PeriodError, match="not begun"):
        month_period("2027-01", layout.tz, nov.NOW)
    with pytest.raises(PeriodError, match="YYYY-MM"):
        month_period("2026-13", layout.tz, nov.NOW)


# -- the pure tallies' edges --------------------------------------------------------


def test_detection_counts_from_the_crossing_to_ten_seconds_after_in_its_zone() -> None:
    tally = DetectionTally()
    crossings = [CrossingRow("w", "Z01", 100.0, "walk"), CrossingRow("w", "Z01", 105.0, "run")]
    detections = [
        DetectionRow(100.0, "ir-01", "ir", "Z01"),  # at the first crossing's instant
        DetectionRow(110.0, "fence-01", "fence", "Z01"),  # edge of the first, inside the 2nd
        DetectionRow(115.5, "cam-01", "camera", "Z01"),  # after both windows
        DetectionRow(106.0, "cam-01", "camera", "Z02"),  # another zone
    ]
    tally.run(crossings, sorted(detections, key=lambda d: d.t))
    z = tally.zones["Z01"]
    assert z.crossings == 2
    assert dict(z.detected) == {"ir": 1, "fence": 2, "any": 2}
    assert tally.per_test == {"w": [2, 2]}


def test_faults_out_of_device_order_are_refused(site: Site) -> None:
    layout = layout_of(site)
    period = month_period("2026-11", layout.tz, nov.NOW)
    a = Availability(layout, period)
    a.add(FaultRow("ir-01", "tamper", nov.nov(2), nov.nov(3)))
    a.add(FaultRow("ir-02", "tamper", nov.nov(2), nov.nov(3)))
    with pytest.raises(ValueError, match="ordered by device"):
        a.add(FaultRow("ir-01", "fault", nov.nov(4), nov.nov(5)))


def test_a_store_from_before_the_planned_schema_reads_as_having_none_of_it(
    db_url: str, site: Site
) -> None:
    from vigie.store.db import Database
    from vigie.store.schema import migrate

    db = Database(db_url)
    migrate(db)
    db.execute(
        "INSERT INTO incidents (id, zones, opened_t, confirmed_t, modalities, devices, priority,"
        " state, last_joined_t, outcome, closed_t) VALUES"
        " ('a', '[\"Z01\"]', ?, NULL, '[]', '[]', 3, 'resolved', ?, 'intrusion', ?)",
        (nov.nov(3), nov.nov(3), nov.nov(3, 1)),
    )
    db.commit()
    db.close()
    f = monthly(db_url, site, "2026-11", lang="en", now=nov.NOW).figures
    assert f["incidents"]["seen"] == 1
    assert f["incidents"]["by_disruption"]["unknown"] == 1
    g = inspection(db_url, site, _day(1), _day(30), lang="en", now=nov.NOW).figures
    assert g["walk_tests"] == [] and g["crossings"] == 0
