"""The camera worker: reads one camera's RTSP stream once, analyses it, publishes its
events, and serves its live video (docs/video.md).

The stream is demuxed once, with PyAV, in a reader thread (:mod:`adapters.video.stream`):
every packet goes as it is (never transcoded) to the live feed's fMP4 muxer, and is
decoded; analysis runs a few times a second on the newest decoded frame (OpenCV).
Events go to the broker at QoS 1 on ``<prefix>/<site>/camera/<id>``, and a JPEG still
of each person event on ``<prefix>/<site>/camera/<id>/still/<event id>`` (the service
stores it as evidence). With ``live`` (host, port) the worker serves its live feed on
``ws://host:port/live``: the service holds one connection to it, fans the video out to
the browsers and cuts the evidence clips from it. A worker needs only the site file
and the broker: it can run on any machine.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime
from typing import Any, Final, Protocol

import cv2
import orjson
from cv2.typing import MatLike

from adapters.mqtt_client import Broker, MqttClient
from adapters.video.analyser import CameraAnalyser, Observation
from adapters.video.feed import FeedServer, LiveTap
from adapters.video.stream import OPEN_TIMEOUT_S, RtspStream, StreamState
from fusion.events import DeviceKind, EventType
from fusion.site import Camera, Site
from fusion.topics import device_topic, presence_topic

log = logging.getLogger("vigie.camera")

STALL_S: Final = 3.0
"""Watchdog: no new frame for this long means the video is lost (a stream that ends is
reported at once; this catches one that freezes, a camera never reached, and one that
sends no keyframe: nothing can be decoded before one)."""

CLOSE_TIMEOUT_S: Final = OPEN_TIMEOUT_S + 0.5
"""How long a stop waits for the reader to leave FFmpeg: an open or a read gives up
within its own timeout (4 s at most), so this is only reached by a read that hangs.
Under the 5 s that ``vigie serve`` gives a worker to stop before killing it."""

DEFAULT_HEARTBEAT_S: Final = 10.0

CAPTURE_OPTIONS: Final = "rtsp_transport;tcp|analyzeduration;300000"
"""The same options for OpenCV's FFmpeg reader (``OPENCV_FFMPEG_CAPTURE_OPTIONS``), for
the tools that read a camera with OpenCV: the benchmarks, the tests."""


class FrameSource(Protocol):
    """Where a worker's frames come from: the newest frame, its time, its number."""

    @property
    def up(self) -> bool: ...

    def latest(self) -> tuple[MatLike | None, float, int]: ...


class CameraWorker:
    """One camera of a site, from RTSP to MQTT (and to the live feed, with ``live``)."""

    def __init__(
        self,
        site: Site,
        camera_id: str,
        broker: Broker,
        fps: float = 5.0,
        live: tuple[str, int] | None = None,
    ) -> None:
        cameras = {c.id: c for c in site.cameras}
        if camera_id not in cameras:
            raise KeyError(f"no camera {camera_id!r} in site {site.site!r}")
        self.site = site
        self.camera: Camera = cameras[camera_id]
        self.broker = broker
        self.period = 1.0 / fps
        self.live = live
        self.topic = device_topic(site, DeviceKind.CAMERA, camera_id)
        self.analyser = CameraAnalyser(self.camera.zones)
        self._boot = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        self._counter = 0
        self.video_up: bool | None = None  # None: never seen yet
        self.released = True
        """After ``run``: False if the stream's reader was still inside FFmpeg."""
        client_id = f"vigie-camera-{site.site}-{camera_id}"
        self.mqtt = MqttClient(
            broker, client_id, role="camera", presence=presence_topic(site, "camera", camera_id)
        )
        self.feed: FeedServer | None = None
        if live is not None:  # bound now: a port in use is an error at start, not later
            self.tap = LiveTap()
            self.feed = FeedServer(self.tap.fanout, *live)

    def run(self, stop: threading.Event, source: FrameSource | None = None) -> None:
        """Until ``stop``: frames from the camera's RTSP stream, or from ``source``."""
        self.mqtt.start()
        reader: FrameSource
        stream: RtspStream | None = None
        reading = threading.Event()  # set: the reader stops
        if source is None:
            log.info("camera %s reading %s", self.camera.id, self.camera.url)
            sinks = [self.tap] if self.feed is not None else []
            stream = RtspStream(self.camera.url, reading, sinks, on_state=self._stream_state)
            stream.start()
            reader = stream
        else:
            reader = source
        if self.feed is not None and self.live is not None:
            self.feed.start()
            host, port = self.live[0], self.feed.port
            log.info("camera %s live feed on ws://%s:%d/live", self.camera.id, host, port)
        try:
            self._analyse(stop, reader)
        finally:
            if self.feed is not None:
                self.feed.stop()
            if stream is not None:
                reading.set()
                stream.join(CLOSE_TIMEOUT_S)
                self.released = not stream.is_alive()
            self.mqtt.stop()
            if self.released:
                log.info("camera %s stopped", self.camera.id)
            else:
                log.warning(
                    "camera %s stopped; its reader did not leave FFmpeg within %.1f s",
                    self.camera.id,
                    CLOSE_TIMEOUT_S,
                )

    def _analyse(self, stop: threading.Event, reader: FrameSource) -> None:
        heartbeat_s = self.camera.heartbeat_s or DEFAULT_HEARTBEAT_S
        next_heartbeat = time.monotonic()
        last_seq = 0
        started = time.time()
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
                self.publish(EventType.HEARTBEAT)
                next_heartbeat = tick + heartbeat_s
            stop.wait(max(0.0, self.period - (time.monotonic() - tick)))

    def _stream_state(self, state: StreamState, reason: str) -> None:
        """From the reader's thread: the stream opened, or ended (and why)."""
        if state is StreamState.WAITING_KEYFRAME:
            log.info("stream %s open", self.camera.url)
        elif state is StreamState.LOST and reason != "stopped":
            log.info("stream %s ended: %s", self.camera.url, reason)

    def _video(self, up: bool) -> None:
        if up == self.video_up:
            return
        if up and self.video_up is False:
            self.publish(EventType.VIDEO_RESTORED)
        elif not up:
            self.publish(EventType.VIDEO_LOSS)
        self.video_up = up

    def _observe(self, o: Observation, frame: MatLike) -> None:
        if o.kind == "tamper":
            self.publish(EventType.TAMPER, data={"kind": o.detail})
        elif o.kind == "tamper_cleared":
            self.publish(EventType.VIDEO_RESTORED, data={"after": "tamper"})
        elif o.kind in ("motion", "person"):
            assert o.box is not None
            data: dict[str, Any] = {"box": [round(v, 4) for v in o.box], "score": o.score}
            if o.feet is not None:
                data["feet"] = list(o.feet)
            event = EventType(o.kind)
            msg_id = self.publish(event, zone=o.zone, data=data)
            if event is EventType.PERSON:
                self._still(frame, o, msg_id)

    def publish(
        self, event: EventType, zone: str | None = None, data: dict[str, Any] | None = None
    ) -> str:
        self._counter += 1
        msg_id = f"{self.camera.id}-{self._boot}-{self._counter}"
        body: dict[str, Any] = {
            "id": msg_id,
            "ts": datetime.now(UTC).isoformat(),
            "event": event.value,
        }
        if zone is not None:
            body["zone"] = zone
        if data:
            body["data"] = data
        self.mqtt.publish(self.topic, orjson.dumps(body), qos=1)
        if event is not EventType.HEARTBEAT:
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
            self.mqtt.publish(f"{self.topic}/still/{msg_id}", jpeg.tobytes(), qos=1)
