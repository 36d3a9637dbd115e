"""Recommendations on every session change, from the real recommender and shipped model."""

from __future__ import annotations

import json
from pathlib import Path

from edge.alerts.rules import AlertRules
from edge.events.fusion import RecommendedItem
from edge.fusion.directory import MemberProfile
from edge.fusion.engine import FusionEngine
from edge.fusion.fitting_rooms import RoomSnapshot
from edge.fusion.recommend_hook import recommender_hook
from edge.recommend.runtime import SHIPPED_MODEL, Recommender
from edge.rfid.stock import StockView
from tests.fusion.fusion_store import (
    ANNA,
    BOB,
    CATALOG,
    MIN,
    SWEATER_NAVY_M,
    T0,
    Store,
    epc,
    gtin,
    kinds,
    payloads,
    store_config,
)


def stocked_store() -> Store:
    """A store with one unit of every demo product on shelf-b, the real recommender wired."""
    config = store_config()
    stock = StockView()
    recommender = Recommender.from_store_config(config, model_path=SHIPPED_MODEL, catalog=CATALOG)
    hook = recommender_hook(recommender, stock.stock_of)
    store = Store(config, members=[ANNA, BOB], recommend=hook, stock=stock)
    for product in CATALOG:
        reference = product.gtin[0] + product.gtin[8:13]  # indicator digit + item reference
        store.put(epc(reference, 500), "shelf-b", T0)
    return store


def test_room_tablet_gets_in_stock_recommendations_in_the_members_size() -> None:
    store = stocked_store()
    sweater = epc(SWEATER_NAVY_M, 1)
    store.put(sweater, "shelf-a", T0)
    first = store.put(sweater, "fitting-1", T0 + MIN)
    (anonymous,) = payloads(first, "recommendation")
    assert anonymous["items"] == [gtin(SWEATER_NAVY_M)]
    assert 0 < len(anonymous["recommendations"]) <= 5
    in_room_style = CATALOG.get(gtin(SWEATER_NAVY_M)).style  # type: ignore[union-attr]
    for pick in anonymous["recommendations"]:
        product = CATALOG.get(pick["gtin"])
        assert product is not None and product.style != in_room_style
        assert store.stock.stock_of(pick["gtin"])  # in stock right now

    (personal,) = payloads(store.seen("m-anna", "fitting-1", T0 + 2 * MIN), "recommendation")
    assert personal["member_id"] == "m-anna"
    sized = [p for p in personal["recommendations"] if "M" in p["sizes_in_stock"]]
    assert sized and all(p["size"] == "M" for p in sized)
    state = store.engine.room_state("fitting-1")
    assert state.member == ANNA
    assert [r.gtin for r in state.recommendations] == [
        p["gtin"] for p in personal["recommendations"]
    ]


def test_a_failing_recommender_does_not_stop_the_session() -> None:
    def broken(session: RoomSnapshot, member: MemberProfile | None) -> list[RecommendedItem]:
        raise RuntimeError("model file vanished")

    store = Store(recommend=broken)
    sweater = epc(SWEATER_NAVY_M, 1)
    store.put(sweater, "shelf-a", T0)
    events = store.put(sweater, "fitting-1", T0 + MIN)
    assert kinds(events) == ["tryon.started", "recommendation"]
    assert payloads(events, "recommendation")[0]["recommendations"] == []
    assert store.engine.stats.recommend_errors == 1


def test_engine_from_store_config_reads_the_directory_and_wires_the_recommender(
    tmp_path: Path,
) -> None:
    (tmp_path / "members.json").write_text(
        json.dumps({"version": "1", "members": [ANNA.model_dump(mode="json")]}), encoding="utf-8"
    )
    config = store_config(data_dir=str(tmp_path))
    stock = StockView()
    recommender = Recommender.from_store_config(config, model_path=SHIPPED_MODEL, catalog=CATALOG)
    engine = FusionEngine.from_store_config(
        config,
        AlertRules.from_store_config(config),
        stock_of=stock.stock_of,
        recommender=recommender,
    )
    assert engine.directory.consented("m-anna") == ANNA
    answer = engine.staff.find_variant(gtin(SWEATER_NAVY_M), "L", None)
    assert answer.wanted is not None and answer.wanted.size == "L"
