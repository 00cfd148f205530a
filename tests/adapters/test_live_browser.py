"""The live view in Debian's Chromium: a camera on real RTSP, the worker's feed, the
service-side fan-out, live.js into Media Source Extensions. Frames advance (read from
the clock drawn in them), the view jumps back to live when more than 1 s behind, it
follows a resolution change, and a viewer that stops reading is cut with bounded
memory."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, sync_playwright

from adapters.video.feed import FeedServer, LiveTap
from adapters.video.live import (
    FEED_RESTARTED,
    SKIPS_BEFORE_CLOSE,
    TOO_SLOW,
    VIEWER_MAX_BYTES,
    serve_viewer,
)
from adapters.video.stream import READ_TIMEOUT_S, RtspStream
from simulators.cameras import SimulatedCameras, rtsp_available
from simulators.scene import Scene, Walker
from simulators.troubled_cameras import TroubledCameras
from tests.adapters.live_rig import LiveRig
from tests.adapters.video_helpers import encoded
from tests.peers import CHROMIUM_FLAGS, free_port

pytestmark = pytest.mark.skipif(
    not rtsp_available(), reason="needs GStreamer's RTSP server: scripts/setup.sh --test"
)
STATE = """() => {
  const v = document.querySelector('video[data-camera-live]');
  const p = window.__probe;
  const end = v.buffered.length ? v.buffered.end(v.buffered.length - 1) : 0;
  return {t: v.currentTime, behind: end - v.currentTime, state: v.dataset.liveState,
          jumps: Number(v.dataset.liveJumps || 0), stamped: p.stamped,
          lastStamp: p.lastStamp / 1000, sizes: p.sizes};
}"""


def wait_until(check: Callable[[], bool], within_s: float, what: str) -> None:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"not within {within_s} s: {what}")


@contextlib.contextmanager
def served(url: str, folder: Path) -> Iterator[LiveRig]:
    stop = threading.Event()
    tap = LiveTap()
    stream = RtspStream(url, stop, [tap], decode=False)
    stream.start()
    server = FeedServer(tap.fanout).start()
    rig = LiveRig({"cam": f"ws://127.0.0.1:{server.port}/live"}, folder).start()
    try:
        yield rig
    finally:
        rig.stop()
        server.stop()
        stop.set()
        stream.join(READ_TIMEOUT_S + 5)


@contextlib.contextmanager
def chromium_page() -> Iterator[Page]:
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_FLAGS)
        try:
            yield browser.new_page()
        finally:
            browser.close()


@pytest.fixture
def scene_rig(tmp_path: Path) -> Iterator[LiveRig]:
    walker = Walker(((0.1, 0.8), (0.9, 0.8)), speed=0.1, repeat_s=10)
    sim = SimulatedCameras(free_port(), {"cam": Scene(walkers=[walker])}, fps=10)
    sim.start()
    try:
        with served(sim.url("cam"), tmp_path) as rig:
            yield rig
    finally:
        sim.stop()


def test_the_live_view_plays_and_jumps_back_to_live_when_behind(scene_rig: LiveRig) -> None:
    with chromium_page() as page:
        page.goto(scene_rig.page_url(["cam"]))
        wait_until(lambda: page.evaluate(STATE)["stamped"] >= 10, 20, "frames shown")
        a = page.evaluate(STATE)
        time.sleep(2)
        b = page.evaluate(STATE)
        assert b["state"] == "playing"
        assert b["t"] - a["t"] >= 1.5, (a, b)  # currentTime advances
        assert b["lastStamp"] - a["lastStamp"] >= 1.5  # and the frames shown are new ones
        assert time.time() - b["lastStamp"] < 2.0  # and recent
        # Put the view 3 s behind (as a stalled tab would be): it jumps back to live.
        page.evaluate("() => { const v = document.querySelector('video'); v.currentTime -= 3; }")
        wait_until(lambda: page.evaluate(STATE)["jumps"] > b["jumps"], 3, "a jump to live")
        time.sleep(1)
        c = page.evaluate(STATE)
        assert c["behind"] <= 1.0
        assert time.time() - c["lastStamp"] < 2.0


def test_the_live_view_follows_a_resolution_change(tmp_path: Path) -> None:
    sim = TroubledCameras(free_port(), resize={"cam": 2.0})
    sim.start()
    try:
        with served(sim.url("cam"), tmp_path) as rig, chromium_page() as page:
            page.goto(rig.page_url(["cam"]))
            wait_until(lambda: len(page.evaluate(STATE)["sizes"]) >= 3, 25, "two flips")
            a = page.evaluate(STATE)
            time.sleep(1.5)
            b = page.evaluate(STATE)
    finally:
        sim.stop()
    assert {"640x360", "320x240"} <= set(b["sizes"])
    assert b["t"] > a["t"] and b["state"] == "playing"


class StuckSocket:
    """A viewer whose link carries nothing: every send waits forever (a browser on a
    dead mobile link). What does the service keep for it?"""

    def __init__(self) -> None:
        self.sent = 0
        self.closed: tuple[int, str | None] | None = None
        self._never = asyncio.Event()

    async def send_bytes(self, data: bytes) -> None:
        self.sent += 1
        await self._never.wait()

    async def send_text(self, data: str) -> None:
        return None

    async def receive(self) -> Any:
        await self._never.wait()

    async def close(self, code: int = 1000, reason: str | None = None) -> None:
        self.closed = (code, reason)


def test_a_viewer_that_cannot_keep_up_is_cut_with_bounded_memory(scene_rig: LiveRig) -> None:
    feed = scene_rig.feeds["cam"]
    # Start once video flows: a viewer cut because the feed (re)connected is another story.
    wait_until(lambda: feed.connected and not feed.fanout.waiting(), 20, "video")
    peak = 0

    async def watch(socket: StuckSocket) -> str:
        task = asyncio.ensure_future(serve_viewer(socket, feed.fanout))
        nonlocal peak
        while not task.done():
            for viewer in list(feed.fanout._viewers):
                peak = max(peak, viewer.queued_bytes)
            await asyncio.sleep(0.05)
        return task.result()

    assert scene_rig.loop is not None
    for _ in range(2):  # on a loaded machine the worker's feed may restart once meanwhile
        socket = StuckSocket()
        skips, cut = feed.fanout.skips, feed.fanout.closed_slow
        why = asyncio.run_coroutine_threadsafe(watch(socket), scene_rig.loop).result(timeout=40)
        if why != FEED_RESTARTED:
            break
        wait_until(lambda: feed.connected and not feed.fanout.waiting(), 20, "video again")
    assert why == TOO_SLOW
    assert feed.fanout.closed_slow == cut + 1 and feed.fanout.viewers == 0
    assert socket.sent == 1  # the first send never finished
    assert peak <= VIEWER_MAX_BYTES
    assert feed.fanout.skips - skips == SKIPS_BEFORE_CLOSE


def test_a_viewer_joining_a_camera_with_rare_keyframes_waits_then_plays(tmp_path: Path) -> None:
    """Keyframes 10 s apart: a viewer that arrives between two is told it waits, and
    the view starts clean at the next keyframe (never on undecodable frames)."""
    sim = TroubledCameras(free_port(), gop={"cam": 10.0})
    sim.start()
    early = threading.Event()
    first_viewer = RtspStream(sim.url("cam"), early, decode=False)  # starts the camera
    first_viewer.start()
    try:
        time.sleep(2.5)  # well inside a GOP
        with served(sim.url("cam"), tmp_path) as rig, chromium_page() as page:
            feed = rig.feeds["cam"]
            wait_until(lambda: feed.connected, 5, "the feed")
            page.goto(rig.page_url(["cam"]))
            wait_until(lambda: page.evaluate(STATE)["state"] == "waiting", 5, "waiting")
            assert feed.fanout.waiting()
            wait_until(lambda: page.evaluate(STATE)["state"] == "playing", 15, "playing")
            a = page.evaluate(STATE)
            time.sleep(1.5)
            b = page.evaluate(STATE)
    finally:
        early.set()
        first_viewer.join(READ_TIMEOUT_S + 5)
        sim.stop()
    assert b["t"] > a["t"]


def test_a_restarted_worker_is_followed_by_the_page(tmp_path: Path) -> None:
    """A new worker starts a new timeline: the service closes its viewers (1012) and
    the page reconnects and plays the new one."""
    walker = Walker(((0.1, 0.8), (0.9, 0.8)), speed=0.1, repeat_s=10)
    sim = SimulatedCameras(free_port(), {"cam": Scene(walkers=[walker])}, fps=10)
    sim.start()
    stop = threading.Event()
    tap = LiveTap()
    stream = RtspStream(sim.url("cam"), stop, [tap], decode=False)
    stream.start()
    server = FeedServer(tap.fanout).start()
    port = server.port
    rig = LiveRig({"cam": f"ws://127.0.0.1:{port}/live"}, tmp_path).start()
    try:
        with chromium_page() as page:
            page.goto(rig.page_url(["cam"]))
            wait_until(lambda: page.evaluate(STATE)["stamped"] >= 10, 20, "frames shown")
            server.stop()  # the worker goes; a new one (new muxer, timeline from 0) comes
            new_tap = LiveTap()
            stream.sinks[0] = new_tap
            server = FeedServer(new_tap.fanout, port=port).start()
            restarted = time.time()
            wait_until(lambda: page.evaluate(STATE)["lastStamp"] > restarted + 1, 20, "new frames")
            assert page.evaluate(STATE)["state"] == "playing"
    finally:
        rig.stop()
        server.stop()
        stop.set()
        stream.join(READ_TIMEOUT_S + 5)
        sim.stop()


def test_a_camera_with_b_frames_plays_live(tmp_path: Path) -> None:
    """Real footage and storage-tuned cameras send B-frames (decoded out of order): the
    fragments carry their composition offsets and Chromium shows every frame in order."""
    packets = encoded(200, profile="high", bframes=2, gop=20, size=(640, 360))
    tap = LiveTap()
    server = FeedServer(tap.fanout).start()
    stop = threading.Event()

    def play() -> None:  # as a camera would send them: 10 a second, arriving now
        start = time.time()
        for i, p in enumerate(packets):
            if stop.is_set():
                return
            tap(replace(p, arrival=time.time()))
            time.sleep(max(0.0, start + (i + 1) / 10 - time.time()))

    threading.Thread(target=play, daemon=True).start()
    rig = LiveRig({"cam": f"ws://127.0.0.1:{server.port}/live"}, tmp_path).start()
    try:
        with chromium_page() as page:
            page.goto(rig.page_url(["cam"]))
            wait_until(lambda: page.evaluate(STATE)["stamped"] >= 10, 15, "frames shown")
            a = page.evaluate(STATE)
            time.sleep(2)
            b = page.evaluate(STATE)
    finally:
        stop.set()
        rig.stop()
        server.stop()
    assert b["state"] == "playing" and b["t"] - a["t"] >= 1.5, (a, b)
    assert b["lastStamp"] - a["lastStamp"] >= 1.5, (a, b)  # new frames, in order
