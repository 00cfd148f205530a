"""Intelligence through the API (docs/protocol.md §9): analysts issue and withdraw items,
everyone reads those their desk may see.

``POST /api/intel`` takes the same message a feed publishes on MQTT (``id``, ``ts``,
``event``, ``data``); the service fills ``source`` from the analyst's name, so the item
is ``<analyst>/<ref>``. It goes through the same processing step as a feed's message:
the same checks (a refusal is a 422 naming the reason), duplicates, windows and links.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Annotated, Any, Protocol

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse

from dashboard.bodies import json_value, require_json
from dashboard.credentials import Caller, Credentials
from fusion.intake import Processed, Verdict


class IntelRoom(Protocol):
    """What these routes need from the service."""

    async def issue_intel(self, source: str, body: Any) -> Processed: ...
    def intel_items(self, desk: str | None, active_only: bool) -> list[dict[str, Any]]: ...
    def intel_item(self, item_id: str, desk: str | None) -> dict[str, Any] | None: ...


async def _viewer(request: Request) -> Caller:
    credentials: Credentials = request.app.state.credentials
    return await credentials.caller(request)


def _analyst(caller: Annotated[Caller, Depends(_viewer)]) -> Caller:
    if not caller.user.role.may_issue_intel:
        raise HTTPException(403, f"a {caller.user.role} may not issue intelligence")
    return caller


Viewer = Annotated[Caller, Depends(_viewer)]
Analyst = Annotated[Caller, Depends(_analyst)]


def intel_routes(app: FastAPI, room: IntelRoom) -> None:
    @app.get("/api/intel")
    async def items(caller: Viewer, active: bool = False) -> list[dict[str, Any]]:
        """Items the caller's desk may see, in the order first issued; ``active=true``:
        only those whose window holds now."""
        return room.intel_items(caller.user.desk, active)

    @app.get("/api/intel/{source}/{ref}")
    async def item(source: str, ref: str, caller: Viewer) -> dict[str, Any]:
        found = room.intel_item(f"{source}/{ref}", caller.user.desk)
        if found is None:
            raise HTTPException(404, f"no intelligence item {source[:60]}/{ref[:60]}")
        return found

    @app.post("/api/intel")
    async def issue(caller: Analyst, request: Request) -> JSONResponse:
        """Issue, replace or withdraw an item: the message a feed would publish."""
        body = await json_value(request)
        return _answer(await room.issue_intel(caller.user.name, body), room, caller)

    @app.post("/api/intel/{source}/{ref}/withdraw")
    async def withdraw(source: str, ref: str, caller: Analyst, request: Request) -> JSONResponse:
        """Withdraw one of the caller's own items (a feed withdraws its own on MQTT)."""
        require_json(request)
        if source != caller.user.name:
            raise HTTPException(403, "an analyst withdraws the items they issued")
        body = {
            "id": f"withdraw-{secrets.token_hex(8)}",
            "ts": datetime.now(UTC).isoformat(),
            "event": "withdraw",
            "data": {"ref": ref},
        }
        return _answer(await room.issue_intel(caller.user.name, body), room, caller)


def _answer(done: Processed, room: IntelRoom, caller: Caller) -> JSONResponse:
    if done.verdict is Verdict.REJECTED:
        assert done.rejection is not None
        reason = done.rejection
        raise HTTPException(422, f"{reason.reason}: {reason.detail}")
    event = done.event
    item_id = getattr(event, "item_id", None)
    item = room.intel_item(item_id, caller.user.desk) if item_id else None
    status = 200 if done.verdict is Verdict.DUPLICATE else 201
    return JSONResponse({"verdict": str(done.verdict), "item": item}, status_code=status)
