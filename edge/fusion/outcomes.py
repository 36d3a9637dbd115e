"""Try-on outcomes: what became of each item tried on. A pure state machine.

A try-on's outcome is decided once, after its ``tryon.ended``:

- ``purchased``: a sale of the item (its EPC, or a GTIN line matched to it) within
  ``fusion.outcome_window_s`` after the try-on ended. An item sold while still in the room
  (staff scan it there) is ``purchased`` as soon as its try-on ends.
- ``returned_to_floor``: the item was read again on a shelf (or in the backroom) first.
- ``left_in_room``: when the window closes, the item is still in a fitting room.
- ``unresolved``: when the window closes it is anywhere else (at the till, carried out
  unsold, gone unread): tried and not bought all the same.

GTIN lines (no EPC) are matched to open try-ons of that GTIN: the sale's member's first,
then the most recently ended, one try-on per unit sold.
"""

from __future__ import annotations

from dataclasses import dataclass

from edge.config.fusion import FusionConfig
from edge.config.zones import ZoneKind
from edge.events.base import EventFactory
from edge.events.fusion import TryOnOutcome, TryOnOutcomeEvent, TryOnOutcomePayload
from edge.fusion.fitting_rooms import TryOnEnd
from edge.fusion.visits import SOURCE

FLOOR_KINDS = frozenset({ZoneKind.SHELF, ZoneKind.BACKROOM})
"""Zones where a tried item counts as put back."""


@dataclass(frozen=True, slots=True)
class TryOnResult:
    session_id: str
    zone: str
    epc: str
    gtin: str | None
    member_id: str | None
    outcome: TryOnOutcome
    sale_id: str | None
    ts_ms: int

    def to_event(self, factory: EventFactory) -> TryOnOutcomeEvent:
        return factory.make(
            TryOnOutcomeEvent,
            ts_ms=self.ts_ms,
            source=SOURCE,
            payload=TryOnOutcomePayload(
                session_id=self.session_id,
                zone=self.zone,
                epc=self.epc,
                gtin=self.gtin,
                member_id=self.member_id,
                outcome=self.outcome,
                sale_id=self.sale_id,
            ),
        )


@dataclass(slots=True)
class _Pending:
    tryon: TryOnEnd
    deadline_ms: int
    zone_kind: ZoneKind | None
    """Kind of the zone the item is in now; None once it departed."""


class OutcomeTracker:
    def __init__(self, config: FusionConfig) -> None:
        self._window_ms = round(config.outcome_window_s * 1000)
        self._pending: dict[str, list[_Pending]] = {}
        """EPC -> its try-ons without an outcome (an item tried twice has two)."""
        self._sold_in_room: dict[str, str] = {}
        """EPC -> sale id, for items sold while their try-on was still going on."""

    def tryon_ended(self, end: TryOnEnd, zone_kind: ZoneKind | None) -> list[TryOnResult]:
        """Open the outcome window of a try-on; ``zone_kind``: where the item is now."""
        sale_id = self._sold_in_room.pop(end.epc, None)
        if sale_id is not None:
            return [_result(end, TryOnOutcome.PURCHASED, sale_id, end.ts_ms)]
        pending = _Pending(end, end.ts_ms + self._window_ms, zone_kind)
        self._pending.setdefault(end.epc, []).append(pending)
        return []

    def item_moved(self, epc: str, zone_kind: ZoneKind | None, ts_ms: int) -> list[TryOnResult]:
        """An item was placed in a zone of ``zone_kind`` (None: departed)."""
        pending = self._pending.get(epc)
        if pending is None:
            return []
        if zone_kind in FLOOR_KINDS:
            del self._pending[epc]
            return [_result(p.tryon, TryOnOutcome.RETURNED_TO_FLOOR, None, ts_ms) for p in pending]
        for item in pending:
            item.zone_kind = zone_kind
        return []

    def sold_epc(self, epc: str, sale_id: str, ts_ms: int, *, in_room: bool) -> list[TryOnResult]:
        """A sale of this EPC; ``in_room``: its try-on is still going on."""
        if in_room:
            self._sold_in_room[epc] = sale_id
        pending = self._pending.pop(epc, [])
        return [_result(p.tryon, TryOnOutcome.PURCHASED, sale_id, ts_ms) for p in pending]

    def sold_gtin(
        self, gtin: str, quantity: int, sale_id: str, member_id: str | None, ts_ms: int
    ) -> list[TryOnResult]:
        """A GTIN line: the try-ons of up to ``quantity`` items of that GTIN become purchases.
        Returns them; their EPCs are the items taken to be sold."""
        epcs = [epc for epc, pending in self._pending.items() if pending[0].tryon.gtin == gtin]
        epcs.sort(key=lambda epc: _gtin_match_order(self._pending[epc][-1].tryon, member_id))
        results: list[TryOnResult] = []
        for epc in epcs[:quantity]:
            pending = self._pending.pop(epc)
            results.extend(
                _result(p.tryon, TryOnOutcome.PURCHASED, sale_id, ts_ms) for p in pending
            )
        return results

    def tick(self, now_ms: int) -> list[TryOnResult]:
        """Close the windows that ran out: left in a room, or unresolved."""
        due = sorted(
            (p for pending in self._pending.values() for p in pending if p.deadline_ms <= now_ms),
            key=lambda p: (p.deadline_ms, p.tryon.epc, p.tryon.session_id),
        )
        results = []
        for item in due:
            pending = self._pending[item.tryon.epc]
            pending.remove(item)
            if not pending:
                del self._pending[item.tryon.epc]
            outcome = (
                TryOnOutcome.LEFT_IN_ROOM
                if item.zone_kind is ZoneKind.FITTING_ROOM
                else TryOnOutcome.UNRESOLVED
            )
            results.append(_result(item.tryon, outcome, None, item.deadline_ms))
        return results

    @property
    def pending(self) -> int:
        """Try-ons waiting for their outcome."""
        return sum(len(pending) for pending in self._pending.values())


def _gtin_match_order(end: TryOnEnd, member_id: str | None) -> tuple[bool, int, str]:
    """The sale's member's try-ons first, then the most recently ended."""
    return (member_id is None or end.member_id != member_id, -end.ts_ms, end.epc)


def _result(end: TryOnEnd, outcome: TryOnOutcome, sale_id: str | None, ts_ms: int) -> TryOnResult:
    return TryOnResult(
        session_id=end.session_id,
        zone=end.zone,
        epc=end.epc,
        gtin=end.gtin,
        member_id=end.member_id,
        outcome=outcome,
        sale_id=sale_id,
        ts_ms=ts_ms,
    )
