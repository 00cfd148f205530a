"""MQTT topic names of the contract (section 2), derived from the site."""

from __future__ import annotations

from fusion.events import DeviceKind
from fusion.site import Site


def sensor_topic(site: Site, kind: DeviceKind | str, device_id: str) -> str:
    return f"{site.mqtt.prefix}/{site.site}/{kind}/{device_id}"


def command_topic(site: Site, floodlight: str) -> str:
    """Where Vigie tells a floodlight to switch: ``.../floodlight/<id>/set``."""
    return f"{sensor_topic(site, DeviceKind.FLOODLIGHT, floodlight)}/set"


def subscription(site: Site) -> str:
    """The filter that carries every sensor message of the site (and no command)."""
    return f"{site.mqtt.prefix}/{site.site}/+/+"
