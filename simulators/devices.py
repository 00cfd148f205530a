"""Live sensor simulators: scenarios played over real MQTT, floodlights that obey."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import orjson
import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from adapters.mqtt import Broker
from adapters.recording import play
from fusion.recording import RecordedMessage
from fusion.site import SensorKind, Site
from fusion.topics import device_topic
from simulators.scenario import Scenario, generate

log = logging.getLogger("vigie.simulators")


class Floodlights:
    """The site's floodlights: switch on when told on ``.../set``, report their state,
    and stay dark once their lamp has failed."""

    def __init__(self, site: Site, broker: Broker) -> None:
        self.site = site
        self.broker = broker
        self.failed: set[str] = set()
        self.on: dict[str, bool] = {}
        self._counter = 0
        self._ids = {s.id for s in site.sensors if s.kind is SensorKind.FLOODLIGHT}
        self._client = paho.Client(
            CallbackAPIVersion.VERSION2, client_id=f"sim-floodlights-{site.site}"
        )
        self._client.on_message = self._command
        prefix = device_topic(site, "floodlight", "+")
        self._client.on_connect = lambda c, u, f, rc, p: c.subscribe(f"{prefix}/set", qos=1)

    def start(self) -> None:
        self._client.connect_async(self.broker.host, self.broker.port)
        self._client.loop_start()

    def stop(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    def lamp_fails(self, device: str) -> None:
        if device in self._ids:
            self.failed.add(device)

    def _command(self, client: Any, userdata: Any, m: paho.MQTTMessage) -> None:
        light = m.topic.split("/")[-2]
        try:
            wanted = bool(orjson.loads(m.payload).get("on"))
        except (orjson.JSONDecodeError, AttributeError):
            log.warning("floodlight %s: unreadable command %r", light, m.payload[:80])
            return
        if light not in self._ids:
            return
        now_on = wanted and light not in self.failed
        self.on[light] = now_on
        self._counter += 1
        body = {
            "id": f"{light}-cmd-{time.time_ns()}-{self._counter}",
            "event": "state",
            "data": {"on": now_on},
        }
        client.publish(device_topic(self.site, "floodlight", light), orjson.dumps(body), qos=1)
        log.info("floodlight %s %s (asked %s)", light, "on" if now_on else "stays dark", wanted)


def play_scenario(
    scenario: Scenario,
    site: Site,
    broker: Broker,
    stop: threading.Event,
    *,
    lights: Floodlights | None = None,
    speed: float = 1.0,
    t0: float | None = None,
    round_no: int = 0,
) -> int:
    """Publish one run of a scenario in real time (``speed`` times faster). A lamp that
    fails in the scenario stays dark for the whole run."""
    messages = generate(scenario, site)
    if lights is not None:
        for m in messages:
            if m.payload["event"] == "fault":
                lights.lamp_fails(m.topic.split("/")[-1])
    recorded = [
        RecordedMessage(
            m.t, m.topic, None, {**m.payload, "id": f"{m.payload['id']}-r{round_no}"}, 0
        )
        for m in messages
    ]
    return play(recorded, broker, speed=speed, stop=stop, t0=t0)
