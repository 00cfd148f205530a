"""The layers of the README, as import-linter contracts (pyproject.toml) that
scripts/test.sh runs: each breaks, naming itself, when a module crosses its line, and
every package of the distribution is placed under them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

from tests.peers import REPO

LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def pyproject() -> dict[str, Any]:
    return tomllib.loads((REPO / "pyproject.toml").read_text())


def packages() -> set[str]:
    """The top-level packages that the distribution installs."""
    include = pyproject()["tool"]["setuptools"]["packages"]["find"]["include"]
    return {pattern.removesuffix("*") for pattern in include}


def contract(contract_id: str) -> dict[str, Any]:
    contracts = pyproject()["tool"]["importlinter"]["contracts"]
    found: list[dict[str, Any]] = [c for c in contracts if c["id"] == contract_id]
    assert len(found) == 1, contract_id
    return found[0]


def lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=tree,
        env={**os.environ, "COLUMNS": "200"},  # one contract a line, unwrapped
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """The packages and pyproject.toml, copied: a tree to break on purpose."""
    for package in packages():
        shutil.copytree(
            REPO / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(REPO / "pyproject.toml", tmp_path)
    return tmp_path


def test_every_package_is_placed_under_the_contracts() -> None:
    config = pyproject()["tool"]["importlinter"]
    assert set(config["root_packages"]) == packages()
    assert set(contract("core")["forbidden_modules"]) == packages() - {"fusion"}
    assert set(contract("production")["source_modules"]) == packages() - {"simulators"}


def test_the_copied_tree_keeps_every_contract(tree: Path) -> None:
    done = lint_imports(tree)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


@pytest.mark.parametrize(
    ("module", "source", "broken"),
    [
        ("fusion/crossing.py", "from vigie.site_file import load_site", "core"),
        ("fusion/crossing.py", "import time", "pure-core"),
        ("fusion/crossing.py", "import asyncio", "pure-core"),
        ("adapters/crossing.py", "from simulators import scene", "edges"),
        ("dashboard/crossing.py", "import vigie.service", "edges"),
        ("vigie/crossing.py", "from simulators.scenario import load_scenario", "production"),
        ("vigie/store/crossing.py", "import simulators.devices", "production"),
        ("simulators/crossing.py", "from simulators.demo import Demo", "demo"),
    ],
)
def test_a_module_that_crosses_a_line_breaks_its_contract(
    tree: Path, module: str, source: str, broken: str
) -> None:
    (tree / module).write_text(f'"""Crosses a line on purpose."""\n\n{source}\n')
    done = lint_imports(tree)
    assert done.returncode == 1, done.stdout + done.stderr
    report = done.stdout.partition("Broken contracts")[2]
    assert f"\n{contract(broken)['name']}\n---" in report, done.stdout
    importer = module.removesuffix(".py").replace("/", ".")
    assert importer in done.stdout, "the report names the module that crossed"
