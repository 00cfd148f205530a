"""A small web app for the live-view tests and bench: the page, live.js, and one
websocket per camera fed by a :class:`CameraFeed` from a camera worker's feed, as the
service will mount them (docs/video.md)."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket
from websockets.exceptions import WebSocketException

from adapters.video.clips import ClipFile
from adapters.video.feed import CameraFeed
from adapters.video.live import serve_viewer
from tests.peers import REPO, free_port, wait_for_port

CSP = "default-src 'self'; media-src 'self' blob:"
"""The policy the dashboard is to send: live.js works under it (docs/video.md)."""

PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>live</title></head>
<body>{videos}<script type="module" src="/probe.js"></script></body></html>"""


class LiveRig:
    """Serves ``feeds`` (camera id -> worker feed URL) on a free port, in a thread."""

    def __init__(self, feeds: dict[str, str], clip_folder: Path, pre_capture_s: float = 5.0):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.clips: list[ClipFile] = []
        self.faults: list[str | None] = []
        self.feeds = {
            cam: CameraFeed(
                cam, url, clip_folder, pre_capture_s,
                on_clip=self.clips.append, on_fault=self.faults.append,
            )
            for cam, url in feeds.items()
        }  # fmt: skip
        self.loop: asyncio.AbstractEventLoop | None = None
        routes = [
            Route("/", self._page),
            Route("/static/live.js", self._file(REPO / "dashboard/static/live.js")),
            Route("/probe.js", self._file(Path(__file__).with_name("live_probe.js"))),
            WebSocketRoute("/api/cameras/{camera}/live", self._live),
        ]
        self.app = Starlette(routes=routes, lifespan=self._lifespan)
        config = uvicorn.Config(
            self.app, host="127.0.0.1", port=self.port, log_level="warning",
            ws_per_message_deflate=False,
        )  # fmt: skip
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> LiveRig:
        self.thread.start()
        wait_for_port(self.port)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)

    def call(self, fn: object, *args: object) -> None:
        """Run ``fn(*args)`` on the rig's loop (feeds are not thread-safe)."""
        assert self.loop is not None and callable(fn)
        self.loop.call_soon_threadsafe(fn, *args)

    def page_url(self, cameras: list[str]) -> str:
        return f"{self.base}/?cameras={','.join(cameras)}"

    async def _page(self, request: Request) -> HTMLResponse:
        cameras = request.query_params.get("cameras", ",".join(self.feeds)).split(",")
        videos = "".join(f'<video data-camera-live="{c}"></video>' for c in cameras)
        return HTMLResponse(PAGE.format(videos=videos), headers={"Content-Security-Policy": CSP})

    @staticmethod
    def _file(path: Path) -> Callable[[Request], Awaitable[FileResponse]]:
        async def serve(request: Request) -> FileResponse:
            return FileResponse(path, media_type="text/javascript")

        return serve

    async def _live(self, websocket: WebSocket) -> None:
        feed = self.feeds.get(websocket.path_params["camera"])
        if feed is None:
            await websocket.close(1008)
            return
        await websocket.accept()
        await serve_viewer(websocket, feed.fanout)

    @contextlib.asynccontextmanager
    async def _lifespan(self, app: Starlette) -> AsyncIterator[None]:
        self.loop = asyncio.get_running_loop()
        async with asyncio.TaskGroup() as tasks:
            jobs = [tasks.create_task(self._keep(feed)) for feed in self.feeds.values()]
            jobs.append(tasks.create_task(self._tick()))
            try:
                yield
            finally:
                for job in jobs:
                    job.cancel()
        for feed in self.feeds.values():
            feed.close()

    async def _keep(self, feed: CameraFeed) -> None:
        while True:  # the service's supervisor does this; a test needs only a retry
            with contextlib.suppress(OSError, WebSocketException):
                await feed.run()
            await asyncio.sleep(0.2)

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(0.25)
            for feed in self.feeds.values():
                feed.finish_due(time.time())
