"""What happens at a site in a month, drawn from a seed: the plan (:mod:`simulators.month_plan`)
that :mod:`simulators.month` plays through the real processing step and store.

- weather, hour by hour (a breeze with a few storm fronts, rain with them), and per zone
  a susceptibility (vegetation on the fence line): wind and rain shake fences and trip
  detectors, so nuisance alarms follow the storms, more in overgrown zones;
- a few false alarms (no cause found), more in one zone with a flaky detector;
- an animal (a fox) visiting one zone on a run of nights: infrared and camera motion;
- faults and their repairs: a tampered detector, a fence sensor out for a day or two, a
  camera losing its video, a floodlight's lamp, a power cut that silences a device;
- walk tests by an inspector on a few zones (crossings in every mode; each modality
  detects each crossing with a probability of its own, a few miss or come too late);
- intrusions at night, with the intruder intercepted, turned back, escaping or not known;
- intelligence items, when the site has sources;
- and for every incident these open, what the control room does: an acknowledgement
  after a delay (longer at night, a few never), a resolution with its outcome.
"""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

from fusion.incidents import Outcome
from fusion.site import SensorKind, Site
from fusion.walktests import CrossingMode
from simulators.month_plan import (
    DISRUPTION_WEIGHTS,
    Happening,
    Inspection,
    MonthPlan,
    Sent,
    Story,
)

HOUR: Final = 3600.0
DAY: Final = 86400.0

DETECTION: Final[dict[CrossingMode, dict[str, float]]] = {
    CrossingMode.WALK: {"ir": 0.97, "fence": 0.35, "camera": 0.92},
    CrossingMode.RUN: {"ir": 0.95, "fence": 0.40, "camera": 0.88},
    CrossingMode.CRAWL: {"ir": 0.80, "fence": 0.55, "camera": 0.70},
    CrossingMode.CLIMB: {"ir": 0.93, "fence": 0.97, "camera": 0.90},
    CrossingMode.CUT: {"ir": 0.90, "fence": 0.98, "camera": 0.85},
}
"""Chance that each modality detects a crossing in each mode: a fence sensor feels a
climb or a cut, hardly a walk through an open gate; infrared misses some crawlers."""

LATE_DETECTION: Final = 0.03
"""Share of detections that come after the 10 s window (a slow link): counted as misses."""


def plan_month(
    site: Site, start: float, end: float, seed: int, *, sparse_heartbeats: bool = False
) -> MonthPlan:
    """A month at ``site`` from ``start`` to ``end`` (epoch seconds), drawn from ``seed``."""
    plan = MonthPlan(site, start, end, seed, sparse_heartbeats)
    _Drawing(plan, random.Random(seed)).draw()
    plan.happenings.sort(key=lambda h: h.t)
    return plan


class _Drawing:
    def __init__(self, plan: MonthPlan, rng: random.Random) -> None:
        self.plan = plan
        self.rng = rng
        site = plan.site
        self.tz = ZoneInfo(site.timezone or "UTC")
        self.zones = [z.id for z in site.zones]
        self.criticality = {z.id: z.criticality for z in site.zones}
        self.near = site.neighbourhood()
        self.break_ins: list[tuple[float, str]] = []
        self.detectors: dict[str, dict[str, list[str]]] = {z: {} for z in self.zones}
        for s in site.sensors:
            if s.zone and s.kind in (SensorKind.IR, SensorKind.FENCE):
                self.detectors[s.zone].setdefault(str(s.kind), []).append(s.id)
        for c in site.cameras:
            for z in c.zones:
                self.detectors[z].setdefault("camera", []).append(c.id)

    def add(self, h: Happening) -> None:
        if self.plan.start <= h.t < self.plan.end:
            self.plan.happenings.append(h)

    def draw(self) -> None:
        self.weather_and_nuisance()
        self.false_alarms()
        self.animal()
        self.faults()
        self.walk_tests()
        self.intrusions()
        self.intelligence()

    # -- the control room ---------------------------------------------------------------

    def story(self, cause: str, outcome: Outcome, t: float, comment: str) -> Story:
        r = self.rng
        median = 40.0 if cause == "intrusion" else 75.0
        delay = min(1200.0, r.lognormvariate(math.log(median), 0.8))
        delay *= 1.6 if self.is_night(t) else 1.0
        work = r.uniform(1200, 5400) if cause == "intrusion" else r.uniform(120, 2400)
        resolve = delay + work
        ack: float | None = delay
        if cause != "intrusion" and r.random() < 0.08:
            ack = None  # seen, dealt with and closed in one go
        disruption = None
        if outcome is Outcome.INTRUSION:
            choices, weights = zip(*DISRUPTION_WEIGHTS.items(), strict=True)
            disruption = r.choices(choices, weights)[0]
        return Story(cause, outcome, ack, resolve, comment, disruption)

    # -- time ---------------------------------------------------------------------------

    def local(self, t: float) -> datetime:
        return datetime.fromtimestamp(t, self.tz)

    def is_night(self, t: float) -> bool:
        hour = self.local(t).hour
        return hour >= 21 or hour < 6

    def at_local(self, day: int, hour: float) -> float:
        """Epoch seconds of ``hour`` (local) on the month's ``day``-th day (from 0)."""
        first = self.local(self.plan.start).date() + timedelta(days=day)
        base = datetime(first.year, first.month, first.day, tzinfo=self.tz)
        return (base + timedelta(hours=hour)).astimezone(UTC).timestamp()

    @property
    def days(self) -> int:
        return max(1, math.ceil((self.plan.end - self.plan.start) / DAY))

    # -- what happens -------------------------------------------------------------------

    def alarm(self, t: float, device: str, kind: str, story: Story | None, **data: Any) -> None:
        body: dict[str, Any] = {"event": "alarm", "ts": _iso(t - self.rng.uniform(0.05, 0.4))}
        if data:
            body["data"] = data
        self.add(Sent(t, device, kind, body, story))
        self.add(Sent(t + self.rng.uniform(4, 25), device, kind, {"event": "clear"}))

    def weather_and_nuisance(self) -> None:
        r = self.rng
        hours = int((self.plan.end - self.plan.start) // HOUR) + 1
        storms = [
            (r.uniform(0, hours), r.uniform(8, 36), r.uniform(13, 22))
            for _ in range(r.randint(2, 4))
        ]
        wind = [0.0] * hours
        w = 4.0
        for h in range(hours):
            w = max(0.0, 0.85 * w + 0.15 * 4.0 + r.gauss(0, 1.1))
            gust = max(
                (peak * max(0.0, 1 - abs(h - (s + d / 2)) / (d / 2)) for s, d, peak in storms),
                default=0.0,
            )
            wind[h] = max(w, gust)
        rain = [wind[h] > 11 or r.random() < 0.04 for h in range(hours)]
        overgrown = set(r.sample(self.zones, k=min(2, len(self.zones))))
        for zone in self.zones:
            kinds = [k for k in ("fence", "ir") if k in self.detectors[zone]]
            if not kinds:
                continue
            veg = r.uniform(2.0, 3.0) if zone in overgrown else r.uniform(0.1, 1.0)
            for h in range(hours):
                rate = (
                    0.0008
                    + veg * 0.0007 * max(0.0, wind[h] - 8) ** 1.6
                    + (0.01 * veg if rain[h] else 0)
                )
                n = _poisson(r, rate)
                for _ in range(n):
                    t = self.plan.start + (h + r.random()) * HOUR
                    kind = (
                        "fence"
                        if "fence" in kinds and (r.random() < 0.75 or len(kinds) == 1)
                        else kinds[-1]
                    )
                    device = r.choice(self.detectors[zone][kind])
                    why = (
                        "rain on the detector" if rain[h] and kind == "ir" else "wind on the fence"
                    )
                    story = self.story(
                        "nuisance", Outcome.NUISANCE, t, f"{why}, patrol found nothing"
                    )
                    data = (
                        {"mode": "unknown", "position_m": round(r.uniform(0, 100), 1)}
                        if kind == "fence"
                        else {}
                    )
                    self.alarm(t, device, kind, story, **data)

    def false_alarms(self) -> None:
        r = self.rng
        flaky = r.choice(self.zones)
        for zone in self.zones:
            kinds = [k for k in ("ir", "fence") if k in self.detectors[zone]]
            if not kinds:
                continue
            mean = 2.5 if zone == flaky else 0.4
            for _ in range(_poisson(r, mean * self.days / 30)):
                t = r.uniform(self.plan.start, self.plan.end)
                kind = r.choice(kinds)
                story = self.story("false_alarm", Outcome.FALSE_ALARM, t, "no cause found")
                self.alarm(t, r.choice(self.detectors[zone][kind]), kind, story)

    def animal(self) -> None:
        r = self.rng
        zones = [z for z in self.zones if "ir" in self.detectors[z]]
        if not zones:
            return
        zone = r.choice(zones)
        first = r.randint(min(7, self.days - 1), max(min(7, self.days - 1), self.days - 8))
        for night in range(first, min(self.days, first + r.randint(4, 7))):
            for _ in range(r.randint(1, 3)):
                t = self.at_local(night, r.uniform(23, 28))
                story = self.story("animal", Outcome.NUISANCE, t, "a fox, seen on camera")
                self.alarm(t, r.choice(self.detectors[zone]["ir"]), "ir", story)
                for camera in self.detectors[zone].get("camera", [])[:1]:
                    motion = {
                        "event": "motion",
                        "zone": zone,
                        "data": {"score": round(r.uniform(0.3, 0.8), 2)},
                    }
                    self.add(Sent(t + r.uniform(1, 6), camera, "camera", motion))
                onward = [z for z in self.near[zone] - {zone} if "ir" in self.detectors[z]]
                if onward and r.random() < 0.3:
                    other = r.choice(onward)
                    self.alarm(
                        t + r.uniform(20, 60), r.choice(self.detectors[other]["ir"]), "ir", story
                    )

    def faults(self) -> None:
        r = self.rng
        site = self.plan.site
        by_kind: dict[str, list[str]] = {}
        for s in site.sensors:
            by_kind.setdefault(str(s.kind), []).append(s.id)
        by_kind["camera"] = [c.id for c in site.cameras]
        span = (self.plan.start + 2 * DAY, max(self.plan.start + 2 * DAY, self.plan.end - 3 * DAY))

        def window(hours: tuple[float, float]) -> tuple[float, float]:
            t = r.uniform(*span)
            return t, t + r.uniform(*hours) * HOUR

        for kind, fault, cleared_by, hours in (
            ("ir", "tamper", "clear", (2, 8)),
            ("fence", "fault", "clear", (20, 60)),
            ("camera", "video_loss", "video_restored", (1, 6)),
            ("floodlight", "fault", "clear", (24, 48)),
        ):
            if by_kind.get(kind):
                device = r.choice(by_kind[kind])
                raised, repaired = window(hours)
                self.add(Sent(raised, device, kind, {"event": fault}))
                self.add(Sent(repaired, device, kind, {"event": cleared_by}))
        supervised = [s.id for s in site.sensors if s.heartbeat_s > 0]
        supervised += [c.id for c in site.cameras if c.heartbeat_s > 0]
        if supervised:
            self.plan.silences.setdefault(r.choice(supervised), []).append(window((3, 10)))

    def walk_tests(self) -> None:
        r = self.rng
        zones = [z for z in self.zones if self.detectors[z]]
        if not zones:
            return
        zones.sort(key=lambda z: -self.criticality[z])
        critical = zones[: max(3, len(zones) // 2)]  # the inspector tests the critical zones
        chosen = r.sample(critical, k=min(len(critical), r.randint(3, 5)))
        workdays = range(1, max(2, self.days - 1))
        days = sorted(r.sample(workdays, k=min(len(chosen), len(workdays))))
        for ref, (zone, day) in enumerate(zip(chosen, days, strict=False), start=1):
            t = self.at_local(day, r.uniform(9, 14))
            self.add(Inspection(t, "open", ref, zone, minutes=90))
            modes = list(CrossingMode)
            for _ in range(r.randint(18, 30)):
                t += r.uniform(60, 150)
                mode = r.choices(modes, weights=(4, 2, 2, 3, 1))[0]
                self.add(Inspection(t, "cross", ref, zone, mode=mode))
                for modality, devices in self.detectors[zone].items():
                    if r.random() >= DETECTION[mode][modality]:
                        continue
                    late = r.random() < LATE_DETECTION
                    at = t + (r.uniform(10.5, 14) if late else r.uniform(0.4, 3.5))
                    story = self.story("test", Outcome.TEST, at, f"walk test, {mode} crossing")
                    device = r.choice(devices)
                    if modality == "camera":
                        person = {
                            "event": "person",
                            "zone": zone,
                            "data": {"score": round(r.uniform(1.0, 2.5), 2)},
                        }
                        self.add(Sent(at, device, "camera", person, story))
                    else:
                        data = {
                            "mode": "climb"
                            if mode is CrossingMode.CLIMB
                            else "cut"
                            if mode is CrossingMode.CUT
                            else "unknown"
                        }
                        self.alarm(
                            at, device, modality, story, **(data if modality == "fence" else {})
                        )
            self.add(Inspection(t + r.uniform(120, 300), "close", ref, zone))

    def intrusions(self) -> None:
        r = self.rng
        zones = [z for z in self.zones if self.detectors[z]]
        if not zones:
            return
        weights = [self.criticality[z] for z in zones]
        for _ in range(r.randint(3, 6)):
            zone = r.choices(zones, weights)[0]
            t = self.at_local(r.randrange(self.days), r.uniform(22, 29))
            story = self.story("intrusion", Outcome.INTRUSION, t, "intruder on the perimeter")
            self.intruder(zone, t, story)
            self.break_ins.append((t, zone))
            onward = [z for z in self.near[zone] - {zone} if self.detectors[z]]
            if onward and r.random() < 0.4:
                self.intruder(r.choice(onward), t + r.uniform(20, 80), story)

    def intruder(self, zone: str, t: float, story: Story) -> None:
        r = self.rng
        found = self.detectors[zone]
        if "fence" in found:
            self.alarm(
                t,
                r.choice(found["fence"]),
                "fence",
                story,
                mode=r.choice(["climb", "cut"]),
                position_m=round(r.uniform(0, 100), 1),
            )
        if "ir" in found:
            self.alarm(t + r.uniform(3, 15), r.choice(found["ir"]), "ir", story)
        if "camera" in found:
            person = {
                "event": "person",
                "zone": zone,
                "data": {"score": round(r.uniform(1.2, 2.8), 2)},
            }
            self.add(Sent(t + r.uniform(4, 20), found["camera"][0], "camera", person, story))

    def intelligence(self) -> None:
        r = self.rng
        sources = [s.id for s in self.plan.site.intel_sources]
        if not sources:
            return
        for n in range(1, r.randint(3, 5) + 1):
            issued = r.uniform(self.plan.start, self.plan.end - DAY)
            zones = r.sample(self.zones, k=min(2, len(self.zones)))
            if n == 1 and self.break_ins:  # a tip-off that came true: the first intrusion
                night, zone = min(self.break_ins)
                issued, zones = night - r.uniform(4, 8) * HOUR, [zone]
            weak = n == 2  # one item graded not credible: shown, never acted on
            body = {
                "event": "issue",
                "ts": _iso(issued),
                "data": {
                    "ref": f"INT-{n:04d}",
                    "title": f"Group reported near {' and '.join(zones)}",
                    "zones": zones,
                    "valid_from": _iso(issued + r.uniform(1, 3) * HOUR),
                    "valid_until": _iso(issued + r.uniform(12, 30) * HOUR),
                    "source_grade": "3" if weak else r.choice(["1", "2"]),
                    "information_grade": r.choice(["B", "C"]),
                    "handling": "P",
                    "category": "group",
                    "size": r.randint(3, 25),
                },
            }
            source = r.choice(sources)
            self.add(Sent(issued, source, "intel", body))
            if n == 3:
                withdraw = {
                    "event": "withdraw",
                    "ts": _iso(issued + 2 * HOUR),
                    "data": {"ref": f"INT-{n:04d}"},
                }
                self.add(Sent(issued + 2 * HOUR, source, "intel", withdraw))


def _poisson(r: random.Random, mean: float) -> int:
    """A Poisson draw (Knuth's method: the means here are small)."""
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= r.random()
        if p <= limit:
            return k
        k += 1


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
