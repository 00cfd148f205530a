"""Restart policy for long-running tasks: one place for retry and backoff."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
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


async def supervise(
    name: str,
    run: Callable[[], Awaitable[None]],
    backoff: Backoff | None = None,
    on_failure: Callable[[str, BaseException], None] | None = None,
) -> None:
    """Run ``run`` forever: log each failure, wait with backoff, start it again.

    Cancellation stops it. A task that returns on its own is also restarted: a
    control room has no task that is allowed to simply end.
    """
    backoff = backoff or Backoff()
    loop = asyncio.get_running_loop()
    while True:
        started = loop.time()
        try:
            await run()
            log.warning("%s ended by itself; starting it again", name)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("%s failed", name)
            if on_failure is not None:
                on_failure(name, exc)
        if loop.time() - started > STEADY_S:
            backoff.reset()
        delay = backoff.next_delay()
        log.info("restarting %s in %.1f s", name, delay)
        await asyncio.sleep(delay)
