"""Start a joint centre under uvicorn, as :mod:`vigie.serve` starts a site."""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from adapters.mqtt import Broker
from dashboard.auth import Users
from dashboard.centre_api import create_centre_app
from vigie.centre.config import Centre
from vigie.centre.service import CentreService
from vigie.serve import SettingsError, run_app, web_settings

log = logging.getLogger("vigie.centre")


def build_centre_app(service: CentreService, users: Users) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with service.running():
            yield

    return create_centre_app(service, users, lifespan=lifespan, settings=web_settings(os.environ))


def serve_centre(
    centre: Centre,
    broker: Broker,
    db_url: str,
    users: Users,
    *,
    host: str,
    port: int,
    client_id: str | None = None,
) -> int:
    try:
        service = CentreService(centre, broker, db_url, client_id or f"vigie-centre-{centre.id}")
        app = build_centre_app(service, users)
    except SettingsError as exc:
        log.error("vigie centre: %s", exc)
        return 2
    log.info("Vigie joint centre %s on http://%s:%d (broker %s)", centre.id, host, port, broker)
    return run_app(app, host, port)
