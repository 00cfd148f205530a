"""The README's first command on a fresh clone, exactly as a newcomer types it.

The repository's files (tracked, and new ones not ignored: what a commit would hold) are
copied to a folder of their own, with no ``.venv``; the README's demo command installs
the runtime dependencies alone there, without the test extra, and starts the demo. A
module that needs a test-only package (httpx once did) fails here, not on a newcomer's
machine."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.peers import REPO, DemoProcess, processes_pointing_into

INSTALL_AND_START_S = 420.0
"""The README's command installs first: a fresh virtual environment from the wheel cache
takes 20-40 s here, several times that on a busy shared machine."""

ALIVE_AFTER_S = 30.0
"""The demo must still run this long after its banner (the issue's acceptance)."""

SYSTEM_PYTHON_SCRIPTS = {"simulators.rtsp_server", "simulators.rtsp_troubles"}
"""Modules that are programs for Debian's /usr/bin/python3 (the only interpreter with the
GStreamer bindings): imported under that interpreter, not in the virtual environment."""


def readme_demo_command() -> str:
    """The first command of the README's "two commands", as written there."""
    readme = (REPO / "README.md").read_text()
    block = re.search(r"## The two commands.*?```sh\n(.*?)```", readme, re.DOTALL)
    assert block, "the README shows its two commands in a sh block"
    first = block.group(1).splitlines()[0].split("#")[0].strip()
    assert first == "bash scripts/demo.sh", first
    return first


def clean_environment(clone: Path) -> dict[str, str]:
    """This environment, without the test run's virtual environment: a newcomer's shell."""
    venv = str(REPO / ".venv")
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME"} and not k.startswith("PYTEST_")
    }
    env["PATH"] = os.pathsep.join(
        p for p in env.get("PATH", "").split(os.pathsep) if p and not p.startswith(venv)
    )
    env["PWD"] = str(clone)
    return env


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The repository as a fresh clone would have it: no .venv, no caches, no data."""
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.decode()
    root = tmp_path_factory.mktemp("fresh") / "clone"
    for name in filter(None, listed.split("\0")):
        source = REPO / name
        if source.is_file():  # a file deleted but not yet committed is not in a clone
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, root / name)
    assert not (root / ".venv").exists()
    yield root
    left = processes_pointing_into(root)
    assert left == {}, f"still running from the fresh clone: {left}"


def page_assets(base: str, html: str) -> list[str]:
    """The files the dashboard page loads: its stylesheet and scripts, and the ES modules
    they import in turn."""
    todo = re.findall(r'(?:src|href)="(/static/[^"]+)"', html)
    seen: list[str] = []
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.append(path)
        if path.endswith(".js"):
            body = httpx.get(f"{base}{path}", timeout=10).text
            folder = path.rsplit("/", 1)[0]
            todo += [f"{folder}/{m}" for m in re.findall(r'from\s+"\./([^"]+)"', body)]
    return seen


@pytest.mark.slow
@pytest.mark.timeout(INSTALL_AND_START_S + 180)
def test_the_readme_demo_command_installs_and_runs_on_a_fresh_clone(clone: Path) -> None:
    demo = DemoProcess(
        ["bash", "-c", readme_demo_command()],
        clone,
        clone.parent / "demo.out",
        clean_environment(clone),
    )
    try:
        demo.wait_banner(within_s=INSTALL_AND_START_S)
        banner_at = time.monotonic()
        page = httpx.get(f"{demo.base}/", timeout=10)
        assert page.status_code == 200
        assert "text/html" in page.headers["content-type"]
        assert 'name="username"' in page.text, "the sign-in form"
        assets = page_assets(demo.base, page.text)
        assert any(a.endswith("app.js") for a in assets), assets
        for asset in assets:
            assert httpx.get(f"{demo.base}{asset}", timeout=10).status_code == 200, asset
        health = httpx.get(f"{demo.base}/healthz", timeout=10)
        assert health.status_code == 200, health.text
        assert demo.get("/api/picture", "commander").json()["site"]["id"] == "coquelles"

        time.sleep(max(0.0, ALIVE_AFTER_S - (time.monotonic() - banner_at)))
        assert demo.proc.poll() is None, demo.output()[-3000:]
        assert httpx.get(f"{demo.base}/healthz", timeout=10).status_code == 200

        running = processes_pointing_into(clone)
        commands = "\n".join(running.values())
        for program in ("mosquitto", "vigie.cli serve", "rtsp_server.py", "vigie.cli camera"):
            assert program in commands, f"{program} runs from the clone:\n{commands}"
    finally:
        code = demo.interrupt()
    time.sleep(1.0)
    assert processes_pointing_into(clone) == {}, "Ctrl-C stopped everything the demo started"
    assert demo.group() == set()
    assert code == 0, demo.output()[-3000:]
    venv = clone / ".venv"
    assert (venv / "bin" / "vigie").exists(), "the demo ran from the clone's own .venv"


@pytest.mark.slow
@pytest.mark.timeout(INSTALL_AND_START_S)
def test_every_module_imports_with_the_runtime_dependencies_alone(clone: Path) -> None:
    env = clean_environment(clone)
    python = clone / ".venv" / "bin" / "python"
    if not (clone / ".venv" / "bin" / "vigie").exists():  # run alone: install as the demo does
        subprocess.run(["bash", "scripts/setup.sh"], cwd=clone, env=env, check=True)
    project = tomllib.loads((clone / "pyproject.toml").read_text())["project"]
    runtime = {_name(r) for r in project["dependencies"]}
    test_only = {_name(r) for r in project["optional-dependencies"]["test"]} - runtime
    installed = subprocess.run(
        [str(python), "-m", "pip", "list", "--format=freeze"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    ).stdout
    present = {_name(line.split("==")[0]) for line in installed.splitlines()}
    assert test_only and not test_only & present, f"a runtime-only venv: {test_only & present}"

    include = tomllib.loads((clone / "pyproject.toml").read_text())["tool"]["setuptools"]
    packages = [p.removesuffix("*") for p in include["packages"]["find"]["include"]]
    walk = f"""
import importlib, pkgutil, sys
skip = {sorted(SYSTEM_PYTHON_SCRIPTS)!r}
failed, count = [], 0
for top in {packages!r}:
    package = importlib.import_module(top)
    for info in pkgutil.walk_packages(package.__path__, top + ".", onerror=failed.append):
        if info.name in skip:
            continue
        count += 1
        try:
            importlib.import_module(info.name)
        except Exception as exc:
            failed.append(f"{{info.name}}: {{type(exc).__name__}}: {{exc}}")
print(count, "modules")
if failed:
    sys.exit("\\n".join(map(str, failed)))
"""
    elsewhere = clone.parent / "elsewhere"  # not in the clone: only what is installed imports
    elsewhere.mkdir(exist_ok=True)
    done = subprocess.run(
        [str(python), "-c", walk],
        cwd=elsewhere,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert int(done.stdout.split()[0]) >= 40, done.stdout

    for module in SYSTEM_PYTHON_SCRIPTS:
        script = clone / (module.replace(".", "/") + ".py")
        load = (
            "import importlib.util as u; "
            f"s = u.spec_from_file_location('script', {str(script)!r}); "
            "s.loader.exec_module(u.module_from_spec(s))"
        )
        imported = subprocess.run(
            ["/usr/bin/python3", "-c", load],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )
        assert imported.returncode == 0, imported.stderr


def _name(requirement: str) -> str:
    """A distribution's normalised name, from a requirement or a ``pip freeze`` line."""
    name = re.split(r"[\s<>=!~;\[]", requirement.strip(), maxsplit=1)[0]
    return re.sub(r"[-_.]+", "-", name).lower()
