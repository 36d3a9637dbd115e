"""The chain's sold EPCs from a real ``o2o-hq`` process (PostgreSQL) to the edge: an online
order at HQ reaches the store's downlink as a sold set, saved for the next start, unchanged
sets are not downloaded again, and the edge built by the composition root loads it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from cloud_sync.client.downlink import SOLD_SET_FILE, Downlink, Resource
from cloud_sync.client.http import HqClient
from edge.alerts.sold_set import SoldSet
from edge.app.compose import EdgeOptions
from edge.bench.sync import HqProcess, fresh_database
from edge.config.loader import parse_store_config
from edge.config.sync import SyncConfig
from tests.edge_harness import running_edge

pytestmark = pytest.mark.network
ONLINE = "3074257BF7194E4000001A85"
NEVER_SOLD = "3074257BF7194E4000001A86"


@pytest.fixture(scope="module")
def hq(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[HqProcess]:
    with fresh_database(database_url, "o2o_sold_test") as url:
        log = tmp_path_factory.mktemp("hq") / "hq.log"
        with HqProcess(url, log_path=log) as process:
            yield process


def test_online_order_reaches_the_store_gate(hq: HqProcess, store_id: str, tmp_path: Path) -> None:
    store = hq.create_store(store_id)
    made = hq.admin("POST", "/api/v1/admin/staff", json={"name": "shop", "role": "channel"})
    assert made.status_code == 201, made.text
    token = made.json()["token"]
    posted = httpx.post(
        f"{hq.url}/api/v1/channel/orders",
        headers={"Authorization": f"Bearer {token}"},
        json={"order_id": "web-9", "epcs": [ONLINE]},
        timeout=30,
    )
    assert posted.status_code == 200, posted.text

    sync = {
        "enabled": True,
        "hq_url": hq.url,
        "api_key_id": store.key_id,
        "api_secret": store.secret,
    }
    got: list[SoldSet] = []
    downlink = Downlink(
        HqClient(hq.url, store.key_id, store.secret),
        store.store_id,
        tmp_path,
        SyncConfig(**sync),
        secret=store.secret,
        on_sold_set=got.append,
    )
    assert downlink.poll(Resource.SOLD_EPCS) is True
    [sold] = got
    assert ONLINE in sold and NEVER_SOLD not in sold
    assert (tmp_path / SOLD_SET_FILE).read_bytes() == sold.to_bytes()
    assert downlink.poll(Resource.SOLD_EPCS) is False  # 304: unchanged

    # A restarted edge has the set before its first poll.
    config = parse_store_config(
        {
            "store_id": store.store_id,
            "data_dir": str(tmp_path),
            "zones": [{"id": "exit", "kind": "exit"}],
            "sync": sync,
        }
    )
    with running_edge(config, EdgeOptions()) as edge:
        assert edge.owner.call(lambda core: core.alerts.is_sold(ONLINE)) is True
        assert edge.owner.call(lambda core: core.alerts.is_sold(NEVER_SOLD)) is False
