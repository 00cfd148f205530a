"""The site file (docs/protocol.md §1) as validated, immutable models.

Pure: takes the already-loaded mapping, never reads a file. Shape and types are
checked by pydantic; the cross-entry rules (zones that exist, unique ids, sane
polygons) by :func:`Site._check_references`, whose messages name the entry as a
path such as ``zones[3].adjacent`` so the operator can find it in the file.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from enum import StrEnum
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator


class SiteError(ValueError):
    """A site file that cannot be used. ``problems`` are ``(entry, reason)`` pairs."""

    def __init__(self, source: str, problems: Sequence[tuple[str, str]]) -> None:
        self.source = source
        self.problems = list(problems)
        first_entry, first_reason = self.problems[0]
        where = f"{source}: {first_entry}" if first_entry else source
        more = f" (and {len(self.problems) - 1} more problem(s))" if len(self.problems) > 1 else ""
        super().__init__(f"{where}: {first_reason}{more}")

    def details(self) -> str:
        """Every problem, one line each, for a terminal."""
        return "\n".join(
            f"{self.source}: {entry}: {reason}" if entry else f"{self.source}: {reason}"
            for entry, reason in self.problems
        )


class SensorKind(StrEnum):
    """Kinds of sensor in the site file's ``sensors`` list."""

    IR = "ir"
    FENCE = "fence"
    FLOODLIGHT = "floodlight"


_ID = r"^[^/+#\s]+$"
"""Ids end up as MQTT topic levels: no separator, no wildcard, no blank."""

Point = Annotated[list[float], Field(min_length=2, max_length=2)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Zone(_Model):
    """A stretch of perimeter, drawn as a polygon on the site plan (metres)."""

    id: str = Field(pattern=_ID, description="Zone id, unique in the site.")
    name: str = Field(default="", description="Human name shown on the dashboard.")
    polygon: list[Point] = Field(description="Outline on the site plan, metres.")
    adjacent: list[str] = Field(default_factory=list, description="Neighbouring zone ids.")
    criticality: int = Field(default=3, ge=1, le=5, description="1 (low) .. 5 (critical).")


class Sensor(_Model):
    """An IR detector, fence-vibration sensor or floodlight."""

    id: str = Field(pattern=_ID)
    kind: SensorKind
    zone: str | None = Field(default=None, description="Zone the sensor watches or lights.")
    heartbeat_s: float = Field(default=0, ge=0, description="Expected heartbeat period; 0: none.")
    position: Point | None = Field(default=None, description="Where it stands on the plan.")
    name: str = ""


class Camera(_Model):
    """A CCTV camera and the image regions it watches, one per zone."""

    id: str = Field(pattern=_ID)
    url: str = Field(min_length=1)
    heartbeat_s: float = Field(default=0, ge=0)
    zones: dict[str, list[Point]] = Field(default_factory=dict)
    position: Point | None = None
    name: str = ""
    pre_capture_s: float = Field(
        default=5,
        ge=0,
        le=60,
        description="Evidence clips start this long before an incident's first event from "
        "this camera (docs/protocol.md §12). The service keeps this much recent video in "
        "memory per camera, hence the cap.",
    )
    post_capture_s: float = Field(
        default=10,
        ge=0,
        le=600,
        description="and end this long after its last event from this camera.",
    )
    live_feed: str | None = Field(
        default=None,
        pattern=r"^wss?://[^\s/]+/\S*$",
        description="Where this camera's worker serves its live feed (ws://host:port/live) "
        "when the service does not run the worker itself (vigie serve --no-cameras).",
    )


class IntelSource(_Model):
    """A feed allowed to publish intelligence items (docs/protocol.md §9)."""

    id: str = Field(pattern=_ID, description="Source id: the last level of its topic.")
    name: str = Field(default="", description="Human name, e.g. Joint intelligence unit.")


class FusionSettings(_Model):
    """Correlation and supervision settings (docs/protocol.md §1, ``fusion``)."""

    window_s: float = Field(default=30, ge=0, description="Correlation window, seconds.")
    heartbeat_misses: int = Field(default=3, ge=1, description="Missed heartbeats to a fault.")
    dedup_horizon_s: float = Field(
        default=6 * 3600,
        gt=0,
        description=(
            "How long a (sensor, id) pair is remembered for duplicate detection. QoS 1 "
            "redelivery and repeating gateways repeat within minutes; a horizon keeps memory "
            "flat however many heartbeats arrive, and lets a sensor whose counter restarts "
            "after a reboot be heard again."
        ),
    )
    dedup_per_device: int = Field(
        default=4096,
        ge=1,
        description=(
            "How many of each device's latest message ids are remembered at most: a "
            "redelivery repeats a recent message, and memory stays bounded at any rate."
        ),
    )


class MqttSettings(_Model):
    prefix: str = Field(default="perimeter", pattern=r"^[^+#\s]+$")

    @model_validator(mode="after")
    def _no_empty_level(self) -> MqttSettings:
        if any(level == "" for level in self.prefix.split("/")):
            raise ValueError("mqtt.prefix: empty topic level (leading, trailing or double '/')")
        return self


class Site(_Model):
    """A whole site file. Construct with :func:`site_from_mapping`."""

    site: str = Field(pattern=r"^[a-z0-9-]+$")
    name: str = ""
    timezone: str | None = None
    zones: list[Zone] = Field(min_length=1)
    sensors: list[Sensor] = Field(default_factory=list)
    cameras: list[Camera] = Field(default_factory=list)
    intel_sources: list[IntelSource] = Field(default_factory=list)
    fusion: FusionSettings = Field(default_factory=FusionSettings)
    mqtt: MqttSettings = Field(default_factory=MqttSettings)

    @model_validator(mode="after")
    def _check_references(self) -> Site:
        problems = list(_reference_problems(self))
        if problems:
            raise _CrossReferenceErrors(problems)  # unpacked by site_from_mapping
        return self

    def neighbourhood(self) -> dict[str, frozenset[str]]:
        """Each zone with itself and its neighbours, adjacency made symmetric."""
        near: dict[str, set[str]] = {z.id: {z.id} for z in self.zones}
        for z in self.zones:
            for other in z.adjacent:
                near[z.id].add(other)
                near[other].add(z.id)
        return {k: frozenset(v) for k, v in near.items()}


class _CrossReferenceErrors(ValueError):
    """Carries every cross-entry problem through pydantic as one error."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{e}: {r}" for e, r in problems))
        self.problems = problems


def _reference_problems(site: Site) -> Iterator[tuple[str, str]]:
    known = [z.id for z in site.zones]
    yield from _zone_problems(site.zones)
    if site.timezone is not None:
        try:
            ZoneInfo(site.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            yield "timezone", f"unknown time zone {site.timezone!r} (e.g. Europe/Paris)"
    yield from _device_problems(site, known)
    seen: dict[str, int] = {}
    for i, source in enumerate(site.intel_sources):
        if source.id in seen:
            yield (
                f"intel_sources[{i}].id",
                (f"duplicate source id {source.id!r} (first at intel_sources[{seen[source.id]}])"),
            )
        seen.setdefault(source.id, i)


def _zone_problems(zones: Sequence[Zone]) -> Iterator[tuple[str, str]]:
    known = {z.id for z in zones}
    hint = f"known zones: {', '.join(z.id for z in zones)}"
    seen: dict[str, str] = {}
    for i, z in enumerate(zones):
        if z.id in seen:
            yield f"zones[{i}].id", f"duplicate zone id {z.id!r} (first at {seen[z.id]})"
        seen.setdefault(z.id, f"zones[{i}]")
        for j, other in enumerate(z.adjacent):
            if other not in known:
                yield f"zones[{i}].adjacent[{j}]", f"unknown zone {other!r} ({hint})"
        reason = polygon_problem(z.polygon)
        if reason:
            yield f"zones[{i}].polygon", reason


def _device_problems(site: Site, zone_ids: Sequence[str]) -> Iterator[tuple[str, str]]:
    known = set(zone_ids)
    hint = f"known zones: {', '.join(zone_ids)}"
    first_at: dict[str, str] = {}
    entries = [(f"sensors[{i}]", s.id) for i, s in enumerate(site.sensors)]
    entries += [(f"cameras[{i}]", c.id) for i, c in enumerate(site.cameras)]
    for entry, device_id in entries:
        if device_id in first_at:
            yield f"{entry}.id", f"duplicate id {device_id!r} (first at {first_at[device_id]})"
        first_at.setdefault(device_id, entry)
    for i, s in enumerate(site.sensors):
        if s.zone is not None and s.zone not in known:
            yield f"sensors[{i}].zone", f"unknown zone {s.zone!r} ({hint})"
    for i, c in enumerate(site.cameras):
        for zone_id, region in c.zones.items():
            where = f"cameras[{i}].zones.{zone_id}"
            if zone_id not in known:
                yield where, f"unknown zone {zone_id!r} ({hint})"
            reason = polygon_problem(region, unit_square=True)
            if reason:
                yield where, reason


def polygon_problem(points: Sequence[Sequence[float]], *, unit_square: bool = False) -> str:
    """Why ``points`` is not a usable simple polygon, or ``""`` if it is."""
    if len(points) < 3:
        return f"a polygon needs at least 3 points, got {len(points)}"
    if not all(math.isfinite(c) for p in points for c in p):
        return "polygon coordinates must be finite numbers"
    if unit_square and not all(0.0 <= c <= 1.0 for p in points for c in p):
        return "image regions use normalised coordinates between 0 and 1"
    area2 = sum(
        points[k][0] * points[(k + 1) % len(points)][1]
        - points[(k + 1) % len(points)][0] * points[k][1]
        for k in range(len(points))
    )
    if abs(area2) < 1e-12:
        return "polygon has no area (points are collinear or repeated)"
    n = len(points)
    edges = [(points[k], points[(k + 1) % n]) for k in range(n)]
    for a in range(n):
        for b in range(a + 1, n):
            if b == a + 1 or (a == 0 and b == n - 1):
                continue  # neighbouring edges share a vertex
            if _segments_cross(*edges[a], *edges[b]):
                return f"polygon edges {a} and {b} cross (points out of order?)"
    return ""


def _segments_cross(
    p1: Sequence[float], p2: Sequence[float], q1: Sequence[float], q2: Sequence[float]
) -> bool:
    def orient(a: Sequence[float], b: Sequence[float], c: Sequence[float]) -> float:
        return (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])

    d1, d2 = orient(q1, q2, p1), orient(q1, q2, p2)
    d3, d4 = orient(p1, p2, q1), orient(p1, p2, q2)
    return (d1 * d2 < 0) and (d3 * d4 < 0)


def site_from_mapping(data: Any, source: str = "<site>") -> Site:
    """Validate a loaded site file; raise :class:`SiteError` naming every bad entry."""
    if not isinstance(data, Mapping):
        raise SiteError(source, [("", "the site file must be a YAML mapping (site:, zones:, …)")])
    try:
        return Site.model_validate(data)
    except ValidationError as exc:
        raise SiteError(source, _problems_from(exc)) from exc


def _problems_from(exc: ValidationError) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    for err in exc.errors():
        ctx_error = (err.get("ctx") or {}).get("error")
        if isinstance(ctx_error, _CrossReferenceErrors):
            problems.extend(ctx_error.problems)
            continue
        entry = _entry_path(err["loc"])
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown field (check the spelling against docs/protocol.md §1)"
        elif err["type"] == "enum":
            msg = f"{msg} (got {err.get('input')!r})"
        problems.append((entry, msg))
    return problems


def _entry_path(loc: Sequence[int | str]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out
