"""``vigie serve``: the live service. Wires the MQTT link, the pure engine on the wall
clock, the store, the websocket hub and the command publisher.

Ingest path, per batch of messages taken from the MQTT hand-off:
parse -> engine -> hub (the screen) -> one store transaction -> PUBACK to the broker
-> floodlight commands.
A message is acknowledged only once it is committed, so a crash loses nothing
(the broker delivers it again) and doubles nothing (its (device, id) is in the
store, and the restored duplicate filter recognises it).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import sys
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Final, ParamSpec, TypeVar

import orjson

from adapters.mqtt import Broker, MqttLink, RawMessage
from dashboard.hub import Hub
from dashboard.picture import tactical_picture
from dashboard.sessions import SessionRecord
from dashboard.wire import change_json, incident_json
from fusion.changes import Change, FloodlightCommanded
from fusion.correlator import Correlator, UnknownIncident
from fusion.events import Rejection
from fusion.incidents import IllegalTransition, IncidentState, Outcome
from fusion.parser import MessageParser
from fusion.site import Site
from fusion.topics import command_topic, still_of, still_subscription, subscription
from vigie.metrics import Metrics
from vigie.store import AuditEntry, Batch, Store, StoreError
from vigie.store.sessions import SessionTable
from vigie.supervisor import supervise

log = logging.getLogger("vigie.service")

P = ParamSpec("P")
R = TypeVar("R")

BATCH_LIMIT: Final = 500
"""Messages per store transaction: large enough to amortise a commit, small enough
that a batch is a few milliseconds of work."""

IDLE_WAKE_S: Final = 3600.0


class IncidentClosed(IllegalTransition):
    """The incident exists but is already resolved."""


@dataclass(frozen=True, slots=True)
class ServiceConfig:
    site: Site
    broker: Broker
    db_url: str
    client_id: str
    run_cameras: bool = True
    site_path: str | None = None


class Service:
    """One site's live fusion service; :meth:`running` is the app's lifespan."""

    def __init__(self, config: ServiceConfig, clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.site = config.site
        self.metrics = Metrics()
        self.hub = Hub(self.picture, self.metrics.latency)
        self._clock = clock
        self._parser = MessageParser(config.site)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vigie-store")
        self._store: Store | None = None
        self._sessions: SessionTable | None = None
        self._engine: Correlator | None = None
        self._link: MqttLink | None = None
        self._last_seen: dict[str, float] = {}
        self._floor = 0.0
        self._wake_deadlines = asyncio.Event()

    # -- lifecycle ------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Open the store, restore the engine, connect, and run every task until exit."""
        store = await self._db(Store, self.config.db_url)
        self._store = store
        now = self._now()
        restored = await self._db(store.restore, now, self.site.fusion.dedup_horizon_s)
        self._engine = Correlator(self.site, start=now, state=restored.state)
        self._last_seen = dict(restored.last_seen)
        self.metrics.accepted.inc(restored.accepted)
        self.metrics.rejected_all.inc(restored.rejected)
        self.metrics.duplicates.inc(restored.duplicates)
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
        )
        self._link = link
        self._bind_live_metrics(link)
        try:
            async with link, asyncio.TaskGroup() as tasks:
                jobs = [
                    tasks.create_task(self._supervised("ingest", self._ingest)),
                    tasks.create_task(self._supervised("deadlines", self._deadlines)),
                    tasks.create_task(self._supervised("hub", self.hub.run)),
                ]
                if self.config.run_cameras and self.config.site_path:
                    jobs += [
                        tasks.create_task(
                            self._supervised(
                                f"camera {c.id}", functools.partial(self._camera_worker, c.id)
                            )
                        )
                        for c in self.site.cameras
                    ]
                try:
                    yield
                finally:
                    for job in jobs:
                        job.cancel()
        finally:
            await self._db(self._close_sessions)
            await self._db(store.close)
            self._pool.shutdown(wait=True)

    def _supervised(self, name: str, run: Callable[[], Any]) -> Any:
        def failed(task: str, exc: BaseException) -> None:
            self.metrics.task_failures.labels(task).inc()
            if isinstance(exc, StoreError):
                self.metrics.store_errors.inc()

        return supervise(name, run, on_failure=failed)

    def _bind_live_metrics(self, link: MqttLink) -> None:
        m = self.metrics
        m.queue_depth.set_function(lambda: link.depth)
        m.queue_capacity.set(link._capacity)
        m.backpressure.set_function(lambda: link.backpressure_waits)
        m.mqtt_connected.set_function(lambda: 1 if link.connected else 0)
        m.ws_clients.set_function(lambda: self.hub.clients)
        m.ws_slow_closed.set_function(lambda: self.hub.slow_closed)

    async def _db(self, fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        """Run a store call on the store's own thread, in submission order."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, lambda: fn(*args, **kwargs))

    def _now(self) -> float:
        """The wall clock, never running back (the engine's time only moves forward)."""
        self._floor = max(self._floor, self._clock())
        return self._floor

    @property
    def metrics_registry(self) -> Any:
        """The registry, with the figures that are counted at scrape time refreshed."""
        by_priority = dict.fromkeys(range(1, 6), 0)
        if self._engine is not None:
            for incident in self._engine.incidents():
                by_priority[incident.priority] += 1
        for priority, count in by_priority.items():
            self.metrics.open_incidents.labels(str(priority)).set(count)
        return self.metrics.registry

    @property
    def engine(self) -> Correlator:
        if self._engine is None:
            raise RuntimeError("the service is not running")
        return self._engine

    @property
    def store(self) -> Store:
        if self._store is None:
            raise RuntimeError("the service is not running")
        return self._store

    # -- ingest -----------------------------------------------------------------------

    async def _ingest(self) -> None:
        link = self._link
        assert link is not None
        while True:
            messages = await link.batch(BATCH_LIMIT)
            batch = self._apply(messages)
            # The screen may run ahead of the disk: should the service die before the
            # commit, the unacknowledged messages come back and the restored engine makes
            # the same decisions again. The broker's PUBACK and the floodlights wait.
            self._show(batch.changes, [m.received for m in messages])
            await self._db(self.store.save_batch, batch)
            link.ack(messages)
            self._command(batch.changes)
            self._wake_deadlines.set()

    def _apply(self, messages: list[RawMessage]) -> Batch:
        engine = self.engine
        batch = Batch()
        m = self.metrics
        for raw in messages:
            m.received.inc()
            now = max(self._floor, raw.received)
            self._floor = now
            still = still_of(self.site, raw.topic)
            if still is not None:
                batch.stills.append((still[0], now, still[1], raw.payload))
                continue
            parsed = self._parser.parse(raw.topic, raw.payload)
            if isinstance(parsed, Rejection):
                log.warning(parsed.log_line())
                m.rejected.labels(parsed.reason.value).inc()
                m.rejected_all.inc()
                batch.rejected.append((now, parsed))
                batch.changes.extend(engine.advance(now))
                continue
            changes, duplicate = engine.ingest(parsed, now)
            batch.changes.extend(changes)
            if duplicate:
                m.duplicates.inc()
                batch.duplicates += 1
            else:
                m.accepted.inc()
                self._last_seen[parsed.sensor] = now
                batch.accepted.append((now, raw.payload, parsed))
        batch.next_incident = engine.next_incident_number
        batch.next_fault = engine.next_fault_number
        return batch

    def _after_commit(self, changes: list[Change], received: list[float]) -> None:
        self._show(changes, received)
        self._command(changes)

    def _show(self, changes: list[Change], received: list[float]) -> None:
        wire = [w for w in (change_json(c) for c in changes) if w is not None]
        self.hub.publish(wire, received)

    def _command(self, changes: list[Change]) -> None:
        """Floodlight commands, only for changes that are on disk."""
        link = self._link
        for c in changes:
            if isinstance(c, FloodlightCommanded) and link is not None:
                payload = orjson.dumps({"on": True, "reason": c.incident_id})
                link.publish(command_topic(self.site, c.floodlight), payload, qos=1)
                self.metrics.commands.inc()

    async def _camera_worker(self, camera: str) -> None:
        """One camera's worker, in its own process: video analysis never shares the
        service's interpreter. The supervisor starts it again if it dies."""
        assert self.config.site_path is not None
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "vigie.cli",
            "camera",
            "--site",
            self.config.site_path,
            "--camera",
            camera,
            "--broker",
            str(self.config.broker),
        )
        try:
            code = await proc.wait()
        finally:
            if proc.returncode is None:
                proc.terminate()
                try:
                    await asyncio.wait_for(proc.wait(), 5)
                except TimeoutError:
                    proc.kill()
                    await proc.wait()
        raise RuntimeError(f"camera worker {camera} exited with status {code}")

    async def _deadlines(self) -> None:
        """Raise ``heartbeat_lost`` at the instant it is due, without polling."""
        while True:
            deadline = self.engine.next_deadline()
            delay = IDLE_WAKE_S if deadline is None else max(0.0, deadline - self._clock())
            self._wake_deadlines.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake_deadlines.wait(), timeout=delay)
            changes = self.engine.advance(self._now())
            if changes:
                batch = Batch(
                    changes=changes,
                    next_incident=self.engine.next_incident_number,
                    next_fault=self.engine.next_fault_number,
                )
                await self._db(self.store.save_batch, batch)
                self._after_commit(changes, [])

    # -- operators ---------------------------------------------------------------------

    async def acknowledge(
        self, incident: str, who: str, comment: str, address: str | None
    ) -> dict[str, Any]:
        return await self._decide(
            incident, who=who, action="ack", outcome=None, comment=comment, address=address
        )

    async def resolve(
        self, incident: str, who: str, outcome: Outcome, comment: str, address: str | None
    ) -> dict[str, Any]:
        return await self._decide(
            incident,
            who=who,
            action="resolve",
            outcome=outcome,
            comment=comment,
            address=address,
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
    ) -> dict[str, Any]:
        now = self._now()
        try:
            if outcome is None:
                changes = self.engine.acknowledge(incident, now, who, comment)
            else:
                changes = self.engine.resolve(incident, now, who, outcome, comment)
        except UnknownIncident:
            stored = await self._db(self.store.incident, incident)
            if stored is None:
                raise
            raise IncidentClosed(f"{incident} is already {stored['state']}") from None
        entry = AuditEntry(
            incident, now, who, action, comment, address, outcome.value if outcome else None
        )
        await self._db(self.store.save_decision, changes, entry)  # on disk before the 2xx
        self._after_commit(changes, [])
        view = changes[0].incident  # type: ignore[union-attr]
        return incident_json(view)

    # -- dashboard sessions (dashboard/sessions.py), on the store's thread ----------------

    async def load_sessions(self) -> list[SessionRecord]:
        return await self._db(lambda: self._session_table().load())

    async def save_session(self, record: SessionRecord) -> None:
        await self._db(lambda: self._session_table().save(record))

    async def touch_sessions(self, last_used: dict[str, float]) -> None:
        await self._db(lambda: self._session_table().touch(last_used))

    async def end_sessions(self, ids: list[str]) -> None:
        await self._db(lambda: self._session_table().end(ids))

    def _session_table(self) -> SessionTable:
        """Opened on first use, once the store has opened and migrated the database."""
        if self._sessions is None:
            self._sessions = SessionTable(self.store.url)
        return self._sessions

    def _close_sessions(self) -> None:
        if self._sessions is not None:
            self._sessions.close()
            self._sessions = None

    # -- views ---------------------------------------------------------------------------

    def picture(self) -> dict[str, Any]:
        return tactical_picture(self.site, self.engine, self._last_seen, self._clock())

    async def incidents(self, state: IncidentState | None) -> list[dict[str, Any]]:
        return await self._db(self.store.incidents, state.value if state else None)

    async def incident(self, incident_id: str) -> dict[str, Any] | None:
        return await self._db(self.store.incident, incident_id)

    async def evidence(self, seq: int) -> bytes | None:
        return await self._db(self.store.evidence_jpeg, seq)

    async def health(self) -> dict[str, Any]:
        link = self._link
        broker_ok = link is not None and link.connected
        try:
            await asyncio.wait_for(self._db(self.store.ping), timeout=2.0)
            store_ok = True
        except (StoreError, RuntimeError, TimeoutError, OSError) as exc:
            log.warning("store health check failed: %s", exc)
            store_ok = False
        except Exception as exc:  # noqa: BLE001 - a driver error must read as "unhealthy"
            log.warning("store health check failed: %s", exc)
            store_ok = False
        return {
            "status": "ok" if broker_ok and store_ok else "degraded",
            "broker": broker_ok,
            "store": store_ok,
            "queue_depth": link.depth if link else 0,
        }
