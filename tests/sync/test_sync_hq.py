"""The edge side of sync against a real ``o2o-hq`` process on a fresh PostgreSQL database:
events flow, HQ crashes, a day without network, duplicates and conflicts, bad credentials,
erasure and model updates."""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
import pytest
from dict_gallery import DictGallery
from sync_events import tag_events

from cloud_sync.client.downlink import Downlink, Resource
from cloud_sync.client.http import HqClient
from cloud_sync.client.outbox import Outbox
from cloud_sync.client.status import sync_status
from cloud_sync.client.uploader import Uploader
from edge.bench.sync import (
    HqProcess,
    StoreCredentials,
    free_port,
    fresh_database,
    stored_event_ids,
)
from edge.clock import Clock, SystemClock, VirtualClock
from edge.config.sync import SyncConfig

pytestmark = pytest.mark.network

DAY_MS = 24 * 3600 * 1000


@pytest.fixture(scope="module")
def hq_database(database_url: str) -> Iterator[str]:
    with fresh_database(database_url, "o2o_sync_test") as url:
        yield url


@pytest.fixture(scope="module")
def hq(hq_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[HqProcess]:
    log = tmp_path_factory.mktemp("hq") / "hq.log"
    with HqProcess(hq_database, log_path=log) as process:
        yield process


def _config(url: str, store: StoreCredentials, **overrides: Any) -> SyncConfig:
    values: dict[str, Any] = {
        "enabled": True,
        "hq_url": url,
        "api_key_id": store.key_id,
        "api_secret": store.secret,
        "retry_base_s": 0.1,
        "retry_max_s": 0.5,
        "max_batch_age_s": 0.05,
    }
    values.update(overrides)
    return SyncConfig(**values)


def _uploader(
    outbox: Outbox,
    url: str,
    store: StoreCredentials,
    *,
    clock: Clock | None = None,
    secret: str | None = None,
    signing_clock: Clock | None = None,
    **overrides: Any,
) -> Uploader:
    config = _config(url, store, **overrides)
    client = HqClient(
        url, store.key_id, secret or store.secret, clock=signing_clock or SystemClock()
    )
    return Uploader(outbox, client, store.store_id, config, clock=clock, rng=random.Random(7))


def _wait_until(condition: Any, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _count_rows(database_url: str, store_id: str) -> tuple[int, int]:
    url = database_url.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT count(*), count(DISTINCT event_id) FROM events WHERE store_id = %s",
            (store_id,),
        ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def test_events_flow_into_postgresql(
    hq: HqProcess, hq_database: str, store_id: str, tmp_path: Path
) -> None:
    store = hq.create_store(store_id)
    events = tag_events(store_id, 1_200, sources=4)
    with Outbox(tmp_path / "outbox.db") as outbox:
        outbox.append_many(events)
        uploader = _uploader(outbox, hq.url, store)
        assert uploader.drain()
        status = sync_status(
            store_id,
            enabled=True,
            outbox=outbox,
            uploader=uploader,
            downlink=None,
            now_ms=SystemClock().now_ms(),
        )
    assert sorted(stored_event_ids(hq_database, store_id)) == sorted(e.event_id for e in events)
    assert uploader.state.delivered_events == 1_200 and uploader.state.duplicate_events == 0
    assert status.backlog_events == 0 and status.last_success is not None
    assert status.dead_letters == 0 and status.last_error is None


def test_hq_killed_mid_batch_and_restarted_loses_nothing_and_duplicates_nothing(
    hq: HqProcess, hq_database: str, store_id: str, tmp_path: Path
) -> None:
    store = hq.create_store(store_id)
    events = tag_events(store_id, 12_000, sources=5)
    own = hq.twin(log_path=tmp_path / "hq2.log")
    own.start()
    try:
        with Outbox(tmp_path / "outbox.db") as outbox:
            outbox.append_many(events)
            uploader = _uploader(outbox, own.url, store)
            uploader.start()
            try:
                _wait_until(lambda: outbox.backlog().pending < 10_500, 60, "first batches")
                own.kill()  # SIGKILL master and workers, with a batch in flight
                killed_at = outbox.backlog().pending
                _wait_until(lambda: uploader.state.consecutive_failures >= 2, 30, "failures")
                assert outbox.backlog().pending >= killed_at - 500  # nothing new delivered
                own.start()
                _wait_until(lambda: outbox.backlog().pending == 0, 90, "the drain")
            finally:
                uploader.stop()
            assert outbox.backlog().dead_letters == 0, outbox.dead_letters(3)
    finally:
        own.stop()
    assert _count_rows(hq_database, store_id) == (12_000, 12_000)
    assert set(stored_event_ids(hq_database, store_id)) == {e.event_id for e in events}
    assert uploader.state.failed_attempts >= 2
    assert "ConnectError" in (uploader.state.last_error or "")


def test_a_day_of_refused_connections_then_the_backlog_drains(
    hq: HqProcess, hq_database: str, store_id: str, tmp_path: Path
) -> None:
    """20,000 events over one virtual day (a busy store makes millions; this keeps the test
    proportionate, the 1M-event drain is in ``o2o-edge bench sync``). Until HQ listens on
    its port, every attempt is a real refused connection; backoff runs on a virtual clock,
    the signatures on the real one (HQ checks their age)."""
    store = hq.create_store(store_id)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    now_ms = SystemClock().now_ms()
    clock = VirtualClock(now_ms - DAY_MS)
    n = 20_000
    events = tag_events(store_id, n, start_ms=now_ms - DAY_MS, step_ms=DAY_MS // n, sources=6)
    with Outbox(tmp_path / "outbox.db", clock=clock) as outbox:
        uploader = _uploader(outbox, url, store, clock=clock, retry_base_s=1.0, retry_max_s=300.0)
        attempts = 0
        for hour in range(24):  # the store keeps selling; the uploader keeps trying
            outbox.append_many(events[hour * n // 24 : (hour + 1) * n // 24])
            hour_end = now_ms - DAY_MS + (hour + 1) * 3600 * 1000
            while clock.now_ms() < hour_end:
                wait_s = uploader.step()
                attempts += 1
                clock.set_ms(clock.now_ms() + max(1, int(wait_s * 1000)))
        status = sync_status(
            store_id,
            enabled=True,
            outbox=outbox,
            uploader=uploader,
            downlink=None,
            now_ms=clock.now_ms(),
        )
        assert status.backlog_events == n
        assert status.oldest_unsent_age_s is not None and status.oldest_unsent_age_s >= 23 * 3600
        assert "ConnectError" in (status.last_error or "")
        assert status.last_success is None
        # Capped backoff: ~300 s between attempts once warmed up, not a tight loop.
        assert 250 < uploader.state.failed_attempts < 700, uploader.state.failed_attempts
        with hq.twin(port=port, log_path=tmp_path / "hq3.log"):
            clock.set_ms(max(clock.now_ms(), uploader.state.next_attempt_ms))
            assert uploader.drain()
        assert outbox.backlog().pending == 0
    assert _count_rows(hq_database, store_id) == (n, n)
    stored = stored_event_ids(hq_database, store_id)
    assert set(stored) == {e.event_id for e in events}


def test_duplicates_are_delivered_and_conflicts_dead_lettered(
    hq: HqProcess, hq_database: str, store_id: str, tmp_path: Path
) -> None:
    store = hq.create_store(store_id)
    events = tag_events(store_id, 50)
    with Outbox(tmp_path / "first.db") as outbox:
        outbox.append_many(events)
        assert _uploader(outbox, hq.url, store).drain()
    # A second edge (restored from backup) re-sends 20 of them, one altered.
    altered = events[7].model_copy(
        update={"payload": events[7].payload.model_copy(update={"zone": "exit-1"})}
    )
    replay = [*events[:7], altered, *events[8:20]]
    with Outbox(tmp_path / "second.db") as outbox:
        outbox.append_many(replay)
        uploader = _uploader(outbox, hq.url, store)
        assert uploader.drain()
        dead = dict(outbox.dead_letters())
        assert outbox.backlog().pending == 0
    assert uploader.state.duplicate_events == 19
    assert list(dead) == [altered.event_id]
    assert dead[altered.event_id].startswith("conflict:")
    assert "different body" in dead[altered.event_id]
    assert _count_rows(hq_database, store_id) == (50, 50)


def test_bad_signatures_and_stale_timestamps_are_rejected(
    hq: HqProcess, hq_database: str, store_id: str, tmp_path: Path
) -> None:
    store = hq.create_store(store_id)
    with Outbox(tmp_path / "outbox.db") as outbox:
        outbox.append_many(tag_events(store_id, 5))
        forged = _uploader(outbox, hq.url, store, secret="not-the-secret")
        assert forged.step(flush=True) > 0
        assert forged.state.last_error == "HTTP 401: Bad signature"
        late = VirtualClock(SystemClock().now_ms() - 10 * 60 * 1000)  # 10 min slow clock
        stale = _uploader(outbox, hq.url, store, signing_clock=late)
        assert stale.step(flush=True) > 0
        assert stale.state.last_error == "HTTP 401: Stale timestamp"
        assert outbox.backlog().pending == 5 and outbox.backlog().dead_letters == 0
    assert _count_rows(hq_database, store_id) == (0, 0)


def _admin_ok(hq: HqProcess, method: str, path: str, **kwargs: Any) -> Any:
    response = hq.admin(method, path, **kwargs)
    assert response.status_code < 300, f"{method} {path}: {response.status_code} {response.text}"
    return response.json() if response.content else None


def _downlink(
    hq: HqProcess, store: StoreCredentials, data_dir: Path, gallery: DictGallery, **kw: Any
) -> Downlink:
    config = _config(hq.url, store)
    client = HqClient(hq.url, store.key_id, store.secret)
    return Downlink(
        client, store.store_id, data_dir, config, secret=store.secret, gallery=gallery, **kw
    )


def test_erasure_at_hq_leaves_no_embedding_on_the_edge(
    hq: HqProcess, store_id: str, tmp_data_dir: Path
) -> None:
    store = hq.create_store(store_id)
    rng = np.random.default_rng(5)
    members = []
    for name in ("Ada", "Grace"):
        member = _admin_ok(hq, "POST", "/api/v1/members", json={"name": name})
        _admin_ok(
            hq,
            "POST",
            f"/api/v1/members/{member['id']}/consents",
            json={"scope": "face_recognition", "given": True, "source": "test"},
        )
        vectors = rng.normal(size=(2, 128)).round(6).tolist()
        _admin_ok(
            hq, "POST", f"/api/v1/members/{member['id']}/embeddings", json={"embeddings": vectors}
        )
        members.append((member["id"], vectors))
    gallery = DictGallery()
    downlink = _downlink(hq, store, tmp_data_dir, gallery)
    downlink.sync_all()
    for member_id, vectors in members:
        assert np.allclose(gallery.members[member_id], vectors)
    erased_id = members[0][0]
    _admin_ok(hq, "DELETE", f"/api/v1/members/{erased_id}")
    downlink.sync_all()
    assert erased_id not in gallery.members
    assert members[1][0] in gallery.members
    assert downlink.state.erasures_seq >= 1
    # A restarted edge remembers where it was and fetches nothing new.
    again = _downlink(hq, store, tmp_data_dir, gallery)
    assert again.poll(Resource.ERASURES) is False and again.poll(Resource.GALLERY) is False


def test_catalog_reaches_the_edge(hq: HqProcess, store_id: str, tmp_data_dir: Path) -> None:
    store = hq.create_store(store_id)
    product = {
        "gtin": "04012345000019",
        "name": "Linen shirt",
        "category": "shirts",
        "size": "M",
        "colour": "blue",
        "price": 49.0,
    }
    _admin_ok(hq, "PUT", "/api/v1/catalog", json={"products": [product]})
    downlink = _downlink(hq, store, tmp_data_dir, DictGallery())
    assert downlink.poll(Resource.CATALOG)
    catalog = (tmp_data_dir / "catalog.json").read_text()
    assert "Linen shirt" in catalog and "04012345000019" in catalog
    assert downlink.poll(Resource.CATALOG) is False  # 304 Not Modified


def test_model_with_a_wrong_checksum_is_refused_and_the_old_model_kept(
    hq: HqProcess, hq_database: str, store_id: str, tmp_data_dir: Path
) -> None:
    store = hq.create_store(store_id)
    installed: list[tuple[Path, str]] = []
    downlink = _downlink(
        hq, store, tmp_data_dir, DictGallery(), on_model=lambda p, v: installed.append((p, v))
    )
    v1 = f"v1-{store_id}"
    first = b"first model " + store_id.encode() * 100
    _admin_ok(hq, "POST", f"/api/v1/models?version={v1}", content=first)
    assert downlink.poll(Resource.MODEL)
    assert downlink.model_path.read_bytes() == first
    assert installed == [(downlink.model_path, v1)]

    v2 = f"v2-{store_id}"
    second = b"second model " + store_id.encode() * 100
    _admin_ok(hq, "POST", f"/api/v1/models?version={v2}", content=second)
    # The stored bytes rot after HQ computed their checksum (disk, proxy, CDN...).
    url = hq_database.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(url) as conn:
        conn.execute(
            "UPDATE recommender_models SET data = %s WHERE version = %s",
            (second[:-1] + b"!", v2),
        )
    assert hashlib.sha256(second[:-1] + b"!").hexdigest() != hashlib.sha256(second).hexdigest()
    assert downlink.poll(Resource.MODEL) is False
    assert downlink.model_path.read_bytes() == first
    assert downlink.state.models_refused == 1
    assert f"model {v2} refused" in (downlink.state.last_error or "")
    assert len(installed) == 1
    assert [p.name for p in downlink.model_path.parent.iterdir()] == ["recommender.onnx"]
