"""REST and websocket API of docs/protocol.md §7 (OpenAPI at /openapi.json).

Security at the edge (docs/service.md, "Security"): request bodies over 64 KiB are
refused before they are read; every answer carries a Content-Security-Policy and
its companions; callers are identified first (401), then their role is checked
(403), then their body (415, 422); a session cookie is honoured only on requests
from the service's own origin.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Annotated, Any, Final, Protocol

from fastapi import Depends, FastAPI, HTTPException, Query, Request, Response, WebSocket
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, ConfigDict, Field

from dashboard.auth import Role, Users
from dashboard.bodies import AckBody, LoginBody, ResolveBody, body_doc, json_body, require_json
from dashboard.credentials import Caller, Credentials
from dashboard.desks import Visible, incident_for
from dashboard.errors import StoreBusy
from dashboard.held_socket import refuse, serve_while_signed_in
from dashboard.hub import Hub
from dashboard.intel_api import IntelRoom, intel_routes
from dashboard.security import BodyLimit, SecurityHeaders
from dashboard.sessions import SESSION_COOKIE, SessionBook, SessionPolicy, SessionStore
from dashboard.video_api import VideoRoom, video_routes
from dashboard.walk_api import (
    FAR_FUTURE,
    ReportOffice,
    TimeSpan,
    WalkTestOffice,
    report_routes,
    walk_test_routes,
)
from fusion.correlator import UnknownIncident
from fusion.incidents import Disruption, IllegalTransition, IncidentState, Outcome

STATIC = Path(__file__).with_name("static")
EVIDENCE_NUMBER: Final = re.compile(r"^[0-9]{1,18}$")
"""An evidence number as the store can hold it (a 64-bit integer)."""


MAX_LISTED: Final = 10_000
"""Incidents one request may list: a busy month of a large site."""


__all__ = ["ControlRoom", "StoreBusy", "WebSettings", "create_app"]


class ControlRoom(VideoRoom, Protocol):
    """What the API needs from the service behind it."""

    hub: Hub

    @property
    def sessions(self) -> SessionStore: ...
    @property
    def walk_tests(self) -> WalkTestOffice: ...
    @property
    def reports(self) -> ReportOffice: ...
    @property
    def intel(self) -> IntelRoom: ...

    @property
    def metrics_registry(self) -> Any: ...
    def picture(self, desk: str | None = None) -> dict[str, Any]: ...
    def intel_visible(self, desk: str | None) -> Visible: ...
    async def incidents(
        self,
        state: IncidentState | None,
        desk: str | None = None,
        opened: tuple[float | None, float | None] = (None, None),
        limit: int = 500,
    ) -> list[dict[str, Any]]: ...
    async def faults(self, span: tuple[float, float]) -> list[dict[str, Any]]: ...
    async def incident(
        self, incident_id: str, desk: str | None = None
    ) -> dict[str, Any] | None: ...
    async def evidence(self, seq: int) -> bytes | None: ...
    async def dead_letters(self) -> list[Any]: ...
    async def health(self) -> dict[str, Any]: ...
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


class WebSettings(BaseModel):
    """What an installation may tune at the edge (``vigie serve`` reads it from the
    environment, see :mod:`vigie.serve`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    sessions: SessionPolicy = SessionPolicy()
    trusted_origins: tuple[str, ...] = Field(
        default=(),
        description="origins, besides the service's own, whose pages may use the session "
        "cookie (a reverse proxy that rewrites Host)",
    )


def create_app(
    room: ControlRoom,
    users: Users,
    lifespan: Callable[[FastAPI], AbstractAsyncContextManager[None]] | None = None,
    settings: WebSettings | None = None,
    clock: Callable[[], float] = time.time,
) -> FastAPI:
    settings = settings or WebSettings()
    app = FastAPI(title="Vigie", version="0.1.0", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.add_middleware(BodyLimit)
    app.add_middleware(SecurityHeaders)
    book = SessionBook(room.sessions, users, settings.sessions, clock)
    app.state.credentials = Credentials(users, book, clock, settings.trusted_origins)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        """The control-room page; it signs in and reads everything through the API."""
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    _sign_in_routes(app, book, settings.sessions)
    _picture_routes(app, room)
    intel_routes(app, room.intel)
    video_routes(app, room)
    walk_test_routes(app, room.walk_tests)
    report_routes(app, room.reports, clock)
    _websocket_route(app, room)
    return app


async def _viewer(request: Request) -> Caller:
    credentials: Credentials = request.app.state.credentials
    return await credentials.caller(request)


def _actor(caller: Annotated[Caller, Depends(_viewer)]) -> Caller:
    if not caller.user.role.may_act:
        raise HTTPException(403, f"a {caller.user.role} may not acknowledge or resolve")
    return caller


def _admin(caller: Annotated[Caller, Depends(_viewer)]) -> Caller:
    if caller.user.role is not Role.ADMIN:
        raise HTTPException(403, "only an admin may see this")
    return caller


Viewer = Annotated[Caller, Depends(_viewer)]
Actor = Annotated[Caller, Depends(_actor)]
Admin = Annotated[Caller, Depends(_admin)]


def _sign_in_routes(app: FastAPI, book: SessionBook, policy: SessionPolicy) -> None:
    credentials: Credentials = app.state.credentials

    @app.post("/api/login", openapi_extra=body_doc(LoginBody))
    async def login(request: Request, response: Response) -> dict[str, str]:
        """Sign in with a name and a token; answers with the session cookie."""
        credentials.same_origin(request)
        body = await json_body(request, LoginBody)
        assert body is not None
        user = await credentials.sign_in(request, body.username, body.token or body.password or "")
        previous = request.cookies.get(SESSION_COOKIE)
        if previous:
            await book.end(previous)
        response.set_cookie(
            SESSION_COOKIE,
            await book.open(user),
            max_age=int(policy.absolute_s),
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
            path="/",
        )
        return {"name": user.name, "role": str(user.role)}

    @app.post("/api/logout")
    async def logout(request: Request, response: Response) -> dict[str, str]:
        """End the session: its cookie is worthless from now on, here and on disk."""
        session = request.cookies.get(SESSION_COOKIE)
        if session:
            credentials.same_origin(request)
            require_json(request)
            await book.end(session)
        response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
        return {"status": "logged out"}

    @app.get("/api/me")
    async def me(caller: Viewer) -> dict[str, Any]:
        user = caller.user
        return {
            "name": user.name,
            "role": str(user.role),
            "desk": user.desk,
            "may_act": user.role.may_act,
            "may_issue_intel": user.role.may_issue_intel,
            "may_inspect": user.role.may_inspect,
        }


def _picture_routes(app: FastAPI, room: ControlRoom) -> None:
    @app.get("/api/picture")
    async def picture(caller: Viewer) -> dict[str, Any]:
        return room.picture(caller.user.desk)

    @app.get("/api/incidents")
    async def incidents(
        caller: Viewer,
        span: TimeSpan,
        state: IncidentState | None = None,
        limit: Annotated[int, Query(ge=1, le=MAX_LISTED)] = 500,
    ) -> list[dict[str, Any]]:
        """Newest first; ``from``/``to`` (epoch seconds) bound the opening time."""
        opened = (span.from_t, span.to_t)
        return await room.incidents(state, caller.user.desk, opened, limit)

    @app.get("/api/faults")
    async def faults(caller: Viewer, span: TimeSpan) -> list[dict[str, Any]]:
        """Faults open at some moment between ``from`` and ``to`` (epoch seconds), in the
        order raised: what device availability is computed from."""
        return await room.faults(span.closed(FAR_FUTURE) or (0.0, FAR_FUTURE))

    @app.get("/api/incidents/{incident_id}")
    async def incident(incident_id: str, caller: Viewer) -> dict[str, Any]:
        found = await room.incident(incident_id, caller.user.desk)
        if found is None:
            raise HTTPException(404, f"no incident {incident_id[:100]}")
        return found

    @app.post("/api/incidents/{incident_id}/ack", openapi_extra=body_doc(AckBody, required=False))
    async def ack(incident_id: str, caller: Actor, request: Request) -> dict[str, Any]:
        """Acknowledge; the body (a comment) may be left out."""
        body = await json_body(request, AckBody, optional=True)
        comment = body.comment if body is not None else ""
        done = await _decide(
            lambda: room.acknowledge(incident_id, caller.user.name, comment, _address(request)),
            incident_id,
        )
        return incident_for(done, room.intel_visible(caller.user.desk))

    @app.post("/api/incidents/{incident_id}/resolve", openapi_extra=body_doc(ResolveBody))
    async def resolve(incident_id: str, caller: Actor, request: Request) -> dict[str, Any]:
        body = await json_body(request, ResolveBody)
        assert body is not None
        done = await _decide(
            lambda: room.resolve(
                incident_id,
                caller.user.name,
                body.outcome,
                body.comment,
                _address(request),
                disruption=body.disruption,
            ),
            incident_id,
        )
        return incident_for(done, room.intel_visible(caller.user.desk))

    @app.get("/api/evidence/{seq}.jpg")
    async def evidence(seq: str, caller: Viewer) -> Response:
        jpeg = await room.evidence(int(seq)) if EVIDENCE_NUMBER.match(seq) else None
        if jpeg is None:
            raise HTTPException(404, f"no evidence {seq[:30]}")
        return Response(
            jpeg, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=86400"}
        )

    @app.get("/api/dead-letters")
    async def dead_letters(caller: Admin) -> list[dict[str, Any]]:
        """Messages set aside because processing or storing them failed, newest first."""
        return [
            {
                "seq": d.seq,
                "received": d.received,
                "topic": d.topic,
                "error": d.error,
                "payload_prefix": d.payload[:200].decode("utf-8", errors="backslashreplace"),
                "size": len(d.payload),
            }
            for d in await room.dead_letters()
        ]

    @app.get("/healthz")
    async def healthz() -> JSONResponse:
        """Unauthenticated, for container and load-balancer checks; reveals no site data."""
        health = await room.health()
        return JSONResponse(health, status_code=200 if health["status"] == "ok" else 503)

    @app.get("/metrics")
    async def metrics(caller: Viewer) -> Response:
        return Response(generate_latest(room.metrics_registry), media_type=CONTENT_TYPE_LATEST)


def _websocket_route(app: FastAPI, room: ControlRoom) -> None:
    credentials: Credentials = app.state.credentials

    @app.websocket("/ws")
    async def ws(websocket: WebSocket) -> None:
        """Snapshot then updates, while the caller's credential holds."""
        try:
            caller = await credentials.caller(websocket)
        except HTTPException as exc:
            await refuse(websocket, exc)
            return
        await serve_while_signed_in(
            websocket, credentials, caller, room.hub.serve(websocket, caller.user.desk)
        )


async def _decide(action: Callable[[], Any], incident_id: str) -> dict[str, Any]:
    try:
        result: dict[str, Any] = await action()
    except UnknownIncident:
        raise HTTPException(404, f"no incident {incident_id[:100]}") from None
    except IllegalTransition as exc:
        raise HTTPException(409, str(exc)) from None
    except StoreBusy as exc:
        raise HTTPException(503, str(exc), headers={"Retry-After": "5"}) from None
    return result


def _address(request: Request) -> str | None:
    return request.client.host if request.client else None
