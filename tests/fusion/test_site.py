"""Site file validation: a bad file is refused naming the entry and the reason."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from fusion.site import SiteError, site_from_mapping
from tests.builders import strip
from vigie.site_file import parse_site_text


def refused(data: dict[str, Any]) -> SiteError:
    with pytest.raises(SiteError) as info:
        site_from_mapping(data, "site.yaml")
    return info.value


def test_the_contract_example_loads_with_defaults() -> None:
    site = site_from_mapping(strip(), "site.yaml")
    assert site.fusion.window_s == 30
    assert site.mqtt.prefix == "perimeter"
    near = site.neighbourhood()
    assert near["Z02"] == {"Z01", "Z02", "Z03"}, "adjacency is symmetric"
    assert near["Z01"] == {"Z01", "Z02"}
    assert near["Z09"] == {"Z09"}


def test_cameras_capture_five_seconds_before_and_ten_after_unless_told() -> None:
    data = strip()
    camera = site_from_mapping(data).cameras[0]
    assert (camera.pre_capture_s, camera.post_capture_s, camera.live_feed) == (5, 10, None)
    data["cameras"][0].update(pre_capture_s=2.5, post_capture_s=0, live_feed="ws://cam:9000/live")
    camera = site_from_mapping(data).cameras[0]
    assert (camera.pre_capture_s, camera.post_capture_s) == (2.5, 0)
    assert camera.live_feed == "ws://cam:9000/live"


def test_an_adjacency_loop_and_a_self_reference_are_fine() -> None:
    data = strip()
    data["zones"][1]["adjacent"] = ["Z03", "Z02"]
    data["zones"][2]["adjacent"] = ["Z01"]
    near = site_from_mapping(data).neighbourhood()
    assert near["Z01"] == {"Z01", "Z02", "Z03"}


@pytest.mark.parametrize(
    ("mutate", "entry", "words"),
    [
        (lambda d: d["sensors"][1].update(kind="radar"), "sensors[1].kind", "radar"),
        (lambda d: d["sensors"][2].update(zone="Z77"), "sensors[2].zone", "unknown zone 'Z77'"),
        (lambda d: d["zones"][0].update(adjacent=["Z02", "Z42"]), "zones[0].adjacent[1]", "Z42"),
        (lambda d: d["zones"][2].update(id="Z01"), "zones[2].id", "duplicate zone id"),
        (lambda d: d["cameras"][0].update(id="ir-02"), "cameras[0].id", "duplicate id 'ir-02'"),
        (lambda d: d["sensors"][3].update(id="ir-01"), "sensors[3].id", "duplicate id"),
        (lambda d: d["zones"][1].update(polygon=[[0, 0], [1, 1]]), "zones[1].polygon", "3 points"),
        (
            lambda d: d["zones"][1].update(polygon=[[0, 0], [1, 1], [2, 2]]),
            "zones[1].polygon",
            "no area",
        ),
        (
            lambda d: d["zones"][1].update(polygon=[[0, 0], [10, 0], [0, 10], [20, 10]]),
            "zones[1].polygon",
            "cross",
        ),
        (
            lambda d: d["zones"][1].update(polygon=[[0, 0], [1, 0, 5], [1, 1]]),
            "zones[1].polygon[1]",
            "at most 2",
        ),
        (
            lambda d: d["cameras"][0]["zones"].update(Z03=[[0, 0], [2, 0], [1, 1]]),
            "cameras[0].zones.Z03",
            "between 0 and 1",
        ),
        (
            lambda d: d["cameras"][0]["zones"].update(Z55=[[0, 0], [1, 0], [1, 1]]),
            "cameras[0].zones.Z55",
            "unknown zone",
        ),
        (lambda d: d["zones"][0].update(criticality=6), "zones[0].criticality", "less than or"),
        (lambda d: d["sensors"][0].update(heartbeat_s=-1), "sensors[0].heartbeat_s", "greater"),
        (lambda d: d.update(site="Coquelles Nord"), "site", "pattern"),
        (lambda d: d.update(timezone="Mars/Olympus"), "timezone", "unknown time zone"),
        (lambda d: d["zones"][0].update(colour="red"), "zones[0].colour", "unknown field"),
        (lambda d: d["sensors"][0].update(id="ir/01"), "sensors[0].id", "pattern"),
        (lambda d: d.update(mqtt={"prefix": "a//b"}), "mqtt", "empty topic level"),
        (lambda d: d.update(zones=[]), "zones", "at least 1"),
        (lambda d: d["cameras"][0].update(pre_capture_s=-1), "cameras[0].pre_capture_s", "greater"),
        (lambda d: d["cameras"][0].update(pre_capture_s=61), "cameras[0].pre_capture_s", "less"),
        (lambda d: d["cameras"][0].update(post_capture_s="ten"), "cameras[0].post_capture_s", ""),
        (lambda d: d["cameras"][0].update(live_feed="cam:9000"), "cameras[0].live_feed", "pattern"),
    ],
)
def test_a_bad_entry_is_named_with_the_reason(mutate: Any, entry: str, words: str) -> None:
    data = copy.deepcopy(strip())
    mutate(data)
    error = refused(data)
    assert any(e == entry and words in r for e, r in error.problems), error.details()
    assert str(error).startswith("site.yaml: ")


def test_every_problem_is_reported_not_just_the_first() -> None:
    data = strip()
    data["sensors"][0]["zone"] = "Z77"
    data["zones"][0]["adjacent"] = ["Z88"]
    error = refused(data)
    assert {e for e, _ in error.problems} == {"sensors[0].zone", "zones[0].adjacent[0]"}
    assert "and 1 more" in str(error)


def test_yaml_errors_and_repeated_keys_name_the_line() -> None:
    with pytest.raises(SiteError, match=r"x\.yaml: line 2, column \d+: .*twice"):
        parse_site_text("site: a\nsite: b\nzones: []\n", "x.yaml")
    with pytest.raises(SiteError, match=r"x\.yaml: line .*not valid YAML"):
        parse_site_text("site: [unclosed\n", "x.yaml")
    with pytest.raises(SiteError, match="must be a YAML mapping"):
        parse_site_text("- just\n- a list\n", "x.yaml")
