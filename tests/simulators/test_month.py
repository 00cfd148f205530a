"""`vigie simulate month`: a month played through the real processing step and store
reads, in both reports, as a plausible month; the same seed gives the same month."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from fusion.correlator import Correlator
from fusion.site import Site, site_from_mapping
from reports.command import inspection, monthly
from reports.rows import parse_day
from simulators.month import MonthRefused, simulate_month
from vigie.cli import main
from vigie.store import Store

NOW = 1_800_000_000.0  # 2027-01-15: October 2026 is over
MONTH = "2026-10"


def small_site() -> dict[str, Any]:
    """Four zones in a loop, an IR detector and a fence sensor each, a camera on two of
    them, one floodlight, an intelligence feed; heartbeats every ten minutes, so that a
    month is some forty thousand messages."""
    zones = [
        {
            "id": f"Z{n}",
            "name": f"Zone {n}",
            "polygon": [[n * 10, 0], [n * 10 + 10, 0], [n * 10 + 10, 5], [n * 10, 5]],
            "adjacent": [f"Z{n % 4 + 1}"],
            "criticality": 2 + n % 3,
        }
        for n in range(1, 5)
    ]
    sensors = [
        {"id": f"{kind}-0{n}", "kind": kind, "zone": f"Z{n}", "heartbeat_s": 600}
        for n in range(1, 5)
        for kind in ("ir", "fence")
    ]
    sensors.append({"id": "fl-01", "kind": "floodlight", "zone": "Z1"})
    square = [[0, 0], [1, 0], [1, 1], [0, 1]]
    return {
        "site": "coquelles",
        "name": "Small yard",
        "timezone": "Europe/Paris",
        "zones": zones,
        "sensors": sensors,
        "cameras": [
            {
                "id": "cam-01",
                "url": "rtsp://x/1",
                "heartbeat_s": 1200,
                "zones": {"Z1": square, "Z2": square},
            }
        ],
        "intel_sources": [{"id": "jiu", "name": "Joint intelligence unit"}],
    }


@pytest.fixture(scope="module")
def site() -> Site:
    return site_from_mapping(small_site(), "small.yaml")


def simulate(db: str, site: Site, seed: int) -> None:
    store = Store(db)
    try:
        simulate_month(site, store, MONTH, seed=seed, now=NOW, progress=lambda _: None)
    finally:
        store.close()


@pytest.fixture(scope="module")
def october(tmp_path_factory: pytest.TempPathFactory, site: Site) -> str:
    db = str(tmp_path_factory.mktemp("month") / "october.db")
    simulate(db, site, seed=7)
    return db


def test_the_monthly_report_of_a_simulated_month_is_plausible(october: str, site: Site) -> None:
    figures = monthly(october, site, MONTH, lang="en", now=NOW).figures
    incidents = figures["incidents"]
    assert 20 <= incidents["seen"] <= 400
    outcomes = incidents["by_outcome"]
    assert outcomes["intrusion"] >= 3 and outcomes["nuisance"] >= 5 and outcomes["false_alarm"] >= 1
    assert sum(incidents["by_disruption"].values()) == outcomes["intrusion"]
    assert incidents["test_excluded"] >= 30  # the walk tests' incidents, counted apart
    assert 0 < incidents["confirmed"] < incidents["seen"]
    assert sum(w["seen"] for w in incidents["by_week"]) == incidents["seen"]
    night = sum(h["seen"] for h in incidents["by_hour"] if h["hour"] >= 22 or h["hour"] < 6)
    assert night > 0  # intrusions and the fox come at night
    ack = figures["response"]["acknowledge"]
    assert 0 < ack["n"] < incidents["seen"]  # a few are closed without an acknowledgement
    assert 10 < ack["p50_s"] < ack["p90_s"] < 3600
    assert figures["response"]["resolve"]["p50_s"] > ack["p50_s"]
    assert figures["faults"] >= 4
    down = [d for d in figures["devices"] if d["availability"] < 1]
    assert down and all(0.8 < d["availability"] < 1 for d in down)
    intel = figures["intel"]
    assert intel["items_issued"] >= 3 and intel["items_withdrawn"] == 1
    assert intel["incidents_linked_intrusion"] >= 1  # a tip-off came true


def test_the_inspection_of_a_simulated_month_has_walk_tests_with_a_few_misses(
    october: str, site: Site
) -> None:
    figures = inspection(
        october, site, parse_day("2026-10-01", ""), parse_day("2026-10-31", ""), lang="fr", now=NOW
    ).figures
    tested = [z for z in figures["zones"] if z["crossings"]]
    assert len(tested) >= 3 and len(figures["walk_tests"]) == len(tested)
    for zone in tested:
        rows = {r["modality"]: r for r in zone["detection"]}
        assert 0.5 < rows["any"]["pod"] <= 1
        assert any(r["pod"] < 1 for m, r in rows.items() if m != "any")  # a few misses
    assert {z["verdict"] for z in figures["zones"]} & {"pass", "attention", "fail"}

    # What the API shows (detections read back from the messages) agrees, crossing by
    # crossing, with the report.
    store = Store(october)
    try:
        tests = store.walk_tests(span=(figures["period"]["from_t"], figures["period"]["to_t"]))
        restored = store.restore(NOW, site.fusion.dedup_horizon_s)
    finally:
        store.close()
    for zone in tested:
        crossings = [c for t in tests if t.zone == zone["zone"] for c in t.crossings]
        assert len(crossings) == zone["crossings"]
        shown = {r["modality"]: r["detected"] for r in zone["detection"]}
        assert shown["any"] == sum(1 for c in crossings if c.detected)
        for modality in ("ir", "fence", "camera"):
            if modality in shown:
                assert shown[modality] == sum(1 for c in crossings if modality in c.detected)
    Correlator(site, start=NOW, state=restored.state)  # a service could start on it


def test_the_same_seed_gives_the_same_month_and_another_seed_another(
    october: str, site: Site, tmp_path: Path
) -> None:
    again, other = str(tmp_path / "again.db"), str(tmp_path / "other.db")
    simulate(again, site, seed=7)
    simulate(other, site, seed=8)

    def figures(db: str) -> dict[str, Any]:
        out = monthly(db, site, MONTH, lang="en", now=NOW).figures
        return {k: v for k, v in out.items() if k != "generated"}

    assert figures(again) == figures(october)
    assert figures(other)["incidents"] != figures(october)["incidents"]


def test_the_command_refuses_a_month_the_store_already_holds(
    october: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site_path = tmp_path / "small.yaml"
    site_path.write_text(yaml.safe_dump(small_site()))
    args = ["simulate", "month", "--db", october, "--site", str(site_path), "--seed", "7"]
    assert main([*args, "--month", MONTH]) == 2
    assert "already holds data" in capsys.readouterr().err
    assert main([*args, "--month", "2026-13"]) == 2
    assert "YYYY-MM" in capsys.readouterr().err
    store = Store(str(tmp_path / "future.db"))
    try:
        with pytest.raises(MonthRefused, match="has not begun"):
            simulate_month(site_from_mapping(small_site(), "s"), store, "2027-02", seed=1, now=NOW)
    finally:
        store.close()
