"""Who tried on what in a busy fitting room: shoppers back to back and overlapping in one room,
checked event by event (issue 18, item 1). The rules are in edge/fusion/fitting_rooms.py and
docs/fusion.md ("Fitting-room sessions")."""

from __future__ import annotations

from typing import Any

from edge.events.base import Event
from tests.fusion.fusion_store import (
    CARDIGAN_GREY_M,
    CHINO_BEIGE_32,
    MIN,
    SWEATER_NAVY_M,
    SWEATER_RED_M,
    T0,
    S,
    Store,
    epc,
    gtin,
    kinds,
    payloads,
)


def tryons(events: list[Event]) -> list[tuple[str, str, str | None]]:
    """(type, EPC, member) of the try-on events, in order."""
    return [
        (event.type, payload["epc"], payload["member_id"])
        for event in events
        if event.type in ("tryon.started", "tryon.ended")
        for payload in [event.payload.model_dump(mode="json")]
    ]


def tablet(store: Store, zone: str) -> tuple[str | None, list[str]] | None:
    """What the room's tablet shows: (member greeted, EPCs listed); None: the room is free."""
    state = store.engine.room_state(zone)
    if state.session is None:
        return None
    member = state.member.member_id if state.member is not None else None
    return member, [item.epc for item in state.session.items]


def last_recommendation(events: list[Event]) -> dict[str, Any]:
    return payloads(events, "recommendation")[-1]


def test_member_stranger_member_in_one_room_event_by_event() -> None:
    store = Store()
    anna_1, anna_2 = epc(SWEATER_NAVY_M, 101), epc(SWEATER_RED_M, 102)
    stranger_1 = epc(CHINO_BEIGE_32, 201)
    bob_1 = epc(CARDIGAN_GREY_M, 301)
    for item in (anna_1, anna_2, bob_1):
        store.put(item, "shelf-a", T0)
    store.put(stranger_1, "shelf-b", T0)

    # 0:00 Anna is recognised by the room's camera, then brings two sweaters in.
    seen = store.seen("m-anna", "fitting-1", T0 + 1 * MIN)
    assert kinds(seen) == ["visit.started", "recommendation"]
    assert last_recommendation(seen)["member_id"] == "m-anna"
    assert tryons(store.put(anna_1, "fitting-1", T0 + 1 * MIN + 2 * S)) == [
        ("tryon.started", anna_1, "m-anna")
    ]
    assert tryons(store.put(anna_2, "fitting-1", T0 + 1 * MIN + 3 * S)) == [
        ("tryon.started", anna_2, "m-anna")
    ]
    assert tablet(store, "fitting-1") == ("m-anna", [anna_1, anna_2])

    # 6:00 Anna leaves with the navy sweater (back to the shelf) and leaves the red one.
    out = store.put(anna_1, "shelf-a", T0 + 6 * MIN)
    assert kinds(out) == ["tryon.ended", "recommendation", "tryon.outcome"]
    assert tryons(out) == [("tryon.ended", anna_1, "m-anna")]

    # 6:20 A stranger (the camera recognises nobody) comes in with a chino, while Anna's
    # session has not timed out yet: a new occupant. Anna's session ends there; the red
    # sweater is hers, left behind for staff, and not on the stranger's tablet.
    came = store.put(stranger_1, "fitting-1", T0 + 6 * MIN + 20 * S)
    assert kinds(came) == [
        "tryon.ended",
        "recommendation",
        "alert.raised:left_in_room",
        "tryon.started",
        "recommendation",
    ]
    assert tryons(came) == [
        ("tryon.ended", anna_2, "m-anna"),
        ("tryon.started", stranger_1, None),
    ]
    ended, fresh = payloads(came, "recommendation")
    assert ended["member_id"] == "m-anna" and ended["items"] == []
    assert fresh["member_id"] is None and fresh["items"] == [gtin(CHINO_BEIGE_32)]
    assert ended["session_id"] != fresh["session_id"]
    task = payloads(came, "alert.raised")[0]
    assert task["kind"] == "left_in_room" and task["cause"]["items"] == [
        {"epc": anna_2, "gtin": gtin(SWEATER_RED_M)}
    ]
    assert tablet(store, "fitting-1") == (None, [stranger_1])

    # A recognition of Anna reported late, from before this session began, is hers, not the
    # stranger's; a member on another camera is not in this room.
    assert kinds(store.seen("m-anna", "fitting-1", T0 + 6 * MIN + 10 * S)) == []
    late = store.seen("m-bob", "fitting-1", T0 + 7 * MIN, camera_id="cam-door")
    assert kinds(late) == ["visit.started"]
    assert tablet(store, "fitting-1") == (None, [stranger_1])

    # 10:00 The stranger leaves with the chino.
    assert tryons(store.put(stranger_1, "shelf-b", T0 + 10 * MIN)) == [
        ("tryon.ended", stranger_1, None)
    ]

    # 10:15 Bob walks in (recognised) before the stranger's session timed out: his own session.
    bob = store.seen("m-bob", "fitting-1", T0 + 10 * MIN + 15 * S)
    assert kinds(bob) == ["recommendation", "recommendation"]
    cleared, greeted = payloads(bob, "recommendation")
    assert cleared["member_id"] is None and cleared["items"] == []
    assert greeted["member_id"] == "m-bob" and greeted["items"] == []
    assert tablet(store, "fitting-1") == ("m-bob", [])
    assert tryons(store.put(bob_1, "fitting-1", T0 + 10 * MIN + 20 * S)) == [
        ("tryon.started", bob_1, "m-bob")
    ]
    # Anna, back at the door of the room while Bob is in it, does not take his session.
    assert kinds(store.seen("m-anna", "fitting-1", T0 + 11 * MIN)) == []
    assert tablet(store, "fitting-1") == ("m-bob", [bob_1])

    # 12:00 Staff take Anna's red sweater back to the shelf: the task is done; Bob's tablet
    # never listed it and his session goes on.
    clear = store.put(anna_2, "shelf-a", T0 + 12 * MIN)
    assert kinds(clear) == ["alert.resolved:left_in_room", "tryon.outcome"]
    assert payloads(clear, "tryon.outcome")[0]["member_id"] == "m-anna"
    assert tablet(store, "fitting-1") == ("m-bob", [bob_1])

    # 15:00 Bob leaves with the cardigan; a minute later the room is free.
    assert tryons(store.put(bob_1, "shelf-a", T0 + 15 * MIN)) == [("tryon.ended", bob_1, "m-bob")]
    store.tick(T0 + 17 * MIN)
    assert tablet(store, "fitting-1") is None

    # The whole story, once more: every try-on carries its own shopper or nobody.
    assert tryons(store.events) == [
        ("tryon.started", anna_1, "m-anna"),
        ("tryon.started", anna_2, "m-anna"),
        ("tryon.ended", anna_1, "m-anna"),
        ("tryon.ended", anna_2, "m-anna"),
        ("tryon.started", stranger_1, None),
        ("tryon.ended", stranger_1, None),
        ("tryon.started", bob_1, "m-bob"),
        ("tryon.ended", bob_1, "m-bob"),
    ]
    sessions = [p["session_id"] for p in payloads(store.events, "tryon.started")]
    assert len({sessions[0], sessions[2], sessions[3]}) == 3 and sessions[0] == sessions[1]


def test_room_without_camera_does_not_pile_up_shoppers() -> None:
    """Fitting room 2 has no camera: RFID alone tells one shopper from the next."""
    store = Store()
    first = [epc(SWEATER_NAVY_M, 401), epc(SWEATER_RED_M, 402)]
    second = [epc(CHINO_BEIGE_32, 501)]
    third = [epc(CARDIGAN_GREY_M, 601)]
    for item in first + second + third:
        store.put(item, "shelf-a", T0)
    for n, item in enumerate(first):
        store.put(item, "fitting-2", T0 + MIN + n * S)
    # The first shopper takes one item out and leaves the other; nothing moves for
    # room_vacated_after_s (300 s): the session ends, the item is left for staff.
    store.put(first[0], "shelf-a", T0 + 5 * MIN)
    assert kinds(store.tick(T0 + 10 * MIN - 1)) == []
    ended = store.tick(T0 + 10 * MIN)
    assert kinds(ended) == ["tryon.ended", "recommendation", "alert.raised:left_in_room"]
    assert payloads(ended, "tryon.ended")[0]["duration_s"] == 539.0
    assert tablet(store, "fitting-2") is None
    # The next shopper's tablet lists only their own items.
    store.put(second[0], "fitting-2", T0 + 11 * MIN)
    assert tablet(store, "fitting-2") == (None, second)
    # They take it all out; a third shopper comes in 30 s later (before the 60 s idle end):
    # an empty room that had its items leave is a new occupant's.
    store.put(second[0], "shelf-b", T0 + 15 * MIN)
    came = store.put(third[0], "fitting-2", T0 + 15 * MIN + 30 * S)
    assert kinds(came) == ["recommendation", "tryon.started", "recommendation"]
    assert tablet(store, "fitting-2") == (None, third)
    sessions = {p["session_id"] for p in payloads(store.events, "tryon.started")}
    assert len(sessions) == 3


def test_an_item_asked_for_on_the_tablet_is_a_delivery_not_a_new_shopper() -> None:
    store = Store()
    navy_m, navy_l = epc(SWEATER_NAVY_M, 701), epc(SWEATER_NAVY_M, 702)
    anna_seen = T0 + MIN
    store.put(navy_m, "shelf-a", T0)
    store.put(navy_l, "backroom", T0)
    store.seen("m-anna", "fitting-1", anna_seen)
    store.put(navy_m, "fitting-1", anna_seen + 5 * S)
    # Anna asks for another size, hands the M out to staff, and staff bring the L.
    store.size_request("fitting-1", gtin(SWEATER_NAVY_M), T0 + 5 * MIN, size="L")
    store.put(navy_m, "shelf-a", T0 + 6 * MIN)
    brought = store.put(navy_l, "fitting-1", T0 + 7 * MIN)
    assert kinds(brought) == ["tryon.started", "recommendation"]
    assert tryons(brought) == [("tryon.started", navy_l, "m-anna")]
    assert tablet(store, "fitting-1") == ("m-anna", [navy_l])
    # The delivery was awaited once: when Anna has left with her items, the next arrival is
    # a new shopper's.
    store.put(navy_l, "shelf-a", T0 + 9 * MIN)
    after = epc(SWEATER_NAVY_M, 703)
    store.put(after, "shelf-a", T0 + 9 * MIN + 10 * S)
    assert tryons(store.put(after, "fitting-1", T0 + 9 * MIN + 20 * S)) == [
        ("tryon.started", after, None)
    ]
    # Without a request, the same moves are a new shopper's (the greeting does not carry over).
    other = Store()
    other.put(navy_m, "shelf-a", T0)
    other.put(navy_l, "backroom", T0)
    other.seen("m-anna", "fitting-1", anna_seen)
    other.put(navy_m, "fitting-1", anna_seen + 5 * S)
    other.put(navy_m, "shelf-a", T0 + 6 * MIN)
    assert tryons(other.put(navy_l, "fitting-1", T0 + 7 * MIN)) == [("tryon.started", navy_l, None)]
    assert tablet(other, "fitting-1") == (None, [navy_l])
