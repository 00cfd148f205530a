"""Live view and clip figures, on this machine, through the real path:

  camera simulator (GStreamer RTSP, own process, a clock drawn in each frame)
  -> camera worker (own process: PyAV demux + decode, fMP4 once, feed server)
  -> service side (this process: CameraFeed, ring, fan-out, uvicorn websocket)
  -> viewers: Debian's Chromium (live.js, MSE) and plain websocket readers.

Prints:
- glass-to-glass latency: the clock drawn into a frame when it is rendered, to the
  moment Chromium presents that frame (requestVideoFrameCallback, read back through
  a canvas), p50/p90; with the part before the worker (encode + RTSP + demux);
- service CPU with 0, 1, 5 and 10 extra websocket viewers, per viewer;
- time from (last event + post_capture_s) to the clip being written.

    .venv/bin/python bench/live_view.py [--seconds 20] [--fps 10]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from playwright.sync_api import sync_playwright
from websockets.asyncio.client import connect

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from adapters.video.feed import FeedServer, LiveTap
from adapters.video.stream import RtspStream
from simulators.cameras import SimulatedCameras
from simulators.overlay import read_stamp
from simulators.scene import Scene, Walker
from tests.adapters.live_rig import LiveRig
from tests.peers import CHROMIUM_FLAGS, free_port


def camera(port: int, fps: int, ready: Any, stop: Any) -> None:
    walker = Walker(((0.1, 0.8), (0.9, 0.8)), speed=0.1, repeat_s=10)
    sim = SimulatedCameras(port, {"cam": Scene(walkers=[walker])}, fps=fps)
    sim.start()
    ready.set()
    stop.wait()
    sim.stop()


def worker(url: str, feed_port: Any, arrival_lag: Any, stop: Any) -> None:
    """The camera worker's video path; also measures stamp -> arrival of decoded frames."""
    halt = threading.Event()
    tap = LiveTap()
    stream = RtspStream(url, halt, [tap])
    stream.start()
    server = FeedServer(tap.fanout).start()
    feed_port.value = server.port
    lags, last = [], 0
    while not stop.is_set():
        picture, t, seq = stream.latest()  # as the analysis does, at 5 fps
        if picture is not None and seq != last:
            last = seq
            stamped = read_stamp(picture)
            if stamped is not None:
                lags.append(t - stamped)
        time.sleep(0.2)
    arrival_lag.value = statistics.median(lags[5:]) if len(lags) > 5 else float("nan")
    server.stop()
    halt.set()
    stream.join(5)


def viewers(url: str, count: int, seconds: float, received: Any) -> None:
    async def one() -> int:
        got = 0
        async with connect(url, compression=None, max_size=None) as ws:
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                try:
                    got += len(await asyncio.wait_for(ws.recv(), 1.0))
                except TimeoutError:
                    continue
        return got

    async def all_of() -> None:
        sizes = await asyncio.gather(*(one() for _ in range(count)))
        received.value = sum(sizes)

    asyncio.run(all_of())


def cpu_of(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100  # utime + stime, in clock ticks


def pct(values: list[float], q: float) -> float:
    return sorted(values)[min(len(values) - 1, int(len(values) * q))]


def glass_to_glass(rig: LiveRig, seconds: float) -> list[float]:
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_FLAGS)
        page = browser.new_page()
        page.goto(rig.page_url(["cam"]))
        time.sleep(seconds)
        latencies: list[float] = page.evaluate("() => window.__probe.latencies")
        jumps = page.evaluate("() => document.querySelector('video').dataset.liveJumps")
        browser.close()
    print(f"  (Chromium: {len(latencies)} frames read back, {jumps or 0} jump(s) to live)")
    return latencies[20:]  # after the start-up jump


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--fps", type=int, default=10)
    args = parser.parse_args()
    ctx = multiprocessing.get_context("spawn")
    port = free_port()
    ready, stop = ctx.Event(), ctx.Event()
    cam = ctx.Process(target=camera, args=(port, args.fps, ready, stop))
    cam.start()
    ready.wait(30)
    feed_port, lag = ctx.Value("i", 0), ctx.Value("d", 0.0)
    url = f"rtsp://127.0.0.1:{port}/cam"
    work = ctx.Process(target=worker, args=(url, feed_port, lag, stop))
    work.start()
    while not feed_port.value:
        time.sleep(0.05)
    folder = Path(tempfile.mkdtemp(prefix="vigie-bench-"))
    rig = LiveRig({"cam": f"ws://127.0.0.1:{feed_port.value}/live"}, folder, 5.0).start()
    try:
        time.sleep(3)
        print(f"640x360 H.264 at {args.fps} fps, one-frame fMP4 fragments, MSE in Chromium")
        lat = glass_to_glass(rig, args.seconds)
        print(
            f"  glass-to-glass: p50 {statistics.median(lat):.0f} ms, "
            f"p90 {pct(lat, 0.9):.0f} ms, max {max(lat):.0f} ms ({len(lat)} frames)"
        )
        cpu_per_viewer(rig, work.pid or 0, args.seconds / 2)
        clip_ready(rig)
    finally:
        rig.stop()
        stop.set()
        work.join(10)
        cam.join(10)
    print(f"  clock drawn -> frame decoded at the worker: p50 {lag.value * 1000:.0f} ms")


def cpu_per_viewer(rig: LiveRig, worker_pid: int, seconds: float) -> None:
    ctx = multiprocessing.get_context("spawn")
    live = f"ws://127.0.0.1:{rig.port}/api/cameras/cam/live"
    base: float | None = None
    for count in (0, 1, 5, 10):
        received = ctx.Value("q", 0)
        proc = ctx.Process(target=viewers, args=(live, count, seconds, received))
        c0, w0, t0 = cpu_of(os.getpid()), cpu_of(worker_pid), time.monotonic()
        if count:
            proc.start()
            proc.join(seconds + 15)
        else:
            time.sleep(seconds)
        wall = time.monotonic() - t0
        service = (cpu_of(os.getpid()) - c0) / wall * 100
        work = (cpu_of(worker_pid) - w0) / wall * 100
        base = service if base is None else base
        per = (service - base) / count if count else 0.0
        print(
            f"  {count:2d} viewers: service {service:5.1f} % CPU ({per:+.2f} % per viewer), "
            f"worker {work:5.1f} %, {received.value / wall / 1024:.0f} KiB/s delivered"
        )


def clip_ready(rig: LiveRig, pre: float = 5.0, post: float = 3.0, tries: int = 3) -> None:
    feed = rig.feeds["cam"]
    delays = []
    for i in range(tries):
        before = len(rig.clips)
        event = time.time()
        rig.call(feed.record, f"BENCH-{i}", event - pre, event + post)
        while len(rig.clips) == before and time.time() < event + post + 15:
            time.sleep(0.01)
        delays.append(time.time() - (event + post))
    print(
        "  clip ready after last event + post_capture_s: "
        + ", ".join(f"{d:.2f} s" for d in delays)
        + f" ({rig.clips[-1].size / 1024:.0f} KiB for {pre + post:g} s)"
    )


if __name__ == "__main__":
    main()
