"""What each report's PDF shows, section by section, from its JSON figures only."""

from __future__ import annotations

from typing import Any

from reportlab.platypus import Flowable, KeepTogether, Spacer

from reports import charts
from reports.pdf import Writer, render

VERDICT_COLOURS = {"pass": "#d5f0dc", "attention": "#fdebc8", "fail": "#f6d0cc"}


def monthly_pdf(report: dict[str, Any]) -> bytes:
    w = Writer(report)
    t, n = w.t, w.n
    inc = report["incidents"]
    story: list[Flowable] = w.head()
    story += [
        *w.section("section.summary"),
        w.table(
            [t("col.figure"), t("col.value")],
            [
                [t("fig.seen"), n.count(inc["seen"])],
                [t("fig.confirmed"), n.count(inc["confirmed"])],
                [t("fig.disrupted"), n.count(inc["disrupted"])],
                [t("fig.test_excluded"), n.count(inc["test_excluded"])],
                [t("fig.faults"), n.count(report["faults"])],
            ],
            widths=[0.75, 0.25],
        ),
    ]
    if inc["seen"] == 0:
        story += w.note(t("none.incidents"))
    story += _incidents(w, report) if inc["seen"] else []
    story += _response(w, report)
    story += _intel(w, report)
    story += _devices(w, report, "section.devices")
    story += w.signatures(["sign.gold_uk", "sign.gold_fr"])
    return render(report, story)


def _incidents(w: Writer, report: dict[str, Any]) -> list[Flowable]:
    t, n = w.t, w.n
    inc = report["incidents"]
    outcomes = list(inc["by_outcome"])
    out: list[Flowable] = [
        KeepTogether(
            [
                *w.section("section.outcomes"),
                w.table(
                    [t("col.figure"), t("col.count")],
                    [[t(f"outcome.{o}"), n.count(c)] for o, c in inc["by_outcome"].items()],
                    widths=[0.75, 0.25],
                ),
                *w.section("section.disruption"),
                w.table(
                    [t("col.figure"), t("col.count")],
                    [[t(f"disruption.{d}"), n.count(c)] for d, c in inc["by_disruption"].items()],
                    widths=[0.75, 0.25],
                ),
            ]
        ),
        *w.section("section.zones"),
        w.table(
            [t("col.zone"), t("col.name"), t("col.seen"), t("col.confirmed")]
            + [t(f"outcome.{o}") for o in outcomes],
            [
                [z["zone"], z["name"], n.count(z["seen"]), n.count(z["confirmed"])]
                + [n.count(z[o]) for o in outcomes]
                for z in inc["by_zone"]
            ],
            widths=[0.08, 0.2, 0.1, 0.11, 0.1, 0.11, 0.15, 0.15],
            align="LLRRRRRR",
        ),
        *w.chart(charts.zones(report, w.t), "section.zones"),
        *w.section("section.weeks"),
        w.table(
            [t("col.week"), t("col.seen"), t("col.confirmed")],
            [[r["week"], n.count(r["seen"]), n.count(r["confirmed"])] for r in inc["by_week"]],
            widths=[0.4, 0.3, 0.3],
        ),
        *w.chart(charts.weeks(report, w.t), "section.weeks"),
        *w.section("section.hours"),
    ]
    for half in (inc["by_hour"][:12], inc["by_hour"][12:]):
        out.append(
            w.table(
                [t("col.hour")] + [f"{r['hour']:02d}" for r in half],
                [
                    [t("col.seen")] + [n.count(r["seen"]) for r in half],
                    [t("col.confirmed")] + [n.count(r["confirmed"]) for r in half],
                ],
                widths=[0.16] + [0.07] * 12,
            )
        )
        out.append(Spacer(1, 4))
    out += w.chart(charts.hours(report, w.t), "section.hours")
    return out


def _response(w: Writer, report: dict[str, Any]) -> list[Flowable]:
    t, n = w.t, w.n
    resp = report["response"]
    rows = [
        [t(f"resp.{k}"), n.count(v["n"]), n.seconds(v["p50_s"]), n.seconds(v["p90_s"])]
        for k, v in resp.items()
    ]
    out: list[Flowable] = [
        *w.section("section.response"),
        w.table(
            [t("col.measure"), t("col.n"), t("col.p50"), t("col.p90")],
            rows,
            widths=[0.3, 0.14, 0.28, 0.28],
        ),
    ]
    if not any(v["n"] for v in resp.values()):
        out += w.note(t("none.response"))
    return [KeepTogether(out)]


def _intel(w: Writer, report: dict[str, Any]) -> list[Flowable]:
    t, n = w.t, w.n
    intel = report["intel"]
    out: list[Flowable] = [
        *w.section("section.intel"),
        w.table(
            [t("col.figure"), t("col.value")],
            [
                [t("intel.issued"), n.count(intel["items_issued"])],
                [t("intel.credible"), n.count(intel["items_credible"])],
                [t("intel.withdrawn"), n.count(intel["items_withdrawn"])],
                [t("intel.linked"), n.count(intel["incidents_linked"])],
                [t("intel.linked_confirmed"), n.count(intel["incidents_linked_confirmed"])],
                [t("intel.linked_intrusion"), n.count(intel["incidents_linked_intrusion"])],
            ],
            widths=[0.75, 0.25],
        ),
    ]
    if not intel["items"]:
        out += w.note(t("none.intel"))
        return out
    out.append(Spacer(1, 6))
    out.append(
        w.table(
            [
                t("col.item"),
                t("col.title"),
                t("col.zones"),
                t("col.issued"),
                t("col.credible"),
                t("col.withdrawn"),
                t("col.linked"),
            ],
            [
                [
                    i["id"],
                    i["title"],
                    ", ".join(i["zones"]),
                    w.yes_no(i["issued_in_period"]),
                    w.yes_no(i["credible"]),
                    w.yes_no(i["withdrawn"]),
                    n.count(i["incidents_linked"]),
                ]
                for i in intel["items"]
            ],
            widths=[0.14, 0.23, 0.11, 0.12, 0.12, 0.13, 0.15],
            align="LLLLLLR",
        )
    )
    return out


def _devices(w: Writer, report: dict[str, Any], title: str) -> list[Flowable]:
    t, n = w.t, w.n
    rows = []
    for d in report["devices"]:
        by_fault = ", ".join(
            f"{w.t.get(f'fault.{f}', f)} {n.count(c)}" for f, c in d["by_fault"].items()
        )
        rows.append(
            [
                d["device"],
                w.t.get(f"kind.{d['kind']}", d["kind"]),
                ", ".join(d["zones"]),
                n.count(d["faults"]),
                by_fault,
                n.seconds(d["downtime_s"]),
                n.percent(d["availability"]),
            ]
        )
    return [
        *w.section(title),
        w.table(
            [
                t("col.device"),
                t("col.kind"),
                t("col.zones"),
                t("col.faults"),
                t("col.by_fault"),
                t("col.downtime"),
                t("col.availability"),
            ],
            rows,
            widths=[0.14, 0.13, 0.1, 0.09, 0.19, 0.2, 0.15],
            align="LLLRLRR",
        ),
        *w.chart(charts.availability(report["devices"], w.t), title),
    ]


def inspection_pdf(report: dict[str, Any]) -> bytes:
    w = Writer(report)
    t, n = w.t, w.n
    story: list[Flowable] = w.head()
    story += [
        *w.section("section.verdicts"),
        w.table(
            [t("col.zone"), t("col.name"), t("col.verdict"), t("col.reasons")],
            [
                [
                    z["zone"],
                    z["name"],
                    z["verdict_text"],
                    w.lines([r["text"] for r in z["reasons"]]),
                ]
                for z in report["zones"]
            ],
            widths=[0.08, 0.2, 0.14, 0.58],
            align="LLLL",
            shade=[(2, i, VERDICT_COLOURS[z["verdict"]]) for i, z in enumerate(report["zones"])],
        ),
        *w.section("section.detection"),
        w.table(
            [
                t("col.zone"),
                t("col.modality"),
                t("col.crossings"),
                t("col.detected"),
                t("col.pod"),
                t("col.lower"),
            ],
            [
                [
                    z["zone"],
                    t.get(f"modality.{r['modality']}", r["modality"]),
                    n.count(r["crossings"]),
                    n.count(r["detected"]),
                    n.prob(r["pod"]),
                    n.prob(r["pod_lower_95"]),
                ]
                for z in report["zones"]
                for r in z["detection"]
            ],
            widths=[0.08, 0.28, 0.18, 0.14, 0.12, 0.2],
            align="LLRRRR",
        ),
        *w.chart(charts.detection(report, t), "section.detection"),
    ]
    modes = [(z["zone"], m) for z in report["zones"] for m in z["by_mode"]]
    if modes:
        story += [
            *w.section("section.modes"),
            w.table(
                [t("col.zone"), t("col.mode"), t("col.crossings"), t("col.detected")],
                [
                    [
                        zone,
                        t.get(f"mode.{m['mode']}", m["mode"]),
                        n.count(m["crossings"]),
                        n.count(m["detected"]),
                    ]
                    for zone, m in modes
                ],
                widths=[0.15, 0.35, 0.25, 0.25],
                align="LLRR",
            ),
        ]
    story += _walk_tests(w, report)
    story += [
        *w.section("section.rates"),
        w.table(
            [
                t("col.zone"),
                t("outcome.nuisance"),
                t("col.per_30d"),
                t("col.limit"),
                t("outcome.false_alarm"),
                t("col.per_30d"),
                t("col.limit"),
            ],
            [
                [
                    z["zone"],
                    n.count(z["nuisance"]["count"]),
                    n.rate(z["nuisance"]["per_30d"]),
                    n.rate(z["nuisance"]["limit_per_30d"]),
                    n.count(z["false_alarm"]["count"]),
                    n.rate(z["false_alarm"]["per_30d"]),
                    n.rate(z["false_alarm"]["limit_per_30d"]),
                ]
                for z in report["zones"]
            ],
            align="LRRRRRR",
        ),
        *w.chart(charts.rates(report, t), "section.rates"),
    ]
    story += _devices(w, report, "section.devices_faults")
    story += _rules(w, report)
    story += w.signatures(["sign.inspector"])
    return render(report, story)


def _walk_tests(w: Writer, report: dict[str, Any]) -> list[Flowable]:
    t, n = w.t, w.n
    out: list[Flowable] = [*w.section("section.walk_tests")]
    if not report["walk_tests"]:
        return [*out, w.para(t("none.walk_tests"))]
    out.append(
        w.table(
            [
                t("col.test"),
                t("col.zone"),
                t("col.opened"),
                t("col.closed"),
                t("col.by"),
                t("col.crossings"),
                t("col.detected"),
            ],
            [
                [
                    x["id"],
                    x["zone"],
                    w.local(x["opened_t"]),
                    w.local(x["closed_t"]),
                    x["opened_by"],
                    n.count(x["crossings"]),
                    n.count(x["detected"]),
                ]
                for x in report["walk_tests"]
            ],
            widths=[0.12, 0.07, 0.2, 0.2, 0.1, 0.17, 0.14],
            align="LLLLLRR",
        )
    )
    return out


def _rules(w: Writer, report: dict[str, Any]) -> list[Flowable]:
    t, n = w.t, w.n
    th = report["thresholds"]
    return [
        KeepTogether(
            [
                *w.section("section.thresholds"),
                w.para(t("rule.pod", target=n.prob(th["pod_target"]))),
                w.para(t("rule.window", window=n.count(int(th["detection_window_s"])))),
                w.para(t("rule.nuisance", limit=n.rate(th["nuisance_limit_per_30d"]))),
                w.para(t("rule.false_alarm", limit=n.rate(th["false_alarm_limit_per_30d"]))),
                w.para(
                    t(
                        "rule.availability",
                        attention=n.percent(th["availability_attention"]),
                        fail=n.percent(th["availability_fail"]),
                    )
                ),
                w.para(t("rule.test")),
            ]
        )
    ]
