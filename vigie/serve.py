"""Start the live service under uvicorn."""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any, Final

import uvicorn
from fastapi import FastAPI
from pydantic import ValidationError
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from adapters.mqtt import Broker
from dashboard.api import WebSettings, create_app
from dashboard.auth import Users
from dashboard.sessions import SessionPolicy
from fusion.site import Site
from vigie.config import ServiceConfig, VideoSettings
from vigie.service import Service
from vigie.store import StoreError

log = logging.getLogger("vigie.serve")

WS_MESSAGE_LIMIT: Final = 64 * 1024
"""Largest websocket message accepted from a page: pages only ever send a request
for a new snapshot, a few bytes."""

ENVIRONMENT: Final = {
    "VIGIE_SESSION_IDLE_S": "a session ends after this many seconds unused (default 1800)",
    "VIGIE_SESSION_MAX_S": "and this many seconds after sign-in at most (default 43200)",
    "VIGIE_TRUSTED_ORIGINS": "comma-separated origins, besides the service's own, "
    "whose pages may use the session cookie",
}
"""What ``vigie serve`` reads from its environment (docs/service.md, "Security")."""


class SettingsError(ValueError):
    """An environment variable that ``vigie serve`` cannot use."""


def web_settings(environ: Mapping[str, str]) -> WebSettings:
    """The edge's settings from ``VIGIE_*`` environment variables."""
    policy: dict[str, Any] = {}
    for name, field in (("VIGIE_SESSION_IDLE_S", "idle_s"), ("VIGIE_SESSION_MAX_S", "absolute_s")):
        if name in environ:
            policy[field] = environ[name]
    origins = environ.get("VIGIE_TRUSTED_ORIGINS", "")
    try:
        return WebSettings(
            sessions=SessionPolicy.model_validate(policy),
            trusted_origins=tuple(o.strip() for o in origins.split(",") if o.strip()),
        )
    except ValidationError as exc:
        err = exc.errors()[0]
        field = str(err["loc"][-1]) if err["loc"] else ""
        name = {"idle_s": "VIGIE_SESSION_IDLE_S", "absolute_s": "VIGIE_SESSION_MAX_S"}.get(
            field, field
        )
        raise SettingsError(f"{name}: {err['msg']}") from exc


class WebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's sans-I/O websocket protocol, except that a handshake refused with a
    response (401, 403, 429) counts as complete. uvicorn 0.54 does not mark it so, and
    logs every refusal as an ERROR "ASGI callable returned without completing
    handshake" (uvicorn pull request #3138 makes the same change)."""

    async def send(self, message: Any) -> None:
        await super().send(message)
        if message["type"] == "websocket.http.response.body" and not message.get("more_body"):
            self.handshake_complete = True


def build_app(service: Service, users: Users, settings: WebSettings | None = None) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with service.running():
            yield

    return create_app(service, users, lifespan=lifespan, settings=settings)


def serve(
    site: Site,
    broker: Broker,
    db_url: str,
    users: Users,
    *,
    host: str,
    port: int,
    client_id: str | None = None,
    run_cameras: bool = True,
    site_path: str | None = None,
    video: VideoSettings | None = None,
) -> int:
    try:
        settings = web_settings(os.environ)
    except SettingsError as exc:
        log.error("vigie serve: %s", exc)
        return 2
    config = ServiceConfig(
        site,
        broker,
        db_url,
        client_id or f"vigie-{site.site}",
        run_cameras,
        site_path,
        video or VideoSettings(),
    )
    service = Service(config)
    app = build_app(service, users, settings)
    log.info("Vigie for %s on http://%s:%d (broker %s)", site.site, host, port, broker)
    return run_app(app, host, port)


def run_app(app: FastAPI, host: str, port: int) -> int:
    """Serve ``app`` until stopped, as a site and a joint centre both are: exit status 0
    after a clean stop, 1 if it never started or its store would not open."""
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host=host,
            port=port,
            ws=WebSocketProtocol,
            ws_per_message_deflate=False,  # measured: deflate collapses fan-out to 50 clients
            ws_max_size=WS_MESSAGE_LIMIT,
            server_header=False,
            log_level="info",
            access_log=False,
            lifespan="on",
        )
    )
    try:
        server.run()
    except StoreError as exc:
        log.error("%s", exc)
        return 1
    return 0 if server.started else 1
