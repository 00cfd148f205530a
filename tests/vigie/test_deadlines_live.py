"""Deadlines in the live service: a device heard again after a loss is watched again at
once, even when nothing else happens on the site (the deadline task must recompute its
sleep after each batch, or the second loss would wait for the next unrelated message)."""

from __future__ import annotations

import time
from pathlib import Path

import yaml

from tests.builders import strip
from tests.conftest import OPERATOR
from tests.peers import Mosquitto, VigieProcess
from tests.sensors import Gateway
from tests.vigie.test_service_live import eventually


def test_a_device_lost_heard_and_silent_again_is_lost_again_on_time(
    broker: Mosquitto, users_file: Path, tmp_path: Path
) -> None:
    site = strip()
    site["cameras"] = []
    site["sensors"] = [{"id": "ir-01", "kind": "ir", "zone": "Z01", "heartbeat_s": 1}]
    site["fusion"] = {"window_s": 30, "heartbeat_misses": 2}
    path = tmp_path / "site.yaml"
    path.write_text(yaml.safe_dump(site))
    vigie = VigieProcess(path, users_file, str(tmp_path / "v.db"), broker, tmp_path)
    vigie.start()
    try:

        def faults() -> list[dict[str, object]]:
            found: list[dict[str, object]] = vigie.get("/api/picture", OPERATOR).json()["faults"]
            return found

        eventually(faults, within_s=5, what="heartbeat_lost after 2 s of silence")
        with Gateway(broker.port) as gw:
            gw.event("ir", "ir-01", id="h1", event="heartbeat")
            gw.flush()
        heard = time.time()
        eventually(lambda: not faults(), within_s=3, what="cleared when heard")
        [fault] = eventually(faults, within_s=5, what="lost again, with no other message")
        assert abs(float(str(fault["t"])) - (heard + 2)) < 0.5
    finally:
        vigie.stop()
