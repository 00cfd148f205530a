"""Deterministic replay (contract section 6): recording lines in, report out.

Pure: the caller reads the file and writes the report. The same parser and
correlator as the live service run here on a virtual clock: each line's ``t``.
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
)
from fusion.correlator import Correlator
from fusion.events import Rejection, RejectReason
from fusion.faults import Fault
from fusion.incidents import IncidentView
from fusion.parser import MessageParser
from fusion.recording import BadLine, parse_line
from fusion.site import Site
from fusion.topics import command_topic

RejectHook = Callable[[int, Rejection], None]


class ReportBuilder:
    """Folds changes into the replay report's incidents, faults and commands."""

    def __init__(self, site: Site) -> None:
        self._site = site
        self._incidents: dict[str, IncidentView] = {}
        self._faults: dict[int, Fault] = {}
        self._commands: list[dict[str, Any]] = []

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
                    self._commands.append(
                        {
                            "t": c.t,
                            "topic": command_topic(self._site, c.floodlight),
                            "payload": {"on": True, "reason": c.incident_id},
                        }
                    )
                case _:
                    pass

    def incidents(self) -> list[dict[str, Any]]:
        return [v.as_report() for v in self._incidents.values()]

    def faults(self) -> list[dict[str, Any]]:
        return [
            {"sensor": f.sensor, "fault": str(f.fault), "t": f.t, "cleared_t": f.cleared_t}
            for f in sorted(self._faults.values(), key=lambda f: f.number)
        ]

    def commands(self) -> list[dict[str, Any]]:
        return list(self._commands)


class Replay:
    """Feeds recording lines through parsing and fusion; :meth:`finish` gives the report."""

    def __init__(self, site: Site, on_reject: RejectHook | None = None) -> None:
        self._parser = MessageParser(site)
        self._engine = Correlator(site, start=0.0)
        self._report = ReportBuilder(site)
        self._on_reject = on_reject
        self._clock = 0.0
        self.messages = 0
        self.rejected = 0
        self.duplicates = 0
        self.reasons: Counter[str] = Counter()
        self.bad_lines: list[dict[str, Any]] = []

    def feed(self, line: bytes, lineno: int) -> None:
        """One line of the file (``lineno`` counts from 1); blank lines are not messages."""
        if not line.strip():
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
        self._clock = now = max(self._clock, rec.t)  # the virtual clock never runs back
        if rec.raw is not None:
            parsed = self._parser.parse(rec.topic, rec.raw)
        else:
            parsed = self._parser.parse_value(rec.topic, rec.value, rec.size)
        if isinstance(parsed, Rejection):
            self._report.apply(self._engine.advance(now))
            self._reject(lineno, parsed)
            return
        changes, duplicate = self._engine.ingest(parsed, now)
        self.duplicates += duplicate
        if changes:
            self._report.apply(changes)

    def _reject(self, lineno: int, rejection: Rejection) -> None:
        self.rejected += 1
        self.reasons[rejection.reason] += 1
        if self._on_reject is not None:
            self._on_reject(lineno, rejection)

    def finish(self) -> dict[str, Any]:
        """Run the clock to the last line's ``t`` and build the report."""
        self._report.apply(self._engine.advance(self._clock))
        return {
            "incidents": self._report.incidents(),
            "faults": self._report.faults(),
            "commands": self._report.commands(),
            "messages": self.messages,
            "rejected": self.rejected,
            "duplicates": self.duplicates,
            "end_t": self._clock,
            "zone_states": {
                zone: {"state": str(state), "degraded": self._engine.zone_degraded(zone)}
                for zone, state in self._engine.zone_states().items()
            },
            "rejected_by_reason": dict(sorted(self.reasons.items())),
            "bad_lines": self.bad_lines,
        }
