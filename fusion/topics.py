"""MQTT topic names (docs/protocol.md §2), derived from the site.

Device messages use two levels below the site (``<kind>/<id>``), which is what the
service subscribes to with ``+/+``. Everything Vigie itself publishes uses at least
three (``<kind>/<id>/set``, ``camera/<id>/still/<event>``, ``presence/<role>/<client>``),
so the service never receives its own traffic as device messages.
"""

from __future__ import annotations

from fusion.events import DeviceKind
from fusion.site import Site


def site_root(site: Site) -> str:
    return f"{site.mqtt.prefix}/{site.site}"


def device_topic(site: Site, kind: DeviceKind | str, device_id: str) -> str:
    return f"{site_root(site)}/{kind}/{device_id}"


def command_topic(site: Site, floodlight: str) -> str:
    """Where Vigie tells a floodlight to switch: ``.../floodlight/<id>/set``."""
    return f"{device_topic(site, DeviceKind.FLOODLIGHT, floodlight)}/set"


def subscription(site: Site) -> str:
    """The filter that carries every device message of the site (and no command)."""
    return f"{site_root(site)}/+/+"


def still_subscription(site: Site) -> str:
    """Camera workers' evidence stills: ``.../camera/<id>/still/<event id>``, JPEG bytes."""
    return f"{site_root(site)}/camera/+/still/+"


def still_of(site: Site, topic: str) -> tuple[str, str] | None:
    """(camera, event id) if ``topic`` carries a still, else None."""
    if "/still/" not in topic:  # every device message: answered without building a string
        return None
    root = f"{site_root(site)}/camera/"
    if not topic.startswith(root):
        return None
    levels = topic[len(root) :].split("/")
    if len(levels) == 3 and levels[1] == "still":
        return levels[0], levels[2]
    return None


def presence_topic(site: Site, role: str, client_id: str) -> str:
    """Retained ``{"online": …}`` flag of one program (service, camera worker, simulator)."""
    return f"{site_root(site)}/presence/{role}/{client_id}"


def presence_subscription(site: Site) -> str:
    return f"{site_root(site)}/presence/+/+"


# -- the joint centre's feed (docs/protocol.md §10, docs/centre.md) ----------------------
# What a site publishes for a centre lies under ``out/v1/``, what it takes from one under
# ``in/v1/``: three levels below the site, and only those two subtrees cross the bridges.

CENTRE_OUT = ("changes", "snapshot", "heartbeat", "online", "replies")
"""The site's publications, each the last level of ``<prefix>/<site>/out/v1/<name>``."""

CENTRE_IN = ("requests", "snapshot", "ping")
"""What a site takes from a centre: ``<prefix>/<site>/in/v1/<name>``."""


def centre_out(site: Site, name: str) -> str:
    """``<prefix>/<site>/out/v1/<name>``: one of :data:`CENTRE_OUT`."""
    return f"{site_root(site)}/out/v1/{name}"


def centre_in(site: Site, name: str) -> str:
    """``<prefix>/<site>/in/v1/<name>``: one of :data:`CENTRE_IN`."""
    return f"{site_root(site)}/in/v1/{name}"


def bridge_state_topic(site: Site) -> str:
    """Where a Mosquitto bridge of the site announces itself (``notification_topic`` in
    deploy/bridges): ``1`` when connected, ``0`` by its last will when it is cut."""
    return f"{site_root(site)}/bridge/centre/state"


def centre_link_of(site: Site, topic: str) -> str | None:
    """The name of a centre-feed publication of ``site`` (``changes``, ...), ``bridge``
    for its bridge's state, or None for any other topic."""
    root = site_root(site)
    if topic == bridge_state_topic(site):
        return "bridge"
    head = f"{root}/out/v1/"
    if topic.startswith(head) and topic[len(head) :] in CENTRE_OUT:
        return topic[len(head) :]
    return None
