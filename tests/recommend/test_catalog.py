"""The catalog: HQ's JSON shape, style lookups, and the demo catalog the simulator's tags use."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edge.recommend.catalog import Catalog, CatalogError, derive_style
from edge.replay.scenarios import COMPANY_PREFIX
from edge.rfid.epc import decode_epc, encode_sgtin96
from models.recommender.demo_catalog import build_demo_catalog

SIMULATOR_ITEMS = [
    ("011001", "Merino crew sweater", "sweater", "navy", "M"),
    ("011002", "Merino crew sweater", "sweater", "red", "M"),
    ("011003", "Lambswool cardigan", "cardigan", "grey", "M"),
    ("012001", "Organic cotton tee", "tee", "white", "S"),
    ("012002", "Organic cotton tee", "tee", "white", "L"),
    ("012003", "Organic cotton tee", "tee", "white", "M"),
    ("013001", "Slim chino", "chinos", "beige", "32"),
    ("013002", "Slim chino", "chinos", "navy", "34"),
]


@pytest.mark.parametrize(
    ("reference", "name", "category", "colour", "size"),
    SIMULATOR_ITEMS,
    ids=[item[0] for item in SIMULATOR_ITEMS],
)
def test_demo_catalog_has_the_simulator_items(
    catalog: Catalog, reference: str, name: str, category: str, colour: str, size: str
) -> None:
    gtin = decode_epc(encode_sgtin96(COMPANY_PREFIX, reference, 4711)).gtin
    assert gtin is not None
    product = catalog.get(gtin)
    assert product is not None, f"{reference} -> {gtin} missing from the demo catalog"
    assert (product.name, product.category, product.colour, product.size) == (
        name,
        category,
        colour,
        size,
    )
    assert product.image == f"/static/catalog/{gtin}.svg"


def test_demo_catalog_file_is_what_the_builder_makes(catalog: Catalog) -> None:
    assert catalog.to_dict() == build_demo_catalog().to_dict()
    assert 200 <= len(catalog) <= 400
    assert {"shirt", "trousers", "belt", "jacket", "shoes"} <= set(catalog.categories)


def test_style_lookups(catalog: Catalog) -> None:
    navy_m = catalog.get(decode_epc(encode_sgtin96(COMPANY_PREFIX, "011001", 1)).gtin or "")
    assert navy_m is not None
    variants = catalog.variants(navy_m.style)
    assert {(p.colour, p.size) for p in variants} >= {("navy", "S"), ("navy", "L"), ("red", "M")}
    assert all(p.style == navy_m.style for p in variants)
    belts = catalog.in_category("belt")
    assert belts and all(p.category == "belt" for p in belts)
    assert catalog.variants("no-such-style") == []
    assert list(catalog.gtins) == sorted(catalog.gtins)
    assert all(catalog.index_of(g) == i for i, g in enumerate(catalog.gtins))


def test_hq_shape_without_style_derives_it() -> None:
    data = {
        "version": "42",
        "products": [
            {
                "gtin": "00614141110018",
                "name": "Merino crew sweater navy M",
                "category": "sweater",
                "size": "M",
                "colour": "navy",
                "price": 89.0,
                "image": "",
                "supplier": "ignored: HQ may add fields",
            },
            {
                "gtin": "00614141110025",
                "name": "Merino crew sweater",
                "category": "sweater",
                "size": "L",
                "colour": "red",
                "price": 89.0,
                "image": "",
            },
        ],
    }
    catalog = Catalog.from_dict(data)
    assert [p.style for p in catalog] == ["merino-crew-sweater", "merino-crew-sweater"]
    assert derive_style("Light Blue Poplin shirt", "light blue", "XL") == "poplin-shirt"
    assert catalog.get("00614141110018").label == "Merino crew sweater navy M (navy, M)"  # type: ignore[union-attr]


_SHIRT = {"gtin": "00614141110018", "name": "Shirt", "category": "shirt", "price": 1}


def test_translations_travel_with_the_product(catalog: Catalog) -> None:
    """Every demo product speaks Spanish and Chinese; a language may leave a field out."""
    assert all(set(p.i18n) == {"es", "zh"} and p.text for p in catalog)
    navy_m = catalog.get("00614141110018")
    assert navy_m is not None
    assert navy_m.i18n["es"].name == "Jersey de cuello redondo de merino"
    assert navy_m.i18n["zh"].colour == "藏青色"
    partial = Catalog.from_dict(
        {"version": "1", "products": [dict(_SHIRT, i18n={"pt-BR": {"name": "Camisa"}})]}
    )
    assert partial.to_dict()["products"][0]["i18n"] == {"pt-BR": {"name": "Camisa"}}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "expected an object with 'version' and 'products'"),
        ({"products": []}, "version: Field required"),
        (
            {
                "version": "1",
                "products": [{"gtin": "12", "name": "x", "category": "c", "price": 1}],
            },
            "products -> 0 -> gtin: String should match pattern",
        ),
        (
            {"version": "1", "products": [{"gtin": "00614141110018", "name": "x", "price": 1}]},
            "products -> 0 -> category: Field required",
        ),
        (
            {
                "version": "1",
                "products": [
                    {"gtin": "00614141110018", "name": "x", "category": "c", "price": 1},
                    {"gtin": "00614141110018", "name": "y", "category": "c", "price": 2},
                ],
            },
            "GTIN 00614141110018 is listed twice",
        ),
        (
            {"version": "1", "products": [dict(_SHIRT, i18n={"Spanish": {"name": "Camisa"}})]},
            "products -> 0 -> i18n -> Spanish -> [key]: String should match pattern",
        ),
        (
            {"version": "1", "products": [dict(_SHIRT, i18n={"es": {"nombre": "Camisa"}})]},
            "products -> 0 -> i18n -> es -> nombre: unknown key",
        ),
        (
            {"version": "1", "products": [dict(_SHIRT, i18n={"zh": {"colour": "红" * 51}})]},
            "products -> 0 -> i18n -> zh -> colour: Value should have at most 50 items",
        ),
        (
            {"version": "1", "products": [dict(_SHIRT, i18n={"es": {"name": ""}})]},
            "products -> 0 -> i18n -> es -> name: Value should have at least 1 item",
        ),
        (
            {"version": "1", "products": [dict(_SHIRT, text="a\x00b")]},
            "products -> 0 -> text: Value error, control character",
        ),
    ],
    ids=[
        "not-an-object",
        "no-version",
        "bad-gtin",
        "no-category",
        "duplicate",
        "i18n-bad-language",
        "i18n-unknown-field",
        "i18n-colour-too-long",
        "i18n-empty-name",
        "text-control-character",
    ],
)
def test_bad_catalogs_are_refused_with_the_path(data: object, message: str) -> None:
    with pytest.raises(CatalogError, match=r"catalog\.json") as raised:
        Catalog.from_dict(data, "catalog.json")
    assert message in str(raised.value)


def test_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="cannot read the catalog"):
        Catalog.load(tmp_path / "missing.json")
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(CatalogError, match="not valid JSON"):
        Catalog.load(broken)
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"version": "1", "products": []}))
    assert len(Catalog.load(good)) == 0
