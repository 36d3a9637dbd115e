"""POS sales in simulated captures: paying shoppers' sales reach the capture's MQTT source on
the store's POS topic, as valid SaleSubmission JSON, while the items lie at the till."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest

from edge.config import load_store_config
from edge.config.store import StoreConfig
from edge.fusion.sales import SaleSubmission
from edge.recommend.catalog import Catalog
from edge.recommend.runtime import DEMO_CATALOG
from edge.replay.capture import Capture, MqttMessage, MqttSource
from edge.replay.scenarios import (
    BUSY_TILLS,
    GONE,
    PosSale,
    Scenario,
    busy_saturday_hour,
    get_scenario,
    sold_then_carried_out,
)
from edge.replay.simulator import MQTT_SOURCE, STORY_FILE, Story, simulate
from models.recommender.demo_catalog import gtin_for
from tests.conftest import REPO_ROOT

DEMO = REPO_ROOT / "firmware_configs" / "demo_store.yaml"
TOPIC = "o2o/demo/pos/sales"
WITH_SALES = (
    "tryon_buy_one_return_one",
    "sold_then_carried_out",
    "item_leaves_unsold",
    "anonymous_shopper",
)
"""The fusion scenarios of issue 4 with a till sale (shelf_empties_with_backroom_stock has
none)."""


@pytest.fixture(scope="module")
def demo() -> StoreConfig:
    return load_store_config(DEMO)


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog.load(DEMO_CATALOG)


def _sales_in(directory: Path) -> list[tuple[int, str, SaleSubmission]]:
    """Every message on a POS topic, parsed the way the store's MQTT input parses it."""
    return [
        (record.t_ms, record.topic, SaleSubmission.model_validate_json(record.payload))
        for record in Capture.open(directory).records()
        if isinstance(record, MqttMessage) and record.topic.endswith("/pos/sales")
    ]


def _check_sales(
    directory: Path, story: Story, catalog: Catalog, topic: str = TOPIC
) -> list[SaleSubmission]:
    """Each sale is valid, on ``topic``, priced from the catalog, and sent while every item it
    sells lies at the till; returns them in capture order."""
    items = {item.epc: item for item in story.items}
    sales = _sales_in(directory)
    assert [t_ms for t_ms, _, _ in sales] == [sale["t_ms"] for sale in story.sales]
    for (t_ms, sent_on, sale), told in zip(sales, story.sales, strict=True):
        assert sent_on == topic == told["topic"]
        assert sale == SaleSubmission.model_validate(told["sale"])
        assert sale.currency == "EUR" and sale.till_id and sale.lines
        for line in sale.lines:
            assert line.epc is not None and line.quantity == 1
            item = items[line.epc]
            assert line.gtin == item.gtin
            product = catalog.get(item.gtin)
            assert product is not None and line.amount == product.price
            assert item.zone_at(t_ms) == "pos", (sale.sale_id, item.label)
        assert sale.total == pytest.approx(sum(line.amount for line in sale.lines))
    return [sale for _, _, sale in sales]


@pytest.mark.parametrize("name", WITH_SALES)
def test_fusion_scenarios_send_their_sales_from_the_till(
    name: str, demo: StoreConfig, catalog: Catalog, tmp_path: Path
) -> None:
    story = simulate(get_scenario(name), demo, tmp_path, seed=1)
    sales = _check_sales(tmp_path, story, catalog)

    assert len(sales) == 1
    source = Capture.open(tmp_path).source(MQTT_SOURCE)
    assert isinstance(source, MqttSource) and TOPIC in source.topics
    assert json.loads((tmp_path / STORY_FILE).read_text())["sales"] == story.sales
    # Every sold item later leaves through the exit: the case exit_unsold must not flag.
    for line in sales[0].lines:
        item = next(item for item in story.items if item.epc == line.epc)
        assert [zone for _, zone in item.path][-2:] == ["exit", GONE]


def test_member_cards_and_anonymous_sales() -> None:
    (member,) = get_scenario("tryon_buy_one_return_one").sales
    (anonymous,) = get_scenario("anonymous_shopper").sales
    assert member.member_id == "m-1001" and anonymous.member_id is None


def test_scenarios_without_sales_send_none(demo: StoreConfig, tmp_path: Path) -> None:
    story = simulate(get_scenario("shelf_empties_with_backroom_stock"), demo, tmp_path, seed=1)
    assert story.sales == [] and _sales_in(tmp_path) == []
    assert "sales" not in json.loads((tmp_path / STORY_FILE).read_text())


def test_sales_are_deterministic_and_independent_of_the_radio_seed(
    demo: StoreConfig, tmp_path: Path
) -> None:
    scenario = get_scenario("tryon_buy_one_return_one")
    first = simulate(scenario, demo, tmp_path / "first", seed=3)
    again = simulate(scenario, demo, tmp_path / "again", seed=3)
    other = simulate(scenario, demo, tmp_path / "other", seed=4)

    for name in ("mqtt-readers.jsonl", STORY_FILE, "manifest.yaml"):
        assert (tmp_path / "first" / name).read_bytes() == (tmp_path / "again" / name).read_bytes()
    assert first.sales == again.sales == other.sales
    # The sale is one line of the MQTT file, exactly the JSON the till sent.
    lines = (tmp_path / "first" / "mqtt-readers.jsonl").read_text().splitlines()
    on_topic = [json.loads(line) for line in lines if f'"topic":"{TOPIC}"' in line]
    assert len(on_topic) == 1 and on_topic[0]["t"] == first.sales[0]["t_ms"] / 1000


def test_the_topic_follows_the_store_config(
    demo: StoreConfig, catalog: Catalog, tmp_path: Path
) -> None:
    mqtt = demo.mqtt.model_copy(update={"topic_prefix": "acme/o2o"})
    config = demo.model_copy(update={"mqtt": mqtt, "store_id": "paris-01"})
    story = simulate(sold_then_carried_out(), config, tmp_path, seed=1)
    _check_sales(tmp_path, story, catalog, topic="acme/o2o/paris-01/pos/sales")


def test_a_sale_of_an_unknown_or_unpriced_item_is_an_error(
    demo: StoreConfig, tmp_path: Path
) -> None:
    base = sold_then_carried_out()

    def with_sale(sale: PosSale) -> Scenario:
        return replace(base, sales=(sale,))

    unknown = with_sale(PosSale(45, "s-1", "till-1", ("no-such-item",)))
    with pytest.raises(ValueError, match="sells item no-such-item, which the scenario"):
        simulate(unknown, demo, tmp_path / "unknown")
    empty = Catalog("empty", [])
    with pytest.raises(ValueError, match="catalog empty has no price for"):
        simulate(base, demo, tmp_path / "unpriced", catalog=empty)
    late = with_sale(PosSale(base.duration_s + 1, "s-1", "till-1", ("cardigan-grey-m",)))
    with pytest.raises(ValueError, match="outside the capture"):
        simulate(late, demo, tmp_path / "late")


def test_every_paying_busy_shopper_gets_a_sale(catalog: Catalog) -> None:
    hour = busy_saturday_hour()
    items = {item.label: item for item in hour.items}
    paid = {label for label, item in items.items() if "pos" in (s.zone for s in item.stays)}
    sold = [label for sale in hour.sales for label in sale.labels]

    assert sorted(sold) == sorted(paid)  # each paid item once, in one sale
    assert len(hour.sales) >= 10
    assert {sale.till_id for sale in hour.sales} == set(BUSY_TILLS)
    assert len({sale.sale_id for sale in hour.sales}) == len(hour.sales)
    members = Counter(sale.member_id is not None for sale in hour.sales)
    assert members[True] >= 3 and members[False] >= 3
    assert len({sale.member_id for sale in hour.sales} - {None}) >= 3
    for sale in hour.sales:
        for label in sale.labels:
            # At the till when scanned: after the item arrived there, before it left.
            stays = items[label].stays
            at_pos = next(i for i, stay in enumerate(stays) if stay.zone == "pos")
            assert stays[at_pos].at_s < sale.at_s < stays[at_pos + 1].at_s
    # Every busy item is a catalog product, so every sale has real prices.
    assert all(catalog.get(gtin_for(item.item_reference)) for item in hour.items)


def test_a_shorter_busy_segment_keeps_the_hours_first_sales() -> None:
    hour = busy_saturday_hour()
    segment = busy_saturday_hour(900)
    assert segment.sales == tuple(sale for sale in hour.sales if sale.at_s < 900)
    assert segment.sales


def test_the_shipped_busy_segment_carries_its_sales(catalog: Catalog) -> None:
    directory = REPO_ROOT / "tests" / "hil" / "busy_saturday_15min"
    told = json.loads((directory / STORY_FILE).read_text())["sales"]
    sales = _sales_in(directory)

    assert len(sales) == len(told) > 0
    for (t_ms, topic, sale), sent in zip(sales, told, strict=True):
        assert (t_ms, topic) == (sent["t_ms"], TOPIC)
        assert sale == SaleSubmission.model_validate(sent["sale"])
        assert all(catalog.get(line.gtin or "") for line in sale.lines)
