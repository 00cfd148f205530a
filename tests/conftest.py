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
