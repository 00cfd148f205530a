"""One camera's analysis: frames and their time in, observations out (pure)."""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from cv2.typing import MatLike

from adapters.video.motion import Blob, MotionDetector
from adapters.video.person import Person, PersonDetector
from adapters.video.regions import ZoneRegions
from adapters.video.tamper import TamperDetector

MOTION_FRAMES: Final = 3
"""Consecutive analysed frames with motion in a zone before it is reported (0.6 s at 5 fps):
what flickers for a frame or two (rain, a moth) is not motion."""

MOTION_REPEAT_S: Final = 2.0
"""While motion lasts in a zone, one report every 2 s: enough to keep an incident
active (its window is tens of seconds), not a flood."""

PERSON_HITS: Final = (2, 4)
"""A person is reported after 2 detections in the last 4 analysed frames of a zone: one
HOG hit alone is too often a shadow. A walker is found with legs apart and missed with
legs together, so 2 in 3 could miss for seconds when the sampling fell in step with the
stride (measured live: 2.0 s); 2 in 4 spans a stride and stays under 1 s at 5 fps."""

ZONE_MARGIN: Final = 0.015
"""A person is in a zone once their feet are this far inside it (1.5 % of the frame,
about the jitter of a HOG box): a box that jitters on a boundary must not report a
person in the zone next door."""

STRONG_SCORE: Final = 1.5
"""A single detection this sure (HOG margin) is a person at once: walkers score 2-3
here, HOG's mistakes on moving regions stay well under 1."""

PERSON_REPEAT_S: Final = 1.0
"""While a person stays in a zone, one report a second."""

PERSON_GONE_S: Final = 1.5
"""No detection in a zone for this long: the person has left it; the next one is an entry."""


@dataclass(frozen=True, slots=True)
class Observation:
    """What the analysis saw: ``kind`` is motion, person, tamper or tamper_cleared."""

    kind: str
    zone: str | None = None
    box: tuple[float, float, float, float] | None = None
    score: float | None = None
    detail: str | None = None


class CameraAnalyser:
    def __init__(self, zones: Mapping[str, Sequence[Sequence[float]]]) -> None:
        self.regions = ZoneRegions(zones)
        self.motion = MotionDetector()
        self.people = PersonDetector()
        self.tamper = TamperDetector()
        self._tampered = False
        self._frames = 0
        self._moving: dict[str, int] = {}
        self._motion_sent: dict[str, float] = {}
        self._hits: dict[str, deque[bool]] = {}
        self._person_sent: dict[str, float] = {}
        self._person_seen: dict[str, float] = {}

    def analyse(self, frame: MatLike, now: float) -> list[Observation]:
        """What this frame shows, after persistence and repeat limits."""
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

    def _motion(self, blobs: list[Blob], now: float) -> list[Observation]:
        in_zone: dict[str, Blob] = {}
        for b in blobs:
            zone = self.regions.zone_of(*b.foot)
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
        best: dict[str, Person] = {}
        for p in people:
            zone = self.regions.zone_of(*p.foot, margin=ZONE_MARGIN)
            if zone is not None and (zone not in best or p.score > best[zone].score):
                best[zone] = p
        out = []
        needed, window = PERSON_HITS
        for zone in self.regions.zones:
            hits = self._hits.setdefault(zone, deque(maxlen=window))
            hits.append(zone in best)
            if zone not in best:
                continue
            p = best[zone]
            entered = now - self._person_seen.get(zone, -1e9) > PERSON_GONE_S
            # Someone confirmed elsewhere in view a moment ago is the same walker crossing
            # into this zone: one detection is enough, which keeps crossings under 1 s.
            tracked = any(
                now - t <= PERSON_GONE_S for z, t in self._person_seen.items() if z != zone
            )
            sure = p.score >= STRONG_SCORE
            if sum(hits) >= needed or sure or (entered and tracked):
                due = now - self._person_sent.get(zone, -1e9) >= PERSON_REPEAT_S
                if entered or due:
                    self._person_sent[zone] = now
                    out.append(Observation("person", zone, _box(p), round(float(p.score), 3)))
                self._person_seen[zone] = now
        return out


def _area(b: Blob) -> float:
    return b.w * b.h


def _box(b: Blob | Person) -> tuple[float, float, float, float]:
    """Plain floats (detectors compute in numpy types, which JSON does not take)."""
    return (float(b.x), float(b.y), float(b.w), float(b.h))
