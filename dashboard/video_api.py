"""Video through the API (docs/protocol.md §12, docs/video.md): a camera's live view on
a websocket, and the incidents' evidence clips as MP4 files, to the same callers and
credentials as the rest of the API.

``GET /api/clips/{id}.mp4`` answers range requests (a browser seeks with them).
``/api/cameras/{camera}/live`` sends the camera's fragmented MP4 as the worker made it
once: the service never decodes or re-encodes video for a viewer.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Final, Protocol

from fastapi import Depends, FastAPI, HTTPException, Request, WebSocket
from fastapi.responses import FileResponse

from adapters.video.live import Fanout, serve_viewer
from dashboard.credentials import Caller, Credentials
from dashboard.held_socket import refuse, serve_while_signed_in

CLIP_NUMBER: Final = re.compile(r"^[0-9]{1,18}$")
"""A clip number as the store can hold it (a 64-bit integer)."""


class VideoRoom(Protocol):
    """What these routes need from the service."""

    def live_feed(self, camera: str) -> Fanout | None: ...
    async def clip_file(self, seq: int) -> Path | None: ...


async def _viewer(request: Request) -> Caller:
    credentials: Credentials = request.app.state.credentials
    return await credentials.caller(request)


Viewer = Annotated[Caller, Depends(_viewer)]


def video_routes(app: FastAPI, room: VideoRoom) -> None:
    credentials: Credentials = app.state.credentials

    @app.get("/api/clips/{name}", response_class=FileResponse)
    async def clip(name: str, caller: Viewer) -> FileResponse:
        """An evidence clip (``<id>.mp4``, as listed in its incident's ``clips``)."""
        seq, dot, ext = name.partition(".")
        path = await room.clip_file(int(seq)) if CLIP_NUMBER.match(seq) and ext == "mp4" else None
        if path is None or not dot:
            raise HTTPException(404, f"no clip {name[:30]}")
        return FileResponse(
            path,
            media_type="video/mp4",
            headers={"Cache-Control": "private, max-age=86400"},  # a clip never changes
        )

    @app.websocket("/api/cameras/{camera}/live")
    async def live(websocket: WebSocket, camera: str) -> None:
        """The camera live (docs/video.md, "Wire format"), while the credential holds."""
        try:
            caller = await credentials.caller(websocket)
        except HTTPException as exc:
            await refuse(websocket, exc)
            return
        fanout = room.live_feed(camera)
        if fanout is None:
            await refuse(websocket, HTTPException(404, f"no camera {camera[:60]}"))
            return
        await serve_while_signed_in(websocket, credentials, caller, serve_viewer(websocket, fanout))
