"""A sterile zone beside a busy path, synthetic and real, for the tests and the bench.

Synthetic: a lawn (zone Z01, sterile) below a diagonal kerb, a footpath (zone Z02)
above it. Walkers follow the kerb on the path side, their feet 0.02-0.035 of the frame
above it, both ways, overlapping at times; then one walker steps off the path onto the
lawn. Nobody may be reported on the lawn before that step.

Real: ``vtest.avi`` (Debian's opencv-doc: people walking on a campus path beside a
lawn, 768x576 at 10 fps, 79.5 s). Nobody sets foot on the lawn before
``VTEST_LAWN_ENTRY_S``; the lawn's edge was traced along the top of the grass.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from simulators.scene import Scene, Walker

KERB: Final = ((0.0, 0.60), (1.0, 0.76))
"""The kerb between path (above) and lawn (below), a straight diagonal."""


def kerb_y(x: float) -> float:
    (x0, y0), (x1, y1) = KERB
    return y0 + (y1 - y0) * (x - x0) / (x1 - x0)


LAWN: Final = [[0.0, kerb_y(0.0)], [1.0, kerb_y(1.0)], [1.0, 1.0], [0.0, 1.0]]
PATH: Final = [[0.0, 0.45], [1.0, 0.55], [1.0, kerb_y(1.0)], [0.0, kerb_y(0.0)]]
KERB_ZONES: Final = {"Z01": LAWN, "Z02": PATH}


def on_lawn(x: float, y: float) -> bool:
    return 0.0 <= x <= 1.0 and y >= kerb_y(x)


def _along(gap: float, start_s: float, speed: float, rightwards: bool) -> Walker:
    ends = [(-0.05, kerb_y(-0.05) - gap), (1.05, kerb_y(1.05) - gap)]
    return Walker(tuple(ends if rightwards else ends[::-1]), start_s=start_s, speed=speed)


EDGE_WALKERS: Final = (
    _along(0.03, 2.0, 0.08, rightwards=True),
    _along(0.025, 6.0, 0.10, rightwards=False),
    _along(0.035, 14.0, 0.09, rightwards=True),
    _along(0.02, 18.0, 0.07, rightwards=False),
)
"""Walkers along the kerb, on the path: the last leaves the view at about 34 s."""

CROSSER: Final = Walker(
    ((0.15, kerb_y(0.15) - 0.08), (0.3, kerb_y(0.3) + 0.16)), start_s=35.0, speed=0.08
)
"""Steps off the path onto the lawn: the first entry into the sterile zone."""

KERB_SCENE_S: Final = 42.0


def kerb_scene(seed: int = 7) -> Scene:
    path = ((0.0, 0.45), (1.0, 0.55), (1.0, kerb_y(1.0)), (0.0, kerb_y(0.0)))
    return Scene(walkers=[*EDGE_WALKERS, CROSSER], paths=(path,), seed=seed)


VTEST: Final = Path("/usr/share/doc/opencv-doc/examples/data/vtest.avi")
"""Debian package opencv-doc (scripts/setup.sh --test installs it)."""

VTEST_KERB: Final = [
    (0.0, 0.411),
    (0.208, 0.457),
    (0.333, 0.495),
    (0.458, 0.557),
    (0.583, 0.630),
    (0.708, 0.700),
    (0.833, 0.780),
    (0.917, 0.828),
    (1.0, 0.859),
]
"""The top of the lawn's grass, traced on the first frame (left to right)."""

VTEST_ZONES: Final = {
    "Z01": [[x, y] for x, y in VTEST_KERB] + [[1.0, 1.0], [0.0, 1.0]],
    "Z02": [[0.0, 0.30], [1.0, 0.15]] + [[x, y] for x, y in reversed(VTEST_KERB)],
}
"""The lawn (Z01, sterile) and the path beside it (Z02)."""

VTEST_LAWN_ENTRY_S: Final = 50.0
"""Before this, nobody's feet are on the lawn (checked frame by frame, by eye)."""
