#!/usr/bin/env bash
# The whole test suite, from a fresh machine: set-up, services, then pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh --services
mkdir -p test-artifacts
.venv/bin/ruff check edge cloud_sync models tests
.venv/bin/mypy  # configuration: [tool.mypy] in pyproject.toml
.venv/bin/python -m pytest -q -p no:cacheprovider --durations=15 "$@"
