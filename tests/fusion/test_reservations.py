"""The store's side of reserve-online-try-in-store (pure): picking, ready only when RFID reads
the picked tags in the hold zone, arrival by face or QR, purchase, closing with an outcome per
item, and return tasks that RFID confirms."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from edge.events.reservations import ItemOutcome, Reservation, ReservedItem
from edge.fusion.reservations import (
    Arrived,
    Closed,
    Picked,
    Ready,
    ReservationDesk,
    ReservationError,
    Returned,
    Unavailable,
    UnknownReservationError,
)

NAVY_M, RED_M = "00614141110018", "00614141110025"
EPC = {"navy-1": NAVY_M, "navy-2": NAVY_M, "red-1": RED_M}
T0 = 1_800_000_000_000
HOUR = 3_600_000


def at(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def reservation(rid: str = "r1", member: str = "m-1") -> Reservation:
    return Reservation(
        id=rid,
        member_id=member,
        items=[ReservedItem(gtin=NAVY_M), ReservedItem(gtin=RED_M)],
        window_start=at(T0 + HOUR),
        window_end=at(T0 + 3 * HOUR),
        checkin_code="AB12CD34",
    )


def desk() -> ReservationDesk:
    made = ReservationDesk("fitting-1", ["shelf-a"], gtin_of=EPC.get)
    made.receive([reservation()])
    return made


def nowhere(_epc: str) -> str | None:
    return "shelf-a"


def test_ready_only_when_rfid_reads_every_picked_tag_in_the_hold_zone() -> None:
    book = desk()
    (picked,) = book.pick("r1", 0, "navy-1", "maria", T0, nowhere)
    assert isinstance(picked, Picked) and picked.gtin == NAVY_M
    assert book.pick("r1", 1, "red-1", "maria", T0 + 1, nowhere)[1:] == []  # tapped, not ready
    assert book.on_tag_seen("navy-1", "fitting-1", T0 + 10) == []  # one of two there
    assert book.on_tag_seen("navy-1", "shelf-a", T0 + 11) == []  # taken out again
    assert book.on_tag_seen("red-1", "fitting-1", T0 + 12) == []
    (ready,) = book.on_tag_seen("navy-1", "fitting-1", T0 + 13)
    assert isinstance(ready, Ready) and ready.epcs == ("navy-1", "red-1")
    assert book.board(lambda _g: [])[0]["status"] == "ready"


def test_picking_refuses_the_wrong_product_and_a_tag_taken_twice() -> None:
    book = desk()
    with pytest.raises(ReservationError, match="not the item"):
        book.pick("r1", 0, "red-1", "maria", T0, nowhere)
    with pytest.raises(ReservationError, match="no item 5"):
        book.pick("r1", 5, "navy-1", "maria", T0, nowhere)
    with pytest.raises(UnknownReservationError):
        book.pick("nope", 0, "navy-1", "maria", T0, nowhere)
    book.receive([reservation(), reservation("r2", "m-2")])
    book.pick("r1", 0, "navy-1", "maria", T0, nowhere)
    with pytest.raises(ReservationError, match="already picked for r1"):
        book.pick("r2", 0, "navy-1", "maria", T0, nowhere)
    board = book.board(lambda gtin: [(e, "shelf-a") for e, g in EPC.items() if g == gtin])
    r2 = next(r for r in board if r["id"] == "r2")
    assert [w["epc"] for w in r2["items"][0]["where"]] == ["navy-2"]  # the picked one is taken


def test_an_item_staff_cannot_find_is_reported_and_the_rest_can_still_be_ready() -> None:
    book = desk()
    (missing,) = book.unavailable("r1", 1, "maria", T0)
    assert missing == Unavailable(T0, "r1", "m-1", 1, RED_M, "maria")
    assert book.unavailable("r1", 1, "maria", T0 + 1) == []  # told once
    assert book.board(lambda _g: [])[0]["items"][1]["unavailable"] is True
    assert book.board(lambda _g: [])[0]["status"] == "picking"
    book.pick("r1", 0, "navy-1", "maria", T0 + 2, nowhere)
    (ready,) = book.on_tag_seen("navy-1", "fitting-1", T0 + 3)
    assert isinstance(ready, Ready) and ready.epcs == ("navy-1",)
    with pytest.raises(ReservationError, match="already picked"):
        book.unavailable("r1", 0, "maria", T0 + 4)


def test_nothing_to_pick_is_never_ready_and_a_late_find_undoes_unavailable() -> None:
    book = desk()
    book.unavailable("r1", 0, "maria", T0)
    book.unavailable("r1", 1, "maria", T0 + 1)
    assert book.board(lambda _g: [])[0]["status"] == "unavailable"
    assert book.on_tag_seen("navy-1", "fitting-1", T0 + 2) == []
    # The red one turns up after all: picked and read in the room, the reservation is ready.
    book.pick("r1", 1, "red-1", "maria", T0 + 3, nowhere)
    assert book.board(lambda _g: [])[0]["items"][1]["unavailable"] is False
    (ready,) = book.on_tag_seen("red-1", "fitting-1", T0 + 4)
    assert isinstance(ready, Ready) and ready.epcs == ("red-1",)


def test_the_member_comes_buys_one_and_the_other_goes_back_to_the_floor() -> None:
    book = desk()
    book.pick("r1", 0, "navy-1", "maria", T0, lambda _e: "fitting-1")
    book.pick("r1", 1, "red-1", "maria", T0, lambda _e: "fitting-1")
    assert book.on_member_seen("m-other", T0 + HOUR) == []
    (came,) = book.on_member_seen("m-1", T0 + HOUR)
    assert isinstance(came, Arrived) and came.how == "face"
    assert book.on_sale(["navy-1"], {}, T0 + HOUR + 60_000) == []
    assert book.tick(T0 + 3 * HOUR) == []
    (closed,) = book.tick(T0 + 3 * HOUR + 1)
    assert isinstance(closed, Closed) and closed.came
    assert closed.outcomes == (ItemOutcome.BOUGHT, ItemOutcome.TRIED_NOT_BOUGHT)
    assert closed.to_return == ("red-1",)
    assert book.on_tag_seen("red-1", "fitting-1", T0 + 4 * HOUR) == []  # not back yet
    (back,) = book.on_tag_seen("red-1", "shelf-a", T0 + 4 * HOUR + 1)
    assert isinstance(back, Returned) and back.reservation_id == "r1"
    assert book.to_return() == {}


def test_qr_check_in_and_everything_bought_closes_at_once() -> None:
    book = desk()
    with pytest.raises(UnknownReservationError):
        book.check_in("ZZZZZZZZ", T0)
    (came,) = book.check_in("ab12cd34", T0 + HOUR)
    assert came.how == "qr"  # type: ignore[union-attr]
    (closed,) = book.on_sale([], {NAVY_M: 1, RED_M: 1}, T0 + HOUR + 5)
    assert isinstance(closed, Closed)
    assert closed.outcomes == (ItemOutcome.BOUGHT, ItemOutcome.BOUGHT) and closed.to_return == ()


def test_a_member_who_never_comes() -> None:
    book = desk()
    book.pick("r1", 0, "navy-1", "maria", T0, nowhere)
    (closed,) = book.tick(T0 + 4 * HOUR)
    assert isinstance(closed, Closed) and not closed.came
    assert closed.outcomes == (ItemOutcome.NOT_COLLECTED, ItemOutcome.NOT_PICKED)
    assert closed.to_return == ("navy-1",)
    with pytest.raises(UnknownReservationError):
        book.check_in("AB12CD34", T0 + 5 * HOUR)
    book.receive([reservation()])  # HQ still lists it until it hears: not reopened
    assert book.board(lambda _g: []) == []
