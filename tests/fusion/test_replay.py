"""Replay: the report of docs/protocol.md §6, determinism, and the invariants."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fusion.replay import Replay
from fusion.site import Site, site_from_mapping
from tests.builders import line, msg, strip_site
from tests.fusion.reference import reference_report

CONTRACT_KEYS = ("incidents", "faults", "commands", "messages", "rejected", "duplicates")


def run(site: Site, lines: list[bytes]) -> dict[str, Any]:
    replay = Replay(site)
    for n, raw in enumerate(lines, start=1):
        replay.feed(raw, n)
    return replay.finish()


def test_the_report_has_the_contract_shape() -> None:
    report = run(
        strip_site(),
        [
            msg(12.5, "fence-01", "alarm", "f1", data={"mode": "climb"}),
            msg(15, "cam-01", "person", "c1", zone="Z01", data={"score": 0.9}),
            msg(15, "cam-01", "person", "c1", zone="Z01", data={"score": 0.9}),  # a repeat
            line(16, "perimeter/coquelles/ir/ir-01", "not json"),
        ],
    )
    assert report["incidents"] == [
        {
            "id": "INC-000001",
            "zones": ["Z01"],
            "opened_t": 12.5,
            "confirmed": True,
            "confirmed_t": 15.0,
            "modalities": ["camera", "fence"],
            "sensors": ["cam-01", "fence-01"],
            "priority": 4,
            "state": "open",
            "intel": [],
        }
    ]
    assert report["commands"] == [
        {
            "t": 12.5,
            "topic": "perimeter/coquelles/floodlight/fl-01/set",
            "payload": {"on": True, "reason": "INC-000001"},
        },
        {
            "t": 12.5,
            "topic": "perimeter/coquelles/floodlight/fl-01b/set",
            "payload": {"on": True, "reason": "INC-000001"},
        },
    ]
    assert report["faults"] == [
        {"sensor": "cam-01", "fault": "heartbeat_lost", "t": 15.0, "cleared_t": 15.0}
    ]
    assert (report["messages"], report["rejected"], report["duplicates"]) == (4, 1, 1)


def test_the_replay_ends_at_the_last_line() -> None:
    heard = msg(1, "cam-01", "heartbeat", "h")
    report = run(strip_site(), [heard, msg(29.5, "ir-09", "clear", "c")])
    assert [(f["sensor"], f["t"]) for f in report["faults"]] == [("cam-01", 16.0)]
    report = run(strip_site(), [heard, msg(30, "ir-09", "clear", "c")])
    assert [(f["sensor"], f["t"]) for f in report["faults"]] == [("cam-01", 16.0), ("ir-01", 30.0)]


def test_a_bad_recording_line_is_counted_and_skipped() -> None:
    report = run(
        strip_site(),
        [
            b"{not json\n",
            b'{"t": -1, "topic": "x", "payload": {}}\n',
            b'{"t": 1, "topic": "x"}\n',
            b"[1, 2]\n",
            b"\n",
            msg(2, "ir-02", "alarm", "a"),
        ],
    )
    assert (report["messages"], report["rejected"]) == (5, 4)
    assert [b["line"] for b in report["bad_lines"]] == [1, 2, 3, 4]
    assert len(report["incidents"]) == 1


def test_a_string_payload_is_sent_as_is() -> None:
    raw = json.dumps({"id": "s", "event": "alarm"})
    report = run(strip_site(), [line(1, "perimeter/coquelles/ir/ir-02", raw)])
    assert len(report["incidents"]) == 1, "a string that holds JSON is JSON on the wire"


def test_time_never_runs_backwards() -> None:
    report = run(strip_site(), [msg(10, "ir-02", "alarm", "a"), msg(5, "fence-02", "alarm", "b")])
    assert report["incidents"][0]["confirmed_t"] == 10.0


# -- random sites and recordings ---------------------------------------------------------

KINDS = ("ir", "fence", "floodlight")
EVENTS = {
    "ir": ["alarm", "alarm", "clear", "tamper", "fault", "heartbeat", "heartbeat", "person"],
    "fence": ["alarm", "alarm", "clear", "tamper", "fault", "heartbeat"],
    "floodlight": ["state", "state", "clear", "fault", "heartbeat", "tamper"],
    "camera": [
        "motion",
        "motion",
        "person",
        "person",
        "video_loss",
        "video_restored",
        "tamper",
        "heartbeat",
        "clear",
    ],
}


@st.composite
def sites(draw: st.DrawFn) -> dict[str, Any]:
    n = draw(st.integers(1, 6))
    ids = [f"Z{i}" for i in range(n)]
    zones = [
        {
            "id": z,
            "polygon": [[i * 10, 0], [i * 10 + 10, 0], [i * 10 + 10, 5], [i * 10, 5]],
            "adjacent": draw(st.lists(st.sampled_from(ids), max_size=3)),
            "criticality": draw(st.integers(1, 5)),
        }
        for i, z in enumerate(ids)
    ]
    sensors = [
        {
            "id": f"s{i}",
            "kind": draw(st.sampled_from(KINDS)),
            "zone": draw(st.sampled_from(ids)),
            "heartbeat_s": draw(st.sampled_from([0, 0, 2, 5, 7.5])),
        }
        for i in range(draw(st.integers(1, 8)))
    ]
    cameras = [
        {
            "id": f"c{i}",
            "url": f"rtsp://127.0.0.1/c{i}",
            "heartbeat_s": draw(st.sampled_from([0, 3])),
            "zones": {
                z: [[0, 0], [1, 0], [1, 1]]
                for z in draw(st.lists(st.sampled_from(ids), unique=True, max_size=3))
            },
        }
        for i in range(draw(st.integers(0, 2)))
    ]
    return {
        "site": draw(st.sampled_from(["coquelles", "calais-port", "s1"])),
        "zones": zones,
        "sensors": sensors,
        "cameras": cameras,
        "fusion": {
            "window_s": draw(st.sampled_from([0, 5, 10, 30])),
            "heartbeat_misses": draw(st.integers(1, 3)),
        },
        "mqtt": {"prefix": draw(st.sampled_from(["perimeter", "a/b", "vigie"]))},
        "intel_sources": [{"id": "jiu"}, {"id": "paf"}],
    }


@st.composite
def recordings(draw: st.DrawFn, site: dict[str, Any]) -> list[tuple[float, str, Any]]:
    root = f"{site['mqtt']['prefix']}/{site['site']}"
    devices = [(s["kind"], s["id"]) for s in site["sensors"]]
    devices += [("camera", c["id"]) for c in site["cameras"]]
    zone_ids = [z["id"] for z in site["zones"]]
    t = 0.0
    out: list[tuple[float, str, Any]] = []
    payloads: list[tuple[str, Any]] = []
    for _ in range(draw(st.integers(0, 60))):
        t += draw(st.sampled_from([0, 0, 0.5, 1, 2, 3, 6, 11, 25]))
        choice = draw(st.integers(0, 19))
        if choice == 0 and payloads:
            topic, payload = draw(st.sampled_from(payloads))  # a repeated message
        elif choice == 3 and payloads:  # a device restarted: an old id, other content
            topic, old = draw(st.sampled_from(payloads))
            payload = {**old, "event": draw(st.sampled_from(EVENTS[topic.split("/")[-2]]))}
            payload.pop("data", None)
            if payload["event"] == "state":
                payload["data"] = {"on": draw(st.booleans())}
        elif choice == 1:
            topic, payload = f"{root}/ir/nobody", {"id": "x", "event": "alarm"}
        elif choice == 2:
            topic, payload = draw(st.sampled_from(devices))[1], "garbage {"
            topic = f"{root}/camera/{topic}"
        elif choice in (4, 5, 6, 7):
            topic, payload = draw(intel_messages(root, zone_ids))
        else:
            kind, dev = draw(st.sampled_from(devices))
            topic = f"{root}/{kind}/{dev}"
            payload = {
                "id": f"m{draw(st.integers(0, 40))}",
                "event": draw(st.sampled_from(EVENTS[kind])),
            }
            zone = draw(st.sampled_from([None, None, None, "Z99", *zone_ids]))
            if zone is not None:
                payload["zone"] = zone
            if payload["event"] == "state":
                payload["data"] = {"on": draw(st.booleans())}
            if draw(st.integers(0, 9)) == 0:
                payload["ts"] = draw(st.sampled_from(["2026-11-26T21:04:05Z", "nope", 1795727045]))
            payloads.append((topic, payload))
        out.append((t, topic, payload))
    return out


BASE = 1_795_813_200  # 2026-11-27T21:00:00Z


def instant(draw: st.DrawFn, t: float) -> Any:
    """``t`` as a feed may write it: epoch seconds, or ISO-8601 in UTC or at +01:00."""
    form = draw(st.sampled_from(["epoch", "utc", "paris"]))
    if form == "epoch":
        return t
    tz = UTC if form == "utc" else timezone(timedelta(hours=1))
    return datetime.fromtimestamp(t, tz).isoformat()


@st.composite
def intel_messages(draw: st.DrawFn, root: str, zones: list[str]) -> tuple[str, Any]:
    """Items from feeds whose clocks are skewed (ts and window shifted alike),
    overlapping windows, withdrawals, replacements, low grades, several zones, and now
    and then something malformed."""
    source = draw(st.sampled_from(["jiu", "paf", "nobody"]))
    ref = f"INT-{draw(st.integers(0, 3))}"
    skew = draw(st.sampled_from([0, 0, 30.25, 3600, -7200]))
    body: dict[str, Any] = {
        "id": f"i{draw(st.integers(0, 30))}",
        "ts": instant(draw, BASE + skew),
    }
    if draw(st.integers(0, 4)) == 0:
        body.update(event="withdraw", data={"ref": ref})
    else:
        start = draw(st.sampled_from([-60, -5, -5, 0, 0, 3, 10, 40]))
        length = draw(st.sampled_from([-1, 5, 20, 90, 90, 600]))
        body.update(
            event="issue",
            data={
                "ref": ref,
                "title": "group near the fence",
                "zones": draw(
                    st.lists(st.sampled_from([*zones, *zones, "Z99"]), min_size=1, max_size=3)
                ),
                "valid_from": instant(draw, BASE + skew + start),
                "valid_until": instant(draw, BASE + skew + start + length),
                "source_grade": draw(st.sampled_from(["1", "2", "2", "3", 2, "9"])),
                "information_grade": draw(st.sampled_from(["A", "B", "C", "D", "E"])),
                "handling": draw(st.sampled_from(["P", "P", "C"])),
            },
        )
        if draw(st.booleans()):
            body["data"]["conditions"] = "police desks only"
        if draw(st.integers(0, 9)) == 0:
            del body["ts"]
    return f"{root}/intel/{source}", body


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[dict[str, Any], list[tuple[float, str, Any]]]:
    site = draw(sites())
    return site, draw(recordings(site))


def as_lines(rec: list[tuple[float, str, Any]]) -> list[bytes]:
    return [line(t, topic, payload) for t, topic, payload in rec]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_the_engine_agrees_with_the_reference_reading(
    scenario: tuple[dict[str, Any], list[tuple[float, str, Any]]],
) -> None:
    data, rec = scenario
    site = site_from_mapping(data)
    report = run(site, as_lines(rec))
    expected = reference_report(site, rec)
    for key in (*CONTRACT_KEYS, "id_reuses", "intel"):
        assert report[key] == expected[key], key


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_invariants_and_determinism(
    scenario: tuple[dict[str, Any], list[tuple[float, str, Any]]],
) -> None:
    data, rec = scenario
    site = site_from_mapping(data)
    crit = {z.id: z.criticality for z in site.zones}
    lines = as_lines(rec)
    report = run(site, lines)
    assert json.dumps(report) == json.dumps(run(site, lines)), "same input, same report"
    accepted = report["messages"] - report["rejected"] - report["duplicates"]
    assert accepted >= 0
    for inc in report["incidents"]:
        assert inc["confirmed"] == (len(inc["modalities"]) >= 2)
        bonus = (1 if inc["confirmed"] else 0) + (1 if inc["intel"] else 0)  # §3 rule 4, §9
        assert inc["priority"] == min(5, max(crit[z] for z in inc["zones"]) + bonus)
        assert len(set(inc["zones"])) == len(inc["zones"])
        assert inc["modalities"] == sorted(inc["modalities"])
    raised = [f["t"] for f in report["faults"]]
    assert raised == sorted(raised), "faults in the order raised"
    for f in report["faults"]:
        assert f["cleared_t"] is None or f["cleared_t"] >= f["t"]
