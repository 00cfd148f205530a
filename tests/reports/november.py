"""A hand-made November 2026 at the strip site (Europe/Paris, UTC+1 all month), and
every figure the reports must find in it, worked out by hand in the comments.

Zones Z01 (ir-01, fence-01, cam-01, fl-01, fl-01b), Z02 (ir-02, fence-02, cam-01,
fl-02), Z03 (ir-03), Z09 (ir-09). November has 30 days: 2,592,000 s.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from tests.builders import strip
from tests.reports.planned_schema import StoreWriter

PARIS = ZoneInfo("Europe/Paris")
MONTH_S = 30 * 86400


def at(month: int, day: int, hour: int = 0, minute: int = 0, second: float = 0) -> float:
    """Epoch seconds of a local (Paris) time in 2026."""
    whole = int(second)
    t = datetime(2026, month, day, hour, minute, whole, tzinfo=PARIS).timestamp()
    return t + (second - whole)


def nov(day: int, hour: int = 0, minute: int = 0, second: float = 0) -> float:
    return at(11, day, hour, minute, second)


NOW = at(12, 15, 9)
"""When the reports are made: after the month, so it is complete."""


def site_data() -> dict[str, Any]:
    return strip(timezone="Europe/Paris", name="Coquelles railhead")


def fill(w: StoreWriter) -> None:
    """Write the month into a store with the planned schema."""
    # -- incidents -------------------------------------------------------------
    w.incident(
        "i1",
        ["Z01"],
        nov(2, 3, 10),
        confirmed_t=nov(2, 3, 10, 5),
        outcome="intrusion",
        disruption="intercepted",
        acked_t=[nov(2, 3, 10, 30)],
        closed_t=nov(2, 3, 20),
        intel=["jiu/INT-1"],
    )
    w.incident(
        "i2",
        ["Z02", "Z01"],
        nov(2, 3, 40),
        outcome="nuisance",
        acked_t=[nov(2, 3, 41)],
        closed_t=nov(2, 3, 45),
    )
    # disruption not recorded (a store from before): counts as unknown; two acks, the first counts
    w.incident(
        "i3",
        ["Z01"],
        nov(9, 22, 5),
        confirmed_t=nov(9, 22, 5, 8),
        outcome="intrusion",
        acked_t=[nov(9, 22, 6, 30), nov(9, 22, 8, 20)],
        closed_t=nov(9, 22, 35),
    )
    w.incident("i4", ["Z03"], nov(15, 12), outcome="false_alarm", closed_t=nov(15, 12, 2))
    w.incident(
        "i5",
        ["Z02"],
        nov(20, 23, 59),
        confirmed_t=nov(20, 23, 59, 3),
        outcome="intrusion",
        disruption="turned_back",
        acked_t=[nov(20, 23, 59, 10)],
        closed_t=nov(21, 0, 59),
        intel=["jiu/INT-1", "fr/X-2"],
    )
    w.incident("i6", ["Z01"], nov(30, 23, 30), acked_t=[nov(30, 23, 30, 45)])
    w.incident("i7", ["Z03"], nov(25, 14), outcome="false_alarm", closed_t=nov(25, 14, 1))
    # test incidents: flagged by a walk test, or resolved as a test; never real
    w.incident(
        "t1",
        ["Z02"],
        nov(12, 10),
        confirmed_t=nov(12, 10, 0, 2),
        outcome="test",
        closed_t=nov(12, 10, 30),
        test=True,
        intel=["jiu/INT-3"],
    )
    w.incident("t2", ["Z01"], nov(12, 10, 5), outcome="test", closed_t=nov(12, 10, 30))
    w.incident("t3", ["Z02"], nov(6, 10, 0, 30), confirmed_t=nov(6, 10, 0, 31), test=True)
    # outside the month: the last half hour of October, and midnight opening December
    w.incident("o1", ["Z01"], at(10, 31, 23, 30), outcome="nuisance", closed_t=nov(1, 0, 10))
    w.incident("o2", ["Z01"], at(12, 1), outcome="nuisance", closed_t=at(12, 1, 0, 10))
    # -- intelligence ----------------------------------------------------------
    w.intel_item("fr/X-2", at(10, 30, 12), ["Z02"])  # before the month, linked to i5
    w.intel_item("jiu/INT-1", nov(1, 12), ["Z01", "Z02"])
    w.intel_item("jiu/INT-3", nov(10), ["Z02"], credible=False, withdrawn_t=nov(11))
    w.intel_item("jiu/INT-4", at(12, 2), ["Z01"])  # after the month
    # -- faults ----------------------------------------------------------------
    # ir-01: heartbeat lost across the month's start (2 h inside), and a tamper that
    # overlaps it: union 00:00-03:00 on 1 Nov = 10,800 s
    w.fault(1, "ir-01", "heartbeat_lost", at(10, 31, 22), nov(1, 2))
    w.fault(2, "ir-01", "tamper", nov(1, 1), nov(1, 3))
    # fence-02: 12 h + 6 h = 64,800 s
    w.fault(3, "fence-02", "fault", nov(10), nov(10, 12))
    w.fault(4, "fence-02", "fault", nov(20), nov(20, 6))
    # cam-01: video lost at 18:00 on the last day, never restored: 6 h inside = 21,600 s
    w.fault(5, "cam-01", "video_loss", nov(30, 18), None)
    # outside: all in October; and one cleared at the very instant the month began
    w.fault(6, "fl-02", "fault", at(10, 1), at(10, 2))
    w.fault(7, "ir-02", "tamper", at(10, 31, 20), nov(1))
    # -- walk tests ------------------------------------------------------------
    _walk_tests(w)
    w.commit()


def _walk_tests(w: StoreWriter) -> None:
    # Z01, four crossings:
    #   10:05 walk  ir +2 s, fence +5 s, camera person +10 s (the edge counts) -> ir fence camera
    #   10:10 run   ir +3 s; camera person +10.5 s is too late                 -> ir
    #   10:15 crawl camera person in Z02, not Z01                               -> missed
    #   10:20 climb fence 1 s before (not after), fence +4 s; ir clear          -> fence
    c1, c2, c3, c4 = nov(5, 10, 5), nov(5, 10, 10), nov(5, 10, 15), nov(5, 10, 20)
    w.walk_test(
        "wt1",
        "Z01",
        nov(5, 10),
        [(c1, "walk"), (c2, "run"), (c3, "crawl"), (c4, "climb")],
        closed_t=nov(5, 11),
    )
    w.message(c1 + 2, "ir", "ir-01", "alarm", "Z01")
    w.message(c1 + 5, "fence", "fence-01", "alarm", "Z01")
    w.message(c1 + 10, "camera", "cam-01", "person", "Z01")
    w.message(c2 + 3, "ir", "ir-01", "alarm", "Z01")
    w.message(c2 + 10.5, "camera", "cam-01", "person", "Z01")
    w.message(c3 + 1, "camera", "cam-01", "person", "Z02")
    w.message(c4 - 1, "fence", "fence-01", "alarm", "Z01")
    w.message(c4 + 1, "ir", "ir-01", "clear", "Z01")
    w.message(c4 + 4, "fence", "fence-01", "alarm", "Z01")
    # Z02, 29 walking crossings a minute apart: ir +1 s every time, camera +2 s for the
    # first 20, fence never
    crossings = [(nov(6, 10, k), "walk") for k in range(1, 30)]
    w.walk_test("wt2", "Z02", nov(6, 10), crossings, closed_t=nov(6, 10, 45))
    for k, (t, _) in enumerate(crossings):
        w.message(t + 1, "ir", "ir-02", "alarm", "Z02")
        if k < 20:
            w.message(t + 2, "camera", "cam-01", "person", "Z02")
    # October: a test and a detected crossing outside the period
    w.walk_test(
        "wt0", "Z01", at(10, 30, 10), [(at(10, 30, 10, 5), "walk")], closed_t=at(10, 30, 11)
    )
    w.message(at(10, 30, 10, 5, 1), "ir", "ir-01", "alarm", "Z01")
    # heartbeats that must never count as detections
    for k in range(50):
        w.message(nov(5, 10) + 30 * k, "ir", "ir-01", "heartbeat", "Z01")


# -- the monthly figures, by hand ---------------------------------------------------

MONTHLY_INCIDENTS = {
    "seen": 7,  # i1..i7
    "confirmed": 3,  # i1 i3 i5
    "disrupted": 2,  # i1 intercepted, i5 turned back
    "test_excluded": 3,  # t1 t3 (flag), t2 (resolved as test)
    "by_outcome": {"intrusion": 3, "false_alarm": 2, "nuisance": 1, "unresolved": 1},
    "by_disruption": {"intercepted": 1, "turned_back": 1, "escaped": 0, "unknown": 1},
    "by_zone": [
        {
            "zone": "Z01",
            "name": "",
            "seen": 3,
            "confirmed": 2,
            "intrusion": 2,
            "false_alarm": 0,
            "nuisance": 0,
            "unresolved": 1,
        },
        {
            "zone": "Z02",
            "name": "",
            "seen": 2,
            "confirmed": 1,
            "intrusion": 1,
            "false_alarm": 0,
            "nuisance": 1,
            "unresolved": 0,
        },
        {
            "zone": "Z03",
            "name": "",
            "seen": 2,
            "confirmed": 0,
            "intrusion": 0,
            "false_alarm": 2,
            "nuisance": 0,
            "unresolved": 0,
        },
        {
            "zone": "Z09",
            "name": "",
            "seen": 0,
            "confirmed": 0,
            "intrusion": 0,
            "false_alarm": 0,
            "nuisance": 0,
            "unresolved": 0,
        },
    ],
    # 1 Nov is a Sunday (W44); 30 Nov a Monday (W49)
    "by_week": [
        {"week": "2026-W44", "seen": 0, "confirmed": 0},
        {"week": "2026-W45", "seen": 2, "confirmed": 1},  # i1 i2
        {"week": "2026-W46", "seen": 2, "confirmed": 1},  # i3 i4 (Sunday 15th)
        {"week": "2026-W47", "seen": 1, "confirmed": 1},  # i5
        {"week": "2026-W48", "seen": 1, "confirmed": 0},  # i7
        {"week": "2026-W49", "seen": 1, "confirmed": 0},  # i6
    ],
    # local hours: i1 i2 at 03, i4 12, i7 14, i3 22, i5 i6 23
    "by_hour": [
        {"hour": h, "seen": s, "confirmed": c}
        for h, (s, c) in enumerate(
            [(0, 0)] * 3
            + [(2, 1)]
            + [(0, 0)] * 8
            + [(1, 0), (0, 0), (1, 0)]
            + [(0, 0)] * 7
            + [(1, 1), (2, 1)]
        )
    ],
}

# acknowledge: i5 10, i1 30, i6 45, i2 60, i3 90 -> p50 45; p90 at rank 3.6: 60 + 0.6 * 30 = 78
# resolve: i7 60, i4 120, i2 300, i1 600, i3 1800, i5 3600 -> p50 at rank 2.5: 450;
#          p90 at rank 4.5: 1800 + 0.5 * 1800 = 2700
MONTHLY_RESPONSE = {
    "acknowledge": {"n": 5, "p50_s": 45.0, "p90_s": 78.0},
    "resolve": {"n": 6, "p50_s": 450.0, "p90_s": 2700.0},
}

MONTHLY_INTEL = {
    "items_issued": 2,  # INT-1, INT-3 (X-2 came in October, INT-4 in December)
    "items_credible": 1,
    "items_withdrawn": 1,
    "incidents_linked": 2,  # i1, i5 (t1 is a test)
    "incidents_linked_confirmed": 2,
    "incidents_linked_intrusion": 2,
    "items": [
        {
            "id": "fr/X-2",
            "issued_in_period": False,
            "credible": True,
            "withdrawn": False,
            "incidents_linked": 1,
        },
        {
            "id": "jiu/INT-1",
            "issued_in_period": True,
            "credible": True,
            "withdrawn": False,
            "incidents_linked": 2,
        },
        {
            "id": "jiu/INT-3",
            "issued_in_period": True,
            "credible": False,
            "withdrawn": True,
            "incidents_linked": 0,
        },
    ],
}

FAULTS_IN_MONTH = 5  # ir-01 x2, fence-02 x2, cam-01
DOWNTIME_S = {"ir-01": 10800.0, "fence-02": 64800.0, "cam-01": 21600.0}
"""Every other device of the site: no downtime, availability 1."""

# -- the inspection figures, by hand ------------------------------------------------

DETECTION = {
    # zone: {modality: (detected, crossings)}
    "Z01": {"camera": (1, 4), "fence": (2, 4), "ir": (2, 4), "any": (3, 4)},
    "Z02": {"camera": (20, 29), "fence": (0, 29), "ir": (29, 29), "any": (29, 29)},
    "Z03": {"ir": (0, 0), "any": (0, 0)},
    "Z09": {"ir": (0, 0), "any": (0, 0)},
}
BY_MODE = {
    "Z01": [("walk", 1, 1), ("run", 1, 1), ("crawl", 1, 0), ("climb", 1, 1)],
    "Z02": [("walk", 29, 29)],
    "Z03": [],
    "Z09": [],
}
WALK_TESTS = [("wt1", "Z01", 4, 3), ("wt2", "Z02", 29, 29)]
VERDICTS = {
    # Z01: 3 of 4 is below 0.90; every modality below 0.90 too
    "Z01": ("fail", ["pod_below_target", "modality_weak", "modality_weak", "modality_weak"]),
    # Z02: 29/29 shows 0.902 >= 0.90, but camera 20/29 and fence 0/29 are weak, and
    # fence-02 was available 97.5 % (< 99 %)
    "Z02": ("attention", ["modality_weak", "modality_weak", "device_degraded"]),
    # Z03: two false alarms in 30 days (limit 1), and never tested
    "Z03": ("fail", ["false_alarm_high", "not_tested"]),
    "Z09": ("attention", ["not_tested"]),
}
RATES = {
    # zone: (nuisance count, false alarm count), per 30 days = count over a 30-day month
    "Z01": (0, 0),
    "Z02": (1, 0),
    "Z03": (0, 2),
    "Z09": (0, 0),
}
