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
    assert posted.json() == {"order_id": "web-1", "epcs": 2, "recorded": False}
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


def closed_alarm(
    store: str, exit_zone: str, outcome: str, items: list[tuple[str, str, float]], ts_ms: int
) -> Any:
    raised = event(store, "alert.raised", _alert(exit_zone, items[0][0], ts_ms), ts_ms)
    payload = {
        "alarm_id": raised["event_id"],
        "exit": exit_zone,
        "state": "off",
        "items": [{"epc": e, "gtin": g, "name": "Sweater", "price": p} for e, g, p in items],
        "total_value": round(sum(p for _, _, p in items), 2),
        "reason": "closed",
        "outcome": outcome,
        "staff_id": "s-1",
    }
    return event(store, "gate.alarm", payload, ts_ms + 90_000)


def _alert(exit_zone: str, epc: str, ts_ms: int) -> dict[str, Any]:
    created = datetime.fromtimestamp(ts_ms / 1000, tz=UTC).isoformat()
    return {
        "alert_id": "x",
        "kind": "exit_unsold",
        "severity": "critical",
        "zone": exit_zone,
        "subject": epc,
        "text": "Item at exit unsold",
        "created": created,
    }


def test_shrink_by_product_store_hour_and_false_alarm_rate_per_gate(
    client: TestClient, store_id: str
) -> None:
    creds = create_store(client, store_id)
    a, b, c, d = epcs(4)
    hour = datetime(2026, 3, 7, 14, 5, tzinfo=UTC)
    t = int(hour.timestamp() * 1000)
    sweater, chino = "00614141110018", "00614141130016"
    alarms = [
        closed_alarm(creds.store_id, "exit", "lost", [(a, sweater, 89.0), (b, chino, 59.0)], t),
        closed_alarm(creds.store_id, "exit", "recovered", [(c, sweater, 89.0)], t + 60_000),
        closed_alarm(creds.store_id, "exit", "false_alarm", [(d, chino, 59.0)], t + 3_600_000),
        closed_alarm(creds.store_id, "back-door", "lost", [(d, chino, 59.0)], t + 7_200_000),
    ]
    assert post_events(client, creds, alarms).is_success
    query = {"store_id": creds.store_id}
    rows = client.get("/api/v1/reports/shrink", headers=ADMIN, params=query).json()["rows"]
    assert rows == [
        {"store_id": creds.store_id, "day": "2026-03-07", "hour": 14, "gtin": sweater,
         "lost": 1, "lost_value": 89.0, "recovered": 1},
        {"store_id": creds.store_id, "day": "2026-03-07", "hour": 14, "gtin": chino,
         "lost": 1, "lost_value": 59.0, "recovered": 0},
        {"store_id": creds.store_id, "day": "2026-03-07", "hour": 16, "gtin": chino,
         "lost": 1, "lost_value": 59.0, "recovered": 0},
    ]  # fmt: skip
    rates = client.get("/api/v1/reports/gate-false-alarms", headers=ADMIN, params=query)
    assert rates.json()["rows"] == [
        {"store_id": creds.store_id, "exit": "back-door", "alarms": 1, "false_alarms": 0,
         "false_alarm_rate": 0.0},
        {"store_id": creds.store_id, "exit": "exit", "alarms": 3, "false_alarms": 1,
         "false_alarm_rate": 0.3333},
    ]  # fmt: skip
    csv = client.get("/api/v1/reports/shrink", headers=ADMIN, params={**query, "format": "csv"})
    assert csv.text.splitlines()[0] == "store_id,day,hour,gtin,lost,lost_value,recovered"
