"""The inspectors' desk of the live service: walk tests opened, crossed and closed through
the engine's book (:mod:`fusion.walktests`), committed before the answer, and read back
from the store (docs/protocol.md §11).

The engine decides (which zones are under test, which crossing was detected); the desk
only carries the inspector's request to it under the service's lock and its changes
to the store and the screens. Answers for the API are built by :mod:`fusion.wire`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from fusion.changes import Change
from fusion.correlator import Correlator
from fusion.site import Site
from fusion.walktests import (
    CrossingMode,
    UnknownWalkTest,
    WalkTestChanged,
    WalkTestConflict,
    WalkTestView,
    zone_modalities,
)
from fusion.wire import walk_test_json
from vigie.store import Store

EngineChange = Callable[[Callable[[float], Sequence[Change]], str], Awaitable[list[Change]]]
StoreCall = Callable[..., Awaitable[Any]]


class WalkTestDesk:
    """Opens, crosses, closes and lists walk tests for the API."""

    def __init__(
        self,
        site: Site,
        *,
        change: EngineChange,
        db: StoreCall,
        engine: Callable[[], Correlator],
        store: Callable[[], Store],
        clock: Callable[[], float],
    ) -> None:
        self._change = change
        self._db = db
        self._engine = engine
        self._store = store
        self._clock = clock
        self._modalities = zone_modalities(site)

    async def open(self, zone: str, minutes: float, by: str) -> dict[str, Any]:
        changes = await self._change(
            lambda now: self._engine().walk_tests.open(zone, minutes, by, now),
            f"open a walk test on {zone}",
        )
        return _test_of(changes)

    async def cross(self, test_id: str, mode: CrossingMode, by: str) -> dict[str, Any]:
        """Record that the tester crossed now; answers with the crossing."""
        changes = await self._guard(
            test_id,
            lambda now: self._engine().walk_tests.cross(test_id, mode, by, now),
            f"record a crossing of {test_id}",
        )
        first = changes[0]
        assert isinstance(first, WalkTestChanged) and first.crossing is not None
        return dict(walk_test_json(first.test, first.t)["crossings"][first.crossing.number - 1])

    async def close(self, test_id: str, by: str) -> dict[str, Any]:
        changes = await self._guard(
            test_id,
            lambda now: self._engine().walk_tests.close(test_id, by, now),
            f"close {test_id}",
        )
        return _test_of(changes)

    async def _guard(
        self, test_id: str, work: Callable[[float], Sequence[Change]], what: str
    ) -> list[Change]:
        """A test the book no longer holds has ended long ago (409), or never was (404)."""
        try:
            return await self._change(work, what)
        except UnknownWalkTest:
            if await self.get(test_id) is None:
                raise
            raise WalkTestConflict(f"{test_id} has ended") from None

    async def find(self, span: tuple[float, float] | None) -> list[dict[str, Any]]:
        """Tests overlapping ``span`` (the latest 200 without one), oldest first, each with
        its crossings and what detected them, as of now."""
        views: list[WalkTestView] = await self._db(
            self._store().walk_tests, span=span, modalities=self._modalities
        )
        now = self._clock()
        return [walk_test_json(v, now) for v in views]

    async def get(self, test_id: str) -> dict[str, Any] | None:
        views: list[WalkTestView] = await self._db(
            self._store().walk_tests, test_id=test_id, modalities=self._modalities
        )
        return walk_test_json(views[0], self._clock()) if views else None


def _test_of(changes: list[Change]) -> dict[str, Any]:
    first = changes[0]
    assert isinstance(first, WalkTestChanged)
    return walk_test_json(first.test, first.t)
