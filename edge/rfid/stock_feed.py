"""What the store reports of its stock to headquarters (pure; docs/sync.md, "Stock at HQ").

Counts per GTIN and place, from the tag tracker's stock view: ``floor`` (shelves, fitting
rooms, tills, entrance) and ``backroom``; exit zones hold items on their way out, not stock.
A snapshot opens each stream (edge start) and is sent again when HQ asks (it saw a gap);
between them, the GTINs whose counts changed are sent every ``interval_ms`` with their new
absolute counts (0 when none is left), and an empty change at least every ``heartbeat_ms`` so
that HQ can tell a quiet store from a late one. Every message has the next ``seq``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from edge.config.zones import ZoneKind
from edge.events.base import EventFactory
from edge.events.stock import (
    StockChanged,
    StockChangedPayload,
    StockLevel,
    StockSnapshot,
    StockSnapshotPayload,
)

SOURCE = "rfid/stock"
PART_SIZE = 2000
"""GTINs per snapshot part or change message (a part stays well under HQ's event size)."""

BACKROOM_KINDS = frozenset({ZoneKind.BACKROOM})
FLOOR_KINDS = frozenset({ZoneKind.SHELF, ZoneKind.FITTING_ROOM, ZoneKind.POS, ZoneKind.ENTRANCE})


@dataclass(frozen=True, slots=True)
class SnapshotPart:
    ts_ms: int
    stream: str
    seq: int
    part: int
    parts: int
    levels: tuple[StockLevel, ...]

    def to_event(self, factory: EventFactory) -> StockSnapshot:
        payload = StockSnapshotPayload(
            stream=self.stream,
            seq=self.seq,
            part=self.part,
            parts=self.parts,
            levels=list(self.levels),
        )
        return factory.make(StockSnapshot, ts_ms=self.ts_ms, source=SOURCE, payload=payload)


@dataclass(frozen=True, slots=True)
class LevelsChanged:
    ts_ms: int
    stream: str
    seq: int
    levels: tuple[StockLevel, ...]

    def to_event(self, factory: EventFactory) -> StockChanged:
        payload = StockChangedPayload(stream=self.stream, seq=self.seq, levels=list(self.levels))
        return factory.make(StockChanged, ts_ms=self.ts_ms, source=SOURCE, payload=payload)


StockReport = SnapshotPart | LevelsChanged


class StockFeed:
    def __init__(
        self,
        zone_kinds: Mapping[str, ZoneKind],
        *,
        interval_ms: int,
        heartbeat_ms: int,
        part_size: int = PART_SIZE,
    ) -> None:
        self._floor = frozenset(z for z, kind in zone_kinds.items() if kind in FLOOR_KINDS)
        self._backroom = frozenset(z for z, kind in zone_kinds.items() if kind in BACKROOM_KINDS)
        self._interval_ms = interval_ms
        self._heartbeat_ms = heartbeat_ms
        self._part_size = part_size
        self._dirty: set[str] = set()
        self._stream: str | None = None
        self._seq = 0
        self._next_ms: int | None = None
        self._last_sent_ms = 0
        self._snapshot_wanted = True

    def note(self, gtin: str | None) -> None:
        """A tag of this GTIN arrived, moved or left (its counts may have changed)."""
        if gtin is not None:
            self._dirty.add(gtin)

    def want_snapshot(self) -> None:
        """HQ asked for a full snapshot (it missed a change): sent at the next tick."""
        self._snapshot_wanted = True
        self._next_ms = None

    def level(self, gtin: str, per_zone: Mapping[str, int]) -> StockLevel:
        floor = sum(n for zone, n in per_zone.items() if zone in self._floor)
        backroom = sum(n for zone, n in per_zone.items() if zone in self._backroom)
        return StockLevel(gtin=gtin, floor=floor, backroom=backroom)

    def tick(
        self,
        now_ms: int,
        stock: Callable[[], Mapping[str, Mapping[str, int]]],
        stock_of: Callable[[str], Mapping[str, int]],
    ) -> list[StockReport]:
        if self._stream is None:
            self._stream = f"s{now_ms}"
        if self._next_ms is not None and now_ms < self._next_ms:
            return []
        self._next_ms = now_ms + self._interval_ms
        if self._snapshot_wanted:
            self._snapshot_wanted = False
            self._dirty.clear()
            levels = [self.level(gtin, zones) for gtin, zones in stock().items()]
            chunks = self._chunks([lv for lv in levels if lv.floor or lv.backroom]) or [()]
            reports: list[StockReport] = [
                SnapshotPart(now_ms, self._stream, self._next_seq(), n, len(chunks), chunk)
                for n, chunk in enumerate(chunks, 1)
            ]
        elif self._dirty or now_ms - self._last_sent_ms >= self._heartbeat_ms:
            levels = [self.level(gtin, stock_of(gtin)) for gtin in sorted(self._dirty)]
            self._dirty.clear()
            reports = [
                LevelsChanged(now_ms, self._stream, self._next_seq(), chunk)
                for chunk in self._chunks(levels) or [()]
            ]
        else:
            return []
        self._last_sent_ms = now_ms
        return reports

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def _chunks(self, levels: list[StockLevel]) -> list[tuple[StockLevel, ...]]:
        size = self._part_size
        return [tuple(levels[i : i + size]) for i in range(0, len(levels), size)]
