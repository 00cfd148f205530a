"""The simulators' and the demo's commands: ``vigie simulate camera|sensors|month|feed`` and
``vigie demo``. With the command line, the only production module allowed to import
``simulators`` (the import-linter contracts in pyproject.toml), and only inside the
commands, so that ``vigie serve`` never loads them."""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path
from typing import Any

from vigie.cli_common import (
    EXIT_USAGE,
    Parser,
    broker_from,
    http_address,
    site_from,
    stop_on_signals,
)


def add_simulators(sub: Any) -> None:
    simulate = sub.add_parser("simulate", help="sensor and camera simulators")
    sims = simulate.add_subparsers(dest="simulator", required=True, parser_class=Parser)
    cam = sims.add_parser("camera", help="serve synthetic scenes over RTSP at the site's URLs")
    cam.add_argument("--site", required=True, help="site file (YAML)")
    cam.add_argument("--camera", action="append", help="camera id (default: every camera)")
    cam.add_argument("--night", action="store_true")
    cam.add_argument("--vegetation", action="store_true", help="swaying bushes")
    cam.add_argument("--rain", action="store_true")
    cam.add_argument("--floodlight-at", type=float, help="seconds until a floodlight comes on")
    cam.add_argument(
        "--walker",
        action="append",
        default=[],
        help='an intruder: "x0,y0 x1,y1 ...@start_s:speed" (image fractions)',
    )
    cam.add_argument(
        "--clip",
        help="serve this recorded clip (once per camera) instead of a synthetic scene: "
        "H.264 MP4/MKV as it is, anything else (an MPEG-4 AVI) decoded and encoded",
    )
    cam.add_argument("--fps", type=int, default=10)
    cam.add_argument("--seed", type=int, default=7)
    cam.set_defaults(func=_cmd_simulate_camera)
    sens = sims.add_parser("sensors", help="play a scenario over MQTT (or write it to --out)")
    sens.add_argument("--scenario", required=True, help="a shipped scenario name or a file")
    sens.add_argument("--site", help="site file (default: the demo site)")
    sens.add_argument("--broker", default="mqtt://127.0.0.1:1883", help="mqtt://host:port")
    sens.add_argument("--speed", type=float, default=1.0, help="times real time")
    sens.add_argument("--loop", action="store_true", help="play it again and again")
    sens.add_argument("--out", help="write the messages as a recording instead of playing")
    sens.set_defaults(func=_cmd_simulate_sensors)
    _add_simulate_month(sims)
    _add_feed_simulator(sims)


def add_demo(sub: Any) -> None:
    demo = sub.add_parser("demo", help="the whole system on this machine, for a first look")
    demo.add_argument("--data", default="data/demo", help="data folder")
    demo.add_argument(
        "--http",
        help="HOST:PORT for the dashboard (default 127.0.0.1:8080, or a free port if in use)",
    )
    demo.add_argument("--broker", help="use this broker instead of starting one")
    demo.add_argument(
        "--centre",
        action="store_true",
        help="two sites (the railhead and a port) and a joint centre, bridged (docs/centre.md)",
    )
    demo.add_argument(
        "--no-rtsp",
        action="store_true",
        help="feed simulated frames straight to the analysis, without RTSP",
    )
    demo.set_defaults(func=_cmd_demo)


def _cmd_simulate_camera(args: argparse.Namespace) -> int:
    from simulators.cameras import RtspUnavailable, SimulatedCameras
    from simulators.scene import Scene

    site = site_from(args.site)
    cameras = {c.id: c for c in site.cameras}
    chosen = args.camera or list(cameras)
    unknown = [c for c in chosen if c not in cameras]
    if unknown:
        print(f"vigie simulate camera: no camera {unknown[0]!r} in the site", file=sys.stderr)
        return EXIT_USAGE
    clip = Path(args.clip) if args.clip else None
    if clip is not None and not clip.is_file():
        print(f"vigie simulate camera: no clip {args.clip!r}", file=sys.stderr)
        return EXIT_USAGE
    walkers = [_walker(w) for w in args.walker]
    scene = Scene(
        night=args.night,
        vegetation=args.vegetation,
        rain=args.rain,
        floodlight_at=args.floodlight_at,
        walkers=walkers,
        seed=args.seed,
    )
    try:
        sim = SimulatedCameras.for_urls(
            {c: cameras[c].url for c in chosen},
            dict.fromkeys(chosen, scene),
            fps=args.fps,
            clip=clip,
        )
        sim.start()
    except (RtspUnavailable, ValueError) as exc:
        print(f"vigie simulate camera: {exc}", file=sys.stderr)
        return 1
    print(f"serving {', '.join(cameras[c].url for c in chosen)}; Ctrl-C stops", file=sys.stderr)
    stop = stop_on_signals()
    stop.wait()
    sim.stop()
    return 0


def _walker(text: str) -> Any:
    """``x0,y0 x1,y1 ...[@start_s[:speed]]`` in normalised image coordinates."""
    from simulators.scene import Walker

    path_text, _, timing = text.partition("@")
    path = tuple(tuple(float(v) for v in p.split(",")) for p in path_text.split())
    start, _, speed = timing.partition(":")
    return Walker(path, float(start or 0), float(speed or 0.08))  # type: ignore[arg-type]


def _cmd_demo(args: argparse.Namespace) -> int:
    from simulators.demo import Demo  # the only import of the demo (see pyproject.toml)

    try:
        http = http_address(args.http) if args.http else None
    except ValueError as exc:
        print(f"vigie demo: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.broker:
        broker_from(args.broker, "demo")
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # stops like Ctrl-C
    if args.centre:
        from simulators.centre_demo import CentreDemo

        return CentreDemo(Path(args.data) / "centre", http).run()
    return Demo(Path(args.data), http, args.broker, rtsp=not args.no_rtsp).run()


def _cmd_simulate_sensors(args: argparse.Namespace) -> int:
    from simulators.devices import Floodlights, play_scenario
    from simulators.scenario import demo_site_path, generate, load_scenario

    site = site_from(args.site or str(demo_site_path()))
    try:
        scenario = load_scenario(args.scenario)
    except (OSError, ValueError) as exc:
        print(f"vigie simulate sensors: bad scenario {args.scenario!r}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.out:
        lines = [orjson_line(m.t, m.topic, m.payload) for m in generate(scenario, site)]
        Path(args.out).write_bytes(b"".join(lines))
        print(f"wrote {len(lines)} messages to {args.out}", file=sys.stderr)
        return 0
    broker = broker_from(args.broker, "simulate sensors")
    stop = stop_on_signals()
    lights = Floodlights(site, broker)
    lights.start()
    play_scenario(scenario, site, broker, stop, lights=lights, speed=args.speed, loop=args.loop)
    lights.stop()
    return 0


def _cmd_simulate_month(args: argparse.Namespace) -> int:
    import time

    from simulators.month import MonthRefused, simulate_month
    from vigie.store import Store, StoreError

    site = site_from(args.site)
    try:
        store = Store(args.db)
    except StoreError as exc:
        print(f"vigie simulate month: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        summary = simulate_month(
            site,
            store,
            args.month,
            seed=args.seed,
            now=time.time(),
            sparse_heartbeats=args.sparse_heartbeats,
        )
    except MonthRefused as exc:
        print(f"vigie simulate month: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    finally:
        store.close()
    print(f"vigie simulate month: {args.month}: {summary.line()} -> {args.db}", file=sys.stderr)
    return 0


def _cmd_simulate_feed(args: argparse.Namespace) -> int:
    from simulators.feed import FeedSimulator
    from simulators.scenario import demo_site_path

    site = site_from(args.site or str(demo_site_path()))
    if args.source not in {s.id for s in site.intel_sources}:
        known = ", ".join(s.id for s in site.intel_sources) or "none"
        print(
            f"vigie simulate feed: {args.source!r} is not an intel source of the site"
            f" (intel_sources: {known})",
            file=sys.stderr,
        )
        return EXIT_USAGE
    broker = broker_from(args.broker, "simulate feed")
    stop = stop_on_signals()
    FeedSimulator(site, broker, args.source, seed=args.seed).run(stop, every_s=args.every)
    return 0


def orjson_line(t: float, topic: str, payload: Any) -> bytes:
    import orjson

    return orjson.dumps({"t": t, "topic": topic, "payload": payload}) + b"\n"


def _add_feed_simulator(sims: Any) -> None:
    feed = sims.add_parser("feed", help="an intelligence feed issuing warnings over MQTT")
    feed.add_argument("--source", required=True, help="an intel source id of the site file")
    feed.add_argument("--site", help="site file (default: the demo site)")
    feed.add_argument("--broker", default="mqtt://127.0.0.1:1883", help="mqtt://host:port")
    feed.add_argument("--every", type=float, default=60.0, help="seconds between messages")
    feed.add_argument("--seed", type=int, default=7)
    feed.set_defaults(func=_cmd_simulate_feed)


def _add_simulate_month(sims: Any) -> None:
    month = sims.add_parser("month", help="fill a store with a realistic month of operations")
    month.add_argument("--db", required=True, help="SQLite path or postgresql:// URL")
    month.add_argument("--site", required=True, help="site file (YAML)")
    month.add_argument("--month", required=True, help="YYYY-MM, in the site's time zone")
    month.add_argument("--seed", type=int, default=1, help="the same seed, the same month")
    month.add_argument(
        "--sparse-heartbeats",
        action="store_true",
        help="a heartbeat only as often as supervision needs (about a third of the messages)",
    )
    month.set_defaults(func=_cmd_simulate_month)
