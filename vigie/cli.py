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


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="vigie", description="Perimeter sensor fusion for the control room.")
    parser.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING, ERROR")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    replay = sub.add_parser("replay", help="replay a recording (headless report, or to a broker)")
    replay.add_argument("file", help="recording, JSON Lines")
    replay.add_argument("--site", required=True, help="site file (YAML)")
    replay.add_argument("--report", required=True, help="where to write the report (JSON)")
    replay.set_defaults(func=_cmd_replay)
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
