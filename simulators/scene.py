"""Synthetic perimeter scenes for the camera simulator: a fence line by day or night,
swaying vegetation, rain, a floodlight switching on, and scripted intruders walking
given paths. Frames are deterministic for a seed and a time."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import cv2
import numpy as np
from cv2.typing import MatLike

WIDTH, HEIGHT = 640, 360
HORIZON = 0.36  # the fence stands here; the ground comes towards the camera below it


@dataclass(frozen=True, slots=True)
class Walker:
    """An intruder whose feet follow ``path`` (normalised image points) at ``speed``
    (image widths per second), starting at ``start_s``."""

    path: tuple[tuple[float, float], ...]
    start_s: float = 0.0
    speed: float = 0.08
    repeat_s: float | None = None  # walk the path again every repeat_s (demo loops)

    def foot_at(self, t: float) -> tuple[float, float] | None:
        if self.repeat_s and t > self.start_s:
            t = self.start_s + (t - self.start_s) % self.repeat_s
        travelled = (t - self.start_s) * self.speed
        if travelled < 0:
            return None
        for (x0, y0), (x1, y1) in zip(self.path, self.path[1:], strict=False):
            leg = math.dist((x0, y0), (x1, y1))
            if travelled <= leg:
                f = travelled / leg if leg else 1.0
                return (x0 + (x1 - x0) * f, y0 + (y1 - y0) * f)
            travelled -= leg
        return None

    def entry_time(
        self, inside: Callable[[float, float], bool], step: float = 0.01
    ) -> float | None:
        """When the feet first stand where ``inside`` says: for latency measurements."""
        t = self.start_s
        while (foot := self.foot_at(t)) is not None:
            if inside(*foot):
                return t
            t += step
        return None


@dataclass(slots=True)
class Scene:
    """What the camera sees and when."""

    night: bool = False
    vegetation: bool = False
    rain: bool = False
    floodlight_at: float | None = None
    covered: tuple[float, float] | None = None
    walkers: list[Walker] = field(default_factory=list)
    seed: int = 7
    paths: tuple[tuple[tuple[float, float], ...], ...] = ()
    """Paved areas (normalised polygons) drawn lighter than the ground: a footpath."""


class SceneRenderer:
    def __init__(self, scene: Scene) -> None:
        self.scene = scene
        self._rng = np.random.default_rng(scene.seed)
        self._base = self._background()

    def _background(self) -> MatLike:
        y = np.linspace(0, 1, HEIGHT, dtype=np.float32)[:, None]
        img = np.zeros((HEIGHT, WIDTH, 3), np.float32)
        sky = y < HORIZON
        img[..., 0] = np.where(sky, 175 - 60 * y, 80 + 40 * y)  # B
        img[..., 1] = np.where(sky, 150 - 40 * y, 105 + 60 * y)  # G
        img[..., 2] = np.where(sky, 120 - 20 * y, 85 + 40 * y)  # R
        img += self._rng.normal(0, 7, (HEIGHT, WIDTH, 1)).astype(np.float32)
        if self.scene.night:
            img *= 0.3
        out = np.clip(img, 0, 255).astype(np.uint8)
        for polygon in self.scene.paths:
            points = np.round(np.array(polygon) * [WIDTH - 1, HEIGHT - 1]).astype(np.int32)
            paving = np.zeros_like(out)
            cv2.fillPoly(paving, [points], (150, 150, 150) if not self.scene.night else (45,) * 3)
            inside = paving[..., 0] > 0
            grain = self._rng.normal(0, 5, (HEIGHT, WIDTH, 1))
            out[inside] = np.clip(paving + grain, 0, 255).astype(np.uint8)[inside]
        top, bottom = int(HEIGHT * (HORIZON - 0.06)), int(HEIGHT * (HORIZON + 0.12))
        post = (55, 55, 55) if not self.scene.night else (25, 25, 25)
        for x in range(0, WIDTH, 40):
            cv2.line(out, (x, top), (x, bottom), post, 3)
        for yy in (top + 4, bottom - 4):
            cv2.line(out, (0, yy), (WIDTH, yy), post, 2)
        return out

    def frame(self, t: float) -> MatLike:
        s = self.scene
        img = self._base.copy()
        if s.vegetation:
            for i, (bx, by) in enumerate(((0.1, 0.78), (0.45, 0.9), (0.82, 0.74), (0.62, 0.52))):
                sway = 10 * math.sin(t * 2.1 + i)
                centre = (int(bx * WIDTH + sway), int(by * HEIGHT))
                colour = (40, 95, 45) if not s.night else (15, 35, 18)
                cv2.ellipse(img, centre, (34, 22), sway * 2, 0, 360, colour, -1)
                cv2.ellipse(
                    img, (centre[0] + 12, centre[1] - 12), (18, 14), -sway, 0, 360, colour, -1
                )
        for w in s.walkers:
            foot = w.foot_at(t)
            if foot is not None:
                _person(img, foot, t * w.speed * 40, s.night)
        if s.floodlight_at is not None and t >= s.floodlight_at:
            img = cv2.convertScaleAbs(img, alpha=1.5, beta=55)
        if s.rain:
            rng = np.random.default_rng((int(t * 1000) + s.seed) % 2**32)
            for x, y in rng.integers(0, (WIDTH, HEIGHT), size=(120, 2)):
                cv2.line(img, (int(x), int(y)), (int(x) - 2, int(y) + 7), (200, 200, 200), 1)
        noise = np.random.default_rng((int(t * 997) + 1) % 2**32).normal(0, 2.5, img.shape)
        img = np.clip(img.astype(np.float32) + noise, 0, 255).astype(np.uint8)
        if s.covered is not None and s.covered[0] <= t < s.covered[1]:
            img = np.full_like(img, 12)
        return img


def _person(img: MatLike, foot: tuple[float, float], phase: float, night: bool) -> None:
    """A walking figure whose height follows perspective: small near the fence."""
    fx, fy = foot[0] * WIDTH, foot[1] * HEIGHT
    h = 60 + 110 * max(0.0, (foot[1] - HORIZON) / (1 - HORIZON))
    colour = (40, 35, 30) if not night else (70, 70, 75)
    sc = h / 170.0
    swing = math.sin(phase)
    hip = (fx, fy - 85 * sc)
    cv2.ellipse(
        img,
        (int(fx), int(fy - 160 * sc)),
        (max(1, int(11 * sc)), max(1, int(14 * sc))),
        0,
        0,
        360,
        colour,
        -1,
    )
    # Human proportions: shoulders about a quarter of the height (a thinner figure is a
    # stick that motion analysis at 160x90 erodes away).
    torso = max(2, int(36 * sc))
    cv2.line(img, (int(fx), int(fy - 140 * sc)), (int(hip[0]), int(hip[1])), colour, torso)
    shoulders = (int(fx - 19 * sc), int(fy - 138 * sc)), (int(fx + 19 * sc), int(fy - 138 * sc))
    cv2.line(img, *shoulders, colour, max(1, int(10 * sc)))
    for d in (1, -1):
        # Legs start a hip-width apart and never merge into one line, as real legs do:
        # a figure whose legs close into a stick at each step is no person to a detector.
        hip_d = (hip[0] + d * 8 * sc, hip[1])
        knee = (fx + d * (6 + swing * 14) * sc, fy - 45 * sc)
        toe = (fx + d * (5 + swing * 28) * sc, fy)
        cv2.line(
            img,
            (int(hip_d[0]), int(hip_d[1])),
            (int(knee[0]), int(knee[1])),
            colour,
            max(1, int(13 * sc)),
        )
        cv2.line(
            img,
            (int(knee[0]), int(knee[1])),
            (int(toe[0]), int(toe[1])),
            colour,
            max(1, int(11 * sc)),
        )
        hand = (fx - d * swing * 22 * sc, fy - 80 * sc)
        cv2.line(
            img,
            (int(fx), int(fy - 138 * sc)),
            (int(hand[0]), int(hand[1])),
            colour,
            max(1, int(9 * sc)),
        )


class SceneSource:
    """Frames of a scene straight from the renderer, in the shape of an RTSP reader
    (``latest()``): for machines without GStreamer's RTSP server."""

    def __init__(self, scene: Scene, t0: float, fps: float = 10.0) -> None:
        self._renderer = SceneRenderer(scene)
        self._t0 = t0
        self._period = 1.0 / fps
        self.up = True

    def latest(self) -> tuple[MatLike, float, int]:
        now = time.time()
        n = max(0, int((now - self._t0) / self._period))  # the scene starts at t0
        return self._renderer.frame(n * self._period), now, n
