"""The ring of recent video: whole GOPs, at least the horizon back from the newest item
from a keyframe, never more than its bytes; always able to start at a keyframe."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given
from hypothesis import strategies as st

from adapters.video.ring import Ring


@dataclass(frozen=True, slots=True)
class Item:
    t: float
    keyframe: bool
    size: int = 100


def stream(seconds: float, fps: int = 10, gop: int = 10, size: int = 100) -> list[Item]:
    return [Item(i / fps, i % gop == 0, size) for i in range(int(seconds * fps))]


def test_keeps_the_horizon_back_from_a_keyframe_and_no_more_than_a_gop_beyond() -> None:
    ring: Ring[Item] = Ring(horizon_s=5.0, max_bytes=10**9)
    for item in stream(30):
        ring.add(item)
    newest = 29.9
    gops = list(ring.since(0.0))
    oldest = gops[0][1][0]
    assert oldest.keyframe
    assert newest - 6.0 < oldest.t <= newest - 5.0  # at least 5 s, less than a GOP more
    assert 5.0 <= ring.span_s < 6.0


def test_since_starts_at_the_latest_keyframe_at_or_before_the_time() -> None:
    ring: Ring[Item] = Ring(horizon_s=20.0, max_bytes=10**9)
    for item in stream(30):
        ring.add(item)
    first = next(iter(ring.since(17.35)))[1][0]
    assert first.keyframe and first.t == 17.0
    assert next(iter(ring.since(17.0)))[1][0].t == 17.0
    assert next(iter(ring.since(0.0)))[1][0].t == 9.0  # the oldest kept: best effort


def test_the_byte_budget_drops_whole_gops_oldest_first() -> None:
    ring: Ring[Item] = Ring(horizon_s=60.0, max_bytes=2500)
    for item in stream(10):
        ring.add(item)
    assert ring.bytes <= 2500
    assert ring.counts.over_budget == 8
    assert next(iter(ring.since(0.0)))[1][0].t == 8.0


def test_a_gop_larger_than_the_budget_is_dropped_until_the_next_keyframe() -> None:
    """A camera that sends no keyframe for a long time cannot grow the ring."""
    ring: Ring[Item] = Ring(horizon_s=5.0, max_bytes=1000)
    for item in stream(2, gop=25):  # one keyframe, at 0 s
        ring.add(item)
    assert ring.counts.oversized_gops == 1
    assert ring.bytes <= 1000
    assert ring.latest() is None  # nothing a decoder can start from: viewers wait
    ring.add(Item(3.0, True))
    latest = ring.latest()
    assert latest is not None and latest[1][0].t == 3.0


def test_items_before_any_keyframe_are_counted_not_kept() -> None:
    ring: Ring[Item] = Ring(horizon_s=5.0, max_bytes=10**6)
    for item in stream(2)[3:]:
        ring.add(item)
    assert ring.counts.before_keyframe == 7
    assert [i.t for i in ring.latest()[1]] == [1.0 + i / 10 for i in range(10)]  # type: ignore[index]


def test_a_gop_carries_the_header_in_force_at_its_keyframe() -> None:
    ring: Ring[Item] = Ring(horizon_s=60.0, max_bytes=10**6)
    h1, h2 = Item(-1.0, False, 7), Item(1.5, False, 8)
    ring.set_header(h1)
    for item in stream(1.5):
        ring.add(item)
    ring.set_header(h2)
    ring.add(Item(1.5, False))  # after a new header, only its keyframe can start
    for item in stream(3)[20:]:
        ring.add(item)
    assert [(h, items[0].t) for h, items in ring.since(0.0)] == [(h1, 0.0), (h1, 1.0), (h2, 2.0)]
    assert ring.counts.before_keyframe == 1


@given(
    st.lists(
        st.tuples(st.floats(0.01, 2.0), st.booleans(), st.integers(1, 5000)),
        min_size=1,
        max_size=300,
    ),
    st.floats(0.0, 10.0),
    st.integers(1000, 50_000),
)
def test_any_stream_keeps_the_bounds(
    steps: list[tuple[float, bool, int]], horizon: float, budget: int
) -> None:
    ring: Ring[Item] = Ring(horizon_s=horizon, max_bytes=budget)
    t = 0.0
    for dt, key, size in steps:
        t += dt
        ring.add(Item(t, key, size))
        assert ring.bytes <= budget
        gops = list(ring.since(-1.0))
        assert all(items[0].keyframe for _, items in gops)
        assert sum(i.size for _, items in gops for i in items) == ring.bytes
