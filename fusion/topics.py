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


def still_subscription(site: Site) -> str:
    """Camera workers' evidence stills: ``.../camera/<id>/still/<event id>``, JPEG bytes."""
    return f"{site.mqtt.prefix}/{site.site}/camera/+/still/+"


def still_of(site: Site, topic: str) -> tuple[str, str] | None:
    """(camera, event id) if ``topic`` carries a still, else None."""
    root = f"{site.mqtt.prefix}/{site.site}/camera/"
    if not topic.startswith(root):
        return None
    levels = topic[len(root) :].split("/")
    if len(levels) == 3 and levels[1] == "still":
        return levels[0], levels[2]
    return None
