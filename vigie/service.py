"""``vigie serve``: the live service. Wires the MQTT link, the processing step on the wall
clock, the store, the websocket hub and the command publisher, under one supervisor.

The ingest path is :mod:`vigie.ingest`. Every change to the engine (a batch of
messages, heartbeat deadlines, an operator's decision) happens under one lock together
with its commit, so the store sees changes in the order the engine made them.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Final, ParamSpec, TypeVar

from adapters.mqtt import MqttLink
from adapters.video.live import Fanout
from dashboard.api import StoreBusy
from dashboard.desks import Visible, incident_for, picture_for
from dashboard.hub import Hub
from dashboard.picture import tactical_picture
from fusion.changes import Change, IncidentResolved
from fusion.correlator import Correlator, UnknownIncident
from fusion.incidents import Disruption, IllegalTransition, IncidentState, Outcome
from fusion.intake import Intake
from fusion.site import Site
from fusion.topics import presence_topic, still_subscription, subscription
from fusion.wire import (
    changes_json,
    fault_json,
    incident_detail_json,
    incident_json,
    stored_incident_json,
)
from vigie.camera_process import camera_worker
from vigie.commits import CommitPipeline
from vigie.config import ServiceConfig
from vigie.ingest import CommandPublisher, Ingest
from vigie.intel_desk import IntelDesk
from vigie.metrics import Metrics
from vigie.reporting import ReportDesk
from vigie.site_link import SiteLink
from vigie.store import (
    AuditEntry,
    Batch,
    DeadLetter,
    Store,
    StoreError,
)
from vigie.store.sessions import StoredSessions
from vigie.supervisor import TaskBoard, supervise
from vigie.video import CameraVideo
from vigie.walk_tests import WalkTestDesk

log = logging.getLogger("vigie.service")

P = ParamSpec("P")
R = TypeVar("R")

IDLE_WAKE_S: Final = 3600.0

DECISION_WAIT_S: Final = 10.0
"""How long an operator's acknowledgement waits for the store (busy with a batch, or
retrying after an outage) before it is answered 503: better a clear "try again" than a
request hanging while the operator wonders whether it counted."""


class IncidentClosed(IllegalTransition):
    """The incident exists but is already resolved."""


class Service:
    """One site's live fusion service; :meth:`running` is the app's lifespan."""

    def __init__(self, config: ServiceConfig, clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.site: Site = config.site
        self.metrics = Metrics()
        self.hub = Hub(self.picture, self.metrics.latency, self.intel_visible)
        self.tasks = TaskBoard()
        self._clock = clock
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vigie-store")
        self._lock = asyncio.Lock()
        self._store: Store | None = None
        self.sessions = StoredSessions(self._db, lambda: self.store.url)
        self._intake: Intake | None = None
        self._ingest: Ingest | None = None
        self._pipeline = CommitPipeline(self._pool)
        self._link: MqttLink | None = None
        self._video: CameraVideo | None = None
        self._wake_deadlines = asyncio.Event()
        self.walk_tests = WalkTestDesk(
            self.site,
            change=self.engine_change,
            db=self._db,
            engine=lambda: self.engine,
            store=lambda: self.store,
            clock=clock,
        )
        self.reports = ReportDesk(config.db_url, self.site)
        self.intel = IntelDesk(
            self.site,
            turn=self._engine_turn,
            intake=lambda: self.intake,
            ingest=lambda: self._ingest,
            hub=self.hub,
            on_disk=self._on_disk_in_time,
            clock=clock,
        )

    # -- lifecycle ------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Open the store, restore the engine, connect, and run every task until exit."""
        store = await self._db(Store, self.config.db_url)
        self._store = store
        now = self._clock()
        restored = await self._db(store.restore, now, self.site.fusion.dedup_horizon_s)
        engine = Correlator(self.site, start=now, state=restored.state)
        self._intake = Intake(self.site, engine, start=now, seen=restored.seen)
        m = self.metrics
        m.accepted.inc(restored.accepted)
        m.rejected_all.inc(restored.rejected)
        m.duplicates.inc(restored.duplicates)
        m.id_reuses.inc(restored.id_reuses)
        m.dead_letters.inc(restored.dead_letters)
        log.info(
            "store %s (schema v%d): %d open incidents, %d open faults restored",
            store.url.split("@")[-1],
            store.schema_version,
            len(restored.state.incidents),
            len(restored.state.open_faults),
        )
        link = MqttLink(
            self.config.broker,
            self.config.client_id,
            [subscription(self.site), still_subscription(self.site)],
            presence=presence_topic(self.site, "service", self.config.client_id),
        )
        self._link = link
        pipeline = self._pipeline
        ingest = Ingest(
            site=self.site,
            intake=self._intake,
            store=store,
            pipeline=pipeline,
            link=link,
            hub=self.hub,
            metrics=m,
            lock=self._lock,
        )
        ingest.last_seen.update(restored.last_seen)
        ingest.subscribers.append(CommandPublisher(self.site, link, m))
        # A batch may bring a deadline nearer (a device heard again after a loss, an
        # intelligence window): the deadline task recomputes its sleep after each.
        ingest.subscribers.append(lambda changes: self._wake_deadlines.set())
        centre = self._centre_link(store)
        ingest.subscribers.append(centre.committed)
        self._ingest = ingest
        video = self._video = CameraVideo(
            self.site, self.config.video, store=store, db=self._db, hub=self.hub,
            registry=m.registry, clock=self._clock,
        )  # fmt: skip
        ingest.subscribers.append(video)  # evidence clips for camera events
        self._bind_live_metrics(link)
        try:
            async with link, centre, asyncio.TaskGroup() as tasks:
                jobs = [
                    tasks.create_task(self._supervised("ingest", ingest.run)),
                    tasks.create_task(self._supervised("commits", pipeline.run)),
                    tasks.create_task(self._supervised("deadlines", self._deadlines)),
                    tasks.create_task(self._supervised("hub", self.hub.run)),
                    tasks.create_task(self._supervised("centre link", centre.run)),
                ]
                if self.config.run_cameras and self.config.site_path:
                    jobs += [
                        tasks.create_task(
                            self._supervised(
                                f"camera {c.id}",
                                functools.partial(
                                    camera_worker,
                                    self.config.site_path,
                                    c.id,
                                    str(self.config.broker),
                                    video,
                                ),
                                vital=False,
                            )
                        )
                        for c in self.site.cameras
                    ]
                jobs += [
                    tasks.create_task(self._supervised(name, run, vital=False))
                    for name, run in video.jobs()
                ]
                try:
                    yield
                finally:
                    for job in jobs:
                        job.cancel()
        finally:
            await video.close()
            self.reports.close()
            await self._db(self.sessions.close)
            await self._db(store.close)
            self._pool.shutdown(wait=True)

    def _centre_link(self, store: Store) -> SiteLink:
        """The feed to joint centres and their requests (docs/centre.md)."""
        return SiteLink(
            site=self.site,
            broker=self.config.broker,
            client_id=f"{self.config.client_id}-centre",
            room=self,
            store=store,
            db=self._db,
            pipeline=self._pipeline,
            lock=self._lock,
            registry=self.metrics.registry,
            clock=self._clock,
        )

    def _supervised(self, name: str, run: Callable[[], Any], vital: bool = True) -> Any:
        def failed(task: str, exc: BaseException) -> None:
            self.metrics.task_failures.labels(task).inc()
            if isinstance(exc, StoreError):
                self.metrics.store_errors.inc()

        return supervise(name, run, on_failure=failed, board=self.tasks if vital else None)

    def _bind_live_metrics(self, link: MqttLink) -> None:
        m = self.metrics
        m.queue_depth.set_function(lambda: link.depth)
        m.queue_capacity.set(link.capacity)
        m.backpressure.set_function(lambda: link.backpressure_waits)
        m.mqtt_connected.set_function(lambda: 1 if link.connected else 0)
        m.publish_errors.set_function(lambda: link.publish_errors)
        m.ws_clients.set_function(lambda: self.hub.clients)
        m.ws_slow_closed.set_function(lambda: self.hub.slow_closed)
        m.ws_dropped_changes.set_function(lambda: self.hub.dropped_changes)

    async def _db(self, fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        """Run a store call on the store's own thread, in submission order."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, lambda: fn(*args, **kwargs))

    @property
    def metrics_registry(self) -> Any:
        """The registry, with the figures that are counted at scrape time refreshed."""
        by_priority = dict.fromkeys(range(1, 6), 0)
        if self._intake is not None:
            for incident in self._intake.engine.incidents():
                by_priority[incident.priority] += 1
        for priority, count in by_priority.items():
            self.metrics.open_incidents.labels(str(priority)).set(count)
        return self.metrics.registry

    @property
    def intake(self) -> Intake:
        if self._intake is None:
            raise RuntimeError("the service is not running")
        return self._intake

    @property
    def engine(self) -> Correlator:
        return self.intake.engine

    @property
    def store(self) -> Store:
        if self._store is None:
            raise RuntimeError("the service is not running")
        return self._store

    # -- heartbeat deadlines and camera workers ----------------------------------------

    async def _deadlines(self) -> None:
        """Raise ``heartbeat_lost`` at the instant it is due, without polling."""
        ingest = self._ingest
        assert ingest is not None
        while True:
            deadline = self.engine.next_deadline()
            delay = IDLE_WAKE_S if deadline is None else max(0.0, deadline - self._clock())
            self._wake_deadlines.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake_deadlines.wait(), timeout=delay)
            async with self._lock:
                changes = self.intake.tick(self._clock())
                if not changes:
                    continue
                batch = Batch(
                    changes=changes,
                    next_incident=self.engine.next_incident_number,
                    next_fault=self.engine.next_fault_number,
                )
                self.hub.publish(changes_json(changes), [])
                await ingest.commit(batch)

    # -- operators ---------------------------------------------------------------------

    async def acknowledge(
        self, incident: str, who: str, comment: str, address: str | None
    ) -> dict[str, Any]:
        return await self._decide(
            incident, who=who, action="ack", outcome=None, comment=comment, address=address
        )

    async def resolve(
        self,
        incident: str,
        who: str,
        outcome: Outcome,
        comment: str,
        address: str | None,
        *,
        disruption: Disruption | None = None,
    ) -> dict[str, Any]:
        return await self._decide(
            incident,
            who=who,
            action="resolve",
            outcome=outcome,
            comment=comment,
            address=address,
            disruption=disruption,
        )

    async def _decide(
        self,
        incident: str,
        *,
        who: str,
        action: str,
        outcome: Outcome | None,
        comment: str,
        address: str | None,
        disruption: Disruption | None = None,
    ) -> dict[str, Any]:
        async with self._engine_turn():
            now = self.intake.now(self._clock())
            try:
                if outcome is None:
                    changes = self.engine.acknowledge(incident, now, who, comment)
                else:
                    changes = self.engine.resolve(
                        incident, now, who, outcome, comment, disruption=disruption
                    )
            except UnknownIncident:
                stored = await self._db(self.store.incident, incident)
                if stored is None:
                    raise
                raise IncidentClosed(f"{incident} is already {stored[0].view.state}") from None
            resolved = changes[0]
            kept = resolved.disruption if isinstance(resolved, IncidentResolved) else None
            entry = AuditEntry(
                incident,
                now,
                who,
                action,
                comment,
                address,
                outcome.value if outcome else None,
                kept.value if kept else None,
            )
            written = await self._persist(self.store.save_decision, changes, entry)
        await self._on_disk_in_time(written, f"the {action} of {incident}")  # before the 2xx
        view = changes[0].incident  # type: ignore[union-attr]
        return incident_json(view)

    @contextlib.asynccontextmanager
    async def _engine_turn(self) -> AsyncIterator[None]:
        """The engine's lock for a person's change (a decision, a walk-test step, an
        analyst's item): waited for at most DECISION_WAIT_S, then answered 503."""
        try:
            await asyncio.wait_for(self._lock.acquire(), DECISION_WAIT_S)
        except TimeoutError:
            raise StoreBusy("the store is busy or unavailable; try again") from None
        try:
            yield
        finally:
            self._lock.release()

    async def _persist(
        self, save: Callable[..., None], changes: list[Change], *args: Any
    ) -> asyncio.Future[None]:
        """Hand a person's change to the store, in order (call under the lock): written
        whatever it takes (retried while the store is unreachable), then shown."""
        ingest = self._ingest
        assert ingest is not None
        return await self._pipeline.submit(
            ingest.committer.persist,
            save,
            changes,
            *args,
            then=functools.partial(self._on_disk, changes),
        )

    async def _on_disk_in_time(self, written: asyncio.Future[None], what: str) -> None:
        """Wait for a person's change to be on disk. Should the store be unreachable for
        longer than the person can be kept waiting, the answer is 503, saying that the
        change stands and will be written (and shown) once the store is back."""
        try:
            await asyncio.wait_for(asyncio.shield(written), DECISION_WAIT_S)
        except TimeoutError:
            raise StoreBusy(
                f"the store is unavailable: {what} stands and is written, and shown, as soon"
                " as the store is back"
            ) from None

    def _on_disk(self, changes: list[Change]) -> None:
        """A person's change is on disk: to the screen, and to the subscribers of
        committed changes (the joint centre's feed, vigie/site_link.py)."""
        self.hub.publish(changes_json(changes), [])
        if self._ingest is not None:
            self._ingest.notify(changes)

    async def engine_change(
        self, change: Callable[[float], Sequence[Change]], what: str
    ) -> list[Change]:
        """A person's change to the engine other than a decision on an incident (a walk
        test opened, crossed, closed), at the engine's time, committed before it returns
        and then shown; the deadlines are looked at again (a crossing's 10 s)."""
        async with self._engine_turn():
            changes = list(change(self.intake.now(self._clock())))
            written = await self._persist(self.store.save_changes, changes, what)
        await self._on_disk_in_time(written, what)  # before the answer
        self._wake_deadlines.set()
        return changes

    # -- intelligence (docs/protocol.md §9) ------------------------------------------------

    def intel_visible(self, desk: str | None) -> Visible:
        """Which items a user of ``desk`` may see (an item naming desks: those only)."""
        book = self._intake.engine.intel if self._intake is not None else None

        def visible(item_id: str) -> bool:
            item = book.get(item_id) if book is not None else None
            return item is not None and item.visible_to(desk)

        return visible

    # -- views ---------------------------------------------------------------------------

    def picture(self, desk: str | None = None) -> dict[str, Any]:
        return picture_for(self.whole_picture(), desk, self.intel_visible(desk))

    def whole_picture(self) -> dict[str, Any]:
        """The picture with every intelligence item: a joint centre's snapshot, which the
        centre filters for each of its desks (docs/centre.md)."""
        last_seen = self._ingest.last_seen if self._ingest is not None else {}
        picture = tactical_picture(self.site, self.engine, last_seen, self._clock())
        return self._video.annotate(picture) if self._video is not None else picture

    # -- video (vigie/video.py, docs/video.md) -------------------------------------------

    def live_feed(self, camera: str) -> Fanout | None:
        return self._video.fanout(camera) if self._video is not None else None

    async def clip_file(self, seq: int) -> Path | None:
        if self._video is None:
            return None
        name = await self._db(self.store.clip_name, seq)
        return self._video.clip_path(name) if name is not None else None

    async def incidents(
        self,
        state: IncidentState | None,
        desk: str | None = None,
        opened: tuple[float | None, float | None] = (None, None),
        limit: int = 500,
    ) -> list[dict[str, Any]]:
        records = await self._db(
            self.store.incidents, state.value if state else None, limit, opened
        )
        visible = self.intel_visible(desk)
        return [incident_for(stored_incident_json(r), visible) for r in records]

    async def faults(self, span: tuple[float, float]) -> list[dict[str, Any]]:
        return [fault_json(f) for f in await self._db(self.store.faults, span)]

    async def incident(self, incident_id: str, desk: str | None = None) -> dict[str, Any] | None:
        found = await self._db(self.store.incident, incident_id)
        if found is None:
            return None
        return incident_for(incident_detail_json(*found), self.intel_visible(desk))

    async def evidence(self, seq: int) -> bytes | None:
        return await self._db(self.store.evidence_jpeg, seq)

    async def dead_letters(self) -> list[DeadLetter]:
        return await self._db(self.store.dead_letters)

    async def health(self) -> dict[str, Any]:
        link = self._link
        broker_ok = link is not None and link.connected
        try:
            await asyncio.wait_for(self._db(self.store.ping), timeout=2.0)
            store_ok = self._ingest is None or self._ingest.store_ok
        except (StoreError, RuntimeError, TimeoutError) as exc:
            log.warning("store health check failed: %s", exc)
            store_ok = False
        down = self.tasks.down()
        healthy = broker_ok and store_ok and not down
        return {
            "status": "ok" if healthy else "degraded",
            "broker": broker_ok,
            "store": store_ok,
            "tasks": {name: "restarting" if name in down else "running" for name in self.tasks},
            "queue_depth": link.depth if link else 0,
        }
