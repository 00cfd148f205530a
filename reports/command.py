"""``vigie report monthly|inspection``: read the store, write FILE.pdf and FILE.json.

Also the entry points the service will call to answer ``GET /api/reports/...``:
:func:`monthly` and :func:`inspection` return the JSON figures and the PDF bytes.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import orjson

from fusion.site import Site
from reports.catalogue import LANGUAGES
from reports.documents import inspection_pdf, monthly_pdf
from reports.report import inspection_report, monthly_report
from reports.rows import PeriodError, days_period, layout_of, month_period, parse_day
from reports.source import SqlReportSource
from vigie.store.db import StoreError

EXIT_USAGE = 2
"""Bad arguments (a month that does not parse, no store there): argparse's status."""

EXIT_FAILED = 1


@dataclass(frozen=True, slots=True)
class Built:
    """A report: its figures (the JSON file) and the PDF drawn from them."""

    figures: dict[str, Any]
    pdf: bytes

    def json_bytes(self) -> bytes:
        return orjson.dumps(self.figures, option=orjson.OPT_INDENT_2) + b"\n"


def monthly(db_url: str, site: Site, month: str, *, lang: str, now: float) -> Built:
    """The monthly report of ``month`` (YYYY-MM, site time zone), data up to ``now``.

    Raises :class:`PeriodError` for a bad or future month, :class:`StoreError` when
    the store cannot be read.
    """
    layout = layout_of(site)
    period = month_period(month, layout.tz, now)
    with SqlReportSource(db_url) as source:
        figures = monthly_report(source, layout, period, lang, now)
    return Built(figures, monthly_pdf(figures))


def inspection(db_url: str, site: Site, first: date, last: date, *, lang: str, now: float) -> Built:
    """The inspection report of the local days ``first`` .. ``last`` (both included)."""
    layout = layout_of(site)
    period = days_period(first, last, layout.tz, now)
    with SqlReportSource(db_url) as source:
        figures = inspection_report(source, layout, period, lang, now)
    return Built(figures, inspection_pdf(figures))


def _write(path: Path, data: bytes) -> None:
    """Whole or not at all: a reader never sees half a report."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_bytes(data)
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def run(args: argparse.Namespace, site: Site) -> int:
    """Carry out ``vigie report ...`` with parsed arguments; returns the exit status."""
    prog = f"vigie report {args.report}"
    out = Path(args.out)
    if not out.parent.is_dir():
        print(f"{prog}: error: no such folder for --out: {out.parent}", file=sys.stderr)
        return EXIT_USAGE
    if args.lang not in LANGUAGES:
        print(f"{prog}: error: --lang must be one of {', '.join(LANGUAGES)}", file=sys.stderr)
        return EXIT_USAGE
    now = time.time()
    try:
        if args.report == "monthly":
            built = monthly(args.db, site, args.month, lang=args.lang, now=now)
        else:
            first = parse_day(args.from_day, "--from")
            last = parse_day(args.to_day, "--to")
            built = inspection(args.db, site, first, last, lang=args.lang, now=now)
    except (PeriodError, StoreError) as exc:
        print(f"{prog}: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_USAGE
    json_path = out.with_suffix(".json")
    try:
        _write(out, built.pdf)
        _write(json_path, built.json_bytes())
    except OSError as exc:
        print(f"{prog}: error: cannot write the report: {_one_line(exc)}", file=sys.stderr)
        return EXIT_FAILED
    print(f"{prog}: {_summary(built.figures)} -> {out}, {json_path}", file=sys.stderr)
    return 0


def _one_line(exc: BaseException) -> str:
    """The database driver's messages run over several lines; a terminal wants one."""
    return " ".join(str(exc).split())


def _summary(figures: dict[str, Any]) -> str:
    if figures["empty"]:
        return "no data for this period"
    seen = figures["incidents"]["seen"]
    if figures["report"] == "monthly":
        return f"{seen} incidents seen, {figures['incidents']['confirmed']} confirmed"
    verdicts = ", ".join(f"{z['zone']} {z['verdict']}" for z in figures["zones"])
    return f"{figures['crossings']} crossings; {verdicts}"
