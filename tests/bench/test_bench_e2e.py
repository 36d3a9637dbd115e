"""Smoke test of ``o2o-edge bench e2e --quick`` on the real broker (the latency targets live
in the benchmark, not here)."""

from __future__ import annotations

import json

import pytest

from tests.conftest import run_cli

pytestmark = pytest.mark.network

FIGURES = (
    "p50_ms",
    "p90_ms",
    "p99_ms",
    "max_ms",
    "edge_p99_ms",
    "out_p99_ms",
    "rec_p50_ms",
    "rec_p99_ms",
    "peak_rss_mb",
)


def test_bench_e2e_quick_measures_sessions(mqtt_broker: tuple[str, int]) -> None:
    result = run_cli("bench", "e2e", "--quick", check=True, timeout=180)
    figures = json.loads(result.stdout)
    assert figures["sessions"] + figures["lost"] == 50
    assert figures["sessions"] >= 45, figures
    # Every timed recommendation lists the item that arrived: with two of every product in
    # stock the recommender fills its list (an empty one is the session end, not timed).
    assert figures["recs_per_session"] >= 3, figures
    assert figures["stock_items"] > 0 and figures["events_dropped"] == 0
    for key in FIGURES:
        assert figures[key] > 0, key
    assert figures["p50_ms"] <= figures["p99_ms"] <= figures["max_ms"]
    assert "sessions" in result.stderr  # progress goes to stderr, the JSON alone to stdout
