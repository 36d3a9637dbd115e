"""The store's snapshots (:mod:`edge.service.store`) as the pages' public models.

Runs on the request's thread: the configuration and a catalog never change (a sync replaces the
catalog whole), so naming products and places needs no lock.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from edge.alerts.staff_rules import STOCK_KINDS
from edge.api.schemas import (
    AlertPublic,
    ComponentPublic,
    DashboardPublic,
    EventSummaryPublic,
    HourPublic,
    MemberPublic,
    NearbyStorePublic,
    ProductLabelPublic,
    RecommendationPublic,
    RoomItemPublic,
    RoomStatePublic,
    SizeRequestPublic,
    SizeStockPublic,
    StockPlacePublic,
    VariantPublic,
    ZonePublic,
)
from edge.config.store import StoreConfig
from edge.config.zones import ZoneKind
from edge.events.alerts import AlertState
from edge.events.base import ms_to_datetime
from edge.events.fusion import RecommendedItem, StockPlace
from edge.recommend.catalog import Catalog, Product
from edge.recommend.filters import Availability, availability, available_stock
from edge.rfid.epc import gtin_of
from edge.service.health import camera_state, reader_state
from edge.service.store import AlertView, DashboardView, RoomView

FLOOR = "floor"
BACKROOM = "backroom"
LETTER_SIZES = ("XXS", "XS", "S", "M", "L", "XL", "XXL", "XXXL")


def size_order(size: str) -> tuple[int, float, str]:
    """Letter sizes from small to large, then numeric sizes by value, then anything else."""
    upper = size.upper()
    if upper in LETTER_SIZES:
        return (0, LETTER_SIZES.index(upper), "")
    try:
        return (1, float(size), "")
    except ValueError:
        return (2, 0.0, size)


def shopper_size(
    variants: Sequence[Product], because: Product | None, worn: Sequence[Product]
) -> str | None:
    """The size to bring a recommended style in: the size of the item it goes with, else of
    the first item in the room whose size the style comes in; None when none applies (a belt
    for someone trying on an M sweater) or the style is one size."""
    offered = {v.size for v in variants if v.size}
    tried = [because, *worn] if because is not None else list(worn)
    return next((p.size for p in tried if p.size in offered), None)


def _unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))


def _at(ts_ms: int | None) -> datetime | None:
    return ms_to_datetime(ts_ms) if ts_ms is not None else None


class Presenter:
    """Names zones and products for one store; ``catalog`` is read afresh for each answer."""

    def __init__(self, config: StoreConfig, catalog: Catalog | None) -> None:
        self.config = config
        self.catalog = catalog
        self._zones = config.zones_by_id()
        self._kinds = {zone_id: zone.kind for zone_id, zone in self._zones.items()}

    def zone_name(self, zone: str | None) -> str | None:
        if zone is None:
            return None
        config = self._zones.get(zone)
        return (config.name or zone) if config is not None else zone

    def _where(self, zone: str) -> str:
        config = self._zones.get(zone)
        return BACKROOM if config is not None and config.kind is ZoneKind.BACKROOM else FLOOR

    def _place(self, place: StockPlace) -> StockPlacePublic:
        return StockPlacePublic(
            zone=place.zone,
            zone_name=self.zone_name(place.zone) or place.zone,
            where=self._where(place.zone),
            count=place.count,
        )

    # Fitting rooms --------------------------------------------------------------------------
    def room(self, zone: str, room: RoomView) -> RoomStatePublic:
        session = room.state.session
        member = room.state.member
        items = (
            [self._item(zone, i.epc, i.gtin, i.since_ms, room) for i in session.items]
            if session
            else []
        )
        worn = [self.catalog.get(i.gtin) for i in items if i.gtin] if self.catalog else []
        return RoomStatePublic(
            zone=zone,
            zone_name=self.zone_name(zone) or zone,
            occupied=session is not None,
            session_id=session.session_id if session else None,
            started=ms_to_datetime(session.started_ms) if session else None,
            member=MemberPublic(first_name=member.first_name, tier=member.tier) if member else None,
            items=items,
            recommendations=[
                self._recommendation(zone, r, [p for p in worn if p is not None], room)
                for r in room.state.recommendations
            ],
            requests=[self.size_request(view) for view in reversed(room.requests)],
        )

    def _variant(self, zone: str, product: Product, room: RoomView) -> VariantPublic:
        here = room.stock.get(product.gtin, {})
        places = available_stock(here, self._kinds, STOCK_KINDS)
        offers = room.nearby.get(product.gtin, ())
        where = availability(places, in_this_room=here.get(zone, 0), at_nearby_store=bool(offers))
        return VariantPublic(
            gtin=product.gtin,
            size=product.size,
            colour=product.colour,
            i18n=product.i18n,
            availability=where,
            places=[
                self._place(StockPlace(zone=p.zone, kind=p.kind.value, count=p.count))
                for p in places
            ],
            nearby=[
                NearbyStorePublic(
                    store_id=o.store_id,
                    name=o.name,
                    distance_km=o.distance_km,
                    count=o.count,
                    as_of=ms_to_datetime(o.as_of_ms),
                )
                for o in offers
            ]
            if where is Availability.NEARBY_STORE
            else [],
        )

    def _item(
        self, zone: str, epc: str, gtin: str | None, since_ms: int, room: RoomView
    ) -> RoomItemPublic:
        catalog = self.catalog
        product = catalog.get(gtin) if catalog is not None and gtin else None
        if product is None:
            return RoomItemPublic(
                epc=epc,
                gtin=gtin,
                name=f"Item {gtin or epc}",
                category="",
                size="",
                colour="",
                price=None,
                image=f"/static/catalog/{gtin}.svg" if gtin else "",
                since=ms_to_datetime(since_ms),
                sizes=[],
                colours=[],
            )
        variants = self._variants(product)
        return RoomItemPublic(
            epc=epc,
            gtin=gtin,
            name=product.name,
            category=product.category,
            size=product.size,
            colour=product.colour,
            price=product.price,
            image=product.image or f"/static/catalog/{product.gtin}.svg",
            since=ms_to_datetime(since_ms),
            sizes=_unique(v.size for v in variants if v.size),
            colours=_unique(v.colour for v in variants if v.colour),
            text=product.text,
            i18n=product.i18n,
            variants=[self._variant(zone, v, room) for v in variants],
        )

    def _variants(self, product: Product) -> list[Product]:
        """The style's sizes and colours, sizes from small to large."""
        found = self.catalog.variants(product.style) if self.catalog is not None else []
        return sorted(found, key=lambda v: size_order(v.size))

    def _recommendation(
        self, zone: str, item: RecommendedItem, worn: Sequence[Product], room: RoomView
    ) -> RecommendationPublic:
        catalog = self.catalog
        product = catalog.get(item.gtin) if catalog is not None else None
        because = catalog.get(item.because_gtin) if catalog and item.because_gtin else None
        variants = (
            [v for v in self._variants(product) if v.colour == product.colour]
            if product is not None
            else []
        )
        return RecommendationPublic(
            **item.model_dump(exclude={"image", "sizes_in_stock"}),
            image=item.image or f"/static/catalog/{item.gtin}.svg",
            sizes_in_stock=[
                SizeStockPublic(size=size, places=[self._place(p) for p in places])
                for size, places in item.sizes_in_stock.items()
            ],
            about=product.text if product is not None else "",
            i18n=product.i18n if product is not None else {},
            because=(
                ProductLabelPublic(
                    gtin=because.gtin,
                    name=because.name,
                    colour=because.colour,
                    size=because.size,
                    i18n=because.i18n,
                )
                if because is not None
                else None
            ),
            shopper_size=shopper_size(variants, because, worn),
            variants=[self._variant(zone, v, room) for v in variants],
        )

    def size_request(self, view: AlertView) -> SizeRequestPublic:
        alert = view.alert
        cause = alert.cause or {}
        return SizeRequestPublic(
            alert_id=alert.alert_id,
            zone=alert.zone or "",
            gtin=str(cause.get("gtin", "")),
            size=cause.get("size"),
            colour=cause.get("colour"),
            text=alert.text,
            state=alert.state.value,
            acknowledged_by=view.acknowledged_by,
            created=alert.created,
        )

    # Alerts ---------------------------------------------------------------------------------
    def alert(self, view: AlertView) -> AlertPublic:
        alert = view.alert
        return AlertPublic(
            alert_id=alert.alert_id,
            kind=alert.kind.value,
            severity=alert.severity.value,
            zone=alert.zone,
            zone_name=self.zone_name(alert.zone),
            subject=alert.subject,
            text=alert.text,
            created=alert.created,
            state=alert.state.value,
            acknowledged_by=view.acknowledged_by,
        )

    # Dashboard ------------------------------------------------------------------------------
    def dashboard(self, board: DashboardView) -> DashboardPublic:
        return DashboardPublic(
            store_id=self.config.store_id,
            name=self.config.name or self.config.store_id,
            now=ms_to_datetime(board.now_ms),
            zones=[self._zone(zone.id, board) for zone in self.config.zones],
            components=self._components(board),
            recent_events=[
                EventSummaryPublic(
                    event_id=s.event_id,
                    type=s.type,
                    ts=ms_to_datetime(s.ts_ms),
                    zone=s.zone,
                    summary=s.summary,
                )
                for s in board.recent
            ],
            hours=[
                HourPublic(hour=ms_to_datetime(h.hour_ms), visitors=h.visitors, tryons=h.tryons)
                for h in board.hours
            ],
            open_alerts=sum(a.state is AlertState.OPEN for a in board.open_alerts),
            sync=board.sync,
        )

    def _zone(self, zone: str, board: DashboardView) -> ZonePublic:
        config = self._zones[zone]
        epcs = board.zone_tags.get(zone, [])
        return ZonePublic(
            id=zone,
            name=config.name or zone,
            kind=config.kind.value,
            occupied=board.occupied.get(zone),
            tags=len(epcs),
            products=len({gtin_of(epc) for epc in epcs} - {None}),
        )

    def _components(self, board: DashboardView) -> list[ComponentPublic]:
        counters = board.counters
        components = []
        for reader in board.readers:
            state = reader_state(reader)
            found = counters.get(reader.reader_id)
            components.append(
                ComponentPublic(
                    id=reader.reader_id,
                    kind="reader",
                    zone=reader.zone,
                    state=state,
                    last_data=_at(reader.last_alive_ms),
                    errors=found.errors if found else 0,
                    frame_drops=None,
                    counters=found.counters if found else {},
                )
            )
        for camera in self.config.cameras:
            found = counters.get(camera.id)
            state = camera_state(camera.id, board)
            components.append(
                ComponentPublic(
                    id=camera.id,
                    kind="camera",
                    zone=camera.zone,
                    state=state,
                    last_data=_at(found.last_data_ms if found else None),
                    errors=found.errors if found else 0,
                    frame_drops=found.frame_drops if found else None,
                    counters=found.counters if found else {},
                )
            )
        return components
