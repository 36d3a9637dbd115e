"""What the Zebra/Impinj drivers make of a parsed message: reads by zone, health statuses,
lost events, counts by reason (no broker: the MQTT driver's handler is called directly)."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from edge.clock import VirtualClock
from edge.config.mqtt import MqttConfig
from edge.config.readers import ZebraMqttReader
from edge.mqtt.client import MqttConnection
from edge.rfid.event_delivery import EventSequence
from edge.rfid.mqtt_reader import MqttReaderDriver
from edge.rfid.reads import NO_ANTENNA, ReaderSignal, ReaderState, ReaderStatus, TagRead

TS = "2023-02-24T10:14:42.851+0000"
TS_MS = 1677233682851


@pytest.mark.parametrize(
    ("numbers", "lost", "resets"),
    [
        ([1, 2, 3], 0, 0),
        ([1, 2, 5], 2, 0),
        ([7, 9, 12], 3, 0),
        ([5, 6, 1, 2], 0, 1),  # the reader restarted its numbering
        ([5, 6, 6, 7], 0, 1),  # delivered twice
        ([], 0, 0),
    ],
)
def test_event_sequence_counts_gaps(numbers: list[int], lost: int, resets: int) -> None:
    sequence = EventSequence()
    assert sum(sequence.observe(n) for n in numbers) == lost
    assert (sequence.lost, sequence.resets) == (lost, resets)


def event(antenna: int | None, num: int, **data: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"eventNum": num, "format": "epc", "idHex": "3074257bf7194e4000001a85"}
    if antenna is not None:
        body["antenna"] = antenna
    body.update(data)
    return {"data": body, "timestamp": TS, "type": "CUSTOM"}


class Sinks:
    def __init__(self) -> None:
        self.reads: list[TagRead] = []
        self.statuses: list[ReaderStatus] = []


def driver_for(sinks: Sinks, **config: Any) -> MqttReaderDriver:
    reader = ZebraMqttReader.model_validate(
        {"id": "z1", "kind": "zebra_mqtt", "topic": "z", "antennas": {1: "exit"}, **config}
    )
    connection = MqttConnection(MqttConfig(), "store-1")  # never started: no I/O here
    return MqttReaderDriver(
        reader, connection, VirtualClock(TS_MS), sinks.reads.append, sinks.statuses.append
    )


def test_reads_without_antenna_need_a_default_zone(caplog: pytest.LogCaptureFixture) -> None:
    sinks = Sinks()
    driver = driver_for(sinks)
    with caplog.at_level(logging.WARNING):
        driver.handle_message("z", json.dumps([event(None, 1), event(3, 2), event(1, 3)]).encode())
    assert [r.antenna for r in sinks.reads] == [1]
    stats = driver.stats()
    assert (stats.no_antenna, stats.unmapped_antenna, stats.reads) == (1, 1, 1)
    assert "no default_zone configured" in caplog.text
    with_default = Sinks()
    driver = driver_for(with_default, default_zone="exit")
    driver.handle_message("z", json.dumps([event(None, 1)]).encode())
    assert [r.antenna for r in with_default.reads] == [NO_ANTENNA]


def test_event_number_gaps_become_lost_events_and_a_status() -> None:
    sinks = Sinks()
    driver = driver_for(sinks)
    driver.handle_message("z", json.dumps([event(1, 10), event(1, 11)]).encode())
    driver.handle_message("z", json.dumps([event(1, 15), event(1, 16)]).encode())
    driver.handle_message("z", json.dumps(event(1, 1)).encode())  # reboot
    stats = driver.stats()
    assert (stats.lost_events, stats.event_num_resets) == (3, 1)
    assert sinks.statuses == [
        ReaderStatus(
            "z1",
            True,
            TS_MS,
            "3 events missing from the event numbers",
            ReaderSignal.READER,
            None,
            3,
        )
    ]


def test_signs_of_life_one_per_message_states_always() -> None:
    sinks = Sinks()
    driver = driver_for(sinks)
    heartbeat = {
        "type": "heartbeat",
        "timestamp": TS,
        "data": {"radio_control": {"radioActivity": "inactive", "radioConnection": "connected"}},
    }
    gpi = {"type": "gpi", "timestamp": TS, "data": {"pin": 1, "state": "HIGH"}}
    driver.handle_message("z", json.dumps([gpi, gpi, heartbeat]).encode())
    driver.handle_message("z", json.dumps([gpi, event(1, 1)]).encode())  # the read says enough
    assert [(s.detail, s.state) for s in sinks.statuses] == [
        ("heartbeat event: radio inactive", ReaderState.IDLE),
        ("gpi event", None),
    ]
    assert all(s.signal is ReaderSignal.READER and s.connected for s in sinks.statuses)
    assert driver.stats().ignored == {"gpi": 3, "heartbeat": 1}
