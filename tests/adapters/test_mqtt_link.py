"""The service's MQTT link against a real Mosquitto: the bounded hand-off holds back the
broker instead of dropping, and the presence flag of the client factory."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from pathlib import Path

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from adapters.mqtt import MqttLink, RawMessage
from adapters.mqtt_client import Broker, MqttClient
from tests.peers import Mosquitto
from tests.sensors import ROOT, Gateway


def test_a_full_hand_off_holds_the_broker_back_and_loses_nothing(broker: Mosquitto) -> None:
    n, capacity = 200, 10

    async def consume() -> tuple[list[RawMessage], int, int]:
        link = MqttLink(
            Broker("127.0.0.1", broker.port), "vigie-test", [f"{ROOT}/+/+"], capacity=capacity
        )
        async with link:
            assert await link.wait_connected(10)
            publisher = threading.Thread(target=publish, args=(broker.port, n))
            publisher.start()
            got: list[RawMessage] = []
            most_held = 0
            while len(got) < n:
                batch = await link.batch(7)
                most_held = max(most_held, link.received - link.acked)
                await asyncio.sleep(0.01)  # a slow store
                got += batch
                link.ack(batch)
            await asyncio.to_thread(publisher.join, 30)
            return got, most_held, link.backpressure_waits

    got, most_held, waits = asyncio.run(consume())
    assert [json.loads(m.payload)["id"] for m in got] == [f"m{i}" for i in range(n)]
    assert most_held <= capacity, "never more than the hand-off holds"
    assert waits > 0, "the network thread waited instead of queueing without bound"


def publish(port: int, n: int) -> None:
    with Gateway(port, client_id="burst") as gw:
        for i in range(n):
            gw.event("ir", "ir-09", id=f"m{i}", event="heartbeat")
        gw.flush()


def test_presence_is_retained_and_the_last_will_says_offline(
    broker: Mosquitto, tmp_path: Path
) -> None:
    topic = f"{ROOT}/presence/camera/cam-9"
    worker = MqttClient(Broker("127.0.0.1", broker.port), "cam-9", role="camera", presence=topic)
    worker.start()
    assert worker.wait_connected(10)
    until_retained(broker.port, topic, online=True)
    worker.stop()
    assert read_retained(broker.port, topic)["online"] is False, "a clean stop says so"

    dying = MqttClient(Broker("127.0.0.1", broker.port), "cam-9", role="camera", presence=topic)
    dying.start()
    assert dying.wait_connected(10)
    until_retained(broker.port, topic, online=True)
    dying.paho.loop_stop()
    dying.paho._sock_close()  # the process dies: no DISCONNECT, the broker sends the will
    until_retained(broker.port, topic, online=False)


def until_retained(port: int, topic: str, *, online: bool, within_s: float = 10) -> None:
    """The flag is published on connection, asynchronously: wait for the broker to hold it."""
    deadline = time.monotonic() + within_s
    while read_retained(port, topic)["online"] is not online:
        assert time.monotonic() < deadline, f"{topic} never said online={online}"
        time.sleep(0.1)


def read_retained(port: int, topic: str) -> dict[str, object]:
    """The retained value of ``topic``, as a new subscriber receives it."""
    got: list[dict[str, object]] = []
    done = threading.Event()

    def on_message(c: paho.Client, u: object, m: paho.MQTTMessage) -> None:
        got.append(json.loads(m.payload))
        done.set()

    client = paho.Client(CallbackAPIVersion.VERSION2)
    client.on_message = on_message
    client.connect("127.0.0.1", port)
    client.subscribe(topic, qos=1)
    client.loop_start()
    try:
        assert done.wait(5), f"nothing retained on {topic}"
    finally:
        client.disconnect()
        client.loop_stop()
    return got[0]
