"""The live fan-out: segments made once reach every viewer as the same bytes; a new
viewer starts at a keyframe; a slow one skips to the next keyframe, then is closed;
no queue grows without bound."""

from __future__ import annotations

import threading
import time

from websockets.sync.client import connect

from adapters.video.feed import FeedServer
from adapters.video.fmp4 import Fmp4Muxer
from adapters.video.live import (
    SKIPS_BEFORE_CLOSE,
    TOO_SLOW,
    VIEWER_MAX_BYTES,
    VIEWER_MAX_LAG_S,
    Fanout,
    Outgoing,
)
from adapters.video.media import Segment, SegmentKind
from tests.adapters.video_helpers import encoded


def segments(frames: int, **kw: object) -> list[Segment]:
    muxer = Fmp4Muxer()
    return [s for p in encoded(frames, **kw) for s in muxer.push(p)]  # type: ignore[arg-type]


def kinds(messages: list[bytes]) -> list[SegmentKind]:
    return [Outgoing.from_wire(m).kind for m in messages]


def test_every_viewer_gets_the_same_bytes_object() -> None:
    fanout = Fanout()
    viewers = [fanout.join(lambda: None, now=0.0) for _ in range(5)]
    for s in segments(12):
        fanout.publish(s, now=0.0)
    taken = [v.take() for v in viewers]
    assert all(len(t) == 13 for t in taken)
    assert all(a is b for t in taken[1:] for a, b in zip(taken[0], t, strict=True))


def test_a_viewer_joining_mid_gop_starts_at_its_keyframe_with_the_init() -> None:
    fanout = Fanout()
    segs = segments(25)  # keyframes at frames 0, 10, 20
    for s in segs[:17]:
        fanout.publish(s, now=0.0)
    viewer = fanout.join(lambda: None, now=0.0)
    got = kinds(viewer.take())
    assert got[:2] == [SegmentKind.INIT, SegmentKind.KEY]
    assert len(got) == 1 + 6  # init + frames 10..15 (segment 0 is the init)


def test_before_any_keyframe_a_viewer_waits_for_one() -> None:
    fanout = Fanout()
    segs = segments(25)
    fanout.publish(segs[0], now=0.0)  # the init segment, no keyframe yet
    viewer = fanout.join(lambda: None, now=0.0)
    assert fanout.waiting() and viewer.take() == []
    for s in segs[1:]:
        fanout.publish(s, now=0.0)
    assert kinds(viewer.take())[:2] == [SegmentKind.INIT, SegmentKind.KEY]


def test_a_viewer_that_does_not_read_skips_to_keyframes_then_is_closed() -> None:
    fanout = Fanout()
    woken: list[int] = []
    slow = fanout.join(lambda: woken.append(1), now=0.0)
    fast = fanout.join(lambda: None, now=0.0)
    segs = segments(200, gop=10)  # 20 s at 10 fps
    peak = fast_got = 0
    for i, s in enumerate(segs):
        now = i / 10
        fanout.publish(s, now=now)
        peak = max(peak, slow.queued_bytes)
        fast_got += len(fast.take())  # the fast viewer is not held back
        assert fast_got == (i + 1 if i else 0)  # the init waits for the first keyframe
        if slow.closed:
            break
    assert slow.closed == TOO_SLOW
    assert slow.skips == SKIPS_BEFORE_CLOSE
    assert fanout.closed_slow == 1 and fanout.viewers == 1
    assert peak <= VIEWER_MAX_BYTES
    # queued at most VIEWER_MAX_LAG_S of video (plus the frame that tipped it over)
    assert peak <= (VIEWER_MAX_LAG_S * 10 + 2) * max(s.size for s in segs)


def test_a_viewer_that_skipped_resumes_at_a_keyframe_in_the_new_format() -> None:
    fanout = Fanout()
    viewer = fanout.join(lambda: None, now=0.0)
    first = segments(12, size=(448, 256))
    second = segments(12, size=(320, 180), t0=first[-1].t + 0.1)
    for s in first[:-1]:
        fanout.publish(s, now=0.0)  # queued, never taken
    fanout.publish(first[-1], now=10.0)  # 10 s later the queue is too old: skip
    assert viewer.skips == 1 and viewer.take() == []
    for s in second:
        fanout.publish(s, now=10.0)
    got = viewer.take()
    assert kinds(got)[:2] == [SegmentKind.INIT, SegmentKind.KEY]
    assert got[0] == second[0].wire()  # the init of the format in force


def test_a_feed_server_stops_while_its_camera_sends_nothing() -> None:
    """A stalled camera (nothing to send) must not keep the worker from stopping, nor
    keep a closed connection's thread alive."""
    server = FeedServer(Fanout()).start()
    with connect(f"ws://127.0.0.1:{server.port}/live") as client:
        client.send("hello")  # the connection is up; nothing will come back
    stopping = threading.Thread(target=server.stop)
    started = time.monotonic()
    stopping.start()
    stopping.join(10)
    assert not stopping.is_alive(), "stop() returned"
    print(f"stopped in {time.monotonic() - started:.2f} s")
