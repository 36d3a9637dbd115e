"""MQTT on the real Mosquitto: reader JSON in, alerts and status out, last will on a kill.

Every test works under its own store id (``store_id`` fixture), so topics never cross with
other tests on the shared broker; retained status messages are cleared at the end.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from edge.alerts.rules import AlertRules, ReaderWatch
from edge.clock import VirtualClock
from edge.config.mqtt import MqttConfig
from edge.config.readers import ImpinjMqttReader, ZebraMqttReader
from edge.events.alerts import AlertRaised, AlertResolved, ComponentState, ComponentStatus
from edge.events.base import Event, EventFactory, EventIdGenerator, ms_to_datetime, parse_event
from edge.events.rfid import TagDeparted, TagDepartedPayload
from edge.mqtt.client import MqttConnection
from edge.mqtt.publisher import EventPublisher
from edge.rfid.mqtt_reader import MqttReaderDriver
from edge.rfid.reads import ReaderSignal, ReaderStatus, TagRead

pytestmark = pytest.mark.network

REPO_ROOT = Path(__file__).resolve().parents[2]
TIMEOUT_S = 10.0
ZEBRA_TS_MS = 1677233682851  # 2023-02-24T10:14:42.851Z
IMPINJ_TS_MS = 1709647331480  # 2024-03-05T14:02:11.480Z


class Subscriber:
    """A plain paho client, as a handheld or dashboard would be."""

    def __init__(self, broker: tuple[str, int], topic_filter: str) -> None:
        self.messages: queue.Queue[paho.MQTTMessage] = queue.Queue()
        subscribed = threading.Event()
        client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"test-{uuid.uuid4().hex}")
        client.on_connect = lambda c, *_: c.subscribe(topic_filter, qos=1)
        client.on_subscribe = lambda *_: subscribed.set()
        client.on_message = lambda _c, _u, message: self.messages.put(message)
        client.connect(*broker, keepalive=10)
        client.loop_start()
        assert subscribed.wait(TIMEOUT_S), f"no SUBACK for {topic_filter}"
        self.client = client

    def get(self, timeout_s: float = TIMEOUT_S) -> paho.MQTTMessage:
        return self.messages.get(timeout=timeout_s)

    def publish(self, topic: str, payload: bytes | str, retain: bool = False) -> None:
        self.client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(TIMEOUT_S)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def broker(mqtt_broker: tuple[str, int]) -> tuple[str, int]:
    return mqtt_broker


@pytest.fixture
def config(broker: tuple[str, int]) -> MqttConfig:
    return MqttConfig(host=broker[0], port=broker[1], keepalive_s=5)


@pytest.fixture
def connection(config: MqttConfig, store_id: str) -> Iterator[MqttConnection]:
    conn = MqttConnection(config, store_id, component="edge")
    conn.start()
    assert conn.wait_connected(TIMEOUT_S), conn.last_error
    yield conn
    conn.stop()
    clear_retained(config, store_id, "edge")


def clear_retained(config: MqttConfig, store_id: str, component: str) -> None:
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"test-{uuid.uuid4().hex}")
    client.connect(config.host, config.port)
    client.loop_start()
    topic = f"{config.topic_prefix}/{store_id}/status/{component}"
    client.publish(topic, b"", qos=1, retain=True).wait_for_publish(TIMEOUT_S)
    client.disconnect()
    client.loop_stop()


def wait_until(condition: object, what: str) -> None:
    deadline = time.monotonic() + TIMEOUT_S
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


class Collected:
    def __init__(self) -> None:
        self.reads: list[TagRead] = []
        self.statuses: list[ReaderStatus] = []
        self.taps: list[tuple[int, str, bytes]] = []


def start_driver(
    reader: ZebraMqttReader | ImpinjMqttReader, connection: MqttConnection, clock: VirtualClock
) -> tuple[MqttReaderDriver, Collected]:
    got = Collected()
    driver = MqttReaderDriver(
        reader,
        connection,
        clock,
        got.reads.append,
        got.statuses.append,
        on_message=lambda ts, topic, payload: got.taps.append((ts, topic, payload)),
    )
    driver.start()
    assert connection.wait_subscribed(reader.topic, TIMEOUT_S)
    return driver, got


# -- readers in --------------------------------------------------------------------------


def zebra_event(epc: str, antenna: int, rssi: int, ts: str) -> dict[str, object]:
    return {
        "data": {
            "CRC": "6f5e",
            "PC": "3000",
            "antenna": antenna,
            "channel": 922.75,
            "eventNum": 917,
            "format": "epc",
            "idHex": epc,
            "peakRssi": rssi,
            "phase": 12.3,
            "reads": 2,
        },
        "timestamp": ts,
        "type": "INVENTORY",
    }


def test_zebra_json_through_the_broker_becomes_tag_reads(
    broker: tuple[str, int], connection: MqttConnection, store_id: str
) -> None:
    reader = ZebraMqttReader(
        id="door-1",
        kind="zebra_mqtt",
        topic=f"test/{store_id}/zebra/+/data",
        antennas={1: "exit", 2: "shelf-a"},
    )
    clock = VirtualClock(ZEBRA_TS_MS + 20)
    driver, got = start_driver(reader, connection, clock)
    assert got.statuses and got.statuses[-1].connected
    reader_client = Subscriber(broker, f"test/{store_id}/unused")
    try:
        batch = [
            zebra_event("3074257bf7194e4000001a85", 1, -56, "2023-02-24T10:14:42.851+0000"),
            zebra_event("zz", 1, -56, "2023-02-24T10:14:42.851+0000"),
            zebra_event("E280116060000209A05A4DED", 2, -67, "2023-02-24T10:14:42.861+0000"),
            zebra_event("E280116060000209A05A4DEE", 3, -70, "2023-02-24T10:14:42.861+0000"),
            {"type": "HEARTBEAT", "timestamp": "2023-02-24T10:14:42.861+0000", "data": {}},
        ]
        topic = f"test/{store_id}/zebra/fx9600-1/data"
        reader_client.publish(topic, json.dumps(batch))
        # A reader whose clock is a year off: its read takes the receive time.
        late = zebra_event("3074257bf7194e4000001a85", 1, -58, "2022-02-24T10:14:42.851+0000")
        reader_client.publish(topic, json.dumps(late))
        reader_client.publish(topic, b"\x00garbage")
        wait_until(lambda: driver.messages_received == 3, "three messages")
    finally:
        reader_client.close()
    assert got.reads == [
        TagRead("door-1", 1, "3074257BF7194E4000001A85", -56.0, ZEBRA_TS_MS),
        TagRead("door-1", 2, "E280116060000209A05A4DED", -67.0, ZEBRA_TS_MS + 10),
        TagRead("door-1", 1, "3074257BF7194E4000001A85", -58.0, ZEBRA_TS_MS + 20),
    ]
    stats = driver.stats()
    assert stats.reads == 3
    assert stats.malformed == {"bad_epc": 1, "not_json": 1}
    assert stats.ignored == {"HEARTBEAT": 1}
    assert stats.unmapped_antenna == 1  # antenna 3 is not in the configuration
    assert stats.clock_drift_corrected == 1
    assert [(ts, topic) for ts, topic, _ in got.taps] == [(ZEBRA_TS_MS + 20, topic)] * 3


def test_impinj_json_through_the_broker_becomes_tag_reads(
    broker: tuple[str, int], connection: MqttConnection, store_id: str
) -> None:
    reader = ImpinjMqttReader(
        id="fit-1",
        kind="impinj_mqtt",
        topic=f"test/{store_id}/impinj/fit-1",
        antennas={1: "fitting-1", 2: "fitting-2"},
    )
    clock = VirtualClock(IMPINJ_TS_MS + 100)
    driver, got = start_driver(reader, connection, clock)
    lines = [
        {
            "timestamp": "2024-03-05T14:02:11.482915Z",
            "hostname": "impinj-14-2b-9c",
            "eventType": "tagInventory",
            "tagInventoryEvent": {
                "epc": "MHQle/cZTkAAABqF",
                "antennaPort": 2,
                "antennaName": "2",
                "peakRssiCdbm": -6150,
                "frequency": 920250,
                "transmitPowerCdbm": 3000,
                "lastSeenTime": "2024-03-05T14:02:11.480112Z",
            },
        },
        {
            "timestamp": "2024-03-05T14:02:11.500000Z",
            "hostname": "impinj-14-2b-9c",
            "eventType": "antennaDisconnected",
            "antennaDisconnectedEvent": {"antennaPort": 1},
        },
    ]
    reader_client = Subscriber(broker, f"test/{store_id}/unused")
    try:
        reader_client.publish(reader.topic, "\n".join(json.dumps(line) for line in lines))
        # No tag, but the reader is alive: that counts against reader_offline.
        status = {"timestamp": "2024-03-05T14:02:12Z", "eventType": "inventoryStatus"}
        reader_client.publish(reader.topic, json.dumps(status))
        wait_until(lambda: driver.messages_received == 2, "two messages")
    finally:
        reader_client.close()
    assert got.reads == [TagRead("fit-1", 2, "3074257BF7194E4000001A85", -61.5, IMPINJ_TS_MS)]
    assert driver.stats().ignored == {"antennaDisconnected": 1, "inventoryStatus": 1}
    assert got.statuses[-1] == ReaderStatus(
        "fit-1", True, IMPINJ_TS_MS + 100, "inventoryStatus event", ReaderSignal.READER
    )
    driver.stop()


def test_subscriptions_survive_a_reconnect(
    broker: tuple[str, int], config: MqttConfig, connection: MqttConnection, store_id: str
) -> None:
    reader = ZebraMqttReader(
        id="door-1", kind="zebra_mqtt", topic=f"test/{store_id}/zebra", antennas={1: "exit"}
    )
    driver, got = start_driver(reader, connection, VirtualClock(ZEBRA_TS_MS))
    # A second client with the same id takes the session over: the broker drops ours.
    intruder = paho.Client(CallbackAPIVersion.VERSION2, client_id=connection.client_id)
    intruder.connect(config.host, config.port)
    intruder.loop_start()
    wait_until(lambda: not connection.connected, "the broker to drop the connection")
    intruder.disconnect()
    intruder.loop_stop()
    assert connection.wait_connected(TIMEOUT_S), connection.last_error
    assert connection.wait_subscribed(reader.topic, TIMEOUT_S)
    assert connection.counters().reconnects == 1
    assert [s.connected for s in got.statuses] == [True, False, True]
    reader_client = Subscriber(broker, f"test/{store_id}/unused")
    try:
        event = zebra_event("3074257bf7194e4000001a85", 1, -56, "2023-02-24T10:14:42.851+0000")
        reader_client.publish(reader.topic, json.dumps(event))
        wait_until(lambda: driver.messages_received == 1, "the message after the reconnect")
    finally:
        reader_client.close()
    assert [r.epc for r in got.reads] == ["3074257BF7194E4000001A85"]


# -- alerts and events out -----------------------------------------------------------------


def test_alerts_reach_a_real_subscriber_with_qos_1(
    broker: tuple[str, int], connection: MqttConnection, store_id: str
) -> None:
    factory = EventFactory(store_id, EventIdGenerator(b"integration"))
    rules = AlertRules([ReaderWatch("dock-1", 30_000, "backroom")], repeat_interval_s=300)
    departed = factory.make(
        TagDeparted,
        ts_ms=ZEBRA_TS_MS,
        source="rfid/tracker",
        payload=TagDepartedPayload(
            epc="3074257BF7194E4000001A85",
            gtin="80614141123458",
            zone="shelf-a",
            zone_kind="shelf",
            reader_id="door-1",
            antenna=1,
            rssi_dbm=-60.0,
            via_exit=True,
            last_seen=ms_to_datetime(ZEBRA_TS_MS - 30_000),
            last_zone="exit",
        ),
    )
    events: list[Event] = [departed]
    events += [n.to_event(factory) for n in rules.on_tag_departed(departed)]
    events += [n.to_event(factory) for n in rules.tick(ZEBRA_TS_MS)]
    events += [n.to_event(factory) for n in rules.tick(ZEBRA_TS_MS + 30_000)]
    events += [n.to_event(factory) for n in rules.on_reader_data("dock-1", ZEBRA_TS_MS + 40_000)]
    assert [e.type for e in events] == [
        "tag.departed",
        "alert.raised",
        "alert.raised",
        "alert.resolved",
    ]

    alerts = Subscriber(broker, f"o2o/{store_id}/alerts/+")
    everything = Subscriber(broker, f"o2o/{store_id}/events/#")
    try:
        publisher = EventPublisher(connection, store_id, "o2o")
        for event in events:
            assert publisher.publish(event)
        received = [alerts.get() for _ in range(3)]
        departed_message = everything.get()
    finally:
        alerts.close()
        everything.close()

    assert [m.topic for m in received] == [
        f"o2o/{store_id}/alerts/exit_unsold",
        f"o2o/{store_id}/alerts/reader_offline",
        f"o2o/{store_id}/alerts/reader_offline",
    ]
    assert all(m.qos == 1 and not m.retain for m in received)
    parsed = [parse_event(bytes(m.payload)) for m in received]
    assert parsed == events[1:]
    assert isinstance(parsed[0], AlertRaised) and isinstance(parsed[2], AlertResolved)
    assert parsed[0].payload.text == (
        "An item not in the catalog left through exit unsold "
        "(EPC 3074257BF7194E4000001A85, GTIN 80614141123458)"
    )
    assert departed_message.topic == f"o2o/{store_id}/events/tag.departed"
    assert parse_event(bytes(departed_message.payload)) == departed


def test_event_of_another_store_is_refused(connection: MqttConnection, store_id: str) -> None:
    factory = EventFactory("some-other-store")
    rules = AlertRules([ReaderWatch("dock-1", 1000, None)], repeat_interval_s=0)
    rules.tick(0)
    [draft] = rules.tick(1000)
    with pytest.raises(ValueError, match="belongs to store 'some-other-store'"):
        EventPublisher(connection, store_id, "o2o").publish(draft.to_event(factory))


# -- status and last will ------------------------------------------------------------------


def status_of(message: paho.MQTTMessage) -> ComponentStatus:
    return ComponentStatus.model_validate_json(message.payload)


def test_status_online_retained_then_stopped(
    broker: tuple[str, int], config: MqttConfig, store_id: str
) -> None:
    topic = f"o2o/{store_id}/status/edge"
    first = Subscriber(broker, topic)  # sees "online" arrive at the broker
    connection = MqttConnection(config, store_id, component="edge")
    connection.start()
    assert connection.wait_connected(TIMEOUT_S), connection.last_error
    assert status_of(first.get()).state is ComponentState.ONLINE
    first.close()
    watcher = Subscriber(broker, topic)  # subscribes after the fact: gets the retained copy
    try:
        online = watcher.get()
        assert online.retain and online.qos == 1
        assert status_of(online).state is ComponentState.ONLINE
        assert status_of(online).ts is not None
        connection.stop()
        stopped = watcher.get()
        assert status_of(stopped).state is ComponentState.STOPPED
        assert not connection.connected
        with pytest.raises(queue.Empty):  # a clean stop: the will is not sent
            watcher.get(timeout_s=1.0)
    finally:
        watcher.close()
        clear_retained(config, store_id, "edge")


def test_publisher_status_is_retained(
    broker: tuple[str, int], config: MqttConfig, connection: MqttConnection, store_id: str
) -> None:
    publisher = EventPublisher(connection, store_id, "o2o")
    status = ComponentStatus(
        component="reader-dock-1", state=ComponentState.ONLINE, ts=ms_to_datetime(ZEBRA_TS_MS)
    )
    topic = f"o2o/{store_id}/status/reader-dock-1"
    assert connection.wait_connected(TIMEOUT_S)
    first = Subscriber(broker, topic)  # sees the publication arrive at the broker
    publisher.publish_status("reader-dock-1", status)
    watcher: Subscriber | None = None
    try:
        assert status_of(first.get()) == status
        watcher = Subscriber(broker, topic)  # subscribes after the fact: gets the retained copy
        message = watcher.get()
        assert message.retain and status_of(message) == status
    finally:
        first.close()
        if watcher is not None:
            watcher.close()
        clear_retained(config, store_id, "reader-dock-1")


CHILD = """
import sys, time
from edge.config.mqtt import MqttConfig
from edge.mqtt.client import MqttConnection

host, port, store_id = sys.argv[1], int(sys.argv[2]), sys.argv[3]
connection = MqttConnection(MqttConfig(host=host, port=port, keepalive_s=5), store_id)
connection.start()
if not connection.wait_connected(10):
    sys.exit("not connected: " + connection.last_error)
print("ready", flush=True)
time.sleep(60)
"""


def test_killed_process_shows_offline_through_the_last_will(
    broker: tuple[str, int], config: MqttConfig, store_id: str
) -> None:
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, broker[0], str(broker[1]), store_id],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=REPO_ROOT,
    )
    watcher: Subscriber | None = None
    try:
        assert child.stdout is not None
        line = child.stdout.readline()
        assert line.strip() == "ready", child.stderr.read() if child.stderr else line
        watcher = Subscriber(broker, f"o2o/{store_id}/status/edge")
        assert status_of(watcher.get()).state is ComponentState.ONLINE
        started = time.monotonic()
        os.kill(child.pid, signal.SIGKILL)
        child.wait(TIMEOUT_S)
        offline = watcher.get(timeout_s=1.5 * config.keepalive_s + 2)
        assert status_of(offline) == ComponentStatus(component="edge", state=ComponentState.OFFLINE)
        assert time.monotonic() - started < 1.5 * config.keepalive_s + 2
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        if watcher is not None:
            watcher.close()
        clear_retained(config, store_id, "edge")


# -- without a broker ----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_publish_while_disconnected_queues_up_to_the_bound(store_id: str) -> None:
    config = MqttConfig(host="127.0.0.1", port=free_port())
    connection = MqttConnection(config, store_id, max_queued_messages=2)
    connection.start()
    try:
        assert not connection.wait_connected(0.3)
        assert connection.last_error == "cannot reach the broker"
        assert connection.publish(f"o2o/{store_id}/events/x", "1")
        assert connection.publish(f"o2o/{store_id}/events/x", "2")
        assert not connection.publish(f"o2o/{store_id}/events/x", "3")  # queue full
        assert not connection.publish(f"o2o/{store_id}/events/x", "4", qos=0)  # QoS 0 offline
        counters = connection.counters()
        assert (counters.published, counters.dropped) == (2, 2)
    finally:
        connection.stop()


def test_refused_connack_is_not_connected(store_id: str) -> None:
    """A broker that answers CONNECT with "not authorised" (CONNACK return code 5)."""
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]

    def refuse() -> None:
        conn, _ = server.accept()
        with conn:
            conn.recv(1024)
            conn.sendall(bytes([0x20, 0x02, 0x00, 0x05]))
            time.sleep(0.5)

    thread = threading.Thread(target=refuse, daemon=True)
    thread.start()
    connection = MqttConnection(MqttConfig(host="127.0.0.1", port=port), store_id)
    connection.start()
    try:
        thread.join(TIMEOUT_S)
        assert not connection.connected
        assert "Not authorized" in connection.last_error
    finally:
        connection.stop()
        server.close()


def test_driver_delivers_all_reads_before_counting_the_message(store_id: str) -> None:
    """The replayer waits on messages_received: it may only move once the reads are out."""
    reader = ZebraMqttReader(id="door-1", kind="zebra_mqtt", topic="z", antennas={1: "exit"})
    connection = MqttConnection(MqttConfig(), store_id)  # never started: no I/O here
    seen_counter: list[int] = []

    def sink(read: TagRead) -> None:
        seen_counter.append(driver.messages_received)
        if read.epc == "E200":
            raise RuntimeError("sink failed")

    driver = MqttReaderDriver(reader, connection, VirtualClock(ZEBRA_TS_MS), sink, lambda s: None)
    ts = "2023-02-24T10:14:42.851+0000"
    batch = [zebra_event(f"E20{n}", 1, -60, ts) for n in range(1, 4)]
    driver.handle_message("z", json.dumps(batch).encode())
    assert seen_counter == [0, 0, 0]
    assert driver.messages_received == 1
    with pytest.raises(RuntimeError):  # the connection's dispatcher logs and counts it
        driver.handle_message("z", json.dumps(zebra_event("E200", 1, -60, ts)).encode())
    assert driver.messages_received == 2


def test_a_failing_handler_is_counted_and_the_loop_goes_on(
    connection: MqttConnection, store_id: str
) -> None:
    got: list[bytes] = []

    def handler(_topic: str, payload: bytes) -> None:
        if payload == b"boom":
            raise ValueError("bad handler")
        got.append(payload)

    topic = f"test/{store_id}/handler"
    connection.subscribe(topic, handler)
    assert connection.wait_subscribed(topic, TIMEOUT_S)
    for payload in (b"boom", b"after"):
        assert connection.publish(topic, payload)
    wait_until(lambda: got == [b"after"], "the message after the failure")
    counters = connection.counters()
    assert counters.handler_errors == 1 and counters.received >= 2
