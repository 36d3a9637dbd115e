"""Prometheus metrics and the health check of one running edge.

Nothing on a hot path is instrumented for this: the drivers, cameras, recognition workers,
MQTT connection, owner loop and sync client already count what they do (counters live with
their producer), and :class:`EdgeCollector` reads those counters when Prometheus scrapes
(``/metrics``). The one figure nobody counted before is kept here: events by type and alerts by
kind (:class:`EventCounter`, an owner-loop sink).

Every edge has its own :class:`~prometheus_client.CollectorRegistry` (:class:`EdgeMetrics`),
never the global one: a process may hold several edges (tests, the demo's replay).
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector

from cloud_sync.client.service import SyncClient
from cloud_sync.client.status import SyncStatus
from edge.events.alerts import AlertRaised
from edge.events.base import Event
from edge.runtime.assembly import StoreRuntime
from edge.service.components import SERIAL_ERROR_KEYS, event_reader_errors, llrp_errors
from edge.service.store import StoreService

log = logging.getLogger(__name__)

HEALTH_TIMEOUT_S = 2.0
"""An owner loop that cannot run a no-op within this is stuck: the edge is not healthy."""


# --- what nobody counted before ----------------------------------------------------------


class EventCounter:
    """Events by type and raised alerts by kind; an owner-loop sink (``emit`` runs on the
    owner thread, ``snapshot`` on the scraper's, hence the lock)."""

    def __init__(self) -> None:
        self._by_type: Counter[str] = Counter()
        self._alerts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def emit(self, event: Event) -> None:
        with self._lock:
            self._by_type[event.type] += 1
            if isinstance(event, AlertRaised):
                self._alerts[event.payload.kind.value] += 1

    def close(self) -> None:
        pass

    def snapshot(self) -> tuple[dict[str, int], dict[str, int]]:
        with self._lock:
            return dict(self._by_type), dict(self._alerts)


# --- the collector -----------------------------------------------------------------------


def _counter(name: str, doc: str, labels: Sequence[str] = ()) -> CounterMetricFamily:
    return CounterMetricFamily(name, doc, labels=list(labels))


def _gauge(name: str, doc: str, labels: Sequence[str] = ()) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, labels=list(labels))


def _copy(counts: dict[str, int]) -> list[tuple[str, int]]:
    """A dict the owner thread may be growing, read from the scraper's thread."""
    for _ in range(10):
        try:
            return list(counts.items())
        except RuntimeError:  # changed size while being read: read again
            continue
    return []


def _seconds(ts: datetime | None) -> float | None:
    return ts.timestamp() if ts is not None else None


class Rejections:
    """Requests and messages refused, by source, route or topic, and reason (thread-safe):
    a tablet's 422, a till's invalid sale on MQTT, a wrong pairing code."""

    def __init__(self) -> None:
        self._counts: Counter[tuple[str, str, str]] = Counter()
        self._lock = threading.Lock()

    def add(self, source: str, where: str, reason: str) -> None:
        with self._lock:
            self._counts[(source, where, reason)] += 1

    def snapshot(self) -> dict[tuple[str, str, str], int]:
        with self._lock:
            return dict(self._counts)


class EdgeCollector(Collector):
    """Reads the assembled edge's own counters at scrape time (every source is thread-safe)."""

    def __init__(
        self,
        runtime: StoreRuntime,
        events: EventCounter,
        sync: SyncClient | None = None,
        rejections: Rejections | None = None,
    ) -> None:
        self._runtime = runtime
        self._events = events
        self._sync = sync
        self._rejections = rejections or Rejections()

    def collect(self) -> Iterator[Metric]:
        yield from self._refused()
        yield from self._readers()
        yield from self._cameras()
        yield from self._events_and_alerts()
        yield from self._mqtt()
        if self._sync is not None:
            yield from self._sync_status(self._sync)

    def _readers(self) -> Iterator[Metric]:
        reads = _counter("o2o_reads", "Tag reads delivered, per reader", ["reader"])
        errors = _counter(
            "o2o_reader_errors",
            "Rejected reader input and port failures, per reader and kind",
            ["reader", "kind"],
        )
        received = _counter(
            "o2o_reader_bytes_received",
            "Bytes read from serial and HTTP-stream readers",
            ["reader"],
        )
        messages = _counter(
            "o2o_reader_messages", "MQTT messages received from MQTT readers", ["reader"]
        )
        for reader_id, serial in self._runtime.serial_drivers.items():
            stats = serial.stats()
            reads.add_metric([reader_id], stats.get("reads", 0))
            received.add_metric([reader_id], stats.get("bytes_received", 0))
            for kind in SERIAL_ERROR_KEYS:
                errors.add_metric([reader_id, kind], stats.get(kind, 0))
        for reader_id, driver in self._runtime.mqtt_drivers.items():
            mqtt = driver.stats()
            reads.add_metric([reader_id], mqtt.reads)
            messages.add_metric([reader_id], mqtt.messages_received)
            for kind, count in sorted(event_reader_errors(mqtt).items()):
                errors.add_metric([reader_id, kind], count)
        for reader_id, http in self._runtime.http_drivers.items():
            stream = http.stats()
            reads.add_metric([reader_id], stream.reads)
            received.add_metric([reader_id], stream.bytes_received)
            for kind, count in sorted(event_reader_errors(stream).items()):
                errors.add_metric([reader_id, kind], count)
            for kind in ("connect_errors", "auth_failures", "http_errors", "stalls"):
                errors.add_metric([reader_id, kind], getattr(stream, kind))
        undecoded = _counter(
            "o2o_rfid_undecoded_tags",
            "Distinct tags whose EPC does not decode (foreign or badly written), by reason",
            ["reason"],
        )
        for reason, count in sorted(_copy(self._runtime.owner.core.tracker.stats.undecoded)):
            undecoded.add_metric([reason], count)
        yield undecoded
        gate = _counter(
            "o2o_gate_decisions",
            "Items confident at an exit (confident) and what the gate made of them: alarmed, "
            "sold, came_in (first read from outside), inbound, still_inside",
            ["decision"],
        )
        for decision, count in sorted(_copy(self._runtime.owner.core.gate.stats)):
            gate.add_metric([decision], count)
        yield gate
        for reader_id, llrp in self._runtime.llrp_drivers.items():
            stats = llrp.stats()
            reads.add_metric([reader_id], stats.get("reads", 0))
            messages.add_metric([reader_id], stats.get("messages_received", 0))
            for kind, count in sorted(llrp_errors(stats).items()):
                errors.add_metric([reader_id, kind], count)
        yield from (reads, errors, received, messages)

    def _cameras(self) -> Iterator[Metric]:
        labels = ["camera"]
        processed = _counter("o2o_camera_frames_processed", "Frames recognised", labels)
        dropped = _counter(
            "o2o_camera_frames_dropped", "Frames dropped: recognition fell behind", labels
        )
        lost = _counter("o2o_camera_frames_lost", "Frames lost to a worker failure", labels)
        source_errors = _counter(
            "o2o_camera_source_errors", "Video source problems by kind", ["camera", "kind"]
        )
        queue_depth = _gauge("o2o_camera_queue_depth", "Frames waiting for recognition", labels)
        online = _gauge("o2o_camera_online", "1 while the camera delivers frames", labels)
        restarts = _counter(
            "o2o_recognition_worker_restarts", "Recognition worker process restarts", labels
        )
        latency = HistogramMetricFamily(
            "o2o_recognition_latency_seconds",
            "One frame's recognition round trip to the worker process",
            labels=labels,
        )
        for camera_id, camera in self._runtime.cameras.items():
            stats = camera.stats
            processed.add_metric([camera_id], stats.frames_processed)
            dropped.add_metric([camera_id], stats.frames_dropped)
            lost.add_metric([camera_id], stats.frames_lost)
            for kind, count in sorted(stats.source_errors.items()):
                source_errors.add_metric([camera_id, kind], count)
            queue_depth.add_metric([camera_id], stats.queue_depth)
            online.add_metric([camera_id], 1.0 if stats.online else 0.0)
        for camera_id, worker in self._runtime.workers.items():
            restarts.add_metric([camera_id], worker.stats.restarts)
            buckets, sum_s = worker.latency.snapshot()
            latency.add_metric([camera_id], buckets, sum_s)
        yield from (processed, dropped, lost, source_errors, queue_depth, online, restarts)
        yield latency

    def _events_and_alerts(self) -> Iterator[Metric]:
        by_type, alerts_by_kind = self._events.snapshot()
        events = _counter("o2o_events", "Events emitted, by type", ["type"])
        for event_type, count in sorted(by_type.items()):
            events.add_metric([event_type], count)
        alerts = _counter("o2o_alerts", "Staff alerts raised, by kind", ["kind"])
        for kind, count in sorted(alerts_by_kind.items()):
            alerts.add_metric([kind], count)
        owner = self._runtime.owner
        sink_errors = _counter("o2o_sink_errors", "Failures of an event sink (logged)")
        sink_errors.add_metric([], owner.sink_errors)
        yield from (events, alerts, sink_errors)

    def _refused(self) -> Iterator[Metric]:
        refused = _counter(
            "o2o_rejected",
            "Requests and messages refused (nothing was done), by source, route or topic, reason",
            ["source", "where", "reason"],
        )
        counts = self._rejections.snapshot()
        inputs = self._runtime.store_inputs
        for reason, count in inputs.rejected.items():
            topic = inputs.ack_topic if reason.startswith("ack") else inputs.sales_topic
            counts[("mqtt", topic, reason)] = count
        for labels, count in sorted(counts.items()):
            refused.add_metric(list(labels), count)
        yield refused

    def _mqtt(self) -> Iterator[Metric]:
        connection = self._runtime.connection
        counters = connection.counters()
        connected = _gauge("o2o_mqtt_connected", "1 while connected to the broker")
        connected.add_metric([], 1.0 if connection.connected else 0.0)
        yield connected
        for name, value, doc in (
            ("published", counters.published, "Messages handed to the broker"),
            ("dropped", counters.dropped, "Messages dropped while disconnected"),
            ("received", counters.received, "Messages received"),
            ("reconnects", counters.reconnects, "Reconnections to the broker"),
            ("handler_errors", counters.handler_errors, "Failures of a message handler"),
        ):
            metric = _counter(f"o2o_mqtt_{name}", doc)
            metric.add_metric([], value)
            yield metric

    def _sync_status(self, sync: SyncClient) -> Iterator[Metric]:
        try:
            status = sync.status()
        except Exception:  # a scrape must still show everything else
            log.exception("sync status unavailable for /metrics")
            return
        gauges: list[tuple[str, str, float | None]] = [
            ("o2o_sync_enabled", "1 when events are uploaded to HQ", float(status.enabled)),
            ("o2o_outbox_backlog_events", "Events in the outbox not yet delivered to HQ",
             status.backlog_events),
            ("o2o_outbox_dead_letters", "Events HQ refused for good", status.dead_letters),
            ("o2o_sync_lag_seconds", "Age of the oldest event not yet delivered (0: none)",
             status.oldest_unsent_age_s or 0.0),
            ("o2o_sync_last_success_timestamp_seconds", "Last acknowledged upload (Unix time)",
             _seconds(status.last_success)),
        ]  # fmt: skip
        for name, doc, value in gauges:
            if value is not None:
                gauge = _gauge(name, doc)
                gauge.add_metric([], value)
                yield gauge
        delivered = _counter("o2o_sync_delivered_events", "Events HQ acknowledged since start")
        delivered.add_metric([], status.delivered_events)
        yield delivered


# --- one edge's metrics and health --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Health:
    healthy: bool
    """False only when the owner loop does not answer: the edge no longer processes input."""
    checks: dict[str, str]


class EdgeMetrics:
    """The registry and health check of one edge (built by the composition root, which also
    makes ``events`` one of the owner loop's sinks)."""

    def __init__(
        self,
        runtime: StoreRuntime,
        store: StoreService,
        events: EventCounter,
        sync: SyncClient | None = None,
    ) -> None:
        self.runtime = runtime
        self.store = store
        self.events = events
        self.sync = sync
        self.rejections = Rejections()
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(EdgeCollector(runtime, events, sync, self.rejections))
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)

    def render(self) -> tuple[bytes, str]:
        """The Prometheus text exposition and its content type."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST

    def health(self, timeout_s: float = HEALTH_TIMEOUT_S) -> Health:
        checks: dict[str, str] = {}
        answered = self.store.ping(timeout_s)
        checks["owner_loop"] = "ok" if answered else f"no answer within {timeout_s:g} s"
        connection = self.runtime.connection
        checks["mqtt"] = "ok" if connection.connected else f"down: {connection.last_error}"
        if self.sync is not None and self.sync.enabled:
            try:
                status = self.sync.status()
                failing = sync_failing(status)
                checks["sync"] = f"failing: {status.last_error}" if failing else "ok"
            except Exception as error:
                checks["sync"] = f"status unavailable: {error}"
        return Health(answered, checks)


def sync_failing(status: SyncStatus) -> bool:
    """The latest sync attempt failed (an error older than the last success is over)."""
    if status.last_error is None or status.last_error_ts is None:
        return False
    return status.last_success is None or status.last_error_ts > status.last_success
