"""Memory of ``vigie serve`` over a long run: one million messages through a real broker.

Publishes heartbeats and alarms from a 100-sensor site in chunks of 100,000
(``mosquitto_pub -l``, QoS 1), waits until the service has stored each chunk,
and prints the service's resident memory after each. Flat means: what the service
keeps grows with sensors and open incidents, not with messages.
"""

from __future__ import annotations

import argparse
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.replay_throughput import make_site
from tests.peers import Mosquitto, VigieProcess


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def stored(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM messages").fetchone()[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--chunk", type=int, default=100_000)
    args = parser.parse_args()
    site = make_site()
    sensors = [s for s in site["sensors"] if s["kind"] != "floodlight"]
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        broker = Mosquitto(tmp / "broker")
        broker.start()
        site_file = tmp / "site.yaml"
        site_file.write_text(yaml.safe_dump(site))
        users = tmp / "users.yaml"
        users.write_text("users: []\n")
        db = tmp / "soak.db"
        v = VigieProcess(site_file, users, str(db), broker, tmp)
        v.start()
        assert v.proc is not None
        pid = v.proc.pid
        print(f"start: RSS {rss_mib(pid):.0f} MiB")
        sent = 0
        started = time.perf_counter()
        try:
            while sent < args.messages:
                by_topic: dict[str, list[str]] = {}
                for i in range(sent, sent + args.chunk):
                    s = sensors[i % len(sensors)]
                    event = "alarm" if i % 500 == 0 else "heartbeat"
                    topic = f"perimeter/bench/{s['kind']}/{s['id']}"
                    by_topic.setdefault(topic, []).append(f'{{"id":"m{i}","event":"{event}"}}')
                for topic, lines in by_topic.items():
                    subprocess.run(
                        ["mosquitto_pub", "-p", str(broker.port), "-q", "1", "-t", topic, "-l"],
                        input="\n".join(lines).encode(),
                        check=True,
                    )
                sent += args.chunk
                while stored(db) < sent:
                    time.sleep(0.05)
                rate = sent / (time.perf_counter() - started)
                print(
                    f"after {sent:>9,} messages: RSS {rss_mib(pid):6.1f} MiB "
                    f"({rate:,.0f} msg/s overall)"
                )
        finally:
            v.stop()
            broker.stop()


if __name__ == "__main__":
    main()
