"""The container files, checked without a container engine (none runs where the tests do):
the image runs the entry point the tests use, and the compose broker uses the tests'
broker settings."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import yaml

from tests.peers import BROKER_CONF, REPO
from vigie.cli import build_parser


def dockerfile_json(instruction: str) -> list[str]:
    text = (REPO / "Dockerfile").read_text().replace("\\\n", " ")
    match = re.search(rf"^{instruction} (\[.*?\])\s*$", text, re.MULTILINE)
    assert match, instruction
    value: list[str] = json.loads(match.group(1))
    return value


def test_the_image_runs_the_vigie_entry_point_with_a_valid_command_line() -> None:
    assert dockerfile_json("ENTRYPOINT") == ["vigie"]
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["vigie"] == "vigie.cli:main", "the tests run the same main (python -m vigie.cli)"
    args = build_parser().parse_args(dockerfile_json("CMD"))
    assert args.command == "serve" and args.http == "0.0.0.0:8080"
    text = (REPO / "Dockerfile").read_text()
    assert "USER vigie" in text and "HEALTHCHECK" in text and "/healthz" in text


def test_every_compose_command_is_a_valid_vigie_command_line() -> None:
    compose = yaml.safe_load((REPO / "compose.yaml").read_text())
    for name in ("cameras", "sensors"):
        build_parser().parse_args(compose["services"][name]["command"])


def test_the_compose_broker_uses_the_settings_the_tests_use() -> None:
    compose = yaml.safe_load((REPO / "compose.yaml").read_text())
    mounts = compose["services"]["broker"]["volumes"]
    settings = [m for m in mounts if m.startswith("./vigie/mosquitto.conf:")]
    assert settings, mounts
    assert (REPO / settings[0].split(":")[0].removeprefix("./")).resolve() == BROKER_CONF
    included_dir = settings[0].split(":")[1].rsplit("/", 1)[0]
    main_conf = Path(REPO / "deploy" / "compose-broker.conf").read_text()
    assert f"include_dir {included_dir}" in main_conf
    assert "max_queued_messages 0" in BROKER_CONF.read_text()


def test_the_image_copies_every_package_the_distribution_installs() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    packages = {p.rstrip("*") for p in project["tool"]["setuptools"]["packages"]["find"]["include"]}
    text = (REPO / "Dockerfile").read_text()
    copied = set(re.findall(r"^COPY (\w+) \./\1$", text, re.MULTILINE))
    assert packages <= copied, f"not copied into the image: {sorted(packages - copied)}"
