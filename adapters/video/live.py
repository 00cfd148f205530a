"""Live view fan-out: each camera's fMP4 segments are made once and sent as the same
bytes to every viewer. Each viewer has a bounded queue; one that falls behind skips
to the next keyframe, and one that keeps falling behind is closed. Nothing is
buffered without bound, and nothing is transcoded (see docs/video.md).

The same :class:`Fanout` serves the camera worker's feed (usually one client: the
service) and the service's browsers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final, Protocol

import orjson

from adapters.video.media import HEADER, Segment, SegmentKind
from adapters.video.ring import Ring

log = logging.getLogger("vigie.video")

VIEWER_MAX_BYTES: Final = 8 * 1024 * 1024
"""A viewer's queue: several seconds of a 1080p stream; past it, skip to a keyframe."""

VIEWER_MAX_LAG_S: Final = 2.0
"""A viewer whose queue spans more than this is behind live for good: skip to a
keyframe (the page jumps to live at 1 s behind, so queued video older than that
would be thrown away there anyway)."""

SKIPS_BEFORE_CLOSE: Final = 3
"""A viewer that has had to skip this many times in ``SKIP_WINDOW_S`` cannot keep up
with the stream at all (a link slower than the bitrate): it is closed, code 1013."""

SKIP_WINDOW_S: Final = 60.0

GOP_MAX_BYTES: Final = 32 * 1024 * 1024
"""The GOP in progress kept for joining viewers: a camera that sends no keyframe for a
long time is cut here (viewers then wait for its next keyframe)."""

TOO_SLOW: Final = "too slow: live queue full"
FEED_RESTARTED: Final = "feed restarted: reconnect"
CLOSE_CODES: Final = {TOO_SLOW: 1013, FEED_RESTARTED: 1012}
"""Websocket close codes: 1013 (try again later) for a viewer cut for being slow, 1012
(service restart) when the camera's feed restarted and its timeline with it: the page
reconnects at once and starts from the new init segment."""

CLOSE_TIMEOUT_S: Final = 1.0
"""Time given to close a viewer's websocket that was cut: its link may be dead."""


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One wire message (see ``media.HEADER``), built once, sent to every viewer."""

    kind: SegmentKind
    t: float
    data: bytes

    @property
    def keyframe(self) -> bool:
        return self.kind is SegmentKind.KEY

    @property
    def size(self) -> int:
        return len(self.data)

    @classmethod
    def of(cls, segment: Segment) -> Outgoing:
        return cls(segment.kind, segment.t, segment.wire())

    @classmethod
    def from_wire(cls, data: bytes) -> Outgoing:
        kind, t = HEADER.unpack_from(data)
        return cls(SegmentKind(kind), t, data)


class Viewer:
    """One viewer's bounded queue. ``wake`` is called (from the publishing thread)
    whenever there is something to take."""

    def __init__(self, wake: Callable[[], None]) -> None:
        self.wake = wake
        self.skips = 0
        self.closed: str | None = None
        self._queue: deque[tuple[float, Outgoing]] = deque()  # (enqueued at, message)
        self._bytes = 0
        self._skipping = False
        self._held_init: Outgoing | None = None  # a format change seen while skipping
        self._skip_times: deque[float] = deque()

    def offer(self, message: Outgoing, now: float) -> None:
        """Queue a message (``now``: a monotonic clock) under the overflow policy."""
        if self.closed:
            return
        if self._skipping:
            if message.kind is SegmentKind.INIT:
                self._held_init = message
                return
            if not message.keyframe:
                return
            self._skipping = False
            if self._held_init is not None:
                self._append(self._held_init, now)
                self._held_init = None
        self._append(message, now)
        if self._bytes > VIEWER_MAX_BYTES or now - self._queue[0][0] > VIEWER_MAX_LAG_S:
            self._skip(now)
        self.wake()

    def wait_for_keyframe(self, init: Outgoing | None) -> None:
        """Start at the next keyframe (after ``init``, the format in force)."""
        self._skipping = True
        self._held_init = init

    def _append(self, message: Outgoing, now: float) -> None:
        self._queue.append((now, message))
        self._bytes += message.size

    def _skip(self, now: float) -> None:
        inits = [m for _, m in self._queue if m.kind is SegmentKind.INIT]
        self._queue.clear()
        self._bytes = 0
        self._skipping = True
        self._held_init = inits[-1] if inits else None
        self.skips += 1
        self._skip_times.append(now)
        while self._skip_times and self._skip_times[0] < now - SKIP_WINDOW_S:
            self._skip_times.popleft()
        if len(self._skip_times) >= SKIPS_BEFORE_CLOSE:
            self.closed = TOO_SLOW

    def take(self) -> list[bytes]:
        """Everything queued, oldest first (called by the viewer's sender)."""
        out = [m.data for _, m in self._queue]
        self._queue.clear()
        self._bytes = 0
        return out

    @property
    def queued_bytes(self) -> int:
        return self._bytes


class Fanout:
    """One camera's live segments to any number of viewers. Thread-safe: the producer
    and the viewers' senders may run on different threads."""

    def __init__(self, gop_max_bytes: int = GOP_MAX_BYTES) -> None:
        self._lock = threading.Lock()
        self._gop: Ring[Outgoing] = Ring(0.0, gop_max_bytes)
        self._init: Outgoing | None = None
        self._viewers: set[Viewer] = set()
        self.published = 0
        self.skips = 0
        self.closed_slow = 0

    @property
    def viewers(self) -> int:
        return len(self._viewers)

    def publish(self, segment: Segment, now: float | None = None) -> None:
        self.publish_message(Outgoing.of(segment), now)

    def publish_message(self, message: Outgoing, now: float | None = None) -> None:
        """Send to every viewer; ``now`` is a monotonic clock (default: the process's)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            self.published += 1
            if message.kind is SegmentKind.INIT:
                self._init = message
                self._gop.set_header(message)
            else:
                self._gop.add(message)
            for viewer in list(self._viewers):
                skips = viewer.skips
                viewer.offer(message, now)
                self.skips += viewer.skips - skips
                if viewer.closed:
                    self.closed_slow += 1
                    self._viewers.discard(viewer)
                    viewer.wake()

    def join(self, wake: Callable[[], None], now: float | None = None) -> Viewer:
        """A new viewer, primed with the init segment and the GOP in progress (so its
        decoder starts at a keyframe at once); with none yet, it waits for the next."""
        viewer = Viewer(wake)
        now = time.monotonic() if now is None else now
        with self._lock:
            gop = self._gop.latest()
            if gop is not None and gop[0] is not None:
                viewer.offer(gop[0], now)
                for message in gop[1]:
                    viewer.offer(message, now)
            else:
                viewer.wait_for_keyframe(self._init)
            self._viewers.add(viewer)
        return viewer

    def close_all(self, reason: str) -> None:
        """Close every viewer (the feed behind them restarted)."""
        with self._lock:
            viewers = list(self._viewers)
            self._viewers.clear()
            self._gop = Ring(0.0, self._gop.max_bytes)
            self._init = None
        for viewer in viewers:
            viewer.closed = reason
            viewer.wake()

    def leave(self, viewer: Viewer) -> None:
        with self._lock:
            self._viewers.discard(viewer)

    def waiting(self) -> bool:
        """No keyframe since the stream (or its format) began: viewers wait."""
        with self._lock:
            return self._gop.latest() is None


class ViewerSocket(Protocol):
    """What :func:`serve_viewer` needs of a websocket (Starlette's has it)."""

    async def send_bytes(self, data: bytes) -> None: ...
    async def send_text(self, data: str) -> None: ...
    async def receive(self) -> Any: ...
    async def close(self, code: int = 1000, reason: str | None = None) -> None: ...


async def serve_viewer(socket: ViewerSocket, fanout: Fanout) -> str:
    """Send one camera's live segments to one accepted websocket until it closes, or
    until the viewer is cut for being too slow. Returns why it ended.

    A cut viewer is closed even while a send to it hangs (a dead link): the send is
    cancelled, and the close gets ``CLOSE_TIMEOUT_S``.
    """
    loop = asyncio.get_running_loop()
    ready = asyncio.Event()
    cut = asyncio.Event()

    def on_wake() -> None:
        ready.set()
        if viewer.closed:
            cut.set()

    def wake() -> None:
        loop.call_soon_threadsafe(on_wake)

    viewer = fanout.join(wake)
    if fanout.waiting():
        await socket.send_text(orjson.dumps({"state": "waiting", "for": "keyframe"}).decode())
    ready.set()

    async def send() -> str:
        while True:
            await ready.wait()
            ready.clear()
            for data in viewer.take():
                await socket.send_bytes(data)

    async def cut_by_us() -> str:
        await cut.wait()
        return viewer.closed or TOO_SLOW

    async def closed_by_client() -> str:
        while True:
            message = await socket.receive()
            if message.get("type") == "websocket.disconnect":
                return "viewer left"

    try:
        why = await _first(send(), cut_by_us(), closed_by_client())
        if why == viewer.closed:
            with contextlib.suppress(TimeoutError, RuntimeError, OSError):
                await asyncio.wait_for(
                    socket.close(CLOSE_CODES.get(why, 1011), why), CLOSE_TIMEOUT_S
                )
        return why
    finally:
        fanout.leave(viewer)


async def _first(*jobs: Awaitable[str]) -> str:
    tasks = [asyncio.ensure_future(j) for j in jobs]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        return next(iter(done)).result()
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
