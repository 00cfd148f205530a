"""Bad centre files and users files are refused at start, naming the file, the entry and
the reason (docs/centre.md, "The centre file"); `vigie centre` exits 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from dashboard.auth import Users
from tests.centre.rig import PORT, YARD, centre_file, write_files
from tests.peers import REPO
from vigie.centre.config import CentreError, check_users, load_centre


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    return write_files(tmp_path)


def rewrite(path: Path, change: Any) -> Path:
    data = centre_file()
    change(data)
    path.write_text(yaml.safe_dump(data))
    return path


def test_a_good_centre_file_loads_with_its_sites_and_desks(files: dict[str, Path]) -> None:
    centre = load_centre(files["centre"])
    assert list(centre.sites) == [YARD, PORT]
    assert centre.sites[PORT].site.site == PORT
    assert centre.desks["uk-border"].sites == (PORT,) and not centre.desks["uk-border"].acts
    check_users(Users.load(files["users"]), centre, str(files["users"]))


def test_a_missing_site_file_is_named(files: dict[str, Path]) -> None:
    path = rewrite(files["centre"], lambda d: d["sites"][1].update(site_file="nowhere.yaml"))
    with pytest.raises(CentreError) as caught:
        load_centre(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: sites[1].site_file: bad site file:")
    assert "nowhere.yaml" in message


def test_a_bad_site_file_is_named_with_its_own_entry(files: dict[str, Path]) -> None:
    files[PORT].write_text(files[PORT].read_text().replace("kind: ir", "kind: radar", 1))
    with pytest.raises(CentreError) as caught:
        load_centre(files["centre"])
    assert "sites[1].site_file" in str(caught.value) and "sensors[0].kind" in str(caught.value)


def test_a_site_file_of_another_site_is_refused(files: dict[str, Path]) -> None:
    path = rewrite(files["centre"], lambda d: d["sites"][1].update(site_file=f"{YARD}.yaml"))
    with pytest.raises(CentreError, match=r"sites\[1\]\.site: .* is the site file of 'coquelles'"):
        load_centre(path)


def test_a_desk_with_an_unknown_site_is_refused(files: dict[str, Path]) -> None:
    path = rewrite(files["centre"], lambda d: d["desks"][1]["sites"].append("dover"))
    with pytest.raises(CentreError) as caught:
        load_centre(path)
    assert str(caught.value) == (
        f"{path}: desks[1].sites[1]: no site 'dover' among the centre's sites ({YARD}, {PORT})"
    )


def test_unknown_fields_and_duplicates_are_refused(files: dict[str, Path]) -> None:
    path = rewrite(files["centre"], lambda d: d["desks"][0].update(colour="blue"))
    with pytest.raises(CentreError, match=r"desks\[0\]\.colour: unknown field"):
        load_centre(path)
    path = rewrite(files["centre"], lambda d: d["desks"].append(dict(d["desks"][0])))
    with pytest.raises(CentreError, match=r"desks\[3\]\.id: desk 'fr-police' is listed twice"):
        load_centre(path)


def test_a_user_without_a_desk_or_at_an_unknown_desk_is_refused(files: dict[str, Path]) -> None:
    centre = load_centre(files["centre"])
    users = yaml.safe_load(files["users"].read_text())
    del users["users"][1]["desk"]
    users["users"][2]["desk"] = "interpol"
    files["users"].write_text(yaml.safe_dump(users))
    with pytest.raises(CentreError) as caught:
        check_users(Users.load(files["users"]), centre, str(files["users"]))
    assert caught.value.problems == [
        ("users[1] (carl)", "no desk: at a centre every user sits at one of its desks"),
        (
            "users[2] (uma)",
            f"desk 'interpol' is not a desk of {files['centre']} (fr-police, uk-border, nca)",
        ),
    ]


def centre_command(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "vigie.cli", "centre", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_vigie_centre_exits_2_with_file_entry_and_reason(files: dict[str, Path]) -> None:
    bad = rewrite(files["centre"], lambda d: d["desks"][1]["sites"].append("dover"))
    run = centre_command("--centre", str(bad), "--users", str(files["users"]))
    assert run.returncode == 2
    assert run.stderr.strip() == (
        f"vigie centre: bad centre file: {bad}: desks[1].sites[1]: no site 'dover' among"
        f" the centre's sites ({YARD}, {PORT})"
    )
    good = rewrite(files["centre"], lambda d: None)
    users = yaml.safe_load(files["users"].read_text())
    del users["users"][0]["desk"]
    files["users"].write_text(yaml.safe_dump(users))
    run = centre_command("--centre", str(good), "--users", str(files["users"]))
    assert run.returncode == 2
    assert run.stderr.strip() == (
        f"vigie centre: bad users file: {files['users']}: users[0] (marie): no desk: at a"
        " centre every user sits at one of its desks"
    )
