"""``vigie centre``: a joint command centre fed by several sites (docs/centre.md).

It connects to its own broker only (bridges or a cluster bring the sites' feeds there),
keeps a copy of each site (:mod:`vigie.centre.mirror`) in its own store, shows each desk
the sites it sees over the same kind of websocket as a site's, and sends its users'
acknowledgements and resolutions to the site that owns the incident.

Per batch of feed messages: the mirrors -> the desks' hubs (the screen) and snapshot
requests -> one store transaction (written by a task of its own, in order, a few
batches behind at most) -> PUBACK. Messages are acknowledged to the broker only once
their effect is on disk, so a centre killed at any instant restarts from its store and
gets the rest again from its persistent session.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Final, ParamSpec, TypeVar

import orjson

from adapters.mqtt import Broker, MqttLink, RawMessage
from dashboard.desks import incident_for
from dashboard.hub import Hub
from fusion.topics import CENTRE_OUT, bridge_state_topic, centre_in, centre_out
from fusion.wire import link_request
from vigie.centre.config import Centre, Desk
from vigie.centre.metrics import CentreMetrics
from vigie.centre.mirror import BadMessage, Effects, Link, SiteMirror
from vigie.centre.store import CentreStore, RequestRow, SiteRow, Step
from vigie.lograte import LogLimiter
from vigie.store import StoreError, StoreUnavailable
from vigie.store.sessions import StoredSessions
from vigie.supervisor import Backoff, TaskBoard, supervise

log = logging.getLogger("vigie.centre")

P = ParamSpec("P")
R = TypeVar("R")

BATCH_LIMIT: Final = 500
"""Feed messages per store transaction, as the site's ingest takes them."""

COMMITS_AHEAD: Final = 8
"""Batches shown but not yet on disk, at most: the screen runs ahead of the store by a
few batches, never more (then the intake waits, and the broker holds the rest)."""

WATCH_S: Final = 0.5
"""How often the watchdog looks for silent sites and snapshots that never came."""

RESEND_S: Final = 600.0
"""Requests sent this recently and still unanswered are sent again when the centre
starts (it may have died before the broker had them); a site answers each once."""


class CentreService:
    """One joint centre; :meth:`running` is the app's lifespan."""

    def __init__(
        self,
        centre: Centre,
        broker: Broker,
        db_url: str,
        client_id: str,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.centre = centre
        self.centre_id = centre.id
        self.broker = broker
        self.db_url = db_url
        self.client_id = client_id
        self.metrics = CentreMetrics()
        self.tasks = TaskBoard()
        self._clock = clock
        self.hubs = {  # one per desk: its frames are filtered before they reach the hub
            d.id: Hub(functools.partial(self._desk_picture, d.id), self.metrics.latency)
            for d in centre.desks.values()
        }
        self.mirrors: dict[str, SiteMirror] = {}
        self._topics: dict[str, tuple[str, str]] = {}
        for s in centre.sites.values():
            for name in CENTRE_OUT:
                self._topics[centre_out(s.site, name)] = (s.id, name)
            self._topics[bridge_state_topic(s.site)] = (s.id, "bridge")
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="centre-store")
        self._store: CentreStore | None = None
        self.sessions = StoredSessions(self._db, lambda: self.store.url)
        self._link: MqttLink | None = None
        self._limiter = LogLimiter(log)
        self._commits: asyncio.Queue[tuple[Step, list[RawMessage]]] = asyncio.Queue(COMMITS_AHEAD)
        self.store_ok = True

    # -- lifecycle ------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Open the store, restore the copies, connect, run every task until exit."""
        store = await self._db(CentreStore, self.db_url)
        self._store = store
        restored = await self._db(store.restore)
        now = self._clock()
        run = f"{uuid.uuid4().hex[:8]}-"  # this run's nonces: an old run's answers never match
        for s in self.centre.sites.values():
            self.mirrors[s.id] = SiteMirror(
                s.id, s.name, s.site, now, restored=restored.get(s.id), run=run
            )
        log.info(
            "centre %s: %d sites (%s), %d desks; store %s",
            self.centre.id,
            len(self.mirrors),
            ", ".join(f"{m.id} seq {m.seq}" for m in self.mirrors.values()),
            len(self.hubs),
            store.url.split("@")[-1],
        )
        subscriptions = [centre_out(s.site, "+") for s in self.centre.sites.values()]
        subscriptions += [bridge_state_topic(s.site) for s in self.centre.sites.values()]
        link = MqttLink(self.broker, self.client_id, subscriptions)
        self._link = link
        self._bind_live_metrics(link)
        try:
            async with link, asyncio.TaskGroup() as tasks:
                jobs = [
                    tasks.create_task(self._supervised("feeds", self._intake)),
                    tasks.create_task(self._supervised("store", self._committer)),
                    tasks.create_task(self._supervised("watchdog", self._watchdog)),
                    *(
                        tasks.create_task(self._supervised(f"hub {desk}", hub.run))
                        for desk, hub in self.hubs.items()
                    ),
                ]
                await self._resend(store)
                try:
                    yield
                finally:
                    for job in jobs:
                        job.cancel()
        finally:
            await self._db(self.sessions.close)
            await self._db(store.close)
            self._pool.shutdown(wait=True)

    def _supervised(self, name: str, run: Callable[[], Any]) -> Any:
        def failed(task: str, exc: BaseException) -> None:
            self.metrics.task_failures.labels(task).inc()
            if isinstance(exc, StoreError):
                self.metrics.store_errors.inc()

        return supervise(name, run, on_failure=failed, board=self.tasks)

    def _bind_live_metrics(self, link: MqttLink) -> None:
        m = self.metrics
        m.mqtt_connected.set_function(lambda: 1 if link.connected else 0)
        m.ws_clients.set_function(lambda: sum(h.clients for h in self.hubs.values()))
        for site, mirror in self.mirrors.items():
            m.link_up.labels(site).set_function(functools.partial(_is_up, mirror))
            m.seq.labels(site).set_function(functools.partial(getattr, mirror, "seq"))

    async def _db(self, fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        """Run a store call on the store's own thread, in submission order."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, lambda: fn(*args, **kwargs))

    @property
    def store(self) -> CentreStore:
        if self._store is None:
            raise RuntimeError("the centre is not running")
        return self._store

    @property
    def metrics_registry(self) -> Any:
        return self.metrics.registry

    # -- the sites' feeds --------------------------------------------------------------

    async def _intake(self) -> None:
        link = self._link
        assert link is not None
        while True:
            messages = await link.batch(BATCH_LIMIT)
            self.metrics.received.inc(len(messages))
            fx = Effects()
            now = self._clock()
            for m in messages:
                self._one(m, now, fx)
            step = self._step(fx)
            self._show(fx, [m.received for m in messages])
            self._ask(fx)
            await self._commits.put((step, messages))  # waits when the store is behind
            self._limiter.flush()

    async def _committer(self) -> None:
        """Writes each step in order, then acknowledges its messages: the screen never
        waits for the disk, the broker's acknowledgement always does."""
        link = self._link
        assert link is not None
        while True:
            step, messages = await self._commits.get()
            await self._commit(step)
            link.ack(messages)

    def _one(self, m: RawMessage, now: float, fx: Effects) -> None:
        found = self._topics.get(m.topic)
        if found is None:
            self._limiter.log("unknown topics", f"message on {m.topic!r} is for no site here")
            return
        site, kind = found
        try:
            body: Any = m.payload if kind == "bridge" else orjson.loads(m.payload)
        except orjson.JSONDecodeError:
            body = None
        try:
            self.mirrors[site].receive(kind, body, now, fx)
        except BadMessage as exc:
            self.metrics.bad.labels(site).inc()
            self._limiter.log(f"bad messages from {site}", f"bad feed message: {exc}")

    async def _watchdog(self) -> None:
        while True:
            await asyncio.sleep(WATCH_S)
            fx = Effects()
            now = self._clock()
            for mirror in self.mirrors.values():
                mirror.tick(now, fx)
            step = self._step(fx)
            self._show(fx, [])
            self._ask(fx)
            if fx.store_work:
                await self._commits.put((step, []))

    def _step(self, fx: Effects) -> Step:
        """What the store must write, built now: the mirrors change again meanwhile."""
        step = Step()
        for site in fx.sites | fx.pictures:
            m = self.mirrors[site]
            picture = orjson.dumps(m.stored_picture()) if site in fx.pictures else None
            step.sites.append(
                SiteRow(site, m.epoch, m.seq, m.boot, m.synced, m.heard, m.lost_since, picture)
            )
        for site in fx.replaced:
            step.replaced.append(site)
            fx.incidents[site] = set(self.mirrors[site].incidents)
        for site, ids in fx.incidents.items():
            incidents = self.mirrors[site].incidents
            for i in ids:
                inc = incidents[i]
                step.incidents.append(
                    (site, i, str(inc.get("state")), inc.get("opened_t"), orjson.dumps(inc))
                )
        for reply in fx.replies:
            status = reply.get("status")
            if isinstance(status, int) and isinstance(reply.get("request"), str):
                step.answers.append(
                    (status, str(reply.get("reason", ""))[:500], self._clock(), reply["request"])
                )
                self.metrics.replies.labels(str(status)).inc()
        return step

    async def _commit(self, step: Step) -> None:
        backoff = Backoff(first=0.2, cap=5.0)
        while True:
            try:
                await self._db(self.store.save, step)
            except StoreUnavailable as exc:
                if self.store_ok:
                    log.error("the centre's store is unavailable (%s): retrying", exc)
                self.store_ok = False
                self.metrics.store_errors.inc()
                await asyncio.sleep(backoff.next_delay())
                continue
            if not self.store_ok:
                log.warning("the centre's store is back")
            self.store_ok = True
            return

    def _show(self, fx: Effects, received: list[float]) -> None:
        """Each desk's hub gets the changes of the sites it sees (and the intelligence
        items meant for it). A site whose copy was replaced whole is announced as such:
        a page then asks for a new snapshot (frames coalesce changes from both sides of
        the replacement, so they cannot be applied on top of it in order)."""
        if not fx.frames:
            return
        for desk in self.centre.desks.values():
            changes = [
                c
                for site in desk.sites
                if site in fx.frames
                for c in self.mirrors[site].for_desk(fx.frames[site], desk.id)
            ]
            if changes:
                self.hubs[desk.id].publish(changes, received)

    def _ask(self, fx: Effects) -> None:
        """Snapshot requests, and pings that ask a site back from a cut where it is."""
        link = self._link
        assert link is not None
        for kind, asks in (("snapshot", fx.ask), ("ping", fx.ping)):
            for site, nonce in asks.items():
                body = orjson.dumps({"centre": self.centre.id, "nonce": nonce})
                link.publish(centre_in(self.centre.sites[site].site, kind), body)
                if kind == "snapshot":
                    self.metrics.snapshots_asked.labels(site).inc()
                    log.info("asked %s for a snapshot", site)

    # -- requests to the sites ------------------------------------------------------------

    async def request(
        self,
        *,
        desk: str,
        user: str,
        site: str,
        incident: str,
        action: str,
        comment: str,
        outcome: str | None = None,
        disruption: str | None = None,
    ) -> str:
        """Record a request and send it to the site; its answer comes on the feed."""
        request = uuid.uuid4().hex
        body = link_request(
            request=request,
            centre=self.centre.id,
            user=user,
            desk=desk,
            action=action,
            incident=incident,
            comment=comment,
            outcome=outcome,
            disruption=disruption,
        )
        text = orjson.dumps(body).decode()
        row = RequestRow(
            request, site, incident, action, user, desk, self._clock(), text, None, None, None
        )
        await self._db(self.store.add_request, row)
        self._send(row)
        return request

    def _send(self, row: RequestRow) -> None:
        assert self._link is not None
        topic = centre_in(self.centre.sites[row.site].site, "requests")
        self._link.publish(topic, row.body.encode())
        self.metrics.requests.labels(row.site).inc()

    async def _resend(self, store: CentreStore) -> None:
        for row in await self._db(store.unanswered, self._clock() - RESEND_S):
            if row.site in self.centre.sites:
                log.info("request %s to %s still unanswered: sent again", row.request, row.site)
                self._send(row)

    async def request_state(self, desk: str, request: str) -> dict[str, Any] | None:
        row = await self._db(self.store.request, request)
        if row is None or not self.desk_of(desk).sees(row.site):
            return None
        return {
            "request": row.request,
            "site": row.site,
            "incident": row.incident,
            "action": row.action,
            "user": row.user,
            "desk": row.desk,
            "t": row.t,
            "state": "pending" if row.status is None else "answered",
            "ok": None if row.status is None else row.status == 200,
            "status": row.status,
            "reason": row.reason,
            "answered_t": row.answered_t,
        }

    # -- views -------------------------------------------------------------------------------

    def desk_of(self, desk: str) -> Desk:
        return self.centre.desks[desk]

    def desk_info(self, desk: str | None) -> dict[str, Any] | None:
        """The caller's desk, or None when the users file names a desk unknown here."""
        found = self.centre.desks.get(desk) if desk is not None else None
        if found is None:
            return None
        return {"id": found.id, "name": found.name, "sites": list(found.sites), "acts": found.acts}

    def knows_site(self, site: str) -> bool:
        return site in self.centre.sites

    def hub(self, desk: str) -> Hub:
        return self.hubs[desk]

    def picture(self, desk: str) -> dict[str, Any]:
        """What ``desk`` sees: each of its sites, in the centre file's order."""
        d = self.centre.desks[desk]
        return {
            "centre": self.centre.id,
            "name": self.centre.name,
            "t": self._clock(),
            "desk": self.desk_info(desk),
            "sites": [self.mirrors[s].view(desk) for s in self.centre.sites if d.sees(s)],
        }

    def _desk_picture(self, desk: str, _client_desk: str | None = None) -> dict[str, Any]:
        """A desk's hub's snapshot (its clients all sit at that desk)."""
        return self.picture(desk)

    def incidents(self, desk: str, state: str | None, site: str | None) -> list[dict[str, Any]]:
        """Every incident of the desk's sites that the centre keeps, newest first."""
        d = self.centre.desks[desk]
        out = [
            incident_for(inc, m.visible(desk))
            for m in self.mirrors.values()
            if d.sees(m.id) and (site is None or m.id == site)
            for inc in m.incidents.values()
            if state is None or inc.get("state") == state
        ]
        out.sort(key=lambda i: (i.get("opened_t") or 0, i["site"], i["id"]), reverse=True)
        return out

    def incident(self, desk: str, site: str, incident: str) -> dict[str, Any] | None:
        if not self.centre.desks[desk].sees(site) or site not in self.mirrors:
            return None
        found = self.mirrors[site].incidents.get(incident)
        return None if found is None else incident_for(found, self.mirrors[site].visible(desk))

    async def health(self) -> dict[str, Any]:
        link = self._link
        broker_ok = link is not None and link.connected
        try:
            await asyncio.wait_for(self._db(self.store.ping), timeout=2.0)
            store_ok = self.store_ok
        except (StoreError, RuntimeError, TimeoutError) as exc:
            log.warning("store health check failed: %s", exc)
            store_ok = False
        down = self.tasks.down()
        links = [m.link for m in self.mirrors.values()]
        return {
            "status": "ok" if broker_ok and store_ok and not down else "degraded",
            "broker": broker_ok,
            "store": store_ok,
            "tasks": {name: "restarting" if name in down else "running" for name in self.tasks},
            "sites": {"up": links.count(Link.UP), "lost": links.count(Link.LOST)},
        }


def _is_up(mirror: SiteMirror) -> int:
    return 1 if mirror.link is Link.UP else 0
