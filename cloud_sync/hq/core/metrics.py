"""Prometheus counters of what HQ accepted and refused (bad input is counted, not only logged).

With several uvicorn workers, ``o2o-hq run`` points ``PROMETHEUS_MULTIPROC_DIR`` at a fresh
directory so that ``/metrics`` sums every worker's counters.
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

EVENTS = Counter("o2o_hq_events", "Uploaded events by result", ["status"])
REFUSED = Counter("o2o_hq_store_requests_refused", "Store requests refused, by reason", ["reason"])
HTTP_REFUSED = Counter(
    "o2o_hq_requests_refused",
    "Requests answered 4xx (nothing was done), by route template and status",
    ["route", "status"],
)
BATCH_SECONDS = Histogram("o2o_hq_batch_seconds", "Time to store one uploaded batch of events")
LAST_UPLOAD = Gauge(
    "o2o_hq_store_last_upload_timestamp_seconds",
    "When each store's last batch was stored (Unix time): a store's sync lag seen from HQ",
    ["store"],
    multiprocess_mode="max",
)


def render() -> tuple[bytes, str]:
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
