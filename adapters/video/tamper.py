"""Camera tamper: the lens covered, the image defocused, or the camera turned away."""

from __future__ import annotations

from enum import StrEnum
from typing import Final

import cv2
import numpy as np
import numpy.typing as npt

from adapters.video.motion import Gray

LEARN_FRAMES: Final = 15
"""Frames (3 s at 5 fps) that make the reference view at start."""

PERSIST_S: Final = 3.0
"""A condition must hold this long to raise tamper, and be gone this long to clear it:
a person passing close to the lens is not a tamper."""

COVERED_SPREAD: Final = 16.0
"""Grey-level spread (10th to 90th percentile) below which the image is a blank (a hand,
tape, spray). Percentiles, not the standard deviation: a camera's on-screen clock and
name, a few percent of the picture in black and white, made a covered lens look like a
view that had moved (measured on the simulator's clock)."""

BLUR_RATIO: Final = 0.2
"""Sharpness below this share of the reference: defocused. Sharpness is the Laplacian
variance of the picture's tiles at their 75th percentile: the sharp edges of an
on-screen clock, in a few tiles, must not hide a defocused lens."""

TILES: Final = (4, 8)
"""Rows and columns of tiles for sharpness (about 22 x 20 px at the analysis size)."""

VIEW_MATCH: Final = 0.45
"""Correlation with the reference thumbnail below which the camera looks elsewhere.
Normalised correlation ignores brightness and contrast, so light changes do not count."""


class TamperKind(StrEnum):
    COVERED = "covered"
    DEFOCUSED = "defocused"
    MOVED = "moved"


class TamperDetector:
    def __init__(self) -> None:
        self._learnt = 0
        self._ref_sharp = 0.0
        self._ref_thumb: npt.NDArray[np.float32] | None = None
        self._since: float | None = None
        self._clear_since: float | None = None
        self.active: TamperKind | None = None
        self._candidate: TamperKind | None = None

    def update(self, grey: Gray, now: float) -> TamperKind | None:
        """Feed one frame; returns the tamper in force (after persistence), or None."""
        condition = self._condition(grey)
        if condition is not None:
            self._clear_since = None
            if self._since is None or condition is not self._candidate:
                self._since, self._candidate = now, condition
            if self.active is None and now - self._since >= PERSIST_S:
                self.active = condition
        else:
            self._since = None
            if self.active is not None:
                self._clear_since = self._clear_since if self._clear_since is not None else now
                if now - self._clear_since >= PERSIST_S:
                    self.active = None
                    self._clear_since = None
        return self.active

    def _condition(self, grey: Gray) -> TamperKind | None:
        spread = _spread(grey)
        sharp = _sharpness(grey)
        thumb = _thumb(grey)
        if self._learnt < LEARN_FRAMES:
            if spread >= COVERED_SPREAD:  # never learn a covered lens as the reference
                self._learnt += 1
                k = 1.0 / self._learnt
                self._ref_sharp += (sharp - self._ref_sharp) * k
                self._ref_thumb = (
                    thumb
                    if self._ref_thumb is None
                    else (self._ref_thumb + (thumb - self._ref_thumb) * k)
                )
            return None
        if spread < COVERED_SPREAD:
            return TamperKind.COVERED
        if sharp < self._ref_sharp * BLUR_RATIO:
            return TamperKind.DEFOCUSED
        assert self._ref_thumb is not None
        if float(np.mean(thumb * self._ref_thumb)) < VIEW_MATCH:
            return TamperKind.MOVED
        if self.active is None:  # follow slow changes (dusk, season) while all is well
            self._ref_thumb = self._ref_thumb * 0.995 + thumb * 0.005
            self._ref_sharp = self._ref_sharp * 0.995 + sharp * 0.005
        return None


def _spread(grey: Gray) -> float:
    """10th to 90th percentile of the grey levels (from a histogram: ~20 us)."""
    cumulative = np.cumsum(cv2.calcHist([grey], [0], None, [256], [0, 256]).ravel())
    low, high = np.searchsorted(cumulative, (0.1 * cumulative[-1], 0.9 * cumulative[-1]))
    return float(high - low)


def _sharpness(grey: Gray) -> float:
    """The tiles' Laplacian variance at their 75th percentile (block means by an area
    resize: ~25 us)."""
    rows, cols = TILES
    h, w = grey.shape[0] // rows * rows, grey.shape[1] // cols * cols
    lap = cv2.Laplacian(grey[:h, :w], cv2.CV_32F)
    mean = cv2.resize(lap, (cols, rows), interpolation=cv2.INTER_AREA)
    mean_sq = cv2.resize(lap * lap, (cols, rows), interpolation=cv2.INTER_AREA)
    variance = np.sort((mean_sq - mean * mean).ravel())
    return float(variance[(3 * variance.size) // 4])


def _thumb(grey: Gray) -> npt.NDArray[np.float32]:
    t = cv2.resize(grey, (32, 18), interpolation=cv2.INTER_AREA).astype(np.float32)
    normalised: npt.NDArray[np.float32] = (t - t.mean()) / (t.std() + 1e-6)
    return normalised
