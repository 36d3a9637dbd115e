"""Events of the fusion stage: visits, fitting-room try-ons and their outcomes, POS sales,
recommendations and tablet requests."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from edge.events import limits
from edge.events.base import Event, UtcMs
from edge.rfid.epc import gtin_of


class _Payload(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# --- visits ---------------------------------------------------------------------------------


class ZoneDwell(_Payload):
    zone: str
    dwell_s: float = Field(ge=0, description="Seconds the member was seen in the zone")


class VisitStartedPayload(_Payload):
    visit_id: str
    member_id: str
    zone: str = Field(description="Zone where the visit was opened")
    camera_id: str


class VisitEndedPayload(_Payload):
    visit_id: str
    member_id: str
    started: UtcMs
    ended: UtcMs
    duration_s: float = Field(ge=0)
    zones: list[ZoneDwell] = Field(description="Zones passed through, in order, with dwell")


class VisitStarted(Event):
    type: Literal["visit.started"] = "visit.started"
    payload: VisitStartedPayload


class VisitEnded(Event):
    type: Literal["visit.ended"] = "visit.ended"
    payload: VisitEndedPayload


# --- fitting-room sessions and try-ons -----------------------------------------------------


class TryOnOutcome(StrEnum):
    PURCHASED = "purchased"
    RETURNED_TO_FLOOR = "returned_to_floor"
    LEFT_IN_ROOM = "left_in_room"
    UNRESOLVED = "unresolved"
    """Not bought, not back on a shelf, not in the room when the window closed (at the till,
    carried out unsold, in another room): a try-on without a purchase all the same."""


class TryOnPayload(_Payload):
    session_id: str = Field(description="Fitting-room session the try-on belongs to")
    zone: str = Field(description="Fitting room")
    epc: str
    gtin: str | None = None
    member_id: str | None = Field(
        default=None, description="Recognised, consented member; null for anonymous shoppers"
    )


class TryOnStartedPayload(TryOnPayload):
    pass


class TryOnEndedPayload(TryOnPayload):
    started: UtcMs
    duration_s: float = Field(ge=0)


class TryOnOutcomePayload(TryOnPayload):
    outcome: TryOnOutcome
    sale_id: str | None = Field(default=None, description="Sale that bought it, if purchased")


class TryOnStarted(Event):
    type: Literal["tryon.started"] = "tryon.started"
    payload: TryOnStartedPayload


class TryOnEnded(Event):
    type: Literal["tryon.ended"] = "tryon.ended"
    payload: TryOnEndedPayload


class TryOnOutcomeEvent(Event):
    type: Literal["tryon.outcome"] = "tryon.outcome"
    payload: TryOnOutcomePayload


# --- sales ----------------------------------------------------------------------------------


class SaleLine(_Payload):
    # The schema says what the checks say: a line names its item by EPC (one tagged item)
    # or by GTIN (with a quantity).
    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        json_schema_extra={
            "anyOf": [
                {
                    "required": ["epc"],
                    "properties": {"epc": {"type": "string"}, "quantity": {"const": 1}},
                },
                {
                    "required": ["gtin"],
                    "properties": {"gtin": {"type": "string"}, "epc": {"type": "null"}},
                },
            ]
        },
    )

    epc: str | None = Field(
        default=None,
        pattern=r"^[0-9A-Fa-f]{8,64}$",
        description="EPC of the item sold, when scanned",
    )
    gtin: str | None = Field(
        default=None,
        pattern=r"^(\d{8}|\d{12,14})$",
        description="GTIN-14 (GTIN-8/12/13 are padded; derived from the EPC if absent)",
    )
    quantity: int = Field(default=1, ge=1, le=limits.MAX_QUANTITY)
    amount: float = Field(
        ge=0,
        le=limits.MAX_LINE_AMOUNT,
        allow_inf_nan=False,
        description="Line amount, in the sale currency",
    )

    @field_validator("epc")
    @classmethod
    def _upper(cls, value: str | None) -> str | None:
        return value.upper() if value is not None else None

    @field_validator("gtin")
    @classmethod
    def _gtin14(cls, value: str | None) -> str | None:
        return value.zfill(14) if value is not None else None

    @model_validator(mode="after")
    def _item(self) -> SaleLine:
        if self.epc is None and self.gtin is None:
            raise ValueError("a sale line needs an epc or a gtin (with quantity)")
        if self.epc is not None and self.gtin is None:
            # Frozen model: fill the derived value once, during validation.
            object.__setattr__(self, "gtin", gtin_of(self.epc))
        return self


class SalePayload(_Payload):
    sale_id: limits.Text = Field(min_length=1, max_length=limits.SALE_ID_MAX)
    till_id: limits.Text = Field(min_length=1, max_length=limits.TILL_ID_MAX)
    lines: list[SaleLine] = Field(min_length=1, max_length=1000)
    total: float = Field(ge=0, le=limits.MAX_SALE_TOTAL, allow_inf_nan=False)
    currency: str = Field(default="EUR", pattern=r"^[A-Z]{3}$")
    member_id: limits.Text | None = Field(
        default=None, min_length=1, max_length=limits.MEMBER_ID_MAX
    )
    returned: bool = Field(default=False, description="A return (refund) of an earlier sale")


class Sale(Event):
    type: Literal["sale"] = "sale"
    payload: SalePayload


# --- recommendations and tablet requests ------------------------------------------------------


class StockPlace(_Payload):
    zone: str
    kind: str = Field(description="Zone kind: shelf (the shop floor) or backroom")
    count: int = Field(ge=1)


class Reason(StrEnum):
    """Why a product is recommended."""

    GOES_WITH = "goes_with"
    """The model: people who tried the in-room item (``because_gtin``) took this too."""
    MEMBER_HISTORY = "member_history"
    """The model, driven mostly by the member's own purchases/try-ons."""
    COMPLEMENTS = "complements"
    """Catalog fallback: a complementary category of an in-room item."""
    IN_STOCK = "in_stock"
    """Last resort: in stock, nothing more specific known."""


class RecommendedItem(_Payload):
    """One recommended product, as the recommender (edge/recommend/runtime.py) makes it and
    the tablet shows it: the one definition of a recommendation."""

    gtin: str
    name: str
    category: str
    colour: str
    size: str
    price: float
    image: str = Field(description="Image path on the edge's web server")
    score: float = Field(description="Model score, higher is better; 0 for catalog fallbacks")
    reason: Reason = Field(description="Why it is recommended")
    because_gtin: str | None = Field(default=None, description="The item it goes with")
    text: str = Field(description="One line for the tablet")
    sizes_in_stock: dict[str, list[StockPlace]] = Field(
        description="Sizes of this style and colour available now, and where"
    )


class RecommendationPayload(_Payload):
    session_id: str
    zone: str = Field(description="Fitting room; the tablet of this zone shows it")
    member_id: str | None = Field(
        default=None, description="Recognised, consented member; null for anonymous shoppers"
    )
    items: list[str] = Field(description="GTINs of the items in the room, in arrival order")
    recommendations: list[RecommendedItem]


class Recommendation(Event):
    """Companions for what is in a fitting room, after every change of the room's session.

    Also published on ``o2o/{store_id}/tablets/{zone}/recommendations``.
    """

    type: Literal["recommendation"] = "recommendation"
    payload: RecommendationPayload


class SizeRequestPayload(_Payload):
    zone: str = Field(description="Room (or zone) of the tablet that asked")
    session_id: str | None = None
    member_id: str | None = None
    gtin: str = Field(description="The item the shopper has")
    size: str | None = Field(default=None, description="Wanted size (default: the item's)")
    colour: str | None = Field(default=None, description="Wanted colour (default: the item's)")
    wanted_gtin: str | None = Field(
        default=None, description="The catalog variant asked for; null when there is none"
    )
    available: list[StockPlace] = Field(description="Where the wanted variant is right now")


class SizeRequest(Event):
    """A shopper asked, from a fitting-room tablet, for another size or colour of an item."""

    type: Literal["size_request"] = "size_request"
    payload: SizeRequestPayload
