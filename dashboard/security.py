"""The HTTP edge: request size, response headers, and where a browser request came from.

Two pure ASGI middlewares wrap the whole application (every route, the static
files, error answers and refused websockets alike):

- :class:`BodyLimit` refuses a request body over the limit with 413 before the
  application sees it: at once by ``Content-Length``, or as soon as the bytes of a
  chunked body pass the limit.
- :class:`SecurityHeaders` sets the Content-Security-Policy and its companions on
  every answer.

:func:`cross_origin` says why a request that carries the session cookie (an
ambient credential) comes from another origin, by ``Origin`` and
``Sec-Fetch-Site``; a bearer token is never sent by a browser on its own, so
requests with one are not subject to it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final
from urllib.parse import urlsplit

import orjson
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

BODY_LIMIT: Final = 64 * 1024
"""Largest request body accepted, in bytes: the API takes small JSON documents (a
comment is at most 2,000 characters), and 64 KiB is also the largest sensor message
the service accepts."""

_DIGITS: Final = re.compile(r"^[0-9]{1,18}$")
_DEFAULT_PORTS: Final = {"http": 80, "https": 443, "ws": 80, "wss": 443}
_HOST: Final = re.compile(r"^[A-Za-z0-9.\-]+(:[0-9]{1,5})?$|^\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?$")


class BodyTooLarge(Exception):
    """A streamed request body went past the limit."""


class BodyLimit:
    """Refuses request bodies over ``limit`` bytes (413), before reading them."""

    def __init__(self, app: ASGIApp, limit: int = BODY_LIMIT) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and (not _DIGITS.match(declared) or int(declared) > self.limit):
            await _refuse(send, self.limit)
            return
        seen = 0
        started = False

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise BodyTooLarge
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except BodyTooLarge:
            if started:
                raise
            await _refuse(send, self.limit)


async def _refuse(send: Send, limit: int) -> None:
    body = orjson.dumps({"detail": f"request body over {limit} bytes"})
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),  # the rest of the body is not read
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class SecurityHeaders:
    """Content-Security-Policy, no sniffing, no framing, no referrer, on every answer.

    The page loads its scripts, styles and images from this service only, runs no
    inline script or style, talks only to this service (HTTP and websocket), and
    may not be framed by anyone. API answers are not cached by the browser.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        extra = _headers(scope)

        async def with_headers(message: Message) -> None:
            if message["type"] in ("http.response.start", "websocket.http.response.start"):
                present = {k.lower() for k, _ in message.get("headers", [])}
                message = {
                    **message,
                    "headers": [
                        *message.get("headers", []),
                        *((k, v) for k, v in extra if k not in present),
                    ],
                }
            await send(message)

        await self.app(scope, receive, with_headers)


def _headers(scope: Scope) -> list[tuple[bytes, bytes]]:
    connect = "'self'"
    host = Headers(scope=scope).get("host", "")
    if _HOST.match(host):  # spelled out too, for browsers whose 'self' leaves out ws:
        connect += f" ws://{host} wss://{host}"
    policy = (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
        # media-src blob: the live view plays a MediaSource object URL (docs/video.md)
        f"media-src 'self' blob:; connect-src {connect}; object-src 'none'; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'"
    )
    headers = [
        (b"content-security-policy", policy.encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"x-frame-options", b"DENY"),
        (b"referrer-policy", b"no-referrer"),
        (b"cross-origin-opener-policy", b"same-origin"),
        (b"cross-origin-resource-policy", b"same-origin"),
    ]
    if scope.get("scheme") in ("https", "wss"):  # reached over TLS: stay on it for a year
        headers.append((b"strict-transport-security", b"max-age=31536000"))
    if str(scope.get("path", "")).startswith("/api/"):
        headers.append((b"cache-control", b"no-store"))
    return headers


def cross_origin(headers: Headers, scheme: str, trusted: Iterable[str] = ()) -> str | None:
    """Why this browser request comes from another origin than the service's, or None.

    The service's origin is the scheme and the ``Host`` the request came to (behind a
    reverse proxy: what it forwards, with ``X-Forwarded-Proto``), plus any ``trusted``
    origins configured. A browser sends ``Origin`` on every websocket handshake and
    every POST, and ``Sec-Fetch-Site`` on every request; a request with neither is
    not from a browser, so no page can have sent it with the user's cookie.
    """
    origin = headers.get("origin")
    site = headers.get("sec-fetch-site")
    if origin is not None:
        own = _origin(f"{scheme}://{headers.get('host', '')}")
        theirs = _origin(origin)
        if theirs is None or (theirs != own and theirs not in {_origin(t) for t in trusted}):
            return f"request from another origin ({origin[:100]!r})"
        return None
    if site is not None and site not in ("same-origin", "none"):
        return f"request from another site (Sec-Fetch-Site: {site[:20]})"
    return None


def _origin(text: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) with ws/wss read as http/https and default ports filled in."""
    try:
        parts = urlsplit(text.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = {"ws": "http", "wss": "https"}.get(parts.scheme.lower(), parts.scheme.lower())
    if scheme not in ("http", "https") or not parts.hostname:
        return None
    return (scheme, parts.hostname.lower(), port or _DEFAULT_PORTS[scheme])
