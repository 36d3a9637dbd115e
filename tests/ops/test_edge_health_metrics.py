"""``/healthz`` and ``/metrics`` of the edge as ``o2o-edge run`` builds it (demo store, real
broker), fed with reads through its real drivers: a serial reader on a pseudo-terminal and a
Zebra reader over MQTT, good frames and bad ones."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import paho.mqtt.client as paho
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from edge.app.compose import Edge
from edge.config.store import StoreConfig
from edge.rfid.epc import encode_sgtin96
from edge.rfid.r2000 import build_command, encode_tag_frame
from edge.vision.latency import LatencyBuckets
from tests.api.harness import demo_config
from tests.edge_harness import IdleSerialPort, private_store, running_edge

NAVY_M = "00614141110018"
TIMEOUT_S = 10.0

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def wait_for(predicate: Callable[[], bool], what: str, timeout_s: float = TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def scrape(client: TestClient) -> Samples:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, frozenset(labels.items()))]


@dataclass
class LiveEdge:
    edge: Edge
    serial: IdleSerialPort
    client: TestClient

    @property
    def config(self) -> StoreConfig:
        return self.edge.config

    def publish(self, topic: str, payload: bytes) -> None:
        publisher = paho.Client(paho.CallbackAPIVersion.VERSION2)
        publisher.connect(self.config.mqtt.host, self.config.mqtt.port)
        publisher.loop_start()
        try:
            publisher.publish(topic, payload, qos=1).wait_for_publish(TIMEOUT_S)
        finally:
            publisher.loop_stop()
            publisher.disconnect()


@pytest.fixture
def live_edge(tmp_path: Path, store_id: str, mqtt_broker: tuple[str, int]) -> Iterator[LiveEdge]:
    config = demo_config(store_id, tmp_path / "data")
    with private_store(config, store_id) as private, running_edge(private.config) as edge:
        runtime = edge.runtime
        for reader in runtime.mqtt_drivers.values():
            assert runtime.connection.wait_subscribed(reader.config.topic, TIMEOUT_S)
        with TestClient(edge.http) as client:
            yield LiveEdge(edge, private.serial_ports["shelf-reader"], client)


def test_healthz_reports_a_working_edge(live_edge: LiveEdge) -> None:
    response = live_edge.client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "store_id": live_edge.config.store_id,
        "checks": {"owner_loop": "ok", "mqtt": "ok"},
    }


def test_metrics_count_reads_errors_events_alerts_and_the_outbox(live_edge: LiveEdge) -> None:
    edge = live_edge
    epc = bytes.fromhex(encode_sgtin96("0614141", "011001", 1001))
    good = encode_tag_frame(1, 1, 0x3000, epc, 0x50)
    corrupt = good[:-1] + bytes([good[-1] ^ 0xFF])  # checksum broken
    # Len 0x13 (12 EPC bytes) behind a PC word announcing 8: a false frame, checksum or not.
    mismatched = build_command(1, 0x89, bytes((0x04, 0x20, 0x00)) + epc + b"\x50")
    edge.serial.write(good + corrupt + mismatched + good)
    serial = edge.edge.runtime.serial_drivers["shelf-reader"]
    wait_for(lambda: serial.stats()["reads"] == 2, "two serial reads")

    now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    zebra = {
        "data": {"antenna": 1, "format": "epc", "idHex": epc.hex(), "peakRssi": -52},
        "timestamp": now,
        "type": "INVENTORY",
    }
    topic = edge.edge.runtime.mqtt_drivers["room-reader"].config.topic
    edge.publish(topic, json.dumps(zebra).encode())
    edge.publish(topic, b"{not json")
    foreign = {**zebra, "data": {**zebra["data"], "idHex": "E2000017010B016210001234"}}
    edge.publish(topic, json.dumps(foreign).encode())  # a tag with no EPC header
    room = edge.edge.runtime.mqtt_drivers["room-reader"]
    wait_for(lambda: room.stats().messages_received == 3, "three zebra messages")

    # Straight to the store core: no navy L in this store, so the service would answer "Not
    # in this store" without an alert.
    now_ms = edge.edge.store.clock.now_ms()
    edge.edge.owner.call_emitting(
        lambda core: (
            None,
            core.handle_size_request("fitting-1", NAVY_M, size="L", colour=None, ts_ms=now_ms),
        )
    )
    edge.edge.owner.sync()

    samples = scrape(edge.client)
    assert value(samples, "o2o_reads_total", reader="shelf-reader") == 2
    assert value(samples, "o2o_reads_total", reader="room-reader") == 2
    assert value(samples, "o2o_rfid_undecoded_tags_total", reason="unknown_header") == 1
    assert value(samples, "o2o_gate_decisions_total", decision="alarmed") == 0
    assert value(samples, "o2o_reads_total", reader="door-reader") == 0
    assert (
        value(samples, "o2o_reader_errors_total", reader="shelf-reader", kind="checksum_errors")
        == 1
    )
    mismatch = value(
        samples, "o2o_reader_errors_total", reader="shelf-reader", kind="epc_length_mismatch"
    )
    assert mismatch == 1
    malformed = {
        dict(labels)["kind"]: count
        for (name, labels), count in samples.items()
        if name == "o2o_reader_errors_total" and dict(labels)["reader"] == "room-reader"
    }
    assert sum(count for kind, count in malformed.items() if kind != "unmapped_antenna") == 1
    assert value(samples, "o2o_reader_messages_total", reader="room-reader") == 3
    assert value(samples, "o2o_alerts_total", kind="size_request") == 1
    assert value(samples, "o2o_events_total", type="alert.raised") == 1
    # Every event went to the outbox first; sync to HQ is off, so they all wait there.
    events = sum(count for (name, _), count in samples.items() if name == "o2o_events_total")
    assert value(samples, "o2o_outbox_backlog_events") == events
    assert value(samples, "o2o_sync_enabled") == 0
    assert value(samples, "o2o_sync_lag_seconds") >= 0
    assert value(samples, "o2o_mqtt_connected") == 1
    assert value(samples, "o2o_mqtt_published_total") >= 1
    assert value(samples, "o2o_sink_errors_total") == 0
    assert ("process_resident_memory_bytes", frozenset()) in samples


def test_healthz_fails_when_the_owner_loop_stops_answering(live_edge: LiveEdge) -> None:
    owner = live_edge.edge.owner
    release = threading.Event()
    stuck = threading.Thread(target=lambda: owner.call(lambda _core: release.wait(10), 15))
    stuck.start()  # the owner thread now hangs inside one input, as a deadlock would
    try:
        response = live_edge.client.get("/healthz")
    finally:
        release.set()
        stuck.join()
    assert response.status_code == 503
    assert response.json()["status"] == "failing"
    assert response.json()["checks"]["owner_loop"] == "no answer within 2 s"
    assert live_edge.client.get("/healthz").status_code == 200


def test_latency_buckets_are_cumulative_and_end_with_inf() -> None:
    latency = LatencyBuckets((0.1, 1.0))
    for seconds in (0.05, 0.1, 0.5, 3.0):
        latency.observe(seconds)
    buckets, sum_s = latency.snapshot()
    assert buckets == [("0.1", 2.0), ("1.0", 3.0), ("+Inf", 4.0)]
    assert sum_s == pytest.approx(3.65)
    with pytest.raises(ValueError, match="ascend"):
        LatencyBuckets((1.0, 0.5))
