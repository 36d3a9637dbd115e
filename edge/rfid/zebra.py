"""Zebra FX-series IoT Connector: JSON tag data events over MQTT (pure parser).

One tag data event, or a JSON array of them when the connector batches::

    {"data": {"CRC": "6f5e", "PC": "3000", "antenna": 1, "channel": 922.75, "eventNum": 917,
              "format": "epc", "idHex": "3074257bf7194e4000001a85", "peakRssi": -56,
              "phase": 12.3, "reads": 3},
     "timestamp": "2023-02-24T10:14:42.851+0000", "type": "INVENTORY"}

``data`` may also carry ``TID``, ``USER`` and ``XPC`` when the connector is configured to read
them; they are not needed for tracking. Other event types on the same topic (heartbeats,
GPI, errors) are recognised by their ``type`` and ignored.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from edge.rfid.mqtt_payloads import (
    ParseResult,
    antenna_port,
    epc_from_hex,
    parse_message,
    require,
    require_object,
    require_str,
    rssi_dbm,
    timestamp_ms,
)
from edge.rfid.reads import TagRead

TAG_DATA_TYPES = frozenset({"INVENTORY", "SIMPLE"})
"""``SIMPLE`` is what older IoT Connector firmware calls the same tag data event."""


def parse_zebra(payload: bytes, reader_id: str, received_ms: int, max_drift_ms: int) -> ParseResult:
    """Tag reads of one MQTT message; bad events are reported and the good ones kept."""
    return parse_message(payload, partial(_tag_event, reader_id), received_ms, max_drift_ms)


def _tag_event(reader_id: str, obj: dict[str, Any]) -> TagRead | str:
    event_type = require_str(obj, "type", "type")
    if event_type.upper() not in TAG_DATA_TYPES:
        return event_type
    data = require_object(obj, "data", "data")
    return TagRead(
        reader_id=reader_id,
        antenna=antenna_port(require(data, "antenna", "data.antenna"), "data.antenna"),
        epc=epc_from_hex(require(data, "idHex", "data.idHex"), "data.idHex"),
        rssi_dbm=rssi_dbm(require(data, "peakRssi", "data.peakRssi"), "data.peakRssi"),
        ts_ms=timestamp_ms(require(obj, "timestamp", "timestamp"), "timestamp"),
    )
