"""Catalog fallback for when the model has nothing to say (unknown items, a cold catalog, no
model): products of the categories that complement those in the room (a shirt -> trousers,
chinos, a belt), taken round-robin across those categories so that the list mixes them."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

from edge.recommend.catalog import Catalog, Product


def complementary_categories(
    in_room: Sequence[Product], complements: Mapping[str, Sequence[str]]
) -> list[str]:
    """Complements of the in-room categories, best first, without repeats; the in-room
    categories themselves only when the map says so (a sweater complements a shirt)."""
    seen: dict[str, None] = {}
    for product in in_room:
        for category in complements.get(product.category, ()):
            seen.setdefault(category, None)
    return list(seen)


def complement_source(
    candidate: Product, in_room: Sequence[Product], complements: Mapping[str, Sequence[str]]
) -> Product | None:
    """The in-room product the candidate complements (for the tablet's "goes with ...")."""
    return next((p for p in in_room if candidate.category in complements.get(p.category, ())), None)


def fallback_candidates(
    catalog: Catalog, in_room: Sequence[Product], complements: Mapping[str, Sequence[str]]
) -> Iterator[Product]:
    """One product per style of the complementary categories, round-robin across them.

    Lazily: the caller stops as soon as it has enough in-stock picks."""
    queues = [
        _first_per_style(catalog.in_category(c))
        for c in complementary_categories(in_room, complements)
    ]
    while queues:
        still = []
        for queue in queues:
            product = next(queue, None)
            if product is not None:
                yield product
                still.append(queue)
        queues = still


def _first_per_style(products: Sequence[Product]) -> Iterator[Product]:
    seen: set[str] = set()
    for product in products:
        if product.style not in seen:
            seen.add(product.style)
            yield product


def every_style(catalog: Catalog) -> Iterator[Product]:
    """Last resort when no complementary product is in stock: one product per style, in
    catalog order, so that a list is never empty while the store has stock."""
    return _first_per_style(catalog.products)
