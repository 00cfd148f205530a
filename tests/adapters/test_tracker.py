"""The person tracker on boxes alone: identity, feet, confirmation, ending."""

from __future__ import annotations

import pytest

from adapters.video.person import Person
from adapters.video.tracker import (
    FOOT_OFFSET,
    SURE_SCORE,
    TRACK_GONE_S,
    PersonTracker,
    Track,
    feet_of,
)

FRAME = 0.2  # 5 analysed frames a second


def box(x: float, foot_y: float, h: float = 0.3, score: float = 1.0) -> Person:
    """A HOG box around a person whose feet are at (x, foot_y)."""
    w = h / 2
    return Person(x - w / 2, foot_y - h * (1 - FOOT_OFFSET), w, h, score)


def only(tracks: list[Track]) -> Track:
    assert len(tracks) == 1, tracks
    return tracks[0]


def test_the_feet_are_above_the_bottom_of_the_box() -> None:
    p = Person(0.4, 0.3, 0.1, 0.4, 1.0)
    x, y = feet_of(p)
    assert x == pytest.approx(0.45)
    assert y == pytest.approx(0.3 + 0.4 * (1 - FOOT_OFFSET))
    assert 0.15 <= FOOT_OFFSET <= 0.2, "as measured: bench/foot_offset.py"


def test_a_walker_keeps_one_track_and_is_confirmed_on_the_second_hit() -> None:
    tracker = PersonTracker()
    first = only(tracker.update([box(0.2, 0.6)], 0.0))
    assert not first.confirmed, "one hit is not yet a person"
    for i in range(1, 6):
        t = only(tracker.update([box(0.2 + 0.02 * i, 0.6)], i * FRAME))
        assert t.id == first.id
        assert t.confirmed and t.detected
    assert t.feet == pytest.approx((0.28, 0.6))  # median of the last three: 0.26-0.30


def test_a_sure_hit_is_a_person_at_once() -> None:
    tracker = PersonTracker()
    assert only(tracker.update([box(0.2, 0.6, score=SURE_SCORE)], 0.0)).confirmed


def test_a_walker_missed_for_a_frame_or_two_is_the_same_person() -> None:
    tracker = PersonTracker()
    tracker.update([box(0.2, 0.6)], 0.0)
    tracker.update([box(0.22, 0.6)], FRAME)
    first = only(tracker.update([], 2 * FRAME))
    assert not first.detected and first.confirmed
    tracker.update([], 3 * FRAME)
    again = only(tracker.update([box(0.3, 0.6)], 4 * FRAME))
    assert again.id == first.id and again.detected


def test_a_track_unseen_too_long_ends_and_the_next_detection_starts_afresh() -> None:
    tracker = PersonTracker()
    tracker.update([box(0.2, 0.6)], 0.0)
    old = only(tracker.update([box(0.22, 0.6)], FRAME))
    assert old.confirmed
    new = only(tracker.update([box(0.24, 0.6)], FRAME + TRACK_GONE_S + 0.1))
    assert new.id != old.id and not new.confirmed


def test_someone_confirmed_elsewhere_does_not_confirm_a_newcomer() -> None:
    tracker = PersonTracker()
    for i in range(4):
        tracker.update([box(0.2 + 0.02 * i, 0.6)], i * FRAME)
    tracks = tracker.update([box(0.28, 0.6), box(0.8, 0.9)], 4 * FRAME)
    walker, newcomer = sorted(tracks, key=lambda t: t.box.x)
    assert walker.confirmed
    assert not newcomer.confirmed, "continuity means the same person, not anyone in view"


def test_two_walkers_passing_each_other_keep_their_own_feet() -> None:
    tracker = PersonTracker()
    for i in range(10):
        t = i * FRAME
        tracks = tracker.update([box(0.2 + 0.04 * i, 0.6), box(0.6 - 0.04 * i, 0.7)], t)
    assert len(tracks) == 2
    heights = sorted(t.feet[1] for t in tracks)
    assert heights == pytest.approx([0.6, 0.7]), "neither takes the other's feet"


def test_one_stretched_box_does_not_move_the_feet() -> None:
    """The issue's case: a box stretched by something below the walker (a tripod) puts
    its bottom on the lawn; the walker's feet stay on the path."""
    tracker = PersonTracker()
    for i in range(4):
        tracker.update([box(0.62 + 0.005 * i, 0.62, h=0.22)], i * FRAME)
    stretched = Person(0.6026, 0.421, 0.1172, 0.3124, 2.963)
    t = only(tracker.update([stretched], 4 * FRAME))
    assert feet_of(stretched)[1] > 0.66
    assert t.feet[1] == pytest.approx(0.62)
