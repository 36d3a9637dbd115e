"""On the real broker: staff alerts reach a handheld, acknowledgements and till sales come back."""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from edge.alerts.publisher import EventPublisher
from edge.clock import VirtualClock
from edge.config.mqtt import MqttConfig
from edge.events.base import Event, parse_event
from edge.events.fusion import SalePayload
from edge.fusion.mqtt_inputs import FusionMqttInputs
from edge.fusion.sales import SaleResult
from edge.mqtt.client import MqttConnection
from edge.mqtt.topics import alert_ack_topic, alert_topic, event_topic, pos_sales_topic
from tests.fusion.fusion_store import SWEATER_NAVY_M, T0, Store, epc, store_config

pytestmark = pytest.mark.network
PREFIX = "o2o"
WAIT_S = 10.0


class Edge:
    """The engine behind one lock (the owner loop's role), publishing what it emits."""

    def __init__(self, store_id: str, connection: MqttConnection) -> None:
        self.store = Store(store_config(store_id))
        self.clock = VirtualClock(T0)
        self.publisher = EventPublisher(connection, store_id, PREFIX)
        self._lock = threading.Lock()

    def run(self, step: Callable[[Store], list[Event]]) -> list[Event]:
        with self._lock:
            events = step(self.store)
        for event in events:
            assert self.publisher.publish(event)
        return events

    def submit_ack(self, alert_id: str, staff_id: str, ts_ms: int) -> None:
        self.run(lambda store: store.ack(alert_id, staff_id, ts_ms))

    def submit_sale(self, payload: SalePayload) -> SaleResult:
        answer: list[SaleResult] = []

        def step(store: Store) -> list[Event]:
            result, events = store.sale(payload, self.clock.now_ms())
            answer.append(result)
            return events

        self.run(step)
        return answer[0]


def connect(config: MqttConfig, store_id: str, component: str) -> MqttConnection:
    connection = MqttConnection(config, store_id, component)
    connection.start()
    assert connection.wait_connected(WAIT_S), connection.last_error
    return connection


@pytest.fixture
def wiring(
    mqtt_broker: tuple[str, int], store_id: str
) -> Iterator[tuple[Edge, FusionMqttInputs, MqttConnection, queue.Queue[tuple[str, bytes]]]]:
    host, port = mqtt_broker
    config = MqttConfig(host=host, port=port)
    edge_connection = connect(config, store_id, "edge")
    handheld = connect(config, store_id, "handheld")
    edge = Edge(store_id, edge_connection)
    inputs = FusionMqttInputs(
        edge_connection,
        PREFIX,
        store_id,
        clock=edge.clock,
        submit_ack=edge.submit_ack,
        submit_sale=edge.submit_sale,
    )
    inputs.start()
    received: queue.Queue[tuple[str, bytes]] = queue.Queue()
    for topic in (f"{PREFIX}/{store_id}/alerts/+", f"{PREFIX}/{store_id}/events/#"):
        handheld.subscribe(topic, lambda t, p: received.put((t, p)))
        assert handheld.wait_subscribed(topic, WAIT_S)
    assert inputs.wait_subscribed(WAIT_S)
    try:
        yield edge, inputs, handheld, received
    finally:
        inputs.stop()
        handheld.stop()
        edge_connection.stop()


def next_on(received: queue.Queue[tuple[str, bytes]], topic: str) -> Event:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        got_topic, payload = received.get(timeout=max(deadline - time.monotonic(), 0.01))
        if got_topic == topic:
            return parse_event(payload)
    raise AssertionError(f"nothing on {topic}")


def wait_until(check: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT_S
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_alert_reaches_handheld_and_ack_round_trips(
    wiring: tuple[Edge, FusionMqttInputs, MqttConnection, queue.Queue[tuple[str, bytes]]],
    store_id: str,
) -> None:
    edge, inputs, handheld, received = wiring
    edge.run(lambda store: store.camera("cam-fit1", False, T0, "no frames for 30 s"))
    alert = next_on(received, alert_topic(PREFIX, store_id, "camera_offline"))
    assert alert.type == "alert.raised"
    assert alert.payload.zone == "fitting-1" and alert.payload.state == "open"

    ack_topic = alert_ack_topic(PREFIX, store_id)
    handheld.publish(ack_topic, b"{this is not json")
    handheld.publish(ack_topic, json.dumps({"alert_id": "gone", "staff_id": "s-1"}))
    handheld.publish(ack_topic, json.dumps({"alert_id": alert.payload.alert_id, "staff_id": "s-7"}))
    ack = next_on(received, event_topic(PREFIX, store_id, "alert.acknowledged"))
    assert (ack.payload.alert_id, ack.payload.staff_id) == (alert.payload.alert_id, "s-7")
    assert inputs.rejected["ack_invalid"] == 1
    assert edge.store.engine.alerts.stats.unknown == 1
    assert [a.state for a in edge.store.engine.open_alerts()] == ["acknowledged"]


def test_sale_over_mqtt_is_recorded_once(
    wiring: tuple[Edge, FusionMqttInputs, MqttConnection, queue.Queue[tuple[str, bytes]]],
    store_id: str,
) -> None:
    edge, inputs, handheld, received = wiring
    sweater = epc(SWEATER_NAVY_M, 1)
    sale = {
        "sale_id": "mqtt-1",
        "till_id": "till-9",
        "total": 89.0,
        "lines": [{"epc": sweater, "amount": 89.0}],
    }
    topic = pos_sales_topic(PREFIX, store_id)
    handheld.publish(topic, json.dumps({**sale, "total": 1.0}))  # invalid: dropped
    handheld.publish(topic, json.dumps(sale))
    handheld.publish(topic, json.dumps(sale))  # a till retrying
    recorded = next_on(received, event_topic(PREFIX, store_id, "sale"))
    assert recorded.payload.sale_id == "mqtt-1"
    wait_until(lambda: inputs.accepted["sale_duplicate"] == 1)
    assert inputs.accepted["sale_recorded"] == 1
    assert inputs.rejected["sale_invalid"] == 1
    assert edge.store.engine.stats.sales_recorded == 1
