"""The ``vigie`` command line (docs/protocol.md §5)."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from adapters.mqtt import AdapterError, Broker
from fusion.site import Site, SiteError
from vigie.site_file import load_site

EXIT_USAGE = 2
"""Bad arguments or a bad site file: the same status argparse uses."""


class _Parser(argparse.ArgumentParser):
    """Argument errors in one line, with where to look for help."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _stop_on_signals() -> threading.Event:
    """An event set by Ctrl-C or SIGTERM, so a command can finish its work cleanly."""
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    return stop


def _broker(url: str, command: str) -> Broker:
    """The broker URL of ``--broker``, or exit 2 with a one-line reason."""
    try:
        return Broker.from_url(url)
    except AdapterError as exc:
        print(f"vigie {command}: error: {exc}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE) from exc


def _site(path: str) -> Site:
    try:
        return load_site(path)
    except SiteError as exc:
        print(f"vigie: bad site file: {exc}", file=sys.stderr)
        if len(exc.problems) > 1:
            print(exc.details(), file=sys.stderr)
        raise SystemExit(EXIT_USAGE) from exc


def _cmd_replay(args: argparse.Namespace) -> int:
    from vigie.replay_file import replay_file, write_report

    site = _site(args.site)
    recording = Path(args.file)
    if not recording.is_file():
        print(f"vigie replay: no such recording: {recording}", file=sys.stderr)
        return EXIT_USAGE
    if args.broker:
        from adapters.recording import play, read_recording

        broker = _broker(args.broker, "replay")
        sent = play(read_recording(recording), broker, speed=args.speed)
        print(f"published {sent} messages to {broker} at {args.speed}x", file=sys.stderr)
        return 0
    if not args.report:
        print("vigie replay: error: --report is required (or --broker to publish)", file=sys.stderr)
        return EXIT_USAGE
    report = replay_file(recording, site)
    write_report(report, Path(args.report))
    print(
        f"replayed {report['messages']} messages ({report['rejected']} rejected, "
        f"{report['duplicates']} duplicates): {len(report['incidents'])} incidents, "
        f"{len(report['faults'])} faults, {len(report['commands'])} commands -> {args.report}",
        file=sys.stderr,
    )
    return 0


def _cmd_serve(args: argparse.Namespace) -> int:
    from dashboard.auth import Users, UsersFileError
    from vigie.serve import serve

    site = _site(args.site)
    broker = _broker(args.broker, "serve")
    try:
        host, port = _http_address(args.http)
    except ValueError as exc:
        print(f"vigie serve: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    users = Users([])
    if args.users:
        try:
            users = Users.load(Path(args.users))
        except UsersFileError as exc:
            print(f"vigie serve: bad users file: {exc}", file=sys.stderr)
            return EXIT_USAGE
    else:
        logging.getLogger("vigie").warning(
            "no --users file: nobody can sign in to the API or the dashboard"
        )
    db = args.db or str(Path(args.data) / f"{site.site}.db")
    try:
        video = _video_settings(args)
    except ValueError as exc:
        print(f"vigie serve: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return serve(
        site,
        broker,
        db,
        users,
        host=host,
        port=port,
        client_id=args.client_id,
        run_cameras=not args.no_cameras,
        site_path=str(Path(args.site).resolve()),
        video=video,
    )


def _video_settings(args: argparse.Namespace) -> Any:
    """Where clips go and how long they stay (docs/video.md, "Clips")."""
    from pydantic import ValidationError

    from vigie.config import VideoSettings

    given: dict[str, Any] = {"clip_folder": args.clip_folder or Path(args.data) / "clips"}
    if args.clip_keep_days is not None:
        given["clip_keep_days"] = args.clip_keep_days
    if args.clip_budget is not None:
        given["clip_budget_bytes"] = _size(args.clip_budget, "--clip-budget")
    if args.clip_reserve is not None:
        given["clip_reserve_bytes"] = _size(args.clip_reserve, "--clip-reserve")
    try:
        return VideoSettings(**given)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise ValueError(f"--{str(err['loc'][-1]).replace('_', '-')}: {err['msg']}") from exc


_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}


def _size(text: str, option: str) -> int:
    """A size in bytes, or with a K, M, G or T suffix (powers of 1024)."""
    number, unit = text.strip().rstrip("Bb"), ""
    if number[-1:].upper() in _UNITS:
        number, unit = number[:-1], number[-1].upper()
    try:
        value = float(number)
    except ValueError:
        raise ValueError(f"{option}: not a size: {text!r} (e.g. 500M, 20G)") from None
    if not 0 <= value < 2**62:
        raise ValueError(f"{option}: out of range: {text!r}")
    return int(value * _UNITS[unit])


def _cmd_centre(args: argparse.Namespace) -> int:
    from dashboard.auth import Users, UsersFileError
    from vigie.centre.config import CentreError, check_users, load_centre
    from vigie.centre.serve import serve_centre

    try:
        centre = load_centre(args.centre)
    except CentreError as exc:
        print(f"vigie centre: bad centre file: {exc}", file=sys.stderr)
        if len(exc.problems) > 1:
            print(exc.details(), file=sys.stderr)
        return EXIT_USAGE
    broker = _broker(args.broker, "centre")
    try:
        host, port = _http_address(args.http)
    except ValueError as exc:
        print(f"vigie centre: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        users = Users.load(Path(args.users))
        check_users(users, centre, args.users)
    except (UsersFileError, CentreError) as exc:
        print(f"vigie centre: bad users file: {exc}", file=sys.stderr)
        return EXIT_USAGE
    db = args.db or str(Path(args.data) / f"centre-{centre.id}.db")
    return serve_centre(centre, broker, db, users, host=host, port=port, client_id=args.client_id)


def _cmd_camera(args: argparse.Namespace) -> int:
    stop = _stop_on_signals()  # first: a stop during start-up is a clean stop too
    from adapters.camera import CameraWorker

    site = _site(args.site)
    broker = _broker(args.broker, "camera")
    try:
        live = _live_address(args.live)
        worker = CameraWorker(site, args.camera, broker, fps=args.fps, live=live)
    except (KeyError, ValueError) as exc:
        print(f"vigie camera: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:
        print(f"vigie camera: cannot serve the live feed on {args.live}: {exc}", file=sys.stderr)
        return 1
    worker.run(stop)
    if not worker.released:
        # A reader thread still inside FFmpeg aborts the interpreter's shutdown
        # (SIGABRT, "FATAL: exception not rethrown"): leave without one.
        logging.shutdown()
        sys.stderr.flush()
        os._exit(0)
    return 0


def _live_address(text: str | None) -> tuple[str, int] | None:
    if text is None:
        return None
    try:
        return _http_address(text)
    except ValueError as exc:
        raise ValueError(str(exc).replace("--http", "--live")) from None


def _cmd_simulate_camera(args: argparse.Namespace) -> int:
    from simulators.cameras import RtspUnavailable, SimulatedCameras
    from simulators.scene import Scene

    site = _site(args.site)
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
    stop = _stop_on_signals()
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
        http = _http_address(args.http) if args.http else None
    except ValueError as exc:
        print(f"vigie demo: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.broker:
        _broker(args.broker, "demo")
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # stops like Ctrl-C
    if args.centre:
        from simulators.centre_demo import CentreDemo

        return CentreDemo(Path(args.data) / "centre", http).run()
    return Demo(Path(args.data), http, args.broker, rtsp=not args.no_rtsp).run()


def _cmd_record(args: argparse.Namespace) -> int:
    from adapters.recording import Recorder
    from fusion.topics import subscription

    site = _site(args.site)
    broker = _broker(args.broker, "record")
    stop = _stop_on_signals()
    if args.seconds:
        threading.Timer(args.seconds, stop.set).start()
    with Path(args.out).open("wb") as out:
        recorder = Recorder(broker, [subscription(site)], out)
        recorder.run(stop)
    print(f"recorded {recorder.count} messages to {args.out}", file=sys.stderr)
    return 0


def _cmd_simulate_sensors(args: argparse.Namespace) -> int:
    from simulators.devices import Floodlights, play_scenario
    from simulators.scenario import demo_site_path, generate, load_scenario

    site = _site(args.site or str(demo_site_path()))
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
    broker = _broker(args.broker, "simulate sensors")
    stop = _stop_on_signals()
    lights = Floodlights(site, broker)
    lights.start()
    play_scenario(scenario, site, broker, stop, lights=lights, speed=args.speed, loop=args.loop)
    lights.stop()
    return 0


def _cmd_simulate_month(args: argparse.Namespace) -> int:
    import time

    from simulators.month import MonthRefused, simulate_month
    from vigie.store import Store, StoreError

    site = _site(args.site)
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

    site = _site(args.site or str(demo_site_path()))
    if args.source not in {s.id for s in site.intel_sources}:
        known = ", ".join(s.id for s in site.intel_sources) or "none"
        print(
            f"vigie simulate feed: {args.source!r} is not an intel source of the site"
            f" (intel_sources: {known})",
            file=sys.stderr,
        )
        return EXIT_USAGE
    broker = _broker(args.broker, "simulate feed")
    stop = _stop_on_signals()
    FeedSimulator(site, broker, args.source, seed=args.seed).run(stop, every_s=args.every)
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from reports.command import run

    return run(args, _site(args.site))


def orjson_line(t: float, topic: str, payload: Any) -> bytes:
    import orjson

    return orjson.dumps({"t": t, "topic": topic, "payload": payload}) + b"\n"


def _http_address(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"--http must be HOST:PORT, got {text!r}")
    return host or "127.0.0.1", int(port)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="vigie", description="Perimeter sensor fusion for the control room.")
    parser.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING, ERROR")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    replay = sub.add_parser("replay", help="replay a recording (headless report, or to a broker)")
    replay.add_argument("file", help="recording, JSON Lines")
    replay.add_argument("--site", required=True, help="site file (YAML)")
    replay.add_argument("--report", help="where to write the report (JSON)")
    replay.add_argument("--broker", help="publish to this broker instead, mqtt://host:port")
    replay.add_argument("--speed", type=float, default=1.0, help="times real time, with --broker")
    replay.set_defaults(func=_cmd_replay)

    serve = sub.add_parser("serve", help="the live fusion service, API and dashboard")
    serve.add_argument("--site", required=True, help="site file (YAML)")
    serve.add_argument("--broker", default="mqtt://127.0.0.1:1883", help="mqtt://host:port")
    serve.add_argument("--db", help="SQLite path or postgresql:// URL (default: in --data)")
    serve.add_argument("--data", default="data", help="data folder for the default SQLite store")
    serve.add_argument("--users", help="users file (YAML); without it nobody can sign in")
    serve.add_argument("--http", default="127.0.0.1:8080", help="HOST:PORT to serve on")
    serve.add_argument("--client-id", help="MQTT client id (default vigie-<site>)")
    serve.add_argument("--no-cameras", action="store_true", help="do not start camera workers")
    serve.add_argument("--clip-folder", help="evidence clips' folder (default: clips in --data)")
    serve.add_argument(
        "--clip-keep-days", type=float, help="keep clips this long after resolution (30)"
    )
    serve.add_argument("--clip-budget", help="disk budget of the clips, e.g. 50G (50G)")
    serve.add_argument("--clip-reserve", help="clips stop with less free disk than this (512M)")
    serve.set_defaults(func=_cmd_serve)

    camera = sub.add_parser("camera", help="one camera worker: RTSP in, camera events out")
    camera.add_argument("--site", required=True, help="site file (YAML)")
    camera.add_argument("--camera", required=True, help="camera id in the site file")
    camera.add_argument("--broker", default="mqtt://127.0.0.1:1883", help="mqtt://host:port")
    camera.add_argument("--fps", type=float, default=5.0, help="frames analysed per second")
    camera.add_argument(
        "--live", help="HOST:PORT to serve the live feed on (vigie serve passes one)"
    )
    camera.set_defaults(func=_cmd_camera)

    centre = sub.add_parser("centre", help="a joint command centre fed by several sites")
    centre.add_argument("--centre", required=True, help="centre file (YAML, docs/centre.md)")
    centre.add_argument("--users", required=True, help="users file (YAML); each with a desk")
    centre.add_argument("--broker", default="mqtt://127.0.0.1:1883", help="mqtt://host:port")
    centre.add_argument("--db", help="SQLite path or postgresql:// URL (default: in --data)")
    centre.add_argument("--data", default="data", help="data folder for the default SQLite store")
    centre.add_argument("--http", default="127.0.0.1:8090", help="HOST:PORT to serve on")
    centre.add_argument("--client-id", help="MQTT client id (default vigie-centre-<centre>)")
    centre.set_defaults(func=_cmd_centre)

    _add_simulators_and_tools(sub)
    return parser


def _add_feed_simulator(sims: Any) -> None:
    feed = sims.add_parser("feed", help="an intelligence feed issuing warnings over MQTT")
    feed.add_argument("--source", required=True, help="an intel source id of the site file")
    feed.add_argument("--site", help="site file (default: the demo site)")
    feed.add_argument("--broker", default="mqtt://127.0.0.1:1883", help="mqtt://host:port")
    feed.add_argument("--every", type=float, default=60.0, help="seconds between messages")
    feed.add_argument("--seed", type=int, default=7)
    feed.set_defaults(func=_cmd_simulate_feed)


def _add_simulators_and_tools(sub: Any) -> None:
    simulate = sub.add_parser("simulate", help="sensor and camera simulators")
    sims = simulate.add_subparsers(dest="simulator", required=True, parser_class=_Parser)
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
    _add_tools(sub)


def _add_tools(sub: Any) -> None:
    record = sub.add_parser("record", help="record a site's sensor messages from a broker")
    record.add_argument("--broker", required=True, help="mqtt://host:port")
    record.add_argument("--site", required=True, help="site file (YAML)")
    record.add_argument("--out", required=True, help="recording to write (JSON Lines)")
    record.add_argument("--seconds", type=float, help="stop after this long (default: Ctrl-C)")
    record.set_defaults(func=_cmd_record)

    report = sub.add_parser("report", help="monthly and inspection reports: PDF and JSON")
    kinds = report.add_subparsers(dest="report", required=True, parser_class=_Parser)
    for kind, about in (
        ("monthly", "the gold commanders' monthly report"),
        ("inspection", "the security inspection of a period"),
    ):
        r = kinds.add_parser(kind, help=about)
        r.add_argument("--db", required=True, help="SQLite path or postgresql:// URL")
        r.add_argument("--site", required=True, help="site file (YAML)")
        if kind == "monthly":
            r.add_argument("--month", required=True, help="YYYY-MM, in the site's time zone")
        else:
            r.add_argument("--from", dest="from_day", required=True, help="first day, YYYY-MM-DD")
            r.add_argument("--to", dest="to_day", required=True, help="last day (included)")
        r.add_argument("--out", required=True, help="FILE.pdf; FILE.json is written beside it")
        r.add_argument("--lang", default="en", choices=["en", "fr"], help="language")
        r.set_defaults(func=_cmd_report)

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


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=getattr(logging, str(args.log_level).upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
