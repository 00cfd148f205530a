"""Replay throughput and memory: ``python bench/replay_throughput.py [--messages N ...]``.

Generates a recording of a 20-zone, 100-sensor site (heartbeats every 10 s from
every sensor, intrusions that walk along the fence setting off IR and fence
alarms, a few duplicates and malformed payloads, and by default 1 % intelligence
messages from a feed that keeps about 50 items active, each naming two zones, so that
most incidents are linked), then times ``vigie replay`` as
a whole process pinned to one core, and reads its peak RSS. Run with several
sizes to see that memory follows sensors and incidents, not heartbeats.
Prints figures; never fails on a timing.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

ZONES = 20
PER_ZONE = (("ir", 2), ("fence", 2), ("floodlight", 1))
HEARTBEAT_S = 10.0


def make_site() -> dict[str, Any]:
    zones = []
    sensors = []
    for z in range(ZONES):
        zid = f"Z{z:02d}"
        zones.append(
            {
                "id": zid,
                "polygon": [[z * 50, 0], [z * 50 + 50, 0], [z * 50 + 50, 10], [z * 50, 10]],
                "adjacent": [f"Z{z + 1:02d}"] if z + 1 < ZONES else [],
                "criticality": 1 + z % 5,
            }
        )
        for kind, count in PER_ZONE:
            for k in range(count):
                sensors.append(
                    {
                        "id": f"{kind}-{z:02d}-{k}",
                        "kind": kind,
                        "zone": zid,
                        "heartbeat_s": HEARTBEAT_S,
                    }
                )
    return {
        "site": "bench",
        "zones": zones,
        "sensors": sensors,
        "intel_sources": [{"id": "feed", "name": "Benchmark feed"}],
    }


FEED_T0 = 1_795_813_200


def intel_issue(n: int, t: float, active_items: int, rng: random.Random) -> dict[str, Any]:
    """Item ``n % active_items`` issued again (replaced whole) with an hour's window:
    about ``active_items`` items hold at any time."""
    ts = FEED_T0 + t
    z = rng.randrange(ZONES - 1)
    return {
        "id": f"feed-{n}",
        "ts": ts,
        "event": "issue",
        "data": {
            "ref": f"INT-{n % active_items}",
            "title": "Group seen near the fence",
            "zones": [f"Z{z:02d}", f"Z{z + 1:02d}"],
            "valid_from": ts - 1,
            "valid_until": ts + 3600,
            "source_grade": rng.choice(["1", "2", "2", "3"]),
            "information_grade": rng.choice(["A", "B", "C"]),
            "handling": "P",
        },
    }


def write_recording(
    path: Path,
    site: dict[str, Any],
    messages: int,
    seed: int = 7,
    *,
    intel: float = 0.01,
    active_items: int = 50,
) -> None:
    rng = random.Random(seed)
    devices = [(s["kind"], s["id"], s["zone"]) for s in site["sensors"]]
    detectors: dict[str, list[tuple[str, str]]] = {}
    for kind, dev, zone in devices:
        if kind != "floodlight":
            detectors.setdefault(zone, []).append((kind, dev))
    counter = 0
    issued = 0
    written = 0
    t = 0.0
    step = HEARTBEAT_S / len(devices)
    with path.open("w") as f:

        def put(topic: str, payload: Any) -> None:
            nonlocal written
            f.write(json.dumps({"t": round(t, 3), "topic": topic, "payload": payload}) + "\n")
            written += 1

        while written < messages:
            for kind, dev, _zone in devices:
                if written >= messages:
                    break
                t += step
                counter += 1
                put(
                    f"perimeter/bench/{kind}/{dev}",
                    {"id": f"{dev}-{counter}", "event": "heartbeat"},
                )
                if rng.random() < intel:
                    put("perimeter/bench/intel/feed", intel_issue(issued, t, active_items, rng))
                    issued += 1
                roll = rng.random()
                if roll < 0.02:  # an intruder at the fence: alarms along two zones
                    z = rng.randrange(ZONES - 1)
                    for zone in (f"Z{z:02d}", f"Z{z + 1:02d}"):
                        for dkind, ddev in detectors[zone]:
                            counter += 1
                            payload: dict[str, Any] = {"id": f"{ddev}-{counter}", "event": "alarm"}
                            if dkind == "fence":
                                payload["data"] = {
                                    "position_m": rng.uniform(0, 50),
                                    "mode": "climb",
                                }
                            put(f"perimeter/bench/{dkind}/{ddev}", payload)
                elif roll < 0.021:
                    put(f"perimeter/bench/{kind}/{dev}", "garbage{")
                elif roll < 0.022:  # a gateway repeating itself
                    put(
                        f"perimeter/bench/{kind}/{dev}",
                        {"id": f"{dev}-{counter}", "event": "heartbeat"},
                    )


def run_once(recording: Path, site_file: Path, report: Path) -> tuple[float, float, int]:
    """Wall time, CPU time (user + system) and peak RSS of one ``vigie replay`` process.
    CPU time is what one core can do whatever else the machine is running; wall time
    on a busy machine includes waiting for the core."""
    vigie = shutil.which("vigie") or str(Path(sys.executable).with_name("vigie"))
    cmd = [
        vigie,
        "--log-level",
        "ERROR",
        "replay",
        str(recording),
        "--site",
        str(site_file),
        "--report",
        str(report),
    ]
    if shutil.which("taskset"):
        cmd = ["taskset", "-c", "0", *cmd]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stderr=subprocess.DEVNULL)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, cpu, after.ru_maxrss


def heap_profile(recording: Path, site: dict[str, Any], every: int) -> None:
    """Traced Python heap while replaying in-process: flat once the duplicate horizon is full."""
    import tracemalloc

    from fusion.replay import Replay
    from fusion.site import site_from_mapping

    replay = Replay(site_from_mapping(site))
    tracemalloc.start()
    with recording.open("rb") as f:
        for n, line in enumerate(f, 1):
            replay.feed(line, n)
            if n % every == 0:
                heap = tracemalloc.get_traced_memory()[0] / 2**20
                print(
                    f"  after {n:>9,} messages: heap {heap:5.1f} MiB, "
                    f"{replay.messages - replay.rejected - replay.duplicates:,} accepted"
                )
    tracemalloc.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, nargs="+", default=[300_000, 1_200_000])
    parser.add_argument("--intel", type=float, default=0.01, help="share of intel messages")
    parser.add_argument("--active-items", type=int, default=50)
    args = parser.parse_args()
    site = make_site()
    with tempfile.TemporaryDirectory() as tmp:
        site_file = Path(tmp) / "site.yaml"
        site_file.write_text(yaml.safe_dump(site))
        print(
            f"site: {ZONES} zones, {len(site['sensors'])} sensors; one core (taskset -c 0);"
            f" {args.intel:.1%} intel messages, about {args.active_items} items active"
        )
        for n in args.messages:
            recording = Path(tmp) / f"rec-{n}.jsonl"
            write_recording(recording, site, n, intel=args.intel, active_items=args.active_items)
            report_path = Path(tmp) / "report.json"
            # ru_maxrss of children is the maximum over all children so far: run the
            # sizes in increasing order so each figure belongs to its own run.
            elapsed, cpu, peak_kib = run_once(recording, site_file, report_path)
            report = json.loads(report_path.read_text())
            virtual_h = report["end_t"] / 3600
            print(
                f"{n:>9,} messages ({virtual_h:.1f} h recorded): {elapsed:6.2f} s, "
                f"{n / elapsed:>9,.0f} msg/s whole process ({n / cpu:,.0f} per CPU second), "
                f"peak RSS {peak_kib / 1024:.0f} MiB; "
                f"{len(report['incidents'])} incidents, {report['rejected']} rejected, "
                f"{report['duplicates']} duplicates; {len(report['intel'])} items, "
                f"{sum(1 for i in report['incidents'] if i['intel'])} incidents linked"
            )
        largest = max(args.messages)
        print(f"traced heap, in-process replay of {largest:,} messages:")
        heap_profile(Path(tmp) / f"rec-{largest}.jsonl", site, max(largest // 4, 1))


if __name__ == "__main__":
    main()
