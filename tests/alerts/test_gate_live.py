"""The exit gate through the composition root and the real broker: a Zebra reader's exit
reads light the gate (retained on ``gate/{exit}/alarm``) while the shopper is in the door,
and a handheld's acknowledgement with an outcome turns it off and closes the alarm."""

from __future__ import annotations

import json
import queue
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from edge.app.compose import Edge, EdgeOptions
from edge.config.loader import parse_store_config
from edge.config.mqtt import MqttConfig
from edge.events.base import Event, parse_event
from edge.mqtt.client import MqttConnection
from edge.mqtt.topics import alert_ack_topic, gate_alarm_topic
from tests.edge_harness import private_store, running_edge
from tests.fusion.live_edge import Collector

pytestmark = pytest.mark.network
WAIT_S = 10.0
SWEATER = "3074257BF7194E4000001A85"  # SGTIN-96, GTIN 80614141123458


def zebra(epc: str, antenna: int, num: int) -> bytes:
    now = datetime.now(UTC)
    stamp = f"{now:%Y-%m-%dT%H:%M:%S}.{now.microsecond // 1000:03d}+0000"
    data = {"eventNum": num, "format": "epc", "idHex": epc.lower(), "antenna": antenna}
    return json.dumps(
        {"data": {**data, "peakRssi": -52}, "timestamp": stamp, "type": "INVENTORY"}
    ).encode()


@pytest.fixture
def edge_and_handheld(
    mqtt_broker: tuple[str, int], store_id: str, tmp_path: Path
) -> Iterator[tuple[Edge, MqttConnection, str]]:
    host, port = mqtt_broker
    data: dict[str, Any] = {
        "store_id": store_id,
        "data_dir": str(tmp_path),
        "mqtt": {"host": host, "port": port},
        "zones": [{"id": "shelf-a", "kind": "shelf"}, {"id": "exit", "kind": "exit"}],
        "readers": [
            {
                "id": "door",
                "kind": "zebra_mqtt",
                "topic": "zebra/door/data",
                "antennas": {1: "exit", 2: "shelf-a"},
            }
        ],
    }
    with private_store(parse_store_config(data), store_id) as private:
        handheld = MqttConnection(MqttConfig(host=host, port=port), store_id, "handheld")
        handheld.start()
        assert handheld.wait_connected(WAIT_S)
        options = EdgeOptions(sinks=[Collector()], sync=False)
        try:
            with running_edge(private.config, options) as edge:
                assert edge.runtime.store_inputs.wait_subscribed(WAIT_S)
                yield edge, handheld, private.config.readers[0].topic  # type: ignore[union-attr]
        finally:
            handheld.stop()


def next_event(got: queue.Queue[bytes]) -> Event:
    return parse_event(got.get(timeout=WAIT_S))


def test_exit_reads_light_the_gate_and_an_outcome_closes_it(
    edge_and_handheld: tuple[Edge, MqttConnection, str], store_id: str
) -> None:
    edge, handheld, reader_topic = edge_and_handheld
    light_topic = gate_alarm_topic("o2o", store_id, "exit")
    light: queue.Queue[bytes] = queue.Queue()
    handheld.subscribe(light_topic, lambda _t, p: light.put(p))
    assert handheld.wait_subscribed(light_topic, WAIT_S)
    handheld.publish(reader_topic, zebra(SWEATER, 2, 1))  # on its shelf first
    time.sleep(0.3)
    handheld.publish(reader_topic, zebra(SWEATER, 1, 2))
    handheld.publish(reader_topic, zebra(SWEATER, 1, 3))
    on = next_event(light)
    assert on.type == "gate.alarm"
    assert (on.payload.state, on.payload.reason, on.payload.exit) == ("on", "opened", "exit")
    assert [item.epc for item in on.payload.items] == [SWEATER]
    assert on.payload.items[0].gtin == "80614141123458"
    alarm_id = on.payload.alarm_id
    [alarm] = edge.store.gate_alarms()
    assert alarm.alarm_id == alarm_id and alarm.state == "on"
    assert edge.owner.call(lambda core: dict(core.gate.stats))["alarmed"] == 1  # /metrics

    ack = {"alert_id": alarm_id, "staff_id": "s-7", "outcome": "recovered"}
    handheld.publish(alert_ack_topic("o2o", store_id), json.dumps(ack))
    off = next_event(light)
    assert (off.payload.state, off.payload.reason) == ("off", "acknowledged")
    closed = next_event(light)
    assert (closed.payload.reason, closed.payload.outcome) == ("closed", "recovered")
    assert closed.payload.staff_id == "s-7"
    assert edge.store.gate_alarms() == []

    # The topic is retained: a light that connects now sees the last state, off.
    late: queue.Queue[bytes] = queue.Queue()
    lamp = MqttConnection(handheld_config(handheld), store_id, "lamp")
    lamp.start()
    try:
        assert lamp.wait_connected(WAIT_S)
        lamp.subscribe(light_topic, lambda _t, p: late.put(p))
        retained = next_event(late)
        assert retained.payload.state == "off" and retained.payload.alarm_id == alarm_id
    finally:
        lamp.stop()
        handheld.publish(light_topic, b"", retain=True)  # leave no retained message behind


def handheld_config(connection: MqttConnection) -> MqttConfig:
    return connection.config
