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
        self._hog = cv2.HOGDescriptor()
        self._hog.setSVMDetector(np.array(cv2.HOGDescriptor.getDefaultPeopleDetector()))

    def detect(self, frame: MatLike, regions: list[Blob]) -> list[Person]:
        """People whose window overlaps one of ``regions`` (normalised boxes)."""
        height, width = frame.shape[:2]
        found: list[Person] = []
        for r in _merge(regions):
            x0 = max(0, int((r.x - r.w * PAD) * width))
            y0 = max(0, int((r.y - r.h * PAD) * height))
            x1 = min(width, int((r.x + r.w * (1 + PAD)) * width))
            y1 = min(height, int((r.y + r.h * (1 + PAD)) * height))
            crop: MatLike = frame[y0:y1, x0:x1]
            scale = 1.0
            if crop.shape[0] < 136:  # HOG's window is 64x128: small walkers are enlarged
                scale = 136 / max(crop.shape[0], 1)
                crop = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_LINEAR)
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
                crop, winStride=(8, 8), padding=(8, 8), scale=1.08
            )
            for (rx, ry, rw, rh), score in zip(rects, np.ravel(weights), strict=False):
                if score < MIN_SCORE:
                    continue
                found.append(
                    Person(
                        (x0 + rx / scale) / width,
                        (y0 + ry / scale) / height,
                        rw / scale / width,
                        rh / scale / height,
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
        if all(_iou(p, k) < 0.3 for k in kept):
            kept.append(p)
    return kept


def _iou(a: Person, b: Person) -> float:
    ix = max(0.0, min(a.x + a.w, b.x + b.w) - max(a.x, b.x))
    iy = max(0.0, min(a.y + a.h, b.y + b.h) - max(a.y, b.y))
    inter = ix * iy
    return inter / (a.w * a.h + b.w * b.h - inter + 1e-9)
