"""A store's health reaches headquarters' console: the edge built by the composition root,
syncing to a real ``o2o-hq`` process (PostgreSQL), sends ``store.health`` (outbox backlog,
dead letters, readers and cameras offline, open alarms), and the console's overview shows it
for that store."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from cloud_sync.hq.console import accounts
from edge.app.compose import EdgeOptions
from edge.bench.sync import HqProcess, fresh_database
from edge.config.loader import parse_store_config
from edge.events.health import StoreHealth
from tests.edge_harness import running_edge
from tests.hq.console_data import PASSWORD, add_user

pytestmark = pytest.mark.network


@pytest.fixture(scope="module")
def hq(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[HqProcess]:
    with fresh_database(database_url, "o2o_health_test") as url:
        log = tmp_path_factory.mktemp("hq") / "hq.log"
        with HqProcess(url, log_path=log) as process:
            yield process


def test_the_console_shows_what_the_store_reports(
    hq: HqProcess, store_id: str, tmp_path: Path
) -> None:
    store = hq.create_store(store_id)
    config = parse_store_config(
        {
            "store_id": store.store_id,
            "data_dir": str(tmp_path),
            "zones": [{"id": "shelf", "kind": "shelf"}, {"id": "exit", "kind": "exit"}],
            # A reader whose port does not exist: it is offline from the start.
            "readers": [
                {
                    "id": "dock-1",
                    "kind": "r2000_serial",
                    "port": str(tmp_path / "no-such-tty"),
                    "antennas": {1: "shelf"},
                }
            ],
            "sync": {
                "enabled": True,
                "hq_url": hq.url,
                "api_key_id": store.key_id,
                "api_secret": store.secret,
                "max_batch_age_s": 0.1,
                "health_report_s": 1,
            },
        }
    )
    with running_edge(config, EdgeOptions(publish_events=False)) as edge:
        assert edge.health is not None
        report = edge.health.report()
        assert isinstance(report, StoreHealth)
        assert report.payload.dead_letters == 0 and report.payload.open_alarms == 0
        add_user(hq.database_url, f"ops-{store_id}", accounts.ConsoleRole.ANALYST, [])
        with httpx.Client(base_url=hq.url, timeout=30) as browser_like:
            browser_like.post(
                "/console/login",
                data={"username": f"ops-{store_id}", "password": PASSWORD},
            )
            deadline = time.monotonic() + 60
            row = ""
            while time.monotonic() < deadline:
                page = browser_like.get("/console", params={"store": store.store_id}).text
                found = re.search(
                    rf'<tr data-store="{store.store_id}">\s*(.*?)</tr>',
                    page.split('id="health"', 1)[1],
                    re.S,
                )
                row = found.group(1) if found else ""
                if "not reported" not in row and "dock-1" in row:
                    break
                time.sleep(0.5)
        assert "not reported" not in row, row
        assert "dock-1" in row  # the reader that cannot open its port, offline
        assert "min ago" in row  # the last signed request
