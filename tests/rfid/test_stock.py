"""The live stock view: counts per GTIN per zone through arrivals, moves and departures."""

from __future__ import annotations

from edge.rfid.reads import TagRead
from edge.rfid.stock import StockView
from edge.rfid.tracker import TagChange, TagTracker, apply_change
from tests.rfid.conftest import T0_MS, epc_of, gtin, read_all, reads

SHIRT, JEANS = 1, 2
SHIRTS = [epc_of(SHIRT, n) for n in range(1, 4)]
JEANS_PAIRS = [epc_of(JEANS, n) for n in range(1, 3)]
OTHER = "E200301666130121155074EF"  # not an SGTIN: no GTIN


def _stocked_store(tracker: TagTracker) -> list[TagChange]:
    """Three shirts on shelf A, two jeans and an unknown tag on shelf B."""
    streams = [reads(epc, "shelf-a", start_ms=T0_MS, count=3, rssi=-50) for epc in SHIRTS]
    streams += [
        reads(epc, "shelf-b", start_ms=T0_MS, count=3, rssi=-52) for epc in [*JEANS_PAIRS, OTHER]
    ]
    return read_all(tracker, *streams)


def test_stock_counts_present_tags_per_gtin_and_zone(tracker: TagTracker) -> None:
    _stocked_store(tracker)

    assert tracker.stock() == {gtin(SHIRT): {"shelf-a": 3}, gtin(JEANS): {"shelf-b": 2}}
    assert tracker.stock_of(gtin(JEANS)) == {"shelf-b": 2}
    assert tracker.stock_of("00000000000000") == {}
    assert tracker.tags_in_zone("shelf-b") == sorted([*JEANS_PAIRS, OTHER])
    assert tracker.tags_in_zone("pos") == []
    assert tracker.tags_present == 6


def test_stock_follows_moves_and_departures(tracker: TagTracker) -> None:
    changes = _stocked_store(tracker)
    # A shopper takes a shirt to the fitting room (the shelf stops reading it); one pair of
    # jeans leaves through the exit; the rest stays read on its shelf.
    later = T0_MS + 1_000
    stay = [
        reads(epc, "shelf-a", start_ms=later, count=240, every_ms=500, rssi=-50)
        for epc in SHIRTS[1:]
    ] + [
        reads(epc, "shelf-b", start_ms=later, count=240, every_ms=500, rssi=-52)
        for epc in [JEANS_PAIRS[0], OTHER]
    ]
    room = reads(SHIRTS[0], "fitting-1", start_ms=later + 7_000, count=200, every_ms=500)
    door = reads(JEANS_PAIRS[1], "exit", start_ms=later + 2_000, count=4, rssi=-45)
    changes += read_all(tracker, *stay, room, door, until_ms=later + 110_000)

    assert tracker.location(SHIRTS[0]) == "fitting-1"
    assert tracker.location(JEANS_PAIRS[1]) is None
    assert tracker.stock() == {
        gtin(SHIRT): {"fitting-1": 1, "shelf-a": 2},
        gtin(JEANS): {"shelf-b": 1},
    }
    assert tracker.stock_of(gtin(SHIRT)) == {"fitting-1": 1, "shelf-a": 2}
    assert tracker.tags_in_zone("fitting-1") == [SHIRTS[0]]
    assert tracker.tags_in_zone("exit") == []

    # The change stream alone rebuilds the same view (what a consumer of tag.* events does).
    rebuilt = StockView()
    for change in changes:
        apply_change(rebuilt, change)
    assert rebuilt.stock() == tracker.stock()
    assert rebuilt.tags_in_zone("shelf-b") == tracker.tags_in_zone("shelf-b")


def test_a_return_puts_the_item_back_into_stock(tracker: TagTracker) -> None:
    epc = SHIRTS[0]
    read_all(
        tracker,
        reads(epc, "exit", start_ms=T0_MS, count=2),
        [TagRead("r2", 1, epc, -50.0, T0_MS + 60_000 + n * 100) for n in range(2)],
        until_ms=T0_MS + 61_000,
    )
    assert tracker.stock() == {gtin(SHIRT): {"pos": 1}}


def test_emptied_zones_and_gtins_disappear_from_the_view() -> None:
    view = StockView()
    view.add("A", "g1", "z1")
    view.add("B", "g1", "z2")
    view.add("C", None, "z2")
    view.remove("A", "g1", "z1")
    assert view.stock() == {"g1": {"z2": 1}}
    view.remove("B", "g1", "z2")
    assert view.stock() == {}
    assert view.stock_of("g1") == {}
    assert view.tags_in_zone("z2") == ["C"]
    assert view.total() == 1


def test_queries_return_copies(tracker: TagTracker) -> None:
    _stocked_store(tracker)
    tracker.stock()[gtin(SHIRT)]["shelf-a"] = 99
    tracker.stock_of(gtin(SHIRT))["shelf-a"] = 99
    tracker.tags_in_zone("shelf-a").clear()
    assert tracker.stock_of(gtin(SHIRT)) == {"shelf-a": 3}
    assert len(tracker.tags_in_zone("shelf-a")) == 3
