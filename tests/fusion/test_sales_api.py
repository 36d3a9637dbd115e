"""``POST /api/v1/sales`` on the edge as ``o2o-edge run`` builds it (its API in a TestClient):
the sale reaches the store's owner loop and its events; tokens by role."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from edge.api.devices import DeviceRole
from edge.app.compose import Edge
from edge.clock import VirtualClock
from tests.fusion.fusion_store import SWEATER_NAVY_M, T0, epc, kinds
from tests.fusion.live_edge import Collector, live_edge

pytestmark = pytest.mark.network

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
    def __init__(self, edge: Edge, clock: VirtualClock, collector: Collector) -> None:
        self.edge = edge
        self.clock = clock
        self._collector = collector

    @property
    def events(self) -> list[Any]:
        self.edge.owner.sync()
        return [e for e in self._collector.snapshot() if not e.type.startswith("tag.")]


@pytest.fixture
def runtime(store_id: str, tmp_path: Path, mqtt_broker: tuple[str, int]) -> Iterator[Runtime]:
    with live_edge(store_id, tmp_path) as (edge, clock, collector):
        yield Runtime(edge, clock, collector)


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(runtime.edge.http) as client:
        yield client


def test_sale_needs_the_token(client: TestClient, runtime: Runtime) -> None:
    assert client.post("/api/v1/sales", json=SALE).status_code == 401
    wrong = client.post("/api/v1/sales", json=SALE, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    assert wrong.json() == {"detail": "Invalid token"}
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
        (
            {**SALE, "lines": [{"epc": SWEATER, "amount": 1e308}], "total": 1e308},
            [
                "lines -> 0 -> amount: Input should be less than or equal to 10000000",
                "total: Input should be less than or equal to 100000000",
            ],
        ),
        (
            {**SALE, "lines": [{"gtin": "00614141110018", "quantity": 2**40, "amount": 1.0}]},
            ["lines -> 0 -> quantity: Input should be less than or equal to 10000"],
        ),
        (
            {**SALE, "till_id": "till\u0000-1", "sale_id": "S\u0000"},
            [
                "sale_id: control character '\\x00' not allowed",
                "till_id: control character '\\x00' not allowed",
            ],
        ),
    ],
    ids=["line-without-item", "total", "missing-fields", "huge-amounts", "huge-quantity", "nul"],
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


def test_tills_and_staff_record_sales_tablets_do_not(client: TestClient, runtime: Runtime) -> None:
    devices = runtime.edge.devices
    till = devices.add("till-1", DeviceRole.TILL).token
    staff = devices.add("maria", DeviceRole.STAFF).token
    tablet = devices.add("tablet-1", DeviceRole.TABLET, "fitting-1").token

    def post(token: str, sale_id: str) -> Any:
        return client.post(
            "/api/v1/sales",
            json={**SALE, "sale_id": sale_id},
            headers={"Authorization": f"Bearer {token}"},
        )

    assert post(till, "till-sale").status_code == 201
    assert post(staff, "staff-sale").status_code == 201
    refused = post(tablet, "tablet-sale")
    assert refused.status_code == 403
    assert refused.json() == {"detail": "Till, staff or admin token required"}
    assert [e.payload.sale_id for e in runtime.events if e.type == "sale"] == [
        "till-sale",
        "staff-sale",
    ]
    # A till reaches sales only.
    response = client.get("/api/v1/alerts", headers={"Authorization": f"Bearer {till}"})
    assert response.status_code == 403


def _refused(client: TestClient, where: str, reason: str) -> float:
    text = client.get("/metrics").text
    line = f'o2o_rejected_total{{reason="{reason}",source="http",where="{where}"}} '
    found = [row for row in text.splitlines() if row.startswith(line)]
    return float(found[0].removeprefix(line)) if found else 0.0


def test_refused_sales_are_counted_in_metrics(client: TestClient) -> None:
    assert _refused(client, "/api/v1/sales", "422") == 0
    bad = {**SALE, "total": 1e308}
    for _ in range(3):
        assert client.post("/api/v1/sales", json=bad, headers=AUTH).status_code == 422
    assert client.post("/api/v1/sales", json=SALE).status_code == 401
    assert client.post("/api/v1/sales", json=SALE, headers=AUTH).status_code == 201
    assert _refused(client, "/api/v1/sales", "422") == 3
    assert _refused(client, "/api/v1/sales", "401") == 1
