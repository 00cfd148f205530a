"""Video in the live service (docs/video.md, docs/protocol.md §12): one
:class:`~adapters.video.feed.CameraFeed` per camera, connected to its worker's live
feed; evidence clips for the incidents with camera events, kept in the store; the
retention rule; a full disk that stops clips and shows a fault while the live view,
the analysis and the service go on.

The service calls this module through a few hooks: :meth:`CameraVideo.jobs` (its
supervised tasks), ``CameraVideo`` itself as an ingest subscriber (committed changes),
:meth:`CameraVideo.set_feed` (a worker's feed address), :meth:`CameraVideo.annotate`
(the picture), and :meth:`CameraVideo.close` (at exit, before the store closes).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import shutil
import socket
import time
from collections import deque
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Final

from prometheus_client import CollectorRegistry, Counter, Gauge
from websockets.exceptions import InvalidURI, WebSocketException

from adapters.video.clips import ClipFile, StoredClip, plan_retention, salvage
from adapters.video.feed import CameraFeed
from adapters.video.live import Fanout
from dashboard.hub import Hub
from fusion.changes import Change, IncidentJoined, IncidentOpened
from fusion.events import DeviceEvent, DeviceKind
from fusion.records import ClipRecord
from fusion.site import Camera, Site
from fusion.wire import clip_kept_json, recording_json
from vigie.config import VideoSettings
from vigie.lograte import LogLimiter
from vigie.store import Store, StoreRefused, StoreUnavailable
from vigie.store.clips import KeptClip, NewClip
from vigie.supervisor import Backoff

log = logging.getLogger("vigie.video")

StoreCall = Callable[..., Awaitable[Any]]

TICK_S: Final = 0.5
"""Clips whose end has passed with no frame after it (a stalled camera) are finished
within this; the issue asks for a clip within 2 s of its end."""

DISK_CHECK_S: Final = 5.0
"""How often the clip folder's free space is looked at (one statvfs call)."""

RETENTION_EVERY_S: Final = 600.0
"""Retention runs at start, every 10 minutes (incidents resolved long enough ago), and
after each clip that takes the folder past its budget."""

CLOCK_TRUST_S: Final = 10.0
"""A camera's own time for an event is used for its clip only within this of the
service's: a camera whose clock is off must not move its clip away from the event."""

FEED_RETRY_FIRST_S: Final = 0.2
FEED_RETRY_MAX_S: Final = 2.0
"""The worker's feed is on this machine as a rule: try again soon (a restarted worker
takes about a second to serve its feed)."""


def local_port() -> int:
    """A free TCP port on the loopback, for a worker's live feed."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class VideoMetrics:
    """What ``/metrics`` shows of video (docs/service.md, "Metrics")."""

    def __init__(self, registry: CollectorRegistry) -> None:
        r = registry
        self.clips = Counter("vigie_clips_kept", "Evidence clips written and stored", registry=r)
        self.clip_bytes = Gauge("vigie_clips_bytes", "Bytes of the clips kept", registry=r)
        self.removed = Counter(
            "vigie_clips_removed",
            "Clips removed by retention: expired (resolved more than clip_keep_days ago) or"
            " over_budget (oldest resolved first, to fit clip_budget_bytes)",
            ["reason"],
            registry=r,
        )
        self.over_budget = Gauge(
            "vigie_clips_over_budget_bytes",
            "Bytes over the clip budget that only open incidents' clips hold (never removed)",
            registry=r,
        )
        self.refused = Counter(
            "vigie_clips_refused",
            "Clips not started because the clip folder's disk is full",
            registry=r,
        )
        self.failures = Gauge(
            "vigie_clip_failures_total", "Clips that could not be written (disk full)", registry=r
        )
        self.recording_faults = Gauge(
            "vigie_recording_faults", "Cameras whose clips are stopped by a fault", registry=r
        )
        self.viewers = Gauge("vigie_live_viewers", "Live views open in browsers", registry=r)
        self.viewers_cut = Gauge(
            "vigie_live_viewers_cut_total",
            "Live views closed for being too slow (their queue is bounded)",
            registry=r,
        )
        self.feeds = Gauge(
            "vigie_live_feeds_connected", "Camera workers' live feeds connected", registry=r
        )


class CameraVideo:
    """Every camera's live feed and evidence clips, for one running service."""

    def __init__(
        self,
        site: Site,
        settings: VideoSettings,
        *,
        store: Store,
        db: StoreCall,
        hub: Hub,
        registry: CollectorRegistry,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.folder = settings.clip_folder
        self.store, self._db, self.hub, self._clock = store, db, hub, clock
        self.cameras: dict[str, Camera] = {c.id: c for c in site.cameras}
        self.feeds = {
            c.id: CameraFeed(
                c.id,
                c.live_feed or "",
                self.folder,
                c.pre_capture_s,
                on_clip=self._clip_done,
                on_fault=functools.partial(self._feed_fault, c.id),
            )
            for c in site.cameras
        }
        self._addressed = {c.id: asyncio.Event() for c in site.cameras}
        for c in site.cameras:
            if c.live_feed:
                self._addressed[c.id].set()
        self.disk_fault: str | None = None
        self.kept_bytes = 0  # of the clips kept, as of the last retention run and since
        self.over_budget = 0
        self._finished: deque[ClipFile] = deque()
        self._clip_ready = asyncio.Event()
        self._salvage()
        self._retention_due = asyncio.Event()
        self._retention_due.set()  # once at start
        self._loop = asyncio.get_running_loop()
        self._limiter = LogLimiter(log)
        self.metrics = m = VideoMetrics(registry)
        m.failures.set_function(lambda: sum(f.counts.clip_failures for f in self.feeds.values()))
        m.viewers.set_function(lambda: sum(f.fanout.viewers for f in self.feeds.values()))
        m.viewers_cut.set_function(lambda: sum(f.fanout.closed_slow for f in self.feeds.values()))
        m.feeds.set_function(lambda: sum(f.connected for f in self.feeds.values()))
        m.recording_faults.set_function(lambda: sum(1 for c in self.cameras if self.fault(c)))

    def _salvage(self) -> None:
        """Parts a killed service left unfinished: each incident keeps its clip up to
        where the service stopped, listed like any other. Done before any feed runs, so
        that no new part of this run can take a left part's name."""
        for clip in salvage(self.folder):
            log.warning(
                "unfinished clip of %s from %s finished after a restart: %s (%.1f s)",
                clip.key, clip.camera, clip.path.name, clip.end - clip.start,
            )  # fmt: skip
            self._finished.append(clip)
            self._clip_ready.set()

    # -- hooks for the service ----------------------------------------------------------

    def jobs(self) -> list[tuple[str, Callable[[], Awaitable[None]]]]:
        """The tasks to run under the service's supervisor (none is vital)."""
        feeds = [(f"video {c}", functools.partial(self._run_feed, c)) for c in self.feeds]
        return [
            *feeds,
            ("clips", self._keep_clips),
            ("clip timer", self._tick),
            ("clip retention", self._retention),
        ]

    def set_feed(self, camera: str, url: str) -> None:
        """Where the camera's worker serves its feed (the service chose the port)."""
        self.feeds[camera].url = url
        self._addressed[camera].set()

    def fanout(self, camera: str) -> Fanout | None:
        """The camera's live segments, for a browser's websocket."""
        feed = self.feeds.get(camera)
        return feed.fanout if feed is not None else None

    def fault(self, camera: str) -> str | None:
        """Why the camera's clips are stopped, or None."""
        return self.disk_fault or self.feeds[camera].fault

    def annotate(self, picture: dict[str, Any]) -> dict[str, Any]:
        """Each camera of the picture with whether its live feed is up and its recording
        fault."""
        for entry in picture.get("cameras", ()):
            feed = self.feeds.get(entry["id"])
            if feed is not None:
                fault = self.fault(entry["id"])
                entry["live"] = feed.connected
                entry["recording"] = recording_json(entry["id"], fault, picture["t"])
        return picture

    def clip_path(self, name: str) -> Path | None:
        """A kept clip's file, if it is there (a name from the store, checked anyway)."""
        path = self.folder / name
        if path.name != name or not path.is_file():
            return None
        return path

    def __call__(self, changes: list[Change]) -> None:
        """Ingest subscriber: a camera event of an incident asks its camera for a clip
        from pre_capture_s before it to post_capture_s after it (a later one extends it)."""
        for c in changes:
            if (
                isinstance(c, IncidentOpened | IncidentJoined)
                and c.event.kind is DeviceKind.CAMERA
                and c.event.device in self.feeds
            ):
                self.record(c.incident.id, c.event, c.t)

    def record(self, incident_id: str, event: DeviceEvent, t: float) -> None:
        camera = self.cameras[event.device]
        first, last = t, t
        if event.device_ts is not None and abs(event.device_ts - t) <= CLOCK_TRUST_S:
            first, last = min(t, event.device_ts), max(t, event.device_ts)
        if self.disk_fault is not None:
            self.metrics.refused.inc()
            self._limiter.log("clips refused", f"no clip of {camera.id} for {incident_id}: "
                              f"{self.disk_fault}")  # fmt: skip
            return
        self.feeds[camera.id].record(
            incident_id, first - camera.pre_capture_s, last + camera.post_capture_s
        )

    async def close(self) -> None:
        """At exit: clips in progress are finished with what they have, and stored."""
        for feed in self.feeds.values():
            await asyncio.to_thread(feed.close)
        await self._store_finished(retry=False)

    # -- the live feeds -------------------------------------------------------------------

    async def _run_feed(self, camera: str) -> None:
        feed = self.feeds[camera]
        backoff = Backoff(first=FEED_RETRY_FIRST_S, cap=FEED_RETRY_MAX_S)
        while True:
            await self._addressed[camera].wait()
            segments = feed.counts.segments
            try:
                await feed.run()
            except (OSError, TimeoutError, WebSocketException) as exc:
                if feed.counts.segments > segments:
                    log.warning("camera %s: live feed lost (%s); reconnecting", camera, exc)
                elif isinstance(exc, InvalidURI):
                    raise
            if feed.counts.segments > segments:
                backoff.reset()
            await asyncio.sleep(backoff.next_delay())

    # -- clips ----------------------------------------------------------------------------

    def _clip_done(self, clip: ClipFile) -> None:
        """A feed finished a clip (on the loop, or in a thread at exit)."""
        self._finished.append(clip)
        self._loop.call_soon_threadsafe(self._clip_ready.set)

    async def _keep_clips(self) -> None:
        while True:
            await self._clip_ready.wait()
            self._clip_ready.clear()
            await self._store_finished(retry=True)

    async def _store_finished(self, retry: bool) -> None:
        backoff = Backoff(first=0.5, cap=10.0)
        while self._finished:
            clip = self._finished[0]
            row = NewClip(
                clip.key, clip.camera, clip.start, clip.end, clip.path.name, clip.size,
                self._clock(),
            )  # fmt: skip
            try:
                seq = await self._db(self.store.save_clip, row)
            except StoreUnavailable as exc:
                if not retry:
                    log.error("clip %s not recorded in the store: %s", clip.path.name, exc)
                    return
                await asyncio.sleep(backoff.next_delay())
                continue
            except StoreRefused as exc:
                log.error("the store refused clip %s: %s", clip.path.name, exc)
                self._finished.popleft()
                continue
            self._finished.popleft()
            self.metrics.clips.inc()
            log.info(
                "clip of %s from %s kept: %s (%.1f s, %d bytes)",
                clip.key, clip.camera, clip.path.name, clip.end - clip.start, clip.size,
            )  # fmt: skip
            record = ClipRecord(seq, clip.camera, clip.start, clip.end, clip.size)
            self.hub.publish([clip_kept_json(clip.key, record)], [])
            self.kept_bytes += clip.size
            self.metrics.clip_bytes.set(self.kept_bytes)
            if self.kept_bytes > self.settings.clip_budget_bytes:
                self._retention_due.set()

    def _feed_fault(self, camera: str, fault: str | None) -> None:
        if fault is not None:
            log.error("camera %s: clips stopped: %s", camera, fault)
        else:
            log.warning("camera %s: clips written again", camera)
        self.hub.publish([recording_json(camera, self.fault(camera), self._clock())], [])

    async def _tick(self) -> None:
        """Finish clips whose end has passed; watch the clip folder's free space."""
        next_disk_check = 0.0
        while True:
            now = self._clock()
            for feed in self.feeds.values():
                feed.finish_due(now)
            self._limiter.flush()
            if now >= next_disk_check:
                next_disk_check = now + DISK_CHECK_S
                self._check_disk(await asyncio.to_thread(self._free_bytes))
            await asyncio.sleep(TICK_S)

    def _free_bytes(self) -> int | None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            return shutil.disk_usage(self.folder).free
        except OSError as exc:
            log.error("clip folder %s: %s", self.folder, exc)
            return None

    def _check_disk(self, free: int | None) -> None:
        reserve = self.settings.clip_reserve_bytes
        if free is None:
            fault: str | None = f"clip folder unusable: {self.folder}"
        elif free < reserve:
            fault = f"disk full: {free // 2**20} MB free, {reserve // 2**20} MB kept free"
        else:
            fault = None
        was, self.disk_fault = self.disk_fault, fault
        if (fault is None) == (was is None):
            return  # no change (or only in the figures of the message)
        if fault is not None:
            log.error("clips stopped: %s", fault)
            for feed in self.feeds.values():
                feed.stop_recording()
        else:
            log.warning("clips resume: the clip folder has room again")
        now = self._clock()
        self.hub.publish([recording_json(c, self.fault(c), now) for c in self.feeds], [])

    # -- retention ------------------------------------------------------------------------

    async def _retention(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._retention_due.wait(), RETENTION_EVERY_S)
            self._retention_due.clear()
            await self.apply_retention()

    async def apply_retention(self) -> None:
        """Remove what the retention rule says (docs/video.md, "Clips"), count and log it."""
        kept: list[KeptClip] = await self._db(self.store.kept_clips)
        now = self._clock()
        plan = plan_retention(
            [StoredClip(k.name, k.size, k.start, k.resolved_at) for k in kept],
            now,
            self.settings.clip_keep_days,
            self.settings.clip_budget_bytes,
        )
        by_name = {k.name: k for k in kept}
        total = sum(k.size for k in kept)
        for why, gone in (
            ("expired", plan.remove[: plan.expired]),
            ("over_budget", plan.remove[plan.expired :]),
        ):
            if not gone:
                continue
            await asyncio.to_thread(self._unlink, [c.path for c in gone])
            await self._db(self.store.clips_removed, [by_name[c.path].seq for c in gone], now, why)
            size = sum(c.size for c in gone)
            total -= size
            self.metrics.removed.labels(why).inc(len(gone))
            log.info("retention removed %d clips (%s, %d bytes)", len(gone), why, size)
        self.kept_bytes = total
        self.metrics.clip_bytes.set(total)
        if plan.still_over_by and plan.still_over_by != self.over_budget:
            log.warning(
                "clips of open incidents alone are %d bytes over the budget: kept",
                plan.still_over_by,
            )
        self.over_budget = plan.still_over_by
        self.metrics.over_budget.set(plan.still_over_by)

    def _unlink(self, names: list[str]) -> None:
        for name in names:
            try:
                (self.folder / name).unlink(missing_ok=True)
            except OSError as exc:
                log.error("could not remove clip %s: %s", name, exc)
