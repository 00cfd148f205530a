"""False sterile-zone events and entry latency of live camera workers, over real RTSP.

    .venv/bin/python bench/sterile_edge.py [--scene kerb|vtest] [--runs N] [--cameras K]

Serves the scene over GStreamer's RTSP server, runs K camera workers at their defaults
(each on its own mount, so each samples the stream at its own phase) against a real
Mosquitto, and counts, per worker:
- ``false``: person events on the lawn (Z01) before anyone set foot on it;
- ``entry``: time from the first step onto the lawn to the first lawn person event
  (time of arrival at the broker; scene ``kerb`` only, whose step time is exact);
- ``path``: person events on the path (Z02), where the walkers are;
- for ``vtest``: whether video_loss came when the clip ended.
Prints one line per worker and the totals; never fails on a figure.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from adapters.camera import CameraWorker
from adapters.mqtt import Broker
from fusion.site import site_from_mapping
from simulators.cameras import SimulatedCameras
from tests.adapters.kerb_scene import (
    CROSSER,
    KERB_SCENE_S,
    KERB_ZONES,
    VTEST,
    VTEST_LAWN_ENTRY_S,
    VTEST_ZONES,
    kerb_scene,
    on_lawn,
)
from tests.peers import Mosquitto, free_port


def site(port: int, cameras: int, zones: dict[str, Any]) -> dict[str, Any]:
    return {
        "site": "bench",
        "zones": [
            {"id": "Z01", "polygon": [[0, 0], [50, 0], [50, 10], [0, 10]], "adjacent": ["Z02"]},
            {"id": "Z02", "polygon": [[50, 0], [100, 0], [100, 10], [50, 10]]},
        ],
        "sensors": [],
        "cameras": [
            {"id": f"cam-{i}", "url": f"rtsp://127.0.0.1:{port}/cam-{i}", "zones": zones}
            for i in range(cameras)
        ],
    }


class Events:
    def __init__(self, port: int) -> None:
        self.seen: list[tuple[float, str, dict[str, Any]]] = []
        self._client = paho.Client(CallbackAPIVersion.VERSION2, client_id="bench-listener")
        self._client.on_message = self._on
        self._client.connect("127.0.0.1", port)
        self._client.subscribe("perimeter/bench/camera/+", qos=1)
        self._client.loop_start()

    def _on(self, c: Any, u: Any, m: paho.MQTTMessage) -> None:
        self.seen.append((time.time(), m.topic.rsplit("/", 1)[1], json.loads(m.payload)))

    def close(self) -> None:
        self._client.loop_stop()
        self._client.disconnect()


def one_run(scene: str, cameras: int, workdir: Path) -> list[dict[str, Any]]:
    broker = Mosquitto(workdir / "broker")
    broker.start()
    port = free_port()
    zones = KERB_ZONES if scene == "kerb" else VTEST_ZONES
    the_site = site_from_mapping(site(port, cameras, zones))
    mounts = [f"cam-{i}" for i in range(cameras)]
    if scene == "kerb":
        sim = SimulatedCameras(port, dict.fromkeys(mounts, kerb_scene()))
        seconds, entry = KERB_SCENE_S, CROSSER.entry_time(on_lawn)
    else:
        sim = SimulatedCameras(port, {}, clips=dict.fromkeys(mounts, VTEST))
        seconds, entry = 85.0, VTEST_LAWN_ENTRY_S
    assert entry is not None
    events = Events(broker.port)
    stop = threading.Event()
    threads = []
    sim.start()
    t0 = sim.t0
    for cam in mounts:
        worker = CameraWorker(the_site, cam, Broker("127.0.0.1", broker.port))
        thread = threading.Thread(target=worker.run, args=(stop,), daemon=True)
        thread.start()
        threads.append(thread)
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join(15)
    sim.stop()
    events.close()
    broker.stop()
    if scene == "vtest":
        t0 += 0.5  # a clip starts when its first viewer has connected: about 0.5 s
    rows = []
    for cam in mounts:
        mine = [(t - t0, b) for t, c, b in events.seen if c == cam]
        persons = [(t, b) for t, b in mine if b["event"] == "person"]
        lawn = [(t, b) for t, b in persons if b["zone"] == "Z01"]
        false = [(round(t, 2), b["data"]["box"], b["data"]["score"]) for t, b in lawn if t < entry]
        after = [t for t, _ in lawn if t >= entry]
        rows.append(
            {
                "camera": cam,
                "false": len(false),
                "false_events": false,
                "entry_s": round(after[0] - entry, 2) if after and scene == "kerb" else None,
                "first_lawn_s": round(after[0], 2) if after else None,
                "path": sum(1 for _, b in persons if b["zone"] == "Z02"),
                "lawn_after_entry": len(after),
                "video_loss": any(b["event"] == "video_loss" for _, b in mine),
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scene", choices=("kerb", "vtest"), default="kerb")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--cameras", type=int, default=3)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(args.runs):
            for row in one_run(args.scene, args.cameras, Path(tmp) / f"run{run}"):
                print(f"run {run} {json.dumps(row)}", flush=True)
                rows.append(row)
    false = sum(r["false"] for r in rows)
    runs_with = sum(1 for r in rows if r["false"])
    entries = [r["entry_s"] for r in rows if r["entry_s"] is not None]
    print(
        f"{args.scene}: {len(rows)} live worker runs; false lawn events {false} in {runs_with} runs"
    )
    if args.scene == "kerb":
        missed = sum(1 for r in rows if r["entry_s"] is None)
        if entries:
            print(
                f"  entry to event: min {min(entries):.2f} s, max {max(entries):.2f} s, "
                f"mean {sum(entries) / len(entries):.2f} s; entries missed {missed}"
            )
    print(f"  path person events per run: {[r['path'] for r in rows]}")
    print(f"  video_loss reported: {sum(r['video_loss'] for r in rows)}/{len(rows)}")


if __name__ == "__main__":
    main()
