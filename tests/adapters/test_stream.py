"""The RTSP demuxer against GStreamer's RTSP server: packets with keyframes and arrival
times, pictures only at the analysis rate, a stream that ends (reported, reconnected),
a resolution change, and a camera whose keyframes are far apart."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from adapters.video.feed import LiveTap
from adapters.video.live import Outgoing
from adapters.video.media import SegmentKind, VideoPacket
from adapters.video.stream import READ_TIMEOUT_S, RtspStream, StreamState
from simulators.cameras import SimulatedCameras, rtsp_available
from simulators.overlay import read_stamp
from simulators.scene import Scene
from simulators.troubled_cameras import TroubledCameras
from tests.peers import free_port

pytestmark = pytest.mark.skipif(
    not rtsp_available(), reason="needs GStreamer's RTSP server: scripts/setup.sh --test"
)


def wait_until(check: Callable[[], bool], within_s: float, what: str) -> None:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"not within {within_s} s: {what}")


class Reader:
    """A stream with a packet log, a live tap and a state log."""

    def __init__(self, url: str, *, decode: bool = True) -> None:
        self.stop = threading.Event()
        self.packets: list[VideoPacket] = []
        self.states: list[tuple[float, StreamState, str]] = []
        self.tap = LiveTap()
        self.stream = RtspStream(
            url, self.stop, [self.packets.append, self.tap], decode=decode,
            on_state=lambda s, why: self.states.append((time.time(), s, why)),
        )  # fmt: skip

    def __enter__(self) -> Reader:
        self.stream.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.stream.join(READ_TIMEOUT_S + 5)


@pytest.fixture
def camera() -> Iterator[SimulatedCameras]:
    sim = SimulatedCameras(free_port(), {"cam": Scene(vegetation=True)}, fps=10)
    sim.start()
    yield sim
    sim.stop()


def test_packets_arrive_with_keyframes_and_pictures_only_at_the_analysis_rate(
    camera: SimulatedCameras,
) -> None:
    with Reader(camera.url("cam")) as r:
        wait_until(lambda: r.stream.counts.keyframes >= 3, 10, "three keyframes")
        pictures = []
        for _ in range(5):  # an analysis at 5 fps on a 10 fps stream
            picture, t, seq = r.stream.latest()
            assert picture is not None
            pictures.append((picture, t, seq))
            time.sleep(0.2)
        assert r.stream.state is StreamState.STREAMING
    p = r.packets
    assert all(b.arrival >= a.arrival for a, b in itertools.pairwise(p))
    assert all(b.dts > a.dts for a, b in itertools.pairwise(p))  # type: ignore[operator]
    assert any(x.keyframe for x in p) and all(x.session == 1 for x in p)
    assert r.stream.counts.decoded >= 20
    assert r.stream.counts.converted <= 5  # converted when asked, not for every frame
    picture, t, _ = pictures[-1]
    assert picture.shape == (360, 640, 3)
    stamped = read_stamp(picture)
    assert stamped is not None and 0 < t - stamped < 2.0  # the frame's clock, before arrival


def test_a_stream_that_ends_is_reported_and_comes_back(camera: SimulatedCameras) -> None:
    with Reader(camera.url("cam")) as r:
        wait_until(lambda: r.stream.up and r.stream.counts.keyframes >= 1, 10, "streaming")
        camera.stop()
        stopped = time.time()
        wait_until(lambda: r.stream.state is StreamState.LOST, READ_TIMEOUT_S + 5, "lost")
        lost = next(t for t, s, _ in r.states if s is StreamState.LOST)
        assert lost - stopped <= READ_TIMEOUT_S + 1.0
        assert not r.stream.up
        camera.start()
        wait_until(lambda: r.stream.state is StreamState.STREAMING, 15, "streaming again")
        wait_until(lambda: r.packets[-1].session >= 2, 5, "a new session")
        fragments_before = r.tap.fanout.published
        wait_until(lambda: r.tap.fanout.published > fragments_before + 10, 5, "live again")
    assert r.stream.counts.connects >= 2


def test_a_resolution_change_is_a_new_init_segment_and_new_picture_size() -> None:
    sim = TroubledCameras(free_port(), resize={"flip": 2.0})
    sim.start()
    try:
        with Reader(sim.url("flip")) as r:
            wait_until(lambda: r.tap.muxer.counts.formats >= 3, 15, "three formats")
            sizes: set[tuple[int, ...]] = set()
            deadline = time.monotonic() + 5
            while len(sizes) < 2 and time.monotonic() < deadline:
                picture, _, _ = r.stream.latest()
                if picture is not None:
                    sizes.add(picture.shape[:2])
                time.sleep(0.1)
    finally:
        sim.stop()
    assert sizes == {(360, 640), (240, 320)}
    assert r.stream.counts.size_changes >= 2
    assert r.tap.muxer.counts.unreadable == 0


def test_a_camera_without_keyframes_for_long_makes_viewers_wait_then_starts_clean() -> None:
    sim = TroubledCameras(free_port(), gop={"rare": 6.0})
    sim.start()
    try:
        with Reader(sim.url("rare")):  # someone is already watching: we join mid-GOP
            time.sleep(2.5)
            with Reader(sim.url("rare")) as late:
                wait_until(lambda: late.stream.counts.packets >= 10, 10, "packets")
                waiting = late.tap.fanout.waiting() and late.stream.counts.decoded == 0
                state_while_waiting = late.stream.state
                wait_until(lambda: late.stream.counts.keyframes >= 1, 10, "the keyframe")
                wait_until(lambda: late.tap.fanout.published >= 2, 2, "init and keyframe")
    finally:
        sim.stop()
    assert waiting and state_while_waiting is StreamState.WAITING_KEYFRAME
    assert late.tap.muxer.counts.waiting_keyframe >= 10  # nothing undecodable went out
    assert late.packets[0].keyframe is False
    first_key = next(i for i, p in enumerate(late.packets) if p.keyframe)
    assert first_key >= 10
    viewer = late.tap.fanout.join(lambda: None)
    got = [Outgoing.from_wire(m).kind for m in viewer.take()]
    assert got[:2] == [SegmentKind.INIT, SegmentKind.KEY]
