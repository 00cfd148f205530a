"""The ``vigie`` command line (docs/protocol.md §5)."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import threading
from collections.abc import Sequence
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
from vigie.cli_simulate import add_demo, add_simulators


def _cmd_replay(args: argparse.Namespace) -> int:
    from vigie.replay_file import replay_file, write_report

    site = site_from(args.site)
    recording = Path(args.file)
    if not recording.is_file():
        print(f"vigie replay: no such recording: {recording}", file=sys.stderr)
        return EXIT_USAGE
    if args.broker:
        from adapters.recording import play, read_recording

        broker = broker_from(args.broker, "replay")
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

    site = site_from(args.site)
    broker = broker_from(args.broker, "serve")
    try:
        host, port = http_address(args.http)
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
    broker = broker_from(args.broker, "centre")
    try:
        host, port = http_address(args.http)
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
    stop = stop_on_signals()  # first: a stop during start-up is a clean stop too
    from adapters.camera import CameraWorker

    site = site_from(args.site)
    broker = broker_from(args.broker, "camera")
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
        return http_address(text)
    except ValueError as exc:
        raise ValueError(str(exc).replace("--http", "--live")) from None


def _cmd_record(args: argparse.Namespace) -> int:
    from adapters.recording import Recorder
    from fusion.topics import subscription

    site = site_from(args.site)
    broker = broker_from(args.broker, "record")
    stop = stop_on_signals()
    if args.seconds:
        threading.Timer(args.seconds, stop.set).start()
    with Path(args.out).open("wb") as out:
        recorder = Recorder(broker, [subscription(site)], out)
        recorder.run(stop)
    print(f"recorded {recorder.count} messages to {args.out}", file=sys.stderr)
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from reports.command import run

    return run(args, site_from(args.site))


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="vigie", description="Perimeter sensor fusion for the control room.")
    parser.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING, ERROR")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)

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

    add_simulators(sub)
    _add_tools(sub)
    add_demo(sub)
    return parser


def _add_tools(sub: Any) -> None:
    record = sub.add_parser("record", help="record a site's sensor messages from a broker")
    record.add_argument("--broker", required=True, help="mqtt://host:port")
    record.add_argument("--site", required=True, help="site file (YAML)")
    record.add_argument("--out", required=True, help="recording to write (JSON Lines)")
    record.add_argument("--seconds", type=float, help="stop after this long (default: Ctrl-C)")
    record.set_defaults(func=_cmd_record)

    report = sub.add_parser("report", help="monthly and inspection reports: PDF and JSON")
    kinds = report.add_subparsers(dest="report", required=True, parser_class=Parser)
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
