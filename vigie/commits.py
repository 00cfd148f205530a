"""Every change to the engine reaches the disk, and then the world, in the order it was
made; the next batch is processed while the last one is being written.

The store runs on one thread, which takes work in the order it is submitted, so a
batch submitted under the engine's lock is written after everything the engine did
before it. :class:`CommitPipeline` keeps a short queue of submitted writes and a task
that waits for each in turn and only then runs its follow-up (the broker's PUBACK, the
floodlight commands, the metrics): so processing batch N+1 overlaps writing batch N,
and nothing is acknowledged or announced before it is on disk.

:class:`Committer` is what runs on the store thread for an ingest batch: it writes it,
whatever it takes. While the database is unreachable it retries with backoff on that
thread (so later writes wait behind it and order holds); should the database refuse the
batch for what one message holds, it writes the batch message by message and sets the
refused one aside as a dead letter.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any, Final

from vigie.store import Batch, Received, Store, StoreRefused, StoreUnavailable
from vigie.supervisor import Backoff

log = logging.getLogger("vigie.commits")

PIPELINE_DEPTH: Final = 2
"""Writes in flight behind the one being processed: enough to overlap processing with
the disk, few enough that a crash leaves little unacknowledged to be delivered again."""

HealthHook = Callable[[bool, str], None]


class Committer:
    """Writes ingest batches on the store thread, in order, whatever it takes."""

    def __init__(
        self, store: Store, on_health: HealthHook, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self.store = store
        self._on_health = on_health
        self._sleep = sleep

    def commit(self, batch: Batch) -> None:
        """Returns once all of ``batch`` is on disk (some of it, perhaps, as dead letters,
        which are then in ``batch.received`` in place of what the store refused)."""
        try:
            self.persist(self.store.save_batch, batch)
        except StoreRefused as exc:
            log.warning("the store refused a batch (%s): writing it message by message", exc)
            self._isolate(batch, Backoff(first=0.2, cap=5.0))
            self._on_health(True, "")

    def persist(self, save: Callable[..., None], *args: Any) -> None:
        """A write the engine has already made its decisions for (a batch, an operator's
        decision, a walk test): retried while the store is unreachable and landed once it
        is back, so the engine is never left ahead of the store for good. A refusal (the
        store will never take it) is raised at once."""
        backoff = Backoff(first=0.2, cap=5.0)
        while True:
            try:
                save(*args)
                self._on_health(True, "")
                return
            except StoreUnavailable as exc:
                self._down(exc, backoff)

    def _isolate(self, batch: Batch, backoff: Backoff) -> None:
        index = 0
        while index < len(batch.received):
            entry = batch.received[index]
            try:
                self.store.save_received(entry)
            except StoreRefused as exc:
                log.error("message on %r set aside: the store refused it (%s)", entry.topic, exc)
                batch.received[index] = Received(
                    entry.t, entry.topic, entry.payload, dead=f"store: {exc}"[:500]
                )
                continue  # write the dead letter in its place
            except StoreUnavailable as exc:
                self._down(exc, backoff)
                continue
            index += 1
        while True:
            try:
                self.store.save_tail(batch)
                return
            except StoreUnavailable as exc:
                self._down(exc, backoff)

    def _down(self, exc: Exception, backoff: Backoff) -> None:
        self._on_health(False, str(exc))
        self._sleep(backoff.next_delay())


Submitted = tuple["asyncio.Future[None]", Callable[[], None] | None]


class CommitPipeline:
    """Writes submitted in order, follow-ups run in the same order once each is on disk."""

    def __init__(self, store_thread: Executor, depth: int = PIPELINE_DEPTH) -> None:
        self._thread = store_thread
        self._queue: asyncio.Queue[Submitted] = asyncio.Queue(depth)

    async def submit(
        self,
        write: Callable[..., None],
        *args: Any,
        then: Callable[[], None] | None = None,
    ) -> asyncio.Future[None]:
        """Hand ``write(*args)`` to the store thread now, and queue its follow-up; waits
        while the pipeline is full. Call it under the engine's lock, so that the store
        sees writes in the order the engine made them. Returns the write's future: the
        caller may await it to know its write is on disk (or why it failed)."""
        future: asyncio.Future[None] = asyncio.get_running_loop().run_in_executor(
            self._thread, write, *args
        )
        await self._queue.put((future, then))
        return future

    async def run(self) -> None:
        """Wait for each write in turn and run its follow-up. A write that failed has no
        follow-up: its submitter learns why from the same future."""
        queue = self._queue
        while True:
            future, then = await queue.get()
            await asyncio.wait({future})
            if future.exception() is None and then is not None:
                then()
