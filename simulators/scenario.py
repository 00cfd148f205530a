"""Scenarios: what happens at the perimeter, turned into the device messages of
docs/protocol.md §2.

A scenario file tells a physical story (an intruder's path over the site plan at a
walking or running speed, wind on a stretch of fence, an animal, a tampered or
silent sensor, a blinded camera, a failing lamp). :func:`generate` turns it into
timed messages using the zones' geometry and each sensor's detection probability,
delay and nuisance rate, seeded so that a run can be repeated exactly.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Final, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

from fusion.site import SensorKind, Site
from fusion.topics import device_topic
from simulators.feed import intel_message

Point = tuple[float, float]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Intruder(_Model):
    """Someone crossing the site plan along ``path`` (metres); where the path comes from
    outside the site into a fence zone, that zone's fence sensor feels a ``breach``."""

    path: list[tuple[float, float]] = Field(min_length=2)
    speed_mps: float = Field(default=1.4, gt=0, description="1.4 walking, 4 running")
    start_s: float = 0.0
    breach: Literal["climb", "cut", "lift"] = "climb"


class Wind(_Model):
    """Gusts shaking the fence fabric in these zones."""

    zones: list[str]
    start_s: float = 0.0
    end_s: float
    gust_every_s: float = Field(default=10.0, gt=0)


class Animal(_Model):
    """A fox or a deer in a zone: IR sees it, the fence does not, a camera sees motion."""

    zone: str
    start_s: float
    duration_s: float = 30.0


class Tamper(_Model):
    sensor: str
    at_s: float


class Fault(_Model):
    sensor: str
    at_s: float
    clear_at_s: float | None = None


class Silence(_Model):
    """A device that stops talking (cut cable, flat battery)."""

    sensor: str
    from_s: float


class Blind(_Model):
    """A camera covered or its stream cut between two times."""

    camera: str
    from_s: float
    until_s: float | None = None


class Intel(_Model):
    """An intelligence item a feed issues at ``at_s`` (docs/protocol.md §9), its window
    from ``from_s`` to ``until_s`` on the scenario's clock; withdrawn at
    ``withdraw_at_s`` if given."""

    source: str
    at_s: float = Field(ge=0)
    ref: str
    title: str
    zones: list[str] = Field(min_length=1)
    from_s: float
    until_s: float
    source_grade: Literal["1", "2", "3"] = "2"
    information_grade: Literal["A", "B", "C", "D", "E"] = "B"
    handling: Literal["P", "C"] = "P"
    conditions: str | None = None
    desks: list[str] | None = None
    category: str | None = None
    size: int | None = None
    withdraw_at_s: float | None = None


class LampFailure(_Model):
    floodlight: str
    at_s: float


class Behaviour(_Model):
    """How a kind of sensor responds: chance to detect, delay, nuisance chance."""

    p_detect: float = Field(default=0.95, ge=0, le=1)
    delay_s: float = Field(default=0.5, ge=0)
    p_nuisance: float = Field(default=0.5, ge=0, le=1)


class Scenario(_Model):
    name: str
    description: str
    site: str = "demo"
    duration_s: float = Field(gt=0)
    seed: int = 1
    cameras: Literal["synthetic", "live"] = "synthetic"
    actors: list[dict[str, Any]]
    behaviour: dict[str, Behaviour] = Field(default_factory=dict)

    def parsed_actors(self) -> list[_Model]:
        kinds: dict[str, type[_Model]] = {
            "intruder": Intruder,
            "wind": Wind,
            "animal": Animal,
            "tamper": Tamper,
            "fault": Fault,
            "silence": Silence,
            "blind": Blind,
            "lamp_failure": LampFailure,
            "intel": Intel,
        }
        out = []
        for i, entry in enumerate(self.actors):
            if len(entry) != 1 or next(iter(entry)) not in kinds:
                raise ValueError(f"actors[{i}]: one of {', '.join(kinds)} expected")
            kind, body = next(iter(entry.items()))
            out.append(kinds[kind].model_validate(body))
        return out


DEFAULT_BEHAVIOUR = {
    "fence": Behaviour(p_detect=0.95, delay_s=0.5, p_nuisance=0.6),
    "ir": Behaviour(p_detect=0.9, delay_s=0.3, p_nuisance=0.7),
    "camera": Behaviour(p_detect=0.85, delay_s=0.6, p_nuisance=0.5),
}


def scenario_names() -> list[str]:
    folder = resources.files("simulators") / "scenarios"
    return sorted(
        p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml")
    )


def load_scenario(name_or_path: str) -> Scenario:
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") and path.exists():
        text = path.read_text(encoding="utf-8")
    else:
        text = (resources.files("simulators") / "scenarios" / f"{name_or_path}.yaml").read_text(
            encoding="utf-8"
        )
    return Scenario.model_validate(yaml.safe_load(text))


def demo_site_path() -> Path:
    return Path(str(resources.files("simulators") / "sites" / "demo.yaml"))


@dataclass(frozen=True, slots=True)
class Message:
    t: float
    topic: str
    payload: dict[str, Any]


class _Story:
    """What every actor needs while the messages are made: the site, the dice, how the
    sensors behave, which cameras are blind, and where the messages go."""

    def __init__(self, scenario: Scenario, site: Site) -> None:
        self.site = site
        self.end = scenario.duration_s
        self.rng = random.Random(scenario.seed)
        self.beh = {**DEFAULT_BEHAVIOUR, **scenario.behaviour}
        actors = scenario.parsed_actors()
        self.silent_from = {a.sensor: a.from_s for a in actors if isinstance(a, Silence)}
        self.blinds = [a for a in actors if isinstance(a, Blind)]
        self.kinds = {s.id: str(s.kind) for s in site.sensors}
        self.kinds |= {c.id: "camera" for c in site.cameras}
        self.kinds |= {src.id: "intel" for src in site.intel_sources}
        self.video_cameras = scenario.cameras == "live"  # video workers speak for them
        self.out: list[tuple[float, str, str, dict[str, Any]]] = []
        xs = [pt[0] for z in site.zones for pt in z.polygon]
        ys = [pt[1] for z in site.zones for pt in z.polygon]
        self.site_box = (min(xs), min(ys), max(xs), max(ys))

    def outside(self, p: Point) -> bool:
        """Beyond the fence: outside the area the zones enclose."""
        x0, y0, x1, y1 = self.site_box
        return not (x0 <= p[0] <= x1 and y0 <= p[1] <= y1)

    def emit(self, t: float, device: str, event: str, **body: Any) -> None:
        if t < self.end and t < self.silent_from.get(device, math.inf):
            self.out.append((round(t, 3), self.kinds[device], device, {"event": event, **body}))

    def emit_message(self, t: float, device: str, body: dict[str, Any]) -> None:
        """A whole message body (its ``id`` is given in :func:`generate`)."""
        if t < self.end:
            body = {k: v for k, v in body.items() if k != "id"}
            self.out.append((round(t, 3), self.kinds[device], device, body))

    def blind(self, camera: str, t: float) -> bool:
        return any(
            b.camera == camera and b.from_s <= t < (b.until_s or math.inf) for b in self.blinds
        )


def generate(scenario: Scenario, site: Site) -> list[Message]:
    """The scenario's messages in time order (ids per device, seeded)."""
    story = _Story(scenario, site)
    _routine(story)
    for actor in scenario.parsed_actors():
        match actor:
            case Intruder():
                _intruder(actor, story)
            case Wind():
                _wind(actor, story)
            case Animal():
                _animal(actor, story)
            case Tamper():
                story.emit(actor.at_s, actor.sensor, "tamper")
            case Fault():
                story.emit(actor.at_s, actor.sensor, "fault")
                if actor.clear_at_s is not None:
                    story.emit(actor.clear_at_s, actor.sensor, "clear")
            case Blind():
                story.emit(actor.from_s, actor.camera, "video_loss")
                if actor.until_s is not None:
                    story.emit(actor.until_s, actor.camera, "video_restored")
            case LampFailure():
                story.emit(actor.at_s, actor.floodlight, "fault", data={"reason": "lamp"})
            case Intel():
                _intel(actor, story)
    story.out.sort(key=lambda m: m[0])
    counters: dict[str, int] = {}
    messages = []
    for t, kind, device, body in story.out:
        counters[device] = counters.get(device, 0) + 1
        payload = {"id": f"{device}-{scenario.seed}-{counters[device]:06d}", **body}
        messages.append(Message(t, device_topic(site, kind, device), payload))
    return messages


def _routine(story: _Story) -> None:
    """Heartbeats with a random phase per device, and floodlights reporting off."""
    site, rng = story.site, story.rng
    for s in site.sensors:
        if s.heartbeat_s > 0:
            _every(story, s.id, s.heartbeat_s, rng.uniform(0, s.heartbeat_s))
        if s.kind is SensorKind.FLOODLIGHT:
            story.emit(rng.uniform(0.5, 2), s.id, "state", data={"on": False})
    for c in site.cameras:
        if c.heartbeat_s > 0:
            _every(story, c.id, c.heartbeat_s, rng.uniform(0, c.heartbeat_s))


def _every(story: _Story, device: str, period: float, first: float) -> None:
    t = first
    while t < story.end:
        story.emit(t, device, "heartbeat")
        t += period


def _walk(intruder: Intruder, step: float = 0.25) -> Iterator[tuple[float, Point]]:
    t, pos = intruder.start_s, intruder.path[0]
    yield t, pos
    for a, b in zip(intruder.path, intruder.path[1:], strict=False):
        legs = max(1, int(math.dist(a, b) / (intruder.speed_mps * step)))
        for i in range(1, legs + 1):
            t += math.dist(a, b) / legs / intruder.speed_mps
            yield t, (a[0] + (b[0] - a[0]) * i / legs, a[1] + (b[1] - a[1]) * i / legs)


def zone_at(site: Site, p: Point) -> str | None:
    for z in site.zones:
        if _inside(z.polygon, p):
            return z.id
    return None


def _inside(poly: Sequence[Sequence[float]], p: Point) -> bool:
    x, y = p
    inside = False
    for (x0, y0), (x1, y1) in zip(poly, [*poly[1:], poly[0]], strict=False):
        if (y0 > y) != (y1 > y) and x < x0 + (y - y0) * (x1 - x0) / (y1 - y0):
            inside = not inside
    return inside


def _devices(site: Site, kind: str, zone: str) -> list[str]:
    return [s.id for s in site.sensors if str(s.kind) == kind and s.zone == zone]


def _cameras(site: Site, zone: str) -> list[str]:
    return [c.id for c in site.cameras if zone in c.zones]


def _intruder(a: Intruder, story: _Story) -> None:
    site, rng, beh = story.site, story.rng, story.beh
    outsider = story.outside(a.path[0])
    seen_ir: dict[str, float] = {}
    last_zone = None
    for t, p in _walk(a):
        zone = zone_at(site, p)
        if outsider and zone is not None:
            outsider = False
            _breach(a, story, t, zone, p)  # the first step from outside into a fence zone
        if zone != last_zone and last_zone is not None:
            for ir in _devices(site, "ir", last_zone):
                if seen_ir.pop(ir, None) is not None:
                    story.emit(t + 1.0, ir, "clear")
        last_zone = zone
        if zone is None:
            continue
        for ir in _devices(site, "ir", zone):  # an alarm on detection, again every 10 s
            if t - seen_ir.get(ir, -1e9) >= 10 and rng.random() < beh["ir"].p_detect * 0.5:
                seen_ir[ir] = t
                story.emit(t + beh["ir"].delay_s, ir, "alarm")
        _seen_by_cameras(story, t, zone)


def _breach(a: Intruder, story: _Story, t: float, zone: str, p: Point) -> None:
    fence = story.beh["fence"]
    x0, y0 = story.site_box[0], story.site_box[1]
    for sensor in _devices(story.site, "fence", zone):
        if story.rng.random() < fence.p_detect:
            where = round(abs(p[0] - x0) + abs(p[1] - y0), 1)
            story.emit(
                t + fence.delay_s, sensor, "alarm", data={"position_m": where, "mode": a.breach}
            )


def _seen_by_cameras(story: _Story, t: float, zone: str) -> None:
    """A camera reports a person in a zone it watches about once a second."""
    cam_beh = story.beh["camera"]
    for cam in [] if story.video_cameras else _cameras(story.site, zone):
        if story.blind(cam, t) or (t * 4) % 4 >= 1:  # one step in four: ~1 s apart
            continue
        if story.rng.random() < cam_beh.p_detect:
            story.emit(
                t + cam_beh.delay_s,
                cam,
                "person",
                zone=zone,
                data={"box": [0.4, 0.4, 0.1, 0.3], "score": round(story.rng.uniform(0.8, 2.5), 2)},
            )


FEED_EPOCH: Final = 1_767_225_600.0
"""2026-01-01T00:00:00Z: the feed's clock at the scenario's t = 0. Any value would do:
an item's window is read against its own ``ts``, so it holds whenever it is played."""


def _intel(a: Intel, story: _Story) -> None:
    if a.source not in story.kinds:
        raise ValueError(f"intel source {a.source!r} is not in the site's intel_sources")
    ts = FEED_EPOCH + a.at_s
    extra: dict[str, Any] = {
        k: v for k, v in (("category", a.category), ("size", a.size)) if v is not None
    }
    body = intel_message(
        "",
        ts,
        a.ref,
        title=a.title,
        zones=a.zones,
        from_s=a.from_s - a.at_s,
        until_s=a.until_s - a.at_s,
        source_grade=a.source_grade,
        information_grade=a.information_grade,
        handling=a.handling,
        conditions=a.conditions,
        desks=a.desks,
        **extra,
    )
    story.emit_message(a.at_s, a.source, body)
    if a.withdraw_at_s is not None:
        gone = intel_message("", FEED_EPOCH + a.withdraw_at_s, a.ref, withdraw=True)
        story.emit_message(a.withdraw_at_s, a.source, gone)


def _wind(a: Wind, story: _Story) -> None:
    rng, fence = story.rng, story.beh["fence"]
    t = a.start_s
    while t < a.end_s:
        for zone in a.zones:
            for sensor in _devices(story.site, "fence", zone):
                if rng.random() < fence.p_nuisance:
                    story.emit(
                        t + rng.uniform(0, 2),
                        sensor,
                        "alarm",
                        data={"position_m": round(rng.uniform(0, 80), 1), "mode": "unknown"},
                    )
        t += a.gust_every_s * rng.uniform(0.7, 1.3)


def _animal(a: Animal, story: _Story) -> None:
    rng, beh = story.rng, story.beh
    t = a.start_s
    while t < a.start_s + a.duration_s:
        for ir in _devices(story.site, "ir", a.zone):
            if rng.random() < beh["ir"].p_nuisance:
                story.emit(t, ir, "alarm")
        for cam in [] if story.video_cameras else _cameras(story.site, a.zone):
            if not story.blind(cam, t) and rng.random() < beh["camera"].p_nuisance:
                story.emit(t + 0.4, cam, "motion", zone=a.zone, data={"score": 0.01})
        t += rng.uniform(4, 9)
