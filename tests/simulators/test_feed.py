"""The intelligence feed simulator: every message it sends is one the service accepts,
it mixes credible warnings with rumours, replaces and withdraws, and a live run puts
items in the picture of a real `vigie serve`."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import orjson
import yaml

from adapters.mqtt_client import Broker
from fusion.correlator import Correlator
from fusion.intake import Intake, Verdict
from fusion.intel import IntelMessage
from simulators.feed import FeedSimulator
from simulators.scenario import demo_site_path
from tests.peers import Mosquitto, VigieProcess
from tests.vigie.test_service_live import eventually
from vigie.site_file import load_site


def test_every_message_is_accepted_and_the_feed_is_varied() -> None:
    site = load_site(demo_site_path())
    feed = FeedSimulator(site, Broker("127.0.0.1", 1), "jiu-folkestone", seed=3)
    intake = Intake(site, Correlator(site, start=0.0), start=0.0)
    events, credible = [], []
    for n in range(300):
        body = feed.issue(1_800_000_000.0 + n * 60)
        done = intake.receive(feed.topic, orjson.dumps(body), float(n))
        assert done.verdict is Verdict.ACCEPTED, done.rejection
        assert isinstance(done.event, IntelMessage)
        events.append(done.event.event.value)
        if done.event.content is not None:
            credible.append(done.event.content.credible)
    assert {"issue", "withdraw"} <= set(events)
    assert any(credible) and not all(credible), "credible warnings and rumours"
    assert len(intake.engine.intel.items()) < events.count("issue"), "some are replaced"


def test_a_live_feed_reaches_the_picture(broker: Mosquitto, tmp_path: Path) -> None:
    users = tmp_path / "users.yaml"
    digest = hashlib.sha256(b"olga-token").hexdigest()
    users.write_text(
        yaml.safe_dump({"users": [{"name": "olga", "role": "operator", "token_sha256": digest}]})
    )
    vigie = VigieProcess(demo_site_path(), users, str(tmp_path / "v.db"), broker, tmp_path)
    vigie.start()
    stop = threading.Event()
    site = load_site(demo_site_path())
    feed = FeedSimulator(site, Broker("127.0.0.1", broker.port), "fr-dzpaf", seed=5)
    runner = threading.Thread(target=feed.run, args=(stop, 0.1))
    runner.start()
    try:
        items = eventually(lambda: vigie.get("/api/intel", "olga-token").json(), within_s=10)
        assert all(i["source"] == "fr-dzpaf" for i in items)
    finally:
        stop.set()
        runner.join(10)
        vigie.stop()
