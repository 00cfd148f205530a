"""Person check on moving regions only, with the HOG people detector that ships in
OpenCV 4.x (nothing is downloaded)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import cv2
import numpy as np
from cv2.typing import MatLike

from adapters.video.motion import Blob

MIN_SCORE: Final = 0.3
"""HOG SVM margin below which a window is not a person (measured on the simulator's
intruders and on walking people: true hits score 0.5-2.5)."""

TARGET_BLOB_PX: Final = 100.0
"""Height a moving region is scaled to before the person check: a walker fills about
96 px of HOG's 64x128 window, so a whole-body blob lands at the first pyramid levels."""

PYRAMID_STEP: Final = 1.1
PYRAMID_LEVELS: Final = 5
"""Only the pyramid levels near window size (1.0 to 1.46 times): the blob is already at
the right scale, and the deep levels of a full pyramid cost most of the time."""

GROUP_THRESHOLD: Final = 0
"""Every window HOG finds is kept (then the best of overlapping ones, ``_suppress``):
OpenCV's default grouping keeps only clusters of 3 windows or more, which a scan of 5
pyramid levels seldom gives, and dropped half the detections of a walker (synthetic:
46 % of frames found, 87 % without it). Lone windows on what is not a person are
filtered after: ``MIN_SCORE``, and a track must be hit twice to be a person."""

MIN_ASPECT: Final = 0.6
"""Height over width (in pixels) below which a moving region is not checked for a
person: a walker is taller than wide, swaying bushes are not."""

MIN_HEIGHT: Final = 0.08
"""Smallest region height checked, as a share of the frame (a person far at the fence)."""

PAD: Final = 0.6
"""Margin added around a moving region, as a share of its size: a walker's legs and
head often move less than the torso and fall outside the blob."""


@dataclass(frozen=True, slots=True)
class Person:
    """A person seen in the image, normalised box [x, y, w, h] and the detector's score."""

    x: float
    y: float
    w: float
    h: float
    score: float

    @property
    def foot(self) -> tuple[float, float]:
        return (self.x + self.w / 2, self.y + self.h)


class PersonDetector:
    def __init__(self) -> None:
        self._hog = cv2.HOGDescriptor(
            (64, 128),
            (16, 16),
            (8, 8),
            (8, 8),
            9,
            1,
            -1.0,
            cv2.HOGDescriptor_L2Hys,
            0.2,
            True,
            PYRAMID_LEVELS,
        )
        self._hog.setSVMDetector(np.array(cv2.HOGDescriptor.getDefaultPeopleDetector()))

    def detect(self, frame: MatLike, regions: list[Blob]) -> list[Person]:
        """People whose window overlaps one of ``regions`` (normalised boxes)."""
        height, width = frame.shape[:2]
        found: list[Person] = []
        for r in _merge(regions):
            if r.h < MIN_HEIGHT or r.h * height < r.w * width * MIN_ASPECT:
                continue  # boxes are in frame units: the aspect is in pixels
            x0 = max(0, int((r.x - r.w * PAD) * width))
            y0 = max(0, int((r.y - r.h * PAD) * height))
            x1 = min(width, int((r.x + r.w * (1 + PAD)) * width))
            y1 = min(height, int((r.y + r.h * (1 + PAD)) * height))
            crop: MatLike = frame[y0:y1, x0:x1]
            # Bring the moving blob to about HOG's window height: a near walker is not
            # scanned through a deep pyramid, a far one is enlarged enough to be seen.
            scale = TARGET_BLOB_PX / max(r.h * height, 1.0)
            crop = cv2.resize(
                crop,
                None,
                fx=scale,
                fy=scale,
                interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR,
            )
            if crop.shape[0] < 128 or crop.shape[1] < 64:
                crop = cv2.copyMakeBorder(
                    crop,
                    0,
                    max(0, 128 - crop.shape[0]),
                    0,
                    max(0, 64 - crop.shape[1]),
                    cv2.BORDER_REPLICATE,
                )
            rects, weights = self._hog.detectMultiScale(
                crop,
                winStride=(8, 8),
                padding=(8, 8),
                scale=PYRAMID_STEP,
                groupThreshold=GROUP_THRESHOLD,
            )
            for (rx, ry, rw, rh), score in zip(rects, np.ravel(weights), strict=False):
                if score < MIN_SCORE:
                    continue
                found.append(  # plain floats: numpy's do not go into JSON
                    Person(
                        float((x0 + rx / scale) / width),
                        float((y0 + ry / scale) / height),
                        float(rw / scale / width),
                        float(rh / scale / height),
                        float(score),
                    )
                )
        return _suppress(found)


def _merge(blobs: list[Blob]) -> list[Blob]:
    """Join overlapping regions so a person split in two blobs is checked once."""
    merged: list[Blob] = []
    for b in sorted(blobs, key=lambda b: b.x):
        for i, m in enumerate(merged):
            if b.x <= m.x + m.w and m.x <= b.x + b.w and b.y <= m.y + m.h and m.y <= b.y + b.h:
                x, y = min(m.x, b.x), min(m.y, b.y)
                merged[i] = Blob(x, y, max(m.x + m.w, b.x + b.w) - x, max(m.y + m.h, b.y + b.h) - y)
                break
        else:
            merged.append(b)
    return merged


def _suppress(people: list[Person]) -> list[Person]:
    """Keep the best of overlapping detections."""
    kept: list[Person] = []
    for p in sorted(people, key=lambda p: -p.score):
        if all(iou(p, k) < 0.3 for k in kept):
            kept.append(p)
    return kept


def iou(a: Person, b: Person) -> float:
    """Intersection over union of two boxes."""
    ix = max(0.0, min(a.x + a.w, b.x + b.w) - max(a.x, b.x))
    iy = max(0.0, min(a.y + a.h, b.y + b.h) - max(a.y, b.y))
    inter = ix * iy
    return inter / (a.w * a.h + b.w * b.h - inter + 1e-9)
