"""Shared fixtures: a site file, a users file, a broker, a running service."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.builders import strip
from tests.peers import Mosquitto, VigieProcess

TOKENS = {
    "alice": ("operator", "alice-token"),
    "carl": ("commander", "carl-token"),
    "ada": ("admin", "ada-token"),
}
OPERATOR, COMMANDER, ADMIN = "alice-token", "carl-token", "ada-token"


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
