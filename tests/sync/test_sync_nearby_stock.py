"""Other stores' stock from a real ``o2o-hq`` process (PostgreSQL) to the fitting-room tablet:
a store 2.1 km away reports a size this store lacks, the edge built by the composition root
polls it over HTTP, and the tablet API says ``nearby_store`` with that store's name, until the
counts grow too old."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

import edge.events.stock  # noqa: F401  (registers stock.* for `event`)
from cloud_sync.client.downlink import STATE_FILE, Resource
from edge.api.devices import DeviceRole
from edge.app.compose import EdgeOptions
from edge.bench.sync import HqProcess, fresh_database
from edge.clock import VirtualClock
from edge.config.sync import SyncConfig
from edge.events.stock import NearbyCount, NearbyStock, NearbyStore
from edge.recommend.nearby import NearbyStock as NearbyIndex
from tests.api.conftest import NAVY_M, START_MS, Edge, auth
from tests.api.harness import demo_config
from tests.edge_harness import private_store, running_edge
from tests.hq.helpers import StoreCreds, event, post_events

pytestmark = pytest.mark.network

DEMO_CATALOG = Path(__file__).resolve().parents[2] / "firmware_configs" / "demo_catalog.json"
NAVY_L = "00614141111022"
NAVY_XL = "00614141111039"
RED_XL = "00614141111060"
ROOM = "/api/v1/rooms/fitting-1"
PART_DIEU = (45.7606, 4.8593)
BELLECOUR = (45.7578, 4.8320)  # 2.1 km from Part-Dieu


@pytest.fixture(scope="module")
def hq(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[HqProcess]:
    with fresh_database(database_url, "o2o_nearby_test") as url:
        log = tmp_path_factory.mktemp("hq") / "hq.log"
        with HqProcess(url, log_path=log) as process:
            products = json.loads(DEMO_CATALOG.read_text(encoding="utf-8"))["products"]
            response = process.admin("PUT", "/api/v1/catalog", json={"products": products})
            assert response.status_code == 204, response.text
            yield process


def _store(hq: HqProcess, store_id: str, name: str, at: tuple[float, float]) -> StoreCreds:
    response = hq.admin(
        "POST",
        "/api/v1/admin/stores",
        json={"id": store_id, "name": name, "latitude": at[0], "longitude": at[1]},
    )
    assert response.status_code == 201, response.text
    return StoreCreds(store_id, response.json()["key_id"], response.json()["secret"])


def _variants(edge: Edge, tablet: Any) -> dict[str, dict[str, Any]]:
    response = edge.client.get(ROOM, headers=auth(tablet))
    assert response.status_code == 200, response.text
    navy = next(i for i in response.json()["items"] if i["gtin"] == NAVY_M)
    return {v["gtin"]: v for v in navy["variants"]}


def test_the_tablet_names_the_nearby_store_that_has_the_size(
    hq: HqProcess, store_id: str, tmp_path: Path, mqtt_broker: tuple[str, int]
) -> None:
    home = _store(hq, store_id, "Lyon Part-Dieu", PART_DIEU)
    other = _store(hq, f"{store_id}b", "Lyon Bellecour", BELLECOUR)
    # Bellecour counts navy XL (floor), navy L (backroom) and red XL: a complete snapshot.
    levels = [
        {"gtin": NAVY_XL, "floor": 2, "backroom": 0},
        {"gtin": NAVY_L, "floor": 0, "backroom": 1},
        {"gtin": RED_XL, "floor": 1, "backroom": 0},
    ]
    snapshot = {"stream": "b1", "seq": 1, "part": 1, "parts": 1, "levels": levels}
    with httpx.Client(base_url=hq.url, timeout=30) as http:
        sent = post_events(http, other, [event(other.store_id, "stock.snapshot", snapshot)])
    assert sent.status_code == 200, sent.text

    sync = SyncConfig(
        enabled=True,
        hq_url=hq.url,
        api_key_id=home.key_id,
        api_secret=home.secret,
        nearby_stock_poll_s=1,
        nearby_stock_max_age_s=600,
    )
    config = demo_config(store_id, tmp_path / "data").model_copy(update={"sync": sync})
    clock = VirtualClock(START_MS)
    # The wall clock judges other stores' counts (HQ dates them): real time, held still here
    # so that the test can move it past their age limit.
    wall = VirtualClock(int(time.time() * 1000))
    options = EdgeOptions(clock=clock, wall_clock=wall, live_cameras=False)
    with (
        private_store(config, f"o2o-test/{store_id}") as private,
        running_edge(private.config, options) as built,
        TestClient(built.http) as client,
    ):
        edge = Edge(built, clock, client)
        tablet = edge.devices.add("tablet-1", DeviceRole.TABLET, "fitting-1")
        edge.place("011001", 1001, "fitting-1")  # sweater navy M, in the room
        edge.place("011102", 2001, "backroom")  # sweater navy L, in this store's backroom

        deadline = time.monotonic() + 20
        while _variants(edge, tablet)[NAVY_XL]["availability"] != "nearby_store":
            assert time.monotonic() < deadline, "nearby stock never reached the tablet"
            time.sleep(0.1)
        found = _variants(edge, tablet)
        xl = found[NAVY_XL]
        assert [(n["store_id"], n["name"], n["count"]) for n in xl["nearby"]] == [
            (other.store_id, "Lyon Bellecour", 2)
        ]
        assert xl["nearby"][0]["distance_km"] == pytest.approx(2.14, abs=0.05)
        as_of = datetime.fromisoformat(xl["nearby"][0]["as_of"].replace("Z", "+00:00"))
        assert abs(as_of.timestamp() * 1000 - wall.now_ms()) < 60_000
        # This store's own stock comes first; a size nobody near has is not in the store.
        assert found[NAVY_L]["availability"] == "backroom" and found[NAVY_L]["nearby"] == []
        assert found["00614141111015"]["availability"] == "not_in_store"  # navy S
        assert found[NAVY_M]["availability"] == "in_room"

        # Unchanged at HQ: the next poll is a 304, and the ETag is not kept across restarts
        # (the answer lives in memory only).
        downlink = built.sync.downlink if built.sync is not None else None
        assert downlink is not None
        assert downlink.poll(Resource.NEARBY_STOCK) is False
        saved = json.loads((config.data_dir / STATE_FILE).read_text(encoding="utf-8"))
        assert Resource.NEARBY_STOCK not in saved["etags"]

        # HQ unreachable, say: nothing newer comes, and once Bellecour's counts are older than
        # nearby_stock_max_age_s the tablet no longer sends anyone there.
        wall.set_ms(wall.now_ms() + 601_000)
        assert _variants(edge, tablet)[NAVY_XL]["availability"] == "not_in_store"
        assert _variants(edge, tablet)[NAVY_XL]["nearby"] == []


def test_old_counts_drop_out_and_the_nearest_comes_first() -> None:
    now = datetime(2026, 3, 7, 10, 0, tzinfo=UTC)
    answer = NearbyStock(
        radius_km=25,
        max_age_s=900,
        stores=[
            NearbyStore(store_id="a", name="A", distance_km=1.5, as_of=now),
            NearbyStore(store_id="b", name="B", distance_km=3.0, as_of=now),
        ],
        stock={
            NAVY_XL: [NearbyCount(store_id="b", count=4), NearbyCount(store_id="a", count=1)],
            NAVY_L: [NearbyCount(store_id="gone", count=1)],
        },
    )
    index = NearbyIndex(answer)
    now_ms = int(now.timestamp() * 1000)
    assert [o.store_id for o in index.offers(NAVY_XL, now_ms=now_ms, max_age_ms=1000)] == [
        "a",
        "b",
    ]
    assert index.offers(NAVY_XL, now_ms=now_ms + 1001, max_age_ms=1000) == ()
    assert index.offers(NAVY_L, now_ms=now_ms, max_age_ms=1000) == ()  # store not listed
    assert index.offers(RED_XL, now_ms=now_ms, max_age_ms=1000) == ()
    assert len(NearbyIndex()) == 0
