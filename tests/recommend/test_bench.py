"""Smoke test of ``o2o-edge bench recommend --quick`` (speed targets live in the benchmark)."""

from __future__ import annotations

import json

from tests.conftest import run_cli


def test_bench_recommend_quick_prints_the_figures() -> None:
    result = run_cli("bench", "recommend", "--quick", check=True, timeout=120)
    figures = json.loads(result.stdout)
    assert figures["catalog_size"] == 2000 and figures["calls"] == 200
    assert figures["recommendations_per_call"] == 5.0
    for key in ("rec_p50_ms", "rec_p99_ms", "peak_rss_mb"):
        assert figures[key] > 0
