"""Simulated cameras served over real RTSP: scenes rendered here, encoded and served by
GStreamer's RTSP server (``rtsp_server.py``) under Debian's Python."""

from __future__ import annotations

import subprocess
import threading
import time
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit

from simulators.overlay import stamp
from simulators.scene import HEIGHT, WIDTH, Scene, SceneRenderer

SERVER_SCRIPT: Final = Path(__file__).with_name("rtsp_server.py")
SYSTEM_PYTHON: Final = "/usr/bin/python3"


class RtspUnavailable(RuntimeError):
    """GStreamer's RTSP server (Debian: python3-gi, gir1.2-gst-rtsp-server-1.0) is missing."""


def rtsp_available() -> bool:
    if not Path(SYSTEM_PYTHON).exists():
        return False
    probe = subprocess.run(
        [
            SYSTEM_PYTHON,
            "-c",
            "import gi; gi.require_version('GstRtspServer', '1.0'); "
            "from gi.repository import GstRtspServer",
        ],
        capture_output=True,
        check=False,
    )
    return probe.returncode == 0


class SimulatedCameras:
    """Serves one scene per mount on ``rtsp://127.0.0.1:<port>/<mount>`` in real time."""

    def __init__(
        self,
        port: int,
        scenes: dict[str, Scene],
        fps: int = 10,
        clips: dict[str, Path] | None = None,
    ) -> None:
        self.port = port
        self.scenes = scenes
        self.fps = fps
        self.clips = clips or {}
        self.proc: subprocess.Popen[bytes] | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.t0 = 0.0

    @classmethod
    def for_urls(
        cls, urls: dict[str, str], scenes: dict[str, Scene], fps: int = 10, clip: Path | None = None
    ) -> SimulatedCameras:
        """Serve each camera at the mount and port of its site-file URL (one port): its
        scene, or the recorded ``clip`` (played once per camera, from its first viewer)."""
        ports = {urlsplit(u).port or 554 for u in urls.values()}
        if len(ports) != 1:
            raise ValueError("simulated cameras must share one RTSP port")
        paths = {c: urlsplit(u).path.lstrip("/") for c, u in urls.items()}
        if clip is not None:
            return cls(ports.pop(), {}, fps, clips={m: clip for m in paths.values()})
        return cls(ports.pop(), {m: scenes[c] for c, m in paths.items()}, fps)

    def url(self, mount: str) -> str:
        return f"rtsp://127.0.0.1:{self.port}/{mount}"

    def start(self, t0: float | None = None) -> None:
        """Start serving; scene time runs from ``t0`` (wall clock), default now."""
        if not rtsp_available():
            raise RtspUnavailable("install python3-gi and gir1.2-gst-rtsp-server-1.0")
        args = [
            SYSTEM_PYTHON,
            str(SERVER_SCRIPT),
            "--port",
            str(self.port),
            "--size",
            f"{WIDTH}x{HEIGHT}",
            "--fps",
            str(self.fps),
        ]
        for mount in self.scenes:
            args += ["--mount", mount]
        for mount, path in self.clips.items():
            args += ["--clip", f"{mount}={path}"]
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().decode()
        if "serving" not in line:
            raise RtspUnavailable(f"the RTSP server did not start: {line!r}")
        self.t0 = time.time() if t0 is None else t0
        self._stop.clear()
        if self.scenes:
            self._thread = threading.Thread(target=self._feed, name="camera-sim", daemon=True)
            self._thread.start()

    def _feed(self) -> None:
        renderers = [SceneRenderer(s) for s in self.scenes.values()]
        proc = self.proc
        assert proc is not None and proc.stdin is not None
        period = 1.0 / self.fps
        n = 0
        while not self._stop.is_set():
            due = self.t0 + n * period
            delay = due - time.time()
            if delay > 0:
                time.sleep(delay)
            t = time.time() - self.t0
            try:
                for index, r in enumerate(renderers):
                    frame = r.frame(t)
                    # The clock, as a camera's on-screen display draws it over whatever the
                    # lens sees (a covered lens too), for latency measurements (docs/video.md).
                    stamp(frame, time.time(), n)
                    proc.stdin.write(bytes([index]) + frame.tobytes())
                proc.stdin.flush()
            except (BrokenPipeError, OSError):
                return
            n += 1

    def stop(self) -> None:
        self._stop.set()
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(5)
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None
        if self.proc is not None:
            for pipe in (self.proc.stdin, self.proc.stdout):
                if pipe is not None:
                    pipe.close()
            self.proc = None


def write_clip(path: Path, scene: Scene, seconds: float, fps: int = 10) -> None:
    """An H.264 MP4 of a scene, for serving as a recorded clip."""
    if not rtsp_available():
        raise RtspUnavailable("install python3-gi and gir1.2-gst-rtsp-server-1.0")
    renderer = SceneRenderer(scene)
    frames = b"".join(renderer.frame(n / fps).tobytes() for n in range(int(seconds * fps)))
    subprocess.run(
        [
            SYSTEM_PYTHON,
            str(SERVER_SCRIPT),
            "--write-clip",
            str(path),
            "--size",
            f"{WIDTH}x{HEIGHT}",
            "--fps",
            str(fps),
        ],
        input=frames,
        check=True,
    )
