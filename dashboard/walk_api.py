"""Walk tests and reports on the API (docs/protocol.md §11).

- ``POST /api/walk-tests`` ``{"zone", "minutes"}`` (inspector, admin) opens a test: 201
  and the test; ``POST /api/walk-tests/{id}/crossings`` ``{"mode"}`` records a crossing
  now: 201 and the crossing; ``POST /api/walk-tests/{id}/close``. ``GET /api/walk-tests``
  (``from``/``to``: epoch seconds; without them the latest 200) and
  ``GET /api/walk-tests/{id}``, to anyone signed in: each crossing with the modalities
  that detected it so far.
- ``GET /api/reports/monthly?month=YYYY-MM`` (commander, admin) and
  ``GET /api/reports/inspection?from=DATE&to=DATE`` (also inspector): the PDF, or its
  figures with ``format=json``; ``lang=en|fr``.

Callers are checked first (401, 403), then the body or the query (415, 422).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, Literal, Protocol

import orjson
from fastapi import Depends, FastAPI, HTTPException, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from dashboard.auth import Role
from dashboard.bodies import Text, body_doc, json_body
from dashboard.credentials import Caller, Credentials
from dashboard.errors import StoreBusy
from fusion.walktests import (
    MAX_TEST_MINUTES,
    BadWalkTest,
    CrossingMode,
    UnknownWalkTest,
    WalkTestConflict,
)


class WalkTestOffice(Protocol):
    """What the walk-test routes need from the service."""

    async def open(self, zone: str, minutes: float, by: str) -> dict[str, Any]: ...
    async def cross(self, test_id: str, mode: CrossingMode, by: str) -> dict[str, Any]: ...
    async def close(self, test_id: str, by: str) -> dict[str, Any]: ...
    async def find(self, span: tuple[float, float] | None) -> list[dict[str, Any]]: ...
    async def get(self, test_id: str) -> dict[str, Any] | None: ...


class ReportFile(Protocol):
    @property
    def figures(self) -> dict[str, Any]: ...
    @property
    def pdf(self) -> bytes: ...


class ReportOffice(Protocol):
    """Builds reports off the event loop; a bad period raises ValueError."""

    async def monthly(self, month: str, lang: str, now: float) -> ReportFile: ...
    async def inspection(self, first: date, last: date, lang: str, now: float) -> ReportFile: ...


class WalkTestBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    zone: Text = Field(min_length=1, max_length=100)
    minutes: float = Field(default=60.0, gt=0, le=MAX_TEST_MINUTES)


class CrossingBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mode: CrossingMode


class CloseBody(BaseModel):
    model_config = ConfigDict(extra="forbid")


@dataclass(frozen=True, slots=True)
class Span:
    """``from`` (included) and ``to`` (excluded), epoch seconds; either may be open."""

    from_t: float | None
    to_t: float | None

    def closed(self, far: float) -> tuple[float, float] | None:
        if self.from_t is None and self.to_t is None:
            return None
        return (
            self.from_t if self.from_t is not None else 0.0,
            self.to_t if self.to_t is not None else far,
        )


def _span(
    from_t: Annotated[float | None, Query(alias="from", allow_inf_nan=False)] = None,
    to_t: Annotated[float | None, Query(alias="to", allow_inf_nan=False)] = None,
) -> Span:
    return Span(from_t, to_t)


TimeSpan = Annotated[Span, Depends(_span)]
FAR_FUTURE = 1e15
"""An open end of a span, in epoch seconds (some thirty million years from now)."""


async def _caller(request: Request) -> Caller:
    credentials: Credentials = request.app.state.credentials
    return await credentials.caller(request)


def _role_check(allowed: frozenset[Role], what: str) -> Callable[[Caller], Caller]:
    def check(caller: Annotated[Caller, Depends(_caller)]) -> Caller:
        if caller.user.role not in allowed:
            raise HTTPException(403, f"a {caller.user.role} may not {what}")
        return caller

    return check


Viewer = Annotated[Caller, Depends(_caller)]
Inspector = Annotated[
    Caller, Depends(_role_check(frozenset({Role.INSPECTOR, Role.ADMIN}), "run walk tests"))
]
Commanding = Annotated[
    Caller,
    Depends(_role_check(frozenset({Role.COMMANDER, Role.ADMIN}), "read the monthly report")),
]
Inspecting = Annotated[
    Caller,
    Depends(
        _role_check(
            frozenset({Role.COMMANDER, Role.ADMIN, Role.INSPECTOR}), "read the inspection report"
        )
    ),
]


async def _answer(action: Awaitable[Any]) -> Any:
    try:
        return await action
    except UnknownWalkTest as exc:
        raise HTTPException(404, f"no walk test {str(exc.args[0])[:100]}") from None
    except BadWalkTest as exc:
        raise HTTPException(422, str(exc)) from None
    except WalkTestConflict as exc:
        raise HTTPException(409, str(exc)) from None
    except StoreBusy as exc:
        raise HTTPException(503, str(exc), headers={"Retry-After": "5"}) from None


def walk_test_routes(app: FastAPI, office: WalkTestOffice) -> None:
    @app.get("/api/walk-tests")
    async def walk_tests(caller: Viewer, span: TimeSpan) -> list[dict[str, Any]]:
        """Tests whose window overlaps ``from``..``to``, oldest first."""
        tests: list[dict[str, Any]] = await _answer(office.find(span.closed(FAR_FUTURE)))
        return tests

    @app.get("/api/walk-tests/{test_id}")
    async def walk_test(test_id: str, caller: Viewer) -> dict[str, Any]:
        found = await _answer(office.get(test_id))
        if found is None:
            raise HTTPException(404, f"no walk test {test_id[:100]}")
        test: dict[str, Any] = found
        return test

    @app.post("/api/walk-tests", status_code=201, openapi_extra=body_doc(WalkTestBody))
    async def open_test(caller: Inspector, request: Request) -> dict[str, Any]:
        """Open a test window on a zone: incidents opened there meanwhile are tests."""
        body = await json_body(request, WalkTestBody)
        assert body is not None
        test: dict[str, Any] = await _answer(office.open(body.zone, body.minutes, caller.user.name))
        return test

    @app.post(
        "/api/walk-tests/{test_id}/crossings",
        status_code=201,
        openapi_extra=body_doc(CrossingBody),
    )
    async def crossing(test_id: str, caller: Inspector, request: Request) -> dict[str, Any]:
        """The tester crossed the zone now, moving as ``mode``."""
        body = await json_body(request, CrossingBody)
        assert body is not None
        found: dict[str, Any] = await _answer(office.cross(test_id, body.mode, caller.user.name))
        return found

    @app.post("/api/walk-tests/{test_id}/close", openapi_extra=body_doc(CloseBody, required=False))
    async def close(test_id: str, caller: Inspector, request: Request) -> dict[str, Any]:
        await json_body(request, CloseBody, optional=True)
        test: dict[str, Any] = await _answer(office.close(test_id, caller.user.name))
        return test


Lang = Literal["en", "fr"]
Format = Literal["pdf", "json"]


def report_routes(
    app: FastAPI, office: ReportOffice, clock: Callable[[], float] = time.time
) -> None:
    @app.get("/api/reports/monthly")
    async def monthly(
        caller: Commanding,
        month: Annotated[str, Query(max_length=20, description="YYYY-MM, site time")],
        lang: Lang = "en",
        form: Annotated[Format, Query(alias="format")] = "pdf",
    ) -> Response:
        """The gold commanders' monthly report of ``month`` (docs/reports.md)."""
        built = await _report(office.monthly(month, lang, clock()))
        return _served(built, form, f"monthly-{month}")

    @app.get("/api/reports/inspection")
    async def inspection(
        caller: Inspecting,
        first: Annotated[date, Query(alias="from", description="first day, YYYY-MM-DD")],
        last: Annotated[date, Query(alias="to", description="last day (included)")],
        lang: Lang = "en",
        form: Annotated[Format, Query(alias="format")] = "pdf",
    ) -> Response:
        """The security inspection of the days ``from`` .. ``to`` (docs/reports.md)."""
        built = await _report(office.inspection(first, last, lang, clock()))
        return _served(built, form, f"inspection-{first}-{last}")


async def _report(action: Awaitable[ReportFile]) -> ReportFile:
    try:
        return await action
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    except StoreBusy as exc:
        raise HTTPException(503, str(exc), headers={"Retry-After": "10"}) from None


def _served(built: ReportFile, form: str, name: str) -> Response:
    if form == "json":
        return Response(
            orjson.dumps(built.figures),
            media_type="application/json",
            headers={"Cache-Control": "no-store"},
        )
    site = str(built.figures.get("site", {}).get("id", "site"))
    return Response(
        built.pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="vigie-{site}-{name}.pdf"',
            "Cache-Control": "no-store",
        },
    )
