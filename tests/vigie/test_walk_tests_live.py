"""Outcomes with their disruption, walk tests and reports, on a live `vigie serve` with a
real Mosquitto (docs/protocol.md §11): the API, the websocket, a restart, and the
reports' figures against what the API shows."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from websockets.sync.client import ClientConnection, connect

from tests.conftest import ADMIN, COMMANDER, INSPECTOR, OPERATOR
from tests.peers import Mosquitto, VigieProcess
from tests.sensors import Gateway
from tests.vigie.test_service_live import eventually


def opened(v: VigieProcess, incident: str) -> dict[str, Any]:
    def found() -> dict[str, Any] | None:
        answer = v.get(f"/api/incidents/{incident}", OPERATOR)
        return answer.json() if answer.status_code == 200 else None

    result: dict[str, Any] = eventually(found, what=f"{incident} opened")
    return result


def test_resolve_takes_a_disruption_with_an_intrusion_only(
    vigie: VigieProcess, broker: Mosquitto
) -> None:
    with Gateway(broker.port) as gw:
        gw.event("ir", "ir-09", id="a-1", event="alarm")
        gw.flush()
        opened(vigie, "INC-000001")
        path = "/api/incidents/INC-000001/resolve"
        refused = vigie.post(path, {"outcome": "false_alarm", "disruption": "escaped"}, OPERATOR)
        assert refused.status_code == 422
        assert "only with outcome intrusion" in refused.json()["detail"]
        assert vigie.post(path, {}, OPERATOR).status_code == 422  # no outcome: no default
        assert (
            vigie.post(path, {"outcome": "intrusion", "disruption": "x"}, OPERATOR).status_code
            == 422
        )
        answer = vigie.post(path, {"outcome": "intrusion"}, OPERATOR)
        assert answer.status_code == 200, answer.text
        stored = vigie.get("/api/incidents/INC-000001", OPERATOR).json()
        assert (stored["outcome"], stored["disruption"]) == ("intrusion", "unknown")
        assert stored["history"][-1]["disruption"] == "unknown"
        assert stored["test"] is False

        gw.event("ir", "ir-03", id="a-2", event="alarm")
        gw.flush()
        opened(vigie, "INC-000002")
        vigie.post("/api/incidents/INC-000002/ack", {"comment": "patrol"}, OPERATOR)
        body = {"outcome": "intrusion", "disruption": "turned_back", "comment": "seen off"}
        assert vigie.post("/api/incidents/INC-000002/resolve", body, OPERATOR).status_code == 200
    listed = {i["id"]: i for i in vigie.get("/api/incidents", OPERATOR).json()}
    second = listed["INC-000002"]
    assert second["disruption"] == "turned_back"
    assert second["opened_t"] <= second["acknowledged_t"] <= second["closed_t"]
    assert listed["INC-000001"]["acknowledged_t"] is None


class Frames:
    """The websocket's walk-test changes, as the page gets them."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        snapshot = json.loads(ws.recv(5))
        assert snapshot["type"] == "snapshot"
        self.picture = snapshot["picture"]

    def until(self, check: Callable[[dict[str, Any]], bool], within_s: float = 15.0) -> Any:
        deadline = time.monotonic() + within_s
        while time.monotonic() < deadline:
            frame = json.loads(self.ws.recv(max(0.1, deadline - time.monotonic())))
            for change in frame.get("changes", []):
                if change.get("type") == "walk_test" and check(change):
                    return change
        raise AssertionError("no such walk-test change")


def test_a_walk_test_marks_its_incidents_and_shows_detections_live(
    vigie: VigieProcess, broker: Mosquitto
) -> None:
    assert vigie.post("/api/walk-tests", {"zone": "Z01"}, OPERATOR).status_code == 403
    assert vigie.post("/api/walk-tests", {"zone": "Z77"}, INSPECTOR).status_code == 422
    answer = vigie.post("/api/walk-tests", {"zone": "Z01", "minutes": 30}, INSPECTOR)
    assert answer.status_code == 201, answer.text
    test = answer.json()
    assert (test["id"], test["state"], test["opened_by"]) == ("WT-000001", "open", "ines")
    assert test["until_t"] == pytest.approx(test["opened_t"] + 1800)
    assert test["modalities"] == ["camera", "fence", "ir"]
    assert vigie.post("/api/walk-tests", {"zone": "Z01"}, ADMIN).status_code == 409

    ws_url = f"ws://127.0.0.1:{vigie.port}/ws"
    with (
        connect(ws_url, additional_headers={"Authorization": f"Bearer {COMMANDER}"}) as ws,
        Gateway(broker.port) as gw,
    ):
        frames = Frames(ws)
        assert [t["id"] for t in frames.picture["walk_tests"]] == ["WT-000001"]
        crossing = vigie.post("/api/walk-tests/WT-000001/crossings", {"mode": "climb"}, INSPECTOR)
        assert crossing.status_code == 201, crossing.text
        assert crossing.json()["n"] == 1
        assert crossing.json()["settled"] is False
        gw.event("fence", "fence-01", id="f-1", event="alarm", data={"mode": "climb"})
        gw.event("ir", "ir-03", id="i-1", event="alarm")  # another zone: detects nothing here
        gw.flush()
        seen = frames.until(lambda c: c["change"] == "detection")
        assert seen["crossing"]["detected"] == ["fence"]
        incident = opened(vigie, "INC-000001")
        assert incident["test"] is True
        assert incident["zones"][0] == "Z01"
        assert opened(vigie, "INC-000002")["test"] is False  # Z03 is not under test
        settled = frames.until(lambda c: c["change"] == "settled", within_s=15)
        assert settled["crossing"]["detected"] == ["fence"]
        assert settled["crossing"]["missed"] == ["camera", "ir"]

    # The test window outlives a restart: it is in the store, and the engine takes it back.
    vigie.kill()
    vigie.start()
    with Gateway(broker.port) as gw:
        assert (
            vigie.post(
                "/api/walk-tests/WT-000001/crossings", {"mode": "walk"}, INSPECTOR
            ).status_code
            == 201
        )
        gw.event("camera", "cam-01", id="c-1", event="person", zone="Z01")
        gw.event("ir", "ir-01", id="i-2", event="alarm")
        gw.flush()

        def second_detected() -> list[str] | None:
            shown = vigie.get("/api/walk-tests/WT-000001", INSPECTOR).json()["crossings"]
            return (
                shown[1]["detected"] if len(shown) == 2 and len(shown[1]["detected"]) == 2 else None
            )

        assert eventually(second_detected, what="both detections") == ["camera", "ir"]
        for open_one in vigie.get("/api/incidents?state=open", OPERATOR).json():
            path = f"/api/incidents/{open_one['id']}/resolve"
            outcome = "test" if open_one["test"] else "false_alarm"
            assert vigie.post(path, {"outcome": outcome}, OPERATOR).status_code == 200
        # The third crossing, just before the close, is still detected by an alarm that
        # comes within its 10 s, after the close: the window outlives the test.
        assert (
            vigie.post(
                "/api/walk-tests/WT-000001/crossings", {"mode": "crawl"}, INSPECTOR
            ).status_code
            == 201
        )
        closed = vigie.post("/api/walk-tests/WT-000001/close", None, INSPECTOR)
        assert closed.status_code == 200, closed.text
        assert closed.json()["state"] == "closed"
        assert closed.json()["closed_by"] == "ines"
        assert (
            vigie.post(
                "/api/walk-tests/WT-000001/crossings", {"mode": "run"}, INSPECTOR
            ).status_code
            == 409
        )
        assert vigie.post("/api/walk-tests/WT-000009/close", None, INSPECTOR).status_code == 404
        gw.event("fence", "fence-01", id="f-2", event="alarm")  # after the close: real
        gw.flush()
        incidents = eventually(
            lambda: [
                i
                for i in vigie.get("/api/incidents?state=open", OPERATOR).json()
                if i["zones"][0] == "Z01"
            ],
            what="a real incident in Z01",
        )
        assert incidents[0]["test"] is False

    figures = vigie.get(
        f"/api/reports/inspection?from={_today()}&to={_today()}&format=json", INSPECTOR
    ).json()
    z01 = next(z for z in figures["zones"] if z["zone"] == "Z01")
    tests = vigie.get("/api/walk-tests", ADMIN).json()
    crossings = [c for t in tests if t["zone"] == "Z01" for c in t["crossings"]]
    assert z01["crossings"] == len(crossings) == 3
    detection = {r["modality"]: r["detected"] for r in z01["detection"]}
    for modality in ("camera", "fence", "ir"):
        assert detection[modality] == sum(modality in c["detected"] for c in crossings)
    assert detection["any"] == sum(c["detected_by_system"] for c in crossings) == 3
    assert crossings[0]["detected"] == crossings[2]["detected"] == ["fence"]
    assert {"camera", "ir"} <= set(crossings[1]["detected"])  # f-2 may be in its 10 s too
    everything = vigie.get("/api/incidents", OPERATOR).json()
    tests_seen = [i for i in everything if i["test"] or i["outcome"] == "test"]
    assert figures["incidents"]["test_excluded"] == len(tests_seen) >= 1
    assert figures["incidents"]["seen"] == len(everything) - len(tests_seen) == 2


def _today() -> str:
    return time.strftime("%Y-%m-%d", time.gmtime())


ROUTES = [
    ("GET", "/api/walk-tests"),
    ("GET", "/api/walk-tests/WT-000001"),
    ("POST", "/api/walk-tests"),
    ("POST", "/api/walk-tests/WT-000001/crossings"),
    ("POST", "/api/walk-tests/WT-000001/close"),
    ("GET", "/api/reports/monthly?month=2026-01"),
    ("GET", "/api/reports/inspection?from=2026-01-01&to=2026-01-02"),
    ("GET", "/api/faults"),
]


def test_reports_are_served_to_commanders_and_admins(vigie: VigieProcess, tmp_path: Any) -> None:
    for method, path in ROUTES:
        for token in (None, "wrong-token"):
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            answer = httpx.request(method, vigie.base + path, headers=headers, json={})
            assert answer.status_code == 401, (method, path, token)
    for method, path in ROUTES[2:5]:  # walk tests are run by inspectors and admins
        for token in (OPERATOR, COMMANDER):
            answer = httpx.request(
                method, vigie.base + path, headers={"Authorization": f"Bearer {token}"}, json={}
            )
            assert answer.status_code == 403, (method, path, token)
    month = time.strftime("%Y-%m", time.gmtime())
    assert vigie.get(f"/api/reports/monthly?month={month}", OPERATOR).status_code == 403
    assert vigie.get(f"/api/reports/monthly?month={month}", INSPECTOR).status_code == 403
    assert vigie.get(f"/api/reports/monthly?month={month}").status_code == 401
    answer = vigie.get(f"/api/reports/monthly?month={month}&lang=fr", COMMANDER)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/pdf"
    assert answer.content.startswith(b"%PDF")
    pdf = tmp_path / "monthly.pdf"
    pdf.write_bytes(answer.content)
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, check=True).stdout
    assert b"Rapport mensuel conjoint" in text
    figures = vigie.get(f"/api/reports/monthly?month={month}&format=json", ADMIN).json()
    assert figures["report"] == "monthly"
    assert figures["period"]["label"] == month
    assert vigie.get("/api/reports/monthly?month=2026-13", ADMIN).status_code == 422
    assert vigie.get("/api/reports/monthly?month=2999-01", ADMIN).status_code == 422
    today = _today()
    inspection = vigie.get(f"/api/reports/inspection?from={today}&to={today}", INSPECTOR)
    assert inspection.status_code == 200
    assert inspection.headers["content-type"] == "application/pdf"
    assert vigie.get(f"/api/reports/inspection?from={today}&to=x", INSPECTOR).status_code == 422
