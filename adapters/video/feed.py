"""A camera's live feed between its two processes (see docs/video.md):

- in the camera worker, :class:`LiveTap` turns the packets into fMP4 segments once and
  :class:`FeedServer` serves them on a local websocket (``ws://host:port/live``);
- in the service, :class:`CameraFeed` holds one connection to that websocket per
  camera, fans the same bytes out to the browsers, keeps a ring of recent video and
  writes the evidence clips from it.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed
from websockets.protocol import State
from websockets.sync.server import Server, ServerConnection, serve

from adapters.video.clips import ClipError, ClipFile, ClipRecorder
from adapters.video.fmp4 import Fmp4Muxer
from adapters.video.live import FEED_RESTARTED, TOO_SLOW, Fanout, Outgoing
from adapters.video.media import Segment, SegmentKind, VideoPacket
from adapters.video.ring import Ring

log = logging.getLogger("vigie.video")

MAX_MESSAGE: Final = 16 * 1024 * 1024
"""Largest segment accepted from a worker: a 4K keyframe is a few MB."""

RING_MARGIN_S: Final = 5.0
"""Kept beyond pre_capture_s: an event reaches the service (and its clip starts)
a moment after the frame it was seen on."""

RING_MAX_BYTES: Final = 64 * 1024 * 1024

HANDLER_CHECK_S: Final = 0.5
"""A feed connection notices that it was closed within this even when the camera sends
nothing (a stalled camera must not keep a worker from stopping)."""

PING_S: Final = 10.0
"""Keepalive towards the worker: a worker whose machine vanished is noticed in 20 s."""


class LiveTap:
    """A packet sink for :class:`~adapters.video.stream.RtspStream`: packets to fMP4
    segments, once, into a fan-out."""

    def __init__(self, fanout: Fanout | None = None) -> None:
        self.fanout = fanout or Fanout()
        self.muxer = Fmp4Muxer()

    def __call__(self, packet: VideoPacket) -> None:
        for segment in self.muxer.push(packet):
            self.fanout.publish(segment)


class FeedServer:
    """The worker's side: serves its fan-out on ``ws://host:port/live``, one thread
    per connection (normally one: the service)."""

    def __init__(self, fanout: Fanout, host: str = "127.0.0.1", port: int = 0) -> None:
        self.fanout = fanout
        self._server: Server = serve(
            self._handle, host, port, compression=None, max_size=1024, ping_interval=None
        )
        self.port: int = self._server.socket.getsockname()[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> FeedServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(5)

    def _handle(self, conn: ServerConnection) -> None:
        if conn.request is None or conn.request.path != "/live":
            conn.close(1008, "no such feed")
            return
        ready = threading.Event()
        viewer = self.fanout.join(ready.set)
        try:
            while True:
                ready.wait(HANDLER_CHECK_S)
                ready.clear()
                for data in viewer.take():
                    conn.send(data)
                if viewer.closed:
                    conn.close(1013, viewer.closed)
                    return
                if conn.protocol.state is not State.OPEN:
                    return  # closed by the service, or the server stops: even with no video
        except ConnectionClosed:
            return
        finally:
            self.fanout.leave(viewer)


@dataclass(slots=True)
class FeedCounts:
    segments: int = 0
    bad_segments: int = 0
    connects: int = 0
    clips: int = 0
    clip_failures: int = 0


class CameraFeed:
    """The service's side of one camera's feed. :meth:`run` holds one connection and
    returns when it ends (the supervisor starts it again); browsers join
    :attr:`fanout`; :meth:`record` asks for a clip."""

    def __init__(
        self,
        camera: str,
        url: str,
        clip_folder: Path,
        pre_capture_s: float,
        *,
        on_clip: Callable[[ClipFile], None],
        on_fault: Callable[[str | None], None] | None = None,
    ) -> None:
        self.camera, self.url, self.clip_folder = camera, url, clip_folder
        self.fanout = Fanout()
        self.ring: Ring[Segment] = Ring(pre_capture_s + RING_MARGIN_S, RING_MAX_BYTES)
        self.counts = FeedCounts()
        self.fault: str | None = None
        self.on_clip, self.on_fault = on_clip, on_fault
        self._recorders: dict[str, ClipRecorder] = {}
        self._disk = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"clips-{camera}")
        self.connected = False
        self._timeline = False  # video has been sent to viewers since the last connection

    async def run(self) -> None:
        """One connection to the worker's feed, until it closes."""
        self.counts.connects += 1
        async with connect(
            self.url, compression=None, max_size=MAX_MESSAGE, open_timeout=5,
            ping_interval=PING_S, ping_timeout=PING_S,
        ) as ws:  # fmt: skip
            # A new connection may be a new worker, whose timeline starts again: viewers
            # of the old one start again too (the page reconnects at once). Viewers that
            # joined before any video came are waiting for a keyframe: they stay.
            if self._timeline:
                self.fanout.close_all(FEED_RESTARTED)
                self._timeline = False
            self.connected = True
            try:
                async for message in ws:
                    if isinstance(message, bytes):
                        self._receive(message)
            finally:
                self.connected = False

    def _receive(self, message: bytes) -> None:
        try:
            segment = Segment.from_wire(message)  # checks the header first
            out = Outgoing.from_wire(message)
        except (ValueError, IndexError) as exc:
            self.counts.bad_segments += 1
            log.warning("camera %s: bad segment (%s): %r", self.camera, exc, message[:16])
            return
        self.counts.segments += 1
        self._timeline = True
        self.fanout.publish_message(out)
        if segment.kind is SegmentKind.INIT:
            self.ring.set_header(segment)
        else:
            self.ring.add(segment)
        for key, recorder in list(self._recorders.items()):
            self._on_disk(key, recorder.add, segment)
            if segment.t > recorder.end and segment.kind is not SegmentKind.INIT:
                self._finish(key)  # with the first frame past the end: the clip covers it

    def record(self, key: str, start: float, end: float) -> None:
        """Cover ``start``..``end`` (wall clock) in clip ``key`` (an incident): a new clip
        starts from the ring's keyframe at or before ``start``; an open one is extended."""
        recorder = self._recorders.get(key)
        if recorder is not None:
            recorder.extend(end)
            return
        recorder = ClipRecorder(key, self.camera, self.clip_folder, start, end)
        self._recorders[key] = recorder
        self._on_disk(key, recorder.begin, list(self.ring.since(start)))

    @property
    def recording(self) -> int:
        """Clips in progress."""
        return len(self._recorders)

    def stop_recording(self) -> None:
        """Finish every clip in progress now, with what it has (the disk is filling up)."""
        for key in list(self._recorders):
            self._finish(key)

    def finish_due(self, now: float | None = None) -> None:
        """Finish the clips whose end has passed with no frame after it (stalled feed)."""
        now = time.time() if now is None else now
        for key, recorder in list(self._recorders.items()):
            if recorder.due(now):
                self._finish(key)

    def _finish(self, key: str) -> None:
        recorder = self._recorders.pop(key)
        future = self._disk.submit(recorder.finish)
        loop = asyncio.get_running_loop()
        future.add_done_callback(lambda f: loop.call_soon_threadsafe(self._finished, f, key))

    def _finished(self, future: Future[list[ClipFile]], key: str) -> None:
        try:
            files = future.result()
        except ClipError as exc:
            self._failed(key, exc)
            return
        for clip in files:
            self.counts.clips += 1
            self.on_clip(clip)
        self._set_fault(None)

    def _on_disk(self, key: str, job: Callable[..., object], *args: object) -> None:
        future = self._disk.submit(job, *args)
        loop = asyncio.get_running_loop()

        def done(f: Future[object]) -> None:
            exc = f.exception()
            if isinstance(exc, ClipError):
                loop.call_soon_threadsafe(self._failed, key, exc)

        future.add_done_callback(done)

    def _failed(self, key: str, exc: BaseException) -> None:
        recorder = self._recorders.pop(key, None)
        if recorder is None:
            return  # already given up (later writes of the same clip failed too)
        self.counts.clip_failures += 1
        log.error("camera %s: clip %s stopped: %s", self.camera, key, exc)
        self._disk.submit(recorder.abandon)
        self._set_fault(str(exc))

    def _set_fault(self, fault: str | None) -> None:
        if fault != self.fault:
            self.fault = fault
            if self.on_fault is not None:
                self.on_fault(fault)

    def close(self) -> None:
        """Finish every clip in progress (reported to ``on_clip``), stop the disk thread."""
        pending = [self._disk.submit(r.finish) for r in self._recorders.values()]
        self._recorders.clear()
        self._disk.shutdown(wait=True)
        for future in pending:
            try:
                files = future.result()
            except ClipError as exc:
                self.counts.clip_failures += 1
                log.error("camera %s: clip lost at shutdown: %s", self.camera, exc)
                continue
            for clip in files:
                self.counts.clips += 1
                self.on_clip(clip)


__all__ = ["TOO_SLOW", "CameraFeed", "FeedServer", "LiveTap"]
