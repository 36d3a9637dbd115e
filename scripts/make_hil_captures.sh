#!/usr/bin/env bash
# Regenerate the simulated captures shipped under tests/hil/<scenario>/ (deterministic: the
# same simulator and seed give byte-identical files). Afterwards regenerate each capture's
# expected_events.jsonl with the real replay, and review the diff before committing.
# Usage: scripts/make_hil_captures.sh [SCENARIO...]   (default: every shipped scenario,
# edge.replay.scenarios.SHIPPED: all but the full busy hour, which o2o-edge bench replay
# generates when it needs it). Tills' sales are part of the captures (MQTT, POS topic); camera
# scenarios get a camera_scene.json only: their videos are built from the shared photographs
# at test time (edge/replay/camera_scenes.py) and must never be committed.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-.venv/bin/python}"
[ -x "$PYTHON" ] || PYTHON=python3
SEED=1  # tests/replay/test_simulator.py checks the shipped captures against this seed

if [ "$#" -gt 0 ]; then
  scenarios=("$@")
else
  mapfile -t scenarios < <("$PYTHON" -c \
    'from edge.replay.scenarios import SHIPPED; print(*SHIPPED, sep="\n")')
fi
for scenario in "${scenarios[@]}"; do
  # A scenario made for another store keeps that store's configuration beside its capture.
  config=firmware_configs/demo_store.yaml
  [ -f "tests/hil/$scenario/store.yaml" ] && config="tests/hil/$scenario/store.yaml"
  "$PYTHON" -m edge.cli simulate "$scenario" --out "tests/hil/$scenario" --seed "$SEED" \
    --config "$config"
done
