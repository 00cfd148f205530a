"""Restart policy for long-running tasks: one place for retry and backoff."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Final

log = logging.getLogger("vigie.supervisor")

STEADY_S: Final = 60.0
"""A task that ran this long before failing is treated as a fresh failure."""


@dataclass(slots=True)
class Backoff:
    """Capped exponential backoff: first, 2 x first, ... up to ``cap`` seconds."""

    first: float = 0.5
    cap: float = 30.0
    _next: float = field(default=0.0, init=False)

    def next_delay(self) -> float:
        self._next = self.first if self._next == 0 else min(self.cap, self._next * 2)
        return self._next

    def reset(self) -> None:
        self._next = 0.0


class TaskBoard:
    """Which supervised tasks are running and which are waiting to be restarted: a
    service with a task down is not healthy, whatever else answers."""

    def __init__(self) -> None:
        self._up: dict[str, bool] = {}

    def mark(self, name: str, up: bool) -> None:
        self._up[name] = up

    def down(self) -> list[str]:
        return [name for name, up in self._up.items() if not up]

    def __iter__(self) -> Iterator[str]:
        return iter(self._up)


async def supervise(
    name: str,
    run: Callable[[], Awaitable[None]],
    backoff: Backoff | None = None,
    on_failure: Callable[[str, BaseException], None] | None = None,
    board: TaskBoard | None = None,
) -> None:
    """Run ``run`` forever: log each failure, wait with backoff, start it again.

    Cancellation stops it. A task that returns on its own is also restarted: a
    control room has no task that is allowed to simply end. ``board`` shows the task
    as down from its failure until it runs again.
    """
    backoff = backoff or Backoff()
    loop = asyncio.get_running_loop()
    while True:
        started = loop.time()
        if board is not None:
            board.mark(name, True)
        try:
            await run()
            log.warning("%s ended by itself; starting it again", name)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("%s failed", name)
            if on_failure is not None:
                on_failure(name, exc)
        if board is not None:
            board.mark(name, False)
        if loop.time() - started > STEADY_S:
            backoff.reset()
        delay = backoff.next_delay()
        log.info("restarting %s in %.1f s", name, delay)
        await asyncio.sleep(delay)
