"""Evidence clips from a real RTSP camera through the worker's feed and the service's
ring: decoded, a clip covers [first event - pre, last event + post] from a keyframe no
later than first - pre (read from the clock the simulator draws in each frame); a
resolution change starts a new part; a full disk stops clips, not the live view.
And the retention rule."""

from __future__ import annotations

import contextlib
import itertools
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import pytest

from adapters.video.clips import ClipRecorder, StoredClip, plan_retention
from adapters.video.feed import CameraFeed, FeedServer, LiveTap
from adapters.video.fmp4 import Fmp4Muxer
from adapters.video.stream import READ_TIMEOUT_S, RtspStream
from simulators.cameras import SimulatedCameras, rtsp_available
from simulators.scene import Scene
from simulators.troubled_cameras import TroubledCameras
from tests.adapters.live_rig import LiveRig
from tests.adapters.video_helpers import decoded_stamps, encoded
from tests.peers import free_port

PRE_S, POST_S = 3.0, 2.0
rtsp = pytest.mark.skipif(
    not rtsp_available(), reason="needs GStreamer's RTSP server: scripts/setup.sh --test"
)


def wait_until(check: Callable[[], bool], within_s: float, what: str) -> None:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"not within {within_s} s: {what}")


@dataclass
class Pipeline:
    """Camera -> worker (demux, fMP4, feed server) -> service side (feed, ring, clips)."""

    rig: LiveRig
    folder: Path

    @property
    def feed(self) -> CameraFeed:
        return self.rig.feeds["cam"]


@contextlib.contextmanager
def pipeline(url: str, folder: Path) -> Iterator[Pipeline]:
    stop = threading.Event()
    tap = LiveTap()
    stream = RtspStream(url, stop, [tap], decode=False)
    stream.start()
    server = FeedServer(tap.fanout).start()
    rig = LiveRig({"cam": f"ws://127.0.0.1:{server.port}/live"}, folder, PRE_S).start()
    try:
        yield Pipeline(rig, folder)
    finally:
        rig.stop()
        server.stop()
        stop.set()
        stream.join(READ_TIMEOUT_S + 5)


@pytest.fixture
def scene_pipeline(tmp_path: Path) -> Iterator[Pipeline]:
    sim = SimulatedCameras(free_port(), {"cam": Scene()}, fps=10)
    sim.start()
    try:
        with pipeline(sim.url("cam"), tmp_path / "clips") as p:
            yield p
    finally:
        sim.stop()


@rtsp
def test_a_clip_covers_pre_capture_before_the_first_event_to_post_capture_after_the_last(
    scene_pipeline: Pipeline,
) -> None:
    p = scene_pipeline
    wait_until(lambda: p.feed.ring.span_s >= PRE_S + 1, 15, "the ring holds pre_capture_s")
    first = time.time() - 0.5  # a camera event seen half a second ago
    p.rig.call(p.feed.record, "INC-7", first - PRE_S, first + POST_S)
    time.sleep(1.5)
    last = time.time()  # a later camera event of the same incident
    p.rig.call(p.feed.record, "INC-7", last - PRE_S, last + POST_S)
    wait_until(lambda: bool(p.rig.clips), POST_S + 10, "the clip")
    ready = time.time()
    [clip] = p.rig.clips
    print(f"clip ready {ready - (last + POST_S):.2f} s after last event + post_capture_s")
    assert clip.key == "INC-7" and clip.path.suffix == ".mp4"
    assert clip.start <= first - PRE_S < clip.start + 1.5  # at most a GOP (1 s) early
    assert clip.end >= last + POST_S - 0.3
    frames = decoded_stamps(clip.path)
    stamps = [s for s, _, _, _ in frames]
    assert None not in stamps
    assert frames[0][3], "the clip starts at a keyframe"
    assert stamps[0] <= first - PRE_S  # type: ignore[operator]
    assert stamps[-1] >= last + POST_S - 0.5  # type: ignore[operator]
    assert all(b > a for a, b in itertools.pairwise(stamps))  # type: ignore[operator]
    data = clip.path.read_bytes()
    assert data.index(b"moov") < data.index(b"mdat"), "index first: plays while loading"
    cap = cv2.VideoCapture(str(clip.path))
    try:
        assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == len(frames)
        duration = len(frames) / cap.get(cv2.CAP_PROP_FPS)
        ok, picture = cap.read()
    finally:
        cap.release()
    assert ok and picture.shape == (360, 640, 3)
    assert duration >= (last + POST_S) - (first - PRE_S) - 0.5
    assert not list(p.folder.glob("*.fmp4")), "the fragmented spool is removed"


@rtsp
def test_a_full_disk_stops_the_clip_and_shows_the_fault_while_live_goes_on(
    scene_pipeline: Pipeline,
) -> None:
    p = scene_pipeline
    p.folder.mkdir(parents=True)
    os.symlink("/dev/full", p.folder / "INC-1.cam.1.fmp4")  # writes fail with ENOSPC
    wait_until(lambda: p.feed.ring.span_s >= 1, 15, "video in the ring")
    now = time.time()
    p.rig.call(p.feed.record, "INC-1", now - 1, now + 1)
    wait_until(lambda: bool(p.rig.faults), 10, "the fault")
    assert "No space left" in str(p.rig.faults[0])
    assert p.feed.counts.clip_failures == 1 and not p.rig.clips
    published = p.feed.fanout.published
    wait_until(lambda: p.feed.fanout.published > published + 10, 5, "live goes on")
    now = time.time()
    p.rig.call(p.feed.record, "INC-2", now - 1, now + 0.5)
    wait_until(lambda: bool(p.rig.clips), 10, "a clip once there is room")
    assert p.rig.clips[0].key == "INC-2"
    assert p.rig.faults[-1] is None, "the fault clears with the next clip written"


@rtsp
def test_a_resolution_change_during_a_clip_starts_a_new_part(tmp_path: Path) -> None:
    sim = TroubledCameras(free_port(), resize={"cam": 2.5})
    sim.start()
    try:
        with pipeline(sim.url("cam"), tmp_path / "clips") as p:
            wait_until(lambda: p.feed.ring.span_s >= 1, 15, "video in the ring")
            now = time.time()
            p.rig.call(p.feed.record, "INC-3", now - 1, now + 4)
            wait_until(lambda: len(p.rig.clips) >= 2, 15, "two parts")
            time.sleep(0.5)
            parts = sorted(p.rig.clips, key=lambda c: c.part)
    finally:
        sim.stop()
    sizes = [{(w, h) for _, w, h, _ in decoded_stamps(c.path)} for c in parts]
    assert all(len(s) == 1 for s in sizes)  # each part one format
    assert sizes[0] != sizes[1]
    assert parts[0].end <= parts[1].start


def test_a_clip_of_a_camera_with_b_frames_keeps_every_frame_in_order(tmp_path: Path) -> None:
    """Real footage often has B-frames (decoded in another order than shown)."""
    packets = encoded(40, profile="high", bframes=2, gop=20)
    assert any(p.pts != p.dts for p in packets), "B-frames indeed"
    muxer = Fmp4Muxer()
    recorder = ClipRecorder("INC-9", "cam", tmp_path, 1_000_000.0, 1_000_000.0 + 60)
    for segment in (s for p in packets for s in muxer.push(p)):
        recorder.add(segment)
    [clip] = recorder.finish()
    stamps = [s for s, _, _, _ in decoded_stamps(clip.path)]
    assert len(stamps) == 40 and None not in stamps
    assert all(b > a for a, b in itertools.pairwise(stamps))  # type: ignore[operator]


def test_retention_removes_expired_then_oldest_resolved_never_open_ones() -> None:
    day = 86400.0
    now = 100 * day
    clips = [
        StoredClip("old-resolved", 100, start=now - 40 * day, resolved_at=now - 31 * day),
        StoredClip("open-oldest", 500, start=now - 50 * day, resolved_at=None),
        StoredClip("resolved-a", 300, start=now - 20 * day, resolved_at=now - 2 * day),
        StoredClip("resolved-b", 300, start=now - 10 * day, resolved_at=now - 1 * day),
        StoredClip("open-new", 400, start=now - 1 * day, resolved_at=None),
    ]
    plan = plan_retention(clips, now, keep_days=30, budget_bytes=1300)
    assert [c.path for c in plan.remove] == ["old-resolved", "resolved-a"]
    assert (plan.expired, plan.over_budget, plan.still_over_by) == (1, 1, 0)
    tight = plan_retention(clips, now, keep_days=30, budget_bytes=500)
    assert {c.path for c in tight.remove} == {"old-resolved", "resolved-a", "resolved-b"}
    assert tight.still_over_by == 400  # only open incidents' clips are left: kept
