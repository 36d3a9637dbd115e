"""Recommendations for fitting-room tablets: model, catalog, filters and the fallback."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator

from edge.config.base import StrictModel
from edge.config.zones import ZoneKind

DEFAULT_COMPLEMENTS: dict[str, list[str]] = {
    "shirt": ["trousers", "chinos", "belt", "jacket"],
    "sweater": ["chinos", "jeans", "shirt", "scarf"],
    "cardigan": ["tee", "chinos", "dress"],
    "tee": ["jeans", "shorts", "jacket", "cardigan"],
    "polo": ["chinos", "shorts", "belt"],
    "chinos": ["shirt", "sweater", "belt", "shoes"],
    "jeans": ["tee", "sweater", "belt", "shoes"],
    "trousers": ["shirt", "belt", "shoes", "jacket"],
    "shorts": ["polo", "tee"],
    "jacket": ["shirt", "tee", "trousers", "scarf"],
    "coat": ["scarf", "hat", "sweater"],
    "belt": ["trousers", "chinos", "jeans"],
    "shoes": ["socks", "trousers", "chinos"],
    "scarf": ["coat", "sweater"],
    "hat": ["coat", "scarf"],
    "socks": ["shoes"],
    "dress": ["shoes", "bag", "belt", "cardigan"],
    "skirt": ["blouse", "sweater", "bag"],
    "blouse": ["skirt", "trousers", "bag"],
    "bag": ["dress", "skirt"],
}
"""Category -> complementary categories, best first (the fallback when the model has nothing)."""

_NOT_AVAILABLE = {
    ZoneKind.FITTING_ROOM: "someone is trying it on",
    ZoneKind.POS: "it is being paid for",
    ZoneKind.EXIT: "it is leaving the store",
    ZoneKind.ENTRANCE: "it is at the door",
}


class RecommendConfig(StrictModel):
    model_path: Path | None = Field(
        default=None,
        title="ONNX recommender model (relative to data_dir)",
        description="Default: data_dir/models/recommender.onnx (downloaded from HQ), else the "
        "demo model shipped in models/recommender/recommender.onnx",
    )
    catalog_path: Path | None = Field(
        default=None,
        title="Catalog JSON (relative to data_dir)",
        description="Default: data_dir/catalog.json (downloaded from HQ), else "
        "firmware_configs/demo_catalog.json",
    )
    limit: int = Field(default=5, ge=1, le=20, title="Recommendations per fitting-room update")
    candidates: int = Field(
        default=100,
        ge=1,
        le=5000,
        title="Companions the model returns before the stock and size filters",
        description="Enough for `limit` styles to survive the filters in a sparse store",
    )
    history_weight: float = Field(
        default=0.3,
        ge=0,
        le=1,
        title="Weight of each item of the member's history, relative to an in-room item",
    )
    history_max_items: int = Field(
        default=20, ge=0, le=200, title="Most recent member purchases/try-ons used"
    )
    stock_zone_kinds: list[ZoneKind] = Field(
        default_factory=lambda: [ZoneKind.SHELF, ZoneKind.BACKROOM],
        min_length=1,
        title="Zone kinds whose tags count as available stock (floor first, then backroom)",
    )
    complements: dict[str, list[str]] = Field(
        default_factory=lambda: {k: list(v) for k, v in DEFAULT_COMPLEMENTS.items()},
        title="Category -> complementary categories, for the catalog fallback",
        description="Replaces the default map when given",
    )

    @field_validator("stock_zone_kinds", mode="after")
    @classmethod
    def _only_stock_kinds(cls, value: list[ZoneKind]) -> list[ZoneKind]:
        for kind in value:
            if kind in _NOT_AVAILABLE:
                raise ValueError(
                    f"zone kind '{kind.value}' cannot count as available stock: an item there "
                    f"is not on offer ({_NOT_AVAILABLE[kind]}); use shelf and/or backroom"
                )
        if len(set(value)) != len(value):
            raise ValueError("stock_zone_kinds lists a zone kind twice")
        return value
