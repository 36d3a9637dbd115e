"""What the store reports of its stock to HQ (pure): a snapshot opens the stream, then the
changed GTINs with absolute counts per place, a heartbeat when quiet, a snapshot on request."""

from __future__ import annotations

from edge.config.zones import ZoneKind
from edge.rfid.stock import StockView
from edge.rfid.stock_feed import LevelsChanged, SnapshotPart, StockFeed

ZONES = {
    "shelf-a": ZoneKind.SHELF,
    "fitting-1": ZoneKind.FITTING_ROOM,
    "backroom": ZoneKind.BACKROOM,
    "exit": ZoneKind.EXIT,
}
G1, G2, G3 = "00614141110018", "00614141110025", "00614141110032"


def feed(**kw: int) -> StockFeed:
    return StockFeed(ZONES, interval_ms=10_000, heartbeat_ms=60_000, **kw)


def levels(report: SnapshotPart | LevelsChanged) -> dict[str, tuple[int, int]]:
    return {lv.gtin: (lv.floor, lv.backroom) for lv in report.levels}


def test_snapshot_then_changes_then_heartbeat_then_a_requested_snapshot() -> None:
    view, stock = StockView(), feed()
    view.add("E1", G1, "shelf-a")
    view.add("E2", G1, "fitting-1")
    view.add("E3", G1, "backroom")
    view.add("E4", G2, "exit")  # on its way out: not stock
    view.add("E5", None, "shelf-a")  # no GTIN: not counted
    first = stock.tick(1_000, view.stock, view.stock_of)
    assert [type(r) for r in first] == [SnapshotPart]
    assert (first[0].stream, first[0].seq, first[0].part, first[0].parts) == ("s1000", 1, 1, 1)
    assert levels(first[0]) == {G1: (2, 1)}

    assert stock.tick(5_000, view.stock, view.stock_of) == []  # within the interval
    view.remove("E2", G1, "fitting-1")
    stock.note(G1)
    view.add("E6", G3, "backroom")
    stock.note(G3)
    assert stock.tick(9_999, view.stock, view.stock_of) == []
    (change,) = stock.tick(11_000, view.stock, view.stock_of)
    assert isinstance(change, LevelsChanged) and change.seq == 2
    assert levels(change) == {G1: (1, 1), G3: (0, 1)}
    view.remove("E6", G3, "backroom")
    stock.note(G3)
    (gone,) = stock.tick(21_000, view.stock, view.stock_of)
    assert levels(gone) == {G3: (0, 0)} and gone.seq == 3  # none left: said so, not omitted

    assert stock.tick(61_000, view.stock, view.stock_of) == []  # quiet, not yet a minute
    (beat,) = stock.tick(81_000, view.stock, view.stock_of)
    assert isinstance(beat, LevelsChanged) and beat.levels == () and beat.seq == 4

    stock.want_snapshot()  # HQ saw a gap: sent at once, not after the interval
    (again,) = stock.tick(82_000, view.stock, view.stock_of)
    assert isinstance(again, SnapshotPart) and again.seq == 5 and again.stream == "s1000"
    assert levels(again) == {G1: (1, 1)}


def test_a_large_store_sends_its_snapshot_in_numbered_parts() -> None:
    view, stock = StockView(), feed(part_size=2)
    for n, gtin in enumerate((G1, G2, G3)):
        view.add(f"E{n}", gtin, "shelf-a")
    parts = stock.tick(0, view.stock, view.stock_of)
    assert [(p.seq, p.part, p.parts) for p in parts if isinstance(p, SnapshotPart)] == [
        (1, 1, 2),
        (2, 2, 2),
    ]
    assert sum(len(p.levels) for p in parts) == 3


def test_an_empty_store_still_opens_its_stream() -> None:
    view, stock = StockView(), feed()
    (part,) = stock.tick(0, view.stock, view.stock_of)
    assert isinstance(part, SnapshotPart) and part.levels == () and part.parts == 1
