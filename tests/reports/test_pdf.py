"""The PDFs read back with poppler's pdftotext: every figure of the JSON file is printed,
in each language, and a period without data says so."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from fusion.site import Site, site_from_mapping
from reports.catalogue import Labels
from reports.command import Built, inspection, monthly
from reports.numbers import Numbers
from tests.reports import november as nov
from tests.reports.planned_schema import StoreWriter, planned_store


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = str(tmp_path_factory.mktemp("store") / "november.db")
    db = planned_store(url)
    nov.fill(StoreWriter(db))
    db.close()
    return url


@pytest.fixture(scope="module")
def site() -> Site:
    return site_from_mapping(nov.site_data(), "strip.yaml")


def pdf_text(pdf: bytes, tmp: Path) -> str:
    """The text in drawing order (-raw): a table row's cells come out one after another."""
    path = tmp / "report.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(
        ["pdftotext", "-raw", "-enc", "UTF-8", str(path), "-"], check=True, capture_output=True
    )
    return out.stdout.decode().replace("\u00a0", " ")


def images(pdf: bytes, tmp: Path) -> int:
    path = tmp / "report.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(["pdfimages", "-list", str(path)], check=True, capture_output=True)
    rows = [line.split() for line in out.stdout.decode().splitlines()[2:]]  # 2 header lines
    return sum(1 for r in rows if r[2] == "image")  # not their transparency masks


def shows(text: str, *cells: object) -> bool:
    """The cells' words, in this order, separated only by white space (wrapping allowed)."""
    words = [w for c in cells for w in str(c).split()]
    return re.search(r"\s+".join(re.escape(w) for w in words), text) is not None


def monthly_rows(r: dict[str, Any]) -> Iterator[list[object]]:
    """Every figure of a monthly JSON file, as the row of the PDF that must print it."""
    t, n = Labels(r["lang"]), Numbers(r["lang"])
    inc = r["incidents"]
    yield [t("fig.seen"), inc["seen"]]
    yield [t("fig.confirmed"), inc["confirmed"]]
    yield [t("fig.disrupted"), inc["disrupted"]]
    yield [t("fig.test_excluded"), inc["test_excluded"]]
    yield [t("fig.faults"), r["faults"]]
    if inc["seen"]:
        for o, c in inc["by_outcome"].items():
            yield [t(f"outcome.{o}"), c]
        for d, c in inc["by_disruption"].items():
            yield [t(f"disruption.{d}"), c]
        for z in inc["by_zone"]:
            yield [z["zone"], z["name"], z["seen"], z["confirmed"], z["intrusion"],
                   z["false_alarm"], z["nuisance"], z["unresolved"]]  # fmt: skip
        for w in inc["by_week"]:
            yield [w["week"], w["seen"], w["confirmed"]]
        for half in (inc["by_hour"][:12], inc["by_hour"][12:]):
            yield [t("col.seen"), *(h["seen"] for h in half)]
            yield [t("col.confirmed"), *(h["confirmed"] for h in half)]
    for key, v in r["response"].items():
        yield [t(f"resp.{key}"), v["n"], n.seconds(v["p50_s"]), n.seconds(v["p90_s"])]
    intel = r["intel"]
    for label, key in [
        ("intel.issued", "items_issued"),
        ("intel.credible", "items_credible"),
        ("intel.withdrawn", "items_withdrawn"),
        ("intel.linked", "incidents_linked"),
        ("intel.linked_confirmed", "incidents_linked_confirmed"),
        ("intel.linked_intrusion", "incidents_linked_intrusion"),
    ]:
        yield [t(label), intel[key]]
    yes_no = {True: t("yes"), False: t("no")}
    for i in intel["items"]:
        yield [i["id"], i["title"], ", ".join(i["zones"]), yes_no[i["issued_in_period"]],
               yes_no[i["credible"]], yes_no[i["withdrawn"]], i["incidents_linked"]]  # fmt: skip
    yield from device_rows(r)


def device_rows(r: dict[str, Any]) -> Iterator[list[object]]:
    t, n = Labels(r["lang"]), Numbers(r["lang"])
    for d in r["devices"]:
        faults = [f"{t(f'fault.{f}')} {c}" for f, c in d["by_fault"].items()]
        down, available = n.seconds(d["downtime_s"]), n.percent(d["availability"])
        zones = ", ".join(d["zones"])
        yield [d["device"], t(f"kind.{d['kind']}"), zones, d["faults"], ", ".join(faults), down,
               available]  # fmt: skip


def inspection_rows(r: dict[str, Any]) -> Iterator[list[object]]:
    t, n = Labels(r["lang"]), Numbers(r["lang"])
    for z in r["zones"]:
        yield [z["zone"], z["name"], z["verdict_text"], *(x["text"] for x in z["reasons"])]
        for d in z["detection"]:
            yield [z["zone"], t(f"modality.{d['modality']}"), d["crossings"], d["detected"],
                   n.prob(d["pod"]), n.prob(d["pod_lower_95"])]  # fmt: skip
        for m in z["by_mode"]:
            yield [z["zone"], t(f"mode.{m['mode']}"), m["crossings"], m["detected"]]
        a, b = z["nuisance"], z["false_alarm"]
        yield [z["zone"], a["count"], n.rate(a["per_30d"]), n.rate(a["limit_per_30d"]),
               b["count"], n.rate(b["per_30d"]), n.rate(b["limit_per_30d"])]  # fmt: skip
    for w in r["walk_tests"]:
        opened, closed = (
            datetime.fromtimestamp(w[k], nov.PARIS).strftime("%Y-%m-%d %H:%M")
            for k in ("opened_t", "closed_t")
        )
        yield [w["id"], w["zone"], opened, closed, w["opened_by"], w["crossings"], w["detected"]]
    yield from device_rows(r)


def _missing(text: str, rows: Iterator[list[object]]) -> list[list[object]]:
    return [row for row in rows if not shows(text, *row)]


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_the_monthly_pdf_prints_every_figure_of_its_json(
    store: str, site: Site, lang: str, tmp_path: Path
) -> None:
    built = monthly(store, site, "2026-11", lang=lang, now=nov.NOW)
    text = pdf_text(built.pdf, tmp_path)
    assert _missing(text, monthly_rows(built.figures)) == []
    assert images(built.pdf, tmp_path) == 4  # by zone, week, hour; availability
    t = Labels(lang)
    for key in ("title.monthly", "sign.gold_uk", "sign.gold_fr"):
        assert shows(text, t(key)), key
    assert shows(text, "Coquelles railhead (coquelles)")
    assert shows(text, t("month.11"), "2026 (2026-11-01 – 2026-11-30)")


def test_the_monthly_pdf_shows_the_hand_counted_figures(
    store: str, site: Site, tmp_path: Path
) -> None:
    text = pdf_text(monthly(store, site, "2026-11", lang="en", now=nov.NOW).pdf, tmp_path)
    assert shows(text, "Incidents seen 7")
    assert shows(text, "Incidents confirmed (detected by two modalities) 3")
    assert shows(text, "Test incidents (not counted) 3")
    assert shows(text, "Z03 2 0 0 2 0 0")
    assert shows(text, "Time to acknowledge 5 45.0 s 78.0 s (1 min 18 s)")
    assert shows(text, "Time to resolve 6 450.0 s (7 min 30 s) 2700.0 s (45 min 00 s)")
    assert shows(text, "ir-01 IR Z01 2 Heartbeat lost 1, Tamper 1 10800.0 s (3 h 00 min) 99.58 %")
    assert shows(text, "fence-02 Fence Z02 2 Fault 2 64800.0 s (18 h 00 min) 97.50 %")
    assert shows(text, "cam-01 Camera Z01, Z02 1 Video loss 1 21600.0 s (6 h 00 min) 99.17 %")
    assert shows(text, "Page 1 of 3")


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_the_inspection_pdf_prints_every_figure_of_its_json(
    store: str, site: Site, lang: str, tmp_path: Path
) -> None:
    built = inspection(store, site, date(2026, 11, 1), date(2026, 11, 30), lang=lang, now=nov.NOW)
    text = pdf_text(built.pdf, tmp_path)
    assert _missing(text, inspection_rows(built.figures)) == []
    assert images(built.pdf, tmp_path) == 3  # PoD, rates, availability
    assert shows(text, Labels(lang)("sign.inspector"))


def test_the_inspection_pdf_in_french_uses_french_words_and_decimal_commas(
    store: str, site: Site, tmp_path: Path
) -> None:
    built = inspection(store, site, date(2026, 11, 1), date(2026, 11, 30), lang="fr", now=nov.NOW)
    text = pdf_text(built.pdf, tmp_path)
    assert shows(text, "Rapport d’inspection de sûreté")
    assert shows(text, "Z02 Système (toute modalité) 29 29 1,000 0,902")
    assert shows(text, "Z01 Système (toute modalité) 4 3 0,750 0,249")
    assert shows(text, "fence-02 disponible 97,50 % du temps, sous 99,00 %.")
    assert shows(text, "Z03 Non conforme Fausses alarmes : 2,00 pour 30 jours")
    assert shows(text, "Page 1 sur 3")
    assert "0.902" not in text


@pytest.mark.parametrize(
    ("lang", "words"),
    [("en", "No data for this period"), ("fr", "Aucune donnée pour cette période")],
)
def test_a_period_without_data_says_so_plainly(
    tmp_path: Path, site: Site, lang: str, words: str
) -> None:
    url = str(tmp_path / "empty.db")
    planned_store(url).close()
    built: Built = monthly(url, site, "2026-11", lang=lang, now=nov.NOW)
    text = pdf_text(built.pdf, tmp_path)
    assert shows(text, words)
    assert _missing(text, monthly_rows(built.figures)) == []
    built = inspection(url, site, date(2026, 11, 1), date(2026, 11, 7), lang=lang, now=nov.NOW)
    text = pdf_text(built.pdf, tmp_path)
    assert shows(text, words)
    assert shows(text, Labels(lang)("none.walk_tests"))
    assert _missing(text, inspection_rows(built.figures)) == []
