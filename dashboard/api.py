"""REST and websocket API of docs/protocol.md §7, with typed bodies (OpenAPI at /docs)."""

import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Annotated, Any, Protocol

from fastapi import Depends, FastAPI, HTTPException, Request, Response, WebSocket
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import HTTPConnection

from dashboard.auth import SESSION_COOKIE, SESSION_S, Role, User, Users
from dashboard.hub import Hub
from fusion.correlator import UnknownIncident
from fusion.incidents import IllegalTransition, IncidentState, Outcome


class StoreBusy(RuntimeError):
    """The service could not commit a decision in time: answered 503, try again."""


MAX_COMMENT = 2000
STATIC = Path(__file__).with_name("static")


class ControlRoom(Protocol):
    """What the API needs from the service behind it."""

    hub: Hub

    @property
    def metrics_registry(self) -> Any: ...
    def picture(self) -> dict[str, Any]: ...
    async def incidents(self, state: IncidentState | None) -> list[dict[str, Any]]: ...
    async def incident(self, incident_id: str) -> dict[str, Any] | None: ...
    async def evidence(self, seq: int) -> bytes | None: ...
    async def dead_letters(self) -> list[Any]: ...
    async def health(self) -> dict[str, Any]: ...
    async def acknowledge(
        self, incident: str, who: str, comment: str, address: str | None
    ) -> dict[str, Any]: ...
    async def resolve(
        self, incident: str, who: str, outcome: Outcome, comment: str, address: str | None
    ) -> dict[str, Any]: ...


class AckBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    comment: str = Field(default="", max_length=MAX_COMMENT)


class ResolveBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    outcome: Outcome
    comment: str = Field(default="", max_length=MAX_COMMENT)


class LoginBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str
    token: str | None = None
    password: str | None = None


def create_app(  # noqa: PLR0915 - one closure per route
    room: ControlRoom,
    users: Users,
    lifespan: Callable[[FastAPI], AbstractAsyncContextManager[None]] | None = None,
    secure_cookie: bool = False,
) -> FastAPI:
    app = FastAPI(title="Vigie", version="0.1.0", lifespan=lifespan)

    def user_of(request: HTTPConnection) -> User | None:
        header = request.headers.get("authorization", "")
        if header.lower().startswith("bearer "):
            return users.by_token(header[7:].strip())
        cookie = request.cookies.get(SESSION_COOKIE)
        return users.from_session(cookie, time.time()) if cookie else None

    def viewer(request: Request) -> User:
        user = user_of(request)
        if user is None:
            raise HTTPException(
                401,
                "a valid bearer token or session is required",
                headers={"WWW-Authenticate": "Bearer"},
            )
        return user

    def actor(user: Annotated[User, Depends(viewer)]) -> User:
        if not user.role.may_act:
            raise HTTPException(403, f"a {user.role} may not acknowledge or resolve")
        return user

    def admin(user: Annotated[User, Depends(viewer)]) -> User:
        if user.role is not Role.ADMIN:
            raise HTTPException(403, "only an admin may see this")
        return user

    Viewer = Annotated[User, Depends(viewer)]
    Actor = Annotated[User, Depends(actor)]
    Admin = Annotated[User, Depends(admin)]

    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        """The control-room page; it signs in and reads everything through the API."""
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    @app.post("/api/login")
    async def login(request: Request, response: Response) -> dict[str, str]:
        body = await _login_body(request)
        user = users.login(body.username, body.token or body.password or "")
        if user is None:
            raise HTTPException(401, "unknown user or wrong token")
        response.set_cookie(
            SESSION_COOKIE,
            users.session(user, time.time()),
            max_age=SESSION_S,
            httponly=True,
            samesite="strict",
            secure=secure_cookie,
            path="/",
        )
        return {"name": user.name, "role": str(user.role)}

    @app.post("/api/logout")
    async def logout(response: Response) -> dict[str, str]:
        response.delete_cookie(SESSION_COOKIE, path="/")
        return {"status": "logged out"}

    @app.get("/api/me")
    async def me(user: Viewer) -> dict[str, Any]:
        return {"name": user.name, "role": str(user.role), "may_act": user.role.may_act}

    @app.get("/api/picture")
    async def picture(user: Viewer) -> dict[str, Any]:
        return room.picture()

    @app.get("/api/incidents")
    async def incidents(user: Viewer, state: IncidentState | None = None) -> list[dict[str, Any]]:
        return await room.incidents(state)

    @app.get("/api/incidents/{incident_id}")
    async def incident(incident_id: str, user: Viewer) -> dict[str, Any]:
        found = await room.incident(incident_id)
        if found is None:
            raise HTTPException(404, f"no incident {incident_id}")
        return found

    @app.post("/api/incidents/{incident_id}/ack")
    async def ack(
        incident_id: str, user: Actor, request: Request, body: AckBody | None = None
    ) -> dict[str, Any]:
        """Acknowledge; the body (a comment) may be left out."""
        comment = body.comment if body is not None else ""
        return await _decide(
            lambda: room.acknowledge(incident_id, user.name, comment, _address(request)),
            incident_id,
        )

    @app.post("/api/incidents/{incident_id}/resolve")
    async def resolve(
        incident_id: str, body: ResolveBody, user: Actor, request: Request
    ) -> dict[str, Any]:
        return await _decide(
            lambda: room.resolve(
                incident_id, user.name, body.outcome, body.comment, _address(request)
            ),
            incident_id,
        )

    @app.get("/api/evidence/{seq}.jpg")
    async def evidence(seq: int, user: Viewer) -> Response:
        jpeg = await room.evidence(seq)
        if jpeg is None:
            raise HTTPException(404, f"no evidence {seq}")
        return Response(
            jpeg, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=86400"}
        )

    @app.get("/api/dead-letters")
    async def dead_letters(user: Admin) -> list[dict[str, Any]]:
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
    async def metrics(user: Viewer) -> Response:
        return Response(generate_latest(room.metrics_registry), media_type=CONTENT_TYPE_LATEST)

    @app.websocket("/ws")
    async def ws(websocket: WebSocket) -> None:
        if user_of(websocket) is None:
            await websocket.send_denial_response(
                JSONResponse({"detail": "a valid bearer token or session is required"}, 401)
            )
            return
        await websocket.accept()
        await room.hub.serve(websocket)

    return app


async def _decide(action: Callable[[], Any], incident_id: str) -> dict[str, Any]:
    try:
        result: dict[str, Any] = await action()
    except UnknownIncident:
        raise HTTPException(404, f"no incident {incident_id}") from None
    except IllegalTransition as exc:
        raise HTTPException(409, str(exc)) from None
    except StoreBusy as exc:
        raise HTTPException(503, str(exc), headers={"Retry-After": "5"}) from None
    return result


async def _login_body(request: Request) -> LoginBody:
    if request.headers.get("content-type", "").startswith("application/json"):
        raw: Any = await request.json()
    else:
        raw = dict(await request.form())
    try:
        return LoginBody.model_validate(raw)
    except ValueError as exc:
        raise HTTPException(422, "username and token are required") from exc


def _address(request: Request) -> str | None:
    return request.client.host if request.client else None
