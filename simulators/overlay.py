"""A clock drawn into simulated camera frames, readable back from a decoded frame: a
row of black and white blocks (large enough to survive H.264) holding the wall-clock
time in milliseconds, and the same time with the frame number in digits for people.
Tests and ``bench/live_view.py`` read it to measure glass-to-glass latency and to
check which instant a clip's first frame shows."""

from __future__ import annotations

import time
from typing import Final

import cv2
import numpy as np
from cv2.typing import MatLike

BLOCK: Final = 8
"""Block side in pixels: 8x8 blocks keep their colour through x264 at 1.5 Mbit/s."""

DATA_BITS: Final = 44
"""Epoch milliseconds fit in 44 bits until the year 2527."""
CHECK_BITS: Final = 4
MARKER: Final = (1, 0)
ORIGIN: Final = (4, 4)
WHITE, BLACK = 235, 16


def _bits(ms: int) -> list[int]:
    value = ms % (1 << DATA_BITS)
    data = [(value >> (DATA_BITS - 1 - i)) & 1 for i in range(DATA_BITS)]
    check = sum(data) % (1 << CHECK_BITS)
    return [*MARKER, *data, *((check >> (CHECK_BITS - 1 - i)) & 1 for i in range(CHECK_BITS))]


def stamp_width() -> int:
    return (len(MARKER) + DATA_BITS + CHECK_BITS) * BLOCK


def stamp(frame: MatLike, t: float, counter: int) -> None:
    """Draw wall-clock time ``t`` (seconds) and frame number ``counter`` into ``frame``
    (BGR, at least ``stamp_width() + 8`` pixels wide), in place, at its top left."""
    ms = round(t * 1000)
    x0, y0 = ORIGIN
    for i, bit in enumerate(_bits(ms)):
        x = x0 + i * BLOCK
        frame[y0 : y0 + BLOCK, x : x + BLOCK] = WHITE if bit else BLACK
    clock = time.strftime("%H:%M:%S", time.gmtime(t)) + f".{ms % 1000:03d} #{counter}"
    org = (x0, y0 + BLOCK + 16)
    cv2.putText(frame, clock, org, cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 3, cv2.LINE_AA)
    cv2.putText(frame, clock, org, cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1, cv2.LINE_AA)


def read_stamp(frame: MatLike) -> float | None:
    """The time (seconds) drawn by :func:`stamp`, or None if the blocks are unreadable."""
    x0, y0 = ORIGIN
    gray = frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    bits = []
    for i in range(len(MARKER) + DATA_BITS + CHECK_BITS):
        x = x0 + i * BLOCK
        cell = gray[y0 + 2 : y0 + BLOCK - 2, x + 2 : x + BLOCK - 2]
        if cell.size == 0:
            return None
        bits.append(1 if float(np.mean(cell)) > 128 else 0)
    if tuple(bits[: len(MARKER)]) != MARKER:
        return None
    data = bits[len(MARKER) : len(MARKER) + DATA_BITS]
    check = int("".join(map(str, bits[len(MARKER) + DATA_BITS :])), 2)
    if sum(data) % (1 << CHECK_BITS) != check:
        return None
    return int("".join(map(str, data)), 2) / 1000
