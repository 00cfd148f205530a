"""The command line as a user runs it: real processes, real files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

from tests.builders import msg, strip
from vigie.cli import _size

VIGIE = [sys.executable, "-m", "vigie.cli"]


def vigie(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*VIGIE, *args], capture_output=True, text=True, timeout=60, check=False)


def test_a_bad_site_file_exits_2_naming_file_entry_and_reason(tmp_path: Path) -> None:
    data = strip()
    data["zones"][0]["adjacent"] = ["Z42"]
    site = tmp_path / "site.yaml"
    site.write_text(yaml.safe_dump(data))
    rec = tmp_path / "rec.jsonl"
    rec.write_text("")
    done = vigie("replay", str(rec), "--site", str(site), "--report", str(tmp_path / "r.json"))
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert str(site) in lines[0]
    assert "zones[0].adjacent[0]" in lines[0]
    assert "Z42" in lines[0]
    assert not (tmp_path / "r.json").exists(), "nothing starts half-configured"


def test_bad_arguments_exit_2_with_one_line() -> None:
    done = vigie("replay", "x.jsonl")
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1
    assert "--site" in done.stderr


def test_clip_options_are_checked_before_anything_starts(tmp_path: Path) -> None:
    site = tmp_path / "site.yaml"
    site.write_text(yaml.safe_dump(strip()))
    for option, value, words in (
        ("--clip-budget", "lots", "--clip-budget: not a size"),
        ("--clip-reserve", "-5M", "--clip-reserve: out of range"),
        ("--clip-keep-days", "-1", "--clip-keep-days"),
    ):
        db = str(tmp_path / "v.db")
        done = vigie("serve", "--site", str(site), "--db", db, f"{option}={value}")
        assert done.returncode == 2, done.stderr
        assert words in done.stderr.strip().splitlines()[-1]
    assert not (tmp_path / "v.db").exists()


def test_sizes_read_as_bytes_or_with_a_binary_suffix() -> None:
    assert _size("1048576", "--clip-budget") == 1024**2
    assert _size("500M", "--clip-budget") == 500 * 1024**2
    assert _size("1.5G", "--clip-budget") == int(1.5 * 1024**3)
    assert _size("2tb", "--clip-budget") == 2 * 1024**4


def test_replay_writes_the_same_report_byte_for_byte(tmp_path: Path) -> None:
    site = tmp_path / "site.yaml"
    site.write_text(yaml.safe_dump(strip()))
    rec = tmp_path / "rec.jsonl"
    rec.write_bytes(
        msg(1, "fence-01", "alarm", "f1", data={"mode": "cut", "position_m": 12.5})
        + msg(3, "cam-01", "person", "c1", zone="Z02", data={"box": [0.1, 0.1, 0.1, 0.3]})
        + b"not a recording line\n"
        + msg(4, "cam-01", "person", "c1", zone="Z02", data={"box": [0.1, 0.1, 0.1, 0.3]})
        + msg(5, "cam-01", "person", "c1", zone="Z02")  # the id again, other content
        + msg(90, "ir-01", "heartbeat", "h1")
    )
    reports = []
    for n in range(2):
        out = tmp_path / f"report-{n}.json"
        done = vigie("replay", str(rec), "--site", str(site), "--report", str(out))
        assert done.returncode == 0, done.stderr
        reports.append(out.read_bytes())
    assert reports[0] == reports[1]
    report = json.loads(reports[0])
    assert (report["messages"], report["rejected"], report["duplicates"]) == (6, 1, 1)
    assert report["id_reuses"] == 1
    assert report["incidents"][0]["zones"] == ["Z01", "Z02"]
    assert report["incidents"][0]["priority"] == 5
    assert "line 3" in done.stderr, "a bad line is reported with its number"
