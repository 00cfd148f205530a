#!/usr/bin/env bash
# Install Vigie and start the whole system on this machine: `vigie demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/vigie demo "$@"
