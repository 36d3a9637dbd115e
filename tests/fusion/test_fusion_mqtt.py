"""On the real broker, the edge as ``o2o-edge run`` builds it: staff alerts reach a handheld,
acknowledgements and till sales come back over MQTT."""

from __future__ import annotations

import json
import queue
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from edge.app.compose import Edge
from edge.config.mqtt import MqttConfig
from edge.events.base import Event, parse_event
from edge.mqtt.client import MqttConnection
from edge.mqtt.topics import alert_ack_topic, alert_topic, event_topic, pos_sales_topic
from tests.fusion.fusion_store import SWEATER_NAVY_M, epc, gtin
from tests.fusion.live_edge import live_edge

pytestmark = pytest.mark.network
PREFIX = "o2o"
WAIT_S = 10.0
Wiring = tuple[Edge, MqttConnection, "queue.Queue[tuple[str, bytes]]"]


def connect(config: MqttConfig, store_id: str, component: str) -> MqttConnection:
    connection = MqttConnection(config, store_id, component)
    connection.start()
    assert connection.wait_connected(WAIT_S), connection.last_error
    return connection


@pytest.fixture
def wiring(mqtt_broker: tuple[str, int], store_id: str, tmp_path: Path) -> Iterator[Wiring]:
    host, port = mqtt_broker
    handheld = connect(MqttConfig(host=host, port=port), store_id, "handheld")
    received: queue.Queue[tuple[str, bytes]] = queue.Queue()
    for topic in (f"{PREFIX}/{store_id}/alerts/+", f"{PREFIX}/{store_id}/events/#"):
        handheld.subscribe(topic, lambda t, p: received.put((t, p)))
        assert handheld.wait_subscribed(topic, WAIT_S)
    try:
        with live_edge(store_id, tmp_path) as (edge, _clock, _events):
            assert edge.runtime.store_inputs.wait_subscribed(WAIT_S)
            yield edge, handheld, received
    finally:
        handheld.stop()


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


def test_alert_reaches_handheld_and_ack_round_trips(wiring: Wiring, store_id: str) -> None:
    edge, handheld, received = wiring
    # A tablet asks for another size: the size_request alert goes to the handhelds. (Straight
    # to the store core: this store has no readers, so no stock, and the service would answer
    # "Not in this store" without an alert.)
    now_ms = edge.store.clock.now_ms()
    edge.owner.call_emitting(
        lambda core: (
            None,
            core.handle_size_request(
                "fitting-1", gtin(SWEATER_NAVY_M), size="L", colour=None, ts_ms=now_ms
            ),
        )
    )
    alert = next_on(received, alert_topic(PREFIX, store_id, "size_request"))
    assert alert.type == "alert.raised"
    assert alert.payload.zone == "fitting-1" and alert.payload.state == "open"

    inputs = edge.runtime.store_inputs
    ack_topic = alert_ack_topic(PREFIX, store_id)
    handheld.publish(ack_topic, b"{this is not json")
    handheld.publish(ack_topic, json.dumps({"alert_id": "gone", "staff_id": "s-1"}))
    handheld.publish(ack_topic, json.dumps({"alert_id": alert.payload.alert_id, "staff_id": "s-7"}))
    ack = next_on(received, event_topic(PREFIX, store_id, "alert.acknowledged"))
    assert (ack.payload.alert_id, ack.payload.staff_id) == (alert.payload.alert_id, "s-7")
    wait_until(lambda: inputs.handled == 3)
    assert inputs.rejected["ack_invalid"] == 1
    assert inputs.rejected["ack_unknown_alert"] == 1
    assert [view.alert.state for view in edge.store.open_alerts()] == ["acknowledged"]


def test_sale_over_mqtt_is_recorded_once(wiring: Wiring, store_id: str) -> None:
    edge, handheld, received = wiring
    inputs = edge.runtime.store_inputs
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
    assert edge.owner.call(lambda core: core.fusion.stats.sales_recorded) == 1
