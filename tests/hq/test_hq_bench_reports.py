"""``o2o-hq bench reports`` at a tiny scale, as a user runs it: one JSON object on stdout
with every console query's p95 and rows, the database's size and row counts."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from tests.conftest import DATABASE_URL, REPO_ROOT, cli_env

pytestmark = pytest.mark.network

QUERIES = {
    "overview_by_store",
    "overview_by_day",
    "overview_chain",
    "products_by_product",
    "products_by_category",
    "products_by_store",
    "products_by_day",
    "tried_often_bought_rarely",
    "hourly",
    "segments_grid",
    "segment_members",
    "stores_revenue",
}
PAGES = {
    # Each console page with every query it makes.
    "console_overview_page",
    "console_products_page",
    "console_member_page",
    "console_segments_page",
    "console_stores_page",
    "console_notifications_page",
    "console_catalog_page",
}


def _bench(*args: str) -> tuple[dict[str, Any], str]:
    """``o2o-hq bench ARGS`` as a user runs it: the JSON object on stdout, the progress."""
    result = subprocess.run(
        [sys.executable, "-m", "cloud_sync.hq.cli", "bench", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO_ROOT,
        env=cli_env(),
        check=False,
    )
    assert result.returncode == 0, result.stderr
    figures: dict[str, Any] = json.loads(result.stdout)
    return figures, result.stderr


def test_bench_reports_tiny_scale() -> None:
    figures, progress = _bench(
        "reports",
        "--database-url",
        DATABASE_URL,
        "--scale",
        "0.0005",
        "--stores",
        "4",
        "--runs",
        "5",
    )
    assert "bench: [7/7] sale_lines" in progress  # progress goes to stderr
    assert set(figures["queries"]) == QUERIES and set(figures["pages"]) == PAGES
    for name, query in [*figures["queries"].items(), *figures["pages"].items()]:
        assert query["runs"] == 5, name
        assert query["max_rows"] > 0, f"{name} returned no rows"
        assert 0 < query["p50_ms"] <= query["p95_ms"], name
    assert figures["page_p95_ms"] == max(q["p95_ms"] for q in figures["queries"].values())
    assert figures["queries"][figures["slowest_query"]]["p95_ms"] == figures["page_p95_ms"]
    rows = figures["rows"]
    assert rows["members"] == 500 and rows["activity"] == 2 * 5000 + 1500 + 2500
    assert rows["rollup_store_day"] > 0 and rows["segment_cells"] > 0
    assert figures["database_bytes"] > 1_000_000 and figures["target_p95_ms"] == 300


@pytest.mark.parametrize("name", ["availability", "nearby"])
def test_stock_benches_tiny_scale(name: str) -> None:
    """``o2o-hq bench availability`` (the online channels' question) and ``bench nearby`` (a
    store's downlink) on one shared set-up: 40 stores' stock of 100 GTINs."""
    figures, _ = _bench(
        name, "--database-url", DATABASE_URL, "--stores", "40", "--gtins", "100", "--requests", "8"
    )
    assert figures["stores"] == 40 and figures["stock_rows"] == 40 * 100
    assert figures["requests"] == 8
    p50, p95 = figures["p50_ms"], figures["p95_ms"]
    assert isinstance(p50, float) and isinstance(p95, float) and 0 < p50 <= p95
    if name == "nearby":
        assert isinstance(figures["entries_per_answer"], float | int)
        assert figures["not_modified_p50_ms"] is not None
