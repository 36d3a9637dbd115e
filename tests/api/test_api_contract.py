"""Contract test of the edge's HTTP API: Schemathesis generates requests from its OpenAPI
description (valid and invalid ones) against the edge as ``o2o-edge run`` builds it, with every
check Schemathesis has: no 5xx, every status code and response body as documented."""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
from fastapi.testclient import TestClient
from schemathesis.config import SchemathesisConfig

from edge.app.compose import EdgeOptions
from edge.clock import VirtualClock
from edge.vision.gallery_file import generate_key
from tests.api.conftest import ADMIN_TOKEN, START_MS
from tests.api.harness import demo_config
from tests.contract_counts import run_contract
from tests.edge_harness import private_store, running_edge

pytestmark = pytest.mark.network
# Where no schema can say what is acceptable, the positive-data check also accepts the
# documented 400 and 422: a pairing code must be one a manager made (and not expired), an
# uploaded photo must hold a usable face, and a sale's total must be the sum of its lines.
SEMANTIC = """
[[operations]]
include-path-regex = "^/api/v1/(devices/pair|members/identify|members/[^/]+/faces|sales)$"
checks.positive_data_acceptance.expected-statuses = [
  "2xx", "3xx", "400", "401", "403", "404", "409", "422", "429", "5xx",
]
"""
EXAMPLES = 60
"""Generated requests per operation (a bounded run inside the suite)."""


def test_edge_api_matches_its_openapi(
    tmp_path: Path, mqtt_broker: tuple[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("O2O_GALLERY_KEY", generate_key())
    store_id = "contract-edge"
    config = demo_config(store_id, tmp_path / "data", admin_token=ADMIN_TOKEN)
    clock = VirtualClock(START_MS)
    options = EdgeOptions(clock=clock, wall_clock=clock, live_cameras=False)
    with (
        private_store(config, f"o2o-test/{store_id}") as private,
        running_edge(private.config, options) as built,
        TestClient(built.http),
    ):
        schema = schemathesis.openapi.from_asgi(
            "/openapi.json", built.http, config=SchemathesisConfig.from_str(SEMANTIC)
        )
        failures = run_contract(
            schema, "edge API requests", EXAMPLES, {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        )
    assert failures == [], "\n".join(failures)
