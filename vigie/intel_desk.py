"""The analysts' desk of the live service (docs/protocol.md §9): intelligence items issued
and withdrawn through the API, and the items each desk may read.

An item from an analyst takes the same step as a feed's message over MQTT (checks,
duplicates, windows, links, through :mod:`fusion.intake`), under the service's lock,
committed before the answer; the engine's intelligence book decides, this desk carries.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import orjson

from dashboard.hub import Hub
from fusion.intake import Intake, Processed
from fusion.site import Site
from fusion.topics import site_root
from fusion.wire import changes_json, intel_json
from vigie.ingest import Ingest
from vigie.store import Batch, Received

OnDisk = Callable[["asyncio.Future[None]", str], Awaitable[None]]


class IntelDesk:
    """Issues, withdraws and lists intelligence items for the API."""

    def __init__(
        self,
        site: Site,
        *,
        turn: Callable[[], AbstractAsyncContextManager[None]],
        intake: Callable[[], Intake],
        ingest: Callable[[], Ingest | None],
        hub: Hub,
        on_disk: OnDisk,
        clock: Callable[[], float],
    ) -> None:
        self._topic = f"{site_root(site)}/intel"
        self._turn = turn
        self._intake, self._ingest, self._hub = intake, ingest, hub
        self._on_disk, self._clock = on_disk, clock

    async def issue_intel(self, source: str, body: Any) -> Processed:
        """An analyst's message (issue, replace, withdraw), stored and shown before the
        answer, or refused with its reason as a feed's would be."""
        ingest = self._ingest()
        assert ingest is not None
        async with self._turn():  # the engine's lock, or 503 after a wait
            intake = self._intake()
            done = intake.receive_intel_from(source, body, self._clock())
            batch = Batch(
                received=[
                    Received(done.t, f"{self._topic}/{source}", orjson.dumps(body), processed=done)
                ],
                next_incident=intake.engine.next_incident_number,
                next_fault=intake.engine.next_fault_number,
            )
            self._hub.publish(changes_json(batch.all_changes()), [])
            written = await ingest.commit(batch)
        await self._on_disk(written, f"the intelligence message of {source}")  # before 201
        return done

    def intel_items(self, desk: str | None, active_only: bool) -> list[dict[str, Any]]:
        now = self._clock()
        return [
            intel_json(item, now)
            for item in self._intake().engine.intel.items()
            if item.visible_to(desk) and (not active_only or item.active_at(now))
        ]

    def intel_item(self, item_id: str, desk: str | None) -> dict[str, Any] | None:
        item = self._intake().engine.intel.get(item_id)
        if item is None or not item.visible_to(desk):
            return None
        return intel_json(item, self._clock())
