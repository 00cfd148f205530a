"""Simulators over real MQTT: a recorded simulator run replays to the same report (the
demo itself: test_demo.py)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from fusion.replay import Replay
from simulators.scenario import demo_site_path, generate, load_scenario
from tests.peers import Mosquitto
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


def test_a_simulator_run_again_sends_ids_no_earlier_run_sent(
    broker: Mosquitto, tmp_path: Path
) -> None:
    """A device's ids never repeat across runs (or rounds): a service that remembers
    the ids it has seen would drop a second run's messages as duplicates."""
    site = demo_site_path()
    recorded = tmp_path / "recorded.jsonl"
    recorder = subprocess.Popen(
        [*VIGIE, "record", "--broker", broker.url, "--site", str(site), "--out", str(recorded)]
    )
    time.sleep(1.5)
    play = [*VIGIE, "simulate", "sensors", "--scenario", "running-cut-at-gate"]
    for _run in range(2):
        subprocess.run([*play, "--broker", broker.url, "--speed", "30"], check=True, timeout=60)
    time.sleep(1.0)
    recorder.send_signal(signal.SIGINT)
    recorder.wait(10)
    generated = generate(load_scenario("running-cut-at-gate"), load_site(site))
    lines = [json.loads(line) for line in recorded.read_text().splitlines()]
    assert len(lines) == 2 * len(generated)
    ids = [(line["topic"], line["payload"]["id"]) for line in lines]
    assert len(set(ids)) == len(ids), "no (device, id) twice"
    runs = {line["payload"]["id"].rsplit("-", 2)[1] for line in lines}
    assert len(runs) == 2, runs
    first = {m.payload["id"] for m in generated}
    assert {line["payload"]["id"].rsplit("-", 2)[0] for line in lines} == first
