"""The demo store's catalog (firmware_configs/demo_catalog.json), built from a style table.

A small menswear-and-womenswear fashion store: each style comes in a few colours and a size
run; every (style, colour, size) is one GTIN under the GS1 example company prefix. The eight
items the store simulator tags (edge/replay/scenarios.py) keep their item references.

    python -m models.recommender.demo_catalog --out firmware_configs/demo_catalog.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from edge.recommend.catalog import Catalog, Product, ProductText
from edge.replay.scenarios import COMPANY_PREFIX
from edge.rfid.epc import decode_epc, encode_sgtin96
from models.recommender.demo_words import COLOUR_WORDS, STYLE_WORDS

VERSION = "demo-2026.03.1"

ALPHA = ("S", "M", "L", "XL")
WOMEN = ("XS", "S", "M", "L")
WAIST = ("30", "32", "34", "36")
SHOES = ("40", "41", "42", "43", "44", "45")
BELT = ("85", "90", "95", "100")
ONE_SIZE = ("",)

# (style, name, category, colours, sizes, price EUR)
STYLES: tuple[tuple[str, str, str, tuple[str, ...], tuple[str, ...], float], ...] = (
    (
        "merino-crew-sweater",
        "Merino crew sweater",
        "sweater",
        ("navy", "red", "grey", "green"),
        ALPHA,
        89.0,
    ),
    ("cable-knit-sweater", "Cable-knit sweater", "sweater", ("cream", "navy"), ALPHA, 119.0),
    ("rollneck-sweater", "Rollneck sweater", "sweater", ("black", "camel"), ALPHA, 99.0),
    ("lambswool-cardigan", "Lambswool cardigan", "cardigan", ("grey", "navy"), ALPHA, 109.0),
    (
        "organic-cotton-tee",
        "Organic cotton tee",
        "tee",
        ("white", "black", "navy", "grey"),
        ALPHA,
        25.0,
    ),
    ("breton-tee", "Breton striped tee", "tee", ("navy stripe",), ALPHA, 35.0),
    ("oxford-shirt", "Oxford shirt", "shirt", ("white", "blue"), ALPHA, 59.0),
    ("linen-shirt", "Linen shirt", "shirt", ("white", "sand"), ALPHA, 69.0),
    ("flannel-shirt", "Flannel check shirt", "shirt", ("red check",), ALPHA, 65.0),
    ("poplin-dress-shirt", "Poplin dress shirt", "shirt", ("white", "light blue"), ALPHA, 75.0),
    ("pique-polo", "Pique polo", "polo", ("navy", "white", "green"), ALPHA, 45.0),
    ("slim-chino", "Slim chino", "chinos", ("beige", "navy", "olive"), WAIST, 79.0),
    ("straight-jeans", "Straight jeans", "jeans", ("indigo", "black"), WAIST, 89.0),
    ("wool-trousers", "Wool trousers", "trousers", ("charcoal", "navy"), WAIST, 129.0),
    ("chino-shorts", "Chino shorts", "shorts", ("beige", "navy"), WAIST, 49.0),
    ("field-jacket", "Field jacket", "jacket", ("olive", "navy"), ALPHA, 179.0),
    ("denim-jacket", "Denim jacket", "jacket", ("indigo",), ALPHA, 119.0),
    ("wool-blazer", "Wool blazer", "jacket", ("navy", "grey"), ALPHA, 249.0),
    ("wool-overcoat", "Wool overcoat", "coat", ("camel", "charcoal"), ALPHA, 329.0),
    ("hooded-parka", "Hooded parka", "coat", ("black",), ALPHA, 259.0),
    ("leather-belt", "Leather belt", "belt", ("brown", "black"), BELT, 49.0),
    ("canvas-belt", "Canvas belt", "belt", ("navy",), BELT, 29.0),
    ("leather-derby", "Leather derby", "shoes", ("brown", "black"), SHOES, 169.0),
    ("white-sneaker", "White leather sneaker", "shoes", ("white",), SHOES, 119.0),
    ("suede-loafer", "Suede loafer", "shoes", ("tan",), SHOES, 149.0),
    ("wool-scarf", "Wool scarf", "scarf", ("grey", "navy", "red"), ONE_SIZE, 45.0),
    ("rib-beanie", "Rib beanie", "hat", ("grey", "navy", "black"), ONE_SIZE, 29.0),
    ("cotton-socks", "Cotton socks", "socks", ("navy", "grey", "burgundy"), ONE_SIZE, 12.0),
    ("wrap-dress", "Wrap dress", "dress", ("navy", "red", "green"), WOMEN, 139.0),
    ("midi-skirt", "Pleated midi skirt", "skirt", ("black", "camel"), WOMEN, 89.0),
    ("silk-blouse", "Silk blouse", "blouse", ("ivory", "black"), WOMEN, 119.0),
    ("fine-knit-sweater", "Fine-knit sweater", "sweater", ("ivory", "pink"), WOMEN, 79.0),
    ("leather-tote", "Leather tote", "bag", ("black", "tan"), ONE_SIZE, 199.0),
    (
        "ankle-boot",
        "Leather ankle boot",
        "shoes",
        ("black", "brown"),
        ("37", "38", "39", "40"),
        189.0,
    ),
)

# The item references the store simulator's tags carry (edge/replay/scenarios.py).
FIXED_REFERENCES: dict[tuple[str, str, str], str] = {
    ("merino-crew-sweater", "navy", "M"): "011001",
    ("merino-crew-sweater", "red", "M"): "011002",
    ("lambswool-cardigan", "grey", "M"): "011003",
    ("organic-cotton-tee", "white", "S"): "012001",
    ("organic-cotton-tee", "white", "L"): "012002",
    ("organic-cotton-tee", "white", "M"): "012003",
    ("slim-chino", "beige", "32"): "013001",
    ("slim-chino", "navy", "34"): "013002",
}
_FIRST_FREE_SEQUENCE = 101
"""Other items of a category are numbered from here, clear of the fixed references."""


def gtin_for(item_reference: str) -> str:
    """GTIN-14 of an item reference under the demo company prefix (via the SGTIN-96 codec)."""
    gtin = decode_epc(encode_sgtin96(COMPANY_PREFIX, item_reference, serial=1)).gtin
    assert gtin is not None
    return gtin


def translations(style: str, colour: str) -> dict[str, ProductText]:
    """Spanish and Chinese name, colour and text of one variant."""
    _, es_name, es_text, zh_name, zh_text = STYLE_WORDS[style]
    es_colour, zh_colour = COLOUR_WORDS[colour] if colour else (None, None)
    return {
        "es": ProductText(name=es_name, colour=es_colour, text=es_text),
        "zh": ProductText(name=zh_name, colour=zh_colour, text=zh_text),
    }


def build_demo_catalog() -> Catalog:
    categories = sorted({category for _, _, category, _, _, _ in STYLES})
    # Category code: two digits after the indicator digit; the fixed ones use 11, 12 and 13.
    codes = {category: 20 + i for i, category in enumerate(categories)}
    codes.update({"sweater": 11, "tee": 12, "chinos": 13})
    next_sequence = dict.fromkeys(codes.values(), _FIRST_FREE_SEQUENCE)
    products = []
    for style, name, category, colours, sizes, price in STYLES:
        for colour in colours:
            for size in sizes:
                reference = FIXED_REFERENCES.get((style, colour, size))
                if reference is None:
                    code = codes[category]
                    reference = f"0{code:02d}{next_sequence[code]:03d}"
                    next_sequence[code] += 1
                gtin = gtin_for(reference)
                products.append(
                    Product(
                        gtin=gtin,
                        name=name,
                        category=category,
                        size=size,
                        colour=colour,
                        price=price,
                        image=f"/static/catalog/{gtin}.svg",
                        style=style,
                        text=STYLE_WORDS[style][0],
                        i18n=translations(style, colour),
                    )
                )
    return Catalog(VERSION, products)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="Where to write the JSON")
    args = parser.parse_args()
    catalog = build_demo_catalog()
    args.out.write_text(json.dumps(catalog.to_dict(), indent=1, ensure_ascii=False) + "\n")
    print(f"{args.out}: {len(catalog)} products, {len(catalog.styles)} styles")


if __name__ == "__main__":
    main()
