"""HQ's ``/healthz`` and ``/metrics`` (ingestion counters summed over workers) on a real
``o2o-hq run`` over PostgreSQL, logging JSON lines; and ``/healthz`` with the database gone."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from cloud_sync.hq.app import create_app
from tests.hq.conftest import hq_database_url
from tests.hq.helpers import (
    ADMIN,
    create_store,
    make_settings,
    post_events,
    start_hq,
    stop_hq,
    tag_event,
    wait_ready,
)

__all__ = ["hq_database_url"]  # the fixture: a private schema for this session

UNREACHABLE_DB = "postgresql+psycopg://postgres@127.0.0.1:1/test?connect_timeout=2"


def test_hq_health_metrics_and_json_logs(
    hq_database_url: str, store_id: str, tmp_path: Path
) -> None:
    log_path = tmp_path / "hq.log"
    hq = start_hq(hq_database_url, log_path, "--workers", "2", "--log-level", "info", "--log-json")
    try:
        wait_ready(hq)
        with httpx.Client(base_url=hq.base_url, timeout=30) as http:
            assert http.get("/healthz").json() == {"status": "ok", "database": "ok"}
            creds = create_store(http, store_id)
            before_s = time.time()
            events = [tag_event(store_id, n) for n in range(4)]
            for event in events:  # one batch each: the two workers share them
                stored = post_events(http, creds, [event])
                assert stored.status_code == 200, stored.text
            assert post_events(http, creds, events[:1]).status_code == 200  # a retry
            assert http.get("/metrics").status_code == 401  # HQ's metrics need a staff token
            exposition = http.get("/metrics", headers=ADMIN).text
    finally:
        stop_hq(hq)

    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
    }
    # Other tests' stores share nothing with this process: the counts are exact.
    assert samples[("o2o_hq_events_total", (("status", "stored"),))] == 4
    assert samples[("o2o_hq_events_total", (("status", "duplicate"),))] == 1
    assert samples[("o2o_hq_batch_seconds_count", ())] == 5
    last_upload_s = samples[("o2o_hq_store_last_upload_timestamp_seconds", (("store", store_id),))]
    assert before_s - 1 <= last_upload_s <= time.time()

    lines = [line for line in log_path.read_text().splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    assert {"ts", "level", "logger", "message"} <= set(records[0])
    messages = [record["message"] for record in records]
    assert any(m.startswith("database at head") for m in messages)  # the parent
    assert sum(m.startswith("Started server process") for m in messages) == 2  # each worker


def test_hq_healthz_fails_without_its_database() -> None:
    app = create_app(make_settings(UNREACHABLE_DB))
    with TestClient(app) as client:
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "failing", "database": "unreachable"}
