"""The joint centre's REST and websocket API (docs/protocol.md §10, docs/centre.md).

The same edge as a site's (:mod:`dashboard.api`): body limit, security headers,
sign-in sessions, credentials and their order of answers (401, 403, then 415, 422).
On top, every caller sits at a desk, and a desk sees only its sites: in the picture,
the incidents, the websocket and the requests. A desk that does not act is refused
acknowledgements and resolutions (403) whatever the role; an allowed one is answered
202 with a request id, and the site's outcome follows on the websocket.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Annotated, Any, Protocol

from fastapi import Depends, FastAPI, HTTPException, Request, Response, WebSocket
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from dashboard.api import (
    STATIC,
    Viewer,
    WebSettings,
    _sign_in_routes,
)
from dashboard.auth import Users
from dashboard.bodies import AckBody, ResolveBody, body_doc, json_body
from dashboard.credentials import Credentials
from dashboard.held_socket import refuse, serve_while_signed_in
from dashboard.hub import Hub
from dashboard.security import BodyLimit, SecurityHeaders
from dashboard.sessions import SessionBook, SessionStore
from fusion.incidents import IncidentState


class CentreRoom(Protocol):
    """What the API needs from the centre behind it."""

    centre_id: str

    @property
    def sessions(self) -> SessionStore: ...
    @property
    def metrics_registry(self) -> Any: ...
    def desk_info(self, desk: str | None) -> dict[str, Any] | None: ...
    def knows_site(self, site: str) -> bool: ...
    def hub(self, desk: str) -> Hub: ...
    def picture(self, desk: str) -> dict[str, Any]: ...
    def incidents(self, desk: str, state: str | None, site: str | None) -> list[dict[str, Any]]: ...
    def incident(self, desk: str, site: str, incident: str) -> dict[str, Any] | None: ...
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
    ) -> str: ...
    async def request_state(self, desk: str, request: str) -> dict[str, Any] | None: ...
    async def health(self) -> dict[str, Any]: ...


def create_centre_app(
    room: CentreRoom,
    users: Users,
    lifespan: Callable[[FastAPI], AbstractAsyncContextManager[None]] | None = None,
    settings: WebSettings | None = None,
    clock: Callable[[], float] = time.time,
) -> FastAPI:
    settings = settings or WebSettings()
    app = FastAPI(
        title="Vigie joint centre",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.add_middleware(BodyLimit)
    app.add_middleware(SecurityHeaders)
    book = SessionBook(room.sessions, users, settings.sessions, clock)
    app.state.credentials = Credentials(users, book, clock, settings.trusted_origins)
    app.state.room = room
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        """The joint centre's page: every site the desk sees, side by side."""
        return FileResponse(STATIC / "centre.html", headers={"Cache-Control": "no-cache"})

    _sign_in_routes(app, book, settings.sessions)
    _centre_routes(app, room)
    _request_routes(app, room)
    _websocket_route(app, room)
    return app


def _desk(caller: Viewer, request: Request) -> str:
    """The caller's desk: every user of a centre sits at one (checked at start; a users
    file changed since to name an unknown desk gets 403 until it is put right)."""
    room: CentreRoom = request.app.state.room
    info = room.desk_info(caller.user.desk)
    if info is None:
        raise HTTPException(403, f"{caller.user.name} sits at no desk of this centre")
    return str(info["id"])


DeskId = Annotated[str, Depends(_desk)]


def _centre_routes(app: FastAPI, room: CentreRoom) -> None:
    @app.get("/api/desk")
    async def desk(desk: DeskId) -> dict[str, Any]:
        """The caller's desk: its sites and whether it acknowledges and resolves."""
        info = room.desk_info(desk)
        assert info is not None
        return info

    @app.get("/api/picture")
    async def picture(desk: DeskId) -> dict[str, Any]:
        return room.picture(desk)

    @app.get("/api/incidents")
    async def incidents(
        desk: DeskId, state: IncidentState | None = None, site: str | None = None
    ) -> list[dict[str, Any]]:
        return room.incidents(desk, state.value if state else None, site)

    @app.get("/api/sites/{site}/incidents/{incident_id}")
    async def incident(site: str, incident_id: str, desk: DeskId) -> dict[str, Any]:
        """The centre's copy of one incident (its detail is at the site)."""
        found = room.incident(desk, site, incident_id)
        if found is None:
            raise HTTPException(404, f"no incident {incident_id[:100]} at {site[:100]}")
        return found

    @app.get("/healthz")
    async def healthz() -> JSONResponse:
        """Unauthenticated, for container and load-balancer checks; reveals no site data."""
        health = await room.health()
        return JSONResponse(health, status_code=200 if health["status"] == "ok" else 503)

    @app.get("/metrics")
    async def metrics(caller: Viewer) -> Response:
        return Response(generate_latest(room.metrics_registry), media_type=CONTENT_TYPE_LATEST)


def _acting_desk(caller: Viewer, desk: DeskId, site: str, request: Request) -> str:
    """403 unless the caller's role acts and the desk acts and sees the site."""
    room: CentreRoom = request.app.state.room
    if not room.knows_site(site):
        raise HTTPException(404, f"no site {site[:100]} at this centre")
    info = room.desk_info(desk)
    assert info is not None
    if site not in info["sites"]:
        raise HTTPException(403, f"desk {desk} does not see {site}")
    if not caller.user.role.may_act:
        raise HTTPException(403, f"a {caller.user.role} may not acknowledge or resolve")
    if not info["acts"]:
        raise HTTPException(403, f"desk {desk} watches only: it may not acknowledge or resolve")
    return desk


ActingDesk = Annotated[str, Depends(_acting_desk)]


def _request_routes(app: FastAPI, room: CentreRoom) -> None:
    @app.post(
        "/api/sites/{site}/incidents/{incident_id}/ack",
        status_code=202,
        openapi_extra=body_doc(AckBody, required=False),
    )
    async def ack(
        site: str, incident_id: str, caller: Viewer, desk: ActingDesk, request: Request
    ) -> dict[str, Any]:
        """Sent to the site: 202 with the request id; the outcome follows on the
        websocket (``reply``) and at ``GET /api/requests/{id}``."""
        body = await json_body(request, AckBody, optional=True)
        rid = await room.request(
            desk=desk,
            user=caller.user.name,
            site=site,
            incident=incident_id[:100],
            action="ack",
            comment=body.comment if body is not None else "",
        )
        return {"request": rid, "site": site, "incident": incident_id, "action": "ack"}

    @app.post(
        "/api/sites/{site}/incidents/{incident_id}/resolve",
        status_code=202,
        openapi_extra=body_doc(ResolveBody),
    )
    async def resolve(
        site: str, incident_id: str, caller: Viewer, desk: ActingDesk, request: Request
    ) -> dict[str, Any]:
        body = await json_body(request, ResolveBody)
        assert body is not None
        rid = await room.request(
            desk=desk,
            user=caller.user.name,
            site=site,
            incident=incident_id[:100],
            action="resolve",
            comment=body.comment,
            outcome=body.outcome.value,
            disruption=body.disruption.value if body.disruption is not None else None,
        )
        return {"request": rid, "site": site, "incident": incident_id, "action": "resolve"}

    @app.get("/api/requests/{request_id}")
    async def request_state(request_id: str, desk: DeskId) -> dict[str, Any]:
        """A request sent from this centre: pending, or the site's answer."""
        found = await room.request_state(desk, request_id[:100])
        if found is None:
            raise HTTPException(404, f"no request {request_id[:100]}")
        return found


def _websocket_route(app: FastAPI, room: CentreRoom) -> None:
    credentials: Credentials = app.state.credentials

    @app.websocket("/ws")
    async def ws(websocket: WebSocket) -> None:
        """The desk's snapshot then updates, while the caller's credential holds."""
        try:
            caller = await credentials.caller(websocket)
            info = room.desk_info(caller.user.desk)
            if info is None:
                raise HTTPException(403, f"{caller.user.name} sits at no desk of this centre")
        except HTTPException as exc:
            await refuse(websocket, exc)
            return
        await serve_while_signed_in(
            websocket,
            credentials,
            caller,
            room.hub(str(info["id"])).serve(websocket, str(info["id"])),
        )
