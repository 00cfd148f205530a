"""People followed from one analysed frame to the next (pure: boxes and times in).

A detection joins the track whose last box it overlaps most, or failing that whose
last box is nearest (within a gate that grows with the time since the track was last
seen); a detection that joins none starts a track; a track unseen for ``TRACK_GONE_S``
ends. This is the greedy IoU-then-centroid association of Frigate's trackers, enough
at a few analysed frames a second, where a walker moves a fraction of their width.

Each track keeps where its feet are: not the bottom of HOG's box, which holds padding
below the feet (``FOOT_OFFSET``), and smoothed over the last few detections, so that
one box that jitters or stretches does not put the walker across a boundary.
"""

from __future__ import annotations

import statistics
from collections import deque
from dataclasses import dataclass, field
from typing import Final

from adapters.video.person import Person, iou

FOOT_OFFSET: Final = 0.175
"""The feet stand this share of the box's height above the bottom of HOG's box.

HOG's window pads the person: in its 64x128 window a person is about 96 px tall, and
our detections (pyramid levels 1.0-1.46 over a region scaled to 100 px) come out a
little larger still. Measured with ``bench/foot_offset.py`` (median, quartiles): real
people in Debian's ``vtest.avi``, their feet taken as the lowest row of their
full-resolution silhouette (lone people only; checked by eye on crops), 0.175
(0.154-0.201, 975 boxes); synthetic walkers, whose feet are known, 0.172 (0.162-0.21,
124 boxes). The head is 0.12-0.14 below the top: the person fills the middle two
thirds of the box. Taking the box's bottom for the feet put a walker on the path
several percent of the frame inside the lawn beside it."""

TRACK_GONE_S: Final = 1.5
"""A track unseen for this long has ended: HOG misses a walker for a frame or two at a
time (legs together), seldom for more than a second."""

MATCH_IOU: Final = 0.2
"""Overlap with a track's last box that makes a detection the same person."""

MATCH_GATE: Final = 0.6
"""Without that overlap, a detection is the same person if its centre is within this
many box widths of the track's last centre, plus ``MATCH_SPEED`` per second unseen."""

MATCH_SPEED: Final = 0.25
"""Fastest a person crosses the image, in frame widths a second (a runner near the
camera): how far a track may have gone while HOG missed it."""

FEET_SMOOTHING: Final = 3
"""The feet are the median of the last 3 foot estimates: one odd box (a window
stretched by an object below the person, a jitter of a tenth of its height) is
outvoted, at the cost of following a walker one analysed frame late (0.2 s at 5 fps)."""

CONFIRM_HITS: Final = (2, 4)
"""A track is a person after 2 detections in its last 4 analysed frames: one HOG hit
alone is too often a shadow. A walker is found with legs apart and missed with legs
together, so 2 in 3 could miss for seconds when the sampling fell in step with the
stride (measured live: 2.0 s); 2 in 4 spans a stride and stays under 1 s at 5 fps."""

SURE_SCORE: Final = 1.5
"""A single detection this sure (HOG margin) is a person at once: walkers score 2-3
here, HOG's mistakes on moving regions stay well under 1."""


@dataclass(slots=True)
class Track:
    """One person followed across frames."""

    id: int
    box: Person
    seen: float
    hits: deque[bool] = field(default_factory=lambda: deque(maxlen=CONFIRM_HITS[1]))
    _feet: deque[tuple[float, float]] = field(default_factory=lambda: deque(maxlen=FEET_SMOOTHING))
    confirmed: bool = False
    """A person, not a passing shadow: ``CONFIRM_HITS`` or one ``SURE_SCORE`` hit (for
    good: a confirmed walker stays one through the frames HOG misses)."""
    zone: str | None = None
    """The zone the analyser last placed this person in (its own bookkeeping)."""

    def add(self, p: Person, now: float) -> None:
        self.box, self.seen = p, now
        self.hits.append(True)
        self._feet.append(feet_of(p))
        needed, _ = CONFIRM_HITS
        self.confirmed = self.confirmed or sum(self.hits) >= needed or p.score >= SURE_SCORE

    @property
    def feet(self) -> tuple[float, float]:
        """Where the person stands (normalised), smoothed over the last detections."""
        xs, ys = zip(*self._feet, strict=True)
        return statistics.median(xs), statistics.median(ys)

    @property
    def detected(self) -> bool:
        """Seen in the last frame."""
        return bool(self.hits) and self.hits[-1]


def feet_of(p: Person) -> tuple[float, float]:
    """Where the feet are in one detection box (normalised)."""
    return p.x + p.w / 2, p.y + p.h * (1.0 - FOOT_OFFSET)


class PersonTracker:
    """Tracks of the people detected in a camera's analysed frames."""

    def __init__(self) -> None:
        self.tracks: list[Track] = []
        self._next_id = 1

    def update(self, people: list[Person], now: float) -> list[Track]:
        """Add one frame's detections; returns the live tracks (``detected`` tells which
        were seen in this frame)."""
        self.tracks = [t for t in self.tracks if now - t.seen <= TRACK_GONE_S]
        candidates = sorted(
            (
                (iou(p, t.box), -_distance(p, t.box), i, t)
                for i, p in enumerate(people)
                for t in self.tracks
            ),
            key=lambda c: (c[0], c[1]),
            reverse=True,
        )  # most overlapping first, then nearest
        matched: set[int] = set()
        continued: set[int] = set()
        for overlap, closeness, i, t in candidates:
            if i in matched or t.id in continued:
                continue
            gate = MATCH_GATE * max(t.box.w, people[i].w) + MATCH_SPEED * (now - t.seen)
            if overlap >= MATCH_IOU or -closeness <= gate:
                t.add(people[i], now)
                matched.add(i)
                continued.add(t.id)
        for t in self.tracks:
            if t.id not in continued:
                t.hits.append(False)
        for i, p in enumerate(people):
            if i not in matched:
                track = Track(self._next_id, p, now)
                track.add(p, now)
                self._next_id += 1
                self.tracks.append(track)
        return self.tracks


def _distance(a: Person, b: Person) -> float:
    """Between the centres of two boxes, in frame units."""
    ax, ay = a.x + a.w / 2, a.y + a.h / 2
    bx, by = b.x + b.w / 2, b.y + b.h / 2
    return float(((ax - bx) ** 2 + (ay - by) ** 2) ** 0.5)
