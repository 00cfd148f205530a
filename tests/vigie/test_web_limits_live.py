"""Limits and inputs at the HTTP edge, replayed against a real `vigie serve` with a real
broker (issue 10, section 3): big bodies, malformed requests, response headers."""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import COMMANDER, OPERATOR
from tests.peers import Mosquitto, VigieProcess
from tests.vigie.web import history, open_an_incident, session_of

MB = 1024 * 1024


def rss_kib(v: VigieProcess) -> int:
    assert v.proc is not None
    for line in Path(f"/proc/{v.proc.pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def big_post(
    v: VigieProcess, path: str, headers: dict[str, str], total: int, chunked: bool
) -> tuple[int, int]:
    """POST ``total`` bytes while reading the answer; returns (status, bytes the server took)."""
    sock = socket.create_connection(("127.0.0.1", v.port), timeout=10)
    framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {total}"
    head = "".join(f"{k}: {val}\r\n" for k, val in headers.items())
    sock.sendall(
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{v.port}\r\n{framing}\r\n"
        f"Content-Type: application/json\r\n{head}\r\n".encode()
    )
    sent = 0
    done = threading.Event()

    def pour() -> None:
        nonlocal sent
        block = b"[" * (256 * 1024)
        piece = f"{len(block):x}\r\n".encode() + block + b"\r\n" if chunked else block
        try:
            while sent < total and not done.is_set():
                sock.sendall(piece)
                sent += len(block)
        except OSError:
            pass  # the server closed: it stopped reading, as it should

    pourer = threading.Thread(target=pour)
    pourer.start()
    try:
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = sock.recv(4096)
            if not chunk:
                break
            answer += chunk
    finally:
        done.set()
        pourer.join(30)
        sock.close()
    status = int(answer.split(b" ", 2)[1]) if answer else 0
    return status, sent


def test_big_bodies_are_refused_before_they_are_read(
    vigie: VigieProcess, broker: Mosquitto
) -> None:
    incident = open_an_incident(vigie, broker)
    ack = f"/api/incidents/{incident}/ack"
    before = rss_kib(vigie)
    bearer = {"Authorization": f"Bearer {OPERATOR}"}
    cases = [
        (ack, {}, False, 413),  # the reported attack: 100 MB, unauthenticated
        (ack, bearer, False, 413),
        ("/api/login", {}, False, 413),
        ("/api/picture", bearer, False, 413),
        (ack, {}, True, 401),  # chunked, no credential: never read at all
        (ack, bearer, True, 413),  # chunked: refused once past the limit
        ("/api/login", {}, True, 413),
    ]
    for path, headers, chunked, status in cases:
        got, sent = big_post(vigie, path, headers, 100 * MB, chunked)
        assert got == status, (path, headers, chunked, got)
        assert sent < 100 * MB, "the service stopped taking the body"
        print(f"{path} chunked={chunked}: {got} after {sent // 1024} KiB sent")
    grown = rss_kib(vigie) - before
    print(f"RSS before {before} KiB, growth {grown} KiB")
    assert grown < 8 * 1024, f"the process grew by {grown} KiB"
    assert history(vigie, incident) == []
    assert vigie.get("/healthz").status_code == 200
    limit = httpx.post(f"{vigie.base}{ack}", headers=bearer, content=b" " * (64 * 1024 + 1))
    assert limit.status_code == 413 and "65536" in limit.json()["detail"]
    fits = httpx.post(
        f"{vigie.base}{ack}",
        headers={**bearer, "Content-Type": "application/json"},
        content=json.dumps({"comment": "ok"}).encode() + b" " * (60 * 1024),
    )
    assert fits.status_code == 200, fits.text


def test_every_malformed_request_gets_a_4xx_with_a_reason(
    vigie: VigieProcess, broker: Mosquitto
) -> None:
    incident = open_an_incident(vigie, broker)
    json_type = {"Content-Type": "application/json"}
    op = {"Authorization": f"Bearer {OPERATOR}", **json_type}
    cmd = {"Authorization": f"Bearer {COMMANDER}", **json_type}
    ack, resolve = f"/api/incidents/{incident}/ack", f"/api/incidents/{incident}/resolve"
    cases: list[tuple[str, str, dict[str, str], bytes, int, str]] = [
        (
            "POST",
            "/api/login",
            {"Content-Type": "application/x-www-form-urlencoded"},
            b"username=alice&token=x",
            415,
            "JSON",
        ),
        (
            "POST",
            "/api/login",
            {"Content-Type": "multipart/form-data; boundary=x"},
            b"--x--",
            415,
            "JSON",
        ),
        ("POST", "/api/login", {"Content-Type": "text/plain"}, b'{"username": "a"}', 415, "JSON"),
        ("POST", "/api/login", {}, b'{"username": "alice", "token": "x"}', 415, "JSON"),
        ("POST", "/api/login", json_type, b"", 422, "required"),
        ("POST", "/api/login", json_type, b"{not json", 422, "JSON"),
        ("POST", "/api/login", json_type, b"[" * 5000, 422, "JSON"),
        ("POST", "/api/login", json_type, b'"alice"', 422, "object"),
        ("POST", "/api/login", json_type, b'{"username": 7, "token": "x"}', 422, "username"),
        (
            "POST",
            "/api/login",
            json_type,
            b'{"username": "a\\u0000", "token": "x"}',
            422,
            "control",
        ),
        (
            "POST",
            "/api/login",
            json_type,
            b'{"username": "alice", "token": "\\ud800"}',
            422,
            "JSON",
        ),
        ("POST", "/api/login", json_type, b'{"username": "alice", "pin": 1}', 422, "pin"),
        ("POST", "/api/login", json_type, b"\xff\xfe\x00", 422, "JSON"),
        ("POST", ack, op, b'{"comment": "\\ud800"}', 422, "JSON"),
        ("POST", ack, op, b'{"comment": "bell \\u0007"}', 422, "control"),
        ("POST", ack, op, b'{"comment": "\\u202e"}', 200, ""),  # printable, kept as written
        ("POST", ack, op, json.dumps({"comment": "x" * 2001}).encode(), 422, "comment"),
        ("POST", resolve, op, b"", 422, "required"),
        ("POST", resolve, op, b'{"outcome": "maybe"}', 422, "outcome"),
        ("POST", resolve, op, b'{"outcome": "test", "comment": 5}', 422, "comment"),
        ("POST", resolve, cmd, b"{not json", 403, "commander"),  # role before body
        ("POST", resolve, json_type, b"{not json", 401, "token"),  # credential first
        ("POST", resolve, {**cmd, "Content-Type": "text/plain"}, b"x", 403, "commander"),
        ("GET", "/api/evidence/99999999999999999999999.jpg", op, b"", 404, "evidence"),
        ("GET", "/api/evidence/-1.jpg", op, b"", 404, "evidence"),
        ("GET", "/api/evidence/%F0%9F%98%80.jpg", op, b"", 404, "evidence"),
        ("GET", "/api/incidents?state=bogus", op, b"", 422, "state"),
        ("GET", "/api/incidents/%ED%A0%80", op, b"", 404, "incident"),
        ("GET", "/api/nowhere", op, b"", 404, "Not Found"),
        ("DELETE", "/api/picture", op, b"", 405, "Method"),
    ]
    for method, path, headers, body, status, reason in cases:
        answer = httpx.request(
            method, f"{vigie.base}{path}", headers=headers, content=body, timeout=5
        )
        assert answer.status_code == status, (method, path, body[:40], answer.text)
        if status >= 400:
            detail = answer.json()["detail"]
            assert reason in json.dumps(detail), (path, body[:40], detail)
    cookie = {"Cookie": f"vigie_session={session_of(vigie)}", "Origin": vigie.base}
    form = httpx.post(f"{vigie.base}/api/logout", headers={**cookie, "Content-Type": "text/plain"})
    assert form.status_code == 415
    assert "Traceback" not in vigie.log()


def test_every_answer_carries_the_security_headers_and_nothing_comes_from_a_cdn(
    vigie: VigieProcess,
) -> None:
    answers = {
        "page": httpx.get(f"{vigie.base}/"),
        "script": httpx.get(f"{vigie.base}/static/app.js"),
        "unauthenticated": httpx.get(f"{vigie.base}/api/me"),
        "api": vigie.get("/api/picture", OPERATOR),
        "not found": httpx.get(f"{vigie.base}/nowhere"),
        "too large": httpx.post(f"{vigie.base}/api/login", content=b"x" * 70_000),
        "health": httpx.get(f"{vigie.base}/healthz"),
    }
    for what, answer in answers.items():
        h = answer.headers
        policy = h.get("content-security-policy", "")
        assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy, what
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy, what
        assert f"ws://127.0.0.1:{vigie.port}" in policy, what
        assert h.get("x-content-type-options") == "nosniff", what
        assert h.get("x-frame-options") == "DENY", what
        assert h.get("referrer-policy") == "no-referrer", what
        assert "server" not in h, what
    assert answers["api"].headers["cache-control"] == "no-store"
    assert answers["page"].headers["content-type"].startswith("text/html")
    for path in ("/docs", "/redoc"):
        assert httpx.get(f"{vigie.base}{path}").status_code == 404
    spec = httpx.get(f"{vigie.base}/openapi.json").json()
    body = spec["paths"]["/api/incidents/{incident_id}/resolve"]["post"]["requestBody"]
    schema = body["content"]["application/json"]["schema"]
    assert "intrusion" in json.dumps(schema["properties"]["outcome"])
    page = answers["page"].text
    assert not re.search(r"<script(?![^>]*\bsrc=)|<style|\sstyle=|\son[a-z]+=", page), (
        "no inline script, style or handler"
    )
    assert not re.search(r"(src|href)=\"(https?:)?//", page), "nothing from elsewhere"


@pytest.mark.parametrize("attempts", [3])
def test_a_refused_websocket_leaves_no_error_in_the_log(vigie: VigieProcess, attempts: int) -> None:
    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect

    for headers in [{}, {"Authorization": "Bearer wrong"}] * attempts:
        with pytest.raises(InvalidStatus) as refused:
            connect(f"ws://127.0.0.1:{vigie.port}/ws", additional_headers=headers).close()
        assert refused.value.response.status_code == 401
        assert b"bearer token or session" in refused.value.response.body
    time.sleep(0.3)
    log = vigie.log()
    assert log.count('"WebSocket /ws" 401') == 2 * attempts
    assert "ERROR" not in log and "handshake" not in log
