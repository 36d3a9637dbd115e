"""``POST /api/v1/sales`` through FastAPI's TestClient, on the real engine."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from fastapi.testclient import TestClient

from edge.api.app import create_app
from edge.clock import VirtualClock
from edge.events.base import Event
from edge.events.fusion import SalePayload
from edge.fusion.sales import SaleResult
from tests.fusion.fusion_store import SWEATER_NAVY_M, T0, Store, epc, kinds, store_config

TOKEN = "sales-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
SWEATER = epc(SWEATER_NAVY_M, 1)
SALE: dict[str, Any] = {
    "sale_id": "api-1",
    "till_id": "till-1",
    "total": 89.0,
    "member_id": "m-anna",
    "lines": [{"epc": SWEATER, "amount": 89.0}],
}


class Runtime:
    """What the lead wires: ``submit_sale`` runs the engine on its one owner thread."""

    def __init__(self) -> None:
        self.store = Store()
        self.clock = VirtualClock(T0)
        self._lock = threading.Lock()
        self.events: list[Event] = []

    def submit_sale(self, payload: SalePayload) -> SaleResult:
        with self._lock:
            result, events = self.store.sale(payload, self.clock.now_ms())
            self.events.extend(events)
            return result


@pytest.fixture
def runtime() -> Runtime:
    return Runtime()


@pytest.fixture
def client(runtime: Runtime) -> TestClient:
    app = create_app(store_config())
    app.state.submit_sale = runtime.submit_sale
    return TestClient(app)


def test_sale_needs_the_token(client: TestClient, runtime: Runtime) -> None:
    assert client.post("/api/v1/sales", json=SALE).status_code == 401
    wrong = client.post("/api/v1/sales", json=SALE, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    assert wrong.json() == {"detail": "Missing or invalid bearer token"}
    # Without the token nothing is looked at, not even whether the body is valid.
    assert client.post("/api/v1/sales", json={"junk": 1}).status_code == 401
    assert runtime.events == []


def test_sale_recorded_then_idempotent_then_conflict(client: TestClient, runtime: Runtime) -> None:
    first = client.post("/api/v1/sales", json=SALE, headers=AUTH)
    assert first.status_code == 201, first.text
    body = first.json()
    assert body["status"] == "recorded" and body["epcs_sold"] == [SWEATER]
    assert kinds(runtime.events) == ["sale"]

    runtime.clock.set_ms(T0 + 60_000)
    again = client.post("/api/v1/sales", json=SALE, headers=AUTH)
    assert again.status_code == 200
    assert again.json()["status"] == "duplicate"
    assert again.json()["recorded"] == body["recorded"]
    assert kinds(runtime.events) == ["sale"]  # nothing new

    changed = {**SALE, "total": 80.0, "lines": [{"epc": SWEATER, "amount": 80.0}]}
    conflict = client.post("/api/v1/sales", json=changed, headers=AUTH)
    assert conflict.status_code == 409
    assert conflict.json() == {
        "detail": "sale api-1 was already recorded with a different body; "
        "a correction needs a new sale id (or a return)"
    }
    assert kinds(runtime.events) == ["sale"]


@pytest.mark.parametrize(
    ("body", "problems"),
    [
        (
            {**SALE, "lines": [{"epc": SWEATER, "amount": 89.0}, {"amount": 10.0}], "total": 99.0},
            ["lines -> 1: a sale line needs an epc or a gtin (with quantity)"],
        ),
        (
            {**SALE, "total": 100.0},
            ["body: total 100.0 is not the sum of the line amounts (89.00)"],
        ),
        (
            {"sale_id": "x", "lines": [{"gtin": "123", "amount": 1}]},
            [
                "till_id: Field required",
                "lines -> 0 -> gtin: String should match pattern '^(\\d{8}|\\d{12,14})$'",
                "total: Field required",
            ],
        ),
    ],
    ids=["line-without-item", "total", "missing-fields"],
)
def test_bad_sale_gets_422_with_what_is_wrong(
    client: TestClient, runtime: Runtime, body: dict[str, Any], problems: list[str]
) -> None:
    response = client.post("/api/v1/sales", json=body, headers=AUTH)
    assert response.status_code == 422
    assert response.json() == {"detail": "Invalid sale: nothing was recorded", "problems": problems}
    assert runtime.events == []


def test_body_that_is_not_json(client: TestClient) -> None:
    response = client.post(
        "/api/v1/sales",
        content=b"{not json",
        headers={**AUTH, "Content-Type": "application/json"},
    )
    assert response.status_code == 422
    assert response.json()["detail"] == "Invalid sale: nothing was recorded"
    assert response.json()["problems"][0].startswith("1: JSON decode error")


def test_without_a_runtime_the_api_says_so() -> None:
    client = TestClient(create_app(store_config()))
    response = client.post("/api/v1/sales", json=SALE, headers=AUTH)
    assert response.status_code == 503
    assert response.json() == {"detail": "Sales unavailable: the store runtime is not running"}
