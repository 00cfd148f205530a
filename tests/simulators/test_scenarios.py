"""Each shipped scenario, run through the replay path, shows what a control room should see."""

from __future__ import annotations

import json
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from simulators.scenario import demo_site_path, generate, load_scenario, scenario_names
from vigie.site_file import load_site


@cache
def report(name: str, tmp: str) -> dict[str, Any]:
    """Generate the scenario, write it as a recording, and replay it with the real command."""
    site = load_site(demo_site_path())
    recording = Path(tmp) / f"{name}.jsonl"
    recording.write_text(
        "".join(
            json.dumps({"t": m.t, "topic": m.topic, "payload": m.payload}) + "\n"
            for m in generate(load_scenario(name), site)
        )
    )
    out = Path(tmp) / f"{name}.json"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "vigie.cli",
            "--log-level",
            "ERROR",
            "replay",
            str(recording),
            "--site",
            str(demo_site_path()),
            "--report",
            str(out),
        ],
        check=True,
    )
    result: dict[str, Any] = json.loads(out.read_text())
    return result


@pytest.fixture(scope="module")
def tmp(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(tmp_path_factory.mktemp("scenarios"))


def states(r: dict[str, Any]) -> dict[str, str]:
    return {z: v["state"] for z, v in r["zone_states"].items() if v["state"] != "secure"}


def test_at_least_eight_scenarios_ship_with_the_package() -> None:
    assert len(scenario_names()) >= 8


def test_a_climb_is_one_confirmed_incident_that_follows_the_intruder(tmp: str) -> None:
    r = report("climb-and-walk", tmp)
    [incident] = r["incidents"]
    assert incident["zones"] == ["Z02", "Z03", "Z04"]
    assert incident["confirmed"] and incident["modalities"] == ["camera", "fence", "ir"]
    assert incident["priority"] == 5
    assert [c["topic"].split("/")[-2] for c in r["commands"]] == ["fl-02"]


def test_a_wind_storm_opens_unconfirmed_incidents_only(tmp: str) -> None:
    r = report("wind-storm", tmp)
    assert r["incidents"], "the gusts do alarm the fence"
    assert all(not i["confirmed"] and i["modalities"] == ["fence"] for i in r["incidents"])
    assert set(states(r).values()) == {"alarm"}


def test_an_animal_in_an_ir_zone_is_never_an_intrusion(tmp: str) -> None:
    r = report("fox-in-the-sidings", tmp)
    assert r["incidents"]
    assert all(i["modalities"] == ["ir"] and not i["confirmed"] for i in r["incidents"])
    assert all(i["zones"] == ["Z05"] for i in r["incidents"])


def test_a_tampered_detector_degrades_its_zone(tmp: str) -> None:
    r = report("tampered-detector", tmp)
    assert r["incidents"] == []
    assert [(f["sensor"], f["fault"], f["cleared_t"] is None) for f in r["faults"]] == [
        ("ir-08", "tamper", True),
        ("fence-08", "fault", False),
    ]
    assert states(r) == {"Z08": "degraded"}


def test_a_silent_detector_is_lost_after_three_heartbeats(tmp: str) -> None:
    r = report("silent-detector", tmp)
    [fault] = r["faults"]
    assert (fault["sensor"], fault["fault"], fault["cleared_t"]) == (
        "ir-11",
        "heartbeat_lost",
        None,
    )
    assert 20 + 60 <= fault["t"] <= 20 + 90, "three missed 30 s heartbeats after falling silent"
    assert states(r) == {"Z11": "degraded"}


def test_a_blinded_camera_does_not_stop_fence_and_ir_confirming(tmp: str) -> None:
    r = report("camera-blinded-then-breach", tmp)
    [incident] = r["incidents"]
    assert incident["confirmed"] and "camera" not in incident["modalities"]
    assert incident["zones"][0] == "Z06"
    assert [(f["sensor"], f["fault"]) for f in r["faults"]] == [("cam-02", "video_loss")]


def test_a_failed_lamp_is_a_fault_and_still_commanded_on(tmp: str) -> None:
    r = report("lamp-failure-at-night", tmp)
    assert [(f["sensor"], f["fault"]) for f in r["faults"]] == [("fl-04", "fault")]
    [incident] = r["incidents"]
    assert incident["zones"] == ["Z07"] and incident["confirmed"]
    assert [c["topic"].split("/")[-2] for c in r["commands"]] == ["fl-04"]


def test_a_coordinated_breach_is_two_incidents(tmp: str) -> None:
    r = report("coordinated-breach", tmp)
    assert sorted(i["zones"][0] for i in r["incidents"]) == ["Z02", "Z10"]
    assert len(r["incidents"]) == 2
    assert all(i["confirmed"] for i in r["incidents"])


def test_a_running_intruder_at_the_gate_is_priority_5(tmp: str) -> None:
    r = report("running-cut-at-gate", tmp)
    [incident] = r["incidents"]
    assert incident["zones"][0] == "Z07" and incident["priority"] == 5
    assert incident["confirmed_t"] - incident["opened_t"] < 5


def test_generation_is_seeded(tmp: str) -> None:
    site = load_site(demo_site_path())
    scenario = load_scenario("wind-storm")
    assert generate(scenario, site) == generate(scenario, site)


def test_a_credible_warning_raises_the_intrusion_that_follows(tmp: str) -> None:
    r = report("warning-then-intrusion", tmp)
    [warning] = r["intel"]
    assert warning["id"] == "jiu-folkestone/INT-0042" and warning["credible"]
    assert warning["zones"] == ["Z06", "Z07"]
    assert (warning["active_from_t"], warning["active_until_t"]) == (5.0, 85.0)
    first = r["incidents"][0]
    assert first["zones"][0] == "Z06" and first["intel"] == ["jiu-folkestone/INT-0042"]
    assert first["priority"] == 5, "criticality 4, raised by the linked warning"
    assert first["opened_t"] > warning["active_from_t"]


def test_a_rumour_is_shown_and_changes_nothing(tmp: str) -> None:
    r = report("rumour-changes-nothing", tmp)
    [rumour] = r["intel"]
    assert rumour["id"] == "fr-dzpaf/TIP-0007" and not rumour["credible"]
    assert r["incidents"], "the fox is seen"
    for incident in r["incidents"]:
        assert incident["intel"] == []
        ordinary = 3 + (1 if incident["confirmed"] else 0)  # Z02's criticality, rule 4
        assert incident["priority"] == ordinary, "the rumour raised nothing"
