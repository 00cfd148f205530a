"""Camera analysis cost against decoding, streams per core, and entry-to-event latency.

Serves a synthetic 640x360 H.264 stream at 5 fps over real RTSP (GStreamer), with an
intruder crossing the view, and measures in one process (process CPU time, so
FFmpeg's decoder threads count; the simulator runs in a process of its own):
- decoding alone: CPU time per frame of ``VideoCapture.read`` on the stream;
- analysis: CPU time per frame of the camera analyser on the same frames (OpenCV
  limited to one thread);
then streams per core at 5 fps, and the time from each zone entry to its person
event (analyser on the live frames, time = frame arrival).
"""

from __future__ import annotations

import multiprocessing
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import cv2

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from adapters.camera import CAPTURE_OPTIONS
from adapters.video.analyser import CameraAnalyser
from simulators.cameras import SimulatedCameras
from simulators.scene import Scene, Walker
from tests.adapters.test_video import LEFT, RIGHT, in_left, in_right
from tests.peers import free_port

FPS = 5
SECONDS = 40
WALKERS = [  # from the fence line down into Z01, then along into Z02
    Walker(((0.3, 0.36), (0.3, 0.72), (0.9, 0.72)), start_s=s, speed=0.1) for s in (5.0, 22.0)
]


def serve(port: int, ready: Any, t0: Any) -> None:
    sim = SimulatedCameras(port, {"cam": Scene(walkers=WALKERS, vegetation=True)}, fps=FPS)
    sim.start()
    t0.value = sim.t0
    ready.set()
    time.sleep(SECONDS + 10)
    sim.stop()


def main() -> None:
    os.environ.setdefault("OPENCV_FFMPEG_CAPTURE_OPTIONS", CAPTURE_OPTIONS)
    cv2.setNumThreads(1)
    port = free_port()
    ctx = multiprocessing.get_context("spawn")
    ready = ctx.Event()
    t0 = ctx.Value("d", 0.0)
    server = ctx.Process(target=serve, args=(port, ready, t0))
    server.start()  # in its own process: its rendering must not count as our decoding
    ready.wait(30)
    cap = cv2.VideoCapture(f"rtsp://127.0.0.1:{port}/cam", cv2.CAP_FFMPEG)
    analyser = CameraAnalyser({"Z01": LEFT, "Z02": RIGHT})
    decode, analyse = [], []
    first: dict[tuple[int, str], float] = {}
    end = time.time() + SECONDS
    try:
        while time.time() < end:
            c0 = time.process_time()
            ok, frame = cap.read()
            c1 = time.process_time()
            if not ok:
                break
            arrived = time.time() - t0.value
            observations = analyser.analyse(frame, arrived)
            c2 = time.process_time()
            decode.append(c1 - c0)
            analyse.append(c2 - c1)
            for o in observations:
                if o.kind == "person" and o.zone:
                    walker = 0 if arrived < WALKERS[1].start_s else 1
                    first.setdefault((walker, o.zone), arrived)
    finally:
        cap.release()
        server.terminate()
        server.join(10)
    d, a = statistics.fmean(decode[5:]) * 1000, statistics.fmean(analyse[5:]) * 1000
    print(f"{len(decode)} frames of 640x360 H.264 at {FPS} fps:")
    print(
        f"  decoding alone: {d:.2f} ms/frame; analysis: {a:.2f} ms/frame "
        f"(p95 {sorted(analyse)[int(len(analyse) * 0.95)] * 1000:.2f} ms); "
        f"analysis / decoding = {a / d:.2f}"
    )
    print(f"  streams per core at {FPS} fps (decode + analysis): {1000 / ((d + a) * FPS):.0f}")
    lat = []
    for i, w in enumerate(WALKERS):
        for zone, inside in (("Z01", in_left), ("Z02", in_right)):
            entry = w.entry_time(inside)
            seen = first.get((i, zone))
            if entry is not None and seen is not None:
                lat.append(seen - entry)
                print(
                    f"  walker {i + 1} enters {zone} at {entry:.2f} s, person event on the "
                    f"frame that arrived at {seen:.2f} s: {seen - entry:.2f} s"
                )
    if lat:
        print(f"  entry to event: mean {statistics.fmean(lat):.2f} s, max {max(lat):.2f} s")


if __name__ == "__main__":
    main()
