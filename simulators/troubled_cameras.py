"""Cameras in bad conditions, over real RTSP (GStreamer's server, as ``rtsp_server.py``):
one that changes resolution every few seconds, one that sends a keyframe only every
so many seconds. Test patterns, not scenes: these exercise the video path, not the
analysis.

The server is ``rtsp_troubles.py``, run under Debian's ``/usr/bin/python3``.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Final

from simulators.cameras import SYSTEM_PYTHON, RtspUnavailable, rtsp_available

SERVER_SCRIPT: Final = Path(__file__).with_name("rtsp_troubles.py")


class TroubledCameras:
    """Serves ``resize`` mounts (resolution flips every N s) and ``gop`` mounts (a
    keyframe every N s) on ``rtsp://127.0.0.1:<port>/<mount>``."""

    def __init__(
        self,
        port: int,
        resize: dict[str, float] | None = None,
        gop: dict[str, float] | None = None,
        fps: int = 10,
    ) -> None:
        self.port, self.fps = port, fps
        self.resize, self.gop = resize or {}, gop or {}
        self.proc: subprocess.Popen[bytes] | None = None

    def url(self, mount: str) -> str:
        return f"rtsp://127.0.0.1:{self.port}/{mount}"

    def start(self) -> None:
        if not rtsp_available():
            raise RtspUnavailable("install python3-gi and gir1.2-gst-rtsp-server-1.0")
        args = [SYSTEM_PYTHON, str(SERVER_SCRIPT), "--port", str(self.port)]
        args += ["--fps", str(self.fps)]
        args += [a for m, s in self.resize.items() for a in ("--resize", f"{m}={s}")]
        args += [a for m, s in self.gop.items() for a in ("--gop", f"{m}={s}")]
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().decode()
        if "serving" not in line:
            raise RtspUnavailable(f"the RTSP server did not start: {line!r}")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(5)
            if self.proc.stdout is not None:
                self.proc.stdout.close()
            self.proc = None
