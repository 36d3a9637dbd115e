"""Impinj R700 IoT device interface events -> TagReads and reader notices.

Payloads from the vendor's documents, field for field, are in tests/rfid/vendor_corpus/impinj
(test_vendor_corpus.py); these tests vary single fields around one event.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from edge.rfid.impinj import parse_impinj
from edge.rfid.mqtt_payloads import MalformedReason, ReaderNotice
from edge.rfid.reads import NO_ANTENNA, ReaderState, TagRead

EPC = "3074257BF7194E4000001A85"
EPC_B64 = base64.b64encode(bytes.fromhex(EPC)).decode()  # "MHQle/cZTkAAABqF"
SEEN = "2024-03-05T14:02:11.480112Z"
SEEN_MS = 1709647331480
EVENT_TS = "2024-03-05T14:02:11.482915843Z"  # the device writes nanoseconds
DRIFT_MS = 5000


def tag_inventory(**tag: Any) -> dict[str, Any]:
    """A tag inventory event; keywords set fields of ``tagInventoryEvent`` (None removes one),
    except ``timestamp`` and ``eventType``, which are the event's own."""
    own = {key: tag.pop(key) for key in ("timestamp", "eventType") if key in tag}
    body = {
        "epc": EPC_B64,
        "epcHex": EPC,
        "antennaPort": 1,
        "antennaName": "1",
        "peakRssiCdbm": -5650,
        "frequency": 920250,
        "transmitPowerCdbm": 3000,
        "lastSeenTime": SEEN,
    }
    body.update(tag)
    event = {
        "timestamp": EVENT_TS,
        "hostname": "impinj-14-2b-9c",
        "eventType": "tagInventory",
        "tagInventoryEvent": {k: v for k, v in body.items() if v is not None},
    }
    event.update(own)
    return {k: v for k, v in event.items() if v is not None}


def parse(*events: Any, received_ms: int = SEEN_MS) -> Any:
    payload = "\n".join(json.dumps(e) for e in events).encode()
    return parse_impinj(payload, "door-1", received_ms, DRIFT_MS)


def test_tag_inventory_event() -> None:
    result = parse(tag_inventory())
    assert result.reads == [TagRead("door-1", 1, EPC, -56.5, SEEN_MS)]
    assert result.errors == [] and result.ignored == []


def test_epc_hex_is_preferred_over_base64() -> None:
    other = base64.b64encode(bytes.fromhex("E2003016")).decode()
    assert parse(tag_inventory(epc=other)).reads[0].epc == EPC


def test_base64_epc_when_hex_is_absent() -> None:
    result = parse(tag_inventory(epcHex=None, epc="4gAwFmYTASEVUHTv"))
    assert result.reads[0].epc == "E200301666130121155074EF"


def test_event_timestamp_when_last_seen_is_absent() -> None:
    result = parse(tag_inventory(lastSeenTime=None))
    assert result.reads[0].ts_ms == SEEN_MS + 3  # .482915843 rounds to .483


def test_newline_delimited_events_in_one_message() -> None:
    result = parse(
        tag_inventory(),
        {
            "timestamp": EVENT_TS,
            "eventType": "antennaDisconnected",
            "antennaDisconnectedEvent": {"antennaPort": 3},
        },
        tag_inventory(epcHex="E280116060000209A05A4DED", antennaPort=2, peakRssiCdbm=-7020),
        {
            "timestamp": EVENT_TS,
            "eventType": "inventoryStatus",
            "inventoryStatusEvent": {"inventoryStatus": "running"},
        },
    )
    assert [(r.epc, r.antenna, r.rssi_dbm) for r in result.reads] == [
        (EPC, 1, -56.5),
        ("E280116060000209A05A4DED", 2, -70.2),
    ]
    assert result.ignored == ["antennaDisconnected", "inventoryStatus"]
    assert result.notices == [
        ReaderNotice("antennaDisconnected", detail='{"antennaPort":3}'),
        ReaderNotice("inventoryStatus", ReaderState.INVENTORYING, detail="running"),
    ]
    assert result.errors == []


def test_other_event_types_are_not_tags() -> None:
    events: list[dict[str, Any]] = [
        {"timestamp": EVENT_TS, "eventType": kind, f"{kind}Event": {}}
        for kind in ("antennaConnected", "antennaDisconnected", "inventoryStatus", "overflow")
    ]
    result = parse(*events)
    assert result.reads == []
    assert result.ignored == [
        "antennaConnected",
        "antennaDisconnected",
        "inventoryStatus",
        "overflow",
    ]


def test_bad_lines_are_reported_and_good_ones_kept() -> None:
    payload = b"\n".join(
        [
            json.dumps(tag_inventory()).encode(),
            b'{"eventType": "tagInventory", "tagInvent',  # cut off mid-line
            json.dumps(tag_inventory(epcHex=None, epc="***")).encode(),
            json.dumps(tag_inventory(antennaPort=-1)).encode(),
            json.dumps(tag_inventory(epcHex=None, epc=None)).encode(),
            json.dumps({"timestamp": EVENT_TS, "eventType": "tagInventory"}).encode(),
            json.dumps(tag_inventory(peakRssiCdbm=float("nan"))).encode(),
            json.dumps(tag_inventory(antennaPort=4)).encode(),
        ]
    )
    result = parse_impinj(payload, "door-1", SEEN_MS, DRIFT_MS)
    assert [r.antenna for r in result.reads] == [1, 4]
    messages = [str(e) for e in result.errors]
    assert messages[0].startswith("not_json: line 2: not JSON (")
    assert messages[1:] == [
        "bad_epc: line 3: tagInventoryEvent.epc '***' is not base64",
        "bad_antenna: line 4: tagInventoryEvent.antennaPort -1 is not an antenna port (1, 2, ...)",
        "missing_field: line 5: tagInventoryEvent.epcHex or .epc is missing",
        "missing_field: line 6: tagInventoryEvent is missing",
        "bad_rssi: line 7: tagInventoryEvent.peakRssiCdbm nan is not a number",
    ]


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        ({"timestamp": EVENT_TS, "tagInventoryEvent": {}}, MalformedReason.MISSING_FIELD),
        ({"timestamp": EVENT_TS, "hostname": "impinj-14-2b-9c"}, MalformedReason.UNKNOWN_EVENT),
        (
            {"timestamp": EVENT_TS, "tagInventoryEvent": {"epc": EPC_B64}, "overflowEvent": {}},
            MalformedReason.WRONG_SHAPE,
        ),
        ({"eventType": 5, "tagInventoryEvent": {"epc": EPC_B64}}, MalformedReason.WRONG_SHAPE),
        ({"tagInventoryEvent": "MHQle/cZTkAAABqF"}, MalformedReason.WRONG_SHAPE),
        (tag_inventory(epcHex=None, epc="MHQle/cZTk-_ABqF"), MalformedReason.BAD_EPC),
        (tag_inventory(epcHex=None, epc="MHQ=le/cZTkAAABqF"), MalformedReason.BAD_EPC),
        (tag_inventory(epcHex=None, epc="MHQle"), MalformedReason.BAD_EPC),
        (tag_inventory(epcHex="xyz"), MalformedReason.BAD_EPC),
        (tag_inventory(epcHex=None, epc=""), MalformedReason.BAD_EPC),
        (tag_inventory(antennaPort=1.5), MalformedReason.BAD_ANTENNA),
        (tag_inventory(peakRssiCdbm=9000), MalformedReason.BAD_RSSI),
        (tag_inventory(lastSeenTime=None, timestamp=None), MalformedReason.MISSING_FIELD),
        (tag_inventory(lastSeenTime="05/03/2024 14:02"), MalformedReason.BAD_TIMESTAMP),
        ({"eventType": "tagInventory", "tagInventoryEvent": [EPC]}, MalformedReason.WRONG_SHAPE),
    ],
    ids=[
        "no-event-type",
        "no-event-at-all",
        "two-events-no-type",
        "event-type-number",
        "event-not-object-no-type",
        "mixed-base64-alphabets",
        "padding-inside",
        "base64-bad-length",
        "bad-hex",
        "empty-base64",
        "antenna-float",
        "rssi-out-of-range",
        "no-time-at-all",
        "local-date-format",
        "event-not-object",
    ],
)
def test_malformed_event(event: dict[str, Any], reason: MalformedReason) -> None:
    result = parse(event)
    assert result.reads == []
    assert [e.reason for e in result.errors] == [reason]


def test_drift_correction_uses_receive_time() -> None:
    received = SEEN_MS + 60_000
    result = parse(
        tag_inventory(),
        tag_inventory(lastSeenTime="2024-03-05T14:03:09.000Z"),
        received_ms=received,
    )
    assert [r.ts_ms for r in result.reads] == [received, received - 2480]
    assert result.clock_drift_corrected == 1


def test_json_array_is_accepted_too() -> None:
    payload = json.dumps([tag_inventory(), tag_inventory(antennaPort=2)]).encode()
    assert len(parse_impinj(payload, "door-1", SEEN_MS, DRIFT_MS).reads) == 2


@pytest.mark.parametrize("payload", [b"", b"\x00\x01\x02", b"hello", b"{\n}\n{"])
def test_garbage(payload: bytes) -> None:
    result = parse_impinj(payload, "door-1", SEEN_MS, DRIFT_MS)
    assert result.reads == []
    assert result.errors and all(e.reason is MalformedReason.NOT_JSON for e in result.errors)


def test_events_are_identified_by_key_without_event_type() -> None:
    """Intel's R700 simulator and Azure's R700 adapter send and read events this way."""
    event = tag_inventory(eventType=None)
    assert "eventType" not in event
    status = {"timestamp": EVENT_TS, "inventoryStatusEvent": {"status": "idle"}}
    result = parse(event, status)
    assert result.reads == [TagRead("door-1", 1, EPC, -56.5, SEEN_MS)]
    assert result.notices == [ReaderNotice("inventoryStatus", ReaderState.IDLE, detail="idle")]


def test_every_tag_field_but_the_epc_may_be_switched_off() -> None:
    """eventConfig.tagInventory switches each field; by default epcHex and lastSeenTime are
    off, so a default event has the base64 EPC and the event's timestamp only."""
    bare = {
        "timestamp": EVENT_TS,
        "eventType": "tagInventory",
        "tagInventoryEvent": {"epc": EPC_B64},
    }
    result = parse(bare)
    assert result.reads == [TagRead("door-1", NO_ANTENNA, EPC, None, SEEN_MS + 3)]
    assert result.errors == []


@pytest.mark.parametrize(
    "epc",
    ["MHQle/cZTkAAABqF", "MHQle_cZTkAAABqF", "4gAwFmYTASEVUHTv", "NAA=", "NAA"],
    ids=["standard", "url-safe", "no-special-chars", "padded", "unpadded"],
)
def test_standard_and_url_safe_base64(epc: str) -> None:
    result = parse(tag_inventory(epcHex=None, epc=epc))
    assert (
        result.reads[0].epc
        == base64.urlsafe_b64decode(epc.replace("+", "-").replace("/", "_") + "=" * (-len(epc) % 4))
        .hex()
        .upper()
    )


@pytest.mark.parametrize(
    ("body", "state"),
    [
        ({"status": "running"}, ReaderState.INVENTORYING),
        ({"status": "armed"}, ReaderState.ARMED),
        ({"status": "idle"}, ReaderState.IDLE),
        ({"inventoryStatus": "idle"}, ReaderState.IDLE),
        ({"status": "paused"}, None),
        ({}, None),
    ],
    ids=["running", "armed", "idle", "intel-simulator-key", "unknown-value", "empty"],
)
def test_inventory_status_is_a_reader_state(body: dict[str, Any], state: ReaderState) -> None:
    result = parse(
        {"timestamp": EVENT_TS, "eventType": "inventoryStatus", "inventoryStatusEvent": body}
    )
    assert [n.state for n in result.notices] == [state]


def test_inventory_terminated_means_not_inventorying() -> None:
    result = parse({"timestamp": EVENT_TS, "inventoryTerminatedEvent": {"reason": "stopTrigger"}})
    assert result.notices == [
        ReaderNotice("inventoryTerminated", ReaderState.IDLE, detail='{"reason":"stopTrigger"}')
    ]


def test_overflow_reports_the_purged_events() -> None:
    overflow = {
        "firstEventTimestamp": "2024-03-05T14:00:00.000Z",
        "lastEventTimestamp": "2024-03-05T14:01:00.000Z",
        "eventsPurged": 1200,
        "eventsRemaining": 5000,
    }
    result = parse(
        {"timestamp": EVENT_TS, "eventType": "overflow", "overflowEvent": overflow},
        {"timestamp": EVENT_TS, "eventType": "overflow", "overflowEvent": {"eventsPurged": -3}},
    )
    assert [(n.event_type, n.lost_events) for n in result.notices] == [
        ("overflow", 1200),
        ("overflow", 0),
    ]


def test_unknown_event_types_are_signs_of_life_not_errors() -> None:
    """A newer firmware's event type is counted, not rejected."""
    result = parse(
        {"timestamp": EVENT_TS, "eventType": "somethingNew"},
        {"timestamp": EVENT_TS, "tagLocationEntryEvent": {"epcHex": EPC}},
    )
    assert result.errors == []
    assert result.ignored == ["somethingNew", "tagLocationEntry"]
