"""Zebra FX7500/FX9600/ATR7000 IoT Connector: JSON events over MQTT (pure parser).

Tag data events (the data interface) carry the reader's operating mode as their ``type``::

    {"data": {"CRC": "6f5e", "PC": "3000", "antenna": 1, "channel": 922.75, "eventNum": 917,
              "format": "epc", "idHex": "3074257bf7194e4000001a85", "peakRssi": -56,
              "phase": 12.3, "reads": 3},
     "timestamp": "2023-02-24T10:14:42.851+0000", "type": "INVENTORY"}

Every mode (``SIMPLE``, ``INVENTORY``, ``PORTAL``, ``CONVEYOR``, ``CUSTOM``, ``DIRECTIONALITY``)
reports tags this way; which metadata ``data`` carries depends on the mode and its
``tagMetaData`` list. Only ``idHex`` is always there: without ``antenna`` a read has
:data:`~edge.rfid.reads.NO_ANTENNA`, without ``peakRssi`` no RSSI. ``eventNum`` numbers the
data events; the driver counts its gaps as lost events. A DIRECTIONALITY event's
``data.direction`` (``IN``/``OUT``) is kept on the read. The connector batches events into a
JSON array.

Management events (their own interface and topic) are ``{"type": "heartbeat", "timestamp",
"component", "eventNum", "data"}`` with lower-case types (``heartbeat``, ``gpi``, ``error``,
``warning``, ``userapp``, ...): signs of life, and a heartbeat's ``radio_control`` says whether
the radio inventories. Both kinds may arrive on either topic: ``type`` tells them apart.
Sources, field by field: tests/rfid/vendor_corpus/zebra/NOTES.md.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from edge.rfid.mqtt_payloads import (
    MalformedReason,
    ParseResult,
    PayloadError,
    ReaderNotice,
    epc_from_hex,
    optional_antenna,
    optional_rssi,
    parse_message,
    require,
    require_object,
    require_str,
    timestamp_ms,
)
from edge.rfid.reads import ReaderState, TagDirection, TagRead

OPERATING_MODES = frozenset(
    {"SIMPLE", "INVENTORY", "PORTAL", "CONVEYOR", "CUSTOM", "DIRECTIONALITY"}
)
"""The ``type`` of a tag data event is the operating mode the radio runs in."""

DIRECTIONS = {"IN": TagDirection.IN, "OUT": TagDirection.OUT}
"""DIRECTIONALITY mode also reports NONE, UNKNOWN and ERROR: no direction for a gate rule."""

RADIO_ACTIVITY = {"active": ReaderState.INVENTORYING, "inactive": ReaderState.IDLE}
"""Heartbeat ``radio_control.radioActivity``: the current inventory state."""


def parse_zebra(payload: bytes, reader_id: str, received_ms: int, max_drift_ms: int) -> ParseResult:
    """Tag reads and reader notices of one MQTT message; bad events are reported, good kept."""
    return parse_message(
        payload, partial(_event, reader_id), received_ms, max_drift_ms, _data_event_num
    )


def _event(reader_id: str, obj: dict[str, Any]) -> TagRead | ReaderNotice:
    event_type = require_str(obj, "type", "type")
    if event_type.upper() in OPERATING_MODES:
        return _tag_event(reader_id, obj)
    return _management_event(event_type, obj)


def _tag_event(reader_id: str, obj: dict[str, Any]) -> TagRead:
    data = require_object(obj, "data", "data")
    tag_format = data.get("format")
    if tag_format is not None and str(tag_format).lower() != "epc":
        raise PayloadError(
            MalformedReason.BAD_EPC,
            f"data.format {tag_format!r}: data.idHex is not an EPC (set the tag ID format to EPC)",
        )
    return TagRead(
        reader_id=reader_id,
        antenna=optional_antenna(data, "antenna", "data.antenna"),
        epc=epc_from_hex(require(data, "idHex", "data.idHex"), "data.idHex"),
        rssi_dbm=optional_rssi(data, "peakRssi", "data.peakRssi"),
        ts_ms=timestamp_ms(require(obj, "timestamp", "timestamp"), "timestamp"),
        direction=_direction(data.get("direction")),
    )


def _direction(value: Any) -> TagDirection | None:
    return DIRECTIONS.get(value.upper()) if isinstance(value, str) else None


def _data_event_num(obj: dict[str, Any]) -> int | None:
    """``data.eventNum`` of a tag data event (management events number their own)."""
    event_type = obj.get("type")
    data = obj.get("data")
    if not isinstance(event_type, str) or event_type.upper() not in OPERATING_MODES:
        return None
    if not isinstance(data, dict):
        return None
    number = data.get("eventNum")
    if isinstance(number, bool) or not isinstance(number, int):
        return None
    return number


def _management_event(event_type: str, obj: dict[str, Any]) -> ReaderNotice:
    data = obj.get("data")
    if not isinstance(data, dict):
        return ReaderNotice(event_type)
    if event_type.lower() == "heartbeat":
        return _heartbeat(event_type, data)
    message = data.get("message")
    if isinstance(message, str):
        return ReaderNotice(event_type, detail=message)
    return ReaderNotice(event_type)


def _heartbeat(event_type: str, data: dict[str, Any]) -> ReaderNotice:
    radio = data.get("radio_control")
    if not isinstance(radio, dict):
        return ReaderNotice(event_type)
    connection = radio.get("radioConnection")
    if isinstance(connection, str) and connection.lower() == "disconnected":
        return ReaderNotice(event_type, ReaderState.IDLE, detail="radio disconnected")
    activity = radio.get("radioActivity")
    if not isinstance(activity, str):
        return ReaderNotice(event_type)
    state = RADIO_ACTIVITY.get(activity.lower())
    return ReaderNotice(event_type, state, detail=f"radio {activity}")
