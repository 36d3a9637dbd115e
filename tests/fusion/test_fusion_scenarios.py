"""Fitting-room scenarios end to end through the fusion engine, with injected time."""

from __future__ import annotations

from edge.events.fusion import TryOnOutcome
from tests.fusion.fusion_store import (
    CARDIGAN_GREY_M,
    CATALOG,
    CHINO_BEIGE_32,
    MIN,
    SWEATER_NAVY_M,
    T0,
    S,
    Store,
    epc,
    gtin,
    kinds,
    payloads,
)


def test_member_tries_two_items_buys_one_returns_the_other() -> None:
    store = Store()
    sweater, cardigan = epc(SWEATER_NAVY_M, 1), epc(CARDIGAN_GREY_M, 2)
    store.put(sweater, "shelf-a", T0)
    store.put(cardigan, "shelf-a", T0)

    assert kinds(store.seen("m-anna", "entrance", T0 + 10 * S)) == [
        "visit.started",
        "alert.raised:member_arrived",
    ]
    assert kinds(store.put(sweater, "fitting-1", T0 + 2 * MIN)) == [
        "tryon.started",
        "recommendation",
    ]
    store.put(cardigan, "fitting-1", T0 + 2 * MIN + 5 * S)
    # The room camera recognises Anna: the session becomes hers, the tablet is told.
    joined = store.seen("m-anna", "fitting-1", T0 + 3 * MIN)
    assert kinds(joined) == ["recommendation"]
    assert payloads(joined, "recommendation")[0]["member_id"] == "m-anna"
    assert payloads(joined, "recommendation")[0]["items"] == [
        gtin(SWEATER_NAVY_M),
        gtin(CARDIGAN_GREY_M),
    ]

    # She takes the sweater to the till and puts the cardigan back.
    assert kinds(store.put(sweater, "pos", T0 + 8 * MIN)) == ["tryon.ended", "recommendation"]
    assert kinds(store.put(cardigan, "shelf-b", T0 + 8 * MIN + 20 * S)) == [
        "tryon.ended",
        "recommendation",
        "tryon.outcome",
    ]
    result, sold = store.sale(
        {
            "sale_id": "s-1",
            "till_id": "till-1",
            "member_id": "m-anna",
            "total": 89.0,
            "lines": [{"epc": sweater, "amount": 89.0}],
        },
        T0 + 9 * MIN,
    )
    assert result.status == "recorded" and result.purchased_tryons == 1
    assert kinds(sold) == ["sale", "tryon.outcome"]
    # The sold sweater leaves through the exit: no alert.
    assert kinds(store.depart(sweater, T0 + 11 * MIN, via_exit=True)) == []

    store.tick(T0 + 2 * 3600 * S)
    ended = payloads(store.events, "tryon.ended")
    assert [(e["epc"], e["member_id"], e["duration_s"]) for e in ended] == [
        (sweater, "m-anna", 360.0),
        (cardigan, "m-anna", 375.0),
    ]
    outcomes = payloads(store.events, "tryon.outcome")
    assert [(o["epc"], o["outcome"], o["sale_id"]) for o in outcomes] == [
        (cardigan, TryOnOutcome.RETURNED_TO_FLOOR, None),
        (sweater, TryOnOutcome.PURCHASED, "s-1"),
    ]
    assert {o["session_id"] for o in outcomes} == {ended[0]["session_id"]}
    # The session ended (an empty list clears the tablet) and so did the visit.
    last = payloads(store.events, "recommendation")[-1]
    assert last["items"] == [] and last["recommendations"] == []
    assert kinds(store.events)[-1] == "visit.ended"
    assert [e.type for e in store.events if e.type == "alert.raised"] == ["alert.raised"]


def label(item_reference: str) -> str:
    product = CATALOG.get(gtin(item_reference))
    assert product is not None
    return product.label


def test_anonymous_shopper_leaves_items_in_the_room() -> None:
    store = Store()
    chino, sweater = epc(CHINO_BEIGE_32, 7), epc(SWEATER_NAVY_M, 8)
    store.put(chino, "shelf-b", T0)
    store.put(sweater, "shelf-a", T0)
    store.put(chino, "fitting-2", T0 + MIN)
    store.put(sweater, "fitting-2", T0 + MIN + 2 * S)
    # Nothing moves and no camera watches fitting-2: after room_abandoned_after_s (30 min)
    # the session ends, and when the outcome window (30 min more) closes, both are still there.
    assert kinds(store.tick(T0 + 31 * MIN)) == []
    ended = store.tick(T0 + 31 * MIN + 2 * S)
    # ... and staff are asked to clear the room.
    assert kinds(ended) == [
        "tryon.ended",
        "tryon.ended",
        "recommendation",
        "alert.raised:left_in_room",
    ]
    task = payloads(ended, "alert.raised")[0]
    assert task["zone"] == "fitting-2"
    assert task["text"] == (
        "Fitting room 2: 2 items left in the room "
        f"({label(CHINO_BEIGE_32)}, {label(SWEATER_NAVY_M)}): clear it"
    )
    assert {e["duration_s"] for e in payloads(ended, "tryon.ended")} == {1802.0, 1800.0}
    left = store.tick(T0 + 62 * MIN)
    assert [(o["epc"], o["outcome"], o["member_id"]) for o in payloads(left, "tryon.outcome")] == [
        (epc_, "left_in_room", None) for epc_ in sorted([chino, sweater])
    ]
    started = payloads(store.events, "tryon.started")
    assert [s["member_id"] for s in started] == [None, None]
    assert store.engine.room_state("fitting-2").session is None


def test_unconsented_member_stays_anonymous_in_the_room() -> None:
    store = Store()
    sweater = epc(SWEATER_NAVY_M, 3)
    store.put(sweater, "shelf-a", T0)
    store.put(sweater, "fitting-1", T0 + MIN)
    # Carl is recognised but never agreed to personalised service.
    assert kinds(store.seen("m-carl", "fitting-1", T0 + 2 * MIN)) == ["visit.started"]
    state = store.engine.room_state("fitting-1")
    assert state.session is not None and state.session.member_id is None
    assert state.member is None


def test_item_leaves_unsold_raises_exit_unsold() -> None:
    store = Store()
    sweater = epc(SWEATER_NAVY_M, 4)
    store.put(sweater, "shelf-a", T0)
    store.put(sweater, "fitting-1", T0 + MIN)
    store.put(sweater, "entrance", T0 + 5 * MIN)
    events = store.depart(sweater, T0 + 6 * MIN, via_exit=True)
    assert kinds(events) == ["alert.raised:exit_unsold"]
    # This core has no catalog: the alert says so and gives the tag (with one: the product).
    assert events[-1].payload.text == (
        f"An item not in the catalog left through Exit gate unsold (EPC {sweater}, "
        f"GTIN {gtin(SWEATER_NAVY_M)})"
    )
    store.tick(T0 + 40 * MIN)
    outcome = payloads(store.events, "tryon.outcome")
    assert [(o["epc"], o["outcome"]) for o in outcome] == [(sweater, "unresolved")]


def test_item_sold_by_gtin_line_then_carried_out_raises_nothing() -> None:
    store = Store()
    sweater = epc(SWEATER_NAVY_M, 5)
    store.put(sweater, "shelf-a", T0)
    store.put(sweater, "fitting-1", T0 + MIN)
    store.put(sweater, "pos", T0 + 4 * MIN)
    # The till scans the barcode, not the tag: one GTIN line.
    result, events = store.sale(
        {
            "sale_id": "s-gtin",
            "till_id": "till-2",
            "total": 89.0,
            "lines": [{"gtin": gtin(SWEATER_NAVY_M), "quantity": 1, "amount": 89.0}],
        },
        T0 + 5 * MIN,
    )
    assert result.epcs_sold == (sweater,)
    assert [(o["epc"], o["outcome"], o["sale_id"]) for o in payloads(events, "tryon.outcome")] == [
        (sweater, "purchased", "s-gtin")
    ]
    assert kinds(store.depart(sweater, T0 + 7 * MIN, via_exit=True)) == []


def test_item_sold_while_still_in_the_room_is_purchased_when_it_leaves() -> None:
    store = Store()
    sweater = epc(SWEATER_NAVY_M, 6)
    store.put(sweater, "shelf-a", T0)
    store.put(sweater, "fitting-1", T0 + MIN)
    result, events = store.sale(
        {
            "sale_id": "s-room",
            "till_id": "mobile-1",
            "total": 89.0,
            "lines": [{"epc": sweater, "amount": 89.0}],
        },
        T0 + 2 * MIN,
    )
    assert kinds(events) == ["sale"] and result.purchased_tryons == 0
    left = store.put(sweater, "pos", T0 + 3 * MIN)
    assert kinds(left) == ["tryon.ended", "tryon.outcome", "recommendation"]
    assert payloads(left, "tryon.outcome")[0]["sale_id"] == "s-room"


def test_item_tried_twice_gets_two_outcomes() -> None:
    store = Store()
    sweater = epc(SWEATER_NAVY_M, 9)
    store.put(sweater, "shelf-a", T0)
    store.put(sweater, "fitting-1", T0 + MIN)
    store.put(sweater, "pos", T0 + 2 * MIN)
    store.put(sweater, "fitting-2", T0 + 3 * MIN)
    store.put(sweater, "shelf-a", T0 + 4 * MIN)
    outcomes = payloads(store.events, "tryon.outcome")
    assert [(o["zone"], o["outcome"]) for o in outcomes] == [
        ("fitting-1", "returned_to_floor"),
        ("fitting-2", "returned_to_floor"),
    ]


def test_replay_gives_identical_events() -> None:
    def run() -> list[str]:
        store = Store()
        a, b = epc(SWEATER_NAVY_M, 1), epc(CARDIGAN_GREY_M, 2)
        store.put(a, "shelf-a", T0)
        store.put(b, "shelf-a", T0)
        store.seen("m-anna", "entrance", T0 + S)
        store.put(a, "fitting-1", T0 + MIN)
        store.put(b, "fitting-1", T0 + MIN)
        store.seen("m-anna", "fitting-1", T0 + 2 * MIN)
        store.put(a, "shelf-a", T0 + 5 * MIN)
        # Different tick cadences must not change anything.
        for t in range(T0 + 5 * MIN, T0 + 3 * 3600 * S, 7 * MIN):
            store.tick(t)
        return [event.to_json() for event in store.events]

    first = run()
    assert first == run()
    assert any('"left_in_room"' in line for line in first)


def test_two_gtin_sales_take_two_different_items_from_the_till() -> None:
    store = Store()
    first, second = epc(SWEATER_NAVY_M, 21), epc(SWEATER_NAVY_M, 22)
    store.put(first, "pos", T0)
    store.put(second, "pos", T0)
    line = {"gtin": gtin(SWEATER_NAVY_M), "quantity": 1, "amount": 89.0}
    a, _ = store.sale({"sale_id": "a", "till_id": "t", "total": 89.0, "lines": [line]}, T0 + S)
    b, _ = store.sale({"sale_id": "b", "till_id": "t", "total": 89.0, "lines": [line]}, T0 + 2 * S)
    assert {*a.epcs_sold, *b.epcs_sold} == {first, second}
    assert kinds(store.depart(first, T0 + MIN, via_exit=True)) == []
    assert kinds(store.depart(second, T0 + MIN, via_exit=True)) == []
