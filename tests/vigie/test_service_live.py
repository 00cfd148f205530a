"""`vigie serve` driven from outside: MQTT in, REST and websocket out, with real peers
(a Mosquitto started by the test, the service as a subprocess)."""

from __future__ import annotations

import json
import random
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from tests.conftest import ADMIN, COMMANDER, OPERATOR
from tests.peers import Mosquitto, VigieProcess
from tests.sensors import ROOT, Gateway


def eventually(check: Callable[[], Any], within_s: float = 15.0, what: str = "") -> Any:
    deadline = time.monotonic() + within_s
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {within_s} s: {what}")
        time.sleep(0.05)


def open_incidents(v: VigieProcess) -> list[dict[str, Any]]:
    response = v.get("/api/incidents?state=open", OPERATOR)
    assert response.status_code == 200
    return list(response.json())


def test_an_alarm_becomes_an_incident_on_the_api_and_the_websocket(
    vigie: VigieProcess, broker: Mosquitto
) -> None:
    ws_url = f"ws://127.0.0.1:{vigie.port}/ws"
    with connect(ws_url, additional_headers={"Authorization": f"Bearer {COMMANDER}"}) as ws:
        snapshot = json.loads(ws.recv(5))
        assert snapshot["type"] == "snapshot"
        assert {z["id"]: z["state"] for z in snapshot["picture"]["zones"]}["Z01"] == "secure"
        with Gateway(broker.port) as gw:
            gw.event("fence", "fence-01", id="f-1", event="alarm", data={"mode": "climb"})
            gw.event("camera", "cam-01", id="c-1", event="person", zone="Z01")
            gw.flush()
        changes: list[dict[str, Any]] = []
        events: list[dict[str, Any]] = []
        seqs = []
        while not any(c.get("change") == "confirmed" for c in changes):
            update = json.loads(ws.recv(5))
            assert update["type"] == "update"
            seqs.append(update["seq"])
            changes.extend(update["changes"])
            events.extend(update["events"])
        assert [(e["sensor"], e["incident"]) for e in events] == [
            ("fence-01", "INC-000001"),
            ("cam-01", "INC-000001"),
        ]
        assert seqs == list(range(snapshot["seq"] + 1, snapshot["seq"] + 1 + len(seqs)))
        zone_states = [c["state"] for c in changes if c["type"] == "zone" and c["id"] == "Z01"]
        assert zone_states[-1] == "confirmed"
        assert any(c["type"] == "command" and c["floodlight"] == "fl-01" for c in changes)
    [incident] = open_incidents(vigie)
    assert incident["confirmed"] and incident["priority"] == 4
    detail = vigie.get(f"/api/incidents/{incident['id']}", COMMANDER).json()
    assert [e["sensor"] for e in detail["events"]] == ["fence-01", "cam-01"]
    picture = vigie.get("/api/picture", COMMANDER).json()
    assert {z["id"]: z["state"] for z in picture["zones"]}["Z01"] == "confirmed"


def test_floodlight_commands_reach_the_broker(vigie: VigieProcess, broker: Mosquitto) -> None:
    import paho.mqtt.client as paho
    from paho.mqtt.enums import CallbackAPIVersion

    got: list[tuple[str, dict[str, Any]]] = []
    listener = paho.Client(CallbackAPIVersion.VERSION2, client_id="lamp-listener")
    listener.on_message = lambda c, u, m: got.append((m.topic, json.loads(m.payload)))
    listener.connect("127.0.0.1", broker.port)
    listener.subscribe(f"{ROOT}/floodlight/+/set", qos=1)
    listener.loop_start()
    time.sleep(0.3)
    try:
        with Gateway(broker.port) as gw:
            gw.event("floodlight", "fl-01b", id="s-1", event="state", data={"on": True})
            gw.event("ir", "ir-01", id="a-1", event="alarm")
            gw.flush()
        eventually(lambda: got, what="a floodlight command")
        time.sleep(0.3)
    finally:
        listener.loop_stop()
    assert got == [(f"{ROOT}/floodlight/fl-01/set", {"on": True, "reason": "INC-000001"})]


def test_fuzzed_payloads_are_counted_and_the_service_goes_on(
    vigie: VigieProcess, broker: Mosquitto
) -> None:
    rng = random.Random(42)
    fuzz = 0
    with Gateway(broker.port) as gw:
        for _ in range(300):
            topic = rng.choice(
                [
                    f"{ROOT}/ir/ir-01",
                    f"{ROOT}/camera/cam-01",
                    f"{ROOT}/fence/nobody",
                    f"{ROOT}/radar/x1",
                ]
            )
            payload = rng.choice(
                [
                    bytes(rng.getrandbits(8) for _ in range(rng.randrange(0, 300))),
                    b"[" * rng.randrange(1, 5000),
                    json.dumps({"id": rng.random(), "event": "alarm"}).encode(),
                    json.dumps({"id": "x", "event": "person"}).encode(),
                    b'{"id": "x", "event": "alarm", "ts": "not a time"}',
                    b"\xef\xbb\xbf{}",
                    b"x" * 70_000,
                ]
            )
            gw.send(topic, payload)
            fuzz += 1
        gw.event("ir", "ir-02", id="after-fuzz", event="alarm")
        gw.flush()
    eventually(
        lambda: vigie.metric("vigie_messages_rejected_all_total", OPERATOR) == fuzz,
        what=f"{fuzz} rejections",
    )
    assert vigie.get("/healthz").status_code == 200
    assert [i["zones"] for i in open_incidents(vigie)] == [["Z02"]]
    assert "rejected 'perimeter/coquelles/" in vigie.log()


def count_stored(db: Path) -> tuple[int, int]:
    with sqlite3.connect(db) as conn:
        total, distinct = conn.execute(
            "SELECT COUNT(*), COUNT(DISTINCT device || '/' || msg_id) FROM messages"
        ).fetchone()
    return int(total), int(distinct)


def publish_heartbeats(port: int, n: int, done: threading.Event, rate: float = 1500.0) -> None:
    with Gateway(port, client_id="hb-gateway") as gw:
        for i in range(n):
            gw.event("ir", "ir-09", id=f"hb-{i}", event="heartbeat")
            if i % 50 == 0:
                time.sleep(50 / rate)
        gw.flush(within_s=120)
    done.set()


def test_sigkill_while_sensors_publish_loses_and_doubles_nothing(
    vigie: VigieProcess, broker: Mosquitto, tmp_path: Path
) -> None:
    n = 4000
    done = threading.Event()
    publisher = threading.Thread(target=publish_heartbeats, args=(broker.port, n, done))
    publisher.start()
    eventually(lambda: count_stored(tmp_path / "vigie.db")[0] > 500, what="ingest under way")
    vigie.kill()
    time.sleep(1.0)  # sensors keep publishing while the service is down
    vigie.start()
    publisher.join(120)
    assert done.is_set()
    eventually(
        lambda: count_stored(tmp_path / "vigie.db")[0] >= n,
        within_s=30,
        what=f"{n} messages stored",
    )
    time.sleep(0.5)
    assert count_stored(tmp_path / "vigie.db") == (n, n), "each message stored exactly once"
    assert vigie.metric("vigie_messages_accepted_total", OPERATOR) == n


def test_a_broker_restart_mid_stream_loses_nothing(
    vigie: VigieProcess, broker: Mosquitto, tmp_path: Path
) -> None:
    n = 3000
    done = threading.Event()
    publisher = threading.Thread(target=publish_heartbeats, args=(broker.port, n, done))
    publisher.start()
    eventually(lambda: count_stored(tmp_path / "vigie.db")[0] > 500, what="ingest under way")
    broker.restart()
    publisher.join(120)
    assert done.is_set()
    eventually(
        lambda: count_stored(tmp_path / "vigie.db")[0] >= n,
        within_s=60,
        what=f"{n} messages stored",
    )
    time.sleep(0.5)
    assert count_stored(tmp_path / "vigie.db") == (n, n)
    eventually(lambda: vigie.get("/healthz").status_code == 200, what="broker back")


@pytest.mark.parametrize("loops", [50])
def test_an_acknowledgement_answered_2xx_survives_sigkill(
    vigie: VigieProcess, broker: Mosquitto, loops: int
) -> None:
    with Gateway(broker.port) as gw:
        for i in range(loops):
            gw.event("ir", "ir-09", id=f"a-{i}", event="alarm")
            gw.flush()
            incident = f"INC-{i + 1:06d}"
            eventually(
                lambda inc=incident: (
                    vigie.get(
                        f"/api/incidents/{inc}",  # type: ignore[misc]
                        OPERATOR,
                    ).status_code
                    == 200
                ),
                what=f"{incident} opened",
            )
            action = (
                ("ack", {"comment": f"loop {i}"})
                if i % 2 == 0
                else ("resolve", {"outcome": "test", "comment": f"loop {i}"})
            )
            answer = vigie.post(f"/api/incidents/{incident}/{action[0]}", action[1], OPERATOR)
            assert answer.status_code == 200, answer.text
            vigie.kill()  # the instant after the 2xx
            vigie.start()
            stored = vigie.get(f"/api/incidents/{incident}", OPERATOR).json()
            assert stored["state"] == ("acknowledged" if i % 2 == 0 else "resolved")
            assert stored["history"][-1]["who"] == "alice"
            assert stored["history"][-1]["comment"] == f"loop {i}"
            if i % 2 == 0:  # leave no incident open to be joined by the next alarm
                assert (
                    vigie.post(
                        f"/api/incidents/{incident}/resolve", {"outcome": "test"}, OPERATOR
                    ).status_code
                    == 200
                )


ROUTES = [
    ("GET", "/api/picture"),
    ("GET", "/api/incidents"),
    ("GET", "/api/incidents/INC-1"),
    ("POST", "/api/incidents/INC-1/ack"),
    ("POST", "/api/incidents/INC-1/resolve"),
    ("GET", "/api/me"),
    ("GET", "/metrics"),
    ("GET", "/api/evidence/1.jpg"),
]


def test_every_route_and_the_websocket_refuse_missing_or_wrong_credentials(
    vigie: VigieProcess,
) -> None:
    for method, path in ROUTES:
        for headers in (
            {},
            {"Authorization": "Bearer wrong"},
            {"Authorization": "Basic x"},
            {"Cookie": "vigie_session=forged.99999999999.abc"},
        ):
            answer = httpx.request(method, vigie.base + path, headers=headers, json={}, timeout=5)
            assert answer.status_code == 401, (method, path, headers)
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        with pytest.raises(InvalidStatus) as refused:
            connect(f"ws://127.0.0.1:{vigie.port}/ws", additional_headers=headers).close()
        assert refused.value.response.status_code == 401


def test_roles_commander_sees_operator_and_admin_act(
    vigie: VigieProcess, broker: Mosquitto
) -> None:
    with Gateway(broker.port) as gw:
        gw.event("ir", "ir-01", id="a-1", event="alarm")
        gw.flush()
    eventually(lambda: open_incidents(vigie), what="an incident")
    assert vigie.get("/api/picture", COMMANDER).status_code == 200
    assert vigie.post("/api/incidents/INC-000001/ack", {}, COMMANDER).status_code == 403
    assert (
        vigie.post("/api/incidents/INC-000001/resolve", {"outcome": "test"}, COMMANDER).status_code
        == 403
    )
    no_body = httpx.post(
        f"{vigie.base}/api/incidents/INC-000001/ack",
        headers={"Authorization": f"Bearer {ADMIN}"},
        timeout=5,
    )
    assert no_body.status_code == 200, "the comment is optional, and so is the body"
    assert vigie.post("/api/incidents/INC-000001/ack", {}, OPERATOR).status_code == 409
    assert vigie.post("/api/incidents/INC-999999/ack", {}, OPERATOR).status_code == 404
    assert (
        vigie.post("/api/incidents/INC-000001/resolve", {"outcome": "maybe"}, OPERATOR).status_code
        == 422
    )
    assert (
        vigie.post(
            "/api/incidents/INC-000001/resolve", {"outcome": "false_alarm"}, OPERATOR
        ).status_code
        == 200
    )
    assert (
        vigie.post("/api/incidents/INC-000001/resolve", {"outcome": "test"}, OPERATOR).status_code
        == 409
    )
    resolved = vigie.get("/api/incidents?state=resolved", COMMANDER).json()
    assert [(i["id"], i["outcome"]) for i in resolved] == [("INC-000001", "false_alarm")]


def test_the_browser_logs_in_with_a_session_cookie(vigie: VigieProcess) -> None:
    with httpx.Client(base_url=vigie.base) as browser:
        assert (
            browser.post("/api/login", json={"username": "alice", "token": "nope"}).status_code
            == 401
        )
        assert (
            browser.post("/api/login", json={"username": "carl", "token": OPERATOR}).status_code
            == 401
        )
        answer = browser.post("/api/login", json={"username": "alice", "token": OPERATOR})
        assert answer.status_code == 200
        cookie = answer.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie
        assert browser.get("/api/me").json()["role"] == "operator"
        session = browser.cookies["vigie_session"]
    with connect(
        f"ws://127.0.0.1:{vigie.port}/ws", additional_headers={"Cookie": f"vigie_session={session}"}
    ) as ws:
        assert json.loads(ws.recv(5))["type"] == "snapshot"
        ws.send(json.dumps({"type": "snapshot"}))
        assert json.loads(ws.recv(5))["type"] == "snapshot"


def test_the_service_runs_on_postgresql(
    site_file: Path, users_file: Path, broker: Mosquitto, tmp_path: Path, pg_url: str
) -> None:
    v = VigieProcess(site_file, users_file, pg_url, broker, tmp_path)
    v.start()
    try:
        with Gateway(broker.port) as gw:
            gw.event("fence", "fence-02", id="f-1", event="alarm")
            gw.event("ir", "ir-09", id="h-1", event="fault")
            gw.flush()
        eventually(lambda: open_incidents(v), what="an incident on PostgreSQL")
        assert (
            v.post("/api/incidents/INC-000001/ack", {"comment": "pg"}, OPERATOR).status_code == 200
        )
        v.kill()
        v.start()
        detail = v.get("/api/incidents/INC-000001", OPERATOR).json()
        assert detail["state"] == "acknowledged"
        assert detail["history"][0]["comment"] == "pg"
        picture = v.get("/api/picture", OPERATOR).json()
        assert {z["id"]: z["state"] for z in picture["zones"]}["Z09"] == "degraded"
        assert v.metric("vigie_messages_accepted_total", OPERATOR) == 2
    finally:
        v.stop()
