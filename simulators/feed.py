"""An intelligence feed simulator (docs/protocol.md §9): the messages a joint intelligence
unit or a border police cell would publish on ``<prefix>/<site>/intel/<source>``.

:func:`intel_message` is the one builder of such messages, used by the scenarios (an
``intel`` actor) and by :class:`FeedSimulator`, which issues a stream of warnings of
varied grades over MQTT, replaces some and withdraws others, as a live feed does.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from datetime import UTC, datetime
from typing import Any

import orjson

from adapters.mqtt_client import Broker, MqttClient
from fusion.site import Site
from fusion.topics import device_topic, presence_topic

log = logging.getLogger("vigie.simulators.feed")


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z")


def intel_message(
    msg_id: str,
    ts: float,
    ref: str,
    *,
    title: str = "",
    zones: list[str] | None = None,
    from_s: float = 0.0,
    until_s: float = 0.0,
    source_grade: str = "2",
    information_grade: str = "B",
    handling: str = "P",
    conditions: str | None = None,
    desks: list[str] | None = None,
    withdraw: bool = False,
    **extra: Any,
) -> dict[str, Any]:
    """An ``issue`` (or, with ``withdraw``, a ``withdraw``) written at ``ts`` on the feed's
    own clock; the window runs from ``ts + from_s`` to ``ts + until_s``."""
    if withdraw:
        return {"id": msg_id, "ts": iso(ts), "event": "withdraw", "data": {"ref": ref}}
    data: dict[str, Any] = {
        "ref": ref,
        "title": title,
        "zones": zones or [],
        "valid_from": iso(ts + from_s),
        "valid_until": iso(ts + until_s),
        "source_grade": source_grade,
        "information_grade": information_grade,
        "handling": handling,
        **extra,
    }
    if conditions is not None:
        data["conditions"] = conditions
    if desks is not None:
        data["desks"] = desks
    return {"id": msg_id, "ts": iso(ts), "event": "issue", "data": data}


WARNINGS = (
    ("group", "Group of about {n} seen heading for {zone}"),
    ("vehicle", "Van parked for a long time near {zone}"),
    ("drone", "Drone reported over {zone}"),
    ("cut", "Fence-cutting tools found near {zone}"),
)
GRADES = (("1", "A"), ("2", "B"), ("2", "B"), ("2", "C"), ("3", "C"), ("2", "D"), ("3", "E"))
"""Mostly credible, some rumours (grade 3, or D/E), as a real feed mixes them."""


class FeedSimulator:
    """Issues, replaces and withdraws warnings on one feed, every ``every_s`` seconds."""

    def __init__(self, site: Site, broker: Broker, source: str, seed: int = 7) -> None:
        self.site = site
        self.source = source
        self.rng = random.Random(seed)
        self.topic = device_topic(site, "intel", source)
        self.client = MqttClient(
            broker,
            f"sim-feed-{site.site}-{source}",
            role="feed",
            presence=presence_topic(site, "feed", source),
        )
        self.run_token = f"{int(time.time()):x}{self.rng.randrange(16**4):04x}"
        self.count = 0
        self.open: list[str] = []

    def issue(self, now: float) -> dict[str, Any]:
        """The next message: a new warning, or now and then a replacement or withdrawal."""
        self.count += 1
        msg_id = f"{self.source}-{self.run_token}-{self.count}"
        roll = self.rng.random()
        if self.open and roll < 0.2:
            return intel_message(msg_id, now, self.open.pop(0), withdraw=True)
        ref = self.open[0] if self.open and roll < 0.35 else f"SIM-{self.run_token}-{self.count}"
        zone = self.rng.choice(self.site.zones)
        category, title = self.rng.choice(WARNINGS)
        source_grade, information_grade = self.rng.choice(GRADES)
        if ref not in self.open:
            self.open.append(ref)
        return intel_message(
            msg_id,
            now,
            ref,
            title=title.format(n=self.rng.randrange(5, 40), zone=zone.name or zone.id),
            zones=[zone.id, *zone.adjacent[:1]],
            from_s=self.rng.choice((0, 0, 60)),
            until_s=self.rng.choice((300, 900, 1800)),
            source_grade=source_grade,
            information_grade=information_grade,
            category=category,
        )

    def run(self, stop: threading.Event, every_s: float = 60.0) -> None:
        self.client.start()
        try:
            while not stop.is_set():
                body = self.issue(time.time())
                self.client.publish(self.topic, orjson.dumps(body), qos=1)
                log.info("feed %s: %s %s", self.source, body["event"], body["data"]["ref"])
                stop.wait(every_s)
        finally:
            self.client.stop()
