"""H.264 made here for the video tests: frames stamped with their time (the simulator's
clock, simulators/overlay.py), encoded by the libx264 that PyAV ships."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from adapters.video.media import VideoPacket
from simulators.overlay import read_stamp, stamp


def encoded(
    frames: int,
    *,
    fps: int = 10,
    size: tuple[int, int] = (448, 256),
    gop: int = 10,
    t0: float = 1_000_000.0,
    session: int = 1,
    profile: str = "baseline",
    first_pts: int = 0,
    bframes: int = 0,
) -> list[VideoPacket]:
    """``frames`` packets of a moving picture, frame ``i`` stamped ``t0 + i / fps`` and
    'arriving' then; timestamps in 1/90000 s from ``first_pts``."""
    w, h = size
    codec = av.CodecContext.create("libx264", "w")
    codec.width, codec.height, codec.pix_fmt = w, h, "yuv420p"
    codec.time_base = Fraction(1, 90_000)
    codec.framerate = Fraction(fps)
    codec.options = {
        "preset": "ultrafast" if profile == "baseline" else "veryfast",
        "tune": "zerolatency", "g": str(gop),
        "keyint_min": str(gop), "profile": profile, "sc_threshold": "0",
    }  # fmt: skip
    if bframes:  # as a recorded film or a camera tuned for storage: frames out of order
        codec.options = {**codec.options, "tune": "film", "bf": str(bframes)}
    out: list[VideoPacket] = []
    step = 90_000 // fps

    def take(packets: list[av.Packet[av.VideoStream]]) -> None:
        for p in packets:
            n = len(out)
            out.append(
                VideoPacket(
                    bytes(p), p.pts, p.dts, Fraction(1, 90_000), p.is_keyframe,
                    t0 + n / fps, session,
                )
            )  # fmt: skip

    for i in range(frames):
        img = np.full((h, w, 3), 90, np.uint8)
        x = (i * 7) % (w - 40)
        img[h // 2 : h // 2 + 30, x : x + 30] = (30, 160, 220)
        stamp(img, t0 + i / fps, i)
        frame = av.VideoFrame.from_ndarray(img, format="bgr24").reformat(format="yuv420p")
        frame.pts = first_pts + i * step
        frame.time_base = Fraction(1, 90_000)
        take(codec.encode(frame))
    take(codec.encode(None))
    return out


def decoded_stamps(path: Path) -> list[tuple[float | None, int, int, bool]]:
    """Each decoded frame of a file: (its stamped time, width, height, key frame)."""
    frames = []
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            picture = frame.to_ndarray(format="bgr24")
            frames.append((read_stamp(picture), frame.width, frame.height, frame.key_frame))
    return frames
