"""Start the live service under uvicorn."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn
from fastapi import FastAPI

from adapters.mqtt import Broker
from dashboard.api import create_app
from dashboard.auth import Users
from fusion.site import Site
from vigie.config import ServiceConfig
from vigie.service import Service
from vigie.store import StoreError

log = logging.getLogger("vigie.serve")


def build_app(service: Service, users: Users) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with service.running():
            yield

    return create_app(service, users, lifespan=lifespan)


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
) -> int:
    config = ServiceConfig(
        site, broker, db_url, client_id or f"vigie-{site.site}", run_cameras, site_path
    )
    service = Service(config)
    app = build_app(service, users)
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host=host,
            port=port,
            ws="websockets-sansio",
            ws_per_message_deflate=False,  # measured: deflate collapses fan-out to 50 clients
            log_level="info",
            access_log=False,
            lifespan="on",
        )
    )
    log.info("Vigie for %s on http://%s:%d (broker %s)", site.site, host, port, broker)
    try:
        server.run()
    except StoreError as exc:
        log.error("%s", exc)
        return 1
    return 0 if server.started else 1
