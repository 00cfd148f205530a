"""`vigie simulate camera --clip`: a recorded clip served at the site's camera URL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import cv2
import pytest
import yaml

from adapters.camera import CAPTURE_OPTIONS
from simulators.cameras import rtsp_available
from tests.adapters.kerb_scene import VTEST, VTEST_ZONES
from tests.adapters.test_camera_live import camera_site
from tests.peers import REPO, free_port

pytestmark = pytest.mark.skipif(
    not rtsp_available(), reason="needs GStreamer's RTSP server: scripts/setup.sh --test"
)


VIGIE = [sys.executable, "-m", "vigie.cli"]


def simulate(site: Path, clip: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [*VIGIE, "simulate", "camera", "--site", str(site), "--clip", clip],
        stderr=subprocess.PIPE,
        cwd=REPO,
    )


def test_a_real_clip_is_served_at_the_cameras_url(tmp_path: Path) -> None:
    if not VTEST.exists():
        pytest.fail(f"{VTEST} is missing: scripts/setup.sh --test installs opencv-doc")
    port = free_port()
    site = camera_site(port)
    site["cameras"][0]["zones"] = VTEST_ZONES
    path = tmp_path / "site.yaml"
    path.write_text(yaml.safe_dump(site))
    proc = simulate(path, str(VTEST))
    try:
        assert proc.stderr is not None
        assert b"serving" in proc.stderr.readline()
        os.environ.setdefault("OPENCV_FFMPEG_CAPTURE_OPTIONS", CAPTURE_OPTIONS)
        cap = cv2.VideoCapture(site["cameras"][0]["url"], cv2.CAP_FFMPEG)
        shapes: list[tuple[int, ...]] = []
        while len(shapes) < 20:
            ok, frame = cap.read()
            assert ok, "the clip's stream ended early"
            shapes.append(frame.shape)
        cap.release()
        assert set(shapes) == {(576, 768, 3)}, "vtest.avi's own frames, decoded and encoded"
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=15)
    assert proc.returncode == 0


def test_a_missing_clip_is_refused_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "site.yaml"
    path.write_text(yaml.safe_dump(camera_site(free_port())))
    proc = simulate(path, str(tmp_path / "nothing.avi"))
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 2
    assert err.decode().strip().count("\n") == 0 and "no clip" in err.decode()
