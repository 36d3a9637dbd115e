"""A whole store per test: its own PostgreSQL database and ``o2o-hq``, its own Mosquitto, the
real ``o2o-edge run`` process, and the test's reader/watcher client. Everything is torn down
(and its log shown on failure) by the fixtures."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from resilience_rig import EdgeProcess, Mosquitto, Store, StoreWatcher, store_config

from edge.bench.sync import HqProcess, fresh_database


def _store(
    database_url: str, store_id: str, tmp_path: Path, *, persistence: bool
) -> Iterator[Store]:
    with fresh_database(database_url, "o2o_resilience") as hq_database:
        hq = HqProcess(hq_database, log_path=tmp_path / "hq.log")
        broker = Mosquitto(tmp_path / "mosquitto", persistence=persistence)
        edge: EdgeProcess | None = None
        watcher: StoreWatcher | None = None
        try:
            hq.start()
            credentials = hq.create_store(store_id)
            broker.start()
            reader_topic = f"zebra/{store_id}/data"
            config_path = store_config(
                tmp_path / "store.yaml", credentials, broker.port, hq.url, reader_topic
            )
            watcher = StoreWatcher(broker.port, store_id, reader_topic)
            watcher.wait_connected()
            edge = EdgeProcess(config_path, credentials.secret)
            yield Store(hq, hq_database, credentials, broker, edge, watcher, config_path)
        finally:
            if edge is not None:
                edge.stop()
                print(f"--- edge log (tail) ---\n{edge.log()}")
            if watcher is not None:
                watcher.close()
            broker.stop()
            hq.stop()


@pytest.fixture
def store(database_url: str, store_id: str, tmp_path: Path) -> Iterator[Store]:
    yield from _store(database_url, store_id, tmp_path, persistence=False)


@pytest.fixture
def persistent_store(database_url: str, store_id: str, tmp_path: Path) -> Iterator[Store]:
    """The broker keeps its state on disk (``persistence true``), as a production one does."""
    yield from _store(database_url, store_id, tmp_path, persistence=True)
