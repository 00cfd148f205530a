"""Walk tests, probability of detection, alarm rates and a verdict per zone (the
inspection report). Pure: rows in, figures out.

A crossing of zone Z at time t is **detected** by a modality when an alarm of that
modality (ir, fence) or a camera ``person`` from Z is received in [t, t + 10 s].
It is detected by the system (``any``) when at least one modality detected it.
"""

from __future__ import annotations

import heapq
import itertools
from collections import Counter, deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from reports.rows import CrossingRow, DetectionRow, Layout, Period, WalkTestRow
from reports.stats import CONFIDENCE, clopper_pearson_lower

DETECTION_WINDOW_S = 10.0
"""A detection counts for a crossing when received at most this long after it
(contract: "within 10 s after"): time for a sensor to trip and its message to arrive."""

POD_TARGET = 0.90
"""The probability of detection a zone must demonstrate, at :data:`CONFIDENCE`, to pass:
the usual requirement for a high-security perimeter."""

NUISANCE_LIMIT_PER_30D = 30.0 / 7.0
"""At most 1 nuisance alarm (a real cause that is not an intruder: weather, animals,
vegetation) per zone per 7 days, written per 30 days."""

FALSE_ALARM_LIMIT_PER_30D = 1.0
"""At most 1 false alarm (no cause found: the system itself) per zone per 30 days.
Stricter than nuisance: a false alarm says the equipment cannot be trusted."""

AVAILABILITY_ATTENTION = 0.99
"""A device of the zone below this availability draws the inspector's attention."""

AVAILABILITY_FAIL = 0.95
"""A device of the zone below this availability fails the zone: more than 36 hours
out of service in a month leaves the perimeter open."""

ANY = "any"
"""The system as a whole: detected by at least one modality."""

MODES = ("walk", "run", "crawl", "climb", "cut")


class Verdict(StrEnum):
    PASS = "pass"  # noqa: S105 - a verdict, not a password
    ATTENTION = "attention"
    FAIL = "fail"


_SEVERITY = {Verdict.PASS: 0, Verdict.ATTENTION: 1, Verdict.FAIL: 2}


@dataclass(slots=True)
class _Pending:
    crossing: CrossingRow
    by: set[str] = field(default_factory=set)


@dataclass(slots=True)
class _ZoneTests:
    crossings: int = 0
    detected: Counter[str] = field(default_factory=Counter)
    modes: dict[str, list[int]] = field(default_factory=dict)


class DetectionTally:
    """Matches crossings with detections in one pass over both, each sorted by time.

    Only the crossings of the last 10 s are held; a detection at exactly a crossing's
    time counts (crossings sort first at equal times).
    """

    def __init__(self, window_s: float = DETECTION_WINDOW_S) -> None:
        self.window_s = window_s
        self.zones: dict[str, _ZoneTests] = {}
        self.per_test: dict[str, list[int]] = {}

    def run(self, crossings: Iterable[CrossingRow], detections: Iterable[DetectionRow]) -> None:
        pending: deque[_Pending] = deque()
        for t, kind, _, row in _merged(crossings, detections):
            while pending and pending[0].crossing.t + self.window_s < t:
                self._settle(pending.popleft())
            if kind == 0:
                assert isinstance(row, CrossingRow)
                pending.append(_Pending(row))
                continue
            assert isinstance(row, DetectionRow)
            for p in pending:
                if p.crossing.zone == row.zone:
                    p.by.add(row.modality)
        while pending:
            self._settle(pending.popleft())

    def _settle(self, p: _Pending) -> None:
        c = p.crossing
        zone = self.zones.setdefault(c.zone, _ZoneTests())
        zone.crossings += 1
        for m in p.by:
            zone.detected[m] += 1
        zone.detected[ANY] += bool(p.by)
        mode = zone.modes.setdefault(c.mode, [0, 0])
        mode[0] += 1
        mode[1] += bool(p.by)
        test = self.per_test.setdefault(c.test_id, [0, 0])
        test[0] += 1
        test[1] += bool(p.by)


def _merged(
    crossings: Iterable[CrossingRow], detections: Iterable[DetectionRow]
) -> Iterator[tuple[float, int, int, CrossingRow | DetectionRow]]:
    n = itertools.count()
    return heapq.merge(
        ((c.t, 0, next(n), c) for c in crossings),
        ((d.t, 1, next(n), d) for d in detections),
    )


def pod_row(modality: str, detected: int, crossings: int) -> dict[str, Any]:
    return {
        "modality": modality,
        "crossings": crossings,
        "detected": detected,
        "pod": detected / crossings if crossings else None,
        "pod_lower_95": clopper_pearson_lower(detected, crossings) if crossings else None,
    }


def rate_row(count: int, days: float, limit: float) -> dict[str, Any]:
    per_30d = count * 30.0 / days if days > 0 else None
    return {
        "count": count,
        "per_30d": per_30d,
        "limit_per_30d": limit,
        "within_limit": per_30d is None or per_30d <= limit,
    }


def zone_figures(
    layout: Layout,
    period: Period,
    tally: DetectionTally,
    incidents_by_zone: dict[str, dict[str, int]],
    devices: list[dict[str, Any]],
) -> list[dict[str, Any]]:
    """Per zone: crossings, detection per modality with PoD and bound, rates, verdict."""
    names = dict(layout.zones)
    order = list(names) + [z for z in tally.zones if z not in names]
    out = []
    for zone in order:
        tests = tally.zones.get(zone, _ZoneTests())
        modalities = list(layout.modalities(zone))
        modalities += sorted(m for m in tests.detected if m not in modalities and m != ANY)
        counts = incidents_by_zone.get(zone, {})
        zone_devices = [
            {"device": d["device"], "availability": d["availability"]}
            for d in devices
            if zone in d["zones"]
        ]
        entry: dict[str, Any] = {
            "zone": zone,
            "name": names.get(zone, ""),
            "crossings": tests.crossings,
            "by_mode": [
                {"mode": m, "crossings": c, "detected": k}
                for m, (c, k) in sorted(tests.modes.items(), key=lambda kv: _mode_order(kv[0]))
            ],
            "detection": [
                pod_row(m, tests.detected[m], tests.crossings) for m in (*modalities, ANY)
            ],
            "nuisance": rate_row(counts.get("nuisance", 0), period.days, NUISANCE_LIMIT_PER_30D),
            "false_alarm": rate_row(
                counts.get("false_alarm", 0), period.days, FALSE_ALARM_LIMIT_PER_30D
            ),
            "devices": zone_devices,
        }
        verdict, reasons = verdict_of(entry)
        entry["verdict"] = verdict.value
        entry["reasons"] = reasons
        out.append(entry)
    return out


def _mode_order(mode: str) -> tuple[int, str]:
    return (MODES.index(mode) if mode in MODES else len(MODES), mode)


def verdict_of(zone: dict[str, Any]) -> tuple[Verdict, list[dict[str, Any]]]:
    """The zone's verdict and every reason for it, worst first.

    fail: the system's measured PoD is below the target; a nuisance or false-alarm
    rate is above its limit; a device is below :data:`AVAILABILITY_FAIL`.
    attention: no crossing in the period; PoD at or above the target but not shown
    at 95 % (too few crossings); one modality below the target; a device below
    :data:`AVAILABILITY_ATTENTION`. pass: none of these.
    """
    found: list[tuple[Verdict, str, dict[str, Any]]] = []
    rows = {r["modality"]: r for r in zone["detection"]}
    system = rows[ANY]
    if system["crossings"] == 0:
        found.append((Verdict.ATTENTION, "not_tested", {}))
    elif system["pod"] < POD_TARGET:
        found.append((Verdict.FAIL, "pod_below_target", _pod_params(system)))
    elif system["pod_lower_95"] < POD_TARGET:
        found.append((Verdict.ATTENTION, "pod_not_shown", _pod_params(system)))
    for m, r in rows.items():
        if m != ANY and r["crossings"] and r["pod"] < POD_TARGET:
            found.append((Verdict.ATTENTION, "modality_weak", _pod_params(r)))
    for key, code in (("nuisance", "nuisance_high"), ("false_alarm", "false_alarm_high")):
        rate = zone[key]
        if not rate["within_limit"]:
            found.append(
                (Verdict.FAIL, code, {"per_30d": rate["per_30d"], "limit": rate["limit_per_30d"]})
            )
    for d in zone["devices"]:
        a = d["availability"]
        if a is not None and a < AVAILABILITY_FAIL:
            found.append(
                (Verdict.FAIL, "device_unavailable", {**d, "threshold": AVAILABILITY_FAIL})
            )
        elif a is not None and a < AVAILABILITY_ATTENTION:
            found.append(
                (Verdict.ATTENTION, "device_degraded", {**d, "threshold": AVAILABILITY_ATTENTION})
            )
    if not found:
        found.append((Verdict.PASS, "all_met", _pod_params(system)))
    found.sort(key=lambda f: -_SEVERITY[f[0]])
    verdict = found[0][0]
    return verdict, [{"severity": v.value, "code": c, "params": dict(p)} for v, c, p in found]


def _pod_params(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "modality": row["modality"],
        "detected": row["detected"],
        "crossings": row["crossings"],
        "pod": row["pod"],
        "lower": row["pod_lower_95"],
        "target": POD_TARGET,
    }


def walk_test_rows(tests: Iterable[WalkTestRow], tally: DetectionTally) -> list[dict[str, Any]]:
    out = []
    for w in tests:
        crossings, detected = tally.per_test.get(w.id, [0, 0])
        out.append(
            {
                "id": w.id,
                "zone": w.zone,
                "opened_t": w.opened_t,
                "until_t": w.until_t,
                "closed_t": w.closed_t,
                "opened_by": w.opened_by,
                "crossings": crossings,
                "detected": detected,
            }
        )
    return out


def thresholds() -> dict[str, float]:
    return {
        "pod_target": POD_TARGET,
        "confidence": CONFIDENCE,
        "detection_window_s": DETECTION_WINDOW_S,
        "nuisance_limit_per_30d": NUISANCE_LIMIT_PER_30D,
        "false_alarm_limit_per_30d": FALSE_ALARM_LIMIT_PER_30D,
        "availability_attention": AVAILABILITY_ATTENTION,
        "availability_fail": AVAILABILITY_FAIL,
    }
