"""Motion on a small grey frame, robust to what moves at a perimeter without an intruder."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import cv2
import numpy as np
from cv2.typing import MatLike

Gray = MatLike

SIZE: Final = (160, 90)
"""Analysis resolution: a person 100 px tall at 640x360 is 25 px here, plenty for motion."""

HISTORY: Final = 150
"""Background memory in analysed frames (30 s at 5 fps); sudden light changes are
handled apart, below."""

BACKGROUND_RATIO: Final = 0.75
"""Share of a pixel's history that makes its background. MOG2's 0.9 also takes in a
second, rarer appearance: a walker's dark clothes on a path became background and the
next walker on that path went unseen for 4 s (measured)."""

GLOBAL_CHANGE: Final = 0.35
"""Share of the frame changing at once that means light, not an intruder (a floodlight
switching on, a cloud): the background is learnt again instead of reporting motion."""

QUIET_AFTER_GLOBAL: Final = 3
"""Frames ignored after a global change, while the new background settles."""

MIN_AREA: Final = 24
"""Smallest moving blob kept (px at 160x90): rain streaks and leaves are smaller."""

NUISANCE_RATE: Final = 0.4
"""Pixels found moving more than this share of the time (swaying vegetation, a flag)
are ignored: an intruder crosses a place, vegetation stays in it."""

NUISANCE_ALPHA: Final = 0.005
"""Memory of the nuisance map: about 200 analysed frames (40 s at 5 fps). Shorter
memories learnt a person walking straight at the camera, who stays on the same pixels
for seconds, as vegetation (measured: 3.7 s to the first person event at 0.02)."""


@dataclass(frozen=True, slots=True)
class Blob:
    """A moving region, normalised [0..1]: x, y of the top-left corner, width, height."""

    x: float
    y: float
    w: float
    h: float

    @property
    def foot(self) -> tuple[float, float]:
        return (self.x + self.w / 2, self.y + self.h)


class MotionDetector:
    """Background subtraction (MOG2, adapting to slow light changes) with a global-change
    guard, speck removal and a map of places that always move."""

    def __init__(self, history: int = HISTORY) -> None:
        self._mog = cv2.createBackgroundSubtractorMOG2(
            history=history, varThreshold=25, detectShadows=False
        )
        self._mog.setBackgroundRatio(BACKGROUND_RATIO)
        self._nuisance = np.zeros((SIZE[1], SIZE[0]), np.float32)
        self._quiet = 0
        self._open = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))
        self._close = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 9))
        self.global_changes = 0

    @staticmethod
    def prepare(frame_bgr: MatLike) -> Gray:
        grey = cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2GRAY)  # grey first: a third of the work
        small = cv2.resize(grey, SIZE, interpolation=cv2.INTER_AREA)
        return cv2.GaussianBlur(small, (3, 3), 0)

    def detect(self, grey: Gray) -> list[Blob]:
        fg = self._mog.apply(grey)
        changed = float(np.count_nonzero(fg)) / fg.size
        if changed > GLOBAL_CHANGE:
            self._mog.apply(grey, learningRate=1.0)  # learn the new light at once
            self._quiet = QUIET_AFTER_GLOBAL
            self.global_changes += 1
            return []
        if self._quiet:
            self._quiet -= 1
            return []
        cv2.accumulateWeighted(fg, self._nuisance, NUISANCE_ALPHA)  # in 0..255 units
        _, restless = cv2.threshold(self._nuisance, NUISANCE_RATE * 255.0, 255, cv2.THRESH_BINARY)
        fg = cv2.bitwise_and(fg, cv2.bitwise_not(restless.astype(np.uint8)))
        fg = cv2.morphologyEx(fg, cv2.MORPH_OPEN, self._open)
        fg = cv2.morphologyEx(fg, cv2.MORPH_CLOSE, self._close)
        contours, _ = cv2.findContours(fg, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        w, h = SIZE
        blobs = []
        for c in contours:
            if cv2.contourArea(c) < MIN_AREA:
                continue
            x, y, bw, bh = cv2.boundingRect(c)
            blobs.append(Blob(x / w, y / h, bw / w, bh / h))
        return blobs
