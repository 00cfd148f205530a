"""Sessions, origins and guessing, replayed against a real `vigie serve` with a real broker
(issue 10, section 2). The browser side of the cross-site cases is in
tests/dashboard/test_cross_site.py."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import httpx
import pytest
import yaml
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from tests.conftest import COMMANDER, OPERATOR, TOKENS
from tests.peers import Mosquitto, VigieProcess, free_port
from tests.vigie.web import eventually, history, open_an_incident, session_of, signed_in


def ws_url(v: VigieProcess) -> str:
    return f"ws://127.0.0.1:{v.port}/ws"


def test_a_cookie_request_from_another_origin_changes_nothing(
    vigie: VigieProcess, broker: Mosquitto
) -> None:
    incident = open_an_incident(vigie, broker)
    session = session_of(vigie)
    evil = f"http://127.0.0.1:{free_port()}"  # same site (host), another origin (port)
    ack = f"{vigie.base}/api/incidents/{incident}/ack"
    cookie = {"Cookie": f"vigie_session={session}"}
    attempts = [
        # the reported attack: an empty text/plain form, auto-submitted with the cookie
        {**cookie, "Origin": evil, "Content-Type": "text/plain", "Sec-Fetch-Site": "same-site"},
        {**cookie, "Origin": evil, "Content-Type": "application/json"},
        {**cookie, "Origin": "null", "Content-Type": "application/json"},
        {**cookie, "Sec-Fetch-Site": "same-site", "Content-Type": "application/json"},
        {**cookie, "Sec-Fetch-Site": "cross-site"},
    ]
    for headers in attempts:
        answer = httpx.post(ack, headers=headers, content=b"", timeout=5)
        assert answer.status_code == 403, (headers, answer.text)
        assert "origin" in answer.json()["detail"] or "site" in answer.json()["detail"]
    assert history(vigie, incident) == [], "nothing was acknowledged in alice's name"
    picture = httpx.get(
        f"{vigie.base}/api/picture", headers={**cookie, "Sec-Fetch-Site": "cross-site"}, timeout=5
    )
    assert picture.status_code == 403, "nor read"

    own = {**cookie, "Origin": vigie.base}
    form = httpx.post(ack, headers=own, data={"comment": "x"}, timeout=5)
    assert form.status_code == 415, "JSON only, even from the page's own origin"
    plain = httpx.post(ack, headers={**own, "Content-Type": "text/plain"}, content=b"", timeout=5)
    assert plain.status_code == 415
    assert history(vigie, incident) == []
    bearer = httpx.get(
        f"{vigie.base}/api/me",
        headers={"Authorization": f"Bearer {OPERATOR}", "Origin": evil},
        timeout=5,
    )
    assert bearer.status_code == 200, "a bearer token is no ambient credential"
    with signed_in(vigie) as browser:
        done = browser.post(f"/api/incidents/{incident}/ack", json={"comment": "from the page"})
    assert done.status_code == 200, "the page itself still acts"
    assert history(vigie, incident) == [("alice", "ack")]
    assert "refused POST /api/incidents/INC-000001/ack from 127.0.0.1" in vigie.log()


def test_a_websocket_with_the_cookie_from_another_origin_is_refused_cleanly(
    vigie: VigieProcess,
) -> None:
    cookie = {"Cookie": f"vigie_session={session_of(vigie)}"}
    evil = f"http://127.0.0.1:{free_port()}"
    for origin, status in [(evil, 403), ("null", 403)]:
        with pytest.raises(InvalidStatus) as refused:
            connect(ws_url(vigie), additional_headers={**cookie, "Origin": origin}).close()
        assert refused.value.response.status_code == status
    with pytest.raises(InvalidStatus) as refused:
        connect(ws_url(vigie), additional_headers={"Origin": vigie.base}).close()
    assert refused.value.response.status_code == 401
    with connect(ws_url(vigie), additional_headers={**cookie, "Origin": vigie.base}) as ws:
        assert json.loads(ws.recv(5))["type"] == "snapshot"
    time.sleep(0.3)
    log = vigie.log()
    assert '"WebSocket /ws" 403' in log
    assert "ERROR" not in log and "without completing handshake" not in log


def test_logout_ends_the_session_here_on_open_websockets_and_after_a_restart(
    vigie: VigieProcess,
) -> None:
    session, kept = session_of(vigie), session_of(vigie)
    vigie.kill()  # sessions are on disk: a restart signs nobody out
    vigie.start()
    cookie = {"Cookie": f"vigie_session={session}", "Origin": vigie.base}
    me = f"{vigie.base}/api/me"
    assert httpx.get(me, headers=cookie, timeout=5).status_code == 200
    with connect(ws_url(vigie), additional_headers=cookie) as ws:
        assert json.loads(ws.recv(5))["type"] == "snapshot"
        logout = httpx.post(f"{vigie.base}/api/logout", headers=cookie, timeout=5)
        assert logout.status_code == 200
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                ws.recv(5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
    assert httpx.get(me, headers=cookie, timeout=5).status_code == 401, "the cookie is worthless"
    vigie.kill()  # the logout answered 200 is on disk
    vigie.start()
    assert httpx.get(me, headers=cookie, timeout=5).status_code == 401
    with pytest.raises(InvalidStatus):
        connect(ws_url(vigie), additional_headers=cookie).close()
    other = {"Cookie": f"vigie_session={kept}"}
    assert httpx.get(me, headers=other, timeout=5).status_code == 200, "other sessions stay"
    forged = {"Cookie": "vigie_session=alice.99999999999.abc"}
    assert httpx.get(me, headers=forged, timeout=5).status_code == 401


def test_a_changed_users_file_ends_that_users_sessions_without_a_restart(
    vigie: VigieProcess, users_file: Path
) -> None:
    alice = {"Cookie": f"vigie_session={session_of(vigie)}"}
    carl = {"Cookie": f"vigie_session={session_of(vigie, 'carl', COMMANDER)}"}
    me = f"{vigie.base}/api/me"
    entries = yaml.safe_load(users_file.read_text())["users"]
    for entry in entries:
        if entry["name"] == "alice":
            entry["token_sha256"] = hashlib.sha256(b"alice-new-token").hexdigest()
    users_file.write_text(yaml.safe_dump({"users": entries}))
    eventually(
        lambda: httpx.get(me, headers=alice, timeout=5).status_code == 401,
        what="alice's session ended",
    )
    assert vigie.get("/api/me", OPERATOR).status_code == 401
    assert vigie.get("/api/me", "alice-new-token").status_code == 200
    assert httpx.get(me, headers=carl, timeout=5).status_code == 200, "others keep theirs"
    assert "users file" in vigie.log()


def test_sessions_lapse_when_unused_and_at_the_end_of_the_shift(
    site_file: Path,
    users_file: Path,
    broker: Mosquitto,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("VIGIE_SESSION_IDLE_S", "1.5")
    monkeypatch.setenv("VIGIE_SESSION_MAX_S", "6")
    v = VigieProcess(site_file, users_file, str(tmp_path / "v.db"), broker, tmp_path)
    v.start()
    try:
        started = time.monotonic()
        idle, busy, watched = (
            {"Cookie": f"vigie_session={session_of(v)}", "Origin": v.base} for _ in range(3)
        )
        me = f"{v.base}/api/me"
        with connect(ws_url(v), additional_headers=watched) as ws:
            assert json.loads(ws.recv(5))["type"] == "snapshot"
            while time.monotonic() - started < 3.0:
                assert httpx.get(me, headers=busy, timeout=5).status_code == 200, "in use"
                time.sleep(0.5)
            assert httpx.get(me, headers=idle, timeout=5).status_code == 401, "unused > idle_s"
            assert httpx.get(me, headers=watched, timeout=5).status_code == 200, (
                "an open websocket is use too"
            )
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    ws.recv(5)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
        assert time.monotonic() - started >= 5.5, "not before the end of the shift"
        eventually(
            lambda: httpx.get(me, headers=busy, timeout=5).status_code == 401,
            what="the end of the shift",
        )
    finally:
        v.stop()


def test_bad_session_settings_stop_the_service_with_a_reason(
    site_file: Path,
    users_file: Path,
    broker: Mosquitto,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("VIGIE_SESSION_IDLE_S", "soon")
    v = VigieProcess(site_file, users_file, str(tmp_path / "v.db"), broker, tmp_path)
    with pytest.raises(RuntimeError, match="exited 2"):
        v.start()
    assert "VIGIE_SESSION_IDLE_S" in v.log()


def test_guessing_is_slowed_per_user_and_per_address_and_each_failure_is_logged(
    vigie: VigieProcess,
) -> None:
    with httpx.Client(base_url=vigie.base, timeout=5) as client:
        answers = [
            client.post("/api/login", json={"username": "alice", "token": f"guess-{i:04d}"})
            for i in range(300)
        ]
        statuses = [a.status_code for a in answers]
        assert statuses[:5] == [401] * 5
        assert set(statuses[5:]) <= {401, 429} and statuses.count(429) >= 250
        waiting = next(a for a in answers if a.status_code == 429)
        assert 1 <= int(waiting.headers["Retry-After"]) <= 60
        assert "try again in" in waiting.json()["detail"]
        right = client.post("/api/login", json={"username": "alice", "token": OPERATOR})
        assert right.status_code == 429, "while waiting, even the right token is not looked at"
        log = vigie.log()
        assert log.count("failed sign-in as 'alice' from 127.0.0.1") == statuses.count(401)
        assert "guess-" not in log and OPERATOR not in log, "tokens are never logged"
        assert "too many failures for 'user:alice'" in log
        time.sleep(float(right.headers["Retry-After"]) + 0.1)
        again = client.post("/api/login", json={"username": "alice", "token": OPERATOR})
        assert again.status_code == 200, "after the wait, the right token works"

        failed = statuses.count(401)  # each also counted against this address
        spray: list[int] = []
        while not spray or spray[-1] != 429:
            answer = client.post("/api/login", json={"username": f"u{len(spray)}", "token": "x"})
            spray.append(answer.status_code)
        assert spray.count(401) >= 30 - failed, "30 failures from one address are free"
        time.sleep(float(answer.headers["Retry-After"]))
        assert client.post("/api/login", json={"username": "u", "token": "x"}).status_code == 401
        # the address now waits 2 s, for sign-ins and bearer tokens alike
        blocked = client.get("/api/me", headers={"Authorization": f"Bearer {OPERATOR}"})
        assert blocked.status_code == 429 and "Retry-After" in blocked.headers
    carl = TOKENS["carl"][1]
    with pytest.raises(InvalidStatus) as refused:
        connect(ws_url(vigie), additional_headers={"Authorization": f"Bearer {carl}"}).close()
    assert refused.value.response.status_code == 429
