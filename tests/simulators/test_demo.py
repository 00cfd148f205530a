"""`vigie demo` as a newcomer meets it, checked through its own API: the gate intrusion
confirmed by fence and camera, a healthy site, and nothing left running after Ctrl-C;
again and again in the same folder (contract section 5; README, "The two commands")."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from simulators.demo import DemoError, dashboard_address, port_is_free
from tests.peers import REPO, DemoProcess, processes_pointing_into

VIGIE = [sys.executable, "-m", "vigie.cli", "--log-level", "WARNING"]
WITHIN_S = 60.0
"""The issue's promise: a healthy site and the gate story within a minute of the start."""

RTSP_PROCESSES = 7
"""The demo, Mosquitto, vigie serve, the RTSP server, and a camera worker per camera."""


def start_demo(data: Path, out: Path, *extra: str) -> DemoProcess:
    demo = DemoProcess([*VIGIE, "demo", "--data", str(data), *extra], REPO, out, dict(os.environ))
    demo.wait_banner(within_s=WITHIN_S)
    return demo


def gate_intrusion(demo: DemoProcess) -> dict[str, Any]:
    """The incident at the main gate, confirmed by the fence and the camera with events
    of this run (a restored incident of an earlier run does not count)."""
    picture = demo.get("/api/picture").json()
    kinds = {s["id"]: s["kind"] for s in picture["sensors"]}
    kinds |= {c["id"]: "camera" for c in picture["cameras"]}
    deadline = demo.started + WITHIN_S
    while time.time() < deadline:
        for listed in demo.get("/api/incidents").json():
            if "Z07" not in listed["zones"] or not listed["confirmed"]:
                continue
            incident: dict[str, Any] = demo.get(f"/api/incidents/{listed['id']}").json()
            fresh = {kinds[e["sensor"]] for e in incident["events"] if e["t"] >= demo.started}
            if {"fence", "camera"} <= fresh:
                return incident
        time.sleep(0.5)
    raise AssertionError(
        f"no gate intrusion confirmed by fence and camera within {WITHIN_S:.0f} s:"
        f" {demo.get('/api/incidents').json()}"
    )


def healthy_picture(demo: DemoProcess) -> dict[str, Any]:
    """The tactical picture once every device has been heard in this run (its messages
    were not dropped as duplicates of an earlier run's) and none is faulty."""
    deadline = demo.started + WITHIN_S
    picture: dict[str, Any] = {}
    while time.time() < deadline:
        picture = demo.get("/api/picture").json()
        devices = picture["sensors"] + picture["cameras"]
        heard = all((d["last_heard"] or 0) >= demo.started for d in devices)
        faulty = [d for d in devices if d["health"] != "ok"]
        degraded = [z for z in picture["zones"] if z["degraded"]]
        if heard and not faulty and not degraded:
            return picture
        time.sleep(1.0)
    devices = picture["sensors"] + picture["cameras"]
    raise AssertionError(
        f"not healthy within {WITHIN_S:.0f} s;"
        f" faults: { {d['id']: d['faults'] for d in devices if d['faults']} },"
        f" not heard: {[d['id'] for d in devices if (d['last_heard'] or 0) < demo.started]}"
    )


def stop(demo: DemoProcess, folder: Path, processes: int) -> None:
    """Ctrl-C, then nothing of the demo runs: not in its process group, not in its folder.
    ``processes``: how many it ran (itself, the broker, the service, and over RTSP the
    RTSP server and a camera worker per camera)."""
    started = demo.group()
    code = demo.interrupt()
    time.sleep(1.0)
    assert len(started) == processes, f"the demo ran {processes} processes: {started}"
    left = processes_pointing_into(folder) | dict.fromkeys(demo.group(), "")
    assert left == {}, f"Ctrl-C left these running: {left}"
    assert code == 0, demo.output()[-3000:]


@pytest.mark.slow
def test_the_demo_tells_the_same_story_when_run_again_in_the_same_folder(tmp_path: Path) -> None:
    data = tmp_path / "demo"
    for run in (1, 2, 3):  # the issue: "a second and third vigie demo in the same folder"
        demo = start_demo(data, tmp_path / f"run{run}.out")
        try:
            incident = gate_intrusion(demo)
            picture = healthy_picture(demo)
            assert {"fence", "camera"} <= set(incident["modalities"]), incident
            lights = {s["id"]: s["on"] for s in picture["sensors"] if s["kind"] == "floodlight"}
            assert lights["fl-04"], f"run {run}: the gate floodlight is on: {picture['incidents']}"
            assert "served over RTSP" in demo.output(), "the default path: cameras over RTSP"
            assert httpx.get(f"{demo.base}/", timeout=5).status_code == 200
        finally:
            stop(demo, data, processes=RTSP_PROCESSES)


@pytest.mark.slow
def test_the_demo_without_rtsp_feeds_frames_straight_to_the_analysis(tmp_path: Path) -> None:
    data = tmp_path / "demo"
    demo = start_demo(data, tmp_path / "demo.out", "--no-rtsp")
    try:
        incident = gate_intrusion(demo)
        assert {"fence", "camera"} <= set(incident["modalities"]), incident
        assert "frames go straight" in demo.output()
    finally:
        stop(demo, data, processes=3)


def test_the_dashboard_takes_a_free_port_when_the_default_one_is_in_use() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = busy.getsockname()[1]
        chosen = dashboard_address(None, default=("127.0.0.1", taken))
        host, port = chosen.split(":")
        assert host == "127.0.0.1" and int(port) != taken and port_is_free(host, int(port))
        with pytest.raises(DemoError, match=f"127.0.0.1:{taken} is in use"):
            dashboard_address(("127.0.0.1", taken))
    assert dashboard_address(None, default=("127.0.0.1", taken)) == f"127.0.0.1:{taken}"


def test_a_bad_dashboard_address_exits_2_with_one_line(tmp_path: Path) -> None:
    done = subprocess.run(
        [*VIGIE, "demo", "--data", str(tmp_path), "--http", "localhost"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "vigie demo: error: --http must be HOST:PORT, got 'localhost'"
    ]
    assert list(tmp_path.iterdir()) == [], "nothing started"
