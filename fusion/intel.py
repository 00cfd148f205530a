"""Intelligence items (docs/protocol.md §9): the message, its checks, and the grading.

An item comes from a feed named in the site file (``intel_sources``) on
``<prefix>/<site>/intel/<source>``, or from an analyst through the API. It is graded
on the 3x5x2 model: the source (1 reliable, 2 untested, 3 not reliable), the
information (A known directly, B known indirectly and corroborated, C known
indirectly, D not known, E suspected false) and the handling (P may be shared, C
shared only under its conditions). Its validity window is read against the message's
own ``ts``, so a feed whose clock is off is still right and a replay is deterministic.

Pure: values in, values out.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from fusion.events import Refused, RejectReason
from fusion.jsonvalues import UnsupportedValue, check_carriable


class IntelEvent(StrEnum):
    ISSUE = "issue"
    WITHDRAW = "withdraw"


SOURCE_GRADES = ("1", "2", "3")
INFORMATION_GRADES = ("A", "B", "C", "D", "E")
HANDLING = ("P", "C")

NOT_CREDIBLE_SOURCE = frozenset({"3"})
NOT_CREDIBLE_INFORMATION = frozenset({"D", "E"})
"""A source that is not reliable, or information not known or suspected false, is shown
to the control room but never acted on: it neither puts a zone on watch nor raises an
incident's priority. Acting on rumour is how a perimeter gets flooded with patrols."""


@dataclass(frozen=True, slots=True)
class IntelContent:
    """What an ``issue`` says. The window is kept as offsets from the message's ``ts``."""

    title: str
    zones: tuple[str, ...]
    from_offset_s: float
    until_offset_s: float
    source_grade: str
    information_grade: str
    handling: str
    conditions: str | None
    desks: tuple[str, ...] | None
    data: Mapping[str, Any]

    @property
    def credible(self) -> bool:
        return (
            self.source_grade not in NOT_CREDIBLE_SOURCE
            and self.information_grade not in NOT_CREDIBLE_INFORMATION
        )


@dataclass(frozen=True, slots=True)
class IntelMessage:
    """One valid intelligence message. ``content`` is None for a withdrawal."""

    source: str
    msg_id: str
    event: IntelEvent
    ts: float
    ref: str
    content: IntelContent | None
    topic: str

    @property
    def item_id(self) -> str:
        return f"{self.source}/{self.ref}"

    @property
    def device(self) -> str:
        """The key under which duplicates of this feed are remembered (no device id
        contains a slash, so feeds and devices never share one)."""
        return f"intel/{self.source}"


@dataclass(frozen=True, slots=True)
class IntelItem:
    """An item as the engine holds it: its last version, and its window on the engine's
    clock (``active_from_t`` inclusive, ``active_until_t`` exclusive)."""

    id: str
    source: str
    ref: str
    content: IntelContent
    received_t: float
    active_from_t: float
    active_until_t: float
    withdrawn_t: float | None = None
    first_issued_t: float = 0.0
    version: int = 1
    zones: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        object.__setattr__(self, "zones", self.content.zones)

    @property
    def credible(self) -> bool:
        return self.content.credible

    def active_at(self, t: float) -> bool:
        return self.withdrawn_t is None and self.active_from_t <= t < self.active_until_t

    def visible_to(self, desk: str | None) -> bool:
        """Whether a user of ``desk`` may see the item (an item naming desks is seen by
        those desks only; a user without a desk sees only unrestricted items)."""
        desks = self.content.desks
        return desks is None or (desk is not None and desk in desks)


def item_window(content: IntelContent, received: float) -> tuple[float, float]:
    """The window on the receiver's clock: ``t + (valid_from - ts)`` to
    ``t + (valid_until - ts)``."""
    return received + content.from_offset_s, received + content.until_offset_s


# -- checking a message ---------------------------------------------------------------


def parse_intel(topic: str, source: str, body: Any, zones: frozenset[str]) -> IntelMessage:
    """Validate an intelligence message's body; raise :class:`Refused` saying why."""
    if type(body) is not dict:
        raise Refused(RejectReason.NOT_OBJECT, "an intelligence message is a JSON object")
    msg_id = body.get("id")
    if type(msg_id) is not str:
        raise Refused(RejectReason.BAD_ID, "id must be a string")
    if "\x00" in msg_id:
        raise Refused(RejectReason.UNSUPPORTED_VALUE, "the id holds a NUL character")
    name = body.get("event")
    if type(name) is not str:
        raise Refused(RejectReason.BAD_EVENT, "event must be a string")
    try:
        event = IntelEvent(name)
    except ValueError:
        raise Refused(
            RejectReason.UNKNOWN_EVENT, f"intel does not send {name!r} (issue or withdraw)"
        ) from None
    if body.get("ts") is None:
        raise Refused(RejectReason.BAD_TS, "ts is required on intelligence messages")
    ts_value = _instant(body["ts"], "ts", RejectReason.BAD_TS)
    data = body.get("data")
    if type(data) is not dict:
        raise Refused(RejectReason.BAD_INTEL, "data must be an object")
    try:
        check_carriable(data)  # the item's details are stored and shown as they are
    except UnsupportedValue as exc:
        raise Refused(RejectReason.UNSUPPORTED_VALUE, f"data: {exc}") from exc
    ref = data.get("ref")
    if type(ref) is not str or not ref or "/" in ref:
        raise Refused(RejectReason.BAD_INTEL, "data.ref must be a non-empty string without '/'")
    content = None if event is IntelEvent.WITHDRAW else _content(data, ts_value, zones)
    return IntelMessage(source, msg_id, event, _seconds(ts_value), ref, content, topic)


def _content(data: dict[str, Any], ts: datetime | float, zones: frozenset[str]) -> IntelContent:
    title = data.get("title")
    if type(title) is not str or not title.strip():
        raise Refused(RejectReason.BAD_INTEL, "data.title must be a non-empty string")
    named = data.get("zones")
    if type(named) is not list or not named or not all(type(z) is str for z in named):
        raise Refused(RejectReason.BAD_INTEL, "data.zones must be a list of zone ids")
    unknown = [z for z in named if z not in zones]
    if unknown:
        raise Refused(RejectReason.BAD_ZONE, f"unknown zone {unknown[0]!r}")
    valid_from = _instant(data.get("valid_from"), "data.valid_from", RejectReason.BAD_INTEL)
    valid_until = _instant(data.get("valid_until"), "data.valid_until", RejectReason.BAD_INTEL)
    from_offset = _difference(valid_from, ts)
    until_offset = _difference(valid_until, ts)
    if until_offset <= from_offset:
        raise Refused(RejectReason.BAD_INTEL, "data.valid_until must be after data.valid_from")
    return graded_content(data, tuple(dict.fromkeys(named)), from_offset, until_offset)


def graded_content(
    data: Mapping[str, Any], zones: tuple[str, ...], from_offset: float, until_offset: float
) -> IntelContent:
    """The rest of an item's checks (grades, handling, desks), also used to rebuild a
    stored item after a restart from its original ``data``."""
    title = data.get("title")
    if type(title) is not str or not title.strip():
        raise Refused(RejectReason.BAD_INTEL, "data.title must be a non-empty string")
    source_grade = _grade(data.get("source_grade"), SOURCE_GRADES, "source_grade")
    information_grade = _grade(
        data.get("information_grade"), INFORMATION_GRADES, "information_grade"
    )
    handling = _grade(data.get("handling"), HANDLING, "handling")
    conditions = data.get("conditions")
    if conditions is not None and type(conditions) is not str:
        raise Refused(RejectReason.BAD_INTEL, "data.conditions must be a string")
    if handling == "C" and not (conditions or "").strip():
        raise Refused(RejectReason.BAD_INTEL, "handling C needs data.conditions")
    desks = data.get("desks")
    if desks is not None and (
        type(desks) is not list or not all(type(d) is str and d for d in desks)
    ):
        raise Refused(RejectReason.BAD_INTEL, "data.desks must be a list of desk ids")
    return IntelContent(
        title=title,
        zones=zones,
        from_offset_s=from_offset,
        until_offset_s=until_offset,
        source_grade=source_grade,
        information_grade=information_grade,
        handling=handling,
        conditions=conditions,
        desks=None if desks is None else tuple(dict.fromkeys(desks)),
        data=data,
    )


def _grade(value: Any, allowed: Sequence[str], name: str) -> str:
    """Grades are strings (``"2"``, ``"B"``); a source grade given as a number is read
    as its digit, which is what a feed that writes ``2`` means."""
    if type(value) is int and str(value) in allowed:
        return str(value)
    if type(value) is str and value in allowed:
        return value
    raise Refused(RejectReason.BAD_INTEL, f"data.{name} must be one of {', '.join(allowed)}")


def _instant(value: Any, name: str, reason: RejectReason) -> datetime | float:
    """An ISO-8601 time with an offset (kept as a datetime, so that differences are
    exact to the microsecond) or epoch seconds."""
    if value is None:
        raise Refused(reason, f"{name} is required")
    if type(value) is int or type(value) is float:
        seconds = float(value)
        if not math.isfinite(seconds):
            raise Refused(reason, f"{name} is not a finite number")
        return seconds
    if type(value) is not str:
        raise Refused(reason, f"{name} must be an ISO-8601 time or epoch seconds")
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise Refused(reason, f"{name} {value[:40]!r} is not ISO-8601") from None
    if when.tzinfo is None or when.utcoffset() is None:
        raise Refused(reason, f"{name} {value[:40]!r} has no UTC offset")
    return when


def _seconds(value: datetime | float) -> float:
    if isinstance(value, datetime):
        try:
            return value.timestamp()
        except (OverflowError, ValueError, OSError):
            raise Refused(RejectReason.BAD_TS, "time out of range") from None
    return value


def _difference(a: datetime | float, b: datetime | float) -> float:
    """``a - b`` in seconds, exactly when both are datetimes."""
    if isinstance(a, datetime) and isinstance(b, datetime):
        return (a - b).total_seconds()
    return _seconds(a) - _seconds(b)


# -- words for people ------------------------------------------------------------------

SOURCE_WORDS = {"1": "reliable source", "2": "untested source", "3": "not reliable source"}
INFORMATION_WORDS = {
    "A": "known directly",
    "B": "known indirectly, corroborated",
    "C": "known indirectly",
    "D": "not known",
    "E": "suspected false",
}
