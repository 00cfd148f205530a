"""What the reports read: typed rows from the store, the site's layout and the period.

Rows are frozen dataclasses handed over one at a time (iterators), so that a figure
never needs the whole store in memory. Times are epoch seconds (receipt time).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from fusion.site import Site


@dataclass(frozen=True, slots=True)
class IncidentRow:
    """One incident, with what operators did about it.

    ``acked_t`` is the time of the first acknowledgement in the audit history;
    ``intel`` the ids of the intelligence items linked to it.
    """

    id: str
    zones: tuple[str, ...]
    opened_t: float
    confirmed_t: float | None
    outcome: str | None
    disruption: str | None
    closed_t: float | None
    acked_t: float | None
    test: bool
    intel: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class FaultRow:
    """A fault of one device: raised at ``t``, cleared at ``cleared_t`` (None: still open)."""

    device: str
    fault: str
    t: float
    cleared_t: float | None


@dataclass(frozen=True, slots=True)
class IntelItemRow:
    id: str
    title: str
    zones: tuple[str, ...]
    received_t: float | None
    credible: bool
    withdrawn_t: float | None


@dataclass(frozen=True, slots=True)
class WalkTestRow:
    id: str
    zone: str
    opened_t: float
    until_t: float
    closed_t: float | None
    opened_by: str


@dataclass(frozen=True, slots=True)
class CrossingRow:
    """A tester crossed ``zone`` at ``t`` (walk test ``test_id``), moving as ``mode``."""

    test_id: str
    zone: str
    t: float
    mode: str


@dataclass(frozen=True, slots=True)
class DetectionRow:
    """An alarm (ir, fence) or a camera ``person`` from ``zone``, received at ``t``."""

    t: float
    device: str
    modality: str
    zone: str


@dataclass(frozen=True, slots=True)
class Device:
    """A device of the site file, with the zones it watches (a camera may watch several)."""

    id: str
    kind: str
    zones: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Layout:
    """What the reports need of the site file."""

    site: str
    name: str
    timezone: str
    zones: tuple[tuple[str, str], ...]
    """(id, name) of each zone, in the site file's order."""
    devices: tuple[Device, ...]

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def modalities(self, zone: str) -> tuple[str, ...]:
        """The detecting modalities that watch ``zone`` (ir, fence, camera), sorted."""
        kinds = {d.kind for d in self.devices if zone in d.zones}
        return tuple(sorted(k for k in kinds if k in MODALITIES))


MODALITIES = ("camera", "fence", "ir")
"""Independent ways of detecting an intruder (the fusion rules' modalities)."""


def layout_of(site: Site) -> Layout:
    devices = [Device(s.id, str(s.kind), (s.zone,) if s.zone else ()) for s in site.sensors] + [
        Device(c.id, "camera", tuple(c.zones)) for c in site.cameras
    ]
    return Layout(
        site=site.site,
        name=site.name or site.site,
        timezone=site.timezone or "UTC",
        zones=tuple((z.id, z.name) for z in site.zones),
        devices=tuple(devices),
    )


@dataclass(frozen=True, slots=True)
class Period:
    """The span a report covers: local calendar days ``first_day`` .. ``last_day``.

    ``start_t``/``end_t`` are the epoch bounds of those days in the site's time
    zone (end excluded). ``until_t`` is where the data stops: ``end_t``, or the
    time the report was made if that is earlier (a month still running). Every
    rate and availability is over ``start_t .. until_t``.
    """

    label: str
    first_day: date
    last_day: date
    start_t: float
    end_t: float
    until_t: float

    @property
    def seconds(self) -> float:
        return max(0.0, self.until_t - self.start_t)

    @property
    def days(self) -> float:
        return self.seconds / 86400.0

    @property
    def complete(self) -> bool:
        return self.until_t >= self.end_t


class PeriodError(ValueError):
    """A month or date range that cannot be reported on."""


def _midnight(day: date, tz: ZoneInfo) -> float:
    return datetime(day.year, day.month, day.day, tzinfo=tz).timestamp()


def days_period(first: date, last: date, tz: ZoneInfo, now: float, label: str = "") -> Period:
    """The local days ``first`` .. ``last`` (both included), data up to ``now``."""
    if last < first:
        raise PeriodError(f"the period ends ({last}) before it begins ({first})")
    start = _midnight(first, tz)
    end = _midnight(last + timedelta(days=1), tz)
    if now <= start:
        raise PeriodError(f"the period beginning {first} has not begun yet")
    return Period(label or f"{first} – {last}", first, last, start, end, min(end, now))


def month_period(month: str, tz: ZoneInfo, now: float) -> Period:
    """A calendar month ``YYYY-MM`` in the site's time zone."""
    try:
        first = datetime.strptime(month, "%Y-%m").date()
    except ValueError as exc:
        raise PeriodError(f"--month must be YYYY-MM, got {month!r}") from exc
    following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return days_period(first, following - timedelta(days=1), tz, now, label=month)


def parse_day(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise PeriodError(f"{option} must be a date YYYY-MM-DD, got {text!r}") from exc
