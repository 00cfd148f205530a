#!/usr/bin/env bash
# Install everything the tests need, then run the project's checks and the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
.venv/bin/lint-imports
# Two workers: the machine has two cores and most tests spend their time waiting on real
# peers (a broker, an RTSP server, Chromium, a service); the tests that encode and analyse
# live video take turns on one of them (tests/conftest.py); `-n 0` runs all one by one.
.venv/bin/python -m pytest -n 2 --dist loadgroup "$@"
