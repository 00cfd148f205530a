"""Simulators over real MQTT: a recorded simulator run replays to the same report, and
`vigie demo` starts as a newcomer would and stops cleanly."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from fusion.replay import Replay
from simulators.scenario import demo_site_path, generate, load_scenario
from tests.peers import REPO, Mosquitto, free_port
from vigie.site_file import load_site

VIGIE = [sys.executable, "-m", "vigie.cli", "--log-level", "WARNING"]


def shape(report: dict[str, Any]) -> dict[str, Any]:
    """What a control room sees, without the times (a live run's clock is not exact)."""
    return {
        "incidents": [
            (i["zones"], i["confirmed"], i["modalities"], i["sensors"], i["priority"])
            for i in report["incidents"]
        ],
        "faults": [(f["sensor"], f["fault"]) for f in report["faults"]],
        "commands": [c["topic"] for c in report["commands"]],
    }


def replay(site_path: Path, recording: Path) -> dict[str, Any]:
    r = Replay(load_site(site_path))
    for n, line in enumerate(recording.read_bytes().splitlines(keepends=True), 1):
        r.feed(line, n)
    return r.finish()


def test_a_recorded_simulator_run_replays_to_the_same_report(
    broker: Mosquitto, tmp_path: Path
) -> None:
    site = demo_site_path()
    scenario = load_scenario("running-cut-at-gate")
    generated = tmp_path / "generated.jsonl"
    generated.write_text(
        "".join(
            json.dumps({"t": m.t, "topic": m.topic, "payload": m.payload}) + "\n"
            for m in generate(scenario, load_site(site))
        )
    )
    recorded = tmp_path / "recorded.jsonl"
    recorder = subprocess.Popen(
        [*VIGIE, "record", "--broker", broker.url, "--site", str(site), "--out", str(recorded)]
    )
    time.sleep(1.5)
    subprocess.run(
        [
            *VIGIE,
            "replay",
            str(generated),
            "--site",
            str(site),
            "--broker",
            broker.url,
            "--speed",
            "6",
        ],
        check=True,
        timeout=60,
    )
    time.sleep(1.0)
    recorder.send_signal(signal.SIGINT)
    recorder.wait(10)
    lines = recorded.read_text().splitlines()
    assert len(lines) == len(generated.read_text().splitlines())
    assert shape(replay(site, recorded)) == shape(replay(site, generated))


@pytest.mark.parametrize("video", ["rtsp", "direct"])
def test_the_demo_runs_the_story_and_stops_cleanly(tmp_path: Path, video: str) -> None:
    port = free_port()
    extra = ["--no-rtsp"] if video == "direct" else []
    demo = subprocess.Popen(
        [*VIGIE, "demo", "--data", str(tmp_path / "demo"), "--http", f"127.0.0.1:{port}", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        cwd=REPO,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        start_new_session=True,
    )
    assert demo.stdout is not None
    banner = ""
    deadline = time.time() + 60
    while "Ctrl-C" not in banner and time.time() < deadline:
        banner += demo.stdout.readline().decode()
    try:
        token = re.search(r"operator\s+/\s+(\S+)", banner)
        assert token, banner
        assert re.search(r"commander\s+/\s+\S+", banner)
        headers = {"Authorization": f"Bearer {token.group(1)}"}
        base = f"http://127.0.0.1:{port}"
        seen: dict[str, Any] = {}
        deadline = time.time() + 60
        while time.time() < deadline:
            picture = httpx.get(f"{base}/api/picture", headers=headers, timeout=5).json()
            states = {z["id"]: z["state"] for z in picture["zones"]}
            lights = {s["id"]: s["on"] for s in picture["sensors"] if s["kind"] == "floodlight"}
            if states["Z07"] == "confirmed" and lights.get("fl-04"):
                seen = picture
                break
            time.sleep(0.5)
        assert seen, "within a minute: the gate zone confirmed and its floodlight on"
        [incident] = [i for i in seen["incidents"] if "Z07" in i["zones"]]
        assert "fence" in incident["modalities"] and len(incident["modalities"]) >= 2
        assert ("frames go straight" in banner) == (video == "direct")
        assert httpx.get(f"{base}/", timeout=5).status_code == 200
    finally:
        children = subprocess.run(
            ["pgrep", "-g", str(demo.pid)], capture_output=True, text=True, check=False
        ).stdout.split()
        demo.send_signal(signal.SIGINT)
        demo.wait(30)
        demo.stdout.close()
    time.sleep(1)
    alive = subprocess.run(
        ["pgrep", "-g", str(demo.pid)], capture_output=True, text=True, check=False
    ).stdout.split()
    assert children, "the demo ran its broker, service and camera workers"
    assert alive == [], "Ctrl-C stopped every process the demo started"
