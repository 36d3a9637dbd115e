"""Impinj R700 IoT device interface: JSON events over MQTT (pure parser).

A tag inventory event::

    {"timestamp": "2024-03-05T14:02:11.482915Z", "hostname": "impinj-14-2b-9c",
     "eventType": "tagInventory",
     "tagInventoryEvent": {"epc": "MHQle/cZTkAAABqF", "epcHex": "3074257BF7194E4000001A85",
                           "antennaPort": 1, "antennaName": "1", "peakRssiCdbm": -5650,
                           "frequency": 920250, "transmitPowerCdbm": 3000,
                           "lastSeenTime": "2024-03-05T14:02:11.480112Z"}}

``epcHex`` is preferred, the base64 ``epc`` is the fall-back; RSSI arrives in centi-dBm. The
read's time is ``lastSeenTime`` when present, else the event's ``timestamp``. The device may
put several events in one message, one JSON object per line. Other event types
(``antennaConnected``, ``antennaDisconnected``, ``inventoryStatus``, ``overflow``, ...) are
recognised by ``eventType`` and carry no tag.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from edge.rfid.mqtt_payloads import (
    ParseResult,
    antenna_port,
    epc_from_base64,
    epc_from_hex,
    parse_message,
    require,
    require_object,
    require_str,
    rssi_dbm,
    timestamp_ms,
)
from edge.rfid.reads import TagRead

TAG_INVENTORY = "tagInventory"
CENTI = 0.01


def parse_impinj(
    payload: bytes, reader_id: str, received_ms: int, max_drift_ms: int
) -> ParseResult:
    """Tag reads of one MQTT message; bad events are reported and the good ones kept."""
    return parse_message(payload, partial(_event, reader_id), received_ms, max_drift_ms)


def _event(reader_id: str, obj: dict[str, Any]) -> TagRead | str:
    event_type = require_str(obj, "eventType", "eventType")
    if event_type != TAG_INVENTORY:
        return event_type
    tag = require_object(obj, "tagInventoryEvent", "tagInventoryEvent")
    if tag.get("epcHex") is not None:
        epc = epc_from_hex(tag["epcHex"], "tagInventoryEvent.epcHex")
    else:
        path = "tagInventoryEvent.epc"
        epc = epc_from_base64(require(tag, "epc", "tagInventoryEvent.epcHex or .epc"), path)
    seen = tag.get("lastSeenTime")
    if seen is not None:
        ts_ms = timestamp_ms(seen, "tagInventoryEvent.lastSeenTime")
    else:
        ts_ms = timestamp_ms(require(obj, "timestamp", "timestamp"), "timestamp")
    return TagRead(
        reader_id=reader_id,
        antenna=antenna_port(
            require(tag, "antennaPort", "tagInventoryEvent.antennaPort"),
            "tagInventoryEvent.antennaPort",
        ),
        epc=epc,
        rssi_dbm=rssi_dbm(
            require(tag, "peakRssiCdbm", "tagInventoryEvent.peakRssiCdbm"),
            "tagInventoryEvent.peakRssiCdbm",
            scale=CENTI,
        ),
        ts_ms=ts_ms,
    )
