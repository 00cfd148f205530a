"""Deterministic replay (docs/protocol.md §6): recording lines in, report out.

Pure: the caller reads the file and writes the report. Each line goes through the
same processing step as a live message (:class:`fusion.intake.Intake`), on a virtual
clock: the line's ``t``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

from fusion.changes import (
    Change,
    FaultCleared,
    FaultRaised,
    FloodlightCommanded,
    IncidentAcknowledged,
    IncidentConfirmed,
    IncidentJoined,
    IncidentOpened,
    IncidentResolved,
    IntelUpdated,
)
from fusion.correlator import Correlator
from fusion.events import Rejection, RejectReason
from fusion.faults import Fault
from fusion.incidents import IncidentView
from fusion.intake import Intake, Verdict
from fusion.intel import IntelItem
from fusion.recording import BadLine, parse_line
from fusion.site import Site
from fusion.topics import command_topic
from fusion.wire import command_report, fault_report, incident_report, intel_report

RejectHook = Callable[[int, Rejection], None]


class ReportBuilder:
    """Folds changes into the replay report's incidents, faults and commands."""

    def __init__(self, site: Site) -> None:
        self._site = site
        self._incidents: dict[str, IncidentView] = {}
        self._faults: dict[int, Fault] = {}
        self._commands: list[dict[str, Any]] = []
        self._intel: dict[str, IntelItem] = {}

    def apply(self, changes: Iterable[Change]) -> None:
        for c in changes:
            match c:
                case (
                    IncidentOpened()
                    | IncidentJoined()
                    | IncidentConfirmed()
                    | IncidentAcknowledged()
                    | IncidentResolved()
                ):
                    self._incidents[c.incident.id] = c.incident
                case FaultRaised() | FaultCleared():
                    self._faults[c.fault.number] = c.fault
                case FloodlightCommanded():
                    topic = command_topic(self._site, c.floodlight)
                    self._commands.append(command_report(c.t, topic, c.incident_id))
                case IntelUpdated():
                    self._intel[c.item.id] = c.item  # a replaced item keeps its place
                case _:
                    pass

    def incidents(self) -> list[dict[str, Any]]:
        return [incident_report(v) for v in self._incidents.values()]

    def faults(self) -> list[dict[str, Any]]:
        return [fault_report(f) for f in sorted(self._faults.values(), key=lambda f: f.number)]

    def commands(self) -> list[dict[str, Any]]:
        return list(self._commands)

    def intel(self) -> list[dict[str, Any]]:
        return [intel_report(item) for item in self._intel.values()]


class Replay:
    """Feeds recording lines through the processing step; :meth:`finish` gives the report."""

    def __init__(self, site: Site, on_reject: RejectHook | None = None) -> None:
        self._engine = Correlator(site, start=0.0)
        self._intake = Intake(site, self._engine, start=0.0)
        self._report = ReportBuilder(site)
        self._on_reject = on_reject
        self.messages = 0
        self.rejected = 0
        self.duplicates = 0
        self.id_reuses = 0
        self.reasons: Counter[str] = Counter()
        self.bad_lines: list[dict[str, Any]] = []

    def feed(self, line: bytes, lineno: int) -> None:
        """One line of the file (``lineno`` counts from 1); blank lines are not messages."""
        if line[:1] != b"{" and not line.strip():
            return
        self.messages += 1
        try:
            rec = parse_line(line)
        except BadLine as exc:
            self._reject(
                lineno,
                Rejection("", RejectReason.BAD_RECORDING_LINE, f"line {lineno}: {exc}", line[:200]),
            )
            self.bad_lines.append({"line": lineno, "reason": str(exc)})
            return
        done = self._intake.receive_recorded(rec)
        if done.changes:
            self._report.apply(done.changes)
        if done.verdict is Verdict.REJECTED:
            assert done.rejection is not None
            self._reject(lineno, done.rejection)
        elif done.verdict is Verdict.DUPLICATE:
            self.duplicates += 1
        elif done.id_reused:
            self.id_reuses += 1

    def _reject(self, lineno: int, rejection: Rejection) -> None:
        self.rejected += 1
        self.reasons[rejection.reason] += 1
        if self._on_reject is not None:
            self._on_reject(lineno, rejection)

    def finish(self) -> dict[str, Any]:
        """Run the clock to the last line's ``t`` and build the report."""
        end = self._intake.clock
        self._report.apply(self._intake.tick(end))
        return {
            "incidents": self._report.incidents(),
            "faults": self._report.faults(),
            "commands": self._report.commands(),
            "intel": self._report.intel(),
            "messages": self.messages,
            "rejected": self.rejected,
            "duplicates": self.duplicates,
            "id_reuses": self.id_reuses,
            "end_t": end,
            "zone_states": {
                zone: {"state": str(state), "degraded": self._engine.zone_degraded(zone)}
                for zone, state in self._engine.zone_states().items()
            },
            "rejected_by_reason": dict(sorted(self.reasons.items())),
            "bad_lines": self.bad_lines,
        }
