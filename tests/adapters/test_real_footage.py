"""The camera analysis on real CCTV footage: people on a campus path beside a lawn.

``vtest.avi`` (Debian's opencv-doc, installed by scripts/setup.sh --test) is OpenCV's
pedestrian sample: 79.5 s at 10 fps, 768x576. The lawn (Z01) is traced along the top
of its grass, the path (Z02) beside it; people walk the path, some close to the edge
and past a tripod standing on the lawn (whose legs stretched HOG's box below a walker's
feet); nobody sets foot on the lawn before 50 s, when a couple walks in across it.
"""

from __future__ import annotations

import itertools

import cv2
import pytest
from cv2.typing import MatLike

from adapters.video.analyser import CameraAnalyser, Observation
from tests.adapters.kerb_scene import VTEST, VTEST_LAWN_ENTRY_S, VTEST_ZONES

FPS = 10


@pytest.fixture(scope="module")
def footage() -> list[MatLike]:
    if not VTEST.exists():
        pytest.fail(f"{VTEST} is missing: scripts/setup.sh --test installs opencv-doc")
    cap = cv2.VideoCapture(str(VTEST))
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame)
    cap.release()
    assert len(frames) == 795
    return frames


def persons(frames: list[MatLike], picks: list[int]) -> list[tuple[float, Observation]]:
    analyser = CameraAnalyser(VTEST_ZONES)
    return [
        (n / FPS, o)
        for n in picks
        for o in analyser.analyse(frames[n], n / FPS)
        if o.kind == "person"
    ]


def test_nobody_is_on_the_lawn_until_someone_walks_onto_it_at_any_sampling(
    footage: list[MatLike],
) -> None:
    n = len(footage)
    uneven = [i for i in itertools.accumulate([0] + [2, 1, 3, 2, 2] * n) if i < n]
    for picks in (list(range(0, n, 2)), list(range(1, n, 2)), uneven):
        seen = persons(footage, picks)
        lawn = [t for t, o in seen if o.zone == "Z01"]
        early = [(t, o.box, o.feet) for t, o in seen if o.zone == "Z01" and t < VTEST_LAWN_ENTRY_S]
        assert early == [], "a walker on the path reported on the lawn"
        assert lawn and min(lawn) < VTEST_LAWN_ENTRY_S + 6, "the couple on the lawn is seen"
        path = [t for t, o in seen if o.zone == "Z02"]
        assert len(path) >= 50, "people on the path are reported there, about once a second"
