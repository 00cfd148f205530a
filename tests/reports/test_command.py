"""``vigie report`` as a user runs it: real processes, real files."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
import yaml

from tests.reports import november as nov
from tests.reports.planned_schema import StoreWriter, planned_store
from tests.vigie.test_cli import vigie


@pytest.fixture
def files(tmp_path: Path) -> tuple[str, str]:
    site = tmp_path / "site.yaml"
    site.write_text(yaml.safe_dump(nov.site_data()))
    db = planned_store(str(tmp_path / "vigie.db"))
    nov.fill(StoreWriter(db))
    db.close()
    return str(tmp_path / "vigie.db"), str(site)


def test_monthly_writes_the_pdf_and_the_json_beside_it(
    files: tuple[str, str], tmp_path: Path
) -> None:
    db, site = files
    out = tmp_path / "october.pdf"
    done = vigie("report", "monthly", "--db", db, "--site", site, "--month", "2026-10",
                 "--out", str(out), "--lang", "fr")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert out.read_bytes().startswith(b"%PDF-")
    figures = json.loads((tmp_path / "october.json").read_text())
    assert figures["report"] == "monthly" and figures["lang"] == "fr"
    assert figures["period"]["label"] == "2026-10" and figures["period"]["complete"] is True
    assert figures["incidents"]["seen"] == 1  # o1, the last half hour of October
    assert figures["incidents"]["by_outcome"]["nuisance"] == 1
    assert [d["faults"] for d in figures["devices"] if d["device"] == "fl-02"] == [1]
    assert "1 incidents seen" in done.stderr


def test_inspection_writes_the_pdf_and_the_json_beside_it(
    files: tuple[str, str], tmp_path: Path
) -> None:
    db, site = files
    out = tmp_path / "inspection.pdf"
    done = vigie("report", "inspection", "--db", db, "--site", site, "--from", "2026-10-30",
                 "--to", "2026-10-30", "--out", str(out))  # fmt: skip
    assert done.returncode == 0, done.stderr
    figures = json.loads(out.with_suffix(".json").read_text())
    assert figures["period"]["days"] == 1.0
    assert [(w["id"], w["crossings"], w["detected"]) for w in figures["walk_tests"]] == [
        ("wt0", 1, 1)
    ]
    z01 = figures["zones"][0]
    assert z01["zone"] == "Z01" and z01["detection"][-1]["pod"] == 1.0


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["monthly", "--month", "2026-13"], "YYYY-MM"),
        (["monthly", "--month", "2999-01"], "not begun"),
        (["inspection", "--from", "2026-11-30", "--to", "2026-11-01"], "before it begins"),
        (["inspection", "--from", "30/11/2026", "--to", "2026-11-30"], "--from must be a date"),
        (["monthly", "--month", "2026-11", "--lang", "de"], "--lang"),
        (["monthly"], "--month"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(
    files: tuple[str, str], tmp_path: Path, args: list[str], says: str
) -> None:
    db, site = files
    kind, *rest = args
    done = vigie("report", kind, "--db", db, "--site", site, "--out",
                 str(tmp_path / "r.pdf"), *rest)  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert says in done.stderr
    assert not (tmp_path / "r.pdf").exists()


def test_a_store_that_is_not_there_or_not_vigie_exits_2(
    files: tuple[str, str], tmp_path: Path
) -> None:
    _, site = files
    sqlite3.connect(tmp_path / "other.db").execute("CREATE TABLE t (x)").connection.close()
    for db, says in [
        (str(tmp_path / "absent.db"), "no store at"),
        (str(tmp_path / "other.db"), "not a Vigie store"),
        ("postgresql://nobody@127.0.0.1:1/none", "cannot open the store"),
    ]:
        done = vigie("report", "monthly", "--db", db, "--site", site, "--month", "2026-10",
                     "--out", str(tmp_path / "r.pdf"))  # fmt: skip
        assert done.returncode == 2, done.stderr
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
        assert says in done.stderr
    assert not (tmp_path / "absent.db").exists(), "a report never creates a store"
    done = vigie("report", "monthly", "--db", files[0], "--site", site, "--month", "2026-10",
                 "--out", str(tmp_path / "no" / "such" / "r.pdf"))  # fmt: skip
    assert done.returncode == 2 and "no such folder" in done.stderr
