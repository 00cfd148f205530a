"""The security headers middleware on its own, for what the live tests cannot reach:
HTTPS, a hostile Host header, and an application that sets its own headers."""

from __future__ import annotations

import asyncio
from collections.abc import MutableMapping
from typing import Any

from dashboard.security import SecurityHeaders


def answer(scheme: str, host: bytes, path: str = "/api/picture") -> dict[bytes, bytes]:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"cache-control", b"private")],
            }
        )
        await send({"type": "http.response.body", "body": b"{}"})

    sent: list[MutableMapping[str, Any]] = []

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    scope = {"type": "http", "scheme": scheme, "path": path, "headers": [(b"host", host)]}
    asyncio.run(SecurityHeaders(app)(scope, receive, send))
    return dict(sent[0]["headers"])


def test_https_answers_ask_to_stay_on_https_and_plain_ones_do_not() -> None:
    assert answer("https", b"vigie.example")[b"strict-transport-security"] == b"max-age=31536000"
    assert b"strict-transport-security" not in answer("http", b"vigie.example")


def test_a_hostile_host_header_never_reaches_the_policy() -> None:
    policy = answer("http", b"x; script-src *")[b"content-security-policy"].decode()
    assert "script-src 'self'" in policy and "*" not in policy
    assert "connect-src 'self';" in policy


def test_the_applications_own_headers_win() -> None:
    assert answer("http", b"h:1")[b"cache-control"] == b"private"
