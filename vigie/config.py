"""The service's own configuration (what ``vigie serve`` was told on its command line)."""

from __future__ import annotations

from dataclasses import dataclass

from adapters.mqtt_client import Broker
from fusion.site import Site


@dataclass(frozen=True, slots=True)
class ServiceConfig:
    site: Site
    broker: Broker
    db_url: str
    client_id: str
    run_cameras: bool = True
    site_path: str | None = None
