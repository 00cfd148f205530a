"""The image regions a camera watches, one per zone, in normalised coordinates."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import cv2
import numpy as np
from cv2.typing import MatLike

Mask = MatLike


class ZoneRegions:
    """Maps image points and boxes to the zones of one camera."""

    def __init__(self, zones: Mapping[str, Sequence[Sequence[float]]]) -> None:
        self._polygons = {z: np.array(p, dtype=np.float32) for z, p in zones.items()}

    @property
    def zones(self) -> list[str]:
        return list(self._polygons)

    def zone_of(self, x: float, y: float, margin: float = 0.0) -> str | None:
        """The zone whose region holds the normalised point (x, y), at least ``margin``
        inside its edge (0: on the edge counts), first in site order."""
        for zone, poly in self._polygons.items():
            if cv2.pointPolygonTest(poly, (float(x), float(y)), True) >= margin:
                return zone
        return None

    def masks(self, width: int, height: int) -> dict[str, Mask]:
        out: dict[str, Mask] = {}
        for zone, poly in self._polygons.items():
            mask = np.zeros((height, width), np.uint8)
            pts = np.round(poly * [width - 1, height - 1]).astype(np.int32)
            cv2.fillPoly(mask, [pts], 255)
            out[zone] = mask
        return out
