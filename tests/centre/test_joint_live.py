"""Two sites and a joint centre with real brokers and bridges (docs/centre.md): desks see
their sites only, the centre acts through the sites, a cut bridge is shown lost and
caught up on return, a centre killed during the catch-up restarts whole, and the centre
may dial the sites instead of the reverse."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from tests.centre.rig import PORT, TOKEN, YARD, Joint, alarm, eventually, frames, joint
from tests.sensors import Gateway


def history(j: Joint, site: str, incident: str) -> list[dict[str, Any]]:
    found = j.sites[site].get(f"/api/incidents/{incident}", TOKEN["alice"]).json()
    return list(found["history"])


def centre_post(j: Joint, user: str, what: tuple[str, str, str], body: Any = None) -> Any:
    """POST the ``(site, incident, action)`` of ``user`` to the centre."""
    site, incident, action = what
    return j.centre.post(f"/api/sites/{site}/incidents/{incident}/{action}", body, TOKEN[user])


def open_incident(j: Joint, site: str, sensor: str, msg_id: str) -> str:
    before = {i["id"] for i in j.site_incidents(site)}
    with j.gateway(site) as gw:
        alarm(gw, site, sensor, msg_id)
        gw.flush()
    new = eventually(
        lambda: {i["id"] for i in j.site_incidents(site)} - before, what=f"an incident at {site}"
    )
    [incident] = new
    return str(incident)


def test_desks_see_their_sites_and_the_centre_acts_through_the_site(tmp_path: Path) -> None:
    with joint(tmp_path) as j:
        yard_inc = open_incident(j, YARD, "ir-01", "y-1")
        port_inc = open_incident(j, PORT, "ir-03", "p-1")
        eventually(lambda: j.same_incidents(YARD) and j.same_incidents(PORT), what="copies")

        # The UK Border Force desk sees the port only, everywhere.
        uk = j.centre.get("/api/picture", TOKEN["uma"]).json()
        assert [s["site"] for s in uk["sites"]] == [PORT]
        assert [(i["site"], i["id"]) for i in uk["sites"][0]["incidents"]] == [(PORT, port_inc)]
        assert {i["site"] for i in j.centre_incidents(YARD, "uma")} == set()
        assert (
            j.centre.get(f"/api/sites/{YARD}/incidents/{yard_inc}", TOKEN["uma"]).status_code == 404
        )
        with j.centre.ws("uma") as uk_ws:
            snapshot = json.loads(uk_ws.recv(5))
            assert [s["site"] for s in snapshot["picture"]["sites"]] == [PORT]
            # ... and acts on nothing: a watching desk, a site it does not see, a role.
            assert centre_post(j, "uma", (PORT, port_inc, "ack"), {}).status_code == 403
            assert centre_post(j, "uma", (YARD, yard_inc, "ack"), {}).status_code == 403
            assert centre_post(j, "nils", (YARD, yard_inc, "ack"), {}).status_code == 403
            assert centre_post(j, "carl", (YARD, yard_inc, "ack"), {}).status_code == 403
            assert centre_post(j, "marie", ("dover", "INC-000001", "ack"), {}).status_code == 404

            with j.centre.ws("marie") as fr_ws:
                snapshot = json.loads(fr_ws.recv(5))
                views = {s["site"]: s for s in snapshot["picture"]["sites"]}
                assert list(views) == [YARD, PORT]
                assert all(v["link"] == "up" for v in views.values())
                assert {z["id"]: z["state"] for z in views[YARD]["zones"]}["Z01"] == "alarm"

                answer = centre_post(j, "marie", (YARD, yard_inc, "ack"), {"comment": "on our way"})
                assert answer.status_code == 202
                request = answer.json()["request"]
                seen = frames(fr_ws, lambda c: c["type"] == "reply" and c["request"] == request)
                assert seen[-1]["ok"] is True and seen[-1]["site"] == YARD
                acked = [c for c in seen if c["type"] == "incident-view" and c["id"] == yard_inc]
                assert acked[-1]["state"] == "acknowledged" and acked[-1]["site"] == YARD
                state = j.centre.get(f"/api/requests/{request}", TOKEN["marie"]).json()
                assert state["state"] == "answered" and state["ok"] is True

                [entry] = history(j, YARD, yard_inc)
                assert entry["who"] == "marie (fr-police) via centre calais"
                assert entry["action"] == "ack" and entry["comment"] == "on our way"
                assert entry["address"] == f"centre calais request {request}"

                body = {"outcome": "false_alarm", "comment": "a fox"}
                answer = centre_post(j, "marie", (YARD, yard_inc, "resolve"), body)
                assert answer.status_code == 202
                request = answer.json()["request"]
                frames(fr_ws, lambda c: c["type"] == "reply" and c["request"] == request)

                # A request about an incident the site does not have: a clear error back.
                before = j.site_incidents(YARD)
                answer = centre_post(j, "marie", (YARD, "INC-999999", "ack"), {})
                assert answer.status_code == 202
                request = answer.json()["request"]
                seen = frames(fr_ws, lambda c: c["type"] == "reply" and c["request"] == request)
                assert seen[-1]["ok"] is False and seen[-1]["status"] == 404
                assert seen[-1]["reason"] == f"no incident INC-999999 at {YARD}"
                assert j.site_incidents(YARD) == before

            # The UK desk's socket carried the port's changes only.
            open_incident(j, PORT, "ir-09", "p-2")
            seen = frames(uk_ws, lambda c: c["type"] == "incident-view" and c["id"] != port_inc)
            assert {c["site"] for c in seen if "site" in c} == {PORT}
        resolved = next(i for i in j.site_incidents(YARD) if i["id"] == yard_inc)
        assert resolved["state"] == "resolved" and resolved["outcome"] == "false_alarm"
        assert [h["who"] for h in history(j, YARD, yard_inc)] == [
            "marie (fr-police) via centre calais"
        ] * 2
        eventually(lambda: j.same_incidents(YARD) and j.same_incidents(PORT), what="copies")


class Listener:
    """A plain client of the centre's broker: publishes requests as a centre would and
    collects the sites' replies."""

    def __init__(self, port: int) -> None:
        self.replies: list[dict[str, Any]] = []
        self._subscribed = threading.Event()
        self.client = paho.Client(CallbackAPIVersion.VERSION2, client_id="request-listener")
        self.client.on_message = lambda c, u, m: self.replies.append(json.loads(m.payload))
        self.client.on_subscribe = lambda *a: self._subscribed.set()
        self.client.connect("127.0.0.1", port)
        self.client.subscribe("perimeter/+/out/v1/replies", qos=1)
        self.client.loop_start()
        assert self._subscribed.wait(5)

    def send(self, site: str, body: Any) -> None:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.client.publish(f"perimeter/{site}/in/v1/requests", raw, qos=1).wait_for_publish(5)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def test_a_request_delivered_twice_acts_once(tmp_path: Path) -> None:
    with joint(tmp_path) as j:
        incident = open_incident(j, YARD, "ir-01", "y-1")
        listener = Listener(j.centre_broker.port)
        try:
            request = {
                "request": "r-42",
                "centre": "calais",
                "user": "marie",
                "desk": "fr-police",
                "action": "ack",
                "incident": incident,
                "comment": "twice",
            }
            listener.send(YARD, request)
            listener.send(YARD, request)  # a QoS 1 redelivery
            listener.send(YARD, {**request, "request": "r-43", "incident": "INC-424242"})
            listener.send(YARD, {**request, "request": "r-44", "action": "close"})
            listener.send(YARD, b"not json")
            eventually(lambda: len(listener.replies) >= 4, what="four replies")
            time.sleep(0.5)
        finally:
            listener.close()
        by_id = [(r["request"], r["status"]) for r in listener.replies]
        assert by_id == [("r-42", 200), ("r-42", 200), ("r-43", 404), ("r-44", 400)]
        assert [h["comment"] for h in history(j, YARD, incident)] == ["twice"]
        metric = j.sites[YARD].metric("vigie_centre_requests_unreadable_total", TOKEN["alice"])
        assert metric == 1


def test_a_cut_bridge_is_lost_within_15_s_and_caught_up_on_return(tmp_path: Path) -> None:
    with joint(tmp_path) as j:
        first = open_incident(j, PORT, "ir-03", "p-1")
        eventually(lambda: j.same_incidents(PORT), what="the port's copy")
        cut_at = time.monotonic()
        j.hops[PORT].cut(silent=True)  # nobody is told: only silence shows it
        # During the cut, at the port: incidents opened, joined, acknowledged, resolved.
        during = [open_incident(j, PORT, "ir-01", "p-2")]
        with j.gateway(PORT) as gw:
            for n in range(200):
                alarm(gw, PORT, "ir-01" if n % 2 else "ir-02", f"p-join-{n}")
            gw.flush()
        during.append(open_incident(j, PORT, "ir-09", "p-3"))
        assert j.sites[PORT].post(f"/api/incidents/{first}/ack", {}, TOKEN["alice"]).is_success
        body = {"outcome": "test"}
        assert j.sites[PORT].post(f"/api/incidents/{during[0]}/resolve", body, TOKEN["alice"])
        # ... and from the centre, a request that waits for the link.
        answer = centre_post(j, "marie", (PORT, during[1], "ack"), {"comment": "queued"})
        assert answer.status_code == 202
        eventually(lambda: j.centre.links()[PORT] == "lost", within_s=15, what="lost")
        lost_after = time.monotonic() - cut_at
        assert lost_after < 15
        assert j.centre.links()[YARD] == "up"
        port = [s for s in j.centre.get("/api/picture", TOKEN["marie"]).json()["sites"]][1]
        assert port["link"] == "lost" and port["as_of"] is not None
        assert first in {i["id"] for i in port["incidents"]}  # greyed, not gone

        j.hops[PORT].restore()
        eventually(lambda: j.centre.links()[PORT] == "up", within_s=30, what="back up")
        eventually(lambda: j.same_incidents(PORT), what="the port's copy after the cut")
        centre = {i["id"]: i for i in j.centre_incidents(PORT)}
        assert len(centre) == len(j.centre_incidents(PORT))  # none doubled
        assert centre[first]["state"] == "acknowledged"
        assert centre[during[0]]["state"] == "resolved"
        eventually(
            lambda: (
                {i["id"]: i for i in j.centre_incidents(PORT)}[during[1]]["state"] == "acknowledged"
            ),
            what="the queued request applied",
        )
        assert [h["who"] for h in history(j, PORT, during[1])] == [
            "marie (fr-police) via centre calais"
        ]
        eventually(lambda: j.same_incidents(PORT) and j.same_incidents(YARD), what="copies")
        print(f"lost {lost_after:.1f} s after a silent cut")


def test_the_centre_killed_during_catch_up_restarts_whole(tmp_path: Path, pg_url: str) -> None:
    with joint(tmp_path, centre_db=pg_url) as j:
        open_incident(j, YARD, "ir-01", "y-1")
        eventually(lambda: j.same_incidents(YARD), what="the yard's copy")
        j.hops[YARD].cut(silent=False)  # the broker sees its peer go
        eventually(lambda: j.centre.links()[YARD] == "lost", within_s=15, what="lost")
        with Gateway(j.brokers[YARD].port, client_id="yard-flood") as gw:
            for n in range(1500):  # paced: many small batches, many change messages
                alarm(gw, YARD, ("ir-01", "ir-02", "ir-03", "ir-09")[n % 4], f"y-flood-{n}")
                time.sleep(0.002)
            gw.flush()
        for incident in j.site_incidents(YARD)[:2]:
            body = {"outcome": "nuisance"}
            j.sites[YARD].post(f"/api/incidents/{incident['id']}/resolve", body, TOKEN["alice"])
        open_incident(j, YARD, "ir-09", "y-2")
        at_site = j.sites[YARD].metric("vigie_centre_feed_seq", TOKEN["alice"])
        before = centre_seq(j)
        j.hops[YARD].restore(rate=100_000)  # a slow line: the catch-up takes seconds
        seen = eventually(
            lambda: centre_seq(j) if centre_seq(j) > before + 50 else 0,
            within_s=30,
            what="the catch-up begun",
        )
        j.centre.kill()  # kill -9, in the middle of the catch-up
        assert seen < at_site
        j.hops[YARD].rate = None
        j.centre.start()
        eventually(lambda: j.centre.links()[YARD] == "up", within_s=30, what="back up")
        eventually(lambda: j.same_incidents(YARD), what="the yard's copy after the restart")
        assert j.same_incidents(PORT)
        assert len(j.site_incidents(YARD)) >= 3


def centre_seq(j: Joint) -> float:
    return j.centre.metric('vigie_centre_site_seq{site="coquelles"}', TOKEN["marie"])


def test_the_centre_may_dial_the_sites(tmp_path: Path) -> None:
    with joint(tmp_path, centre_dials=True) as j:
        incident = open_incident(j, PORT, "ir-01", "p-1")
        eventually(lambda: j.same_incidents(PORT), what="the port's copy")
        answer = centre_post(j, "marie", (PORT, incident, "ack"), {})
        assert answer.status_code == 202
        request = answer.json()["request"]
        eventually(
            lambda: j.centre.get(f"/api/requests/{request}", TOKEN["marie"]).json()["ok"],
            what="the site's answer",
        )
        j.hops[PORT].cut(silent=False)
        eventually(lambda: j.centre.links()[PORT] == "lost", within_s=15, what="lost")
        open_incident(j, PORT, "ir-09", "p-2")
        j.hops[PORT].restore()
        eventually(lambda: j.centre.links()[PORT] == "up", within_s=30, what="back up")
        eventually(lambda: j.same_incidents(PORT) and j.same_incidents(YARD), what="copies")
