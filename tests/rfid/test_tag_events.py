"""Tracker changes become tag.* events of the one event schema."""

from __future__ import annotations

import json

from edge.events.base import EventFactory, EventIdGenerator, datetime_to_ms, parse_event
from edge.events.rfid import TagArrived, TagDeparted, TagMoved, TagReturned
from edge.rfid.tracker import SOURCE, TagChange, TagTracker
from tests.rfid.conftest import T0_MS, epc_of, gtin, read_all, reads

EPC = epc_of(1, 7)


def _journey(tracker: TagTracker) -> list[TagChange]:
    """Shelf -> fitting room -> out through the exit -> back at the POS."""
    return read_all(
        tracker,
        reads(EPC, "shelf-a", start_ms=T0_MS, count=4, rssi=-50),
        reads(EPC, "fitting-1", start_ms=T0_MS + 12_000, count=4, rssi=-55),
        reads(EPC, "exit", start_ms=T0_MS + 20_000, count=4, rssi=-40),
        reads(EPC, "pos", start_ms=T0_MS + 90_000, count=2, rssi=-60),
    )


def _factory() -> EventFactory:
    return EventFactory("store-1", EventIdGenerator(seed=b"tag-events-test"))


def test_every_change_kind_becomes_its_event(tracker: TagTracker) -> None:
    events = [change.to_event(_factory()) for change in _journey(tracker)]

    assert [type(e) for e in events] == [TagArrived, TagMoved, TagMoved, TagDeparted, TagReturned]
    assert {e.source for e in events} == {SOURCE} == {"rfid/tracker"}
    arrived, to_room, to_exit, departed, returned = events
    assert arrived.ts_ms == T0_MS + 250
    assert arrived.payload.model_dump() == {
        "epc": EPC,
        "gtin": gtin(1),
        "zone": "shelf-a",
        "zone_kind": "shelf",
        "reader_id": "r1",
        "antenna": 1,
        "rssi_dbm": -50.0,
    }
    assert isinstance(to_room, TagMoved) and isinstance(to_exit, TagMoved)
    assert to_exit.payload.from_zone == "fitting-1"
    assert (to_room.payload.from_zone, to_room.payload.zone) == ("shelf-a", "fitting-1")
    assert isinstance(departed, TagDeparted)
    assert departed.payload.via_exit is True
    assert departed.payload.zone == departed.payload.last_zone == "exit"
    assert departed.ts_ms == T0_MS + 20_750 + 30_000
    assert datetime_to_ms(departed.payload.last_seen) == T0_MS + 20_750
    assert json.loads(departed.to_json())["payload"]["last_seen"] == "2025-11-22T08:27:00.750Z"
    assert isinstance(returned, TagReturned)
    assert returned.payload.absent_s == (90_250 - 20_750) / 1000  # its 2nd read there


def test_events_round_trip_through_json(tracker: TagTracker) -> None:
    for change in _journey(tracker):
        event = change.to_event(_factory())
        again = parse_event(event.to_json())
        assert again == event
        assert json.loads(again.to_json())["payload"]["epc"] == EPC


def test_the_same_changes_give_the_same_events() -> None:
    from tests.rfid.conftest import make_tracker

    first, second = _factory(), _factory()
    one = [c.to_event(first).to_json() for c in _journey(make_tracker())]
    two = [c.to_event(second).to_json() for c in _journey(make_tracker())]
    assert one == two
