"""The joint centre through real bridges (docs/centre.md): latency and catch-up.

Two sites (a Mosquitto, a ``vigie serve`` each) are bridged to a centre's Mosquitto
with the files of deploy/bridges; ``vigie centre`` serves the joint picture.

- ``latency`` (default): a publisher per site sends fence and IR alarms at ``--rate``
  msg/s (QoS 1), each stamped with its send time; ``--clients`` websocket clients of
  the centre note when each alarm reaches them. Prints p50/p99/max of site publish ->
  centre frame sent, and -> centre client receipt, over every (alarm, client) pair.
- ``catch-up``: the port's bridge is cut (through a TCP hop, as a network cut) for
  ``--cut-s`` seconds while its site goes on making ``--changes`` changes; then the
  line comes back. Prints the time from the return to the link ``up``, and to the
  centre's incidents of the port being the site's, one by one.

One machine, two cores: brokers, sites, centre, publishers and clients all share them.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.push_latency import ZONES, publish, watcher
from simulators.bridges import bridge_config
from tests.centre.hop import Hop
from tests.centre.rig import PORT, SITES, TOKEN, YARD, CentreProcess, write_files
from tests.peers import Mosquitto, VigieProcess


def site(site_id: str) -> dict[str, Any]:
    zones, sensors = [], []
    for z in range(ZONES):
        zid = f"Z{z:02d}"
        zones.append(
            {
                "id": zid,
                "polygon": [[z * 50, 0], [z * 50 + 50, 0], [z * 50 + 50, 10], [z * 50, 10]],
                "adjacent": [f"Z{z + 1:02d}"] if z + 1 < ZONES else [],
                "criticality": 3,
            }
        )
        sensors += [
            {"id": f"ir-{z:02d}", "kind": "ir", "zone": zid},
            {"id": f"fence-{z:02d}", "kind": "fence", "zone": zid},
        ]
    return {"site": site_id, "name": site_id, "zones": zones, "sensors": sensors}


class Rig:
    """Three brokers, the port's bridge through a hop, two sites and the centre."""

    def __init__(self, tmp: Path) -> None:
        files = write_files(tmp / "config")
        for s in SITES:
            files[s].write_text(yaml.safe_dump(site(s)))
        self.centre_broker = Mosquitto(tmp / "broker-centre")
        self.hop = Hop(self.centre_broker.port)
        self.brokers = {}
        for s in SITES:
            address = f"127.0.0.1:{self.hop.port if s == PORT else self.centre_broker.port}"
            extra = bridge_config(f"site-{s}.conf", centre_address=address)
            self.brokers[s] = Mosquitto(tmp / f"broker-{s}", extra)
        self.sites = {}
        for s in SITES:
            (tmp / s).mkdir()
            self.sites[s] = VigieProcess(
                files[s], files["site_users"], str(tmp / f"{s}.db"), self.brokers[s], tmp / s
            )
        self.centre = CentreProcess(
            files["centre"], files["users"], str(tmp / "centre.db"), self.centre_broker, tmp / "c"
        )

    def start(self) -> None:
        self.centre_broker.start()
        self.hop.open()
        for b in self.brokers.values():
            b.start()
        for v in self.sites.values():
            v.start()
        self.centre.start()
        self.wait(lambda: set(self.centre.links().values()) == {"up"}, 30)

    def stop(self) -> None:
        self.centre.stop()
        for v in self.sites.values():
            v.stop()
        for b in (*self.brokers.values(), self.centre_broker):
            b.stop()
        self.hop.close()

    @staticmethod
    def wait(check: Any, within_s: float) -> float:
        start = time.monotonic()
        while not check():
            if time.monotonic() - start > within_s:
                raise TimeoutError(f"not within {within_s} s")
            time.sleep(0.1)
        return time.monotonic() - start

    def same(self, s: str) -> bool:
        at_site = {i["id"]: i for i in self.sites[s].get("/api/incidents", TOKEN["alice"]).json()}
        at_centre = {
            i["id"]: {k: v for k, v in i.items() if k != "site"}
            for i in self.centre.get(f"/api/incidents?site={s}", TOKEN["marie"]).json()
        }
        return at_site == at_centre


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def latency(rig: Rig, args: argparse.Namespace) -> None:
    procs = {"centre": rig.centre.proc, **{f"serve {s}": v.proc for s, v in rig.sites.items()}}
    procs |= {f"broker {s}": b.proc for s, b in rig.brokers.items()}
    procs["broker centre"] = rig.centre_broker.proc
    pids = {name: p.pid for name, p in procs.items() if p is not None}
    cpu_before = {name: cpu_seconds(pid) for name, pid in pids.items()}
    wall = time.monotonic()
    results: Any = multiprocessing.Queue()
    watch_proc = multiprocessing.Process(
        target=watcher,
        args=(
            f"ws://127.0.0.1:{rig.centre.port}/ws",
            args.clients,
            args.seconds + 5,
            results,
            TOKEN["marie"],
        ),
    )
    watch_proc.start()
    time.sleep(2)  # every client connected, its snapshot taken
    pubs = [
        multiprocessing.Process(
            target=publish, args=(rig.brokers[s].port, args.rate, args.seconds, s, "lat")
        )
        for s in SITES
    ]
    for p in pubs:
        p.start()
    for p in pubs:
        p.join()
    latencies, server_side, frames = results.get(timeout=180)
    watch_proc.join()
    wall = time.monotonic() - wall
    cpu = {name: (cpu_seconds(pid) - cpu_before[name]) / wall for name, pid in pids.items()}
    latencies.sort()
    server_side.sort()
    expected = int(args.rate * args.seconds) * len(SITES) * args.clients
    print(
        f"2 sites x {args.rate:,.0f} msg/s for {args.seconds:.0f} s, {args.clients} centre"
        f" clients: {len(latencies):,} of {expected:,} (alarm, client) deliveries seen,"
        f" {frames:,} frames"
    )
    for name, xs in (
        ("site publish -> centre frame sent", server_side),
        ("site publish -> centre client receipt", latencies),
    ):
        if xs:
            print(f"{name}: {percentiles(xs)}")
    print("CPU (share of one core): " + ", ".join(f"{k} {v:.0%}" for k, v in cpu.items()))
    print(f"load after: {os.getloadavg()[0]:.2f}")


def catch_up(rig: Rig, args: argparse.Namespace) -> None:
    feed = "vigie_centre_feed_seq"
    before = rig.sites[PORT].metric(feed, TOKEN["alice"])
    rig.hop.cut(silent=False)
    rig.wait(lambda: rig.centre.links()[PORT] == "lost", 20)
    cut_at = time.monotonic()
    rate = args.changes / args.cut_s
    pub = multiprocessing.Process(
        target=publish, args=(rig.brokers[PORT].port, rate, args.cut_s - 2, PORT, "cut")
    )
    pub.start()
    pub.join()
    time.sleep(max(0.0, args.cut_s - (time.monotonic() - cut_at)))
    made = rig.sites[PORT].metric(feed, TOKEN["alice"]) - before
    # Changes: each feed message holds the changes of one site batch (at this rate, mostly
    # one alarm: its join, and the zone's or detector's state when it changed).
    incidents = len(rig.sites[PORT].get("/api/incidents", TOKEN["alice"]).json())
    back = time.monotonic()
    rig.hop.restore()
    up = rig.wait(lambda: rig.centre.links()[PORT] == "up", 120)
    whole = rig.wait(lambda: rig.same(PORT), 120) + up
    total = time.monotonic() - back
    print(
        f"cut {args.cut_s:.0f} s, {int(rate * (args.cut_s - 2)):,} alarms at the port meanwhile"
        f" ({made:,.0f} feed messages, {incidents} incidents at the site)"
    )
    print(
        f"after the return: link up in {up:.2f} s, the centre's incidents the site's in"
        f" {whole:.2f} s (checked by API, {total:.2f} s in all); the railhead stayed"
        f" {rig.centre.links()[YARD]}"
    )


def percentiles(xs: list[float]) -> str:
    def at(f: float) -> float:
        return xs[min(len(xs) - 1, int(f * len(xs)))] * 1000

    mean, top = statistics.fmean(xs) * 1000, xs[-1] * 1000
    return f"p50 {at(0.5):.1f} ms, p99 {at(0.99):.1f} ms, max {top:.1f} ms, mean {mean:.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("mode", nargs="?", choices=["latency", "catch-up"], default="latency")
    parser.add_argument("--rate", type=float, default=1000, help="msg/s per site")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--cut-s", type=float, default=300)
    parser.add_argument("--changes", type=int, default=10_000)
    args = parser.parse_args()
    print(f"load before: {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory() as tmp_name:
        rig = Rig(Path(tmp_name))
        rig.start()
        try:
            (latency if args.mode == "latency" else catch_up)(rig, args)
        finally:
            rig.stop()


if __name__ == "__main__":
    main()
