"""Live view and clip figures on this machine, through the product as it runs:

  camera simulator (GStreamer RTSP, own process, a clock drawn in each frame)
  -> `vigie serve` (own process), which runs `vigie camera --live` (own process: PyAV
     demux once, decode for the analysis, fMP4 once, feed server)
  -> the service's CameraFeed, ring and fan-out, its /api/cameras/<id>/live websocket
  -> viewers: the dashboard page in Debian's Chromium (signed in, the camera opened
     from the cameras panel) and plain websocket readers with a bearer token.

Prints:
- glass-to-glass latency: the clock drawn into a frame when it is rendered, to the
  moment Chromium presents that frame (requestVideoFrameCallback, read back through a
  canvas), p50/p90/max; and the worker -> service -> reader hop;
- service and worker CPU with 0, 1, 5 and 10 extra websocket viewers, per viewer;
- when each clip is listed in its incident after last camera event + post_capture_s
  (person events published over MQTT; defaults 5 s and 10 s).

    .venv/bin/python bench/live_view.py [--seconds 16] [--fps 10] [--clips 2]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import multiprocessing
import statistics
import struct
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml
from playwright.sync_api import Page, sync_playwright
from websockets.asyncio.client import connect

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from simulators.cameras import SimulatedCameras
from simulators.scene import Scene
from tests.adapters.test_camera_live import camera_site
from tests.peers import CHROMIUM_FLAGS, Mosquitto, VigieProcess, free_port
from tests.sensors import Gateway

TOKEN = "bench-token"
PROBE = """() => {
  // Reads the simulator's clock (simulators/overlay.py) from each frame Chromium shows.
  const video = document.querySelector('video[data-camera-live]');
  const out = window.__latencies = [];
  const canvas = document.createElement('canvas');
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  const read = () => {
    const w = 4 + 50 * 8, img = ctx.getImageData(0, 0, w, 12).data, bits = [];
    for (let i = 0; i < 50; i++) {
      let sum = 0, n = 0;
      for (let y = 6; y < 10; y++) for (let x = 4 + i * 8 + 2; x < 4 + (i + 1) * 8 - 2; x++) {
        const p = (y * w + x) * 4; sum += (img[p] + img[p + 1] + img[p + 2]) / 3; n++;
      }
      bits.push(sum / n > 128 ? 1 : 0);
    }
    if (bits[0] !== 1 || bits[1] !== 0) return null;
    let v = 0, ones = 0, check = 0;
    for (let i = 2; i < 46; i++) { v = v * 2 + bits[i]; ones += bits[i]; }
    for (let i = 46; i < 50; i++) check = check * 2 + bits[i];
    return ones % 16 === check ? v : null;
  };
  const onFrame = () => {
    const shown = Date.now();
    if (video.videoWidth) {
      canvas.width = video.videoWidth; canvas.height = video.videoHeight;
      ctx.drawImage(video, 0, 0);
      const stamp = read();
      if (stamp !== null) out.push(shown - stamp);
    }
    video.requestVideoFrameCallback(onFrame);
  };
  video.requestVideoFrameCallback(onFrame);
}"""


def camera(port: int, fps: int, ready: Any, stop: Any) -> None:
    sim = SimulatedCameras(port, {"cam-01": Scene(vegetation=True)}, fps=fps)
    sim.start()
    ready.set()
    stop.wait()
    sim.stop()


def viewers(url: str, count: int, seconds: float, out: Any) -> None:
    """``count`` websocket viewers for ``seconds``; ``out``: bytes received, and the
    median of (received - the frame's arrival at the worker) in ms."""
    hops: list[float] = []

    async def one() -> int:
        got = 0
        headers = {"Authorization": f"Bearer {TOKEN}"}
        async with connect(url, compression=None, max_size=None, additional_headers=headers) as ws:
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                try:
                    message = await asyncio.wait_for(ws.recv(), 1.0)
                except TimeoutError:
                    continue
                if isinstance(message, bytes):
                    got += len(message)
                    hops.append(time.time() - _arrival(message))
        return got

    async def all_of() -> None:
        sizes = await asyncio.gather(*(one() for _ in range(count)))
        out[0] = sum(sizes)
        out[1] = statistics.median(hops) * 1000 if hops else float("nan")

    asyncio.run(all_of())


def _arrival(message: bytes) -> float:
    """The frame's arrival at the worker (docs/video.md, "Wire format")."""
    return float(struct.unpack_from(">d", message, 1)[0])


def cpu_of(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100  # utime + stime, in clock ticks


def child_of(pid: int) -> int:
    """The camera worker: the service's child process."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return int(children[0])


def pct(values: list[float], q: float) -> float:
    return sorted(values)[min(len(values) - 1, int(len(values) * q))]


def glass_to_glass(page: Page, v: VigieProcess, seconds: float) -> list[float]:
    page.goto(v.base + "/")
    page.fill('input[name="username"]', "bench")
    page.fill('input[name="token"]', TOKEN)
    page.click('#login-form button[type="submit"]')
    page.click('#cameras button[data-camera="cam-01"]')
    video = page.locator('video[data-camera-live="cam-01"]')
    video.wait_for(timeout=10_000)
    page.wait_for_function("() => document.querySelector('video[data-camera-live]').readyState > 1")
    page.evaluate(PROBE)
    time.sleep(seconds)
    latencies: list[float] = page.evaluate("() => window.__latencies")
    jumps = video.get_attribute("data-live-jumps")
    print(f"  (Chromium: {len(latencies)} frames read back, {jumps or 0} jump(s) to live)")
    return latencies[20:]  # after the start-up jump


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=16.0)
    parser.add_argument("--fps", type=int, default=10)
    parser.add_argument("--clips", type=int, default=2)
    args = parser.parse_args()
    ctx = multiprocessing.get_context("spawn")
    work = Path(tempfile.mkdtemp(prefix="vigie-bench-"))
    port = free_port()
    ready, stop = ctx.Event(), ctx.Event()
    cam = ctx.Process(target=camera, args=(port, args.fps, ready, stop))
    cam.start()
    ready.wait(30)
    site = camera_site(port)
    site["cameras"][0].pop("heartbeat_s")
    (work / "site.yaml").write_text(yaml.safe_dump(site))
    digest = hashlib.sha256(TOKEN.encode()).hexdigest()
    users = {"users": [{"name": "bench", "role": "operator", "token_sha256": digest}]}
    (work / "users.yaml").write_text(yaml.safe_dump(users))
    broker = Mosquitto(work / "broker")
    broker.start()
    v = VigieProcess(
        work / "site.yaml", work / "users.yaml", str(work / "v.db"), broker, work,
        extra=("--data", str(work / "data")),
    )  # fmt: skip
    v.start()
    try:
        while v.metric("vigie_live_feeds_connected", TOKEN) < 1:
            time.sleep(0.1)
        time.sleep(2)
        print(f"640x360 H.264 at {args.fps} fps, through vigie serve and its camera worker")
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_FLAGS)
            lat = glass_to_glass(browser.new_page(), v, args.seconds)
            browser.close()
        print(
            f"  glass-to-glass: p50 {statistics.median(lat):.0f} ms, "
            f"p90 {pct(lat, 0.9):.0f} ms, max {max(lat):.0f} ms ({len(lat)} frames)"
        )
        assert v.proc is not None
        cpu_per_viewer(v, v.proc.pid, child_of(v.proc.pid), args.seconds / 2)
        clip_ready(v, broker, args.clips)
    finally:
        v.stop()
        broker.stop()
        stop.set()
        cam.join(10)


def cpu_per_viewer(v: VigieProcess, service_pid: int, worker_pid: int, seconds: float) -> None:
    ctx = multiprocessing.get_context("spawn")
    live = f"ws://127.0.0.1:{v.port}/api/cameras/cam-01/live"
    base: float | None = None
    for count in (0, 1, 5, 10):
        out = ctx.Array("d", 2)
        proc = ctx.Process(target=viewers, args=(live, count, seconds, out))
        c0, w0, t0 = cpu_of(service_pid), cpu_of(worker_pid), time.monotonic()
        if count:
            proc.start()
            proc.join(seconds + 15)
        else:
            time.sleep(seconds)
        wall = time.monotonic() - t0
        service = (cpu_of(service_pid) - c0) / wall * 100
        work = (cpu_of(worker_pid) - w0) / wall * 100
        base = service if base is None else base
        per = (service - base) / count if count else 0.0
        hop = f", worker -> reader p50 {out[1]:.1f} ms" if count else ""
        print(
            f"  {count:2d} viewers: service {service:5.1f} % CPU ({per:+.2f} % per viewer), "
            f"worker {work:5.1f} %, {out[0] / wall / 1024:.0f} KiB/s delivered{hop}"
        )


def clip_ready(v: VigieProcess, broker: Mosquitto, tries: int) -> None:
    """Person events (two, 2 s apart) open an incident; the clip must be listed within
    2 s of the last one + post_capture_s (10 s by default)."""
    post = 10.0
    delays, sizes = [], []
    for i in range(1, tries + 1):
        incident = f"INC-{i:06d}"
        with Gateway(broker.port, client_id=f"bench-{i}") as gw:
            for n in range(2):
                gw.event("camera", "cam-01", id=f"bench-{i}-{n}", event="person", zone="Z01")
                gw.flush()
                time.sleep(2.0 if n == 0 else 0)
        clips: list[dict[str, Any]] = []
        while not clips:
            answer = v.get(f"/api/incidents/{incident}", TOKEN)
            clips = answer.json().get("clips", []) if answer.status_code == 200 else []
            time.sleep(0.02)
        listed = time.time()
        events = v.get(f"/api/incidents/{incident}", TOKEN).json()["events"]
        delays.append(listed - (events[-1]["t"] + post))
        sizes.append(clips[0]["bytes"] / 1024)
        v.post(f"/api/incidents/{incident}/resolve", {"outcome": "test"}, TOKEN)
    print(
        "  clip listed after last event + post_capture_s: "
        + ", ".join(f"{d:.2f} s" for d in delays)
        + f" ({statistics.fmean(sizes):.0f} KiB for ~17 s)"
    )


if __name__ == "__main__":
    main()
