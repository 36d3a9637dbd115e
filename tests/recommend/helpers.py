"""Builders for the recommender tests."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from edge.config.recommend import RecommendConfig
from edge.config.store import StoreConfig
from edge.recommend.catalog import Catalog
from edge.recommend.runtime import Recommender
from edge.rfid.stock import StockView


def make_recommender(
    store: StoreConfig, catalog: Catalog, model: Path | None, **config: object
) -> Recommender:
    return Recommender(
        model,
        catalog,
        RecommendConfig.model_validate(config),
        zone_kinds={zone.id: zone.kind for zone in store.zones},
    )


def stock_of(
    catalog: Catalog, *, shelf: int = 2, backroom: int = 1, skip: Iterable[str] = ()
) -> StockView:
    """Every product with ``shelf`` units on shelf-a and ``backroom`` in the backroom, except
    the GTINs in ``skip``."""
    view = StockView()
    skipped = set(skip)
    for product in catalog:
        if product.gtin in skipped:
            continue
        for n in range(shelf):
            view.add(f"{product.gtin}-s{n}", product.gtin, "shelf-a")
        for n in range(backroom):
            view.add(f"{product.gtin}-b{n}", product.gtin, "backroom")
    return view
