"""Publish-to-websocket latency: sensors at 2,000 msg/s, 50 websocket clients.

A separate process publishes fence and IR alarms along a 20-zone fence at the
given rate (QoS 1), each stamped with its send time; ``vigie serve`` correlates
them into incidents; 50 websocket clients (another process) note when each
alarm's change reaches them. Prints p50, p99 and max over every (alarm, client)
pair, and the number of frames. One machine, two cores: broker, service,
publisher and clients all share them.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import multiprocessing
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.peers import Mosquitto, VigieProcess

TOKEN = "bench-token"
ZONES = 20


def site() -> dict[str, Any]:
    zones, sensors = [], []
    for z in range(ZONES):
        zid = f"Z{z:02d}"
        zones.append(
            {
                "id": zid,
                "polygon": [[z * 50, 0], [z * 50 + 50, 0], [z * 50 + 50, 10], [z * 50, 10]],
                "adjacent": [f"Z{z + 1:02d}"] if z + 1 < ZONES else [],
                "criticality": 3,
            }
        )
        sensors += [
            {"id": f"ir-{z:02d}", "kind": "ir", "zone": zid},
            {"id": f"fence-{z:02d}", "kind": "fence", "zone": zid},
        ]
    return {"site": "bench", "zones": zones, "sensors": sensors}


def publish(port: int, rate: float, seconds: float, site: str = "bench", tag: str = "a") -> None:
    """Fence and IR alarms at ``rate`` for ``seconds``, each carrying its send time."""
    import paho.mqtt.client as paho
    from paho.mqtt.enums import CallbackAPIVersion

    c = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-pub-{site}-{tag}")
    c.max_inflight_messages_set(0)
    c.max_queued_messages_set(0)
    c.connect("127.0.0.1", port)
    c.loop_start()
    n = int(rate * seconds)
    start = time.perf_counter()
    for i in range(n):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        z = (i // 7) % ZONES
        kind = "fence" if i % 2 else "ir"
        body = {"id": f"{tag}-{i}", "event": "alarm", "data": {"sent": time.time()}}
        c.publish(f"perimeter/{site}/{kind}/{kind}-{z:02d}", orjson.dumps(body), qos=1)
    time.sleep(1)
    c.loop_stop()


async def watch(
    url: str, clients: int, seconds: float, token: str = TOKEN
) -> tuple[list[float], list[float], int]:
    """``clients`` websocket clients for ``seconds``: each alarm's latency at the client,
    and at the service (the frame's own time), and the frames seen."""
    from websockets.asyncio.client import connect

    latencies: list[float] = []
    server_side: list[float] = []
    frames = 0

    async def one() -> None:
        nonlocal frames
        async with connect(
            url,
            additional_headers={"Authorization": f"Bearer {token}"},
            compression=None,
            max_size=None,
        ) as ws:
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                try:
                    text = await asyncio.wait_for(ws.recv(), timeout=1)
                except TimeoutError:
                    continue
                now = time.time()
                msg = orjson.loads(text)
                frames += 1
                for event in msg.get("events", ()):
                    sent = event.get("data", {}).get("sent")
                    if sent is not None:
                        latencies.append(now - sent)
                        server_side.append(msg["t"] - sent)

    await asyncio.gather(*(one() for _ in range(clients)))
    return latencies, server_side, frames


def watcher(url: str, clients: int, seconds: float, out: Any, token: str = TOKEN) -> None:
    out.put(asyncio.run(watch(url, clients, seconds, token)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=float, default=2000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        broker = Mosquitto(tmp / "broker")
        broker.start()
        site_file = tmp / "site.yaml"
        site_file.write_text(yaml.safe_dump(site()))
        users = tmp / "users.yaml"
        digest = hashlib.sha256(TOKEN.encode()).hexdigest()
        users.write_text(
            yaml.safe_dump(
                {"users": [{"name": "bench", "role": "commander", "token_sha256": digest}]}
            )
        )
        v = VigieProcess(site_file, users, str(tmp / "v.db"), broker, tmp)
        v.start()
        try:
            results: Any = multiprocessing.Queue()
            watch_proc = multiprocessing.Process(
                target=watcher,
                args=(f"ws://127.0.0.1:{v.port}/ws", args.clients, args.seconds + 4, results),
            )
            watch_proc.start()
            time.sleep(2)  # let every client connect and take its snapshot
            pub = multiprocessing.Process(
                target=publish, args=(broker.port, args.rate, args.seconds)
            )
            pub.start()
            pub.join()
            latencies, server_side, frames = results.get(timeout=120)
            watch_proc.join()
        finally:
            v.stop()
            broker.stop()
    latencies.sort()
    server_side.sort()
    n = len(latencies)
    expected = int(args.rate * args.seconds) * args.clients
    print(
        f"{args.rate:,.0f} msg/s for {args.seconds:.0f} s, {args.clients} websocket clients: "
        f"{n:,} of {expected:,} (alarm, client) deliveries seen, {frames:,} frames"
    )
    for name, xs in (
        ("publish -> frame sent (service)", server_side),
        ("publish -> client receipt (end to end)", latencies),
    ):
        if xs:
            print(f"{name}: {percentiles(xs)}")


def percentiles(xs: list[float]) -> str:
    def at(f: float) -> float:
        return xs[min(len(xs) - 1, int(f * len(xs)))] * 1000

    mean = statistics.fmean(xs) * 1000
    top = xs[-1] * 1000
    return f"p50 {at(0.5):.1f} ms, p99 {at(0.99):.1f} ms, max {top:.1f} ms, mean {mean:.1f} ms"


if __name__ == "__main__":
    main()
