"""The websocket hub: a snapshot on connect, then ordered, numbered updates.

When the site is quiet a change goes out at once; under load, updates are coalesced:
whatever changed during one short frame goes out as one message with one ``seq``
(``incidents``: the latest state of each incident that changed; ``events``: the device
events that joined them; ``changes``: everything else), serialised once and sent to
every client. Each client
has a bounded queue; a client that falls that far behind is closed with a reason
(and counted) instead of slowing the others. A client that sees a gap in ``seq``
sends ``{"type": "snapshot"}`` and gets a fresh picture.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any, Final

import orjson
from prometheus_client import Histogram
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from dashboard.desks import Visible, changes_for, touches_intel

log = logging.getLogger("vigie.hub")

FRAME_S: Final = 0.01
"""Coalescing frame: one fan-out per 10 ms at most. One websocket send costs ~10 us
here, so per-message fan-out to 50 clients at 2,000 msg/s would fill a core; at 10 ms
frames bench/push_latency.py measured a service-side p99 of 20-26 ms (20 ms frames:
lower frame rate, but every change waits longer). A change that comes after a quiet
frame is sent at once: coalescing only costs latency under load."""

CLIENT_QUEUE: Final = 256
"""Frames a client may lag behind (~5 s at full rate) before it is cut off."""

SLOW_CLIENT_CODE: Final = 1013  # "try again later"


Snapshot = Callable[[str | None], dict[str, Any]]
"""The picture as the given desk may see it (docs/protocol.md §9)."""

DeskFilter = Callable[[str | None], Visible]
"""For a desk, which intelligence items (by id) it may see."""


class _Client:
    __slots__ = ("desk", "queue", "sender", "slow", "ws")

    def __init__(self, ws: WebSocket, desk: str | None) -> None:
        self.ws = ws
        self.desk = desk
        self.queue: asyncio.Queue[str] = asyncio.Queue(CLIENT_QUEUE)
        self.slow = False
        self.sender: asyncio.Task[None] | None = None


class Hub:
    """Fans the engine's changes out to the connected pages."""

    def __init__(
        self, snapshot: Snapshot, latency: Histogram, visible: DeskFilter | None = None
    ) -> None:
        self._snapshot = snapshot
        self._visible = visible
        self._latency = latency
        self._clients: set[_Client] = set()
        self._pending: list[dict[str, Any]] = []
        self._received: list[float] = []
        self._wake = asyncio.Event()
        self.seq = 0
        self.slow_closed = 0
        self.dropped_changes = 0
        self._last_flush = 0.0

    @property
    def clients(self) -> int:
        return len(self._clients)

    def publish(self, changes: list[dict[str, Any]], received: list[float]) -> None:
        """Queue changes for the next frame; ``received`` are the source messages' arrivals."""
        if changes:
            self._pending.extend(changes)
            self._received.extend(received)
            self._wake.set()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._wake.wait()
            wait = self._last_flush + FRAME_S - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            self._wake.clear()
            self._last_flush = loop.time()
            self._flush()

    def _flush(self) -> None:
        if not self._pending:
            return
        # Take the pending changes first: a change that cannot be sent costs one frame
        # (clients see the gap in seq and ask for a snapshot), never the hub itself.
        pending, self._pending = self._pending, []
        received, self._received = self._received, []
        self.seq += 1
        head = {"type": "update", "seq": self.seq, "t": time.time()}
        texts: dict[str | None, str] = {}
        per_desk = self._visible is not None and touches_intel(pending)
        for client in list(self._clients):
            key = client.desk if per_desk else None
            text = texts.get(key)
            if text is None:
                changes = pending
                if per_desk and self._visible is not None:
                    changes = changes_for(pending, key, self._visible(key))
                text = texts[key] = self._encode(head, changes)
            try:
                client.queue.put_nowait(text)
            except asyncio.QueueFull:
                self._cut_off(client)
        now = time.time()
        for t in received:
            self._latency.observe(max(0.0, now - t))

    def _encode(self, head: dict[str, Any], pending: list[dict[str, Any]]) -> str:
        """The frame as text. The parser lets through only what encodes; should a change
        still fail, it alone is dropped (and counted), never the frame or the hub."""
        try:
            return orjson.dumps({**head, **coalesce(pending)}).decode()
        except (TypeError, ValueError):
            good = []
            for change in pending:
                try:
                    orjson.dumps(change)
                    good.append(change)
                except (TypeError, ValueError):
                    self.dropped_changes += 1
                    log.error("a change could not be encoded for the websocket: dropped")
            return orjson.dumps({**head, **coalesce(good)}).decode()

    def _attach(self, client: _Client) -> None:
        """Queue a snapshot ahead of any later frame, then register: no await in between."""
        while not client.queue.empty():
            client.queue.get_nowait()
        snapshot = {"type": "snapshot", "seq": self.seq, "picture": self._snapshot(client.desk)}
        client.queue.put_nowait(orjson.dumps(snapshot).decode())
        self._clients.add(client)

    def _cut_off(self, client: _Client) -> None:
        client.slow = True
        self._clients.discard(client)
        self.slow_closed += 1
        if client.sender is not None:
            client.sender.cancel()
        log.warning("websocket client too slow (%d frames behind): closing it", CLIENT_QUEUE)

    async def serve(self, ws: WebSocket, desk: str | None = None) -> None:
        """Run one accepted websocket until it closes or falls too far behind; it sees
        what ``desk`` may see."""
        client = _Client(ws, desk)
        self._attach(client)
        client.sender = sender = asyncio.create_task(self._send(client))
        receiver = asyncio.create_task(self._receive(client))
        try:
            await asyncio.wait({sender, receiver}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            self._clients.discard(client)
            for task in (sender, receiver):
                task.cancel()
            await asyncio.gather(sender, receiver, return_exceptions=True)
        if client.slow and ws.application_state is WebSocketState.CONNECTED:
            with contextlib.suppress(TimeoutError, RuntimeError, OSError, WebSocketDisconnect):
                await asyncio.wait_for(ws.close(SLOW_CLIENT_CODE, "too slow: update queue full"), 2)

    async def _receive(self, client: _Client) -> None:
        with contextlib.suppress(WebSocketDisconnect):
            while True:
                if _wants_snapshot(await client.ws.receive_text()) and not client.slow:
                    self._attach(client)

    async def _send(self, client: _Client) -> None:
        with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
            while True:
                await client.ws.send_text(await client.queue.get())


def _wants_snapshot(message: str) -> bool:
    try:
        body = orjson.loads(message)
    except orjson.JSONDecodeError:
        return False
    return isinstance(body, dict) and body.get("type") == "snapshot"


def coalesce(changes: list[dict[str, Any]]) -> dict[str, Any]:
    """One frame's changes, with each incident sent once (its latest state) and each
    device event once, compactly. Joins that brought nothing new beyond their event
    travel only as events: at 2,000 alarms/s this cuts a frame by about seven times.
    Incidents are told apart by ``site`` too: a joint centre's frames carry several sites,
    whose incident ids may be the same (docs/centre.md)."""
    incidents: dict[tuple[Any, Any], dict[str, Any]] = {}
    events: list[dict[str, Any]] = []
    rest: list[dict[str, Any]] = []
    for c in changes:
        if c.get("type") != "incident":
            rest.append(c)
            continue
        view = c["incident"]
        incidents[view.get("site"), view["id"]] = view
        event = c.get("event")
        if event is not None:
            events.append({**event, "incident": view["id"]})
        if c["change"] != "joined" or c.get("new_zone"):
            marker = {k: v for k, v in c.items() if k not in ("incident", "event")}
            marker["id"] = view["id"]
            rest.append(marker)
    return {"incidents": list(incidents.values()), "events": events, "changes": rest}
