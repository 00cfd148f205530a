"""The centre's copy of a site, on its own: ordered changes, gaps, snapshots, new runs and
stores at the site, and the link (vigie/centre/mirror.py is pure: messages and time in)."""

from __future__ import annotations

from typing import Any

import pytest

from fusion.site import site_from_mapping
from tests.builders import strip
from vigie.centre.mirror import (
    LINK_SILENCE_S,
    STORED_ONLY,
    BadMessage,
    Effects,
    Link,
    SiteMirror,
)

SITE = site_from_mapping(strip())


def link(m: SiteMirror) -> Link:
    """The mirror's link now (a call: each assertion reads it afresh)."""
    return m.link


def mirror() -> SiteMirror:
    return SiteMirror("coquelles", "Coquelles", SITE, now=0.0)


def incident(n: int, state: str = "open", t: float = 1.0) -> dict[str, Any]:
    return {
        "id": f"INC-{n:06d}",
        "zones": ["Z01"],
        "opened_t": t,
        "confirmed": False,
        "confirmed_t": None,
        "modalities": ["ir"],
        "sensors": ["ir-01"],
        "priority": 3,
        "state": state,
        "intel": [],
        "last_joined_t": t,
    }


def snapshot(
    seq: int, *incidents: dict[str, Any], epoch: str = "e1", boot: str = "b1", nonce: str = ""
) -> Any:
    picture = {
        "site": {"id": "coquelles"},
        "zones": [{"id": "Z01", "state": "secure", "degraded": False}],
        "sensors": [{"id": "ir-01", "health": "ok", "faults": []}],
        "cameras": [],
        "faults": [],
    }
    stored = [{**i, **STORED_ONLY} for i in incidents]
    return {
        "epoch": epoch,
        "boot": boot,
        "seq": seq,
        "nonce": nonce,
        "picture": picture,
        "incidents": stored,
    }


def opened(seq: int, n: int, epoch: str = "e1") -> dict[str, Any]:
    change = {"type": "incident", "change": "opened", "t": 1.0, "incident": incident(n)}
    zone = {"type": "zone", "t": 1.0, "id": "Z01", "state": "alarm", "degraded": False}
    return {"epoch": epoch, "seq": seq, "t": 1.0, "changes": [change, zone]}


def acked(seq: int, n: int) -> dict[str, Any]:
    change = {
        "type": "incident",
        "change": "acknowledged",
        "t": 2.0,
        "incident": incident(n, "acknowledged"),
        "by": "alice",
        "comment": "",
    }
    return {"epoch": "e1", "seq": seq, "t": 2.0, "changes": [change]}


def heartbeat(seq: int, epoch: str = "e1", boot: str = "b1", nonce: str = "") -> dict[str, Any]:
    return {"epoch": epoch, "boot": boot, "seq": seq, "t": 0.0, "nonce": nonce}


def synced(seq: int = 0) -> SiteMirror:
    """A mirror whose link is up: its first snapshot asked for and received."""
    m = mirror()
    fx = Effects()
    m.receive("heartbeat", heartbeat(seq), 1.0, fx)
    m.receive("snapshot", snapshot(seq, nonce=fx.ask["coquelles"]), 1.0, Effects())
    assert link(m) is Link.UP
    return m


def answer_ping(m: SiteMirror, fx: Effects, now: float, seq: int = 0) -> None:
    """The site answers the centre's ping."""
    m.receive("heartbeat", heartbeat(seq, nonce=fx.ping["coquelles"]), now, Effects())


def test_a_site_never_heard_is_lost_and_asked_for_a_snapshot_at_its_first_word() -> None:
    m = mirror()
    assert link(m) is Link.LOST and m.picture["zones"][0]["state"] == "unknown"
    fx = Effects()
    m.receive("heartbeat", heartbeat(0), 1.0, fx)
    assert list(fx.ask) == ["coquelles"] and link(m) is Link.LOST
    answer = Effects()
    m.receive("snapshot", snapshot(0, nonce=fx.ask["coquelles"]), 1.5, answer)
    assert link(m) is Link.UP and answer.replaced == {"coquelles"}
    assert [c["type"] for c in answer.frames["coquelles"]] == ["site", "link"]


def test_after_a_loss_the_queued_backlog_is_not_taken_for_the_present() -> None:
    m = synced()
    m.receive("bridge", b"0", 2.0, Effects())
    assert link(m) is Link.LOST
    fx = Effects()
    # What the bridge queued during the cut: whole, in order, yet not the site's now.
    m.receive("changes", opened(1, 1), 10.0, fx)
    m.receive("heartbeat", heartbeat(1), 10.0, fx)
    assert link(m) is Link.LOST and list(fx.ping) == ["coquelles"]
    m.receive("changes", acked(2, 1), 10.1, Effects())
    m.receive("heartbeat", heartbeat(2, nonce="an old run's"), 10.1, Effects())
    assert link(m) is Link.LOST
    answer_ping(m, fx, 10.2, seq=2)  # published after all the rest
    assert link(m) is Link.UP and m.incidents["INC-000001"]["state"] == "acknowledged"


def test_changes_apply_in_order_once_and_carry_their_site() -> None:
    m = synced()
    fx = Effects()
    m.receive("changes", opened(1, 1), 2.0, fx)
    m.receive("changes", opened(1, 1), 2.0, fx)  # delivered again
    m.receive("changes", acked(2, 1), 2.0, fx)
    assert m.seq == 2 and not fx.ask
    assert m.incidents["INC-000001"]["state"] == "acknowledged"
    assert m.incidents["INC-000001"]["acknowledged_t"] == 2.0
    assert m.incidents["INC-000001"]["site"] == "coquelles"
    assert m.picture["zones"][0]["state"] == "alarm"
    frames = fx.frames["coquelles"]
    assert [c.get("change") for c in frames if c["type"] == "incident"] == [
        "opened",
        "acknowledged",
    ]
    assert all(c["site"] == "coquelles" for c in frames)
    assert fx.incidents == {"coquelles": {"INC-000001"}}


def test_an_early_change_waits_for_the_missing_one() -> None:
    m = synced()
    fx = Effects()
    m.receive("changes", acked(2, 1), 2.0, fx)  # 1 is late
    assert m.seq == 0 and list(fx.ask) == ["coquelles"] and link(m) is Link.LOST
    m.receive("changes", opened(1, 1), 2.1, Effects())
    assert m.seq == 2 and m.incidents["INC-000001"]["state"] == "acknowledged"
    nonce = fx.ask["coquelles"]
    m.receive("snapshot", snapshot(2, incident(1, "acknowledged"), nonce=nonce), 2.2, Effects())
    assert link(m) is Link.UP


def test_a_gap_is_repaired_by_a_snapshot_and_what_came_after_it_is_applied_on_top() -> None:
    m = synced()
    fx = Effects()
    m.receive("changes", opened(1, 1), 2.0, fx)
    m.receive("changes", opened(3, 2), 2.0, fx)  # 2 was lost on the way
    assert list(fx.ask) == ["coquelles"]
    m.receive("changes", opened(4, 3), 2.0, Effects())
    nonce = fx.ask["coquelles"]
    m.receive("snapshot", snapshot(3, incident(1), incident(2), nonce=nonce), 3.0, Effects())
    assert m.seq == 4 and sorted(m.incidents) == ["INC-000001", "INC-000002", "INC-000003"]
    assert link(m) is Link.UP and not m.pending


def test_a_heartbeat_ahead_of_the_changes_asks_for_a_snapshot() -> None:
    m = synced()
    fx = Effects()
    m.receive("heartbeat", heartbeat(0), 2.0, fx)
    assert not fx.ask and link(m) is Link.UP
    m.receive("heartbeat", heartbeat(5), 3.0, fx)
    assert list(fx.ask) == ["coquelles"] and link(m) is Link.LOST


def test_a_new_run_or_a_new_store_at_the_site_asks_for_a_snapshot() -> None:
    m = synced(7)
    fx = Effects()
    m.receive("heartbeat", heartbeat(7, boot="b2"), 2.0, fx)
    assert list(fx.ask) == ["coquelles"]
    m.receive("snapshot", snapshot(7, boot="b2", nonce=fx.ask["coquelles"]), 2.1, Effects())
    assert link(m) is Link.UP
    fx = Effects()
    m.receive("changes", opened(1, 1, epoch="e2"), 2.2, fx)
    assert list(fx.ask) == ["coquelles"] and "INC-000001" not in m.incidents
    m.receive("snapshot", snapshot(1, incident(1), epoch="e2"), 2.3, Effects())
    assert m.seq == 1 and m.epoch == "e2" and list(m.incidents) == ["INC-000001"]


def test_a_snapshot_older_than_what_was_applied_is_ignored() -> None:
    m = synced()
    m.receive("changes", opened(1, 1), 2.0, Effects())
    m.receive("changes", acked(2, 1), 2.0, Effects())
    fx = Effects()
    m.receive("snapshot", snapshot(1, incident(1)), 3.0, fx)
    assert m.incidents["INC-000001"]["state"] == "acknowledged" and not fx.replaced


def test_a_snapshot_replaces_the_copy_exactly() -> None:
    m = synced()
    m.receive("changes", opened(1, 1), 2.0, Effects())
    m.receive(
        "snapshot",
        snapshot(9, incident(4)),
        3.0,
        Effects(),
    )
    assert list(m.incidents) == ["INC-000004"] and m.seq == 9


def test_silence_loses_the_link_and_a_word_brings_it_back() -> None:
    m = synced()
    m.receive("heartbeat", heartbeat(0), 10.0, Effects())
    fx = Effects()
    m.tick(10.0 + LINK_SILENCE_S - 0.1, fx)
    assert link(m) is Link.UP
    m.tick(10.0 + LINK_SILENCE_S + 0.1, fx)
    assert link(m) is Link.LOST and m.lost_since == pytest.approx(18.1)
    [lost] = fx.frames["coquelles"]
    assert lost["type"] == "link" and lost["link"] == "lost" and lost["as_of"] == 10.0
    fx = Effects()
    m.receive("heartbeat", heartbeat(0), 30.0, fx)
    assert link(m) is Link.LOST  # heard again: asked where it is
    answer_ping(m, fx, 30.1)
    assert link(m) is Link.UP


def test_a_bridge_or_a_site_that_says_it_went_is_lost_at_once() -> None:
    m = synced()
    m.receive("heartbeat", heartbeat(0), 10.0, Effects())
    m.receive("bridge", b"0", 10.5, Effects())
    assert link(m) is Link.LOST
    fx = Effects()
    m.receive("heartbeat", heartbeat(0), 11.0, fx)
    answer_ping(m, fx, 11.1)
    assert link(m) is Link.UP
    m.receive("online", {"online": False}, 11.5, Effects())
    assert link(m) is Link.LOST


def test_a_snapshot_asked_for_in_vain_is_asked_for_again_while_the_site_is_heard() -> None:
    m = mirror()
    m.receive("heartbeat", heartbeat(0), 1.0, Effects())
    fx = Effects()
    m.tick(3.0, fx)
    assert not fx.ask
    m.receive("heartbeat", heartbeat(0), 6.5, Effects())
    m.tick(6.6, fx)
    assert list(fx.ask) == ["coquelles"]
    fx = Effects()
    m.tick(40.0, fx)  # silent: asking again would only queue at the bridge
    assert not fx.ask


def test_a_malformed_message_is_refused_and_resynchronised() -> None:
    m = synced()
    fx = Effects()
    with pytest.raises(BadMessage):
        m.receive("changes", {"epoch": "e1", "seq": "one", "changes": []}, 2.0, fx)
    with pytest.raises(BadMessage):
        m.receive("changes", None, 2.0, fx)
    assert list(fx.ask) == ["coquelles"]


def test_faults_and_devices_follow_the_site() -> None:
    m = synced()
    fault = {"number": 1, "sensor": "ir-01", "fault": "tamper", "t": 2.0, "cleared_t": None}
    body = {
        "epoch": "e1",
        "seq": 1,
        "t": 2.0,
        "changes": [
            {"type": "fault", "change": "raised", "fault": fault},
            {"type": "device", "t": 2.0, "id": "ir-01", "in_alarm": True},
        ],
    }
    m.receive("changes", body, 2.0, Effects())
    [sensor] = m.picture["sensors"]
    assert sensor["health"] == "faulty" and sensor["faults"] == ["tamper"] and sensor["in_alarm"]
    cleared = {"type": "fault", "change": "cleared", "fault": {**fault, "cleared_t": 3.0}}
    m.receive("changes", {"epoch": "e1", "seq": 2, "t": 3.0, "changes": [cleared]}, 3.0, Effects())
    assert sensor["health"] == "ok" and m.picture["faults"] == []


def test_resolved_incidents_keep_their_outcome_and_leave_the_picture() -> None:
    m = synced()
    m.receive("changes", opened(1, 1), 2.0, Effects())
    resolved = {
        "type": "incident",
        "change": "resolved",
        "t": 5.0,
        "incident": incident(1, "resolved"),
        "by": "alice",
        "outcome": "test",
        "comment": "",
    }
    m.receive("changes", {"epoch": "e1", "seq": 2, "t": 5.0, "changes": [resolved]}, 5.0, Effects())
    assert m.incidents["INC-000001"]["outcome"] == "test"
    assert m.incidents["INC-000001"]["closed_t"] == 5.0
    assert m.incidents["INC-000001"]["acknowledged_t"] is None
    assert m.view("fr-police")["incidents"] == []


def test_intelligence_items_reach_only_the_desks_they_name() -> None:
    m = synced()
    item = {"id": "jiu/INT-1", "desks": ["uk-police"], "zones": ["Z01"]}
    body = {
        "epoch": "e1",
        "seq": 1,
        "t": 2.0,
        "changes": [{"type": "intel", "change": "issued", "t": 2.0, "item": item}],
    }
    m.receive("changes", body, 2.0, Effects())
    assert m.view("uk-police")["intel"] == [item]
    assert m.view("fr-police")["intel"] == []
