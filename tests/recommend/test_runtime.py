"""The edge runtime on the retrained demo model: stock, size and in-room filters, reasons,
the catalog fallback, refusal of a model for another catalog, and atomic reloads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edge.config.store import StoreConfig
from edge.config.zones import ZoneKind
from edge.recommend.catalog import Catalog, Product
from edge.recommend.filters import sizes_from_purchases
from edge.recommend.runtime import ModelError, Reason, Recommender, load_model
from edge.rfid.epc import encode_sgtin96
from edge.rfid.reads import TagRead
from edge.rfid.stock import StockView
from edge.rfid.tracker import TagTracker
from models.recommender.demo_catalog import gtin_for
from models.recommender.export import export_onnx
from models.recommender.model import Factors
from models.recommender.train import TrainResult
from tests.recommend.helpers import make_recommender, stock_of

SWEATER_NAVY_M = gtin_for("011001")
SWEATER_RED_M = gtin_for("011002")
TEE_WHITE_M = gtin_for("012003")
CHINO_BEIGE_32 = gtin_for("013001")


def _product(catalog: Catalog, gtin: str) -> Product:
    product = catalog.get(gtin)
    assert product is not None
    return product


def test_companions_are_in_stock_and_not_in_the_room(
    recommender: Recommender, catalog: Catalog
) -> None:
    stock = stock_of(catalog)
    recs = recommender.recommend([SWEATER_NAVY_M, SWEATER_RED_M], stock=stock)
    assert len(recs) == 5
    room_style = _product(catalog, SWEATER_NAVY_M).style
    styles = [_product(catalog, r.gtin).style for r in recs]
    assert room_style not in styles
    assert len(set(styles)) == len(styles), "one variant per style"
    assert [r.score for r in recs] == sorted((r.score for r in recs), reverse=True)
    for rec in recs:
        assert rec.reason is Reason.GOES_WITH
        assert rec.because_gtin in (SWEATER_NAVY_M, SWEATER_RED_M)
        assert rec.text.startswith("Goes with your Merino crew sweater")
        assert stock.stock_of(rec.gtin), "recommended products are in stock"
        chosen = rec.sizes_in_stock[rec.size]
        assert [z.zone for z in chosen] == ["shelf-a", "backroom"], "floor first"
    json.dumps([r.model_dump(mode="json") for r in recs])  # the tablet/MQTT payload


def test_out_of_stock_sold_and_reserved_units_are_skipped(
    recommender: Recommender, catalog: Catalog
) -> None:
    room = [SWEATER_NAVY_M]
    first = recommender.recommend(room, stock=stock_of(catalog))[0]
    style = _product(catalog, first.gtin).style
    variants = catalog.variants(style)
    # The whole style sold out: its tags are gone (sold and carried out)...
    gone = stock_of(catalog, skip=[p.gtin for p in variants])
    # ... or its units are only in a fitting room, at the till or at the exit: not on offer.
    for product in variants:
        for n, zone in enumerate(("fitting-2", "pos", "exit")):
            gone.add(f"{product.gtin}-x{n}", product.gtin, zone)
    recs = recommender.recommend(room, stock=gone)
    assert style not in {_product(catalog, r.gtin).style for r in recs}
    assert len(recs) == 5
    assert recs[0].score <= first.score


def _offered(catalog: Catalog, gtin: str) -> set[str]:
    """Sizes the style of ``gtin`` comes in."""
    return {p.size for p in catalog.variants(_product(catalog, gtin).style)}


def test_member_size_from_purchases(recommender: Recommender, catalog: Catalog) -> None:
    purchases = [_product(catalog, g) for g in (gtin_for("012002"), CHINO_BEIGE_32)]
    sizes = sizes_from_purchases(purchases)
    assert set(sizes) == {"L", "32"}
    stock = stock_of(catalog)
    recs = recommender.recommend([SWEATER_NAVY_M], member_sizes=sizes, stock=stock, limit=8)
    assert len(recs) == 8
    sized = [r for r in recs if _offered(catalog, r.gtin) & {"L", "32"}]
    assert sized and all(r.size in ("L", "32") for r in sized)
    # The member's size out of stock: that style is not shown in another size.
    style = _product(catalog, next(r for r in sized if r.size == "L").gtin).style
    no_l = stock_of(catalog, skip=[p.gtin for p in catalog.variants(style) if p.size == "L"])
    again = recommender.recommend([SWEATER_NAVY_M], member_sizes=sizes, stock=no_l, limit=8)
    assert style not in {_product(catalog, r.gtin).style for r in again}
    # A single size string is one size, not its characters.
    waist = recommender.recommend([SWEATER_NAVY_M], member_sizes="32", stock=stock, limit=8)
    in_waist = [r for r in waist if "32" in _offered(catalog, r.gtin)]
    assert in_waist and all(r.size == "32" for r in in_waist)


def test_anonymous_shopper_gets_the_size_in_the_room(
    recommender: Recommender, catalog: Catalog
) -> None:
    recs = recommender.recommend([TEE_WHITE_M], stock=stock_of(catalog), limit=10)
    alpha = [r for r in recs if r.size in ("S", "M", "L", "XL")]
    assert alpha and all(r.size == "M" for r in alpha)


def test_member_history_counts_when_the_room_is_empty(
    recommender: Recommender, catalog: Catalog
) -> None:
    recs = recommender.recommend([], member_history_gtins=[CHINO_BEIGE_32], stock=stock_of(catalog))
    assert recs and all(r.reason is Reason.MEMBER_HISTORY for r in recs)
    assert all(r.because_gtin == CHINO_BEIGE_32 for r in recs)
    assert recs[0].text == "Matches your Slim chino (beige, 32)"


def test_fallback_when_the_model_knows_nothing(
    store: StoreConfig, recommender: Recommender, catalog: Catalog
) -> None:
    stock = stock_of(catalog)
    unknown = recommender.recommend(["00000000000017"], stock=stock)
    assert len(unknown) == 5 and all(r.reason is Reason.IN_STOCK for r in unknown)
    assert recommender.stats.unknown_gtins == 1
    # No model at all: complementary categories of the room (shirt -> trousers, chinos, ...).
    plain = make_recommender(store, catalog, None)
    shirt = catalog.in_category("shirt")[0]
    recs = plain.recommend([shirt.gtin], stock=stock)
    assert len(recs) == 5
    assert all(r.reason is Reason.COMPLEMENTS and r.because_gtin == shirt.gtin for r in recs)
    assert [r.category for r in recs[:4]] == ["trousers", "chinos", "belt", "jacket"]
    assert recs[0].text == f"Completes your {shirt.name}"
    # Only one belt left in the whole store: still a non-empty list.
    belt = catalog.in_category("belt")[0]
    one = StockView()
    one.add("belt-1", belt.gtin, "backroom")
    only = plain.recommend([shirt.gtin], stock=one)
    assert [(r.gtin, r.reason) for r in only] == [(belt.gtin, Reason.COMPLEMENTS)]
    assert plain.recommend([shirt.gtin], stock=StockView()) == []
    assert plain.stats.fallback_picks == 6


def test_stock_straight_from_the_tag_tracker(
    store: StoreConfig, recommender: Recommender, catalog: Catalog
) -> None:
    tracker = TagTracker.from_store_config(store)
    chino = catalog.get(CHINO_BEIGE_32)
    assert chino is not None
    epc = encode_sgtin96("0614141", "013001", 77)
    for ts_ms in (1_000, 1_500, 2_000):  # over the tracker's arrival settle time
        tracker.process(TagRead("shelf-reader", 3, epc, -50.0, ts_ms))  # shelf-b
    assert tracker.stock_of(CHINO_BEIGE_32) == {"shelf-b": 1}
    recs = recommender.recommend([SWEATER_NAVY_M], stock=tracker, limit=3)
    assert [r.gtin for r in recs] == [CHINO_BEIGE_32]
    assert next(iter(recs[0].sizes_in_stock.values()))[0].zone == "shelf-b"


def test_a_model_for_another_catalog_is_refused(
    store: StoreConfig, catalog: Catalog, trained: TrainResult, tmp_path: Path
) -> None:
    factors = trained.factors
    order = list(reversed(factors.gtins))
    shuffled = export_onnx(
        Factors(tuple(order), factors.u, factors.v),
        tmp_path / "shuffled.onnx",
        model_version="x",
        catalog_version="other",
    )
    with pytest.raises(ModelError, match=r"same products in another order \(first difference"):
        load_model(shuffled, catalog)
    fewer = export_onnx(
        Factors(factors.gtins[:-1], factors.u[:-1], factors.v[:-1]),
        tmp_path / "fewer.onnx",
        model_version="old",
        catalog_version="demo-old",
    )
    with pytest.raises(ModelError) as raised:
        make_recommender(store, catalog, fewer)
    message = str(raised.value)
    assert "model old was trained for catalog demo-old (258 products)" in message
    assert f"1 catalog product(s) unknown to the model (e.g. {factors.gtins[-1]})" in message
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"not a model")
    with pytest.raises(ModelError, match="cannot load the recommender model"):
        load_model(junk, catalog)


def test_reload_swaps_model_and_catalog(
    store: StoreConfig, catalog: Catalog, trained: TrainResult, tmp_path: Path
) -> None:
    rec = make_recommender(store, catalog, trained.model_path)
    stock = stock_of(catalog)
    before = rec.recommend([SWEATER_NAVY_M], stock=stock)
    # A new model (here: companions reversed) replaces the old one at once.
    flipped = export_onnx(
        Factors(trained.factors.gtins, -trained.factors.u, trained.factors.v),
        tmp_path / "v2.onnx",
        model_version="v2",
        catalog_version=catalog.version,
    )
    rec.reload(flipped)
    assert rec.model_version == "v2"
    after = rec.recommend([SWEATER_NAVY_M], stock=stock)
    assert [r.gtin for r in after] != [r.gtin for r in before]
    # A model for other products is refused and the running one stays.
    other = export_onnx(
        Factors(trained.factors.gtins[1:], trained.factors.u[1:], trained.factors.v[1:]),
        tmp_path / "v3.onnx",
        model_version="v3",
        catalog_version="x",
    )
    with pytest.raises(ModelError):
        rec.reload(other)
    assert rec.model_version == "v2"
    # A new catalog with the model trained for it swaps both together.
    smaller = Catalog("demo-2", catalog.products[1:])
    rec.reload(other, catalog=smaller)
    assert (rec.model_version, rec.catalog.version) == ("v3", "demo-2")
    # A catalog the running model does not fit, without a new model: refused, nothing changes.
    with pytest.raises(ModelError):
        rec.reload(catalog=catalog)
    assert (rec.model_version, rec.catalog.version) == ("v3", "demo-2")
    assert (rec.stats.reloads, rec.stats.reloads_refused) == (2, 2)


def test_reason_follows_the_input_that_drives_the_score(
    store: StoreConfig, catalog: Catalog, trained: TrainResult
) -> None:
    stock = stock_of(catalog)
    for weight, reasons in (
        (0.001, {Reason.GOES_WITH}),
        (1.0, {Reason.GOES_WITH, Reason.MEMBER_HISTORY}),
    ):
        rec = make_recommender(store, catalog, trained.model_path, history_weight=weight)
        recs = rec.recommend(
            [SWEATER_NAVY_M], member_history_gtins=[CHINO_BEIGE_32], stock=stock, limit=10
        )
        assert {r.reason for r in recs} == reasons
        for r in recs:
            expected = SWEATER_NAVY_M if r.reason is Reason.GOES_WITH else CHINO_BEIGE_32
            assert r.because_gtin == expected


def test_zone_kinds_decide_what_counts_as_stock(store: StoreConfig, catalog: Catalog) -> None:
    shirt = catalog.in_category("shirt")[0]
    trousers = catalog.in_category("trousers")[0]
    view = StockView()
    view.add("t-1", trousers.gtin, "backroom")
    floor_only = make_recommender(store, catalog, None, stock_zone_kinds=[ZoneKind.SHELF])
    assert floor_only.recommend([shirt.gtin], stock=view) == []
    both = make_recommender(store, catalog, None)
    assert [r.gtin for r in both.recommend([shirt.gtin], stock=view)] == [trousers.gtin]
