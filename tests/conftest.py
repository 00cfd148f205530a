"""Shared fixtures: a site file, a users file, a broker, a running service."""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import yaml

from tests.builders import strip
from tests.peers import Mosquitto, VigieProcess

TOKENS = {
    "alice": ("operator", "alice-token"),
    "carl": ("commander", "carl-token"),
    "ada": ("admin", "ada-token"),
    "ines": ("inspector", "ines-token"),
}
OPERATOR, COMMANDER, ADMIN = "alice-token", "carl-token", "ada-token"
INSPECTOR = "ines-token"


@pytest.fixture
def site_file(tmp_path: Path) -> Path:
    path = tmp_path / "site.yaml"
    path.write_text(yaml.safe_dump(strip()))
    return path


@pytest.fixture
def users_file(tmp_path: Path) -> Path:
    path = tmp_path / "users.yaml"
    users = [
        {"name": n, "role": r, "token_sha256": hashlib.sha256(t.encode()).hexdigest()}
        for n, (r, t) in TOKENS.items()
    ]
    path.write_text(yaml.safe_dump({"users": users}))
    return path


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    b = Mosquitto(tmp_path / "broker")
    b.start()
    yield b
    b.stop()


@pytest.fixture
def vigie(
    site_file: Path, users_file: Path, broker: Mosquitto, tmp_path: Path
) -> Iterator[VigieProcess]:
    v = VigieProcess(site_file, users_file, str(tmp_path / "vigie.db"), broker, tmp_path)
    v.start()
    yield v
    v.stop()


PG_BASE = os.environ.get("VIGIE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh schema in the PostgreSQL this machine kind runs; dropped afterwards."""
    schema = f"vigie_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(PG_BASE, autocommit=True)
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL not reachable at {PG_BASE}: {exc}")
    admin.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{PG_BASE}?options=-csearch_path%3D{schema}"
    finally:
        admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
        admin.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "store.db")
    url: str = request.getfixturevalue("pg_url")
    return url


VIDEO_MODULES = frozenset(
    {
        "tests/adapters/test_camera_live.py",
        "tests/adapters/test_camera_stop.py",
        "tests/adapters/test_clips.py",
        "tests/adapters/test_live_browser.py",
        "tests/adapters/test_stream.py",
        "tests/centre/test_centre_demo.py",
        "tests/dashboard/test_video_page.py",
        "tests/simulators/test_camera_clip.py",
        "tests/simulators/test_demo.py",
        "tests/test_fresh_install.py",
        "tests/vigie/test_video_live.py",
    }
)
"""Modules whose tests encode video live (GStreamer's RTSP server, x264) and analyse it in
real time. With two xdist workers (`--dist loadgroup`, scripts/test.sh) they take turns
on one worker: two of them at once overload two cores, and a camera that has to see an
entry within a second, or a covered lens within 20 s, then misses it."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    root = Path(__file__).resolve().parent.parent
    for item in items:
        if item.path.relative_to(root).as_posix() in VIDEO_MODULES:
            item.add_marker(pytest.mark.xdist_group("video"))
