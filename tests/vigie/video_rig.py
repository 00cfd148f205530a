"""A camera for the service's video tests: GStreamer's RTSP server with a scene whose
frames carry the simulator's clock (simulators/overlay.py), a camera worker's live
feed, and `vigie serve` with the camera in its site file."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from adapters.video.feed import FeedServer, LiveTap
from adapters.video.stream import READ_TIMEOUT_S, RtspStream
from simulators.cameras import SimulatedCameras
from simulators.scene import Scene
from tests.builders import strip
from tests.peers import Mosquitto, VigieProcess, free_port
from tests.vigie.web import eventually


@dataclass
class CameraService:
    v: VigieProcess
    sim: SimulatedCameras
    clips: Path  # the clip folder

    def metric(self, name: str) -> float:
        from tests.conftest import OPERATOR

        return self.v.metric(name, OPERATOR)


def camera_site(rtsp: str, feed: str | None, pre: float, post: float) -> dict[str, Any]:
    site = strip()
    camera = site["cameras"][0]
    camera.update(url=rtsp, pre_capture_s=pre, post_capture_s=post)
    if feed is not None:
        camera["live_feed"] = feed
    return site


@contextlib.contextmanager
def worker_feed(url: str) -> Iterator[int]:
    """The live-feed half of a camera worker (demux once, fMP4 once, feed server), in
    this process: what `vigie camera --live` serves. Yields its port."""
    stop = threading.Event()
    tap = LiveTap()
    stream = RtspStream(url, stop, [tap], decode=False)
    stream.start()
    server = FeedServer(tap.fanout).start()
    try:
        yield server.port
    finally:
        server.stop()
        stop.set()
        stream.join(READ_TIMEOUT_S + 5)


@contextlib.contextmanager
def camera_service(
    tmp_path: Path,
    broker: Mosquitto,
    users_file: Path,
    *,
    pre: float,
    post: float,
    extra: tuple[str, ...] = (),
    feed: bool = True,
) -> Iterator[CameraService]:
    """`vigie serve --no-cameras` whose camera's live feed is served by the test."""
    sim = SimulatedCameras(free_port(), {"cam-01": Scene()}, fps=10)
    sim.start()
    try:
        with contextlib.ExitStack() as stack:
            address = None
            if feed:
                port = stack.enter_context(worker_feed(sim.url("cam-01")))
                address = f"ws://127.0.0.1:{port}/live"
            site_file = tmp_path / "site.yaml"
            site_file.write_text(yaml.safe_dump(camera_site(sim.url("cam-01"), address, pre, post)))
            data = tmp_path / "data"
            v = VigieProcess(
                site_file, users_file, str(tmp_path / "vigie.db"), broker, tmp_path,
                extra=("--no-cameras", "--data", str(data), *extra),
            )  # fmt: skip
            v.start()
            stack.callback(v.stop)
            rig = CameraService(v, sim, data / "clips")
            if feed:
                eventually(lambda: rig.metric("vigie_live_feeds_connected") == 1, 20, "feed")
            yield rig
    finally:
        sim.stop()
