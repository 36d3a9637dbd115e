"""Other stores' stock, as HQ last sent it (docs/sync.md, "Nearby stores' stock"): which
stores near this one have units of a GTIN, nearest first.

Pure: the answer is kept as received and judged at each question against the time given, so a
store whose counts have grown old (HQ unreachable, that store silent) drops out by itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from edge.events.base import datetime_to_ms
from edge.events.stock import NearbyStock as NearbyStockAnswer


@dataclass(frozen=True, slots=True)
class NearbyOffer:
    """Units of one GTIN at another store of the chain."""

    store_id: str
    name: str
    distance_km: float
    count: int
    as_of_ms: int
    """When that store last reported its stock to HQ."""


@dataclass(frozen=True, slots=True)
class _Store:
    name: str
    distance_km: float
    as_of_ms: int


class NearbyStock:
    """One HQ answer, indexed for lookups by GTIN (replaced whole by the next answer)."""

    __slots__ = ("_stock", "_stores")

    def __init__(self, answer: NearbyStockAnswer | None = None) -> None:
        stores = answer.stores if answer is not None else []
        self._stores: Mapping[str, _Store] = {
            s.store_id: _Store(s.name, s.distance_km, datetime_to_ms(s.as_of)) for s in stores
        }
        self._stock: Mapping[str, tuple[tuple[str, int], ...]] = (
            {g: tuple((c.store_id, c.count) for c in at) for g, at in answer.stock.items()}
            if answer is not None
            else {}
        )

    def __len__(self) -> int:
        """GTINs some nearby store has."""
        return len(self._stock)

    def offers(self, gtin: str, *, now_ms: int, max_age_ms: int) -> tuple[NearbyOffer, ...]:
        """The stores that have ``gtin``, nearest first, leaving out those whose counts are
        older than ``max_age_ms`` at ``now_ms`` (wall time: HQ's ``as_of`` is wall time)."""
        found = []
        for store_id, count in self._stock.get(gtin, ()):
            store = self._stores.get(store_id)
            if store is None or now_ms - store.as_of_ms > max_age_ms:
                continue  # (HQ lists every store it counts; an unknown one is ignored)
            found.append(
                NearbyOffer(store_id, store.name, store.distance_km, count, store.as_of_ms)
            )
        return tuple(sorted(found, key=lambda o: (o.distance_km, o.store_id)))
