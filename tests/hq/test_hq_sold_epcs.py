"""Sold EPCs at HQ (real PostgreSQL): store sales and online orders make EPCs sold chain-wide,
returns unsold, the newest news wins; each store downloads the set its exit gate consults."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from edge.alerts.sold_set import SoldSet
from tests.hq.helpers import ADMIN, create_store, event, post_events, signed_get

# SGTIN-96 EPCs of GTIN 80614141123458 with serials chosen per test run.
BASE = 0x3074257BF7194E4000000000


def epcs(n: int) -> list[str]:
    start = uuid.uuid4().int % (1 << 30) << 6
    return [f"{BASE + start + k:024X}" for k in range(n)]


@pytest.fixture(scope="module")
def channel(client: TestClient) -> dict[str, str]:
    made = client.post(
        "/api/v1/admin/staff", headers=ADMIN, json={"name": "web shop gate", "role": "channel"}
    )
    assert made.status_code == 201, made.text
    return {"Authorization": f"Bearer {made.json()['token']}"}


def sale(store: str, sale_id: str, lines: list[str], ts_ms: int, returned: bool = False) -> Any:
    payload: dict[str, Any] = {
        "sale_id": sale_id,
        "till_id": "till-1",
        "lines": [{"epc": e, "gtin": "80614141123458", "amount": 59.9} for e in lines],
        "total": round(59.9 * len(lines), 2),
        "currency": "EUR",
        "returned": returned,
    }
    return event(store, "sale", payload, ts_ms)


def sold_set(client: TestClient, creds: Any) -> SoldSet:
    response = signed_get(client, creds, f"/api/v1/stores/{creds.store_id}/sold-epcs")
    assert response.status_code == 200, response.text
    return SoldSet.from_bytes(response.content)


def test_sales_elsewhere_and_online_orders_reach_every_store(
    client: TestClient, channel: dict[str, str], store_id: str
) -> None:
    a = create_store(client, f"{store_id}-a")
    b = create_store(client, f"{store_id}-b")
    in_store, online, returned = epcs(2), epcs(2), epcs(1)
    now_ms = int(time.time() * 1000)
    assert post_events(client, a, [sale(a.store_id, "s-1", in_store + returned, now_ms)]).is_success
    order = {"order_id": "web-1", "epcs": online}
    posted = client.post("/api/v1/channel/orders", headers=channel, json=order)
    assert posted.status_code == 200, posted.text
    assert posted.json() == {"order_id": "web-1", "epcs": 2}
    # The shopper brings one item back to store A: unsold again.
    back = sale(a.store_id, "s-2", returned, now_ms + 1000, returned=True)
    assert post_events(client, a, [back]).is_success

    at_b = sold_set(client, b)
    assert all(e in at_b for e in in_store + online)
    assert returned[0] not in at_b
    assert at_b.version > 0


def test_newest_news_wins_and_etag_changes_with_the_set(
    client: TestClient, channel: dict[str, str], store_id: str
) -> None:
    creds = create_store(client, store_id)
    [epc] = epcs(1)
    now = datetime.now(UTC)
    late_return = {"order_id": "web-2r", "epcs": [epc], "returned": True, "ts": now.isoformat()}
    assert client.post("/api/v1/channel/orders", headers=channel, json=late_return).is_success
    # The order itself arrives after its return: older news, nothing changes.
    earlier = {"order_id": "web-2", "epcs": [epc], "ts": (now - timedelta(hours=1)).isoformat()}
    got = client.post("/api/v1/channel/orders", headers=channel, json=earlier)
    assert got.json()["epcs"] == 0
    path = f"/api/v1/stores/{creds.store_id}/sold-epcs"
    first = signed_get(client, creds, path)
    assert epc not in SoldSet.from_bytes(first.content)
    unchanged = signed_get(client, creds, path, **{"If-None-Match": first.headers["ETag"]})
    assert unchanged.status_code == 304
    again = {"order_id": "web-3", "epcs": [epc]}
    assert client.post("/api/v1/channel/orders", headers=channel, json=again).is_success
    changed = signed_get(client, creds, path, **{"If-None-Match": first.headers["ETag"]})
    assert changed.status_code == 200 and epc in SoldSet.from_bytes(changed.content)


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"order_id": "x", "epcs": []}, 422),
        ({"order_id": "x", "epcs": ["not-hex"]}, 422),
        ({"order_id": "", "epcs": ["3074257BF7194E4000001A85"]}, 422),
        ({"order_id": "x", "epcs": ["3074257BF7194E4000001A85"], "extra": 1}, 422),
    ],
    ids=["no-epcs", "bad-epc", "empty-id", "unknown-key"],
)
def test_bad_orders_are_refused(
    client: TestClient, channel: dict[str, str], body: dict[str, Any], status: int
) -> None:
    assert client.post("/api/v1/channel/orders", headers=channel, json=body).status_code == status


def test_orders_need_a_channel_or_admin_token(client: TestClient) -> None:
    body = {"order_id": "x", "epcs": ["3074257BF7194E4000001A85"]}
    assert client.post("/api/v1/channel/orders", json=body).status_code == 401
