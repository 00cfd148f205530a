"""The reports' charts, drawn by matplotlib from the report's JSON figures as PNG.

No pyplot: each chart is its own ``Figure`` on an Agg canvas, so nothing global is
touched, no display is needed, and a service may draw in a worker thread.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from reports.catalogue import Labels

DPI = 150
"""Sharp on paper and on screen; a page of three charts stays near 200 KB."""

WIDTH_IN = 6.8
"""The text width of an A4 page with 2 cm margins, in inches."""

MOST_DEVICES = 30
"""Bars in the availability chart: the worst devices, so the chart stays readable
on one page however many devices the site has."""

COLOURS = {
    "seen": "#4a6fa5",
    "confirmed": "#c0392b",
    "intrusion": "#c0392b",
    "false_alarm": "#8e44ad",
    "nuisance": "#e67e22",
    "unresolved": "#95a5a6",
    "ir": "#2e86c1",
    "fence": "#27ae60",
    "camera": "#d4ac0d",
    "any": "#2c3e50",
    "limit": "#7f8c8d",
}


def _figure(height_in: float) -> Figure:
    fig = Figure(figsize=(WIDTH_IN, height_in), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _png(fig: Figure) -> bytes:
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=DPI)
    return out.getvalue()


def _pair_bars(
    labels: Labels, names: Sequence[str], rows: Sequence[dict[str, Any]], xlabel: str
) -> bytes:
    fig = _figure(2.4)
    ax = fig.add_subplot()
    x = range(len(rows))
    width = 0.4
    ax.bar(
        [i - width / 2 for i in x],
        [r["seen"] for r in rows],
        width,
        label=labels("col.seen"),
        color=COLOURS["seen"],
    )
    ax.bar(
        [i + width / 2 for i in x],
        [r["confirmed"] for r in rows],
        width,
        label=labels("col.confirmed"),
        color=COLOURS["confirmed"],
    )
    ax.set_xticks(list(x), list(names), fontsize=7)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(labels("chart.incidents"))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    fig.legend(fontsize=7, loc="outside lower center", ncol=2, frameon=False)
    ax.grid(axis="y", alpha=0.3)
    return _png(fig)


def weeks(report: dict[str, Any], labels: Labels) -> bytes:
    rows = report["incidents"]["by_week"]
    return _pair_bars(labels, [r["week"] for r in rows], rows, labels("chart.week"))


def hours(report: dict[str, Any], labels: Labels) -> bytes:
    rows = report["incidents"]["by_hour"]
    return _pair_bars(labels, [f"{r['hour']:02d}" for r in rows], rows, labels("chart.hour"))


def zones(report: dict[str, Any], labels: Labels) -> bytes:
    rows = report["incidents"]["by_zone"]
    fig = _figure(0.6 + 0.28 * max(3, len(rows)))
    ax = fig.add_subplot()
    y = list(range(len(rows)))
    left = [0] * len(rows)
    for outcome in ("intrusion", "false_alarm", "nuisance", "unresolved"):
        values = [r[outcome] for r in rows]
        ax.barh(y, values, left=left, color=COLOURS[outcome], label=labels(f"outcome.{outcome}"))
        left = [a + b for a, b in zip(left, values, strict=True)]
    ax.set_xlim(0, max(1, *left) * 1.08)  # the longest bar ends inside the frame
    ax.set_yticks(y, [r["zone"] for r in rows], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel(labels("chart.incidents"))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    fig.legend(fontsize=7, loc="outside lower center", ncol=4, frameon=False)
    ax.grid(axis="x", alpha=0.3)
    return _png(fig)


def availability(devices: Sequence[dict[str, Any]], labels: Labels) -> bytes | None:
    """The least available devices (at most :data:`MOST_DEVICES`) that were out of
    service at some time in the period; None if none was. The table lists them all."""
    rows = [d for d in devices if d["availability"] is not None and d["downtime_s"] > 0]
    rows = sorted(rows, key=lambda d: (d["availability"], d["device"]))[:MOST_DEVICES]
    if not rows:
        return None
    fig = _figure(0.6 + 0.25 * max(3, len(rows)))
    ax = fig.add_subplot()
    y = list(range(len(rows)))
    ax.barh(y, [d["availability"] * 100 for d in rows], color=COLOURS["seen"])
    ax.set_yticks(y, [d["device"] for d in rows], fontsize=7)
    ax.invert_yaxis()
    low = min(d["availability"] for d in rows) * 100
    ax.set_xlim(max(0.0, min(90.0, low - 2)), 100)
    ax.set_xlabel(labels("chart.availability"))
    ax.grid(axis="x", alpha=0.3)
    return _png(fig)


def detection(report: dict[str, Any], labels: Labels) -> bytes | None:
    """PoD per zone and modality, the 95 % lower bound as a tick, the target as a line."""
    zones_tested = [z for z in report["zones"] if z["crossings"]]
    if not zones_tested:
        return None
    modalities = sorted({r["modality"] for z in zones_tested for r in z["detection"]} - {"any"})
    modalities.append("any")
    fig = _figure(2.8)
    ax = fig.add_subplot()
    width = 0.8 / len(modalities)
    for k, m in enumerate(modalities):
        xs, pods, lows = [], [], []
        for i, z in enumerate(zones_tested):
            row = next((r for r in z["detection"] if r["modality"] == m), None)
            if row is None or row["pod"] is None:
                continue
            xs.append(i - 0.4 + width * (k + 0.5))
            pods.append(row["pod"])
            lows.append(row["pod_lower_95"])
        ax.bar(
            xs,
            pods,
            width * 0.9,
            color=COLOURS.get(m, "#555555"),
            label=labels.get(f"modality.{m}", m),
        )
        ax.scatter(
            xs,
            lows,
            marker="_",
            s=120,
            color="black",
            zorder=3,
            label=labels("chart.lower") if k == 0 else None,
        )
    target = report["thresholds"]["pod_target"]
    ax.axhline(
        target, color=COLOURS["limit"], linestyle="--", linewidth=1, label=labels("chart.target")
    )
    ax.set_xticks(range(len(zones_tested)), [z["zone"] for z in zones_tested], fontsize=7)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel(labels("chart.pod"))
    fig.legend(fontsize=7, loc="outside lower center", ncol=3, frameon=False)
    ax.grid(axis="y", alpha=0.3)
    return _png(fig)


def rates(report: dict[str, Any], labels: Labels) -> bytes | None:
    """Nuisance and false alarms per 30 days per zone, against their limits."""
    rows = report["zones"]
    if not rows or rows[0]["nuisance"]["per_30d"] is None:
        return None
    fig = _figure(2.4)
    ax = fig.add_subplot()
    x = range(len(rows))
    width = 0.4
    ax.bar(
        [i - width / 2 for i in x],
        [z["nuisance"]["per_30d"] for z in rows],
        width,
        color=COLOURS["nuisance"],
        label=labels("outcome.nuisance"),
    )
    ax.bar(
        [i + width / 2 for i in x],
        [z["false_alarm"]["per_30d"] for z in rows],
        width,
        color=COLOURS["false_alarm"],
        label=labels("outcome.false_alarm"),
    )
    ax.axhline(
        rows[0]["nuisance"]["limit_per_30d"],
        color=COLOURS["nuisance"],
        linestyle="--",
        linewidth=1,
        label=labels("chart.limit_nuisance"),
    )
    ax.axhline(
        rows[0]["false_alarm"]["limit_per_30d"],
        color=COLOURS["false_alarm"],
        linestyle=":",
        linewidth=1,
        label=labels("chart.limit_false"),
    )
    ax.set_xticks(list(x), [z["zone"] for z in rows], fontsize=7)
    ax.set_ylabel(labels("chart.per_30d"))
    fig.legend(fontsize=7, loc="outside lower center", ncol=4, frameon=False)
    ax.grid(axis="y", alpha=0.3)
    return _png(fig)
