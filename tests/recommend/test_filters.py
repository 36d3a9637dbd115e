"""The pure filters and the fallback's category order, table-driven."""

from __future__ import annotations

import pytest

from edge.config.recommend import DEFAULT_COMPLEMENTS, RecommendConfig
from edge.config.zones import ZoneKind
from edge.recommend.catalog import Catalog, Product
from edge.recommend.fallback import complementary_categories, fallback_candidates
from edge.recommend.filters import (
    ZoneStock,
    available_stock,
    excluded_styles,
    pick_variant,
    size_for_style,
    sizes_from_purchases,
    variant_order,
)

KINDS = {
    "shelf-a": ZoneKind.SHELF,
    "shelf-b": ZoneKind.SHELF,
    "backroom": ZoneKind.BACKROOM,
    "fitting-1": ZoneKind.FITTING_ROOM,
    "pos": ZoneKind.POS,
    "exit": ZoneKind.EXIT,
}
FLOOR_THEN_BACK = [ZoneKind.SHELF, ZoneKind.BACKROOM]


def _p(
    gtin: str, colour: str, size: str, style: str = "oxford", category: str = "shirt"
) -> Product:
    return Product(
        gtin=gtin.zfill(14),
        name=style,
        category=category,
        size=size,
        colour=colour,
        price=1,
        style=style,
    )


OXFORD = [
    _p("00000000000001", "white", "S"),
    _p("00000000000002", "white", "M"),
    _p("00000000000003", "white", "L"),
    _p("00000000000004", "blue", "M"),
    _p("00000000000005", "blue", "L"),
]


@pytest.mark.parametrize(
    ("stock", "expected"),
    [
        ({}, ()),
        ({"fitting-1": 2, "pos": 1, "exit": 1}, ()),
        (
            {"backroom": 3, "shelf-b": 1, "shelf-a": 2},
            (("shelf-a", 2), ("shelf-b", 1), ("backroom", 3)),
        ),
        ({"shelf-a": 0, "nowhere": 5}, ()),
    ],
    ids=["nothing", "only-reserved-zones", "floor-before-backroom", "zero-and-unknown-zone"],
)
def test_available_stock(stock: dict[str, int], expected: tuple[tuple[str, int], ...]) -> None:
    got = available_stock(stock, KINDS, FLOOR_THEN_BACK)
    assert tuple((z.zone, z.count) for z in got) == expected


@pytest.mark.parametrize(
    ("member_sizes", "expected"),
    [((), None), (("M",), "M"), (("32", "L"), "L"), (("XS", "32"), None)],
    ids=["unknown", "known", "first-that-applies", "none-applies"],
)
def test_size_for_style(member_sizes: tuple[str, ...], expected: str | None) -> None:
    assert size_for_style(OXFORD, member_sizes) == expected


def test_sizes_from_purchases_most_bought_first() -> None:
    bought = [OXFORD[1], _p("9", "navy", "32", "chino"), OXFORD[3], _p("8", "x", "", "scarf")]
    assert sizes_from_purchases(bought) == ("M", "32")


def test_variant_order_member_size_is_strict() -> None:
    ordered = variant_order(OXFORD[4], OXFORD, member_size="M", preferred_sizes=())
    assert [p.gtin[-1] for p in ordered] == ["4", "2"]  # blue M (candidate colour), white M


def test_variant_order_anonymous_prefers_room_size_in_candidate_colour() -> None:
    ordered = variant_order(OXFORD[2], OXFORD, member_size=None, preferred_sizes={"M"})
    assert [p.gtin[-1] for p in ordered] == ["2", "3", "1", "4", "5"]


def test_pick_variant_takes_the_first_in_stock() -> None:
    stock = {"00000000000004": (ZoneStock("backroom", ZoneKind.BACKROOM, 1),)}
    picked = pick_variant(OXFORD[::-1], lambda p: stock.get(p.gtin, ()))
    assert picked is not None and picked[0].gtin == "00000000000004"
    assert pick_variant(OXFORD[:3], lambda p: stock.get(p.gtin, ())) is None


def test_in_room_styles_are_excluded() -> None:
    assert excluded_styles([OXFORD[0], _p("7", "beige", "32", "chino")]) == {"oxford", "chino"}


def test_complementary_categories_in_map_order() -> None:
    shirt, belt = OXFORD[0], _p("6", "brown", "90", "leather-belt", "belt")
    assert complementary_categories([shirt, belt], DEFAULT_COMPLEMENTS) == [
        "trousers",
        "chinos",
        "belt",
        "jacket",
        "jeans",
    ]
    assert complementary_categories([_p("5", "x", "", "kite", "kites")], DEFAULT_COMPLEMENTS) == []


def test_fallback_round_robin_one_per_style(catalog: Catalog) -> None:
    shirt = catalog.in_category("shirt")[0]
    picks = list(fallback_candidates(catalog, [shirt], {"shirt": ["belt", "trousers"]}))
    assert [p.category for p in picks] == ["belt", "trousers", "belt", "trousers"][: len(picks)]
    assert len({p.style for p in picks}) == len(picks)
    assert {p.style for p in picks} == {
        p.style for p in catalog if p.category in ("belt", "trousers")
    }


def test_config_defaults_and_errors() -> None:
    config = RecommendConfig()
    assert config.stock_zone_kinds == FLOOR_THEN_BACK and config.limit == 5
    with pytest.raises(ValueError, match="zone kind 'fitting_room' cannot count as available"):
        RecommendConfig(stock_zone_kinds=[ZoneKind.SHELF, ZoneKind.FITTING_ROOM])
    with pytest.raises(ValueError, match="lists a zone kind twice"):
        RecommendConfig(stock_zone_kinds=[ZoneKind.SHELF, ZoneKind.SHELF])
