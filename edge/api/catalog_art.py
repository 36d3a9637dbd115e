"""Placeholder product pictures: an SVG per GTIN drawing its category's silhouette in its colour.

The catalog names an image per product (``/static/catalog/<gtin>.svg``); rather than commit a
picture of each, the edge draws one from the catalog on request. Pure: product in, SVG text out.
"""

from __future__ import annotations

from html import escape

from edge.recommend.catalog import Product

COLOURS = {
    "beige": "#d8c3a5",
    "black": "#26262a",
    "blue": "#2f63b0",
    "brown": "#6b4a2f",
    "burgundy": "#6d1a2c",
    "camel": "#c19a6b",
    "charcoal": "#3b3d40",
    "cream": "#f1e9d2",
    "green": "#3c6e47",
    "grey": "#8a8d91",
    "indigo": "#33407a",
    "ivory": "#f6f1e1",
    "light blue": "#a9c7e8",
    "navy": "#1f2a44",
    "olive": "#6b6b3a",
    "pink": "#e8a0b4",
    "red": "#b3261e",
    "sand": "#cdb891",
    "tan": "#c8a27a",
    "white": "#f7f7f5",
}
"""Colour names of the demo catalog; a name with a pattern ("navy stripe") uses its first word."""
UNKNOWN_COLOUR = "#9aa0a6"

_TOP = (
    "M60 40 L90 28 Q100 42 110 28 L140 40 L165 80 L145 92 L138 78 L138 170 L62 170 L62 78 "
    "L55 92 L35 80 Z"
)
_SHAPES = {
    "top": _TOP,
    "coat": "M58 30 L88 22 Q100 36 112 22 L142 30 L168 120 L148 126 L140 90 L140 185 L60 185 "
    "L60 90 L52 126 L32 120 Z",
    "legs": "M62 25 L138 25 L146 180 L108 180 L100 80 L92 180 L54 180 Z",
    "shorts": "M58 50 L142 50 L150 135 L108 135 L100 95 L92 135 L50 135 Z",
    "dress": "M80 25 L120 25 L128 70 L160 180 L40 180 L72 70 Z",
    "skirt": "M70 55 L130 55 L160 165 L40 165 Z",
    "belt": "M20 88 L180 88 L180 112 L20 112 Z M120 82 L150 82 L150 118 L120 118 Z",
    "shoe": "M30 120 L30 85 L80 85 Q95 110 140 112 Q172 116 172 140 L30 140 Z",
    "scarf": "M70 20 L105 20 L105 150 L125 185 L95 185 L80 160 L70 185 L45 185 L70 150 Z",
    "hat": "M60 120 Q60 55 100 55 Q140 55 140 120 Z M30 120 L170 120 L170 135 L30 135 Z",
    "bag": "M45 80 L155 80 L165 175 L35 175 Z M75 80 Q75 35 100 35 Q125 35 125 80 L115 80 "
    "Q115 45 100 45 Q85 45 85 80 Z",
    "socks": "M80 25 L115 25 L115 130 Q115 150 135 155 L150 160 Q160 178 140 182 L95 178 "
    "Q80 175 80 150 Z",
}
_CATEGORY_SHAPE = {
    "sweater": "top",
    "cardigan": "top",
    "tee": "top",
    "polo": "top",
    "shirt": "top",
    "blouse": "top",
    "jacket": "coat",
    "coat": "coat",
    "trousers": "legs",
    "chinos": "legs",
    "jeans": "legs",
    "shorts": "shorts",
    "dress": "dress",
    "skirt": "skirt",
    "belt": "belt",
    "shoes": "shoe",
    "scarf": "scarf",
    "hat": "hat",
    "bag": "bag",
    "socks": "socks",
}


def colour_hex(colour: str) -> str:
    name = colour.casefold().strip()
    return COLOURS.get(name) or COLOURS.get(name.split(" ")[0], UNKNOWN_COLOUR)


def product_svg(product: Product) -> str:
    fill = colour_hex(product.colour)
    shape = _SHAPES.get(
        _CATEGORY_SHAPE.get(product.category, ""), "M50 40 L150 40 L150 170 L50 170 Z"
    )
    label = escape(" · ".join(p for p in (product.category, product.colour, product.size) if p))
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 200 220" width="200" height="220" '
        f'role="img" aria-label="{label}">'
        '<rect width="200" height="220" rx="14" fill="#eef0f2"/>'
        f'<path d="{shape}" fill="{fill}" fill-rule="evenodd" stroke="#2b2f33" '
        'stroke-width="2" stroke-linejoin="round"/>'
        f'<text x="100" y="208" font-family="sans-serif" font-size="13" text-anchor="middle" '
        f'fill="#2b2f33">{label}</text></svg>'
    )
