"""The websocket hub on a hand-written fake socket (no server needed to see ordering)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from prometheus_client import CollectorRegistry, Histogram
from starlette.websockets import WebSocketDisconnect, WebSocketState

from dashboard import hub as hub_module
from dashboard.hub import Hub


class FakeSocket:
    """Records what is sent; ``stalled`` makes sends hang like a client that stopped reading."""

    def __init__(self, stalled: bool = False) -> None:
        self.sent: list[dict[str, Any]] = []
        self.inbox: asyncio.Queue[str] = asyncio.Queue()
        self.stalled = stalled
        self.closed: tuple[int, str] | None = None
        self.application_state = WebSocketState.CONNECTED

    async def send_text(self, text: str) -> None:
        if self.stalled:
            await asyncio.Event().wait()
        self.sent.append(json.loads(text))

    async def receive_text(self) -> str:
        text = await self.inbox.get()
        if text == "bye":
            raise WebSocketDisconnect(1000)
        return text

    async def close(self, code: int, reason: str = "") -> None:
        self.closed = (code, reason)
        self.application_state = WebSocketState.DISCONNECTED


def make_hub() -> Hub:
    latency = Histogram("t", "t", registry=CollectorRegistry())
    return Hub(lambda desk: {"zones": []}, latency)


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(hub_module.FRAME_S * 2)


def test_snapshot_then_numbered_updates_in_order() -> None:
    async def scenario() -> list[dict[str, Any]]:
        hub = make_hub()
        runner = asyncio.create_task(hub.run())
        hub.publish([{"type": "zone", "id": "Z01"}], [0.0])
        await settle()
        ws = FakeSocket()
        serving = asyncio.create_task(hub.serve(ws))  # type: ignore[arg-type]
        await settle()
        for n in range(3):
            hub.publish([{"type": "zone", "id": f"Z0{n}"}], [0.0])
            await settle()
        ws.inbox.put_nowait(json.dumps({"type": "snapshot"}))
        await settle()
        ws.inbox.put_nowait("bye")
        await serving
        runner.cancel()
        return ws.sent

    sent = asyncio.run(scenario())
    assert [m["type"] for m in sent] == ["snapshot", "update", "update", "update", "snapshot"]
    assert [m["seq"] for m in sent] == [1, 2, 3, 4, 4]


def test_a_client_too_slow_to_keep_up_is_closed_and_the_others_are_not() -> None:
    async def scenario() -> tuple[FakeSocket, FakeSocket, Hub]:
        hub = make_hub()
        slow, quick = FakeSocket(stalled=True), FakeSocket()
        tasks = [asyncio.create_task(hub.serve(ws)) for ws in (slow, quick)]  # type: ignore[arg-type]
        for n in range(hub_module.CLIENT_QUEUE + 5):
            hub.publish([{"n": n}], [0.0])
            hub._flush()
            await asyncio.sleep(0)
        await asyncio.sleep(0.1)
        quick.inbox.put_nowait("bye")
        await asyncio.wait_for(asyncio.gather(*tasks), 5)
        return slow, quick, hub

    slow, quick, hub = asyncio.run(scenario())
    assert hub.slow_closed == 1
    assert slow.closed is not None and slow.closed[0] == hub_module.SLOW_CLIENT_CODE
    assert "too slow" in slow.closed[1]
    seqs = [m["seq"] for m in quick.sent]
    assert quick.sent[0]["type"] == "snapshot"
    assert seqs == list(range(seqs[0], hub.seq + 1)), "the quick client missed nothing"
    assert len(seqs) > hub_module.CLIENT_QUEUE
