"""Sustained ingest through the broker: ``vigie serve`` against a bare paho subscriber.

Both consumers drain the same kind of backlog on the same broker in the same run:
N heartbeat messages queued (QoS 1) in the consumer's persistent session while it is
offline, so the publisher's speed does not limit the figure. The bare subscriber
(stock paho, then paho reading through Vigie's buffered socket, adapters/mqtt_socket.py)
only counts; Vigie parses, correlates, stores (SQLite, synchronous=FULL) and
acknowledges after commit. Prints messages per second for both and the ratio.
"""

from __future__ import annotations

import argparse
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import paho.mqtt.client as paho
import yaml
from paho.mqtt.enums import CallbackAPIVersion

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from adapters.mqtt_socket import BufferedClient
from tests.builders import strip
from tests.peers import Mosquitto, VigieProcess

ROOT = "perimeter/coquelles"


def register_session(port: int, client_id: str, topic: str) -> None:
    """Connect once with a persistent session and subscribe, so the broker queues for it."""
    c = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False)
    c.connect("127.0.0.1", port)
    c.subscribe(topic, qos=1)
    c.loop_start()
    time.sleep(0.5)
    c.disconnect()
    c.loop_stop()


def preload(port: int, n: int, tag: str) -> None:
    lines = "".join(f'{{"id": "{tag}-{i}", "event": "heartbeat"}}\n' for i in range(n))
    subprocess.run(
        ["mosquitto_pub", "-p", str(port), "-q", "1", "-t", f"{ROOT}/ir/ir-09", "-l"],
        input=lines.encode(),
        check=True,
    )


def bare_drain(port: int, n: int, client: type[paho.Client] = paho.Client) -> float:
    got = 0
    done = threading.Event()
    first = 0.0

    def on_message(c: paho.Client, u: object, m: paho.MQTTMessage) -> None:
        nonlocal got, first
        if got == 0:
            first = time.perf_counter()
        got += 1
        if got >= n:
            done.set()

    c = client(CallbackAPIVersion.VERSION2, client_id="bare", clean_session=False)
    c.max_inflight_messages_set(0)
    c.on_message = on_message
    c.connect("127.0.0.1", port)
    c.loop_start()
    done.wait(300)
    elapsed = time.perf_counter() - first
    c.disconnect()
    c.loop_stop()
    return n / elapsed


def vigie_drain(v: VigieProcess, db: Path, n: int) -> float:
    v.start()
    start = 0.0
    while True:
        with sqlite3.connect(db) as conn:
            count = conn.execute("SELECT COUNT(*) FROM messages").fetchone()[0]
        if count and not start:
            start = time.perf_counter()
            first = count
        if count >= n:
            break
        time.sleep(0.01)
    elapsed = time.perf_counter() - start
    n -= first
    v.stop()
    return n / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=50_000)
    args = parser.parse_args()
    n = args.messages
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        broker = Mosquitto(tmp / "broker")
        broker.start()
        try:
            register_session(broker.port, "bare", f"{ROOT}/+/+")
            preload(broker.port, n, "bare")
            bare = bare_drain(broker.port, n)
            preload(broker.port, n, "buffered")
            buffered = bare_drain(broker.port, n, BufferedClient)

            site = tmp / "site.yaml"
            site.write_text(yaml.safe_dump(strip()))
            users = tmp / "users.yaml"
            users.write_text("users: []\n")
            db = tmp / "vigie.db"
            v = VigieProcess(site, users, str(db), broker, tmp)
            v.start()  # creates the persistent session, then goes away
            v.stop()
            preload(broker.port, n, "vigie")
            rate = vigie_drain(v, db, n)
        finally:
            broker.stop()
    print(f"backlog of {n:,} QoS 1 messages on one Mosquitto:")
    print(f"  bare paho subscriber (counts only): {bare:>9,.0f} msg/s")
    print(f"  the same with Vigie's buffered reads: {buffered:>9,.0f} msg/s")
    print(f"  vigie serve (parse, fuse, store, ack after commit): {rate:>9,.0f} msg/s")
    print(f"  ratio: {rate / bare:.2f} of the bare subscriber")
    print(f"  (and {rate / buffered:.2f} of the bare subscriber reading as Vigie does)")


if __name__ == "__main__":
    main()
