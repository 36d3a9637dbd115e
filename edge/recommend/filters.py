"""Pure filters between the model's companions and the tablet: stock, size, in-room.

Stock is the live RFID view, ``{zone: count}`` per GTIN (``TagTracker.stock_of``). Only zones
of the configured kinds count (shelf floor and backroom by default): a unit in a fitting room,
at the till or at the exit is not on offer. A product with no such unit is out of stock
(sold out, or all units are being tried or paid for) and is never recommended.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from edge.config.zones import ZoneKind
from edge.recommend.catalog import Product

StockLookup = Callable[[str], Mapping[str, int]]
"""GTIN -> ``{zone: count}`` of present tags (``TagTracker.stock_of``, ``StockView.stock_of``)."""


@dataclass(frozen=True, slots=True)
class ZoneStock:
    zone: str
    kind: ZoneKind
    count: int


@dataclass(frozen=True, slots=True)
class SizeStock:
    """Where one size of a recommended style and colour can be found right now."""

    size: str
    gtin: str
    zones: tuple[ZoneStock, ...]

    @property
    def count(self) -> int:
        return sum(zone.count for zone in self.zones)


def available_stock(
    stock_by_zone: Mapping[str, int],
    zone_kinds: Mapping[str, ZoneKind],
    kinds: Sequence[ZoneKind],
) -> tuple[ZoneStock, ...]:
    """The zones of the available ``kinds`` holding units, in ``kinds`` order (floor before
    backroom by default), then by zone id. Zones the store does not define are ignored."""
    rank = {kind: i for i, kind in enumerate(kinds)}
    found = [
        ZoneStock(zone, kind, count)
        for zone, count in stock_by_zone.items()
        if count > 0 and (kind := zone_kinds.get(zone)) is not None and kind in rank
    ]
    return tuple(sorted(found, key=lambda z: (rank[z.kind], z.zone)))


def in_stock(stock: Sequence[ZoneStock]) -> bool:
    return any(zone.count > 0 for zone in stock)


def sizes_from_purchases(purchases: Iterable[Product]) -> tuple[str, ...]:
    """The sizes a member buys, most bought first (ties: most recent first, given newest-first
    input); one-size products say nothing."""
    counts = Counter(p.size for p in purchases if p.size)
    return tuple(size for size, _ in counts.most_common())


def size_for_style(variants: Sequence[Product], member_sizes: Sequence[str]) -> str | None:
    """The member's size in this style's size run: the first of ``member_sizes`` it is offered
    in. None when none applies (a belt for someone whose known sizes are M and 32)."""
    offered = {p.size for p in variants}
    return next((size for size in member_sizes if size in offered), None)


def excluded_styles(in_room: Iterable[Product]) -> set[str]:
    """Styles already in the room: their other sizes and colours are a size request on the
    tablet, not a recommendation."""
    return {p.style for p in in_room}


def variant_order(
    candidate: Product,
    variants: Sequence[Product],
    *,
    member_size: str | None,
    preferred_sizes: Collection[str],
) -> list[Product]:
    """The variants of the candidate's style worth showing, best first.

    With a known member size only that size qualifies (the candidate's colour first). Without
    one: the candidate's colour in a size already in the room (an anonymous shopper's likely
    size), then the candidate itself, then its colour in other sizes, then other colours.
    """
    if member_size is not None:
        pool = [p for p in variants if p.size == member_size]
        return sorted(pool, key=lambda p: p.colour != candidate.colour)
    return sorted(
        variants,
        key=lambda p: (
            p.colour != candidate.colour,
            p.size not in preferred_sizes,
            p.gtin != candidate.gtin,
        ),
    )


def pick_variant(
    ordered: Sequence[Product], stock_of: Callable[[Product], Sequence[ZoneStock]]
) -> tuple[Product, tuple[ZoneStock, ...]] | None:
    """The first variant with available stock, and that stock; None if all are out."""
    for product in ordered:
        stock = tuple(stock_of(product))
        if in_stock(stock):
            return product, stock
    return None


def sizes_in_stock(
    chosen: Product,
    variants: Sequence[Product],
    stock_of: Callable[[Product], Sequence[ZoneStock]],
) -> tuple[SizeStock, ...]:
    """Every size of the chosen colour with available units (catalog size order)."""
    out = []
    for product in variants:
        if product.colour != chosen.colour:
            continue
        stock = tuple(stock_of(product))
        if in_stock(stock):
            out.append(SizeStock(product.size, product.gtin, stock))
    return tuple(out)


class Availability(StrEnum):
    """Where a shopper's tablet says a variant is, best first."""

    FLOOR = "floor"
    """On a shelf of this store: staff fetch it at once."""
    BACKROOM = "backroom"
    """In this store's stock room."""
    IN_ROOM = "in_room"
    """Only in the asking fitting room itself (the shopper has it)."""
    NEARBY_STORE = "nearby_store"
    """At a nearby store of the chain (HQ's counts on the downlink, ``edge.recommend.nearby``):
    none here to fetch, none in the asking room."""
    NOT_IN_STORE = "not_in_store"
    """Nowhere staff can fetch it from (sold out, or only in other shoppers' rooms)."""


def availability(
    places: Sequence[ZoneStock], *, in_this_room: int = 0, at_nearby_store: bool = False
) -> Availability:
    """Where a variant is, from its fetchable places (``available_stock`` with shelf and
    backroom kinds), its units in the asking room, and whether a nearby store has it."""
    kinds = {place.kind for place in places if place.count > 0}
    if ZoneKind.SHELF in kinds:
        return Availability.FLOOR
    if ZoneKind.BACKROOM in kinds:
        return Availability.BACKROOM
    if in_this_room > 0:
        return Availability.IN_ROOM
    if at_nearby_store:
        return Availability.NEARBY_STORE
    return Availability.NOT_IN_STORE
