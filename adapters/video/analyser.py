"""One camera's analysis: frames and their time in, observations out (pure)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from cv2.typing import MatLike

from adapters.video.motion import Blob, MotionDetector
from adapters.video.person import Person, PersonDetector
from adapters.video.regions import ZoneRegions
from adapters.video.tamper import TamperDetector
from adapters.video.tracker import PersonTracker, Track

MOTION_FRAMES: Final = 3
"""Consecutive analysed frames with motion in a zone before it is reported (0.6 s at 5 fps):
what flickers for a frame or two (rain, a moth) is not motion."""

MOTION_REPEAT_S: Final = 2.0
"""While motion lasts in a zone, one report every 2 s: enough to keep an incident
active (its window is tens of seconds), not a flood."""

ZONE_MARGIN: Final = 0.015
"""A person is in a zone once their feet (a track's smoothed estimate) are this far
inside it (1.5 % of the frame, about what is left of a HOG box's jitter after the
smoothing): a walker along a boundary must not be reported in the zone next door."""

PERSON_REPEAT_S: Final = 1.0
"""While a person stays in a zone, one report a second."""

PERSON_GONE_S: Final = 1.5
"""No person in a zone for this long: they have left it; the next one is an entry."""


@dataclass(frozen=True, slots=True)
class Observation:
    """What the analysis saw: ``kind`` is motion, person, tamper or tamper_cleared."""

    kind: str
    zone: str | None = None
    box: tuple[float, float, float, float] | None = None
    score: float | None = None
    detail: str | None = None
    feet: tuple[float, float] | None = None
    """Where a person stands (normalised): what placed them in ``zone``."""


class CameraAnalyser:
    def __init__(self, zones: Mapping[str, Sequence[Sequence[float]]]) -> None:
        self.regions = ZoneRegions(zones)
        self.motion = MotionDetector()
        self.people = PersonDetector()
        self.tracker = PersonTracker()
        self.tamper = TamperDetector()
        self._tampered = False
        self._frames = 0
        self._moving: dict[str, int] = {}
        self._motion_sent: dict[str, float] = {}
        self._person_sent: dict[str, float] = {}
        self._person_seen: dict[str, float] = {}
        self._size: tuple[int, ...] | None = None

    def analyse(self, frame: MatLike, now: float) -> list[Observation]:
        """What this frame shows, after persistence and repeat limits."""
        if frame.shape[:2] != self._size:
            if self._size is not None:
                self._new_picture()
            self._size = frame.shape[:2]
        grey = self.motion.prepare(frame)
        out: list[Observation] = []
        self._frames += 1
        # Tamper conditions must hold for seconds: every other frame is plenty.
        tamper = self.tamper.update(grey, now) if self._frames % 2 else self.tamper.active
        if (tamper is not None) != self._tampered:
            self._tampered = tamper is not None
            out.append(
                Observation("tamper", detail=str(tamper))
                if tamper
                else Observation("tamper_cleared")
            )
        if self._tampered:
            return out
        blobs = self.motion.detect(grey)
        out.extend(self._motion(blobs, now))
        people = self.people.detect(frame, blobs) if blobs else []
        out.extend(self._persons(people, now))
        return out

    def _new_picture(self) -> None:
        """The camera changed resolution (a new stream format, maybe a new crop): what
        was learnt of the old picture (background, tracks, reference view) starts again.
        A tamper in force stays until its own end."""
        self.motion = MotionDetector()
        self.tracker = PersonTracker()
        self._moving.clear()
        if self.tamper.active is None:
            self.tamper = TamperDetector()

    def _motion(self, blobs: list[Blob], now: float) -> list[Observation]:
        in_zone: dict[str, Blob] = {}
        for b in blobs:
            zone = self.regions.zone_of(*b.foot, margin=ZONE_MARGIN)
            if zone is not None and (
                zone not in in_zone or b.w * b.h > in_zone[zone].w * in_zone[zone].h
            ):
                in_zone[zone] = b
        out = []
        for zone in self.regions.zones:
            if zone not in in_zone:
                self._moving[zone] = 0
                continue
            self._moving[zone] = self._moving.get(zone, 0) + 1
            if (
                self._moving[zone] >= MOTION_FRAMES
                and now - self._motion_sent.get(zone, -1e9) >= MOTION_REPEAT_S
            ):
                self._motion_sent[zone] = now
                b = in_zone[zone]
                out.append(Observation("motion", zone, _box(b), round(float(b.w * b.h), 4)))
        return out

    def _persons(self, people: list[Person], now: float) -> list[Observation]:
        """A person is reported in the zone where their own track's feet stand: a
        confirmed track, seen in this frame, its smoothed feet ``ZONE_MARGIN`` inside
        the zone. Someone else confirmed elsewhere in view is no evidence for this one."""
        here: dict[str, tuple[bool, float, Track]] = {}
        for track in self.tracker.update(people, now):
            if not (track.detected and track.confirmed):
                continue
            zone = self.regions.zone_of(*track.feet, margin=ZONE_MARGIN)
            if zone is None:
                continue  # on a boundary, or outside every zone: where it was, for now
            # Whoever has just stepped in is the one to show; then the surest.
            rank = (track.zone != zone, track.box.score, track)
            track.zone = zone
            if zone not in here or rank[:2] > here[zone][:2]:
                here[zone] = rank
        out = []
        for zone, (_, _, track) in here.items():
            entered = now - self._person_seen.get(zone, -1e9) > PERSON_GONE_S
            due = now - self._person_sent.get(zone, -1e9) >= PERSON_REPEAT_S
            if entered or due:
                self._person_sent[zone] = now
                p = track.box
                feet = (round(track.feet[0], 4), round(track.feet[1], 4))
                out.append(
                    Observation("person", zone, _box(p), round(float(p.score), 3), feet=feet)
                )
            self._person_seen[zone] = now
        return out


def _area(b: Blob) -> float:
    return b.w * b.h


def _box(b: Blob | Person) -> tuple[float, float, float, float]:
    """Plain floats (detectors compute in numpy types, which JSON does not take)."""
    return (float(b.x), float(b.y), float(b.w), float(b.h))
