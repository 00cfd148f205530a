"""Where the feet are in a HOG person box: measured on synthetic walkers and real people.

    .venv/bin/python bench/foot_offset.py [--clip PATH] [--show DIR]

Runs the camera's own detector (motion regions, then HOG on them, as the analyser
does) at 5 fps and, for each detection, compares the box with where the person is:
- synthetic walkers (simulators/scene.py): the feet and head are known exactly;
- a real clip (default Debian's opencv-doc ``vtest.avi``): the person's silhouette,
  from a full-resolution background model (MOG2 on the whole clip at 10 fps), gives the
  lowest and highest moving row inside the box. Only lone people count: one silhouette
  in and around the box, no other detection overlapping it.
Prints, as shares of the box height, the gap from the feet to the box's bottom and
from the box's top to the head (median and quartiles). ``--show`` writes crops with the
box (red), the silhouette's feet (green) and the estimated feet (blue) to check by eye.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import cv2
import numpy as np
from cv2.typing import MatLike

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from adapters.video.motion import MotionDetector
from adapters.video.person import Person, PersonDetector
from simulators.scene import Scene, SceneRenderer, Walker
from tests.adapters.kerb_scene import VTEST

FPS = 5


def quartiles(values: list[float]) -> str:
    q = statistics.quantiles(values, n=4)
    return (
        f"median {statistics.median(values):.3f} (quartiles {q[0]:.3f}-{q[2]:.3f}, n={len(values)})"
    )


def synthetic() -> tuple[list[float], list[float]]:
    walkers = [
        Walker(((0.05, 0.55), (0.95, 0.6)), start_s=1.0, speed=0.08),
        Walker(((0.9, 0.75), (0.1, 0.9)), start_s=3.0, speed=0.1),
        Walker(((0.3, 0.45), (0.4, 0.95)), start_s=16.0, speed=0.06),
    ]
    renderer = SceneRenderer(Scene(walkers=walkers))
    motion, people = MotionDetector(), PersonDetector()
    below, above = [], []
    for i in range(int(26 * FPS)):
        t = i / FPS
        frame = renderer.frame(t)
        blobs = motion.detect(motion.prepare(frame))
        for p in people.detect(frame, blobs) if blobs else []:
            feet = [f for w in walkers if (f := w.foot_at(t)) is not None]
            near = [f for f in feet if p.x <= f[0] <= p.x + p.w]
            if len(near) != 1:
                continue
            _, fy = near[0]
            height = (60 + 110 * max(0.0, (fy - 0.36) / 0.64)) / 360  # as scene._person
            head = fy - height * 174 / 170
            below.append((p.y + p.h - fy) / p.h)
            above.append((head - p.y) / p.h)
    return below, above


def silhouette_rows(fg: MatLike, p: Person) -> tuple[float, float] | None:
    """Highest and lowest moving rows (normalised) of the lone silhouette in ``p``."""
    height, width = fg.shape[:2]
    x0, x1 = int(p.x * width), int((p.x + p.w) * width)
    y0, y1 = int(p.y * height), int((p.y + p.h) * height)
    pad = int(p.h * height * 0.3)
    area = fg[max(0, y0 - pad) : min(height, y1 + pad), max(0, x0) : min(width, x1)]
    count, _, stats, _ = cv2.connectedComponentsWithStats(area)
    big = [i for i in range(1, count) if stats[i, cv2.CC_STAT_AREA] >= 0.04 * area.size]
    if len(big) != 1:
        return None
    top = stats[big[0], cv2.CC_STAT_TOP]
    bottom = top + stats[big[0], cv2.CC_STAT_HEIGHT]
    if top == 0 or bottom >= area.shape[0]:  # cut by the search area: not the whole person
        return None
    origin = max(0, y0 - pad)
    return (origin + top) / height, (origin + bottom) / height


def real(clip: Path, show: Path | None) -> tuple[list[float], list[float]]:
    cap = cv2.VideoCapture(str(clip))
    fps = cap.get(cv2.CAP_PROP_FPS) or 10.0
    step = max(1, round(fps / FPS))
    full = cv2.createBackgroundSubtractorMOG2(history=300, varThreshold=25, detectShadows=True)
    motion, people = MotionDetector(), PersonDetector()
    below, above = [], []
    n = 0
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        fg = full.apply(frame)
        fg = np.where(fg == 255, 255, 0).astype(np.uint8)  # shadows (127) are not the person
        fg = cv2.morphologyEx(fg, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
        fg = cv2.morphologyEx(fg, cv2.MORPH_CLOSE, np.ones((9, 5), np.uint8))
        n += 1
        if n % step or n < 50:  # 5 fps, after 5 s of background learning
            continue
        blobs = motion.detect(motion.prepare(frame))
        found = people.detect(frame, blobs) if blobs else []
        for p in found:
            if any(q is not p and _overlap(p, q) for q in found):
                continue
            rows = silhouette_rows(fg, p)
            if rows is None:
                continue
            head, feet = rows
            below.append((p.y + p.h - feet) / p.h)
            above.append((head - p.y) / p.h)
            if show is not None and len(below) % 10 == 0:
                _crop(frame, p, feet, show / f"{n:04d}.png")
    return below, above


def _overlap(a: Person, b: Person) -> bool:
    return a.x < b.x + b.w and b.x < a.x + a.w and a.y < b.y + b.h and b.y < a.y + a.h


def _crop(frame: MatLike, p: Person, feet: float, path: Path) -> None:
    h, w = frame.shape[:2]
    img = frame.copy()
    x0, y0, x1, y1 = int(p.x * w), int(p.y * h), int((p.x + p.w) * w), int((p.y + p.h) * h)
    cv2.rectangle(img, (x0, y0), (x1, y1), (0, 0, 255), 1)
    cv2.line(img, (x0, int(feet * h)), (x1, int(feet * h)), (0, 255, 0), 1)
    est = int((p.y + p.h * 0.875) * h)
    cv2.line(img, (x0, est), (x1, est), (255, 0, 0), 1)
    crop = img[max(0, y0 - 10) : min(h, y1 + 10), max(0, x0 - 10) : min(w, x1 + 10)]
    cv2.imwrite(str(path), cv2.resize(crop, None, fx=2, fy=2, interpolation=cv2.INTER_NEAREST))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clip", type=Path, default=VTEST)
    parser.add_argument("--show", type=Path)
    args = parser.parse_args()
    if args.show is not None:
        args.show.mkdir(parents=True, exist_ok=True)
    below, above = synthetic()
    print("synthetic walkers, shares of the box height:")
    print(f"  feet to box bottom: {quartiles(below)}")
    print(f"  box top to head:    {quartiles(above)}")
    if args.clip.exists():
        below, above = real(args.clip, args.show)
        print(f"{args.clip.name}, lone people, shares of the box height:")
        print(f"  feet to box bottom: {quartiles(below)}")
        print(f"  box top to head:    {quartiles(above)}")
    else:
        print(f"{args.clip}: missing (Debian package opencv-doc)")


if __name__ == "__main__":
    main()
