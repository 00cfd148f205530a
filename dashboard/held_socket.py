"""A websocket held open only while its caller's credential holds: the site's ``/ws``, a
camera's live view and the joint centre's ``/ws`` all refuse and end their sockets this
one way (docs/service.md, "Security")."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine
from typing import Any, Final

from fastapi import HTTPException, WebSocket
from fastapi.responses import JSONResponse
from starlette.websockets import WebSocketDisconnect, WebSocketState

from dashboard.credentials import Caller, Credentials

SESSION_ENDED_CODE: Final = 1008  # policy violation: the credential no longer holds


async def refuse(websocket: WebSocket, exc: HTTPException) -> None:
    """An HTTP answer in place of the handshake: no socket, no error in the server's log."""
    await websocket.send_denial_response(
        JSONResponse({"detail": exc.detail}, exc.status_code, headers=exc.headers)
    )


async def serve_while_signed_in(
    websocket: WebSocket,
    credentials: Credentials,
    caller: Caller,
    serving: Coroutine[Any, Any, object],
) -> None:
    """Accept, run ``serving`` until it ends or the caller's credential stops holding
    (logout, a changed users file, an expired session); then close with 1008."""
    try:
        await websocket.accept()
    except BaseException:
        serving.close()  # never started: not left unawaited
        raise
    served = asyncio.create_task(serving)
    watching = asyncio.create_task(credentials.until_invalid(caller))
    try:
        done, _ = await asyncio.wait({served, watching}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (served, watching):
            task.cancel()
        await asyncio.gather(served, watching, return_exceptions=True)
    if watching in done and websocket.application_state is WebSocketState.CONNECTED:
        with contextlib.suppress(RuntimeError, OSError, WebSocketDisconnect):
            await websocket.close(SESSION_ENDED_CODE, "session ended: sign in again")
