"""The camera worker: reads one camera's RTSP stream, analyses it, publishes its events.

Decoding runs in a reader thread (OpenCV's FFmpeg backend, RTSP over TCP); analysis
runs a few times a second on the latest frame; events go to the broker at QoS 1 on
``<prefix>/<site>/camera/<id>``, and a JPEG still of each person event on
``<prefix>/<site>/camera/<id>/still/<event id>`` (the service stores it as evidence).
A worker needs only the site file and the broker: it can run on any machine.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from datetime import UTC, datetime
from typing import Any, Final, Protocol

import cv2
import orjson
import paho.mqtt.client as paho
from cv2.typing import MatLike
from paho.mqtt.enums import CallbackAPIVersion

from adapters.mqtt import Broker
from adapters.video.analyser import CameraAnalyser, Observation
from fusion.site import Camera, Site
from fusion.topics import device_topic

log = logging.getLogger("vigie.camera")

CAPTURE_OPTIONS: Final = "rtsp_transport;tcp|analyzeduration;300000"
"""TCP survives packet loss on a site network; a short analyse time opens in ~0.3 s."""

OPEN_TIMEOUT_MS: Final = 4000
READ_TIMEOUT_MS: Final = 2500
"""A stream that stalls is given up after 2.5 s, so video_loss goes out within 5 s."""

STALL_S: Final = 3.0
"""Watchdog: no new frame for this long means the video is lost (a stream that ends is
reported at once; this catches one that freezes, and a camera never reached)."""

CLOSE_TIMEOUT_S: Final = OPEN_TIMEOUT_MS / 1000 + 0.5
"""How long a stop waits for the reader to leave OpenCV: an open or a read gives up
within its own timeout (4 s at most), so this is only reached by a capture that hangs.
Under the 5 s that ``vigie serve`` gives a worker to stop before killing it."""

RECONNECT_MAX_S: Final = 5.0
DEFAULT_HEARTBEAT_S: Final = 10.0


class FrameSource(Protocol):
    """Where a worker's frames come from: the newest frame, its time, its number."""

    up: bool

    def latest(self) -> tuple[MatLike | None, float, int]: ...


class RtspReader(threading.Thread):
    """Keeps the newest decoded frame of a stream; reconnects with capped backoff until
    closed. ``close()`` returns once the capture is released: the thread is never left
    inside OpenCV while the interpreter shuts down (which aborts the process)."""

    def __init__(self, url: str) -> None:
        super().__init__(name=f"rtsp-{url}", daemon=True)
        os.environ.setdefault("OPENCV_FFMPEG_CAPTURE_OPTIONS", CAPTURE_OPTIONS)
        self.url = url
        self._closing = threading.Event()
        self._lock = threading.Lock()
        self._frame: MatLike | None = None
        self._frame_t = 0.0
        self._seq = 0
        self.connects = 0
        self.up = False

    def latest(self) -> tuple[MatLike | None, float, int]:
        with self._lock:
            return self._frame, self._frame_t, self._seq

    def close(self, timeout: float = CLOSE_TIMEOUT_S) -> bool:
        """Stop reading and release the capture; False if it is still inside OpenCV
        after ``timeout`` (only a capture that ignores its own timeouts)."""
        self._closing.set()
        if self.is_alive():
            self.join(timeout)
        return not self.is_alive()

    def run(self) -> None:
        delay = 0.5
        while not self._closing.is_set():
            self.connects += 1
            cap = cv2.VideoCapture(
                self.url,
                cv2.CAP_FFMPEG,
                [
                    cv2.CAP_PROP_OPEN_TIMEOUT_MSEC,
                    OPEN_TIMEOUT_MS,
                    cv2.CAP_PROP_READ_TIMEOUT_MSEC,
                    READ_TIMEOUT_MS,
                ],
            )
            frames = 0
            if cap.isOpened():
                log.info("stream %s open", self.url)
            try:
                while cap.isOpened() and not self._closing.is_set():
                    ok, frame = cap.read()
                    if not ok:
                        break
                    frames += 1
                    self.up = True
                    with self._lock:
                        self._frame, self._frame_t, self._seq = frame, time.time(), self._seq + 1
            finally:
                cap.release()
                self.up = False
            if self._closing.is_set():
                break
            if frames:
                delay = 0.5
            log.info(
                "stream %s ended after %d frames; reconnecting in %.1f s", self.url, frames, delay
            )
            self._closing.wait(delay)
            delay = min(RECONNECT_MAX_S, delay * 2)
        log.info("stream %s: capture released", self.url)


class CameraWorker:
    """One camera of a site, from RTSP to MQTT."""

    def __init__(self, site: Site, camera_id: str, broker: Broker, fps: float = 5.0) -> None:
        cameras = {c.id: c for c in site.cameras}
        if camera_id not in cameras:
            raise KeyError(f"no camera {camera_id!r} in site {site.site!r}")
        self.site = site
        self.camera: Camera = cameras[camera_id]
        self.broker = broker
        self.period = 1.0 / fps
        self.topic = device_topic(site, "camera", camera_id)
        self.analyser = CameraAnalyser(self.camera.zones)
        self._boot = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        self._counter = 0
        self.video_up: bool | None = None  # None: never seen yet
        self.released = True
        """After ``run``: False if the stream's capture was still open (see RtspReader)."""
        self._client = paho.Client(
            CallbackAPIVersion.VERSION2, client_id=f"vigie-camera-{site.site}-{camera_id}"
        )
        self._client.max_queued_messages_set(0)
        self._client.reconnect_delay_set(1, 30)

    def run(self, stop: threading.Event, source: FrameSource | None = None) -> None:
        """Until ``stop``: frames from the camera's RTSP stream, or from ``source``."""
        self._client.connect_async(self.broker.host, self.broker.port)
        self._client.loop_start()
        reader: FrameSource
        rtsp: RtspReader | None = None
        if source is None:
            log.info("camera %s reading %s", self.camera.id, self.camera.url)
            rtsp = RtspReader(self.camera.url)
            rtsp.start()
            reader = rtsp
        else:
            reader = source
        heartbeat_s = self.camera.heartbeat_s or DEFAULT_HEARTBEAT_S
        next_heartbeat = time.monotonic()
        last_seq = 0
        started = time.time()
        try:
            while not stop.is_set():
                tick = time.monotonic()
                frame, frame_t, seq = reader.latest()
                now = time.time()
                if seq != last_seq and frame is not None:
                    last_seq = seq
                    self._video(True)
                    observations = self.analyser.analyse(frame, frame_t)
                    for o in observations:
                        self._observe(o, frame)
                elif not reader.up and (self.video_up or now - started > STALL_S):
                    self._video(False)  # the stream ended, or never came
                elif now - (frame_t or started) > STALL_S:
                    self._video(False)  # frames stopped without the stream ending
                if tick >= next_heartbeat:
                    self.publish("heartbeat")
                    next_heartbeat = tick + heartbeat_s
                stop.wait(max(0.0, self.period - (time.monotonic() - tick)))
        finally:
            if rtsp is not None:
                self.released = rtsp.close()
            self._client.disconnect()
            self._client.loop_stop()
            if self.released:
                log.info("camera %s stopped", self.camera.id)
            else:
                log.warning(
                    "camera %s stopped; its capture did not close within %.0f s",
                    self.camera.id,
                    CLOSE_TIMEOUT_S,
                )

    def _video(self, up: bool) -> None:
        if up == self.video_up:
            return
        if up and self.video_up is False:
            self.publish("video_restored")
        elif not up:
            self.publish("video_loss")
        self.video_up = up

    def _observe(self, o: Observation, frame: MatLike) -> None:
        if o.kind == "tamper":
            self.publish("tamper", data={"kind": o.detail})
        elif o.kind == "tamper_cleared":
            self.publish("video_restored", data={"after": "tamper"})
        elif o.kind in ("motion", "person"):
            assert o.box is not None
            data: dict[str, Any] = {"box": [round(v, 4) for v in o.box], "score": o.score}
            if o.feet is not None:
                data["feet"] = list(o.feet)
            msg_id = self.publish(o.kind, zone=o.zone, data=data)
            if o.kind == "person":
                self._still(frame, o, msg_id)

    def publish(
        self, event: str, zone: str | None = None, data: dict[str, Any] | None = None
    ) -> str:
        self._counter += 1
        msg_id = f"{self.camera.id}-{self._boot}-{self._counter}"
        body: dict[str, Any] = {"id": msg_id, "ts": datetime.now(UTC).isoformat(), "event": event}
        if zone is not None:
            body["zone"] = zone
        if data:
            body["data"] = data
        self._client.publish(self.topic, orjson.dumps(body), qos=1)
        if event != "heartbeat":
            log.info("%s %s %s", self.camera.id, event, zone or "")
        return msg_id

    def _still(self, frame: MatLike, o: Observation, msg_id: str) -> None:
        assert o.box is not None
        h, w = frame.shape[:2]
        x, y, bw, bh = o.box
        still = frame.copy()
        cv2.rectangle(
            still, (int(x * w), int(y * h)), (int((x + bw) * w), int((y + bh) * h)), (0, 0, 255), 2
        )
        ok, jpeg = cv2.imencode(".jpg", still, [cv2.IMWRITE_JPEG_QUALITY, 80])
        if ok:
            self._client.publish(f"{self.topic}/still/{msg_id}", jpeg.tobytes(), qos=1)
