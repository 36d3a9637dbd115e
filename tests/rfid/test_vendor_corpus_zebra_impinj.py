"""The Zebra and Impinj vendor corpus gives exactly its reads: through the parsers, and
through the MQTT driver on the real broker (the HTTP stream driver: test_impinj_http.py).

Each payload in tests/rfid/vendor_corpus/{zebra,impinj} is built field for field from the
vendors' documents and samples (NOTES.md there); expected.yaml says what it must give.
"""

from __future__ import annotations

import json
import queue
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from edge.clock import VirtualClock
from edge.config.mqtt import MqttConfig
from edge.config.readers import ImpinjMqttReader, ZebraMqttReader
from edge.mqtt.client import MqttConnection
from edge.rfid.event_delivery import EventSequence
from edge.rfid.impinj import parse_impinj
from edge.rfid.mqtt_payloads import ParseResult
from edge.rfid.mqtt_reader import MqttReaderDriver
from edge.rfid.reads import ReaderSignal, ReaderState, ReaderStatus, TagRead
from edge.rfid.zebra import parse_zebra
from tests.rfid.corpus import CORPUS, expected_notices, expected_reads, load_cases, ms, payload

PARSERS: dict[str, Callable[[bytes, str, int, int], ParseResult]] = {
    "zebra": parse_zebra,
    "impinj": parse_impinj,
}
READER = "reader-1"
DRIFT_MS = 5_000
CLOCK_MS = ms("2024-01-01T00:00:00Z")
"""The drivers' clock: months from the corpus times, which a 1e9 s drift bound keeps."""
TIMEOUT_S = 10.0
CASES = [(vendor, case) for vendor in PARSERS for case in load_cases(vendor)]


def received_ms(case: dict[str, Any]) -> int:
    """A receive time within the drift bound of every read (the reader's clock is right)."""
    times = [ms(read[3]) for read in case.get("reads", [])]
    return max(times) + 20 if times else ms("2024-03-05T14:00:00Z")


@pytest.mark.parametrize(
    ("vendor", "case"), CASES, ids=[f"{vendor}/{case['file']}" for vendor, case in CASES]
)
def test_payload_gives_exactly_its_reads(vendor: str, case: dict[str, Any]) -> None:
    result = PARSERS[vendor](payload(vendor, case), READER, received_ms(case), DRIFT_MS)

    assert result.reads == expected_reads(case, READER)
    assert [(n.event_type, n.state, n.lost_events) for n in result.notices] == expected_notices(
        case
    )
    assert Counter(e.reason.value for e in result.errors) == Counter(case.get("malformed", {}))
    assert result.event_nums == case.get("event_nums", [])
    sequence = EventSequence()
    lost = sum(sequence.observe(n) for n in result.event_nums)
    lost += sum(n.lost_events for n in result.notices)
    assert lost == case.get("lost_events", 0)


@pytest.mark.parametrize("vendor", sorted(PARSERS))
def test_every_payload_has_its_expectation_and_sources(vendor: str) -> None:
    folder = CORPUS / vendor
    cases = load_cases(vendor)
    files = {p.name for p in folder.iterdir()} - {"NOTES.md", "expected.yaml"}
    assert {case["file"] for case in cases} == files
    notes = (folder / "NOTES.md").read_text(encoding="utf-8")
    for case in cases:
        assert case["sources"], case["file"]
        for source in case["sources"]:
            assert f"**{source}**" in notes, f"{case['file']}: source {source} not in NOTES.md"
        assert f"`{case['file']}`" in notes, f"{case['file']} is not described in NOTES.md"


# -- through the MQTT driver on the real broker ------------------------------------------------


class Publisher:
    def __init__(self, broker: tuple[str, int]) -> None:
        client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"test-{uuid.uuid4().hex}")
        client.connect(*broker, keepalive=10)
        client.loop_start()
        self.client = client

    def publish(self, topic: str, data: bytes, retain: bool = False) -> None:
        self.client.publish(topic, data, qos=1, retain=retain).wait_for_publish(TIMEOUT_S)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def connection(mqtt_broker: tuple[str, int], store_id: str) -> Iterator[MqttConnection]:
    conn = MqttConnection(
        MqttConfig(host=mqtt_broker[0], port=mqtt_broker[1], keepalive_s=5), store_id, "corpus"
    )
    conn.start()
    assert conn.wait_connected(TIMEOUT_S), conn.last_error
    yield conn
    conn.stop()


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + TIMEOUT_S
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def run(
    reader: ZebraMqttReader | ImpinjMqttReader,
    connection: MqttConnection,
    broker: tuple[str, int],
    messages: list[tuple[str, bytes]],
) -> tuple[MqttReaderDriver, list[TagRead], list[ReaderStatus]]:
    reads: list[TagRead] = []
    statuses: queue.Queue[ReaderStatus] = queue.Queue()
    lock = threading.Lock()

    def on_read(read: TagRead) -> None:
        with lock:
            reads.append(read)

    driver = MqttReaderDriver(reader, connection, VirtualClock(CLOCK_MS), on_read, statuses.put)
    driver.start()
    for topic in reader.topics():
        assert connection.wait_subscribed(topic, TIMEOUT_S)
    publisher = Publisher(broker)
    try:
        for topic, data in messages:
            publisher.publish(topic, data)
        wait_until(lambda: driver.messages_received == len(messages), "every message")
    finally:
        publisher.close()
        driver.stop()
    return driver, reads, list(statuses.queue)


ZEBRA_ON_THE_BROKER = [
    "simple_default.json",
    "inventory_default.json",
    "custom_tutorial_all_metadata.json",
    "custom_antenna_rssi_off.json",
    "directionality_atr7000.json",
    "event_num_gap.json",
    "bad_events_beside_intact_ones.json",
]
ZEBRA_MANAGEMENT = ["heartbeat_radio_active.json", "heartbeat_radio_inactive.json", "gpi.json"]


@pytest.mark.network
def test_zebra_corpus_through_the_driver_on_the_broker(
    mqtt_broker: tuple[str, int], connection: MqttConnection, store_id: str
) -> None:
    reader = ZebraMqttReader(
        id=READER,
        kind="zebra_mqtt",
        topic=f"test/{store_id}/zebra/fx9600/data",
        management_topic=f"test/{store_id}/zebra/fx9600/events",
        antennas={1: "exit", 2: "shelf-a", 3: "shelf-b", 4: "backroom"},
        default_zone="exit",
        max_clock_drift_s=1e9,
    )
    cases = {case["file"]: case for case in load_cases("zebra")}
    data = [(reader.topic, payload("zebra", cases[name])) for name in ZEBRA_ON_THE_BROKER]
    events = [
        (reader.management_topic or "", payload("zebra", cases[name])) for name in ZEBRA_MANAGEMENT
    ]
    driver, reads, statuses = run(reader, connection, mqtt_broker, data + events)

    assert reads == [
        read for name in ZEBRA_ON_THE_BROKER for read in expected_reads(cases[name], READER)
    ]
    stats = driver.stats()
    # The files' event numbers run 1, 917.., 3, 10.., 201.., 100.., 300..: a jump up is
    # a gap (lost events), a jump down a restart of the numbering.
    numbers = [n for name in ZEBRA_ON_THE_BROKER for n in cases[name].get("event_nums", [])]
    sequence = EventSequence()
    assert stats.lost_events == sum(sequence.observe(n) for n in numbers)
    assert stats.event_num_resets == sequence.resets == 2
    assert stats.malformed == cases["bad_events_beside_intact_ones.json"]["malformed"]
    assert stats.ignored == {"heartbeat": 2, "gpi": 1}
    assert stats.no_antenna == 0 and stats.unmapped_antenna == 0
    heartbeats = [
        (s.signal, s.state) for s in statuses if s.signal is ReaderSignal.READER and s.state
    ]
    assert heartbeats == [
        (ReaderSignal.READER, ReaderState.INVENTORYING),
        (ReaderSignal.READER, ReaderState.IDLE),
    ]
    assert statuses[-1] == ReaderStatus(READER, True, CLOCK_MS, "gpi event", ReaderSignal.READER)
    losses = [s.lost_events for s in statuses if s.lost_events]
    assert sum(losses) == stats.lost_events


@pytest.mark.network
def test_impinj_corpus_and_last_will_through_the_driver_on_the_broker(
    mqtt_broker: tuple[str, int], connection: MqttConnection, store_id: str
) -> None:
    reader = ImpinjMqttReader(
        id=READER,
        kind="impinj_mqtt",
        topic=f"test/{store_id}/r700/events",
        status_topic=f"test/{store_id}/r700/status",
        antennas={1: "exit", 2: "entrance"},
        default_zone="exit",
        max_clock_drift_s=1e9,
    )
    cases = load_cases("impinj")
    data = [(reader.topic, payload("impinj", case)) for case in cases]
    status = reader.status_topic or ""
    wills = [(status, b"connected"), (status, b"connection lost"), (status, b"rebooting?")]
    driver, reads, statuses = run(reader, connection, mqtt_broker, data + wills)

    assert reads == [read for case in cases for read in expected_reads(case, READER)]
    stats = driver.stats()
    assert stats.lost_events == 1500 and stats.overflows == 1
    assert stats.status_messages == 3
    malformed = Counter(cases[-1]["malformed"]) + Counter({"unknown_status_message": 1})
    assert stats.malformed == dict(malformed)
    last_will = [(s.connected, s.detail) for s in statuses if s.signal is ReaderSignal.LAST_WILL]
    assert last_will == [
        (True, "reader connected to the broker (connect message)"),
        (False, "reader lost by the broker (last will)"),
    ]
    idle = [s for s in statuses if s.state is ReaderState.IDLE]
    assert [s.detail for s in idle] == [
        "inventoryStatus event: idle",  # Intel's simulator
        "inventoryTerminated event",
        "inventoryStatus event: idle",
    ]
    assert all(s.connected and not s.alive for s in idle)


def test_corpus_payloads_are_json_as_published() -> None:
    """Zebra payloads are one JSON document (object or array); Impinj files one per line."""
    for case in load_cases("zebra"):
        json.loads(payload("zebra", case))
    for case in load_cases("impinj"):
        lines = payload("impinj", case).decode().splitlines()
        assert lines and all(line.startswith("{") for line in lines)
