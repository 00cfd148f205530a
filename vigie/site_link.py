"""The site's side of the joint centre (docs/centre.md, docs/protocol.md §10).

``vigie serve`` publishes what a centre needs under ``<prefix>/<site>/out/v1/`` and takes
centre requests from ``<prefix>/<site>/in/v1/``, all at QoS 1, on a client of its own
(a persistent session, so that requests sent while the site is down wait for it):

- ``changes``: every committed change (:func:`fusion.wire.change_json` form, the same
  stream as the page's), in commit order, numbered by ``seq``. The numbering survives a
  restart: numbers are reserved on disk a block ahead, so a run that dies never hands
  out a number twice;
- ``heartbeat`` every :data:`HEARTBEAT_S` with the last ``seq``, so that a centre sees a
  silent cut and any change lost on the way;
- ``snapshot`` on request: the picture and the incidents a centre keeps, as of a
  ``seq``: the picture is taken under the service's lock and the rest goes through its
  commit pipeline, so that the snapshot holds every change made before it and is
  published after their feed messages, before any later one;
- ``online``: the client's retained presence flag, set off by its last will;
- ``replies``: the outcome of each centre request (``in/v1/requests``), applied through
  the service's own decisions with the centre user and desk as the author. A request
  delivered twice acts once and gets the same answer.

The site trusts what reaches its ``in/v1/`` topics: the broker bridge is the boundary
(docs/centre.md, "Security").
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Final, Literal, Protocol

import orjson
import paho.mqtt.client as paho
from prometheus_client import CollectorRegistry, Counter, Gauge
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from adapters.mqtt_client import Broker, MqttClient
from dashboard.bodies import MAX_COMMENT, Text
from dashboard.errors import StoreBusy
from fusion.changes import Change
from fusion.correlator import UnknownIncident
from fusion.incidents import Disruption, IllegalTransition, Outcome
from fusion.records import IncidentRecord
from fusion.site import Site
from fusion.topics import CENTRE_IN, centre_in, centre_out
from fusion.wire import changes_json, link_changes, link_heartbeat, link_reply, link_snapshot
from vigie.commits import CommitPipeline
from vigie.lograte import LogLimiter
from vigie.store import Store, StoreError
from vigie.store.link_table import Answer, LinkTable

log = logging.getLogger("vigie.site_link")

StoreCall = Callable[..., Awaitable[Any]]

HEARTBEAT_S: Final = 2.0
"""A centre calls a site lost after 8 s without a word (vigie/centre/mirror.py): four
heartbeats, so that one delayed by a busy machine never looks like a cut."""

SEQ_BLOCK: Final = 100_000
"""Sequence numbers reserved on disk at a time. A block lasts hours at full rate; it is
extended once half of it is used, checked at every heartbeat."""

CHANGES_PER_MESSAGE: Final = 500
"""At most this many changes in one ``changes`` message (a batch of 500 alarms gives
about 1,000 changes, ~500 KiB): messages stay small enough for any bridge."""

UNRESOLVED_KEPT: Final = 10_000
RESOLVED_KEPT: Final = 500
"""What a snapshot carries: every unresolved incident (up to this bound) and the latest
resolved ones, as many as ``GET /api/incidents`` lists by default."""

SNAPSHOT_LOCK_S: Final = 10.0
"""How long a snapshot waits for the service's lock (a store outage holds it): the
centre asks again if it gets none."""

INBOX: Final = 1_000
"""Centre messages waiting to be handled; beyond it they are left unacknowledged, so
the broker delivers them again when the link reconnects."""


class SiteRoom(Protocol):
    """What the link needs from the service."""

    def whole_picture(self) -> dict[str, Any]: ...
    async def acknowledge(
        self, incident: str, who: str, comment: str, address: str | None
    ) -> dict[str, Any]: ...
    async def resolve(
        self,
        incident: str,
        who: str,
        outcome: Outcome,
        comment: str,
        address: str | None,
        *,
        disruption: Disruption | None = None,
    ) -> dict[str, Any]: ...


class CentreRequest(BaseModel):
    """An acknowledgement or resolution sent by a centre (docs/protocol.md §10)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    request: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._:-]+$")
    centre: str = Field(min_length=1, max_length=100, pattern=r"^[a-z0-9-]+$")
    user: Text = Field(min_length=1, max_length=256, pattern=r"^[^\s]+$")
    desk: Text = Field(min_length=1, max_length=100, pattern=r"^[^\s/]+$")
    action: Literal["ack", "resolve"]
    incident: Text = Field(min_length=1, max_length=100)
    comment: Text = Field(default="", max_length=MAX_COMMENT)
    outcome: Outcome | None = None
    disruption: Disruption | None = Field(
        default=None, description="with outcome intrusion only (docs/protocol.md §11)"
    )

    @model_validator(mode="after")
    def _outcome_with_resolve(self) -> CentreRequest:
        if self.action == "resolve" and self.outcome is None:
            raise ValueError("a resolution needs an outcome")
        if self.action == "ack" and (self.outcome is not None or self.disruption is not None):
            raise ValueError("an acknowledgement takes no outcome")
        if self.disruption is not None and self.outcome is not Outcome.INTRUSION:
            raise ValueError("disruption goes with the outcome intrusion only")
        return self

    @property
    def who(self) -> str:
        """The author in the site's audit history: the centre user, desk and centre."""
        return f"{self.user} ({self.desk}) via centre {self.centre}"

    @property
    def address(self) -> str:
        """Where the decision came from, in the audit history; also how a redelivered
        request is recognised should the site have died before recording its answer."""
        return f"centre {self.centre} request {self.request}"


@dataclass(frozen=True, slots=True)
class _Inbound:
    topic: str
    payload: bytes
    mid: int
    qos: int


class LinkMetrics:
    """The feed's figures, on the service's registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        r = registry
        self.seq = Gauge("vigie_centre_feed_seq", "Last change message published", registry=r)
        self.published = Counter(
            "vigie_centre_feed_messages",
            "Messages published for centres, by kind",
            ["kind"],
            registry=r,
        )
        self.requests = Counter(
            "vigie_centre_requests", "Centre requests answered, by status", ["status"], registry=r
        )
        self.unreadable = Counter(
            "vigie_centre_requests_unreadable",
            "Centre messages that were not a request or snapshot request at all",
            registry=r,
        )
        self.encode_errors = Counter(
            "vigie_centre_feed_encode_errors",
            "Change messages that could not be encoded (a centre resynchronises)",
            registry=r,
        )


class SiteLink:
    """The site's feed to joint centres and their requests; see the module docstring.
    An async context manager (connects, reserves numbers) whose :meth:`run` serves."""

    def __init__(
        self,
        *,
        site: Site,
        broker: Broker,
        client_id: str,
        room: SiteRoom,
        store: Store,
        db: StoreCall,
        pipeline: CommitPipeline,
        lock: asyncio.Lock,
        registry: CollectorRegistry,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.site = site
        self._room = room
        self._store = store
        self._db = db
        self._pipeline = pipeline
        self._lock = lock
        self._clock = clock
        self.metrics = LinkMetrics(registry)
        self.boot = uuid.uuid4().hex[:12]
        self.epoch = ""
        self.seq = 0
        self._reserved = 0
        self._table: LinkTable | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._inbox: asyncio.Queue[_Inbound] = asyncio.Queue(INBOX)
        self._limiter = LogLimiter(log)
        self.client = MqttClient(
            broker,
            client_id,
            role="centre-link",
            presence=centre_out(site, "online"),
            subscriptions=[(centre_in(site, name), 1) for name in CENTRE_IN],
            on_message=self._on_message,
            persistent=True,
            manual_ack=True,
        )

    # -- lifecycle ------------------------------------------------------------------

    async def __aenter__(self) -> SiteLink:
        self._table = table = await self._db(LinkTable, self._store.url)
        self.epoch, first = await self._db(table.sequence, SEQ_BLOCK)
        self.seq = first - 1 if first else 0
        self._reserved = first + SEQ_BLOCK
        self.metrics.seq.set(self.seq)
        self._loop = asyncio.get_running_loop()
        self.client.start()
        log.info("centre feed of %s: epoch %s from seq %d", self.site.site, self.epoch, first)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await asyncio.to_thread(self.client.stop)
        if self._table is not None:
            await self._db(self._table.close)
            self._table = None

    async def run(self) -> None:
        """Heartbeats, and the centres' requests one at a time, in arrival order."""
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(self._beat())
            tasks.create_task(self._serve())

    # -- the feed -------------------------------------------------------------------

    def committed(self, changes: list[Change]) -> None:
        """An ingest, deadline or decision subscriber: ``changes`` are on disk."""
        wire = changes_json(changes)
        if not wire:
            return
        t = self._clock()
        for start in range(0, len(wire), CHANGES_PER_MESSAGE):
            self.seq += 1
            body = link_changes(
                self.site.site, self.epoch, self.seq, t, wire[start : start + CHANGES_PER_MESSAGE]
            )
            self._publish("changes", body)
        self.metrics.seq.set(self.seq)

    def _publish(self, name: str, body: dict[str, Any]) -> None:
        try:
            payload = orjson.dumps(body)
        except (TypeError, ValueError) as exc:  # the parser lets through only what encodes
            self.metrics.encode_errors.inc()
            log.error("a %s message of the centre feed could not be encoded: %s", name, exc)
            return
        self.client.publish(centre_out(self.site, name), payload, qos=1)
        self.metrics.published.labels(name).inc()

    async def _beat(self) -> None:
        while True:
            body = link_heartbeat(
                self.site.site, epoch=self.epoch, boot=self.boot, seq=self.seq, t=self._clock()
            )
            self._publish("heartbeat", body)
            if self.seq >= self._reserved - SEQ_BLOCK // 2 and self._table is not None:
                await self._db(self._table.reserve, self.seq + SEQ_BLOCK)
                self._reserved = self.seq + SEQ_BLOCK
            self._limiter.flush()
            await asyncio.sleep(HEARTBEAT_S)

    # -- what centres ask ---------------------------------------------------------------

    def _on_message(self, message: paho.MQTTMessage) -> None:
        """paho's network thread: hand the message to the event loop."""
        inbound = _Inbound(message.topic, bytes(message.payload), message.mid, message.qos)
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._deliver, inbound)

    def _deliver(self, inbound: _Inbound) -> None:
        try:
            self._inbox.put_nowait(inbound)
        except asyncio.QueueFull:
            self._limiter.log(
                "centre inbox full", "centre messages waiting: left unacknowledged for later"
            )

    async def _serve(self) -> None:
        while True:
            inbound = await self._inbox.get()
            name = inbound.topic.rsplit("/", 1)[-1]
            if name == "snapshot":
                await self._send_snapshot(_nonce(inbound.payload))
            elif name == "ping":
                self._publish(
                    "heartbeat",
                    link_heartbeat(
                        self.site.site,
                        epoch=self.epoch,
                        boot=self.boot,
                        seq=self.seq,
                        t=self._clock(),
                        nonce=_nonce(inbound.payload),
                    ),
                )
            else:
                await self._answer(inbound.payload)
            self.client.ack(inbound.mid, inbound.qos)

    async def _send_snapshot(self, nonce: str) -> None:
        """The engine's picture now, under the lock; the incidents read on the store's
        thread after every write submitted before; published by the pipeline after the
        feed messages of those writes. A snapshot that cannot be made is not sent: the
        centre asks again."""
        try:
            await asyncio.wait_for(self._lock.acquire(), SNAPSHOT_LOCK_S)
        except TimeoutError:
            log.warning("no snapshot for the centre: the service is busy (it will ask again)")
            return
        try:
            picture = self._room.whole_picture()
            kept: list[IncidentRecord] = []
            done = await self._pipeline.submit(
                self._read_kept,
                kept,
                then=functools.partial(self._publish_snapshot, nonce, picture, kept),
            )
        finally:
            self._lock.release()
        try:
            await done
        except StoreError as exc:
            log.warning("no snapshot for the centre: %s (it will ask again)", exc)

    def _read_kept(self, kept: list[IncidentRecord]) -> None:
        store = self._store
        kept += store.incidents("open", UNRESOLVED_KEPT)
        kept += store.incidents("acknowledged", UNRESOLVED_KEPT)
        kept += store.incidents("resolved", RESOLVED_KEPT)

    def _publish_snapshot(
        self, nonce: str, picture: dict[str, Any], kept: list[IncidentRecord]
    ) -> None:
        seq = self.seq  # every change made before the snapshot is published by now
        self._publish(
            "snapshot",
            link_snapshot(
                self.site.site,
                epoch=self.epoch,
                boot=self.boot,
                seq=seq,
                t=self._clock(),
                nonce=nonce,
                picture=picture,
                incidents=kept,
            ),
        )
        log.info("snapshot sent to the centre as of seq %d (%d incidents)", seq, len(kept))

    async def _answer(self, payload: bytes) -> None:
        try:
            request = CentreRequest.model_validate_json(payload)
        except ValidationError as exc:
            await self._refuse(payload, exc)
            return
        answer = await self._apply(request)
        self.metrics.requests.labels(str(answer.status)).inc()
        reply = link_reply(
            self.site.site,
            request=answer.request,
            incident=answer.incident,
            action=answer.action,
            status=answer.status,
            reason=answer.reason,
            t=answer.t,
        )
        await self._reply(reply)

    async def _reply(self, reply: dict[str, Any]) -> None:
        """Published by the commit pipeline: after the changes of a decision made before
        (its follow-up, which publishes them, runs before any submitted later), and in
        the order the requests came."""
        then = functools.partial(self._publish, "replies", reply)
        await self._pipeline.submit(_nothing, then=then)

    async def _apply(self, r: CentreRequest) -> Answer:
        """Act once: a request already answered gets its answer again; one whose decision
        is in the audit history but whose answer was not recorded (the site died in
        between) is answered as done; any other is decided now."""
        table = self._table
        assert table is not None
        try:
            earlier: Answer | None = await self._db(table.answered, r.request)
            if earlier is not None:
                log.info("centre request %s delivered again: answered as before", r.request)
                return earlier
            done = await self._db(table.decided, r.incident, r.address)
        except StoreError as exc:
            return self._answer_of(r, 503, f"the site's store is unavailable: {exc}")
        if done:
            answer = self._answer_of(r, 200, "")
        else:
            answer = await self._decide(r)
        if answer.status != 503:
            try:
                await self._db(table.record, answer)
            except StoreError as exc:  # a redelivery finds the decision in the audit
                log.error("the answer to centre request %s was not recorded: %s", r.request, exc)
        return answer

    async def _decide(self, r: CentreRequest) -> Answer:
        room = self._room
        try:
            if r.action == "ack":
                await room.acknowledge(r.incident, r.who, r.comment, r.address)
            else:
                assert r.outcome is not None
                await room.resolve(
                    r.incident, r.who, r.outcome, r.comment, r.address, disruption=r.disruption
                )
        except UnknownIncident:
            return self._answer_of(r, 404, f"no incident {r.incident} at {self.site.site}")
        except IllegalTransition as exc:
            return self._answer_of(r, 409, str(exc))
        except StoreBusy as exc:
            return self._answer_of(r, 503, str(exc))
        log.info("%s of %s by %s", r.action, r.incident, r.who)
        return self._answer_of(r, 200, "")

    def _answer_of(self, r: CentreRequest, status: int, reason: str) -> Answer:
        return Answer(r.request, r.centre, r.incident, r.action, self._clock(), status, reason)

    async def _refuse(self, payload: bytes, exc: ValidationError) -> None:
        """A malformed request: answered 400 when it names itself, else only counted."""
        reason = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'request'}: {e['msg']}"
            for e in exc.errors(include_url=False, include_input=False)[:3]
        )
        try:
            body = orjson.loads(payload)
            request = body.get("request") if isinstance(body, dict) else None
        except orjson.JSONDecodeError:
            request = None
        if not isinstance(request, str) or not 0 < len(request) <= 100:
            self.metrics.unreadable.inc()
            self._limiter.log("unreadable", f"unreadable centre request: {reason}")
            return
        self.metrics.requests.labels("400").inc()
        self._limiter.log("malformed", f"malformed centre request {request[:100]!r}: {reason}")
        incident = body.get("incident")
        action = body.get("action")
        await self._reply(
            link_reply(
                self.site.site,
                request=request,
                incident=incident if isinstance(incident, str) else "",
                action=action if isinstance(action, str) else "",
                status=400,
                reason=reason,
                t=self._clock(),
            )
        )


def _nothing() -> None:
    """A write with nothing to write: its follow-up keeps its place in the pipeline."""


def _nonce(payload: bytes) -> str:
    """The ``nonce`` of a centre's snapshot or ping request, echoed in the answer."""
    with contextlib.suppress(orjson.JSONDecodeError, AttributeError, TypeError):
        return str(orjson.loads(payload).get("nonce", ""))[:100]
    return ""
