"""Both reports over a busy month: ``python -m bench.report_month [--messages N ...]``.

Fills a store (SQLite, PostgreSQL or both) with a month of operations written in
bulk, as the service would have left it: N messages (heartbeats, alarms, camera
persons), incidents with acknowledgements, resolutions and outcomes, faults,
intelligence items and links, walk tests with crossings. Then runs
``vigie report monthly`` and ``vigie report inspection`` for that month as whole
processes and prints the wall time and peak RSS of each. Targets: 10 s and
300 MiB each. Prints figures; never fails on a timing.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import psycopg
import yaml

from tests.conftest import PG_BASE
from tests.reports.planned_schema import AUDIT_SQL, INCIDENT_SQL, MESSAGE_SQL, planned_store
from vigie.store.db import Database

ZONES = 20
TZ = "Europe/Paris"
PREFIX = "perimeter/bench"
OUTCOMES = ("intrusion", "false_alarm", "nuisance", "nuisance", "nuisance", None)
DISRUPTIONS = ("intercepted", "turned_back", "escaped", "unknown")
MODES = ("walk", "run", "crawl", "climb", "cut")


def make_site() -> dict[str, Any]:
    zones, sensors, cameras = [], [], []
    for z in range(ZONES):
        zid = f"Z{z:02d}"
        zones.append(
            {
                "id": zid,
                "name": f"Fence section {z + 1}",
                "polygon": [[z * 50, 0], [z * 50 + 50, 0], [z * 50 + 50, 10], [z * 50, 10]],
                "adjacent": [f"Z{z + 1:02d}"] if z + 1 < ZONES else [],
                "criticality": 1 + z % 5,
            }
        )
        sensors += [
            {"id": f"ir-{z:02d}", "kind": "ir", "zone": zid, "heartbeat_s": 30},
            {"id": f"fence-{z:02d}", "kind": "fence", "zone": zid, "heartbeat_s": 30},
            {"id": f"fl-{z:02d}", "kind": "floodlight", "zone": zid},
        ]
    region = [[0, 0], [1, 0], [1, 1], [0, 1]]
    for c in range(ZONES // 4):
        watched = {f"Z{z:02d}": region for z in range(c * 4, c * 4 + 4)}
        cameras.append({"id": f"cam-{c}", "url": f"rtsp://127.0.0.1/{c}", "zones": watched})
    return {"site": "bench", "name": "Bench site", "timezone": TZ, "zones": zones,
            "sensors": sensors, "cameras": cameras}  # fmt: skip


def last_month(now: float) -> tuple[str, float, float]:
    today = datetime.fromtimestamp(now, ZoneInfo(TZ)).date()
    first = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    nxt = today.replace(day=1)

    def epoch(d: date) -> float:
        return datetime(d.year, d.month, d.day, tzinfo=ZoneInfo(TZ)).timestamp()

    return first.strftime("%Y-%m"), epoch(first), epoch(nxt)


def _camera_of(zone: int) -> str:
    return f"cam-{zone // 4}"


def messages(
    n: int, start: float, end: float, crossings: list[tuple[float, int]]
) -> Iterator[tuple[Any, ...]]:
    """N messages in time order: mostly heartbeats, some alarms and persons, and the
    detections of the walk-test crossings (most crossings detected, a few missed)."""
    rng = random.Random(11)
    span = end - start
    detections = []
    for t, z in crossings:
        if rng.random() < 0.93:
            detections.append((t + rng.uniform(0.5, 4), "ir", f"ir-{z:02d}", "alarm", z))
        if rng.random() < 0.8:
            detections.append((t + rng.uniform(1, 8), "camera", _camera_of(z), "person", z))
        if rng.random() < 0.6:
            detections.append((t + rng.uniform(1, 9), "fence", f"fence-{z:02d}", "alarm", z))
    detections.sort()
    step = span / max(1, n - len(detections))
    k = 0
    for i in range(n - len(detections)):
        t = start + i * step
        while k < len(detections) and detections[k][0] <= t:
            yield _message(i + n + k, detections[k][0], detections[k][1:])
            k += 1
        z = rng.randrange(ZONES)
        r = rng.random()
        if r < 0.9:
            kind = rng.choice(("ir", "fence"))
            yield _message(i, t, (kind, f"{kind}-{z:02d}", "heartbeat", z))
        elif r < 0.95:
            kind = rng.choice(("ir", "fence"))
            yield _message(i, t, (kind, f"{kind}-{z:02d}", "alarm", z))
        else:
            yield _message(i, t, ("camera", _camera_of(z), rng.choice(("person", "motion")), z))
    for d in detections[k:]:
        k += 1
        yield _message(n + k, d[0], d[1:])


def _message(i: int, t: float, what: tuple[str, str, str, int]) -> tuple[Any, ...]:
    kind, sensor, event, z = what
    payload = orjson.dumps({"id": f"m{i}", "event": event})
    return (t, f"{PREFIX}/{kind}/{sensor}", sensor, f"m{i}", event, f"Z{z:02d}", payload)


def fill(url: str, n_messages: int, n_incidents: int, month: tuple[str, float, float]) -> None:
    _, start, end = month
    rng = random.Random(7)
    db = planned_store(url)
    walk_tests, crossings = [], []
    for w in range(40):
        z = w % ZONES
        opened = start + (w + 0.5) * (end - start) / 41
        walk_tests.append((f"wt{w}", f"Z{z:02d}", opened, opened + 3600, opened + 3000, "ines"))
        for c in range(30):
            crossings.append((f"wt{w}", opened + 60 + 90 * c, MODES[c % 5], "ines"))
    db.executemany(
        "INSERT INTO walk_tests (id, zone, opened_t, until_t, closed_t, opened_by)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        walk_tests,
    )
    db.executemany("INSERT INTO crossings (test_id, t, mode, by) VALUES (?, ?, ?, ?)", crossings)
    zone_of = {w[0]: int(w[1][1:]) for w in walk_tests}
    rows = messages(n_messages, start, end, [(c[1], zone_of[c[0]]) for c in crossings])
    _bulk_messages(db, url, rows)
    incidents: list[tuple[Any, ...]] = []
    audit: list[tuple[Any, ...]] = []
    links: list[tuple[Any, ...]] = []
    for i in range(n_incidents):
        opened = rng.uniform(start, end - 7200)
        z = rng.randrange(ZONES)
        zones = [f"Z{z:02d}"] + ([f"Z{z + 1:02d}"] if z + 1 < ZONES and rng.random() < 0.2 else [])
        outcome = rng.choice(OUTCOMES)
        confirmed = opened + 3 if rng.random() < 0.3 else None
        closed = opened + rng.uniform(60, 3600) if outcome else None
        disruption = rng.choice(DISRUPTIONS) if outcome == "intrusion" else None
        test = rng.random() < 0.02
        incidents.append((f"i{i}", orjson.dumps(zones).decode(), opened, confirmed,
                          "resolved" if outcome else "open", opened, outcome, closed,
                          disruption, int(test)))  # fmt: skip
        if rng.random() < 0.9:
            audit.append((f"i{i}", opened + rng.expovariate(1 / 40), "ack", None))
        if outcome:
            audit.append((f"i{i}", closed, "resolve", outcome))
        if rng.random() < 0.1:
            links.append((f"i{i}", f"jiu/INT-{rng.randrange(200)}", opened))
    db.executemany(INCIDENT_SQL, incidents)
    db.executemany(AUDIT_SQL, audit)
    db.executemany(
        "INSERT INTO intel_items (id, source, ref, title, zones, received_t, credible)"
        " VALUES (?, 'jiu', ?, ?, ?, ?, 1)",
        [
            (f"jiu/INT-{k}", f"INT-{k}", f"Item {k}", '["Z01"]', start + k * 3600)
            for k in range(200)
        ],
    )
    db.executemany("INSERT INTO incident_intel (incident_id, item_id, t) VALUES (?, ?, ?)", links)
    faults = []
    for k in range(500):
        t = rng.uniform(start - 86400, end)
        kind = rng.choice(("ir", "fence"))
        faults.append((k + 1, f"{kind}-{rng.randrange(ZONES):02d}", "heartbeat_lost", t,
                       t + rng.uniform(60, 7200) if rng.random() < 0.97 else None))  # fmt: skip
    db.executemany(
        "INSERT INTO faults (number, device, fault, t, cleared_t) VALUES (?, ?, ?, ?, ?)", faults
    )
    db.commit()
    db.close()


def _bulk_messages(db: Database, url: str, rows: Iterator[tuple[Any, ...]]) -> None:
    if db.dialect == "postgresql":
        db.commit()
        with psycopg.connect(url) as conn, conn.cursor() as cur:
            columns = "received, topic, device, msg_id, event, zone, device_ts, payload"
            with cur.copy(f"COPY messages ({columns}) FROM STDIN") as copy:
                for r in rows:
                    copy.write_row((*r[:6], None, r[6]))
        return
    batch: list[tuple[Any, ...]] = []
    for r in rows:
        batch.append(r)
        if len(batch) == 50_000:
            db.executemany(MESSAGE_SQL, batch)
            batch = []
    db.executemany(MESSAGE_SQL, batch)


def run_report(args: list[str]) -> tuple[float, float, str]:
    """Wall seconds and peak RSS (MiB) of one ``vigie report`` process."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "vigie.cli", "report", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    _, status, usage = os.wait4(proc.pid, 0)  # this child's own rusage
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().strip() if proc.stderr else ""
    if proc.returncode:
        raise SystemExit(f"report failed: {err}")
    return wall, usage.ru_maxrss / 1024, err


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--incidents", type=int, default=20_000)
    parser.add_argument("--engine", action="append", choices=["sqlite", "postgresql"])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    engines = args.engine or ["sqlite", "postgresql"]
    month = last_month(time.time())
    label = month[0]
    first = datetime.fromtimestamp(month[1], ZoneInfo(TZ)).date()
    last = datetime.fromtimestamp(month[2] - 1, ZoneInfo(TZ)).date()
    print(f"load: {os.getloadavg()[0]:.2f} (2 cores shared: times vary)")
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"bench process peak RSS {own:.1f} MiB (a floor under each report's figure)")
    with tempfile.TemporaryDirectory() as tmp:
        site = Path(tmp) / "site.yaml"
        site.write_text(yaml.safe_dump(make_site()))
        for engine in engines:
            url, drop = _store_url(engine, tmp)
            try:
                t0 = time.perf_counter()
                # Filled in a child process: a process's peak RSS starts from its parent's
                # at fork, so the parent that starts the reports must stay small.
                filler = multiprocessing.get_context("fork").Process(
                    target=fill, args=(url, args.messages, args.incidents, month)
                )
                filler.start()
                filler.join()
                if filler.exitcode:
                    raise SystemExit(f"filling the {engine} store failed")
                print(f"{engine}: filled {args.messages} messages, {args.incidents} incidents "
                      f"for {label} in {time.perf_counter() - t0:.1f} s")  # fmt: skip
                common = ["--db", url, "--site", str(site)]
                for kind, extra in (
                    ("monthly", ["--month", label]),
                    ("inspection", ["--from", first.isoformat(), "--to", last.isoformat()]),
                ):
                    for k in range(args.runs):
                        out = str(Path(tmp) / f"{engine}-{kind}.pdf")
                        wall, rss, said = run_report([kind, *common, *extra, "--out", out])
                        print(f"  {kind:<10} run {k + 1}: {wall:5.2f} s  peak RSS {rss:6.1f} MiB"
                              f"  ({said.split(': ', 1)[-1][:70]})")  # fmt: skip
            finally:
                drop()


def _store_url(engine: str, tmp: str) -> tuple[str, Any]:
    if engine == "sqlite":
        return str(Path(tmp) / "bench.db"), lambda: None
    schema = f"vigie_bench_{uuid.uuid4().hex[:8]}"
    admin = psycopg.connect(PG_BASE, autocommit=True)
    admin.execute(f'CREATE SCHEMA "{schema}"')

    def drop() -> None:
        admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
        admin.close()

    return f"{PG_BASE}?options=-csearch_path%3D{schema}", drop


if __name__ == "__main__":
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    main()
