"""Staff alerts of the fusion stage: size requests, empty shelves, cameras, throttle, acks."""

from __future__ import annotations

import pytest

from edge.events.alerts import AlertRaised, AlertState
from tests.fusion.fusion_store import (
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
    store_config,
)

# Navy sweater variants of the demo catalog: M (011001), S (011101), L (011102).
SWEATER_NAVY_S = "011101"
SWEATER_NAVY_L = "011102"


def raised(store: Store) -> list[AlertRaised]:
    return [e for e in store.events if isinstance(e, AlertRaised)]


def test_size_request_says_where_the_size_is() -> None:
    store = Store()
    for serial in range(2):
        store.put(epc(SWEATER_NAVY_L, serial), "shelf-a", T0)
    store.put(epc(SWEATER_NAVY_L, 9), "backroom", T0)
    store.put(epc(SWEATER_NAVY_M, 1), "fitting-1", T0 + MIN)
    store.seen("m-anna", "fitting-1", T0 + MIN)
    events = store.size_request("fitting-1", gtin(SWEATER_NAVY_M), T0 + 2 * MIN, size="L")
    assert kinds(events) == ["size_request", "alert.raised:size_request"]
    (request,) = payloads(events, "size_request")
    assert request["wanted_gtin"] == gtin(SWEATER_NAVY_L)
    assert request["member_id"] == "m-anna"
    assert request["available"] == [
        {"zone": "shelf-a", "kind": "shelf", "count": 2},
        {"zone": "backroom", "kind": "backroom", "count": 1},
    ]
    alert = events[-1].payload
    assert alert.zone == "fitting-1" and alert.severity == "warning"
    assert alert.text == (
        "Fitting room 1 (Anna) asks for Merino crew sweater (navy, L): "
        "2 on Shelf A, 1 in Stock room"
    )


@pytest.mark.parametrize(
    ("size", "colour", "text"),
    [
        ("S", None, "asks for Merino crew sweater (navy, S): not in stock in this store"),
        (None, "red", "asks for Merino crew sweater (red, M): 1 in Stock room"),
        ("XXS", None, "asks for Merino crew sweater (size XXS): no such variant in the catalog"),
    ],
    ids=["out-of-stock", "colour-from-backroom", "no-such-size"],
)
def test_size_request_texts(size: str | None, colour: str | None, text: str) -> None:
    store = Store()
    store.put(epc(SWEATER_RED_M, 1), "backroom", T0)
    events = store.size_request("fitting-2", gtin(SWEATER_NAVY_M), T0, size=size, colour=colour)
    assert events[-1].payload.text == f"Fitting room 2 {text}"


def test_size_request_needs_size_or_colour() -> None:
    with pytest.raises(ValueError, match="needs a size, a colour or both"):
        Store().size_request("fitting-1", gtin(SWEATER_NAVY_M), T0)


def test_repeated_size_request_is_throttled() -> None:
    store = Store()
    item = gtin(SWEATER_NAVY_M)
    store.size_request("fitting-1", item, T0, size="L")
    store.size_request("fitting-1", item, T0 + MIN, size="L")  # tapped again
    store.size_request("fitting-1", item, T0 + MIN, size="S")  # another request
    store.size_request("fitting-1", item, T0 + 6 * MIN, size="L")  # after the interval
    assert [a.payload.subject for a in raised(store)] == [
        f"fitting-1:{gtin(SWEATER_NAVY_L)}:L:",
        f"fitting-1:{gtin(SWEATER_NAVY_S)}:S:",
        f"fitting-1:{gtin(SWEATER_NAVY_L)}:L:",
    ]
    # Every request is still recorded for headquarters' demand figures.
    assert kinds(store.events).count("size_request") == 4


def test_member_arrived_is_throttled_across_visits() -> None:
    store = Store(store_config(fusion={"visit_end_after_s": 60}))
    store.seen("m-anna", "entrance", T0)
    store.tick(T0 + 2 * MIN)  # visit over
    store.seen("m-anna", "entrance", T0 + 3 * MIN)
    assert [a.payload.kind for a in raised(store)] == ["member_arrived"]
    assert kinds(store.events).count("visit.started") == 2


def test_shelf_empty_with_backroom_stock_then_replenished() -> None:
    store = Store()
    on_shelf, in_back = epc(SWEATER_NAVY_M, 1), epc(SWEATER_NAVY_M, 2)
    store.put(on_shelf, "shelf-a", T0)
    store.put(in_back, "backroom", T0)
    events = store.put(on_shelf, "fitting-1", T0 + MIN)
    assert kinds(events)[-1] == "alert.raised:shelf_empty"
    alert = events[-1].payload
    assert (alert.zone, alert.subject) == ("shelf-a", gtin(SWEATER_NAVY_M))
    assert alert.text == (
        "Shelf A: no Merino crew sweater (navy, M) left; 1 in Stock room: replenish"
    )
    # Staff bring one out: the alert is resolved.
    back = store.put(in_back, "shelf-b", T0 + 5 * MIN)
    assert kinds(back) == ["alert.resolved:shelf_empty"]
    assert back[-1].payload.text == "Merino crew sweater (navy, M) is back on Shelf B"
    assert store.engine.open_alerts() == []


def test_no_shelf_empty_without_backroom_stock_or_while_a_shelf_has_some() -> None:
    store = Store()
    a, b = epc(SWEATER_NAVY_M, 1), epc(SWEATER_NAVY_M, 2)
    store.put(a, "shelf-a", T0)
    store.put(b, "shelf-b", T0)
    store.put(a, "fitting-1", T0 + MIN)  # shelf-b still has one
    store.depart(b, T0 + 20 * MIN)  # last one gone, but nothing in the backroom
    assert raised(store) == []


def test_camera_offline_raised_resolved_and_throttled() -> None:
    store = Store()
    down = store.camera("cam-fit1", False, T0, "no frames for 30 s")
    assert kinds(down) == ["alert.raised:camera_offline"]
    assert down[0].payload.zone == "fitting-1"
    assert down[0].payload.text.startswith("Camera cam-fit1 offline since ")
    assert store.camera("cam-fit1", False, T0 + S) == []  # still the same outage
    assert kinds(store.camera("cam-fit1", True, T0 + MIN)) == ["alert.resolved:camera_offline"]
    # Down again within the repeat interval: held back, raised by a tick once it may be.
    assert store.camera("cam-fit1", False, T0 + 2 * MIN) == []
    assert store.tick(T0 + 4 * MIN) == []
    assert kinds(store.tick(T0 + 5 * MIN)) == ["alert.raised:camera_offline"]


def test_ack_round_trip_and_unknown_ids() -> None:
    store = Store()
    (alert,) = store.camera("cam-door", False, T0)
    alert_id = alert.payload.alert_id
    assert [a.alert_id for a in store.engine.open_alerts()] == [alert_id]

    (ack,) = store.ack(alert_id, "staff-7", T0 + 30 * S)
    assert ack.type == "alert.acknowledged"
    assert (ack.payload.alert_id, ack.payload.staff_id) == (alert_id, "staff-7")
    recorded = store.engine.alerts.get(alert_id)
    assert recorded is not None and recorded.state is AlertState.ACKNOWLEDGED
    assert store.engine.alerts.acknowledged_by(alert_id) == "staff-7"
    # A second handheld acknowledging the same alert changes nothing.
    assert store.ack(alert_id, "staff-8", T0 + 40 * S) == []
    assert store.ack("no-such-alert", "staff-7", T0 + 50 * S) == []
    stats = store.engine.alerts.stats
    assert (stats.acknowledged, stats.repeated, stats.unknown) == (1, 1, 1)
    # Acknowledged alerts stay listed until resolved.
    assert [a.state for a in store.engine.open_alerts()] == [AlertState.ACKNOWLEDGED]
    store.camera("cam-door", True, T0 + MIN)
    assert store.engine.open_alerts() == []


def test_alerts_of_the_base_rules_can_be_acknowledged_too() -> None:
    store = Store()
    sweater = epc(SWEATER_NAVY_M, 1)
    store.put(sweater, "shelf-a", T0)
    (alert,) = [
        e for e in store.depart(sweater, T0 + MIN, via_exit=True) if e.type == "alert.raised"
    ]
    assert kinds(store.ack(alert.payload.alert_id, "staff-1", T0 + 2 * MIN)) == [
        "alert.acknowledged"
    ]
