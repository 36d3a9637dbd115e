"""Impinj R700 IoT device interface: JSON reader events over MQTT or the HTTP stream (pure).

A reader event holds one event object, named after its type::

    {"timestamp": "2024-03-05T14:02:11.482915Z", "hostname": "impinj-14-2b-9c",
     "eventType": "tagInventory",
     "tagInventoryEvent": {"epc": "MHQle/cZTkAAABqF", "antennaPort": 1, "antennaName": "1",
                           "peakRssiCdbm": -5650, "frequency": 920250,
                           "transmitPowerCdbm": 3000}}

The event is identified by ``eventType`` when present (``tagInventory`` -> ``tagInventoryEvent``)
and otherwise by the one ``...Event`` key present, as Impinj's own adapters and simulators
identify it. Every field of ``tagInventoryEvent`` is optional: the reader's ``eventConfig``
switches each on or off. The EPC is ``epcHex`` when reported, else the base64 ``epc`` (standard
or URL-safe alphabet); RSSI comes in centi-dBm; the read's time is ``lastSeenTime`` when
reported, else the event's ``timestamp``. Without ``antennaPort`` a read has
:data:`~edge.rfid.reads.NO_ANTENNA`, without ``peakRssiCdbm`` no RSSI.

Events without a tag become :class:`~edge.rfid.mqtt_payloads.ReaderNotice`: an
``inventoryStatusEvent`` says whether the reader inventories (``running``, ``armed``,
``idle``), an ``inventoryTerminatedEvent`` that it stopped, an ``overflowEvent`` how many
events it purged (``eventsPurged``). Several events may come in one message, one per line.
Sources, field by field: tests/rfid/vendor_corpus/impinj/NOTES.md.
"""

from __future__ import annotations

import json
from functools import partial
from typing import Any

from edge.rfid.mqtt_payloads import (
    MalformedReason,
    ParseResult,
    PayloadError,
    ReaderNotice,
    epc_from_base64,
    epc_from_hex,
    json_kind,
    optional_antenna,
    optional_rssi,
    parse_message,
    require,
    timestamp_ms,
)
from edge.rfid.reads import ReaderState, TagRead

TAG_INVENTORY = "tagInventory"
EVENT_SUFFIX = "Event"
CENTI = 0.01
INVENTORY_STATUS = {
    "running": ReaderState.INVENTORYING,
    "armed": ReaderState.ARMED,
    "idle": ReaderState.IDLE,
}
"""``inventoryStatusEvent.status``: the new state of the inventory request."""
DETAIL_CHARS = 200


def parse_impinj(
    payload: bytes, reader_id: str, received_ms: int, max_drift_ms: int
) -> ParseResult:
    """Tag reads and reader notices of one message; bad events are reported, good ones kept."""
    return parse_message(payload, partial(_event, reader_id), received_ms, max_drift_ms)


def _event(reader_id: str, obj: dict[str, Any]) -> TagRead | ReaderNotice:
    event_type, body = _identify(obj)
    if event_type == TAG_INVENTORY:
        assert body is not None
        return _tag_inventory(reader_id, obj, body)
    return _notice(event_type, body)


def _identify(obj: dict[str, Any]) -> tuple[str, dict[str, Any] | None]:
    """``(event type, event object)``; the object is None for a type that came without one."""
    declared = obj.get("eventType")
    if declared is not None:
        if not isinstance(declared, str) or not declared:
            raise PayloadError(
                MalformedReason.WRONG_SHAPE,
                f"eventType must be a non-empty string, got {json_kind(declared)}",
            )
        key = declared + EVENT_SUFFIX
        if obj.get(key) is None:
            if declared == TAG_INVENTORY:
                raise PayloadError(MalformedReason.MISSING_FIELD, f"{key} is missing")
            return declared, None
    else:
        keys = [k for k in obj if k.endswith(EVENT_SUFFIX) and k != EVENT_SUFFIX]
        if not keys:
            raise PayloadError(MalformedReason.UNKNOWN_EVENT, "no eventType and no ...Event object")
        if len(keys) > 1:
            raise PayloadError(
                MalformedReason.WRONG_SHAPE,
                f"no eventType and several event objects ({', '.join(sorted(keys))})",
            )
        key = keys[0]
        declared = key.removesuffix(EVENT_SUFFIX)
    body = obj[key]
    if not isinstance(body, dict):
        raise PayloadError(
            MalformedReason.WRONG_SHAPE, f"{key} must be an object, got {json_kind(body)}"
        )
    return declared, body


def _tag_inventory(reader_id: str, obj: dict[str, Any], tag: dict[str, Any]) -> TagRead:
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
        antenna=optional_antenna(tag, "antennaPort", "tagInventoryEvent.antennaPort"),
        epc=epc,
        rssi_dbm=optional_rssi(tag, "peakRssiCdbm", "tagInventoryEvent.peakRssiCdbm", scale=CENTI),
        ts_ms=ts_ms,
    )


def _notice(event_type: str, body: dict[str, Any] | None) -> ReaderNotice:
    if body is None:
        return ReaderNotice(event_type)
    if event_type == "inventoryStatus":
        # "status" in Impinj's interface; Intel's R700 simulator sends "inventoryStatus".
        status = body.get("status", body.get("inventoryStatus"))
        if not isinstance(status, str):
            return ReaderNotice(event_type)
        return ReaderNotice(event_type, INVENTORY_STATUS.get(status.lower()), detail=status)
    if event_type == "inventoryTerminated":
        return ReaderNotice(event_type, ReaderState.IDLE, detail=_summary(body))
    if event_type == "overflow":
        purged = body.get("eventsPurged")
        if isinstance(purged, bool) or not isinstance(purged, int) or purged < 0:
            purged = 0
        return ReaderNotice(event_type, lost_events=purged, detail=_summary(body))
    return ReaderNotice(event_type, detail=_summary(body))


def _summary(body: dict[str, Any]) -> str:
    """The event object as compact JSON, cut to a log-friendly length ("" when empty)."""
    if not body:
        return ""
    text = json.dumps(body, separators=(",", ":"), sort_keys=True, default=str)
    return text if len(text) <= DETAIL_CHARS else text[: DETAIL_CHARS - 1] + "…"
