"""Contract test of the HQ API on PostgreSQL: Schemathesis generates requests from its OpenAPI
description (valid and invalid ones) against ``create_app`` as ``o2o-hq run`` serves it, with
every check Schemathesis has: no 5xx, every status code and response body as documented."""

from __future__ import annotations

import pytest
import schemathesis
from fastapi.testclient import TestClient
from schemathesis.config import SchemathesisConfig

from cloud_sync.hq.app import create_app
from cloud_sync.hq.core.config import Settings
from tests.contract_counts import run_contract
from tests.hq.conftest import private_schema
from tests.hq.helpers import ADMIN, make_settings

pytestmark = pytest.mark.network
EXAMPLES = 40
"""Generated requests per operation (a bounded run inside the suite)."""
# Where no schema can say what is acceptable, the positive-data check also accepts the
# documented 422: latitude and longitude come together, an order carries EPCs or lines (a
# member's order its lines), and an uploaded model must be an ONNX file.
SEMANTIC = """
[[operations]]
include-path-regex = "^/api/v1/(availability|channel/orders|models)$"
checks.positive_data_acceptance.expected-statuses = [
  "2xx", "3xx", "401", "403", "404", "409", "422", "429", "5xx",
]
"""


def test_hq_api_matches_its_openapi(database_url: str) -> None:
    # Its own schema: thousands of random writes must not meet the other tests' data.
    with private_schema(database_url) as url:
        failures = _run(make_settings(url, personal_data_retention_days=0))
    assert failures == [], "\n".join(failures)


def _run(settings: Settings) -> list[str]:
    app = create_app(settings)
    with TestClient(app):
        schema = schemathesis.openapi.from_asgi(
            "/openapi.json", app, config=SchemathesisConfig.from_str(SEMANTIC)
        )
        return run_contract(schema, "HQ API requests", EXAMPLES, ADMIN)
