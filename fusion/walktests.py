"""Walk tests (docs/protocol.md §11): an inspector opens a test window on a zone, crosses
it on purpose, and records each crossing; the book tells, live, which modalities
detected each crossing within 10 s, and which zones are under test, so that the
correlator marks the incidents opened there as tests.

The book is part of the engine: the correlator consults it when it opens an incident
and shows it every alarm, and the service opens, crosses and closes tests through it
under the same lock as every other engine change. Pure: no I/O, no clock.

A crossing of zone Z at time t is **detected** by a modality when an alarm of that
modality (ir, fence) or a camera ``person`` from Z is received in [t, t + 10 s], both
ends included; it is **settled** once that window has passed. The reports read the same
definition back from the store's messages (docs/reports.md).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final

from fusion.events import Modality
from fusion.site import SensorKind, Site

DETECTION_WINDOW_S: Final = 10.0
"""A detection counts for a crossing when received at most this long after it: time for
a sensor to trip and its message to arrive (docs/protocol.md §11)."""

MAX_TEST_MINUTES: Final = 24 * 60
"""A test window longer than a day is a forgotten test: its zone's real incidents would
all be marked as tests."""


class CrossingMode(StrEnum):
    """How the tester crossed."""

    WALK = "walk"
    RUN = "run"
    CRAWL = "crawl"
    CLIMB = "climb"
    CUT = "cut"


class WalkTestChange(StrEnum):
    OPENED = "opened"
    CROSSING = "crossing"
    DETECTION = "detection"
    """A modality detected a crossing (the first alarm of that modality in its window)."""
    SETTLED = "settled"
    """A crossing's 10 s have passed: what did not detect it by now missed it."""
    CLOSED = "closed"
    EXPIRED = "expired"
    """The test reached the end of its minutes without being closed."""


class UnknownWalkTest(KeyError):
    """The book holds no test with that id (never opened, or ended and settled)."""


class BadWalkTest(ValueError):
    """A test that cannot be opened as asked (a zone that does not exist, bad minutes)."""


class WalkTestConflict(ValueError):
    """The request does not fit the test's state: its zone is already under test, or the
    test has ended."""


@dataclass(frozen=True, slots=True)
class CrossingView:
    """A crossing as the outputs see it; ``number`` counts from 1 within its test."""

    test_id: str
    number: int
    t: float
    mode: CrossingMode
    by: str
    detected: tuple[Modality, ...] = ()
    """The modalities that detected it so far, sorted."""

    def settled_at(self, now: float) -> bool:
        return now > self.t + DETECTION_WINDOW_S


@dataclass(frozen=True, slots=True)
class WalkTestView:
    """A walk test: its window, who opened and closed it, its crossings in order."""

    id: str
    zone: str
    opened_t: float
    until_t: float
    closed_t: float | None
    opened_by: str
    closed_by: str | None
    modalities: tuple[Modality, ...]
    """The detecting modalities that watch the zone (the site file's devices), sorted."""
    crossings: tuple[CrossingView, ...] = ()

    def state_at(self, now: float) -> str:
        """``open``, ``closed`` (by the inspector) or ``expired`` (its minutes ran out)."""
        if self.closed_t is not None:
            return "closed"
        return "open" if now < self.until_t else "expired"


@dataclass(frozen=True, slots=True)
class WalkTestChanged:
    """A test was opened, crossed, closed or expired; a crossing was detected or settled
    (``crossing`` says which)."""

    t: float
    test: WalkTestView
    change: WalkTestChange
    crossing: CrossingView | None = None


@dataclass(slots=True)
class _Crossing:
    number: int
    t: float
    mode: CrossingMode
    by: str
    detected: set[Modality] = field(default_factory=set)


@dataclass(slots=True)
class _Test:
    id: str
    zone: str
    opened_t: float
    until_t: float
    opened_by: str
    closed_t: float | None = None
    closed_by: str | None = None
    crossings: list[_Crossing] = field(default_factory=list)
    expired: bool = False

    def running(self, now: float) -> bool:
        return self.closed_t is None and now < self.until_t


def zone_modalities(site: Site) -> dict[str, tuple[Modality, ...]]:
    """For each zone, the modalities of the devices that watch it, sorted."""
    found: dict[str, set[Modality]] = {z.id: set() for z in site.zones}
    for s in site.sensors:
        if s.zone and s.kind in (SensorKind.IR, SensorKind.FENCE):
            found[s.zone].add(Modality(s.kind.value))
    for c in site.cameras:
        for z in c.zones:
            found[z].add(Modality.CAMERA)
    return {z: tuple(sorted(ms)) for z, ms in found.items()}


def walk_test_id(number: int) -> str:
    """Walk tests are ``WT-`` and a zero-padded counter that survives restarts."""
    return f"WT-{number:06d}"


class WalkTestBook:
    """The tests that are running or whose last crossings are still within their 10 s.

    A test leaves the book once it has ended (closed or expired) and its crossings have
    settled; the store keeps it for good.
    """

    def __init__(
        self, site: Site, tests: Iterable[WalkTestView] = (), next_number: int = 1
    ) -> None:
        self._modalities = zone_modalities(site)
        self._tests: dict[str, _Test] = {}
        self._pending: deque[tuple[_Test, _Crossing]] = deque()
        self._next = next_number
        restored: list[tuple[_Test, _Crossing]] = []
        for v in sorted(tests, key=lambda v: (v.opened_t, v.id)):
            test = _Test(v.id, v.zone, v.opened_t, v.until_t, v.opened_by, v.closed_t, v.closed_by)
            for c in v.crossings:
                crossing = _Crossing(c.number, c.t, c.mode, c.by, set(c.detected))
                test.crossings.append(crossing)
                restored.append((test, crossing))
            self._tests[v.id] = test
        self._pending.extend(sorted(restored, key=lambda p: p[1].t))

    @property
    def next_number(self) -> int:
        return self._next

    def settle(self, now: float) -> None:
        """Bring the book to ``now`` without telling anyone (after a restart, what came due
        while the service was down is already history)."""
        self.advance(now)

    # -- what inspectors do -----------------------------------------------------------

    def open(self, zone: str, minutes: float, by: str, now: float) -> list[WalkTestChanged]:
        if zone not in self._modalities:
            raise BadWalkTest(f"no zone {zone[:100]!r} in the site")
        if not 0 < minutes <= MAX_TEST_MINUTES:
            raise BadWalkTest(f"minutes must be more than 0 and at most {MAX_TEST_MINUTES}")
        running = self.under_test(zone, now)
        if running is not None:
            raise WalkTestConflict(f"{zone} is already under test ({running})")
        test = _Test(walk_test_id(self._next), zone, now, now + minutes * 60.0, by)
        self._next += 1
        self._tests[test.id] = test
        return [WalkTestChanged(now, self._view(test), WalkTestChange.OPENED)]

    def cross(self, test_id: str, mode: CrossingMode, by: str, now: float) -> list[WalkTestChanged]:
        test = self._running(test_id, now)
        crossing = _Crossing(len(test.crossings) + 1, now, mode, by)
        test.crossings.append(crossing)
        self._pending.append((test, crossing))
        return [self._changed(now, test, WalkTestChange.CROSSING, crossing)]

    def close(self, test_id: str, by: str, now: float) -> list[WalkTestChanged]:
        test = self._running(test_id, now)
        test.closed_t = now
        test.closed_by = by
        out = [self._changed(now, test, WalkTestChange.CLOSED)]
        self._forget_if_done(test)
        return out

    def _running(self, test_id: str, now: float) -> _Test:
        test = self._tests.get(test_id)
        if test is None:
            raise UnknownWalkTest(test_id)
        if not test.running(now):
            raise WalkTestConflict(f"{test_id} has ended ({self._view(test).state_at(now)})")
        return test

    # -- what the engine tells it ---------------------------------------------------

    def under_test(self, zone: str, now: float) -> str | None:
        """The test running on ``zone`` at ``now``, if any: incidents opened there are
        tests."""
        for test in self._tests.values():
            if test.zone == zone and test.running(now):
                return test.id
        return None

    def observe(self, zone: str, modality: Modality, now: float) -> list[WalkTestChanged]:
        """An alarm (or a camera ``person``) of ``modality`` from ``zone`` received at
        ``now``: it detects every crossing of that zone of the last 10 s."""
        out: list[WalkTestChanged] = []
        for test, crossing in self._pending:
            if (
                test.zone == zone
                and crossing.t <= now <= crossing.t + DETECTION_WINDOW_S
                and modality not in crossing.detected
            ):
                crossing.detected.add(modality)
                out.append(self._changed(now, test, WalkTestChange.DETECTION, crossing))
        return out

    def advance(self, now: float) -> list[WalkTestChanged]:
        """Settle the crossings whose 10 s have passed and expire the tests whose minutes
        ran out, in the order they came due."""
        due: list[tuple[float, int, WalkTestChanged]] = []
        while self._pending and self._pending[0][1].t + DETECTION_WINDOW_S < now:
            test, crossing = self._pending.popleft()
            settled = self._changed(now, test, WalkTestChange.SETTLED, crossing)
            due.append((crossing.t + DETECTION_WINDOW_S, len(due), settled))
            self._forget_if_done(test)
        for test in list(self._tests.values()):
            if test.closed_t is None and not test.expired and test.until_t <= now:
                test.expired = True
                due.append(
                    (test.until_t, len(due), self._changed(now, test, WalkTestChange.EXPIRED))
                )
                self._forget_if_done(test)
        return [c for _, _, c in sorted(due, key=lambda d: (d[0], d[1]))]

    def maybe_due(self, now: float) -> bool:
        """Whether :meth:`advance` may have something to do at ``now``: free while no test
        is in the book, which is nearly always."""
        if not self._tests:
            return False
        due = self.next_deadline()
        return due is not None and due <= now

    def next_deadline(self) -> float | None:
        """When :meth:`advance` has something to do next: just after the oldest pending
        crossing's window (its last instant still counts), or a test's end."""
        deadlines = [
            t.until_t for t in self._tests.values() if t.closed_t is None and not t.expired
        ]
        if self._pending:
            window_end = self._pending[0][1].t + DETECTION_WINDOW_S
            deadlines.append(math.nextafter(window_end, math.inf))
        return min(deadlines) if deadlines else None

    def views(self) -> list[WalkTestView]:
        """The tests in the book, in the order they opened."""
        return [self._view(t) for t in self._tests.values()]

    # -- helpers ------------------------------------------------------------------------

    def _forget_if_done(self, test: _Test) -> None:
        ended = test.closed_t is not None or test.expired
        if ended and not any(t is test for t, _ in self._pending):
            self._tests.pop(test.id, None)

    def _changed(
        self, now: float, test: _Test, change: WalkTestChange, crossing: _Crossing | None = None
    ) -> WalkTestChanged:
        view = self._view(test)
        seen = view.crossings[crossing.number - 1] if crossing is not None else None
        return WalkTestChanged(now, view, change, seen)

    def _view(self, test: _Test) -> WalkTestView:
        return WalkTestView(
            id=test.id,
            zone=test.zone,
            opened_t=test.opened_t,
            until_t=test.until_t,
            closed_t=test.closed_t,
            opened_by=test.opened_by,
            closed_by=test.closed_by,
            modalities=self._modalities.get(test.zone, ()),
            crossings=tuple(crossing_view(test.id, c) for c in test.crossings),
        )


def crossing_view(test_id: str, c: _Crossing) -> CrossingView:
    return CrossingView(test_id, c.number, c.t, c.mode, c.by, tuple(sorted(c.detected)))
