"""The ingest path of ``vigie serve``: MQTT batches through the processing step, to the
screen, the disk, the broker's acknowledgement and the floodlights.

Per batch: each message through :class:`fusion.intake.Intake` (or checked as a still)
-> hub (the screen) -> one store transaction -> PUBACK -> floodlight commands -> the
metrics, which count only what is committed.

One message never costs the others:

- the parser refuses what no later stage can carry (docs/protocol.md §2);
- should processing one message raise anyway, it is set aside as a *dead letter* (its
  bytes and the error, stored, counted, shown to admins) and the batch goes on;
- should the store refuse the batch for what one message holds, the batch is written
  again message by message and the one it refuses becomes a dead letter;
- should the store be unreachable, the batch is kept and retried with backoff: nothing
  is acknowledged to the broker meanwhile, so nothing is lost, and ``/healthz`` says so.

The writes go through :mod:`vigie.commits`: batch N+1 is processed while batch N is
written, and every follow-up (PUBACK, floodlights, metrics) runs in order once its
batch is on disk.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from typing import Final

import orjson

from adapters.mqtt import MqttLink, RawMessage
from dashboard.hub import Hub
from fusion.changes import Change, FloodlightCommanded
from fusion.events import DeviceEvent
from fusion.intake import Intake, Processed, Verdict
from fusion.site import Site
from fusion.topics import command_topic, still_of
from fusion.wire import changes_json, floodlight_command
from vigie.commits import CommitPipeline, Committer
from vigie.lograte import LogLimiter
from vigie.metrics import Metrics
from vigie.store import Batch, Received, Still, Store

log = logging.getLogger("vigie.ingest")


BATCH_LIMIT: Final = 500
"""Messages per store transaction: large enough to amortise a commit, small enough
that a batch is a few milliseconds of work."""

MAX_STILL_BYTES: Final = 512 * 1024
"""A 640x360 JPEG at quality 80 is 30-60 KiB; a 4K one stays under this."""

JPEG_START: Final = b"\xff\xd8\xff"
JPEG_END: Final = b"\xff\xd9"


class Ingest:
    """Turns MQTT batches into committed, shown and acknowledged decisions."""

    def __init__(
        self,
        *,
        site: Site,
        intake: Intake,
        store: Store,
        pipeline: CommitPipeline,
        link: MqttLink,
        hub: Hub,
        metrics: Metrics,
        lock: asyncio.Lock,
    ) -> None:
        self.site = site
        self.intake = intake
        self.committer = Committer(store, self.store_health)
        self.pipeline = pipeline
        self.link = link
        self.hub = hub
        self.metrics = metrics
        self.lock = lock
        self.last_seen: dict[str, float] = {}
        self.store_ok = True
        self._cameras = frozenset(c.id for c in site.cameras)
        self._limiter = LogLimiter(log)
        self.subscribers: list[Callable[[list[Change]], None]] = []
        """Called with the changes of each batch once it is on disk (the floodlight
        commands, the joint centre's feed)."""

    # -- the loop ---------------------------------------------------------------------

    async def run(self) -> None:
        link = self.link
        while True:
            messages = await link.batch(BATCH_LIMIT)
            async with self.lock:
                batch = self.process(messages)
                # The screen may run ahead of the disk: should the service die before the
                # commit, the unacknowledged messages come back and the restored engine
                # makes the same decisions again. The PUBACK and the floodlights wait
                # for the disk; the next batch is processed meanwhile.
                self.hub.publish(changes_json(batch.all_changes()), [m.received for m in messages])
                await self.pipeline.submit(
                    self.committer.commit,
                    batch,
                    then=functools.partial(self._on_disk, messages, batch),
                )

    def _on_disk(self, messages: list[RawMessage], batch: Batch) -> None:
        self.link.ack(messages)
        self.after_commit(batch)

    def process(self, messages: list[RawMessage]) -> Batch:
        batch = Batch()
        self.metrics.received.inc(len(messages))
        for raw in messages:
            try:
                batch.received.append(self._one(raw))
            except Exception as exc:
                log.exception("processing a message on %r failed: set aside", raw.topic)
                error = f"{type(exc).__name__}: {exc}"[:500]
                t = self.intake.now(raw.received)
                batch.received.append(Received(t, raw.topic, raw.payload, dead=error))
        batch.next_incident = self.intake.engine.next_incident_number
        batch.next_fault = self.intake.engine.next_fault_number
        return batch

    def _one(self, raw: RawMessage) -> Received:
        still = still_of(self.site, raw.topic)
        if still is not None:
            return self._still(raw, *still)
        done = self.intake.receive(raw.topic, raw.payload, raw.received)
        return Received(done.t, raw.topic, raw.payload, processed=done)

    def _still(self, raw: RawMessage, camera: str, msg_id: str) -> Received:
        t = self.intake.now(raw.received)
        jpeg = raw.payload
        reason = ""
        if camera not in self._cameras:
            reason = "not a camera of the site"
        elif len(jpeg) > MAX_STILL_BYTES:
            reason = f"{len(jpeg)} bytes, limit {MAX_STILL_BYTES}"
        elif not (jpeg.startswith(JPEG_START) and jpeg.endswith(JPEG_END)):
            reason = "not a JPEG image"
        elif not self.intake.knows(camera, msg_id):
            reason = f"no event {msg_id!r} from {camera}"
        if reason:
            self.metrics.stills_refused.inc()
            self._limiter.log("refused stills", f"still refused on {raw.topic!r}: {reason}")
            return Received(t, raw.topic, b"")
        return Received(t, raw.topic, b"", still=Still(camera, msg_id, jpeg))

    # -- committing -------------------------------------------------------------------

    def store_health(self, ok: bool, why: str) -> None:
        """From the store thread: the store went away (retrying) or came back."""
        if not ok:
            if self.store_ok:
                log.error("the store is unavailable (%s): holding the batch and retrying", why)
            self.metrics.store_errors.inc()
        elif not self.store_ok:
            log.warning("the store is back")
        self.store_ok = ok

    async def commit(self, batch: Batch) -> asyncio.Future[None]:
        """Hand a batch that no message caused (deadlines, an analyst's item) to the
        store, in order; its follow-up runs once it is on disk. Call under the lock."""
        return await self.pipeline.submit(
            self.committer.commit, batch, then=functools.partial(self.after_commit, batch)
        )

    def after_commit(self, batch: Batch) -> None:
        """Count what is on disk, log what was refused, send the floodlight commands."""
        m = self.metrics
        accepted = dead = 0
        for r in batch.received:
            p = r.processed
            if r.dead is not None:
                dead += 1
            elif p is not None:
                if p.verdict is Verdict.ACCEPTED and not p.id_reused:
                    accepted += 1
                    if isinstance(p.event, DeviceEvent):
                        self.last_seen[p.event.device] = p.t
                else:
                    self._count(p)
        if accepted:
            m.accepted.inc(accepted)
        if dead:
            m.dead_letters.inc(dead)
        self.notify(batch.all_changes())
        self._limiter.flush()

    def notify(self, changes: list[Change]) -> None:
        """Hand committed changes to every subscriber (the service calls it for its
        operators' decisions too, so that the joint centre's feed misses none)."""
        for subscriber in self.subscribers:
            subscriber(changes)

    def _count(self, p: Processed) -> None:
        m = self.metrics
        if p.verdict is Verdict.ACCEPTED:
            assert p.event is not None
            m.accepted.inc()
            if isinstance(p.event, DeviceEvent):
                self.last_seen[p.event.device] = p.t
            if p.id_reused:
                m.id_reuses.inc()
                self._limiter.log(
                    "id reuses",
                    f"{p.event.device} sent id {p.event.msg_id!r} again with other content:"
                    " processed as a new event (a restarted device?)",
                )
        elif p.verdict is Verdict.DUPLICATE:
            m.duplicates.inc()
        elif p.rejection is not None:
            m.rejected.labels(p.rejection.reason.value).inc()
            m.rejected_all.inc()
            self._limiter.log(f"rejected ({p.rejection.reason})", p.rejection.log_line())


class CommandPublisher:
    """Switches floodlights on (docs/protocol.md §3, rule 5) for changes that are on disk."""

    def __init__(self, site: Site, link: MqttLink, metrics: Metrics) -> None:
        self.site = site
        self.link = link
        self.metrics = metrics

    def __call__(self, changes: list[Change]) -> None:
        for c in changes:
            if isinstance(c, FloodlightCommanded):
                payload = orjson.dumps(floodlight_command(c.incident_id))
                self.link.publish(command_topic(self.site, c.floodlight), payload, qos=1)
                self.metrics.commands.inc()
