"""The store's product catalog: GTIN -> name, category, size, colour, price, image, style.

The JSON is what headquarters serves on ``GET /api/v1/stores/{id}/catalog``
(``{"version", "products": [{"gtin", "name", "category", "size", "colour", "price",
"image", "style", "text", "i18n"}]}``), which the sync client writes to
``data_dir/catalog.json``; the demo ships ``firmware_configs/demo_catalog.json``. ``style`` is
optional: the product family whose sizes and colours are variants of one another; when absent
it is derived from the name (colour and size words removed), so that "Merino crew sweater" in
navy M and in red L share a style. ``text`` is an optional line about the product for the
tablet; ``i18n`` optionally translates name, colour and text per UI language
(``{"es": {"name": ..., "colour": ..., "text": ...}, "zh": {...}}``); what a language leaves
out is shown in the catalog's own words.

The canonical order of products is ascending GTIN (HQ lists them that way): a recommender
model's index i is the catalog's i-th GTIN in that order.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from edge.config.loader import format_validation_error
from edge.events import limits
from edge.events.limits import Text


class CatalogError(ValueError):
    """A catalog that cannot be used; the message names the source, product and field."""


_WORD = re.compile(r"[a-z0-9]+")


def derive_style(name: str, colour: str, size: str) -> str:
    """Slug of the name without its colour and size words: the family of size/colour variants."""
    drop = set(_WORD.findall(colour.lower())) | set(_WORD.findall(size.lower()))
    words = [word for word in _WORD.findall(name.lower()) if word not in drop]
    return "-".join(words)


LANGUAGE = r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$"
"""A BCP 47 language tag of a UI language: ``es``, ``zh``, ``pt-BR``, ``zh-Hant``."""

MAX_LANGUAGES = 20


class ProductText(BaseModel):
    """A product's words in one language; each field optional, bounded like the product's."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Text | None = Field(default=None, min_length=1, max_length=200)
    colour: Text | None = Field(default=None, min_length=1, max_length=50)
    text: Text | None = Field(default=None, min_length=1, max_length=300)


Language = Annotated[str, StringConstraints(pattern=LANGUAGE)]


class ProductFields(BaseModel):
    """A catalog product on the wire, defined once: HQ's catalog API (``PUT /api/v1/catalog``,
    the stores' catalog downlink) and the store's catalog file share these fields."""

    gtin: str = Field(pattern=r"^\d{8,14}$")
    name: Text = Field(min_length=1, max_length=200)
    category: Text = Field(min_length=1, max_length=100)
    size: Text = Field(default="", max_length=20)
    colour: Text = Field(default="", max_length=50)
    price: float = Field(ge=0, le=limits.MAX_LINE_AMOUNT, allow_inf_nan=False)
    image: Text = Field(default="", max_length=500)
    style: Text = Field(default="", max_length=200, description="Family of size/colour variants")
    text: Text = Field(default="", max_length=300, description="One line about the product")
    i18n: dict[Language, ProductText] = Field(
        default_factory=dict,
        max_length=MAX_LANGUAGES,
        description="Name, colour and text per UI language (BCP 47 tag), each optional",
        # Keys that are not language tags are refused: say so in the OpenAPI too.
        json_schema_extra={"additionalProperties": False},
    )


class Product(ProductFields):
    """One sellable item (a GTIN): one size and colour of a style."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    @model_validator(mode="after")
    def _default_style(self) -> Product:
        if not self.style:
            # Frozen model: set the derived value once, during validation.
            object.__setattr__(
                self, "style", derive_style(self.name, self.colour, self.size) or self.gtin
            )
        return self

    @property
    def label(self) -> str:
        """Name with colour and size, as shown on a tablet: "Slim chino (navy, 34)"."""
        details = ", ".join(part for part in (self.colour, self.size) if part)
        return f"{self.name} ({details})" if details else self.name


class _CatalogFile(BaseModel):
    model_config = ConfigDict(extra="ignore")

    version: str = Field(min_length=1, max_length=64)
    products: list[Product]


class Catalog:
    """Immutable product lookups by GTIN, style and category (products in GTIN order)."""

    __slots__ = ("_by_category", "_by_gtin", "_by_style", "_index", "products", "version")

    def __init__(self, version: str, products: Iterable[Product]) -> None:
        self.version = version
        self.products: tuple[Product, ...] = tuple(sorted(products, key=lambda p: p.gtin))
        self._by_gtin: dict[str, Product] = {}
        for product in self.products:
            if product.gtin in self._by_gtin:
                raise CatalogError(f"catalog {version}: GTIN {product.gtin} is listed twice")
            self._by_gtin[product.gtin] = product
        self._index = {product.gtin: i for i, product in enumerate(self.products)}
        self._by_style: dict[str, list[Product]] = {}
        self._by_category: dict[str, list[Product]] = {}
        for product in self.products:
            self._by_style.setdefault(product.style, []).append(product)
            self._by_category.setdefault(product.category, []).append(product)

    # Loading ------------------------------------------------------------------------------
    @classmethod
    def from_dict(cls, data: Any, source: str = "<catalog>") -> Catalog:
        if not isinstance(data, Mapping):
            raise CatalogError(f"{source}: expected an object with 'version' and 'products'")
        try:
            parsed = _CatalogFile.model_validate(data)
        except ValidationError as error:
            raise CatalogError(format_validation_error(source, error)) from None
        try:
            return cls(parsed.version, parsed.products)
        except CatalogError as error:
            raise CatalogError(f"{source}: {error}") from None

    @classmethod
    def load(cls, path: str | Path) -> Catalog:
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except OSError as error:
            raise CatalogError(f"{path}: cannot read the catalog: {error.strerror}") from None
        except json.JSONDecodeError as error:
            raise CatalogError(f"{path}: not valid JSON: {error}") from None
        return cls.from_dict(data, str(path))

    def to_dict(self) -> dict[str, Any]:
        """The file/HQ shape (with ``style``), products in GTIN order."""
        return {
            "version": self.version,
            "products": [product.model_dump(exclude_none=True) for product in self.products],
        }

    # Lookups ------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.products)

    def __iter__(self) -> Iterator[Product]:
        return iter(self.products)

    def __contains__(self, gtin: object) -> bool:
        return gtin in self._by_gtin

    @property
    def gtins(self) -> tuple[str, ...]:
        return tuple(product.gtin for product in self.products)

    def get(self, gtin: str) -> Product | None:
        return self._by_gtin.get(gtin)

    def index_of(self, gtin: str) -> int | None:
        """Position in GTIN order (the recommender model's item index), None if unknown."""
        return self._index.get(gtin)

    def variants(self, style: str) -> list[Product]:
        """All sizes and colours of a style, in GTIN order (empty for an unknown style)."""
        return list(self._by_style.get(style, ()))

    def in_category(self, category: str) -> list[Product]:
        return list(self._by_category.get(category, ()))

    @property
    def styles(self) -> list[str]:
        return sorted(self._by_style)

    @property
    def categories(self) -> list[str]:
        return sorted(self._by_category)
