"""The websocket hub: a snapshot on connect, then ordered, numbered updates.

Updates are coalesced: whatever changed during one short frame goes out as one
message with one ``seq`` (``incidents``: the latest state of each incident that
changed; ``events``: the sensor events that joined them; ``changes``: everything
else), serialised once and sent to every client. Each client
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

from dashboard.wire import coalesce

log = logging.getLogger("vigie.hub")

FRAME_S: Final = 0.01
"""Coalescing frame: one fan-out per 10 ms at most. One websocket send costs ~10 us
here, so per-message fan-out to 50 clients at 2,000 msg/s would fill a core; at 10 ms
frames bench/push_latency.py measured a service-side p99 of 20-26 ms (20 ms frames:
lower frame rate, but every change waits longer)."""

CLIENT_QUEUE: Final = 256
"""Frames a client may lag behind (~5 s at full rate) before it is cut off."""

SLOW_CLIENT_CODE: Final = 1013  # "try again later"


class _Client:
    __slots__ = ("queue", "sender", "slow", "ws")

    def __init__(self, ws: WebSocket) -> None:
        self.ws = ws
        self.queue: asyncio.Queue[str] = asyncio.Queue(CLIENT_QUEUE)
        self.slow = False
        self.sender: asyncio.Task[None] | None = None


class Hub:
    """Fans the engine's changes out to the connected pages."""

    def __init__(self, snapshot: Callable[[], dict[str, Any]], latency: Histogram) -> None:
        self._snapshot = snapshot
        self._latency = latency
        self._clients: set[_Client] = set()
        self._pending: list[dict[str, Any]] = []
        self._received: list[float] = []
        self._wake = asyncio.Event()
        self.seq = 0
        self.slow_closed = 0

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
        while True:
            await self._wake.wait()
            await asyncio.sleep(FRAME_S)
            self._wake.clear()
            self._flush()

    def _flush(self) -> None:
        if not self._pending:
            return
        # Take the pending changes first: a change that cannot be sent costs one frame
        # (clients see the gap in seq and ask for a snapshot), never the hub itself.
        pending, self._pending = self._pending, []
        received, self._received = self._received, []
        self.seq += 1
        frame = {"type": "update", "seq": self.seq, "t": time.time(), **coalesce(pending)}
        text = orjson.dumps(frame).decode()
        for client in list(self._clients):
            try:
                client.queue.put_nowait(text)
            except asyncio.QueueFull:
                self._cut_off(client)
        now = time.time()
        for t in received:
            self._latency.observe(max(0.0, now - t))

    def _attach(self, client: _Client) -> None:
        """Queue a snapshot ahead of any later frame, then register: no await in between."""
        while not client.queue.empty():
            client.queue.get_nowait()
        snapshot = {"type": "snapshot", "seq": self.seq, "picture": self._snapshot()}
        client.queue.put_nowait(orjson.dumps(snapshot).decode())
        self._clients.add(client)

    def _cut_off(self, client: _Client) -> None:
        client.slow = True
        self._clients.discard(client)
        self.slow_closed += 1
        if client.sender is not None:
            client.sender.cancel()
        log.warning("websocket client too slow (%d frames behind): closing it", CLIENT_QUEUE)

    async def serve(self, ws: WebSocket) -> None:
        """Run one accepted websocket until it closes or falls too far behind."""
        client = _Client(ws)
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
