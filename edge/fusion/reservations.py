"""Reserve online, try in store: the store's side of a reservation (pure, on timestamped
inputs; docs/fusion.md, "Reservations").

HQ sends the open reservations of the store. Staff pick a tag for each item (the pick list
says where tags of that GTIN are now); a reservation is *ready* only when RFID reads every
picked tag in the hold zone: a tap alone does not make it ready. The member arrives when a
camera recognises them (with consent) or when they check in with the QR code from their
phone. A sale of a picked tag, or of the item's GTIN after arrival, buys the item. When the
window ends (or everything is bought) the reservation closes with an outcome per item, and the
tags not bought become return tasks, done when RFID reads them on the floor.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from edge.events.base import Event, EventFactory, ms_to_datetime
from edge.events.reservations import (
    ItemOutcome,
    Reservation,
    ReservationArrived,
    ReservationArrivedPayload,
    ReservationClosed,
    ReservationClosedPayload,
    ReservationPicked,
    ReservationPickedPayload,
    ReservationReady,
    ReservationReadyPayload,
    ReservationReturned,
    ReservationReturnedPayload,
    ReservationUnavailable,
    ReservationUnavailablePayload,
)

SOURCE = "fusion/reservations"
ARRIVAL_EARLY_MS = 30 * 60 * 1000
"""A member recognised up to this long before the window opens has come for it."""


class ReservationError(ValueError):
    """A staff or tablet request that cannot apply (the message says why)."""


class UnknownReservationError(LookupError):
    pass


def _ms(value: Any) -> int:
    return int(value.timestamp() * 1000)


@dataclass(frozen=True, slots=True)
class Picked:
    ts_ms: int
    reservation_id: str
    item: int
    gtin: str
    epc: str
    staff_id: str

    def to_event(self, factory: EventFactory) -> Event:
        payload = ReservationPickedPayload(
            reservation_id=self.reservation_id,
            item=self.item,
            gtin=self.gtin,
            epc=self.epc,
            staff_id=self.staff_id,
        )
        return factory.make(ReservationPicked, ts_ms=self.ts_ms, source=SOURCE, payload=payload)


@dataclass(frozen=True, slots=True)
class Unavailable:
    ts_ms: int
    reservation_id: str
    member_id: str
    item: int
    gtin: str
    staff_id: str

    def to_event(self, factory: EventFactory) -> Event:
        payload = ReservationUnavailablePayload(
            reservation_id=self.reservation_id,
            member_id=self.member_id,
            item=self.item,
            gtin=self.gtin,
            staff_id=self.staff_id,
        )
        return factory.make(
            ReservationUnavailable, ts_ms=self.ts_ms, source=SOURCE, payload=payload
        )


@dataclass(frozen=True, slots=True)
class Ready:
    ts_ms: int
    reservation_id: str
    member_id: str
    zone: str
    epcs: tuple[str, ...]

    def to_event(self, factory: EventFactory) -> Event:
        payload = ReservationReadyPayload(
            reservation_id=self.reservation_id,
            member_id=self.member_id,
            zone=self.zone,
            epcs=list(self.epcs),
        )
        return factory.make(ReservationReady, ts_ms=self.ts_ms, source=SOURCE, payload=payload)


@dataclass(frozen=True, slots=True)
class Arrived:
    ts_ms: int
    reservation_id: str
    member_id: str
    zone: str
    how: Literal["face", "qr"]

    def to_event(self, factory: EventFactory) -> Event:
        payload = ReservationArrivedPayload(
            reservation_id=self.reservation_id,
            member_id=self.member_id,
            zone=self.zone,
            how=self.how,
        )
        return factory.make(ReservationArrived, ts_ms=self.ts_ms, source=SOURCE, payload=payload)


@dataclass(frozen=True, slots=True)
class Closed:
    ts_ms: int
    reservation_id: str
    member_id: str
    came: bool
    outcomes: tuple[ItemOutcome, ...]
    to_return: tuple[str, ...]

    def to_event(self, factory: EventFactory) -> Event:
        payload = ReservationClosedPayload(
            reservation_id=self.reservation_id,
            member_id=self.member_id,
            came=self.came,
            outcomes=list(self.outcomes),
            to_return=list(self.to_return),
        )
        return factory.make(ReservationClosed, ts_ms=self.ts_ms, source=SOURCE, payload=payload)


@dataclass(frozen=True, slots=True)
class Returned:
    ts_ms: int
    reservation_id: str
    epc: str
    zone: str

    def to_event(self, factory: EventFactory) -> Event:
        payload = ReservationReturnedPayload(
            reservation_id=self.reservation_id,
            epc=self.epc,
            zone=self.zone,
            last_seen=ms_to_datetime(self.ts_ms),
        )
        return factory.make(ReservationReturned, ts_ms=self.ts_ms, source=SOURCE, payload=payload)


ReservationOutput = Picked | Unavailable | Ready | Arrived | Closed | Returned


@dataclass(slots=True)
class _Open:
    spec: Reservation
    picked: dict[int, str] = field(default_factory=dict)
    held: set[str] = field(default_factory=set)
    bought: set[int] = field(default_factory=set)
    unavailable: set[int] = field(default_factory=set)
    """Items staff found no tag for (HQ offers the member alternatives)."""
    ready: bool = False
    arrived: bool = False

    @property
    def start_ms(self) -> int:
        return _ms(self.spec.window_start)

    @property
    def end_ms(self) -> int:
        return _ms(self.spec.window_end)

    def status(self) -> str:
        if self.arrived:
            return "arrived"
        if self.ready:
            return "ready"
        if len(self.unavailable) == len(self.spec.items):
            return "unavailable"
        return "picking" if self.picked or self.unavailable else "to_pick"


class ReservationDesk:
    """``hold_zone``: where reserved items wait; ``floor_zones``: where a returned item is
    back; ``gtin_of``: the GTIN of an EPC (None when it has none)."""

    def __init__(
        self,
        hold_zone: str,
        floor_zones: Iterable[str],
        gtin_of: Callable[[str], str | None],
    ) -> None:
        self.hold_zone = hold_zone
        self._floor = frozenset(floor_zones)
        self._gtin_of = gtin_of
        self._open: dict[str, _Open] = {}
        self._closed: set[str] = set()
        self._returning: dict[str, str] = {}  # epc -> reservation id

    # -- from HQ ----------------------------------------------------------------------------

    def receive(self, reservations: Sequence[Reservation]) -> None:
        """HQ's open reservations for this store. New ones open; ones HQ no longer sends
        (cancelled) are dropped, their picked tags to be returned."""
        current = {r.id: r for r in reservations}
        for reservation_id in list(self._open):
            if reservation_id not in current:
                gone = self._open.pop(reservation_id)
                for epc in gone.picked.values():
                    self._returning[epc] = reservation_id
        for reservation_id, spec in current.items():
            if reservation_id not in self._open and reservation_id not in self._closed:
                self._open[reservation_id] = _Open(spec)

    # -- staff, tablet ----------------------------------------------------------------------

    def pick(
        self,
        reservation_id: str,
        item: int,
        epc: str,
        staff_id: str,
        ts_ms: int,
        zone_of: Callable[[str], str | None],
    ) -> list[ReservationOutput]:
        found = self._get(reservation_id)
        if not 0 <= item < len(found.spec.items):
            raise ReservationError(f"reservation {reservation_id} has no item {item}")
        wanted = found.spec.items[item].gtin
        gtin = self._gtin_of(epc)
        if gtin != wanted:
            raise ReservationError(f"tag {epc} is {gtin or 'no product'}, not the item {wanted}")
        for other in self._open.values():
            for index, taken in other.picked.items():
                if taken == epc and (other is not found or index != item):
                    raise ReservationError(f"tag {epc} is already picked for {other.spec.id}")
        found.picked[item] = epc
        found.unavailable.discard(item)  # found after all
        outputs: list[ReservationOutput] = [
            Picked(ts_ms, reservation_id, item, wanted, epc, staff_id)
        ]
        if zone_of(epc) == self.hold_zone:
            found.held.add(epc)
        outputs.extend(self._ready(found, ts_ms))
        return outputs

    def unavailable(
        self, reservation_id: str, item: int, staff_id: str, ts_ms: int
    ) -> list[ReservationOutput]:
        """Staff found no tag of the item to pick. The rest of the reservation can still be
        ready; HQ tells the member and offers another size or a nearby store."""
        found = self._get(reservation_id)
        if not 0 <= item < len(found.spec.items):
            raise ReservationError(f"reservation {reservation_id} has no item {item}")
        if item in found.picked:
            raise ReservationError(f"item {item} is already picked ({found.picked[item]})")
        if item in found.unavailable:
            return []
        found.unavailable.add(item)
        gtin = found.spec.items[item].gtin
        outputs: list[ReservationOutput] = [
            Unavailable(ts_ms, reservation_id, found.spec.member_id, item, gtin, staff_id)
        ]
        outputs.extend(self._ready(found, ts_ms))
        return outputs

    def check_in(self, code: str, ts_ms: int) -> list[ReservationOutput]:
        for found in self._open.values():
            if found.spec.checkin_code == code.strip().upper():
                if ts_ms > found.end_ms:
                    raise ReservationError("this reservation's window has ended")
                return self._arrive(found, ts_ms, "qr")
        raise UnknownReservationError("no open reservation with this code in this store")

    # -- from the store's sensors and tills -------------------------------------------------

    def on_tag_seen(self, epc: str, zone: str, ts_ms: int) -> list[ReservationOutput]:
        outputs: list[ReservationOutput] = []
        for found in self._open.values():
            if epc in found.picked.values():
                if zone == self.hold_zone:
                    found.held.add(epc)
                    outputs.extend(self._ready(found, ts_ms))
                else:
                    found.held.discard(epc)
        owner = self._returning.get(epc)
        if owner is not None and zone in self._floor:
            del self._returning[epc]
            outputs.append(Returned(ts_ms, owner, epc, zone))
        return outputs

    def on_member_seen(self, member_id: str, ts_ms: int) -> list[ReservationOutput]:
        outputs: list[ReservationOutput] = []
        for found in list(self._open.values()):
            in_window = found.start_ms - ARRIVAL_EARLY_MS <= ts_ms <= found.end_ms
            if found.spec.member_id == member_id and in_window and not found.arrived:
                outputs.extend(self._arrive(found, ts_ms, "face"))
        return outputs

    def on_sale(
        self, epcs: Iterable[str], gtins: Mapping[str, int], ts_ms: int
    ) -> list[ReservationOutput]:
        """``epcs``: tags sold; ``gtins``: quantities sold by GTIN without a tag."""
        sold, by_gtin = set(epcs), dict(gtins)
        outputs: list[ReservationOutput] = []
        for found in list(self._open.values()):
            for index, item in enumerate(found.spec.items):
                if index in found.bought:
                    continue
                if found.picked.get(index) in sold:
                    found.bought.add(index)
                elif found.arrived and by_gtin.get(item.gtin, 0) > 0:
                    by_gtin[item.gtin] -= 1
                    found.bought.add(index)
            if len(found.bought) == len(found.spec.items):
                outputs.append(self._close(found, ts_ms))
        return outputs

    def tick(self, now_ms: int) -> list[ReservationOutput]:
        return [self._close(r, now_ms) for r in list(self._open.values()) if now_ms > r.end_ms]

    # -- for the staff page -----------------------------------------------------------------

    def board(self, locate: Callable[[str], list[tuple[str, str]]]) -> list[dict[str, Any]]:
        """Open reservations with their pick lists (``locate(gtin)``: present tags and their
        zones), and the tags to take back to the floor."""
        rows = []
        for found in sorted(self._open.values(), key=lambda r: (r.start_ms, r.spec.id)):
            rows.append(
                {
                    "id": found.spec.id,
                    "member_id": found.spec.member_id,
                    "window_start": found.spec.window_start,
                    "window_end": found.spec.window_end,
                    "status": found.status(),
                    "hold_zone": self.hold_zone,
                    "items": [
                        {
                            "index": index,
                            "gtin": item.gtin,
                            "picked_epc": found.picked.get(index),
                            "in_hold_zone": found.picked.get(index) in found.held,
                            "bought": index in found.bought,
                            "unavailable": index in found.unavailable,
                            "where": [
                                {"epc": epc, "zone": zone}
                                for epc, zone in locate(item.gtin)
                                if epc not in self._taken()
                            ][:10],
                        }
                        for index, item in enumerate(found.spec.items)
                    ],
                }
            )
        return rows

    def to_return(self) -> dict[str, str]:
        return dict(self._returning)

    # -- helpers ----------------------------------------------------------------------------

    def _get(self, reservation_id: str) -> _Open:
        found = self._open.get(reservation_id)
        if found is None:
            raise UnknownReservationError(f"no open reservation {reservation_id} in this store")
        return found

    def _taken(self) -> set[str]:
        return {epc for r in self._open.values() for epc in r.picked.values()}

    def _ready(self, found: _Open, ts_ms: int) -> list[ReservationOutput]:
        # Every item picked, or reported unavailable; something to wait for at least.
        complete = bool(found.picked) and len(found.picked) + len(found.unavailable) == len(
            found.spec.items
        )
        if found.ready or not complete or not set(found.picked.values()) <= found.held:
            return []
        found.ready = True
        epcs = tuple(found.picked[i] for i in sorted(found.picked))
        return [Ready(ts_ms, found.spec.id, found.spec.member_id, self.hold_zone, epcs)]

    def _arrive(
        self, found: _Open, ts_ms: int, how: Literal["face", "qr"]
    ) -> list[ReservationOutput]:
        if found.arrived:
            return []
        found.arrived = True
        return [Arrived(ts_ms, found.spec.id, found.spec.member_id, self.hold_zone, how)]

    def _close(self, found: _Open, ts_ms: int) -> Closed:
        del self._open[found.spec.id]
        self._closed.add(found.spec.id)
        outcomes = []
        to_return = []
        for index in range(len(found.spec.items)):
            epc = found.picked.get(index)
            if index in found.bought:
                outcomes.append(ItemOutcome.BOUGHT)
                continue
            if epc is None:
                outcomes.append(ItemOutcome.NOT_PICKED)
                continue
            outcomes.append(
                ItemOutcome.TRIED_NOT_BOUGHT if found.arrived else ItemOutcome.NOT_COLLECTED
            )
            to_return.append(epc)
            self._returning[epc] = found.spec.id
        return Closed(
            ts_ms,
            found.spec.id,
            found.spec.member_id,
            found.arrived,
            tuple(outcomes),
            tuple(to_return),
        )
