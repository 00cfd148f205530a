"""Each camera's worker as a child process of ``vigie serve`` (docs/camera.md): video
analysis never shares the service's interpreter, and the supervisor starts a worker that
died again."""

from __future__ import annotations

import asyncio
import sys

from vigie.video import CameraVideo, local_port


async def camera_worker(site_path: str, camera: str, broker: str, video: CameraVideo) -> None:
    """Run ``vigie camera`` for ``camera`` until it exits (an error for the supervisor) or
    the task is cancelled (the worker is stopped: terminated, killed after 5 s)."""
    live = f"127.0.0.1:{local_port()}"  # where it serves its live feed (docs/video.md)
    video.set_feed(camera, f"ws://{live}/live")
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "vigie.cli",
        "camera",
        "--site",
        site_path,
        "--camera",
        camera,
        "--broker",
        broker,
        "--live",
        live,
    )
    try:
        code = await proc.wait()
    finally:
        if proc.returncode is None:
            proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), 5)
            except TimeoutError:
                proc.kill()
                await proc.wait()
    raise RuntimeError(f"camera worker {camera} exited with status {code}")
