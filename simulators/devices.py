"""Live sensor simulators: scenarios played over real MQTT, floodlights that obey."""

from __future__ import annotations

import logging
import secrets
import threading
import time
from datetime import UTC, datetime

import orjson
import paho.mqtt.client as paho

from adapters.mqtt_client import Broker, MqttClient
from adapters.recording import play
from fusion.recording import RecordedMessage
from fusion.site import SensorKind, Site
from fusion.topics import device_topic, presence_topic
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
        client_id = f"sim-floodlights-{site.site}"
        self._client = MqttClient(
            broker,
            client_id,
            role="simulator",
            presence=presence_topic(site, "simulator", client_id),
            subscriptions=[(f"{device_topic(site, 'floodlight', '+')}/set", 1)],
            on_message=self._command,
        )

    def start(self) -> None:
        self._client.start()

    def stop(self) -> None:
        self._client.stop()

    def lamp_fails(self, device: str) -> None:
        if device in self._ids:
            self.failed.add(device)

    def _command(self, m: paho.MQTTMessage) -> None:
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
        self._client.publish(
            device_topic(self.site, "floodlight", light), orjson.dumps(body), qos=1
        )
        log.info("floodlight %s %s (asked %s)", light, "on" if now_on else "stays dark", wanted)


def run_token() -> str:
    """A token for one run of a simulator, carried in every message id it sends.

    A real device that reboots does not reuse the ids of its last life (the camera worker
    puts its boot time in its ids for the same reason), and the service remembers the ids
    it has seen, across its own restarts too: a simulator that started its numbering again
    would see its new messages dropped as duplicates. The UTC time comes first, so ids sort
    by run; four random hex digits tell apart two runs started in the same second."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + secrets.token_hex(2)


def play_scenario(
    scenario: Scenario,
    site: Site,
    broker: Broker,
    stop: threading.Event,
    *,
    lights: Floodlights | None = None,
    speed: float = 1.0,
    t0: float | None = None,
    loop: bool = False,
) -> int:
    """Publish a scenario in real time (``speed`` times faster) from ``t0`` (wall clock,
    default now): once, or with ``loop`` round after round, each ``duration_s / speed``
    after the last, until ``stop``. Every id carries this run's token and the round's
    number, so no id repeats across rounds or runs. A lamp that fails in the scenario
    stays dark. Returns how many messages were sent."""
    messages = generate(scenario, site)
    if lights is not None:
        for m in messages:
            if m.payload["event"] == "fault":
                lights.lamp_fails(m.topic.split("/")[-1])
    run = run_token()
    start = time.time() if t0 is None else t0
    sent = 0
    round_no = 0
    while not stop.is_set():
        tag = f"{run}-r{round_no}"
        recorded = [
            RecordedMessage(m.t, m.topic, None, {**m.payload, "id": f"{m.payload['id']}-{tag}"}, 0)
            for m in messages
        ]
        round_t0 = start + round_no * scenario.duration_s / speed
        sent += play(recorded, broker, speed=speed, stop=stop, t0=round_t0)
        round_no += 1
        if not loop:
            break
    return sent
