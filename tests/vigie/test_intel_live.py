"""Intelligence in the live service (docs/protocol.md §9): items from a feed over MQTT and
from an analyst over REST, zones on watch, linked incidents, desks that may not see an
item, an expiry that changes the picture with no message, and a restart."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from websockets.sync.client import ClientConnection, connect

from tests.builders import strip
from tests.peers import Mosquitto, VigieProcess
from tests.sensors import ROOT, Gateway
from tests.vigie.test_service_live import eventually

USERS = {
    "ana": ("analyst", "fr-police", "ana-token"),
    "fred": ("commander", "fr-police", "fred-token"),
    "ursula": ("commander", "uk-border", "ursula-token"),
    "olga": ("operator", None, "olga-token"),
}
ANA, FRED, URSULA, OLGA = (USERS[n][2] for n in ("ana", "fred", "ursula", "olga"))


@pytest.fixture
def service(broker: Mosquitto, tmp_path: Path) -> Iterator[VigieProcess]:
    site = tmp_path / "site.yaml"
    site.write_text(yaml.safe_dump(strip(intel_sources=[{"id": "jiu", "name": "JIU"}])))
    users = tmp_path / "users.yaml"
    entries = []
    for name, (role, desk, token) in USERS.items():
        entry: dict[str, Any] = {
            "name": name,
            "role": role,
            "token_sha256": hashlib.sha256(token.encode()).hexdigest(),
        }
        if desk:
            entry["desk"] = desk
        entries.append(entry)
    users.write_text(yaml.safe_dump({"users": entries}))
    v = VigieProcess(site, users, str(tmp_path / "vigie.db"), broker, tmp_path)
    v.start()
    yield v
    v.stop()


def iso(dt: datetime) -> str:
    return dt.isoformat().replace("+00:00", "Z")


def item(
    ref: str,
    zones: list[str],
    *,
    start_s: float = -1,
    length_s: float = 3600,
    grades: tuple[str, str] = ("2", "B"),
    desks: list[str] | None = None,
    skew_s: float = 0,
) -> dict[str, Any]:
    """An issue message whose window starts ``start_s`` from now, written by a feed whose
    clock is ``skew_s`` off (its ts and window are all shifted alike)."""
    now = datetime.now(UTC) + timedelta(seconds=skew_s)
    data: dict[str, Any] = {
        "ref": ref,
        "title": f"Group near {', '.join(zones)}",
        "zones": zones,
        "valid_from": iso(now + timedelta(seconds=start_s)),
        "valid_until": iso(now + timedelta(seconds=start_s + length_s)),
        "source_grade": grades[0],
        "information_grade": grades[1],
        "handling": "C" if desks else "P",
        "category": "group",
        "size": 20,
    }
    if desks:
        data["desks"] = desks
        data["conditions"] = "police desks only"
    return {"id": f"m-{ref}-{time.time_ns()}", "ts": iso(now), "event": "issue", "data": data}


def zone(v: VigieProcess, token: str, zone_id: str) -> dict[str, Any]:
    zones: list[dict[str, Any]] = v.get("/api/picture", token).json()["zones"]
    [z] = [z for z in zones if z["id"] == zone_id]
    return z


def test_an_analyst_issues_over_rest_and_an_intrusion_there_is_raised(
    service: VigieProcess, broker: Mosquitto
) -> None:
    assert service.post("/api/intel", item("INT-1", ["Z02"]), FRED).status_code == 403
    answer = service.post("/api/intel", item("INT-1", ["Z02"]), ANA)
    assert answer.status_code == 201, answer.text
    assert answer.json()["item"]["id"] == "ana/INT-1"
    assert (
        answer.json()["item"]["grading_words"] == "untested source, known indirectly, corroborated"
    )
    [active] = service.get("/api/intel?active=true", OLGA).json()
    assert active["id"] == "ana/INT-1" and active["active"] is True
    assert zone(service, OLGA, "Z02")["watch"] is True
    with Gateway(broker.port) as gw:
        gw.event("fence", "fence-02", id="f1", event="alarm")
        gw.flush()
    [incident] = eventually(lambda: service.get("/api/incidents", OLGA).json())
    assert incident["intel"] == ["ana/INT-1"]
    assert incident["priority"] == 5, "criticality 4 + 1 for the linked item"
    bad = dict(item("INT-2", ["Z77"]))
    answer = service.post("/api/intel", bad, ANA)
    assert answer.status_code == 422 and "bad_zone" in answer.text


def test_a_feed_publishes_over_mqtt_with_a_skewed_clock(
    service: VigieProcess, broker: Mosquitto
) -> None:
    with Gateway(broker.port) as gw:
        # The feed's clock is an hour fast: its window still starts now, here.
        gw.send(f"{ROOT}/intel/jiu", item("INT-9", ["Z01", "Z03"], skew_s=3600))
        gw.send(f"{ROOT}/intel/nobody", item("INT-8", ["Z01"]))
        rumour = item("INT-7", ["Z01"], grades=("3", "E"))
        gw.send(f"{ROOT}/intel/jiu", rumour)
        gw.flush()
    items = eventually(
        lambda: (
            len(service.get("/api/intel", OLGA).json()) == 2
            and service.get("/api/intel", OLGA).json()
        )
    )
    by_id = {i["id"]: i for i in items}
    assert by_id["jiu/INT-9"]["active"] and by_id["jiu/INT-9"]["credible"]
    assert not by_id["jiu/INT-7"]["credible"], "a rumour is shown, never acted on"
    assert zone(service, OLGA, "Z01")["intel"] == ["jiu/INT-9"]
    assert zone(service, OLGA, "Z03")["watch"] is True
    assert service.metric("vigie_messages_rejected_all_total", OLGA) == 1  # unknown source


def test_an_item_for_some_desks_is_never_shown_to_another(
    service: VigieProcess, broker: Mosquitto
) -> None:
    with (
        connect(
            f"ws://127.0.0.1:{service.port}/ws",
            additional_headers={"Authorization": f"Bearer {URSULA}"},
        ) as uk,
        connect(
            f"ws://127.0.0.1:{service.port}/ws",
            additional_headers={"Authorization": f"Bearer {FRED}"},
        ) as fr,
    ):
        for ws in (uk, fr):
            assert json.loads(ws.recv(5))["type"] == "snapshot"
        answer = service.post("/api/intel", item("SEC-1", ["Z01"], desks=["fr-police"]), ANA)
        assert answer.status_code == 201
        with Gateway(broker.port) as gw:
            gw.event("ir", "ir-01", id="a1", event="alarm")
            gw.flush()
        fr_text = frames_until(fr, lambda f: f["incidents"])
        uk_text = frames_until(uk, lambda f: f["incidents"])
    assert "SEC-1" in fr_text and "SEC-1" not in uk_text
    assert [i["id"] for i in service.get("/api/intel", FRED).json()] == ["ana/SEC-1"]
    assert service.get("/api/intel", URSULA).json() == []
    assert service.get("/api/intel/ana/SEC-1", URSULA).status_code == 404
    assert service.get("/api/intel", OLGA).json() == [], "no desk: no restricted items"
    assert zone(service, URSULA, "Z01")["watch"] is False
    assert zone(service, FRED, "Z01")["watch"] is True
    [uk_incident] = service.get("/api/incidents", URSULA).json()
    [fr_incident] = service.get("/api/incidents", FRED).json()
    assert uk_incident["intel"] == [] and fr_incident["intel"] == ["ana/SEC-1"]
    assert uk_incident["priority"] == fr_incident["priority"] == 4
    assert "SEC-1" not in json.dumps(service.get("/api/picture", URSULA).json())
    detail = service.get(f"/api/incidents/{uk_incident['id']}", URSULA).json()
    assert "SEC-1" not in json.dumps(detail)


def frames_until(ws: ClientConnection, done: Any, within_s: float = 10) -> str:
    """Every frame's text until one satisfies ``done``."""
    seen = []
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        text = str(ws.recv(max(0.1, deadline - time.monotonic())))
        seen.append(text)
        if done(json.loads(text)):
            break
    return "\n".join(seen)


def test_an_expiry_changes_the_picture_at_its_instant_and_survives_a_restart(
    service: VigieProcess,
) -> None:
    service.post("/api/intel", item("LONG", ["Z02"], length_s=3600), ANA)
    short = item("SHORT", ["Z01"], length_s=3)
    assert service.post("/api/intel", short, ANA).status_code == 201
    expires = datetime.fromisoformat(short["data"]["valid_until"]).timestamp()
    with connect(
        f"ws://127.0.0.1:{service.port}/ws",
        additional_headers={"Authorization": f"Bearer {OLGA}"},
    ) as ws:
        snapshot = json.loads(ws.recv(5))
        assert [z["watch"] for z in snapshot["picture"]["zones"] if z["id"] == "Z01"] == [True]
        text = frames_until(ws, lambda f: any(c["type"] == "watch" for c in f["changes"]))
        got = time.time()
    watch = [c for f in text.splitlines() for c in json.loads(f)["changes"] if c["type"] == "watch"]
    assert watch[0]["id"] == "Z01" and watch[0]["watch"] is False
    assert abs(watch[0]["t"] - expires) < 0.05 and got - expires < 1.0, "at its instant"
    before = {i["id"]: i for i in service.get("/api/intel", OLGA).json()}
    service.kill()
    service.start()
    after = {i["id"]: i for i in service.get("/api/intel", OLGA).json()}
    assert after["ana/LONG"]["active"] and not after["ana/SHORT"]["active"]
    for key in ("active_from_t", "active_until_t"):
        assert after["ana/LONG"][key] == before["ana/LONG"][key], "the same window"
    assert zone(service, OLGA, "Z02")["watch"] is True
    assert zone(service, OLGA, "Z01")["watch"] is False
    answer = service.post("/api/intel/ana/LONG/withdraw", {}, ANA)
    assert answer.status_code == 201 and answer.json()["item"]["withdrawn_t"] is not None
    assert zone(service, OLGA, "Z02")["watch"] is False
