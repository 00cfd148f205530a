"""`vigie camera` stops cleanly on SIGTERM or SIGINT, whatever its reader is doing.

Real processes against a real RTSP server (GStreamer's) and a real Mosquitto: workers
are terminated at random moments while streaming, right after the stream ends, while
reconnecting, and while an open hangs on a server that never answers. Each must exit 0
and say that it stopped, with no traceback and no abort (a reader thread left inside
OpenCV while the interpreter shuts down aborts it: "FATAL: exception not rethrown").
"""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from simulators.cameras import SimulatedCameras, rtsp_available
from simulators.scene import Scene, Walker
from tests.adapters.test_camera_live import camera_site
from tests.peers import REPO, Mosquitto, free_port

pytestmark = pytest.mark.skipif(
    not rtsp_available(), reason="needs GStreamer's RTSP server: scripts/setup.sh --test"
)

STOP_WITHIN_S = 15.0
"""Liveness bound on a stop (not a timing check: a clean stop takes at most ~4.5 s)."""


WORKERS = 5
"""Workers run at once, each its own camera of the site, all on one stream."""


class Worker:
    """One `vigie camera` process, its stderr kept in a file."""

    def __init__(self, site: Path, camera: str, broker: Mosquitto, log: Path) -> None:
        self.log = log
        with log.open("wb") as err:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "vigie.cli",
                    "camera",
                    "--site",
                    str(site),
                    "--camera",
                    camera,
                    "--broker",
                    broker.url,
                ],
                stdout=subprocess.DEVNULL,
                stderr=err,
                cwd=REPO,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )

    def terminate(self, sig: signal.Signals) -> None:
        self.proc.send_signal(sig)

    def wait_streaming(self, within_s: float = 30.0) -> None:
        """Until the worker has opened the stream (it logs so)."""
        deadline = time.monotonic() + within_s
        while " open" not in self.log.read_text(errors="replace"):
            assert self.proc.poll() is None, self.log.read_text(errors="replace")
            assert time.monotonic() < deadline, "the worker never opened the stream"
            time.sleep(0.05)

    def outcome(self) -> tuple[int, str]:
        try:
            code = self.proc.wait(STOP_WITHIN_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            code = -999
        return code, self.log.read_text(errors="replace")


def clean(code: int, stderr: str) -> bool:
    return code == 0 and "stopped" in stderr and "Traceback" not in stderr and "FATAL" not in stderr


@pytest.fixture
def site_and_port(tmp_path: Path) -> Iterator[tuple[Path, int]]:
    port = free_port()
    site = camera_site(port)
    site["cameras"] = [
        {**site["cameras"][0], "id": f"cam-{i}", "heartbeat_s": 0} for i in range(WORKERS)
    ]
    path = tmp_path / "site.yaml"
    path.write_text(yaml.safe_dump(site))
    yield path, port


def test_twenty_terminations_at_random_moments_all_exit_0(
    site_and_port: tuple[Path, int], broker: Mosquitto, tmp_path: Path
) -> None:
    site, port = site_and_port
    rng = random.Random(int(time.time()))
    walker = Walker(((0.08, 0.82), (0.92, 0.74)), start_s=1.0, speed=0.1, repeat_s=10.0)
    sim = SimulatedCameras(port, {"cam-01": Scene(walkers=[walker])})
    signals = [signal.SIGTERM, signal.SIGINT]
    results: list[tuple[str, int, str]] = []
    try:
        for round_no in range(4):
            sim.start()
            workers = [
                Worker(site, f"cam-{i}", broker, tmp_path / f"w{round_no}-{i}.log")
                for i in range(WORKERS)
            ]
            for w in workers:
                w.wait_streaming()
            time.sleep(rng.random())
            moments = ["streaming", "stream ended", "stream ended", "reconnecting", "streaming"]
            workers[0].terminate(rng.choice(signals))
            time.sleep(rng.random())
            sim.stop()  # the stream ends: the workers see it end, then reconnect
            time.sleep(rng.random() * 0.5)
            workers[1].terminate(rng.choice(signals))
            time.sleep(rng.random() * 1.0)
            workers[2].terminate(rng.choice(signals))
            sim.start()  # back: the last two reconnect to it
            time.sleep(rng.random() * 1.5)
            workers[3].terminate(rng.choice(signals))
            time.sleep(1.5 + rng.random() * 2.0)
            workers[4].terminate(rng.choice(signals))
            for moment, w in zip(moments, workers, strict=True):
                results.append((moment, *w.outcome()))
            sim.stop()
    finally:
        sim.stop()
    failed = [(m, code, err[-600:]) for m, code, err in results if not clean(code, err)]
    assert len(results) == 20
    assert failed == [], f"{len(failed)} of 20 not clean: {failed}"


def test_a_stop_during_an_open_that_hangs_is_bounded_and_clean(
    site_and_port: tuple[Path, int], broker: Mosquitto, tmp_path: Path
) -> None:
    """A server that takes the connection and never answers: the open gives up at its
    own timeout, so a stop in the middle of it still ends cleanly."""
    site, port = site_and_port
    with socket.socket() as mute:
        mute.bind(("127.0.0.1", port))
        mute.listen(8)
        worker = Worker(site, "cam-0", broker, tmp_path / "mute.log")
        deadline = time.monotonic() + 30
        while " reading " not in worker.log.read_text() and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(1.0)  # inside the open, which waits up to 4 s for an answer
        worker.terminate(signal.SIGTERM)
        code, err = worker.outcome()
    assert clean(code, err), err[-600:]
