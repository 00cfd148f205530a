"""The ``vigie`` command line (contract section 5)."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from fusion.site import Site, SiteError
from vigie.config import load_site

EXIT_USAGE = 2
"""Bad arguments or a bad site file: the same status argparse uses."""


class _Parser(argparse.ArgumentParser):
    """Argument errors in one line, with where to look for help."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


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
    from adapters.mqtt import AdapterError, Broker
    from dashboard.auth import Users, UsersFileError
    from vigie.serve import serve

    site = _site(args.site)
    try:
        broker = Broker.from_url(args.broker)
        host, port = _http_address(args.http)
    except (AdapterError, ValueError) as exc:
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
    return serve(
        site,
        broker,
        db,
        users,
        host=host,
        port=port,
        client_id=args.client_id,
        run_cameras=not args.no_cameras,
    )


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
    replay.add_argument("--report", required=True, help="where to write the report (JSON)")
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
    serve.set_defaults(func=_cmd_serve)
    return parser


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
