#!/usr/bin/env bash
# The demo store, from a fresh machine: set-up, then `o2o-edge demo` on embedded defaults.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
exec .venv/bin/o2o-edge demo "$@"
