"""``vigie simulate month``: fill a store with a realistic month of operations.

The month's plan (:mod:`simulators.month_plan`) is played on a virtual clock through
the same processing step as the live service (:class:`fusion.intake.Intake`: parser,
duplicate filter, engine) and written by the same store (:class:`vigie.store.Store`):
messages in batches, the heartbeat deadlines as the service's deadline task writes
them, acknowledgements and resolutions as operators' decisions with their audit
entries, walk tests opened, crossed and closed through the engine's book. Floodlights
that the engine switches on report it, and go off a quarter of an hour later. So the
store looks exactly like one a live service filled, and the reports read it as such.
"""

from __future__ import annotations

import heapq
import itertools
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo

import orjson

from fusion.changes import Change, FloodlightCommanded, IncidentOpened
from fusion.correlator import Correlator, UnknownIncident
from fusion.incidents import IllegalTransition
from fusion.intake import Intake
from fusion.site import Site
from fusion.topics import device_topic
from fusion.walktests import UnknownWalkTest, WalkTestConflict
from simulators.month_draw import plan_month
from simulators.month_plan import (
    INSPECTOR,
    OPERATORS,
    Happening,
    Inspection,
    MonthPlan,
    Sent,
    Story,
)
from vigie.store import AuditEntry, Batch, Received, Store

log = logging.getLogger("vigie.simulate.month")

BATCH: Final = 500
"""Messages per store transaction, as the service's ingest batches at most."""

FLOODLIGHT_ON_S: Final = 900.0
"""A floodlight switched on for an incident is switched off by hand this much later."""


class MonthRefused(ValueError):
    """The month cannot be simulated into this store (bad month, the store already holds
    that time)."""


@dataclass(slots=True)
class MonthSummary:
    messages: int = 0
    incidents: int = 0
    decisions: int = 0
    walk_tests: int = 0
    crossings: int = 0
    by_cause: dict[str, int] = field(default_factory=dict)

    def line(self) -> str:
        causes = ", ".join(f"{n} {c}" for c, n in sorted(self.by_cause.items()))
        return (
            f"{self.messages} messages, {self.incidents} incidents ({causes}), "
            f"{self.decisions} decisions, {self.walk_tests} walk tests of "
            f"{self.crossings} crossings"
        )


@dataclass(frozen=True, slots=True)
class _Decision:
    t: float
    incident: str
    action: str
    story: Story


def month_bounds(month: str, timezone: str | None, now: float) -> tuple[float, float]:
    """Local midnight on the 1st to local midnight on the next 1st, cut at ``now``."""
    try:
        first = datetime.strptime(month, "%Y-%m")
    except ValueError as exc:
        raise MonthRefused(f"--month must be YYYY-MM, got {month!r}") from exc
    tz = ZoneInfo(timezone or "UTC")
    following = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    start = first.replace(tzinfo=tz).timestamp()
    end = following.replace(tzinfo=tz).timestamp()
    if start >= now:
        raise MonthRefused(f"{month} has not begun yet")
    return start, min(end, now)


def simulate_month(
    site: Site,
    store: Store,
    month: str,
    *,
    seed: int,
    now: float,
    sparse_heartbeats: bool = False,
    progress: Callable[[str], None] = log.info,
) -> MonthSummary:
    """Play a month at ``site`` into ``store``; refuses a store that already holds data
    from the month's start on (the clock never runs back)."""
    start, end = month_bounds(month, site.timezone, now)
    restored = store.restore(start, site.fusion.dedup_horizon_s)
    latest = max(restored.last_seen.values(), default=0.0)
    newest = store.incidents(limit=1)
    if newest:
        latest = max(latest, newest[0].view.opened_t)
    if latest >= start:
        raise MonthRefused(f"the store already holds data from {month} or later")
    engine = Correlator(site, start=start, state=restored.state)
    intake = Intake(site, engine, start=start, seen=restored.seen)
    plan = plan_month(site, start, end, seed, sparse_heartbeats=sparse_heartbeats)
    run = _MonthRun(site, store, intake, plan, progress)
    run.play()
    return run.summary


class _MonthRun:
    def __init__(
        self,
        site: Site,
        store: Store,
        intake: Intake,
        plan: MonthPlan,
        progress: Callable[[str], None],
    ) -> None:
        self.site = site
        self.store = store
        self.intake = intake
        self.engine: Correlator = intake.engine
        self.plan = plan
        self.progress = progress
        self.summary = MonthSummary()
        self.batch = Batch()
        self.later: list[tuple[float, int, Happening | _Decision]] = []
        self.order = itertools.count()
        self.counters: dict[str, int] = {}
        self.tests: dict[int, str] = {}
        month = datetime.fromtimestamp(plan.start, ZoneInfo(site.timezone or "UTC"))
        self.tag = f"{month:%Y%m}s{plan.seed}"
        """In every message id: a device's ids never repeat from one simulated month (or
        seed) to the next, as a real device's do not across reboots."""

    def play(self) -> None:
        planned = self.plan.stream()
        upcoming = next(planned, None)
        next_day = self.plan.start + 86400.0
        while upcoming is not None or self.later:
            if self.later and (upcoming is None or self.later[0][0] < upcoming.t):
                _, _, item = heapq.heappop(self.later)
            else:
                assert upcoming is not None
                item, upcoming = upcoming, next(planned, None)
            if item.t >= self.plan.end:
                continue
            if item.t >= next_day:
                self.progress(
                    f"day {int((item.t - self.plan.start) // 86400)}: {self.summary.line()}"
                )
                next_day += 86400.0
            self.deadlines(item.t)
            if isinstance(item, Sent):
                self.send(item)
            elif isinstance(item, Inspection):
                self.inspect(item)
            else:
                self.decide(item)
        self.deadlines(self.plan.end)
        self.flush()

    # -- the service's paths -----------------------------------------------------------

    def deadlines(self, t: float) -> None:
        """What the service's deadline task does: each deadline at its instant, committed
        on its own."""
        while (due := self.engine.next_deadline()) is not None and due <= t:
            changes = self.intake.tick(due)
            if changes:
                self.flush()
                self.store.save_batch(
                    Batch(
                        changes=changes,
                        next_incident=self.engine.next_incident_number,
                        next_fault=self.engine.next_fault_number,
                    )
                )
                self.react(changes, None)

    def send(self, sent: Sent) -> None:
        if self.plan.silent(sent.device, sent.t):
            return
        n = self.counters[sent.device] = self.counters.get(sent.device, 0) + 1
        body = {"id": f"{sent.device}-{self.tag}-{n:07d}", **sent.body}
        topic = device_topic(self.site, sent.kind, sent.device)
        payload = orjson.dumps(body)
        done = self.intake.receive(topic, payload, sent.t)
        self.batch.received.append(Received(done.t, topic, payload, processed=done))
        self.summary.messages += 1
        self.react(done.changes, sent.story)
        if len(self.batch.received) >= BATCH:
            self.flush()

    def flush(self) -> None:
        if self.batch.received or self.batch.changes:
            self.batch.next_incident = self.engine.next_incident_number
            self.batch.next_fault = self.engine.next_fault_number
            self.store.save_batch(self.batch)
            self.batch = Batch()

    def react(self, changes: list[Change], story: Story | None) -> None:
        for c in changes:
            if isinstance(c, IncidentOpened):
                self.summary.incidents += 1
                cause = story.cause if story else "unplanned"
                self.summary.by_cause[cause] = self.summary.by_cause.get(cause, 0) + 1
                if story is not None:
                    self.schedule_decisions(c, story)
            elif isinstance(c, FloodlightCommanded):
                self.later_do(Sent(c.t + 1.0, c.floodlight, "floodlight", _state(True)))
                off = Sent(c.t + FLOODLIGHT_ON_S, c.floodlight, "floodlight", _state(False))
                self.later_do(off)

    def schedule_decisions(self, opened: IncidentOpened, story: Story) -> None:
        incident = opened.incident.id
        if story.ack_after_s is not None:
            self.later_do(_Decision(opened.t + story.ack_after_s, incident, "ack", story))
        self.later_do(_Decision(opened.t + story.resolve_after_s, incident, "resolve", story))

    def later_do(self, item: Happening | _Decision) -> None:
        heapq.heappush(self.later, (item.t, next(self.order), item))

    def decide(self, d: _Decision) -> None:
        """An operator's acknowledgement or resolution, as the service commits it."""
        self.flush()
        now = self.intake.now(d.t)
        who = _operator(self.site, now)
        story = d.story
        try:
            if d.action == "ack":
                changes = self.engine.acknowledge(d.incident, now, who, story.comment)
            else:
                changes = self.engine.resolve(
                    d.incident, now, who, story.outcome, story.comment, disruption=story.disruption
                )
        except (UnknownIncident, IllegalTransition):
            return  # already closed
        outcome = story.outcome.value if d.action == "resolve" else None
        disruption = story.disruption.value if d.action == "resolve" and story.disruption else None
        entry = AuditEntry(d.incident, now, who, d.action, story.comment, None, outcome, disruption)
        self.store.save_decision(changes, entry)
        self.summary.decisions += 1

    def inspect(self, i: Inspection) -> None:
        """An inspector's request, as the service's walk-test desk carries it."""
        self.flush()
        now = self.intake.now(i.t)
        book = self.engine.walk_tests
        try:
            if i.action == "open":
                changes = list(book.open(i.zone, i.minutes, INSPECTOR, now))
                self.tests[i.ref] = changes[0].test.id
                self.summary.walk_tests += 1
            elif i.action == "cross" and i.mode is not None:
                changes = list(book.cross(self.tests[i.ref], i.mode, INSPECTOR, now))
                self.summary.crossings += 1
            else:
                changes = list(book.close(self.tests[i.ref], INSPECTOR, now))
        except (KeyError, UnknownWalkTest, WalkTestConflict):
            return  # a test that could not open (its zone was under test) or had ended
        self.store.save_changes(changes, f"{i.action} a walk test")


def _state(on: bool) -> dict[str, object]:
    return {"event": "state", "data": {"on": on}}


def _operator(site: Site, t: float) -> str:
    """Who is on shift at ``t`` (site time): 06-14, 14-22, the night."""
    hour = datetime.fromtimestamp(t, ZoneInfo(site.timezone or "UTC")).hour
    return OPERATORS[0] if 6 <= hour < 14 else OPERATORS[1] if 14 <= hour < 22 else OPERATORS[2]
