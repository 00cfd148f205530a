"""Request bodies: JSON only, read after the caller is known, refused with a reason.

Routes read their body through :func:`json_body` once authentication and role have
been checked, so that the answers come in that order: 401, 403, then 415 (not
JSON), 413 (too large, see :mod:`dashboard.security`) and 422 (not what the route
takes). Text fields refuse what the store, the audit trail and the reports could
not carry or would show misleadingly: lone surrogates and control characters.
"""

from __future__ import annotations

import unicodedata
from email.message import Message
from typing import Annotated, Any, Final, TypeVar

from fastapi import HTTPException, Request
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from fusion.incidents import Disruption, Outcome
from fusion.jsonvalues import UnsupportedValue, decode_json

MAX_COMMENT: Final = 2000
ALLOWED_CONTROLS: Final = frozenset("\t\n\r")
"""A comment may run over several lines; no other control character is accepted."""

M = TypeVar("M", bound=BaseModel)


def _printable(text: str) -> str:
    for ch in text:
        if unicodedata.category(ch) in ("Cc", "Cs") and ch not in ALLOWED_CONTROLS:
            raise ValueError(f"control character U+{ord(ch):04X} is not allowed")
    return text


Text = Annotated[str, AfterValidator(_printable)]


class AckBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    comment: Text = Field(default="", max_length=MAX_COMMENT)


class ResolveBody(BaseModel):
    """An explicit outcome; with ``intrusion``, what became of the intruder (``unknown``
    if left out); with any other outcome, no disruption (docs/protocol.md §11)."""

    model_config = ConfigDict(extra="forbid")
    outcome: Outcome
    disruption: Disruption | None = None
    comment: Text = Field(default="", max_length=MAX_COMMENT)

    @model_validator(mode="after")
    def _disruption_with_intrusion_only(self) -> ResolveBody:
        if self.disruption is not None and self.outcome is not Outcome.INTRUSION:
            raise ValueError(
                f"disruption is recorded only with outcome intrusion, not {self.outcome}"
            )
        return self


class LoginBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: Text = Field(min_length=1, max_length=256)
    token: Text | None = Field(default=None, max_length=1024)
    password: Text | None = Field(default=None, max_length=1024)


def require_json(request: Request) -> None:
    """415 unless the request says its body is JSON (no body at all is let through)."""
    kind = request.headers.get("content-type")
    if kind is None:
        return
    message = Message()
    message["content-type"] = kind
    if message.get_content_type() != "application/json":
        raise HTTPException(415, "the body must be JSON, with Content-Type: application/json")


async def json_body(request: Request, model: type[M], *, optional: bool = False) -> M | None:
    """The body as ``model``; None when ``optional`` and there is no body."""
    require_json(request)
    raw = await request.body()
    if not raw.strip():
        if optional:
            return None
        raise HTTPException(422, f"a JSON body is required: {_shape(model)}")
    if "content-type" not in request.headers:
        raise HTTPException(415, "the body must be JSON, with Content-Type: application/json")
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        raise HTTPException(422, _reason(exc)) from None


def body_doc(model: type[BaseModel], *, required: bool = True) -> dict[str, Any]:
    """The ``requestBody`` of a route's OpenAPI entry (routes read their body by hand)."""
    schema = model.model_json_schema()
    defs = schema.pop("$defs", {})
    return {
        "requestBody": {
            "required": required,
            "content": {"application/json": {"schema": _inline(schema, defs)}},
        }
    }


def _inline(node: Any, defs: dict[str, Any]) -> Any:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            return _inline(defs[ref.removeprefix("#/$defs/")], defs)
        return {k: _inline(v, defs) for k, v in node.items()}
    if isinstance(node, list):
        return [_inline(v, defs) for v in node]
    return node


def _reason(exc: ValidationError) -> str:
    problems = []
    for err in exc.errors(include_url=False, include_input=False)[:5]:
        where = ".".join(str(p) for p in err["loc"])
        problems.append(f"{where}: {err['msg']}" if where else str(err["msg"]))
    return "; ".join(problems)


def _shape(model: type[BaseModel]) -> str:
    return "{" + ", ".join(f'"{name}": ...' for name in model.model_fields) + "}"


async def json_value(request: Request) -> Any:
    """The body as any JSON value, held to the rules of device messages (no lone
    surrogate, no NUL, nesting and numbers every later stage can carry): for bodies
    that the processing step checks itself, such as an intelligence message."""
    require_json(request)
    raw = await request.body()
    if not raw.strip():
        raise HTTPException(422, "a JSON body is required")
    if "content-type" not in request.headers:
        raise HTTPException(415, "the body must be JSON, with Content-Type: application/json")
    try:
        return decode_json(raw)
    except UnsupportedValue as exc:
        raise HTTPException(422, f"unsupported value: {exc}") from None
    except (ValueError, RecursionError):
        raise HTTPException(422, "the body is not valid JSON") from None
