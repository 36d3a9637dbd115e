"""Turn the tracker's changes into ``tag.*`` events (edge/events/rfid.py)."""

from __future__ import annotations

from typing import Any

from edge.events.base import EventFactory, ms_to_datetime
from edge.events.rfid import (
    TagArrived,
    TagArrivedPayload,
    TagDeparted,
    TagDepartedPayload,
    TagEvent,
    TagMoved,
    TagMovedPayload,
    TagReturned,
    TagReturnedPayload,
)
from edge.rfid.tracker import ChangeKind, TagChange

SOURCE = "rfid/tracker"


def to_event(change: TagChange, factory: EventFactory) -> TagEvent:
    """The event for one change, stamped with the change's time (replays give equal ids)."""
    common: dict[str, Any] = {
        "epc": change.epc,
        "gtin": change.gtin,
        "zone": change.zone,
        "zone_kind": change.zone_kind.value,
        "reader_id": change.reader_id,
        "antenna": change.antenna,
        "rssi_dbm": change.rssi_dbm,
    }
    ts_ms = change.ts_ms
    if change.kind is ChangeKind.ARRIVED:
        return factory.make(
            TagArrived, ts_ms=ts_ms, source=SOURCE, payload=TagArrivedPayload(**common)
        )
    if change.kind is ChangeKind.MOVED:
        assert change.from_zone is not None
        return factory.make(
            TagMoved,
            ts_ms=ts_ms,
            source=SOURCE,
            payload=TagMovedPayload(**common, from_zone=change.from_zone),
        )
    if change.kind is ChangeKind.DEPARTED:
        assert change.last_seen_ms is not None
        return factory.make(
            TagDeparted,
            ts_ms=ts_ms,
            source=SOURCE,
            payload=TagDepartedPayload(
                **common,
                via_exit=change.via_exit,
                last_seen=ms_to_datetime(change.last_seen_ms),
                last_zone=change.last_zone,
            ),
        )
    assert change.absent_ms is not None
    return factory.make(
        TagReturned,
        ts_ms=ts_ms,
        source=SOURCE,
        payload=TagReturnedPayload(**common, absent_s=change.absent_ms / 1000),
    )
