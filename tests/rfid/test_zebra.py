"""Zebra FX IoT Connector tag data and management events -> TagReads and reader notices.

Payloads from the vendor's documents, field for field, are in tests/rfid/vendor_corpus/zebra
(test_vendor_corpus.py); these tests vary single fields around one event.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from edge.events.base import datetime_to_ms
from edge.rfid.mqtt_payloads import MalformedReason, ReaderNotice
from edge.rfid.reads import NO_ANTENNA, ReaderState, TagDirection, TagRead
from edge.rfid.zebra import OPERATING_MODES, parse_zebra

TS = "2023-02-24T10:14:42.851+0000"
TS_MS = 1677233682851
DRIFT_MS = 5000


def tag_event(**overrides: Any) -> dict[str, Any]:
    """One tag data event as the IoT Connector publishes it."""
    data = {
        "CRC": "6f5e",
        "PC": "3000",
        "antenna": 1,
        "channel": 922.75,
        "eventNum": 917,
        "format": "epc",
        "idHex": "3074257bf7194e4000001a85",
        "peakRssi": -56,
        "phase": 12.3,
        "reads": 3,
    }
    data.update(overrides.pop("data", {}))
    event = {"data": data, "timestamp": TS, "type": "INVENTORY"}
    event.update(overrides)
    return event


def parse(document: Any, received_ms: int = TS_MS) -> Any:
    return parse_zebra(json.dumps(document).encode(), "dock-1", received_ms, DRIFT_MS)


def test_single_event() -> None:
    result = parse(tag_event())
    assert result.reads == [TagRead("dock-1", 1, "3074257BF7194E4000001A85", -56.0, TS_MS)]
    assert result.errors == []
    assert result.ignored == []
    assert result.clock_drift_corrected == 0


def test_batch_with_tid_user_xpc() -> None:
    batch = [
        tag_event(),
        tag_event(
            data={
                "idHex": "E280116060000209A05A4DED",
                "antenna": 3,
                "peakRssi": -71,
                "TID": "e2801160200074cf085f0afd",
                "USER": "0000",
                "XPC": "0000",
            },
            timestamp="2023-02-24T10:14:43.001+0000",
        ),
    ]
    result = parse(batch)
    assert result.errors == []
    assert [(r.antenna, r.epc, r.rssi_dbm, r.ts_ms) for r in result.reads] == [
        (1, "3074257BF7194E4000001A85", -56.0, TS_MS),
        (3, "E280116060000209A05A4DED", -71.0, TS_MS + 150),
    ]


def test_batch_keeps_good_elements_and_reports_each_bad_one() -> None:
    batch = [
        tag_event(),
        tag_event(data={"idHex": "30zz"}),
        "not an object",
        tag_event(data={"antenna": 0}),
        {"data": {"idHex": "3000"}, "timestamp": TS},
        tag_event(data={"peakRssi": "loud"}),
        tag_event(timestamp="yesterday"),
        tag_event(data={"idHex": "E2003016"}),
    ]
    result = parse(batch)
    assert [r.epc for r in result.reads] == ["3074257BF7194E4000001A85", "E2003016"]
    reasons = [(e.reason, e.detail) for e in result.errors]
    assert reasons == [
        (MalformedReason.BAD_EPC, "element 1: data.idHex '30zz' is not hexadecimal"),
        (MalformedReason.WRONG_SHAPE, "element 2: expected a JSON object, got a string"),
        (
            MalformedReason.BAD_ANTENNA,
            "element 3: data.antenna 0 is not an antenna port (1, 2, ...)",
        ),
        (MalformedReason.MISSING_FIELD, "element 4: type is missing"),
        (MalformedReason.BAD_RSSI, "element 5: data.peakRssi 'loud' is not a number"),
        (MalformedReason.BAD_TIMESTAMP, "element 6: timestamp 'yesterday' is not an ISO 8601 time"),
    ]


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        (tag_event(data={"idHex": ""}), MalformedReason.BAD_EPC),
        (tag_event(data={"idHex": "abc"}), MalformedReason.BAD_EPC),
        (tag_event(data={"idHex": 12}), MalformedReason.BAD_EPC),
        (tag_event(data={"antenna": "1"}), MalformedReason.BAD_ANTENNA),
        (tag_event(data={"antenna": True}), MalformedReason.BAD_ANTENNA),
        (tag_event(data={"idHex": None}), MalformedReason.MISSING_FIELD),
        (tag_event(data={"format": "tid"}), MalformedReason.BAD_EPC),
        (tag_event(data={"peakRssi": 900}), MalformedReason.BAD_RSSI),
        ({"type": "INVENTORY", "timestamp": TS, "data": "3074"}, MalformedReason.WRONG_SHAPE),
        (tag_event(type=7), MalformedReason.WRONG_SHAPE),
        ({"type": "INVENTORY", "timestamp": TS}, MalformedReason.MISSING_FIELD),
        (tag_event(timestamp=1677233682851), MalformedReason.BAD_TIMESTAMP),
    ],
    ids=[
        "empty-epc",
        "odd-hex",
        "epc-number",
        "antenna-string",
        "antenna-bool",
        "epc-null",
        "tid-format",
        "rssi-out-of-range",
        "data-not-object",
        "type-number",
        "no-data",
        "epoch-timestamp",
    ],
)
def test_malformed_event(event: dict[str, Any], reason: MalformedReason) -> None:
    result = parse(event)
    assert result.reads == []
    assert [e.reason for e in result.errors] == [reason]


def test_non_tag_types_are_recognised_and_ignored() -> None:
    batch = [
        {"type": "HEARTBEAT", "timestamp": TS, "data": {"uptime": "1:02:03"}},
        tag_event(),
        {"type": "GPI", "timestamp": TS, "data": {"pin": 1, "state": "HIGH"}},
    ]
    result = parse(batch)
    assert len(result.reads) == 1
    assert result.ignored == ["HEARTBEAT", "GPI"]
    assert result.notices == [ReaderNotice("HEARTBEAT"), ReaderNotice("GPI")]
    assert result.errors == []


@pytest.mark.parametrize("mode", sorted(OPERATING_MODES))
def test_every_operating_mode_reports_tags(mode: str) -> None:
    """The event type is the radio's operating mode; every mode's events carry tags."""
    for spelling in (mode, mode.lower()):
        result = parse(tag_event(type=spelling))
        assert result.reads == [TagRead("dock-1", 1, "3074257BF7194E4000001A85", -56.0, TS_MS)]
        assert result.ignored == []


def test_antenna_and_rssi_switched_off() -> None:
    """SIMPLE mode reports no metadata by default; CUSTOM mode reports what tagMetaData lists."""
    bare = {"data": {"eventNum": 1, "format": "epc", "idHex": "E2003016"}, "timestamp": TS}
    result = parse([{**bare, "type": "SIMPLE"}, tag_event(data={"peakRssi": None})])
    assert result.reads == [
        TagRead("dock-1", NO_ANTENNA, "E2003016", None, TS_MS),
        TagRead("dock-1", 1, "3074257BF7194E4000001A85", None, TS_MS),
    ]
    assert result.errors == []


@pytest.mark.parametrize(
    ("direction", "expected"),
    [
        ("IN", TagDirection.IN),
        ("OUT", TagDirection.OUT),
        ("out", TagDirection.OUT),
        ("NONE", None),
        ("UNKNOWN", None),
        ("ERROR", None),
        (3, None),
    ],
)
def test_directionality_keeps_the_direction(direction: object, expected: TagDirection) -> None:
    result = parse(tag_event(type="DIRECTIONALITY", data={"direction": direction}))
    assert [r.direction for r in result.reads] == [expected]


def test_event_numbers_of_data_events_are_collected_malformed_ones_too() -> None:
    batch = [
        tag_event(data={"eventNum": 7}),
        tag_event(data={"eventNum": 8, "idHex": "xx"}),
        tag_event(data={"eventNum": None}),
        tag_event(data={"eventNum": True}),
        {"type": "heartbeat", "timestamp": TS, "eventNum": 99, "data": {"eventNum": 98}},
        tag_event(data={"eventNum": 10}),
    ]
    result = parse(batch)
    assert result.event_nums == [7, 8, 10]
    assert len(result.reads) == 4 and len(result.errors) == 1


@pytest.mark.parametrize(
    ("radio_control", "state", "detail"),
    [
        (
            {"radioActivity": "active", "radioConnection": "connected"},
            "inventorying",
            "radio active",
        ),
        ({"radioActivity": "inactive", "radioConnection": "connected"}, "idle", "radio inactive"),
        (
            {"radioActivity": "active", "radioConnection": "disconnected"},
            "idle",
            "radio disconnected",
        ),
        ({"cpu": 3}, None, ""),
        ("garbage", None, ""),
    ],
    ids=["active", "inactive", "radio-disconnected", "no-activity-field", "not-an-object"],
)
def test_heartbeat_says_whether_the_radio_inventories(
    radio_control: object, state: str | None, detail: str
) -> None:
    heartbeat = {
        "type": "heartbeat",
        "timestamp": TS,
        "component": "RG",
        "eventNum": 12,
        "data": {"radio_control": radio_control, "system": {"cpu": {"system": 4, "user": 9}}},
    }
    result = parse(heartbeat)
    assert result.reads == [] and result.errors == []
    expected_state = ReaderState(state) if state else None
    assert result.notices == [ReaderNotice("heartbeat", expected_state, detail=detail)]


def test_error_and_warning_events_carry_their_message() -> None:
    events = [
        {"type": "error", "timestamp": TS, "data": {"message": "Antenna Disconnected on Port 3"}},
        {"type": "warning", "timestamp": TS, "data": {"message": "PA Temperature High @ 61 C"}},
    ]
    assert parse(events).notices == [
        ReaderNotice("error", detail="Antenna Disconnected on Port 3"),
        ReaderNotice("warning", detail="PA Temperature High @ 61 C"),
    ]


def test_drift_beyond_bound_is_replaced_by_receive_time() -> None:
    late = TS_MS + DRIFT_MS + 1
    result = parse([tag_event(), tag_event(timestamp="2023-02-24T10:14:47.851+0000")], late)
    assert [r.ts_ms for r in result.reads] == [late, TS_MS + DRIFT_MS]
    assert result.clock_drift_corrected == 1


def test_reader_clock_years_off_is_corrected() -> None:
    received = datetime_to_ms(datetime(2026, 11, 22, 8, 0, tzinfo=UTC))
    result = parse(tag_event(timestamp="1970-01-01T00:00:00.000+0000"), received)
    assert result.reads[0].ts_ms == received
    assert result.clock_drift_corrected == 1


@pytest.mark.parametrize(
    "payload",
    [b"", b"   ", b"\xff\xfe\x00garbage", b"{not json", b"[1, 2", b"null", b"42"],
    ids=["empty", "blank", "not-utf8", "broken-object", "broken-array", "null", "number"],
)
def test_garbage_payload(payload: bytes) -> None:
    result = parse_zebra(payload, "dock-1", TS_MS, DRIFT_MS)
    assert result.reads == []
    assert len(result.errors) == 1
    assert result.errors[0].reason in {MalformedReason.NOT_JSON, MalformedReason.WRONG_SHAPE}
    assert str(result.errors[0]).startswith(result.errors[0].reason.value + ": ")
