"""The two reports as JSON-ready dicts: read a source once, compute every figure.

The PDF is drawn from these dicts alone (:mod:`reports.pdf`), so it can only print
what the JSON file holds.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from reports.catalogue import Labels
from reports.detection import (
    DETECTION_WINDOW_S,
    DetectionTally,
    thresholds,
    walk_test_rows,
    zone_figures,
)
from reports.figures import Availability, IncidentTally, intel_figures, period_json
from reports.numbers import Numbers
from reports.rows import Layout, Period
from reports.source import ReportSource

SCHEMA = 1
"""Version of the JSON shape; raised when a field changes meaning or goes."""


def _header(kind: str, layout: Layout, period: Period, lang: str, now: float) -> dict[str, Any]:
    labels = Labels(lang)
    return {
        "report": kind,
        "schema": SCHEMA,
        "lang": lang,
        "title": labels(f"title.{kind}"),
        "site": {"id": layout.site, "name": layout.name, "timezone": layout.timezone},
        "period": period_json(period, layout),
        "generated_t": now,
        "generated": datetime.fromtimestamp(now, layout.tz).isoformat(timespec="seconds"),
    }


def monthly_report(
    source: ReportSource, layout: Layout, period: Period, lang: str, now: float
) -> dict[str, Any]:
    """Incidents seen, confirmed, disrupted; by outcome, zone, week, hour; response
    times; intelligence; device availability."""
    tally = IncidentTally(layout, period)
    for row in source.incidents(period.start_t, period.until_t):
        tally.add(row)
    availability = Availability(layout, period)
    for fault in source.faults(period.start_t, period.until_t):
        availability.add(fault)
    intel = intel_figures(source.intel_items(period.start_t, period.until_t), tally, period)
    report = _header("monthly", layout, period, lang, now)
    report["empty"] = not (
        tally.seen or tally.test_excluded or availability.faults or intel["items"]
    )
    report["incidents"] = tally.figures()
    report["response"] = tally.response()
    report["intel"] = intel
    report["faults"] = availability.faults
    report["devices"] = availability.devices()
    return report


def inspection_report(
    source: ReportSource, layout: Layout, period: Period, lang: str, now: float
) -> dict[str, Any]:
    """Per zone: walk-test crossings and detections per modality, PoD and its bound,
    nuisance and false-alarm rates, device availability, a verdict with reasons."""
    tally = IncidentTally(layout, period)
    for row in source.incidents(period.start_t, period.until_t):
        tally.add(row)
    availability = Availability(layout, period)
    for fault in source.faults(period.start_t, period.until_t):
        availability.add(fault)
    devices = availability.devices()
    detection = DetectionTally()
    detection.run(
        source.crossings(period.start_t, period.until_t),
        source.detections(period.start_t, period.until_t, DETECTION_WINDOW_S),
    )
    tests = walk_test_rows(source.walk_tests(period.start_t, period.until_t), detection)
    zones = zone_figures(layout, period, detection, tally.by_zone, devices)
    labels, numbers = Labels(lang), Numbers(lang)
    for zone in zones:
        zone["verdict_text"] = labels(f"verdict.{zone['verdict']}")
        for reason in zone["reasons"]:
            reason["text"] = reason_text(reason, labels, numbers)
    report = _header("inspection", layout, period, lang, now)
    crossings = sum(z["crossings"] for z in zones)
    report["empty"] = not (
        tests or crossings or tally.seen or tally.test_excluded or availability.faults
    )
    report["thresholds"] = thresholds()
    report["incidents"] = {
        "seen": tally.seen,
        "test_excluded": tally.test_excluded,
        "by_outcome": tally.figures()["by_outcome"],
    }
    report["walk_tests"] = tests
    report["crossings"] = crossings
    report["zones"] = zones
    report["faults"] = availability.faults
    report["devices"] = devices
    return report


def reason_text(reason: dict[str, Any], labels: Labels, numbers: Numbers) -> str:
    params = {}
    for name, value in reason["params"].items():
        if name == "modality":
            params[name] = labels.get(f"modality.{value}", str(value))
        else:
            params[name] = numbers.param(name, value)
    return labels(f"reason.{reason['code']}", **params)
