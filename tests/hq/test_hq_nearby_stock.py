"""The nearby-stock downlink: for the asking store, which other stores near it have units of
each catalog GTIN (real PostgreSQL, and SQLite as the demo runs it; stores at real
coordinates around Lyon and Sydney)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from cloud_sync.hq.app import create_app
from cloud_sync.hq.core.db import upgrade
from edge.events.stock import NearbyStock
from tests.hq.helpers import ADMIN, StoreCreds, create_store, make_settings, signed_get
from tests.hq.test_hq_stock import changed, level, send, snapshot

pytestmark = pytest.mark.network

COAT_S = "00614141777019"
COAT_M = "00614141777026"
COAT_L = "00614141777033"
NOT_IN_CATALOG = "00614141777040"

# (id suffix, latitude, longitude): Part-Dieu asks; the km are from there.
PART_DIEU = ("pd", 45.7606, 4.8593)
BELLECOUR = ("bc", 45.7578, 4.8320)  # 2.1 km
VILLEURBANNE = ("vl", 45.7719, 4.8902)  # 2.7 km
CALUIRE = ("cl", 45.7950, 4.8470)  # 3.9 km
BRON = ("br", 45.7386, 4.9130)  # 4.9 km
ECULLY = ("ec", 45.7745, 4.7775)  # 6.5 km: HQ missed a change, counts incomplete
SAINT_PRIEST = ("sp", 45.6959, 4.9437)  # 9.8 km: last report an hour ago
VIENNE = ("vi", 45.5255, 4.8747)  # 26 km: outside the 25 km radius


@pytest.fixture(params=["postgresql", "sqlite"])
def hq(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TestClient]:
    """HQ with the coats in its catalog: on PostgreSQL (the session's database, shared with
    the other tests: hence stores far from theirs) and on SQLite (the demo's)."""
    if request.param == "postgresql":
        client: TestClient = request.getfixturevalue("client")
        _coats(client)
        yield client
        return
    url = f"sqlite:///{tmp_path / 'hq.sqlite3'}"
    upgrade(url)
    with TestClient(create_app(make_settings(url))) as client:
        _coats(client)
        yield client


def _coats(client: TestClient) -> None:
    products = [
        {"gtin": g, "name": "Wool coat", "category": "outerwear", "size": s, "colour": "navy"}
        | {"price": 249.0}
        for g, s in ((COAT_S, "S"), (COAT_M, "M"), (COAT_L, "L"))
    ]
    response = client.put("/api/v1/catalog", headers=ADMIN, json={"products": products})
    assert response.status_code == 204, response.text


def nearby(client: TestClient, store: StoreCreds, **headers: str) -> Any:
    return signed_get(client, store, f"/api/v1/stores/{store.store_id}/nearby-stock", **headers)


def test_nearest_fresh_complete_stores_within_the_radius(hq: TestClient, store_id: str) -> None:
    client = hq
    made = {
        place[0]: create_store(client, f"{store_id}{place[0]}", lat=place[1], lon=place[2])
        for place in (
            PART_DIEU,
            BELLECOUR,
            VILLEURBANNE,
            CALUIRE,
            BRON,
            ECULLY,
            SAINT_PRIEST,
            VIENNE,
        )
    }
    home = made["pd"]
    send(client, home, snapshot(home, "h", 1, [level(COAT_M, 2)]))
    # Bellecour: M on the floor, L in the backroom; Villeurbanne: L; Caluire: none of M left.
    send(client, made["bc"], snapshot(made["bc"], "a", 1, [level(COAT_M, 1), level(COAT_L, 0, 2)]))
    send(client, made["vl"], snapshot(made["vl"], "a", 1, [level(COAT_L, 3)]))
    send(client, made["cl"], snapshot(made["cl"], "a", 1, [level(COAT_M, 0), level(COAT_L, 1)]))
    send(client, made["br"], snapshot(made["br"], "a", 1, [level(COAT_L, 5), level(COAT_S, 1)]))
    ecully = made["ec"]
    send(client, ecully, snapshot(ecully, "a", 1, [level(COAT_S, 4)]))
    send(client, ecully, changed(ecully, "a", 3, [level(COAT_S, 3)]))  # seq 2 never came
    hour_ago_ms = int((time.time() - 3600) * 1000)
    send(client, made["sp"], snapshot(made["sp"], "a", 1, [level(COAT_S, 6)], ts_ms=hour_ago_ms))
    send(client, made["vi"], snapshot(made["vi"], "a", 1, [level(COAT_S, 7), level(COAT_M, 7)]))
    # Counts of a GTIN the catalog does not carry are not sent to tablets.
    send(client, made["bc"], changed(made["bc"], "a", 2, [level(NOT_IN_CATALOG, 9)]))

    response = nearby(client, home)
    assert response.status_code == 200, response.text
    body = response.json()
    NearbyStock.model_validate(body)  # the wire model the edge reads it with
    assert body["radius_km"] == 25.0 and body["max_age_s"] == 900.0
    stores = {s["store_id"]: s for s in body["stores"]}
    # Only fresh, complete, active stores within 25 km, never the asking store, nearest first.
    assert list(stores) == [made[k].store_id for k in ("bc", "vl", "cl", "br")]
    assert stores[made["bc"].store_id]["name"] == f"Store {made['bc'].store_id}"
    assert stores[made["bc"].store_id]["distance_km"] == pytest.approx(2.14, abs=0.05)
    assert stores[made["br"].store_id]["distance_km"] == pytest.approx(4.9, abs=0.2)
    as_of = datetime.fromisoformat(stores[made["bc"].store_id]["as_of"].replace("Z", "+00:00"))
    assert abs((datetime.now(UTC) - as_of).total_seconds()) < 60

    def at(gtin: str) -> list[tuple[str, int]]:
        return [(c["store_id"], c["count"]) for c in body["stock"].get(gtin, [])]

    # L is at four stores: the nearest three are listed, with floor + backroom counts.
    assert at(COAT_L) == [
        (made["bc"].store_id, 2),
        (made["vl"].store_id, 3),
        (made["cl"].store_id, 1),
    ]
    assert at(COAT_M) == [(made["bc"].store_id, 1)]  # Caluire has 0, Vienne is too far
    assert at(COAT_S) == [(made["br"].store_id, 1)]  # Ecully incomplete, Saint-Priest stale
    assert NOT_IN_CATALOG not in body["stock"]

    # Unchanged -> 304 with the same ETag; a change at a nearby store -> a new answer.
    etag = response.headers["ETag"]
    again = nearby(client, home, **{"If-None-Match": etag})
    assert again.status_code == 304 and again.headers["ETag"] == etag
    send(client, made["vl"], changed(made["vl"], "a", 2, [level(COAT_M, 1)]))
    moved = nearby(client, home, **{"If-None-Match": etag})
    assert moved.status_code == 200 and moved.headers["ETag"] != etag
    assert [c["store_id"] for c in moved.json()["stock"][COAT_M]] == [
        made["bc"].store_id,
        made["vl"].store_id,
    ]

    # A store closed by HQ is no longer offered.
    closed = client.patch(
        f"/api/v1/admin/stores/{made['bc'].store_id}", headers=ADMIN, json={"active": False}
    )
    assert closed.status_code == 200, closed.text
    body = nearby(client, home).json()
    assert made["bc"].store_id not in {s["store_id"] for s in body["stores"]}
    assert [c["store_id"] for c in body["stock"][COAT_M]] == [made["vl"].store_id]


def test_only_the_store_itself_may_ask(client: TestClient, store_id: str) -> None:
    mine = create_store(client, f"{store_id}m", lat=45.76, lon=4.86)
    other = create_store(client, f"{store_id}o", lat=45.76, lon=4.86)
    path = f"/api/v1/stores/{other.store_id}/nearby-stock"
    assert client.get(path).status_code == 401
    assert signed_get(client, mine, path).status_code == 403


def test_a_large_answer_is_gzipped_for_a_store_that_accepts_it(
    hq: TestClient, store_id: str
) -> None:
    client = hq
    socks = [f"0061414188{n:03d}0" for n in range(60)]  # (GTIN-14 shape; no check digit asked)
    products = [
        {"gtin": g, "name": "Sock", "category": "socks", "size": str(n), "colour": "black"}
        | {"price": 9.0}
        for n, g in enumerate(socks)
    ]
    response = client.put("/api/v1/catalog", headers=ADMIN, json={"products": products})
    assert response.status_code == 204, response.text
    home = create_store(client, f"{store_id}h", lat=-33.8688, lon=151.2093)  # Sydney CBD
    other = create_store(client, f"{store_id}n", lat=-33.8915, lon=151.2767)  # Bondi, 6.8 km
    send(client, other, snapshot(other, "a", 1, [level(g, 1) for g in socks]))
    zipped = nearby(client, home)
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert zipped.num_bytes_downloaded * 4 < len(zipped.content)
    assert sorted(zipped.json()["stock"]) == sorted(socks)
    plain = nearby(client, home, **{"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in plain.headers and plain.json() == zipped.json()
    assert plain.headers["ETag"] == zipped.headers["ETag"]
