"""Intelligence items, docs/protocol.md §9, rule by rule and reason by reason, through the
one processing step (so live and replay are covered alike)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from fusion.changes import IntelUpdated, ZoneWatchChanged
from fusion.correlator import Correlator
from fusion.events import RejectReason
from fusion.intake import Intake, Processed, Verdict
from fusion.site import site_from_mapping
from tests.builders import strip

T0 = 1_795_813_200  # 2026-11-27T21:00:00Z
ROOT = "perimeter/coquelles"


def step() -> tuple[Intake, Correlator]:
    """The strip site without heartbeat supervision, so only intelligence changes."""
    data = strip(intel_sources=[{"id": "jiu"}, {"id": "paf"}])
    for device in (*data["sensors"], *data["cameras"]):
        device.pop("heartbeat_s", None)
    site = site_from_mapping(data)
    engine = Correlator(site, start=0.0)
    return Intake(site, engine, start=0.0), engine


def issue(ref: str = "INT-1", zones: list[str] | None = None, **data: Any) -> dict[str, Any]:
    body = {
        "id": f"m-{ref}",
        "ts": T0,
        "event": "issue",
        "data": {
            "ref": ref,
            "title": "Group of about 20 near the east fence",
            "zones": ["Z02"] if zones is None else zones,
            "valid_from": T0 + 10,
            "valid_until": T0 + 100,
            "source_grade": "2",
            "information_grade": "B",
            "handling": "P",
            **data,
        },
    }
    return body


def send(i: Intake, t: float, body: Any, source: str = "jiu") -> Processed:
    return i.receive(f"{ROOT}/intel/{source}", json.dumps(body).encode(), t)


def alarm(i: Intake, t: float, device: str, msg_id: str) -> Processed:
    kind = device.split("-", maxsplit=1)[0]
    body = {"id": msg_id, "event": "alarm"}
    return i.receive(f"{ROOT}/{kind}/{device}", json.dumps(body).encode(), t)


def without(body: dict[str, Any], key: str) -> dict[str, Any]:
    data = {k: v for k, v in body["data"].items() if k != key}
    return {**body, "data": data}


@pytest.mark.parametrize(
    ("body", "source", "reason"),
    [
        (issue(), "nobody", RejectReason.UNKNOWN_SOURCE),
        ({k: v for k, v in issue().items() if k != "ts"}, "jiu", RejectReason.BAD_TS),
        ({**issue(), "ts": "yesterday"}, "jiu", RejectReason.BAD_TS),
        ({**issue(), "ts": "2026-11-27T21:00:00"}, "jiu", RejectReason.BAD_TS),
        (without(issue(), "ref"), "jiu", RejectReason.BAD_INTEL),
        (without(issue(), "title"), "jiu", RejectReason.BAD_INTEL),
        (without(issue(), "zones"), "jiu", RejectReason.BAD_INTEL),
        (issue(zones=[]), "jiu", RejectReason.BAD_INTEL),
        (issue(zones=["Z02", "Z77"]), "jiu", RejectReason.BAD_ZONE),
        (without(issue(), "valid_from"), "jiu", RejectReason.BAD_INTEL),
        (without(issue(), "valid_until"), "jiu", RejectReason.BAD_INTEL),
        (issue(valid_from="soon"), "jiu", RejectReason.BAD_INTEL),
        (issue(valid_until=T0 + 10), "jiu", RejectReason.BAD_INTEL),
        (issue(valid_until=T0 + 5), "jiu", RejectReason.BAD_INTEL),
        (without(issue(), "source_grade"), "jiu", RejectReason.BAD_INTEL),
        (issue(source_grade="4"), "jiu", RejectReason.BAD_INTEL),
        (without(issue(), "information_grade"), "jiu", RejectReason.BAD_INTEL),
        (issue(information_grade="F"), "jiu", RejectReason.BAD_INTEL),
        (issue(handling="X"), "jiu", RejectReason.BAD_INTEL),
        (issue(handling="C"), "jiu", RejectReason.BAD_INTEL),
        (issue(desks="fr-police"), "jiu", RejectReason.BAD_INTEL),
        ({**issue(), "event": "publish"}, "jiu", RejectReason.UNKNOWN_EVENT),
        ({"id": "w", "ts": T0, "event": "withdraw", "data": {}}, "jiu", RejectReason.BAD_INTEL),
        ({"id": "w", "ts": T0, "event": "withdraw"}, "jiu", RejectReason.BAD_INTEL),
        ({"ts": T0, "event": "issue", "data": issue()["data"]}, "jiu", RejectReason.BAD_ID),
    ],
)
def test_each_rejection_reason(body: dict[str, Any], source: str, reason: RejectReason) -> None:
    i, _ = step()
    done = send(i, 1.0, body, source)
    assert done.verdict is Verdict.REJECTED
    assert done.rejection is not None and done.rejection.reason is reason


def test_handling_c_with_conditions_and_desks_is_accepted() -> None:
    i, engine = step()
    body = issue(handling="C", conditions="police desks only", desks=["fr-police"])
    assert send(i, 1.0, body).verdict is Verdict.ACCEPTED
    [item] = engine.intel.items()
    assert item.content.desks == ("fr-police",)
    assert item.visible_to("fr-police") and not item.visible_to("uk-border")
    assert not item.visible_to(None)


def test_the_window_is_read_against_the_feeds_own_ts() -> None:
    """Received at t = 50 from a feed whose clock is an hour fast: from 50 + 10 to 50 + 100."""
    i, engine = step()
    skewed = issue(valid_from=T0 + 3600 + 10, valid_until=T0 + 3600 + 100)
    skewed["ts"] = "2026-11-27T22:00:00+00:00"
    send(i, 50.0, skewed)
    [item] = engine.intel.items()
    assert (item.active_from_t, item.active_until_t) == (60.0, 150.0)


def test_active_from_its_start_until_its_end_excluded_and_the_watch_follows() -> None:
    i, engine = step()
    send(i, 0.0, issue())  # active from 10 to 100
    assert not engine.intel.watch("Z02")
    out = i.tick(10.0)
    assert [c for c in out if isinstance(c, ZoneWatchChanged)] == [
        ZoneWatchChanged(10.0, "Z02", True, ("jiu/INT-1",))
    ]
    assert [c.change for c in out if isinstance(c, IntelUpdated)] == ["activated"]
    assert i.tick(99.99) == []
    out = i.tick(500.0)
    assert [c for c in out if isinstance(c, ZoneWatchChanged)] == [
        ZoneWatchChanged(100.0, "Z02", False, ())
    ], "the expiry is dated at its own instant, not when time was next looked at"
    assert engine.next_deadline() is None


def test_an_item_never_opens_an_incident() -> None:
    i, engine = step()
    send(i, 0.0, issue(valid_from=T0 - 10))
    assert engine.incidents() == []


def test_an_event_that_opens_or_joins_links_the_items_of_the_incidents_zones() -> None:
    i, engine = step()
    send(i, 0.0, issue("ON-Z02", ["Z02"], valid_from=T0 - 10))
    send(i, 0.0, issue("ON-Z03", ["Z03"], valid_from=T0 - 10))
    alarm(i, 1.0, "ir-01", "a")  # opens in Z01: nothing names Z01
    [inc] = engine.incidents()
    assert inc.intel == () and inc.priority == 3
    alarm(i, 2.0, "ir-02", "b")  # joins from Z02: the item on Z02 is linked
    [inc] = engine.incidents()
    assert inc.zones == ("Z01", "Z02") and inc.intel == ("jiu/ON-Z02",)
    assert inc.priority == min(5, 4 + 1), "criticality 4 (Z02) + 1 for the link"


def test_links_are_kept_for_good_and_priority_is_capped() -> None:
    i, engine = step()
    send(i, 0.0, issue(valid_from=T0 - 10, valid_until=T0 + 5))
    alarm(i, 1.0, "ir-02", "a")
    alarm(i, 2.0, "fence-02", "b")  # confirmed: 4 + 1 + 1, capped at 5
    [inc] = engine.incidents()
    assert inc.confirmed and inc.priority == 5
    i.tick(10.0)  # the item expires
    send(i, 11.0, {"id": "w", "ts": T0 + 11, "event": "withdraw", "data": {"ref": "INT-1"}})
    alarm(i, 12.0, "ir-02", "c")
    [inc] = engine.incidents()
    assert inc.intel == ("jiu/INT-1",), "a link is kept for good"


def test_low_grades_are_shown_but_never_acted_on() -> None:
    i, engine = step()
    send(i, 0.0, issue("R3", source_grade="3", valid_from=T0 - 10))
    send(i, 0.0, issue("RD", information_grade="D", valid_from=T0 - 10))
    send(i, 0.0, issue("RE", information_grade="E", valid_from=T0 - 10))
    assert [item.credible for item in engine.intel.items()] == [False, False, False]
    assert not engine.intel.watch("Z02")
    alarm(i, 1.0, "ir-02", "a")
    [inc] = engine.incidents()
    assert inc.intel == () and inc.priority == 4


def test_an_issue_replaces_the_item_whole_and_keeps_its_place() -> None:
    i, engine = step()
    send(i, 0.0, issue("A", ["Z01"]))
    send(i, 0.0, issue("B", ["Z02"]))
    replaced = issue("A", ["Z03"], valid_from=T0 + 20, valid_until=T0 + 30)
    replaced["id"] = "m-A2"
    send(i, 5.0, replaced)
    items = engine.intel.items()
    assert [item.id for item in items] == ["jiu/A", "jiu/B"]
    assert items[0].zones == ("Z03",) and items[0].active_from_t == 25.0
    i.tick(12.0)
    assert not engine.intel.watch("Z01"), "the old version's window no longer holds"


def test_withdrawing_ends_the_item_and_an_unknown_or_repeated_withdrawal_changes_nothing() -> None:
    i, engine = step()
    send(i, 0.0, issue(valid_from=T0 - 10))
    assert engine.intel.watch("Z02")
    gone = {"id": "w1", "ts": T0, "event": "withdraw", "data": {"ref": "INT-1"}}
    done = send(i, 1.0, gone)
    assert done.verdict is Verdict.ACCEPTED and not engine.intel.watch("Z02")
    [item] = engine.intel.items()
    assert item.withdrawn_t == 1.0
    again = send(i, 2.0, {**gone, "id": "w2"})
    assert again.verdict is Verdict.ACCEPTED and again.changes == []
    unknown = send(i, 3.0, {"id": "w3", "ts": T0, "event": "withdraw", "data": {"ref": "NOPE"}})
    assert unknown.verdict is Verdict.ACCEPTED and unknown.changes == []
    assert engine.intel.items()[0].withdrawn_t == 1.0


def test_duplicates_and_reused_ids_follow_section_2a() -> None:
    i, engine = step()
    body = issue()
    assert send(i, 0.0, body).verdict is Verdict.ACCEPTED
    assert send(i, 1.0, body).verdict is Verdict.DUPLICATE
    other = issue("INT-2")
    other["id"] = body["id"]  # the feed restarted its numbering
    done = send(i, 2.0, other)
    assert done.verdict is Verdict.ACCEPTED and done.id_reused
    assert [item.id for item in engine.intel.items()] == ["jiu/INT-1", "jiu/INT-2"]


def test_an_analyst_through_the_api_need_not_be_a_named_feed() -> None:
    i, engine = step()
    done = i.receive_intel_from("ana", issue(), 0.0)
    assert done.verdict is Verdict.ACCEPTED
    assert [item.id for item in engine.intel.items()] == ["ana/INT-1"]
    bad = i.receive_intel_from("ana", issue(zones=["Z77"]), 0.0)
    assert bad.rejection is not None and bad.rejection.reason is RejectReason.BAD_ZONE
