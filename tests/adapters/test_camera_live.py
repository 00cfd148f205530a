"""The camera worker against a real RTSP server (GStreamer's, started by the test) and a
real Mosquitto: entry-to-event timing, stream loss and recovery, tamper, and the
service running the worker and keeping its evidence."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
import pytest
import yaml
from paho.mqtt.enums import CallbackAPIVersion

from adapters.camera import CameraWorker
from adapters.mqtt import Broker
from fusion.site import Site, site_from_mapping
from simulators.cameras import SimulatedCameras, rtsp_available, write_clip
from simulators.scene import Scene, Walker
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
from tests.adapters.test_video import EARLY, LEFT, RIGHT, in_left, in_right
from tests.conftest import OPERATOR
from tests.peers import Mosquitto, VigieProcess, free_port

pytestmark = pytest.mark.skipif(
    not rtsp_available(), reason="needs GStreamer's RTSP server: scripts/setup.sh --test"
)


def camera_site(port: int) -> dict[str, Any]:
    return {
        "site": "coquelles",
        "zones": [
            {"id": "Z01", "polygon": [[0, 0], [50, 0], [50, 10], [0, 10]], "adjacent": ["Z02"]},
            {"id": "Z02", "polygon": [[50, 0], [100, 0], [100, 10], [50, 10]]},
        ],
        "sensors": [{"id": "fence-01", "kind": "fence", "zone": "Z01"}],
        "cameras": [
            {
                "id": "cam-01",
                "url": f"rtsp://127.0.0.1:{port}/cam-01",
                "heartbeat_s": 5,
                "zones": {"Z01": LEFT, "Z02": RIGHT},
            }
        ],
    }


class Listener:
    """Everything the camera publishes, with the time it arrived."""

    def __init__(self, port: int) -> None:
        self.events: list[tuple[float, str, dict[str, Any] | int]] = []
        self.client = paho.Client(CallbackAPIVersion.VERSION2, client_id="listener")
        self.client.on_message = self._on
        self.client.connect("127.0.0.1", port)
        self.client.subscribe("perimeter/coquelles/camera/#", qos=1)
        self.client.loop_start()

    def _on(self, c: Any, u: Any, m: paho.MQTTMessage) -> None:
        body: dict[str, Any] | int = (
            len(m.payload) if "/still/" in m.topic else json.loads(m.payload)
        )
        self.events.append((time.time(), m.topic, body))

    def named(self, event: str) -> list[tuple[float, dict[str, Any]]]:
        return [(t, b) for t, _, b in self.events if isinstance(b, dict) and b["event"] == event]

    def wait_for(
        self, event: str, within_s: float, after: float = 0.0, zone: str | None = None
    ) -> float:
        deadline = time.time() + within_s
        while time.time() < deadline:
            hits = [
                t
                for t, b in self.named(event)
                if t >= after and (zone is None or b.get("zone") == zone)
            ]
            if hits:
                return hits[0]
            time.sleep(0.05)
        raise AssertionError(f"no {event} within {within_s} s: {self.events[-5:]}")

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


@pytest.fixture
def rig(broker: Mosquitto) -> Iterator[tuple[Site, int, Listener]]:
    port = free_port()
    listener = Listener(broker.port)
    yield site_from_mapping(camera_site(port)), port, listener
    listener.close()


def start_worker(site: Site, broker: Mosquitto) -> tuple[threading.Event, threading.Thread]:
    stop = threading.Event()
    worker = CameraWorker(site, "cam-01", Broker("127.0.0.1", broker.port))
    thread = threading.Thread(target=worker.run, args=(stop,), daemon=True)
    thread.start()
    return stop, thread


def test_an_intruder_is_reported_in_zone_a_then_b_within_a_second_of_each_entry(
    rig: tuple[Site, int, Listener], broker: Mosquitto
) -> None:
    site, port, listener = rig
    walker = Walker(((0.08, 0.82), (0.92, 0.74)), start_s=5.0, speed=0.1)
    sim = SimulatedCameras(port, {"cam-01": Scene(walkers=[walker])})
    sim.start()
    stop, thread = start_worker(site, broker)
    try:
        entry_right = walker.entry_time(in_right)
        assert entry_right is not None
        listener.wait_for("person", within_s=30, after=sim.t0 + entry_right, zone="Z02")
        time.sleep(0.5)
    finally:
        stop.set()
        thread.join(10)
        sim.stop()
    persons = listener.named("person")
    first: dict[str, float] = {}
    for t, body in persons:
        first.setdefault(body["zone"], t - sim.t0)
    entry_left = walker.entry_time(in_left)
    assert entry_left is not None
    assert list(first) == ["Z01", "Z02"]
    # A detection's box is not the feet to the pixel: it may count one frame early.
    assert -EARLY <= first["Z01"] - entry_left <= 1.0, first
    assert -EARLY <= first["Z02"] - entry_right <= 1.0, first
    body = persons[0][1]
    assert len(body["data"]["box"]) == 4 and body["data"]["score"] > 0
    stills = [t for t, topic, _ in listener.events if topic.endswith(f"/still/{body['id']}")]
    assert stills, "a JPEG still goes with each person event"
    assert listener.named("heartbeat")


def test_a_stopped_stream_is_video_loss_and_its_return_brings_events_back(
    rig: tuple[Site, int, Listener], broker: Mosquitto
) -> None:
    site, port, listener = rig
    sim = SimulatedCameras(
        port,
        {"cam-01": Scene(walkers=[Walker(((0.08, 0.82), (0.92, 0.74)), start_s=15.0, speed=0.12)])},
    )
    sim.start()
    stop, thread = start_worker(site, broker)
    try:
        time.sleep(4)
        sim.stop()
        stopped = time.time()
        lost = listener.wait_for("video_loss", within_s=8, after=stopped)
        assert lost - stopped <= 5.0
        sim.start(t0=sim.t0)
        restarted = time.time()
        listener.wait_for("video_restored", within_s=15, after=restarted)
        listener.wait_for("person", within_s=25, after=restarted)
    finally:
        stop.set()
        thread.join(10)
        sim.stop()


def test_a_covered_lens_is_reported_as_tamper(
    rig: tuple[Site, int, Listener], broker: Mosquitto
) -> None:
    site, port, listener = rig
    sim = SimulatedCameras(port, {"cam-01": Scene(covered=(7.0, 60.0))})
    sim.start()
    stop, thread = start_worker(site, broker)
    try:
        t = listener.wait_for("tamper", within_s=20, after=sim.t0)
        assert t - sim.t0 >= 7.0
        assert listener.named("tamper")[0][1]["data"]["kind"] == "covered"
    finally:
        stop.set()
        thread.join(10)
        sim.stop()


def test_the_service_runs_the_camera_worker_and_keeps_its_evidence(
    broker: Mosquitto, users_file: Path, tmp_path: Path
) -> None:
    port = free_port()
    site_file = tmp_path / "site.yaml"
    site_file.write_text(yaml.safe_dump(camera_site(port)))
    walker = Walker(((0.08, 0.82), (0.45, 0.8)), start_s=6.0, speed=0.1)
    sim = SimulatedCameras(port, {"cam-01": Scene(walkers=[walker])})
    sim.start()
    v = VigieProcess(site_file, users_file, str(tmp_path / "v.db"), broker, tmp_path, extra=())
    v.start()
    try:
        deadline = time.time() + 40
        incidents: list[dict[str, Any]] = []
        while time.time() < deadline and not incidents:
            incidents = v.get("/api/incidents?state=open", OPERATOR).json()
            time.sleep(0.2)
        assert incidents, v.log()
        assert incidents[0]["modalities"] == ["camera"] and incidents[0]["zones"] == ["Z01"]
        time.sleep(2)
        detail = v.get(f"/api/incidents/{incidents[0]['id']}", OPERATOR).json()
        assert detail["evidence"], "a still of the person is kept with the incident"
        jpeg = v.get(f"/api/evidence/{detail['evidence'][0]['seq']}.jpg", OPERATOR)
        assert jpeg.status_code == 200 and jpeg.content[:2] == b"\xff\xd8"
        picture = v.get("/api/picture", OPERATOR).json()
        assert picture["cameras"][0]["last_heard"] is not None
    finally:
        v.stop()
        sim.stop()


def test_a_recorded_clip_is_analysed_and_its_end_is_reported(
    rig: tuple[Site, int, Listener], broker: Mosquitto, tmp_path: Path
) -> None:
    site, port, listener = rig
    clip = tmp_path / "walk.mp4"
    walker = Walker(((0.08, 0.82), (0.45, 0.8)), start_s=3.0, speed=0.1)
    write_clip(clip, Scene(walkers=[walker]), seconds=9.0)
    sim = SimulatedCameras(port, {}, clips={"cam-01": clip})
    sim.start()
    stop, thread = start_worker(site, broker)
    try:
        started = time.time()
        listener.wait_for("person", within_s=15, after=started, zone="Z01")
        ended = listener.wait_for("video_loss", within_s=20, after=started)
        assert ended - started >= 8.0, "the end of the clip, not a failure to start"
        assert [b["zone"] for _, b in listener.named("person")] == ["Z01"] * len(
            listener.named("person")
        ), "people only where the walker is"
    finally:
        stop.set()
        thread.join(10)
        sim.stop()


def sterile_site(port: int, zones: dict[str, Any], cameras: int) -> Site:
    site = camera_site(port)
    site["cameras"] = [
        {"id": f"cam-{i}", "url": f"rtsp://127.0.0.1:{port}/cam-{i}", "zones": zones}
        for i in range(cameras)
    ]
    return site_from_mapping(site)


def run_workers(site: Site, broker: Mosquitto, seconds: float) -> None:
    stop = threading.Event()
    workers = [CameraWorker(site, c.id, Broker("127.0.0.1", broker.port)) for c in site.cameras]
    threads = [threading.Thread(target=w.run, args=(stop,), daemon=True) for w in workers]
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join(10)


def persons_of(listener: Listener, camera: str, t0: float) -> list[tuple[float, str]]:
    return [
        (t - t0, body["zone"])
        for t, topic, body in listener.events
        if topic.endswith(f"/camera/{camera}")
        and isinstance(body, dict)
        and body["event"] == "person"
    ]


def test_walkers_along_a_sterile_lawn_are_never_reported_on_it_live(
    rig: tuple[Site, int, Listener], broker: Mosquitto
) -> None:
    """Three live workers, each sampling the stream at its own phase: the walkers along
    the kerb are on the path, and only the one who steps off it is on the lawn."""
    _, port, listener = rig
    site = sterile_site(port, KERB_ZONES, cameras=3)
    sim = SimulatedCameras(port, {c.id: kerb_scene() for c in site.cameras})
    sim.start()
    try:
        run_workers(site, broker, KERB_SCENE_S)
    finally:
        sim.stop()
    entry = CROSSER.entry_time(on_lawn)
    assert entry is not None
    for camera in site.cameras:
        seen = persons_of(listener, camera.id, sim.t0)
        lawn = [t for t, zone in seen if zone == "Z01"]
        assert lawn, f"{camera.id}: the step onto the lawn was not reported"
        assert min(lawn) >= entry, f"{camera.id}: on the lawn before anyone: {lawn}"
        assert sum(zone == "Z02" for _, zone in seen) >= 10, "the walkers are on the path"


@pytest.mark.slow
def test_real_footage_of_a_busy_path_beside_a_lawn_served_live(
    rig: tuple[Site, int, Listener], broker: Mosquitto
) -> None:
    """Debian's vtest.avi (MPEG-4 in AVI, decoded and served as H.264 over RTSP), two
    live workers: nobody on the lawn before 50 s, people on the path, the couple on the
    lawn after, and video loss when the clip ends."""
    _, port, listener = rig
    if not VTEST.exists():
        pytest.fail(f"{VTEST} is missing: scripts/setup.sh --test installs opencv-doc")
    site = sterile_site(port, VTEST_ZONES, cameras=2)
    sim = SimulatedCameras(port, {}, clips={c.id: VTEST for c in site.cameras})
    sim.start()
    try:
        run_workers(site, broker, 85.0)
    finally:
        sim.stop()
    for camera in site.cameras:
        # Times from the server's start; each clip starts when its worker connects, under
        # a second later, and nobody comes near the lawn in the second before 50 s.
        seen = persons_of(listener, camera.id, sim.t0)
        lawn = [t for t, zone in seen if zone == "Z01"]
        assert lawn and min(lawn) >= VTEST_LAWN_ENTRY_S, f"{camera.id}: lawn {lawn[:5]}"
        assert sum(zone == "Z02" for _, zone in seen) >= 50
        ends = [
            t
            for t, topic, body in listener.events
            if topic.endswith(f"/camera/{camera.id}")
            and isinstance(body, dict)
            and body["event"] == "video_loss"
        ]
        assert ends and min(ends) - sim.t0 >= 79.0, "the clip's end is reported as video loss"
