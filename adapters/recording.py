"""Recordings and a live broker: ``vigie record`` and ``vigie replay --broker``."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import IO

import paho.mqtt.client as paho

from adapters.mqtt_client import Broker, MqttClient, unique_client_id
from fusion.recording import BadLine, RecordedMessage, format_line, parse_line

log = logging.getLogger("vigie.recording")


def _connected_client(broker: Broker, role: str) -> MqttClient:
    client = MqttClient(broker, unique_client_id(f"vigie-{role}"), role=role)
    client.start()
    if not client.wait_connected(10):
        client.stop()
        raise ConnectionError(f"no broker at {broker}")
    return client


def play(
    messages: Iterable[RecordedMessage],
    broker: Broker,
    speed: float = 1.0,
    stop: threading.Event | None = None,
    t0: float | None = None,
) -> int:
    """Publish messages at ``speed`` times real time (QoS 1); returns how many were sent."""
    client = _connected_client(broker, "player")
    start = time.time() if t0 is None else t0
    sent = 0
    infos = []
    try:
        for m in messages:
            due = start + m.t / speed
            while (delay := due - time.time()) > 0:
                if stop is not None and stop.wait(min(delay, 0.5)):
                    return sent
                if stop is None:
                    time.sleep(delay)
            info = client.publish(m.topic, m.payload_bytes(), qos=1)
            if info is not None:
                infos.append(info)
                sent += 1
        for info in infos:
            info.wait_for_publish(10)
    finally:
        client.stop()
    return sent


def read_recording(path: Path) -> list[RecordedMessage]:
    out = []
    with path.open("rb") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                out.append(parse_line(line))
            except BadLine as exc:
                log.warning("line %d skipped: %s", n, exc)
    return out


class Recorder:
    """Writes every device message of a site, with its time from the start, as JSON Lines."""

    def __init__(self, broker: Broker, topics: list[str], out: IO[bytes]) -> None:
        self.broker = broker
        self.topics = topics
        self.out = out
        self.count = 0
        self._lock = threading.Lock()
        self._start = 0.0

    def run(self, stop: threading.Event) -> None:
        client = MqttClient(
            self.broker,
            unique_client_id("vigie-recorder"),
            role="recorder",
            subscriptions=[(t, 1) for t in self.topics],
            on_message=self._on_message,
        )
        self._start = time.time()
        client.start()
        try:
            stop.wait()
        finally:
            client.stop()
            self.out.flush()

    def _on_message(self, m: paho.MQTTMessage) -> None:
        line = format_line(time.time() - self._start, m.topic, bytes(m.payload))
        with self._lock:
            self.out.write(line + b"\n")
            self.count += 1
