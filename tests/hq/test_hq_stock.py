"""Store stock at HQ: the stock.* stream applied in order, gaps detected and a snapshot
requested, and the availability API for online channels (real PostgreSQL)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from fastapi.testclient import TestClient

import edge.events.stock  # noqa: F401  (registers stock.* for `event`)
from tests.hq.helpers import ADMIN, StoreCreds, create_store, event, post_events, signed_get

pytestmark = pytest.mark.network

JACKET_M = "00614141999012"
JACKET_L = "00614141999029"
JACKET_RED_M = "00614141999036"


@pytest.fixture(scope="module")
def catalog(client: TestClient) -> None:
    products = [
        {
            "gtin": JACKET_M,
            "name": "Field jacket",
            "category": "outerwear",
            "size": "M",
            "colour": "olive",
            "price": 129.0,
        },
        {
            "gtin": JACKET_L,
            "name": "Field jacket",
            "category": "outerwear",
            "size": "L",
            "colour": "olive",
            "price": 129.0,
        },
        {
            "gtin": JACKET_RED_M,
            "name": "Field jacket",
            "category": "outerwear",
            "size": "M",
            "colour": "red",
            "price": 129.0,
        },
    ]
    response = client.put("/api/v1/catalog", headers=ADMIN, json={"products": products})
    assert response.status_code == 204, response.text


@pytest.fixture(scope="module")
def channel(client: TestClient) -> dict[str, str]:
    made = client.post(
        "/api/v1/admin/staff", headers=ADMIN, json={"name": "web shop", "role": "channel"}
    )
    assert made.status_code == 201, made.text
    return {"Authorization": f"Bearer {made.json()['token']}"}


def level(gtin: str, floor: int, backroom: int = 0) -> dict[str, Any]:
    return {"gtin": gtin, "floor": floor, "backroom": backroom}


def snapshot(
    store: StoreCreds,
    stream: str,
    seq: int,
    levels: list[dict[str, Any]],
    part: int = 1,
    parts: int = 1,
    ts_ms: int | None = None,
) -> dict[str, Any]:
    payload = {"stream": stream, "seq": seq, "part": part, "parts": parts, "levels": levels}
    return event(store.store_id, "stock.snapshot", payload, ts_ms)


def changed(
    store: StoreCreds, stream: str, seq: int, levels: list[dict[str, Any]], ts_ms: int | None = None
) -> dict[str, Any]:
    return event(
        store.store_id, "stock.changed", {"stream": stream, "seq": seq, "levels": levels}, ts_ms
    )


def send(client: TestClient, store: StoreCreds, *events: dict[str, Any]) -> None:
    response = post_events(client, store, list(events))
    assert response.status_code == 200, response.text
    assert {r["status"] for r in response.json()["results"]} == {"stored"}, response.text


def near(client: TestClient, headers: dict[str, str], **query: Any) -> dict[str, Any]:
    # Other tests' stores share the database: ask for all of them.
    response = client.get("/api/v1/availability", headers=headers, params={"limit": 500} | query)
    assert response.status_code == 200, response.text
    return response.json()


def stores_of(body: dict[str, Any], *ids: str) -> dict[str, dict[str, Any]]:
    return {s["store_id"]: s for s in body["stores"] if s["store_id"] in ids}


def requests_of(client: TestClient, store: StoreCreds) -> int:
    path = f"/api/v1/stores/{store.store_id}/stock/requests"
    response = signed_get(client, store, path)
    assert response.status_code == 200, response.text
    return int(response.json()["snapshot_requests"])


def test_counts_follow_the_stream_and_a_gap_asks_for_a_snapshot(
    client: TestClient, catalog: None, channel: dict[str, str], store_id: str
) -> None:
    # Two stores a few km apart in a city of their own (no other test's stores nearby).
    a = create_store(client, f"{store_id}a", lat=-41.2865, lon=174.7762)
    b = create_store(client, f"{store_id}b", lat=-41.3000, lon=174.7800)
    send(
        client,
        a,
        snapshot(a, "s1", 1, [level(JACKET_M, 3, 2)], 1, 2),
        snapshot(a, "s1", 2, [level(JACKET_L, 1)], 2, 2),
    )
    send(client, b, snapshot(b, "s9", 1, [level(JACKET_L, 4)]))
    found = stores_of(
        near(client, channel, gtin=JACKET_M, lat=-41.29, lon=174.78, radius_km=10),
        a.store_id,
        b.store_id,
    )
    assert found[a.store_id] | {"as_of": None, "age_s": None, "distance_km": None} == {
        "store_id": a.store_id,
        "name": f"Store {a.store_id}",
        "distance_km": None,
        "floor": 3,
        "backroom": 2,
        "as_of": None,
        "age_s": None,
        "status": "in_stock",
        "in_stock": True,
    }
    assert found[b.store_id]["status"] == "out_of_stock" and found[b.store_id]["floor"] == 0
    ordered = [
        s["store_id"]
        for s in near(client, channel, gtin=JACKET_M, lat=-41.2865, lon=174.7762, radius_km=10)[
            "stores"
        ]
    ]
    assert ordered.index(a.store_id) < ordered.index(b.store_id)  # nearest first

    # The size's sibling: M asked, L wanted.
    body = near(client, channel, gtin=JACKET_M, size="L", lat=-41.29, lon=174.78, radius_km=10)
    assert body["gtin"] == JACKET_L
    assert stores_of(body, b.store_id)[b.store_id]["floor"] == 4

    # The next change applies; a change after a missing one marks the counts unknown and
    # asks the store for a snapshot, which makes them whole again.
    assert requests_of(client, a) == 0
    send(client, a, changed(a, "s1", 3, [level(JACKET_M, 0, 1)]))
    assert stores_of(near(client, channel, gtin=JACKET_M), a.store_id)[a.store_id]["backroom"] == 1
    send(client, a, changed(a, "s1", 5, [level(JACKET_M, 0, 0)]))
    unknown = stores_of(near(client, channel, gtin=JACKET_M), a.store_id)[a.store_id]
    assert unknown["status"] == "unknown" and unknown["in_stock"] is False
    assert unknown["floor"] is None
    assert requests_of(client, a) == 1
    send(client, a, changed(a, "s1", 7, [level(JACKET_M, 1, 0)]))  # still awaiting: no new ask
    assert requests_of(client, a) == 1
    send(client, a, snapshot(a, "s1", 8, [level(JACKET_M, 5, 0)]))
    whole = stores_of(near(client, channel, gtin=JACKET_L), a.store_id)[a.store_id]
    assert whole["status"] == "out_of_stock"  # L was in the old counts, not in the snapshot
    assert stores_of(near(client, channel, gtin=JACKET_M), a.store_id)[a.store_id]["floor"] == 5

    # A restarted edge opens a new stream with a snapshot; a re-sent old message changes nothing.
    send(client, a, snapshot(a, "s2", 1, [level(JACKET_M, 2, 0)]))
    earlier_ms = int(time.time() * 1000) - 60_000  # sent before the restart, arriving late
    send(client, a, changed(a, "s1", 9, [level(JACKET_M, 9, 9)], ts_ms=earlier_ms))
    assert stores_of(near(client, channel, gtin=JACKET_M), a.store_id)[a.store_id]["floor"] == 2
    assert requests_of(client, a) == 1


def test_late_counts_are_never_in_stock(
    client: TestClient, catalog: None, channel: dict[str, str], store_id: str
) -> None:
    store = create_store(client, store_id, lat=64.1466, lon=-21.9426)
    old_ms = int((time.time() - 3600) * 1000)  # older than stock_max_age_s (900 s)
    send(client, store, snapshot(store, "s1", 1, [level(JACKET_RED_M, 4)], ts_ms=old_ms))
    found = stores_of(near(client, channel, gtin=JACKET_RED_M), store.store_id)[store.store_id]
    assert found["status"] == "stale" and found["in_stock"] is False
    assert found["floor"] == 4 and found["age_s"] >= 3500


def test_availability_is_for_channels_and_refuses_what_it_cannot_answer(
    client: TestClient, catalog: None, channel: dict[str, str]
) -> None:
    analyst = client.post(
        "/api/v1/admin/staff", headers=ADMIN, json={"name": "ann", "role": "analyst"}
    )
    analyst_headers = {"Authorization": f"Bearer {analyst.json()['token']}"}
    assert client.get("/api/v1/availability", params={"gtin": JACKET_M}).status_code == 401
    assert (
        client.get(
            "/api/v1/availability", headers=analyst_headers, params={"gtin": JACKET_M}
        ).status_code
        == 403
    )
    # A channel's token reaches availability only, not the reports.
    assert client.get("/api/v1/reports/revenue", headers=channel).status_code == 403
    unknown = client.get("/api/v1/availability", headers=channel, params={"gtin": "00000000000017"})
    assert unknown.status_code == 404 and "not in the catalog" in unknown.json()["detail"]
    no_size = client.get(
        "/api/v1/availability", headers=channel, params={"gtin": JACKET_M, "size": "XXL"}
    )
    assert no_size.status_code == 404 and "no size 'XXL'" in no_size.json()["detail"]
    for bad in (
        {"gtin": "123"},
        {"gtin": JACKET_M, "lat": 91, "lon": 0},
        {"gtin": JACKET_M, "lat": 1},
    ):
        assert client.get("/api/v1/availability", headers=channel, params=bad).status_code == 422
