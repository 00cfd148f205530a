"""Reports for ``GET /api/reports/...``: built in a worker process of their own, off the
event loop and off the store's thread, on a read connection of their own
(docs/reports.md).

A report reads the store in one snapshot and spends a few seconds drawing charts and
laying out pages; in the service's interpreter that would hold the GIL against ingest,
and on the store's thread it would hold every commit back. A separate process costs one
interpreter (started on the first request, then kept) and leaves both alone; only that
process loads the report machinery (ReportLab, matplotlib).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import signal
from concurrent.futures import ProcessPoolExecutor
from datetime import date
from typing import TYPE_CHECKING, Final

from dashboard.errors import StoreBusy
from fusion.site import Site
from vigie.store.db import StoreError

if TYPE_CHECKING:
    from reports.command import Built

WAITING_LIMIT: Final = 4
"""Report requests that may wait for the worker at once; more are answered 503: each
takes seconds, and a queue longer than this is someone pressing the button again."""


class ReportsBusy(StoreBusy):
    """Too many reports asked for at once: try again."""


class ReportDesk:
    """Builds the monthly and inspection reports in a worker process."""

    def __init__(self, db_url: str, site: Site) -> None:
        self._db_url = db_url
        self._site = site
        self._pool: ProcessPoolExecutor | None = None
        self._waiting = 0

    async def monthly(self, month: str, lang: str, now: float) -> Built:
        """Raises ValueError (a period error) for a bad or future month."""
        return await self._build(("monthly", month), lang, now)

    async def inspection(self, first: date, last: date, lang: str, now: float) -> Built:
        return await self._build(("inspection", first, last), lang, now)

    async def _build(self, what: tuple[object, ...], lang: str, now: float) -> Built:
        if self._waiting >= WAITING_LIMIT:
            raise ReportsBusy("reports are being built; try again shortly")
        self._waiting += 1
        try:
            if self._pool is None:
                context = multiprocessing.get_context("spawn")  # never fork a threaded process
                self._pool = ProcessPoolExecutor(
                    max_workers=1, mp_context=context, initializer=_leave_interrupts
                )
            future = self._pool.submit(_build, self._db_url, self._site, what, lang, now)
            try:
                return await asyncio.wrap_future(future)
            except StoreError as exc:
                raise StoreBusy(f"the store cannot be read for the report: {exc}") from exc
        finally:
            self._waiting -= 1

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None


def _leave_interrupts() -> None:
    """In the worker: Ctrl-C in the service's terminal reaches the whole process group;
    the service ends its worker itself, so the worker ignores it (no stray traceback)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _build(db_url: str, site: Site, what: tuple[object, ...], lang: str, now: float) -> Built:
    """In the worker: one report, ``("monthly", "YYYY-MM")`` or
    ``("inspection", first_day, last_day)``."""
    from reports.command import inspection, monthly  # noqa: PLC0415 - the worker alone loads it

    kind, *period = what
    if kind == "monthly":
        (month,) = period
        assert isinstance(month, str)
        return monthly(db_url, site, month, lang=lang, now=now)
    first, last = period
    assert isinstance(first, date) and isinstance(last, date)
    return inspection(db_url, site, first, last, lang=lang, now=now)
