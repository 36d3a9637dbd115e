"""What the tablet, staff and dashboard endpoints return (``XPublic``) and accept (``XCreate``).

Public models carry what a page shows and nothing more: a member appears as first name and
tier, and only when they consented to personalised service; never an id of a face, a face
picture or an embedding.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from cloud_sync.client.status import SyncStatus
from edge.events import limits
from edge.events.base import UtcMs
from edge.events.fusion import RecommendedItem
from edge.recommend.catalog import ProductText
from edge.recommend.filters import Availability


class _Public(BaseModel):
    model_config = ConfigDict(frozen=True)


class StockPlacePublic(_Public):
    zone: str
    zone_name: str
    where: str = Field(description="floor (a shelf) or backroom")
    count: int


class SizeStockPublic(_Public):
    size: str
    places: list[StockPlacePublic]


class NearbyStorePublic(_Public):
    """Another store of the chain that has the variant (stock only: what HQ counted there)."""

    store_id: str
    name: str
    distance_km: float = Field(description="From this store")
    count: int = Field(description="Units there, on the floor and in the backroom")
    as_of: UtcMs = Field(description="When that store last reported its stock")


class VariantPublic(_Public):
    """One size and colour of a style, and where the store has it for the asking room."""

    gtin: str
    size: str = Field(description="Empty for one-size products")
    colour: str
    i18n: dict[str, ProductText] = Field(description="The catalog's translations (colour)")
    availability: Availability = Field(
        description="floor, backroom, in_room (only in this fitting room), nearby_store "
        "(none in this store, units at another store near it: see nearby) or not_in_store"
    )
    places: list[StockPlacePublic] = Field(description="Shelves first, then the stock room")
    nearby: list[NearbyStorePublic] = Field(
        default_factory=list,
        description="With nearby_store: the stores that have it, nearest first (else empty)",
    )


class RoomItemPublic(_Public):
    epc: str
    gtin: str | None
    name: str
    category: str
    size: str
    colour: str
    price: float | None
    image: str
    since: UtcMs
    sizes: list[str] = Field(description="Sizes of this style (for another-size requests)")
    colours: list[str] = Field(description="Colours of this style")
    text: str = Field(default="", description="The catalog's line about the product")
    i18n: dict[str, ProductText] = Field(
        default_factory=dict, description="The catalog's name, colour and text per language"
    )
    variants: list[VariantPublic] = Field(
        default_factory=list, description="Every size and colour of the style, with stock"
    )


class MemberPublic(_Public):
    first_name: str
    tier: str


class ProductLabelPublic(_Public):
    """A product as a line of text names it (the item a recommendation goes with)."""

    gtin: str
    name: str
    colour: str
    size: str
    i18n: dict[str, ProductText]


class RecommendationPublic(RecommendedItem):
    """The recommendation event's item (one definition), with its places named for the page,
    the catalog's words for it, and its sizes in this colour with where each one is."""

    sizes_in_stock: list[SizeStockPublic]  # type: ignore[assignment]  # named places, in order
    about: str = Field(default="", description="The catalog's line about the product (text)")
    i18n: dict[str, ProductText] = Field(default_factory=dict)
    because: ProductLabelPublic | None = Field(
        default=None, description="The product of because_gtin, to word the reason"
    )
    shopper_size: str | None = Field(
        default=None,
        description="The shopper's size in this style: of the item it goes with, else of the "
        "first item in the room this style comes in; null when unknown or one size",
    )
    variants: list[VariantPublic] = Field(
        default_factory=list, description="Sizes of this colour, with where each one is"
    )


class SizeRequestPublic(_Public):
    alert_id: str
    zone: str
    gtin: str
    size: str | None
    colour: str | None
    text: str
    state: str = Field(description="open, acknowledged or resolved")
    acknowledged_by: str | None
    created: UtcMs


class RoomStatePublic(_Public):
    zone: str
    zone_name: str
    occupied: bool
    session_id: str | None
    started: UtcMs | None
    member: MemberPublic | None
    items: list[RoomItemPublic]
    recommendations: list[RecommendationPublic]
    requests: list[SizeRequestPublic]


class SizeRequestCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    gtin: str = Field(pattern=r"^\d{14}$", description="GTIN-14 of the item in the room")
    size: limits.Text | None = Field(default=None, min_length=1, max_length=20)
    colour: limits.Text | None = Field(default=None, min_length=1, max_length=50)


class AlertPublic(_Public):
    alert_id: str
    kind: str
    severity: str
    zone: str | None
    zone_name: str | None
    subject: str
    text: str
    created: UtcMs
    state: str
    acknowledged_by: str | None


class ZonePublic(_Public):
    id: str
    name: str
    kind: str
    occupied: bool | None = Field(description="Fitting rooms: a session is open; else null")
    tags: int = Field(description="Tagged items present in the zone now")
    products: int = Field(description="Distinct products (GTINs) among them")


class ComponentPublic(_Public):
    id: str
    kind: str = Field(description="reader or camera")
    zone: str | None
    state: str = Field(description="online, offline or unknown")
    last_data: UtcMs | None
    errors: int = Field(description="Malformed frames or messages, read errors")
    frame_drops: int | None = Field(description="Cameras: frames dropped; readers: null")
    counters: dict[str, int]


class EventSummaryPublic(_Public):
    event_id: str
    type: str
    ts: UtcMs
    zone: str | None
    summary: str


class HourPublic(_Public):
    hour: UtcMs
    visitors: int
    tryons: int


class DashboardPublic(_Public):
    store_id: str
    name: str
    now: UtcMs
    zones: list[ZonePublic]
    components: list[ComponentPublic]
    recent_events: list[EventSummaryPublic]
    hours: list[HourPublic]
    open_alerts: int
    sync: SyncStatus | None = None
    """Store <-> headquarters sync: backlog, last success and error (None: sync off)."""


class DevicePublic(_Public):
    name: str
    role: str
    zone: str | None


class PairCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    code: str = Field(min_length=4, max_length=20, description="The one-time pairing code")


class PairPublic(_Public):
    token: str
    device: DevicePublic
