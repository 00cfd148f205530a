"""The figures of the monthly report, computed while the rows stream past.

Pure: no I/O, no clock. Each tally takes rows one at a time and keeps counters,
so memory does not grow with the number of rows, with one honest exception: the
acknowledge and resolve durations are kept (8 bytes each, in an ``array``) to give
exact percentiles; 20,000 incidents cost 320 KB. Walk tests, probabilities of
detection and verdicts are in :mod:`reports.detection`.

Definitions are in docs/reports.md; the short form:

- a *real* incident is one opened in the period that is not a test incident
  (``test`` flag set, or resolved with outcome ``test``); test incidents are
  counted apart and nowhere else;
- an incident counts in the zone where it began (its first zone), in the ISO week
  and the hour of day (site time zone) of its opening;
- *confirmed* (detected): held events of two modalities; *disrupted*: an intrusion
  intercepted or turned back.
"""

from __future__ import annotations

from array import array
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from reports.rows import FaultRow, IncidentRow, IntelItemRow, Layout, Period
from reports.stats import percentile

OUTCOMES = ("intrusion", "false_alarm", "nuisance")
"""Real outcomes an operator resolves with (``test`` marks a test incident)."""

UNRESOLVED = "unresolved"

DISRUPTIONS = ("intercepted", "turned_back", "escaped", "unknown")
"""What happened to an intrusion; ``unknown`` also stands for an intrusion resolved
before disruption was recorded."""

DISRUPTED = frozenset({"intercepted", "turned_back"})
"""Disruptions that stopped the intruder: the seed's "criminality disrupted"."""

PERCENTILES = (("p50_s", 0.5), ("p90_s", 0.9))


def is_test(row: IncidentRow) -> bool:
    """A test incident (walk test, or resolved as a test): never counted as real."""
    return row.test or row.outcome == "test"


def outcome_of(row: IncidentRow) -> str:
    return row.outcome if row.outcome in OUTCOMES else UNRESOLVED


def disruption_of(row: IncidentRow) -> str:
    return row.disruption if row.disruption in DISRUPTIONS else "unknown"


def local_days(period: Period, layout: Layout) -> list[date]:
    """The local days that hold data: first day .. the day of ``until_t``."""
    last = datetime.fromtimestamp(max(period.start_t, period.until_t - 1e-6), layout.tz).date()
    last = min(last, period.last_day)
    return [period.first_day + timedelta(days=i) for i in range((last - period.first_day).days + 1)]


def iso_week(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def _durations(values: array[float]) -> dict[str, Any]:
    ordered = sorted(values)
    out: dict[str, Any] = {"n": len(ordered)}
    for key, q in PERCENTILES:
        out[key] = percentile(ordered, q)
    return out


def _zone_counts() -> dict[str, int]:
    return {"seen": 0, "confirmed": 0, **dict.fromkeys(OUTCOMES, 0), UNRESOLVED: 0}


class IncidentTally:
    """Incidents seen, confirmed, by outcome, disruption, zone, week and hour; response times."""

    def __init__(self, layout: Layout, period: Period) -> None:
        self._layout = layout
        self._period = period
        self._tz = layout.tz
        self.seen = 0
        self.confirmed = 0
        self.test_excluded = 0
        self.by_outcome: Counter[str] = Counter()
        self.by_disruption: Counter[str] = Counter()
        self.by_zone: dict[str, dict[str, int]] = {z: _zone_counts() for z, _ in layout.zones}
        self.weeks: dict[str, list[int]] = {}
        for day in local_days(period, layout):
            self.weeks.setdefault(iso_week(day), [0, 0])
        self.by_hour = [[0, 0] for _ in range(24)]
        self.acknowledge: array[float] = array("d")
        self.resolve: array[float] = array("d")
        self.linked = Counter[str]()  # incidents linked: all, confirmed, intrusion
        self.per_item: Counter[str] = Counter()

    def add(self, row: IncidentRow) -> None:
        p = self._period
        if not p.start_t <= row.opened_t < p.until_t:
            return
        if is_test(row):
            self.test_excluded += 1
            return
        confirmed = row.confirmed_t is not None
        outcome = outcome_of(row)
        self.seen += 1
        self.confirmed += confirmed
        self.by_outcome[outcome] += 1
        if outcome == "intrusion":
            self.by_disruption[disruption_of(row)] += 1
        zone = row.zones[0] if row.zones else ""
        counts = self.by_zone.setdefault(zone, _zone_counts())
        counts["seen"] += 1
        counts["confirmed"] += confirmed
        counts[outcome] += 1
        local = datetime.fromtimestamp(row.opened_t, self._tz)
        week = self.weeks.setdefault(iso_week(local.date()), [0, 0])
        week[0] += 1
        week[1] += confirmed
        hour = self.by_hour[local.hour]
        hour[0] += 1
        hour[1] += confirmed
        if row.acked_t is not None:
            self.acknowledge.append(max(0.0, row.acked_t - row.opened_t))
        if row.closed_t is not None:
            self.resolve.append(max(0.0, row.closed_t - row.opened_t))
        if row.intel:
            self.linked["all"] += 1
            self.linked["confirmed"] += confirmed
            self.linked["intrusion"] += outcome == "intrusion"
            for item in set(row.intel):
                self.per_item[item] += 1

    def zone_rows(self) -> list[dict[str, Any]]:
        names = dict(self._layout.zones)
        return [{"zone": z, "name": names.get(z, ""), **c} for z, c in self.by_zone.items()]

    def figures(self) -> dict[str, Any]:
        return {
            "seen": self.seen,
            "confirmed": self.confirmed,
            "disrupted": sum(self.by_disruption[d] for d in DISRUPTED),
            "test_excluded": self.test_excluded,
            "by_outcome": {o: self.by_outcome[o] for o in (*OUTCOMES, UNRESOLVED)},
            "by_disruption": {d: self.by_disruption[d] for d in DISRUPTIONS},
            "by_zone": self.zone_rows(),
            "by_week": [
                {"week": w, "seen": s, "confirmed": c} for w, (s, c) in sorted(self.weeks.items())
            ],
            "by_hour": [
                {"hour": h, "seen": s, "confirmed": c} for h, (s, c) in enumerate(self.by_hour)
            ],
        }

    def response(self) -> dict[str, Any]:
        return {"acknowledge": _durations(self.acknowledge), "resolve": _durations(self.resolve)}


def intel_figures(
    items: Iterable[IntelItemRow], incidents: IncidentTally, period: Period
) -> dict[str, Any]:
    """Items issued in the period, and real incidents of the period linked to items.

    ``items`` are those issued in the period and those linked to one of its incidents.
    """
    listed: list[dict[str, Any]] = []
    issued = credible = withdrawn = 0
    for item in items:
        in_period = item.received_t is not None and (
            period.start_t <= item.received_t < period.until_t
        )
        linked = incidents.per_item.get(item.id, 0)
        if not in_period and not linked:
            continue
        if in_period:
            issued += 1
            credible += item.credible
            withdrawn += item.withdrawn_t is not None
        listed.append(
            {
                "id": item.id,
                "title": item.title,
                "zones": list(item.zones),
                "received_t": item.received_t,
                "issued_in_period": in_period,
                "credible": item.credible,
                "withdrawn": item.withdrawn_t is not None,
                "incidents_linked": linked,
            }
        )
    return {
        "items_issued": issued,
        "items_credible": credible,
        "items_withdrawn": withdrawn,
        "incidents_linked": incidents.linked["all"],
        "incidents_linked_confirmed": incidents.linked["confirmed"],
        "incidents_linked_intrusion": incidents.linked["intrusion"],
        "items": listed,
    }


class Availability:
    """Per device: faults overlapping the period and the time with at least one open.

    Faults arrive ordered by device, then time raised. Each is clipped to the period
    (an open fault runs to ``until_t``); overlapping faults of one device count their
    union once. availability = 1 - downtime / period length.
    """

    def __init__(self, layout: Layout, period: Period) -> None:
        self._period = period
        self._devices: dict[str, dict[str, Any]] = {
            d.id: self._blank(d.id, d.kind, d.zones) for d in layout.devices
        }
        self._current: str | None = None
        self._done: set[str] = set()
        self._span: tuple[float, float] | None = None
        self.faults = 0

    @staticmethod
    def _blank(device: str, kind: str, zones: Iterable[str]) -> dict[str, Any]:
        return {
            "device": device,
            "kind": kind,
            "zones": list(zones),
            "faults": 0,
            "by_fault": {},
            "downtime_s": 0.0,
        }

    def add(self, row: FaultRow) -> None:
        p = self._period
        lo = max(row.t, p.start_t)
        hi = min(row.cleared_t if row.cleared_t is not None else p.until_t, p.until_t)
        if row.t >= p.until_t or (row.cleared_t is not None and row.cleared_t <= p.start_t):
            return
        if row.device != self._current:
            if row.device in self._done:
                raise ValueError(f"faults must come ordered by device; {row.device} came back")
            self._flush()
            self._current = row.device
        entry = self._devices.setdefault(row.device, self._blank(row.device, "", ()))
        entry["faults"] += 1
        entry["by_fault"][row.fault] = entry["by_fault"].get(row.fault, 0) + 1
        self.faults += 1
        if hi <= lo:
            return
        if self._span is not None and lo <= self._span[1]:
            self._span = (self._span[0], max(self._span[1], hi))
        else:
            self._close_span()
            self._span = (lo, hi)

    def _close_span(self) -> None:
        if self._span is not None and self._current is not None:
            self._devices[self._current]["downtime_s"] += self._span[1] - self._span[0]
        self._span = None

    def _flush(self) -> None:
        self._close_span()
        if self._current is not None:
            self._done.add(self._current)

    def devices(self) -> list[dict[str, Any]]:
        self._flush()
        self._current = None
        seconds = self._period.seconds
        out = []
        for entry in self._devices.values():
            entry["by_fault"] = dict(sorted(entry["by_fault"].items()))
            down = entry["downtime_s"]
            entry["availability"] = 1.0 - down / seconds if seconds > 0 else None
            out.append(entry)
        return out


def period_json(period: Period, layout: Layout) -> dict[str, Any]:
    tz = layout.tz

    def iso(t: float) -> str:
        return datetime.fromtimestamp(t, tz).isoformat(timespec="seconds")

    return {
        "label": period.label,
        "first_day": period.first_day.isoformat(),
        "last_day": period.last_day.isoformat(),
        "from_t": period.start_t,
        "to_t": period.end_t,
        "until_t": period.until_t,
        "from": iso(period.start_t),
        "to": iso(period.end_t),
        "until": iso(period.until_t),
        "days": period.days,
        "complete": period.complete,
        "timezone": layout.timezone,
    }


def utc_iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="seconds")
