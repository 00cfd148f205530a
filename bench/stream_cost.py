"""The camera worker's video cost on PyAV against the OpenCV reader it replaces.

Serves camera_cost.py's scene (640x360 H.264, two intruders, vegetation) over real
RTSP (GStreamer, in a process of its own), from its start for each reader in turn, so
that both see the same video:
- OpenCV: ``VideoCapture.read`` (decode + BGR conversion) on every frame;
- PyAV: decode every packet, turn into fMP4 fragments (the live view), and convert
  to BGR only the frames analysed (5 fps);
and the camera analyser on the analysed frames (OpenCV limited to one thread).
CPU is process time, so FFmpeg's decoder threads count.

    .venv/bin/python bench/stream_cost.py [--seconds 40] [--fps 5] [--analyse-fps 5]

The defaults are camera_cost.py's (5 fps, every frame analysed): its figure of
"analysis / decoding" is the first of the two given here for OpenCV.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import av
import cv2

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from adapters.camera import CAPTURE_OPTIONS
from adapters.video.analyser import CameraAnalyser
from adapters.video.feed import LiveTap
from adapters.video.media import VideoPacket
from adapters.video.stream import OPEN_OPTIONS, to_bgr
from bench.camera_cost import WALKERS
from simulators.cameras import SimulatedCameras
from simulators.scene import Scene
from tests.adapters.test_video import LEFT, RIGHT
from tests.peers import free_port


def serve(port: int, fps: int, seconds: float, ready: Any) -> None:
    sim = SimulatedCameras(port, {"cam": Scene(walkers=WALKERS, vegetation=True)}, fps=fps)
    sim.start()
    ready.set()
    time.sleep(seconds)
    sim.stop()


def ms(values: list[float]) -> float:
    return statistics.fmean(values) * 1000 if values else float("nan")


def opencv_pass(url: str, seconds: float, every: int) -> tuple[list[float], list[float]]:
    os.environ.setdefault("OPENCV_FFMPEG_CAPTURE_OPTIONS", CAPTURE_OPTIONS)
    analyser = CameraAnalyser({"Z01": LEFT, "Z02": RIGHT})
    cap = cv2.VideoCapture(url, cv2.CAP_FFMPEG)
    decode, analyse = [], []
    end = time.time() + seconds
    n = 0
    try:
        while time.time() < end:
            c0 = time.process_time()
            ok, frame = cap.read()
            c1 = time.process_time()
            if not ok:
                break
            decode.append(c1 - c0)
            if n % every == 0:
                analyser.analyse(frame, time.time())
                analyse.append(time.process_time() - c1)
            n += 1
    finally:
        cap.release()
    return decode[5:], analyse[2:]


def pyav_pass(url: str, seconds: float, every: int) -> dict[str, list[float]]:
    analyser = CameraAnalyser({"Z01": LEFT, "Z02": RIGHT})
    tap = LiveTap()
    out: dict[str, list[float]] = {"decode": [], "mux": [], "convert": [], "analyse": []}
    end = time.time() + seconds
    n = 0
    with av.open(url, options=OPEN_OPTIONS, timeout=(4.0, 2.5)) as container:
        stream = container.streams.video[0]
        decodable = False
        for packet in container.demux(stream):
            if time.time() > end:
                break
            if packet.size == 0:
                continue
            c0 = time.process_time()
            tap(VideoPacket(bytes(packet), packet.pts, packet.dts, packet.time_base,
                            packet.is_keyframe, time.time(), 1))  # fmt: skip
            c1 = time.process_time()
            out["mux"].append(c1 - c0)
            decodable = decodable or packet.is_keyframe
            if not decodable:
                continue
            frames = stream.codec_context.decode(packet)
            c2 = time.process_time()
            out["decode"].append(c2 - c1)
            for frame in frames:
                if n % every == 0:
                    picture = to_bgr(frame)
                    c3 = time.process_time()
                    out["convert"].append(c3 - c2)
                    analyser.analyse(picture, time.time())
                    out["analyse"].append(time.process_time() - c3)
                n += 1
    return {k: v[5:] if k in ("decode", "mux") else v[2:] for k, v in out.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=40.0)
    parser.add_argument("--fps", type=int, default=5)
    parser.add_argument("--analyse-fps", type=float, default=5.0)
    args = parser.parse_args()
    cv2.setNumThreads(1)
    every = max(1, round(args.fps / args.analyse_fps))
    ctx = multiprocessing.get_context("spawn")

    def served(run: Callable[[str, float, int], Any]) -> Any:
        port = free_port()
        ready = ctx.Event()
        server = ctx.Process(target=serve, args=(port, args.fps, args.seconds + 10, ready))
        server.start()
        ready.wait(30)
        try:
            return run(f"rtsp://127.0.0.1:{port}/cam", args.seconds, every)
        finally:
            server.terminate()
            server.join(10)

    av_costs = served(pyav_pass)
    cv_decode, cv_analyse = served(opencv_pass)
    fps, afps = args.fps, args.fps / every
    d_cv, a_cv = ms(cv_decode), ms(cv_analyse)
    d_av, m_av = ms(av_costs["decode"]), ms(av_costs["mux"])
    c_av, a_av = ms(av_costs["convert"]), ms(av_costs["analyse"])
    print(
        f"640x360 H.264 at {fps} fps over RTSP, analysis at {afps:g} fps, {args.seconds:g} s each"
    )
    print(f"  OpenCV: read (decode + BGR) {d_cv:.2f} ms/frame; analysis {a_cv:.2f} ms/frame")
    print(
        f"  PyAV:   decode {d_av:.2f} ms/frame; fMP4 mux {m_av:.3f} ms/packet; "
        f"BGR {c_av:.2f} ms/analysed frame; analysis {a_av:.2f} ms/frame"
    )
    cpu_cv = fps * d_cv + afps * a_cv
    cpu_av = fps * (d_av + m_av) + afps * (c_av + a_av)
    print(
        f"  CPU per second of video: OpenCV {cpu_cv:.0f} ms, PyAV (with live fMP4) {cpu_av:.0f} ms"
    )
    print(
        "  analysis / decoding, per analysed frame: "
        f"OpenCV {a_cv / d_cv:.2f}; PyAV {a_av / (d_av + c_av):.2f} (decode + BGR), "
        f"{a_av / d_av:.2f} (decode alone)"
    )
    print(
        f"  analysis / decoding, per second: OpenCV {afps * a_cv / (fps * d_cv):.2f}; "
        f"PyAV {afps * a_av / (fps * d_av + afps * c_av):.2f}"
    )


if __name__ == "__main__":
    main()
