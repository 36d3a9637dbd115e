"""The store's state and its rules, in one synchronous object owned by one thread.

``StoreCore`` takes timestamped inputs (tag reads, reader and camera status changes, face
tracker observations, sales, tablet requests, acknowledgements, ticks) and returns the events
they cause, in order. It does no I/O and reads no clock: the owner loop feeds it and hands the
events to the sinks.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

from edge.alerts.gate import GateNotice, GateRules
from edge.alerts.rules import AlertNotice, AlertRules
from edge.alerts.sold_set import SoldSet
from edge.config.store import StoreConfig
from edge.config.zones import ZoneKind
from edge.events.alerts import GateOutcome
from edge.events.base import Event, EventFactory
from edge.events.fusion import SalePayload
from edge.events.reservations import Reservation
from edge.events.rfid import TagDeparted
from edge.fusion.engine import FusionEngine, FusionOutput, to_events
from edge.fusion.reservations import Arrived, ReservationDesk, ReservationOutput
from edge.fusion.sales import SaleResult, SaleStatus
from edge.recommend.catalog import Catalog
from edge.recommend.nearby import NearbyStock
from edge.recommend.runtime import Recommender, default_paths
from edge.rfid.reads import ReaderStatus, TagRead
from edge.rfid.stock_feed import StockFeed
from edge.rfid.tracker import TagChange, TagTracker
from edge.vision.face_tracker import MemberSeenObservation, Observation
from edge.vision.frames import CameraStatus

log = logging.getLogger(__name__)


def load_recommender(config: StoreConfig) -> Recommender | None:
    """The recommender from the configured (or downloaded, or shipped demo) model and catalog;
    None, logged, when they cannot be loaded: the store then runs without recommendations."""
    model_path, catalog_path = default_paths(config.recommend, config.data_dir)
    try:
        return Recommender.from_store_config(
            config, model_path=model_path, catalog=Catalog.load(catalog_path)
        )
    except Exception as error:  # a broken model must not stop the store
        log.error("recommendations disabled: %s", error)
        return None


class StoreCore:
    def __init__(
        self,
        config: StoreConfig,
        factory: EventFactory,
        *,
        recommender: Recommender | None = None,
    ) -> None:
        self.config = config
        self.factory = factory
        self.tracker = TagTracker.from_store_config(config)
        self.alerts = AlertRules.from_store_config(config)
        self.alerts.use_catalog(self._describe)
        self.recommender = recommender
        self.fusion = FusionEngine.from_store_config(
            config, self.alerts, stock_of=self.tracker.stock_of, recommender=recommender
        )
        self.sold_set = SoldSet.empty()
        self.nearby = NearbyStock()
        self.gate = GateRules.from_store_config(
            config, self.alerts, self.tracker.gtin_of, self._product_of
        )
        self.reservations = ReservationDesk(
            config.reservation_zone(),
            [zone.id for zone in config.zones if zone.kind is ZoneKind.SHELF],
            gtin_of=self.tracker.gtin_of,
        )
        # Stock counts go to HQ only from a store that syncs (replays without sync stay as
        # they were recorded).
        self.stock_feed = (
            StockFeed(
                {zone.id: zone.kind for zone in config.zones},
                interval_ms=round(config.sync.stock_report_s * 1000),
                heartbeat_ms=round(config.sync.stock_heartbeat_s * 1000),
            )
            if config.sync.enabled
            else None
        )

    # -- inputs ----------------------------------------------------------------------------

    def handle_read(self, read: TagRead) -> list[Event]:
        events = self._alerts(self.alerts.on_reader_data(read.reader_id, read.ts_ms))
        for change in self.tracker.process(read):
            events.extend(self._tag_change(change))
        gate = self.gate.on_read(read)
        if gate:
            events.extend(self._gate(gate))
        return self._noted(events)

    def handle_reader_status(self, status: ReaderStatus) -> list[Event]:
        return self._noted(self._alerts(self.alerts.on_reader_status(status)))

    def handle_camera_status(self, status: CameraStatus) -> list[Event]:
        return self._noted(self._fusion(self.fusion.on_camera_status(status)))

    def handle_observation(self, observation: Observation) -> list[Event]:
        events: list[Event] = [observation.to_event(self.factory)]
        if isinstance(observation, MemberSeenObservation):
            events.extend(self._fusion(self.fusion.on_member_seen(observation)))
            events.extend(
                self._reserved(
                    self.reservations.on_member_seen(
                        observation.member_id, observation.last_seen_ms
                    )
                )
            )
        return self._noted(events)

    def handle_sale(self, payload: SalePayload, now_ms: int) -> tuple[SaleResult, list[Event]]:
        result, outputs = self.fusion.on_sale(payload, now_ms)
        events = self._fusion(outputs)
        if result.status is SaleStatus.RECORDED and payload.returned:
            for line in payload.lines:
                if line.epc is not None:  # back to unsold: it alarms if it leaves unpaid
                    self.alerts.mark_returned(line.epc, now_ms)
                    self.gate.on_return(line.epc)
        if result.status is SaleStatus.RECORDED and not payload.returned:
            untagged: dict[str, int] = {}
            for line in payload.lines:
                if line.epc is None and line.gtin is not None:
                    untagged[line.gtin] = untagged.get(line.gtin, 0) + line.quantity
            events.extend(
                self._reserved(self.reservations.on_sale(result.epcs_sold, untagged, now_ms))
            )
        return result, self._noted(events)

    # -- reservations (reserve online, try in store) ------------------------------------------

    def receive_reservations(self, reservations: Sequence[Reservation]) -> list[Event]:
        self.reservations.receive(reservations)
        return []

    def receive_nearby_stock(self, nearby: NearbyStock) -> list[Event]:
        """Other stores' stock near this one (downlink): the tablets name the nearest store
        that has a size this one lacks (docs/tablet.md)."""
        self.nearby = nearby
        return []

    def receive_sold_set(self, sold: SoldSet) -> list[Event]:
        """HQ's set of EPCs sold chain-wide (downlink): the gate no longer alarms on them.
        An older version than the one in use is ignored (a late answer after a newer one)."""
        if sold.version >= self.sold_set.version:
            self.sold_set = sold
            self.alerts.use_chain_sold(sold.__contains__)
        return []

    def pick_reserved_item(
        self, reservation_id: str, item: int, epc: str, staff_id: str, ts_ms: int
    ) -> list[Event]:
        outputs = self.reservations.pick(
            reservation_id, item, epc, staff_id, ts_ms, self.tracker.location
        )
        return self._reserved(outputs)

    def report_reserved_item_unavailable(
        self, reservation_id: str, item: int, staff_id: str, ts_ms: int
    ) -> list[Event]:
        return self._reserved(self.reservations.unavailable(reservation_id, item, staff_id, ts_ms))

    def check_in_reservation(self, code: str, ts_ms: int) -> list[Event]:
        return self._reserved(self.reservations.check_in(code, ts_ms))

    def reservation_board(self) -> list[dict[str, Any]]:
        def locate(gtin: str) -> list[tuple[str, str]]:
            return self.tracker.where_is(gtin)

        board = self.reservations.board(locate)
        catalog = self.recommender.catalog if self.recommender is not None else None
        for reservation in board:
            for item in reservation["items"]:
                # Staff pick by what they see on the shelf: name, colour, size, picture.
                product = catalog.get(item["gtin"]) if catalog is not None else None
                item["product"] = (
                    None
                    if product is None
                    else {
                        "name": product.name,
                        "colour": product.colour,
                        "size": product.size,
                        "price": product.price,
                        "image": product.image,
                    }
                )
        return board

    def handle_size_request(
        self, zone: str, gtin: str, *, size: str | None, colour: str | None, ts_ms: int
    ) -> list[Event]:
        outputs = self.fusion.on_size_request(zone, gtin, size=size, colour=colour, ts_ms=ts_ms)
        return self._noted(self._fusion(outputs))

    def handle_alert_ack(self, alert_id: str, staff_id: str, ts_ms: int) -> list[Event]:
        events = self._fusion(self.fusion.on_alert_ack(alert_id, staff_id, ts_ms))
        events.extend(self._gate(self.gate.on_ack(alert_id, staff_id, ts_ms)))
        return self._noted(events)

    def close_gate_alarm(
        self, alarm_id: str, outcome: GateOutcome, staff_id: str, ts_ms: int
    ) -> list[Event]:
        """Staff close a gate alarm with its outcome (acknowledging it if nobody had)."""
        events = self.handle_alert_ack(alarm_id, staff_id, ts_ms)
        events.extend(self._gate(self.gate.close(alarm_id, outcome, staff_id, ts_ms)))
        return events

    def request_stock_snapshot(self) -> list[Event]:
        """HQ asked for a full stock snapshot: it goes out with the next tick."""
        if self.stock_feed is not None:
            self.stock_feed.want_snapshot()
        return []

    def tick(self, now_ms: int) -> list[Event]:
        events: list[Event] = []
        for change in self.tracker.tick(now_ms):
            events.extend(self._tag_change(change))
        events.extend(self._alerts(self.alerts.tick(now_ms)))
        events.extend(self._gate(self.gate.tick(now_ms)))
        events.extend(self._fusion(self.fusion.tick(now_ms)))
        events.extend(self._reserved(self.reservations.tick(now_ms)))
        if self.stock_feed is not None:
            reports = self.stock_feed.tick(now_ms, self.tracker.stock, self.tracker.stock_of)
            events.extend(report.to_event(self.factory) for report in reports)
        return self._noted(events)

    # -- helpers ---------------------------------------------------------------------------

    def _tag_change(self, change: TagChange) -> list[Event]:
        if self.stock_feed is not None:
            self.stock_feed.note(change.gtin)
        event = change.to_event(self.factory)
        events: list[Event] = [event]
        if isinstance(event, TagDeparted):
            events.extend(self._alerts(self.alerts.on_tag_departed(event)))
        events.extend(self._fusion(self.fusion.on_tag_change(change)))
        if not isinstance(event, TagDeparted):
            events.extend(
                self._reserved(self.reservations.on_tag_seen(change.epc, change.zone, change.ts_ms))
            )
        return events

    def _reserved(self, outputs: Iterable[ReservationOutput]) -> list[Event]:
        events: list[Event] = []
        for output in outputs:
            events.append(output.to_event(self.factory))
            if isinstance(output, Arrived):
                greeting = self.fusion.on_reservation_arrival(
                    output.zone, output.member_id, output.ts_ms
                )
                events.extend(self._fusion(greeting))
        return events

    def _gate(self, notices: Sequence[GateNotice]) -> list[Event]:
        events: list[Event] = []
        for notice in notices:
            alarm_id = notice.alarm_id
            if notice.draft is not None:
                raised = notice.draft.to_event(self.factory)
                alarm_id = raised.event_id
                self.gate.opened(notice.exit, alarm_id)
                events.append(raised)
            assert alarm_id is not None  # only a new alarm has no id yet
            events.append(notice.to_event(self.factory, alarm_id))
        return events

    def _describe(self, gtin: str) -> str | None:
        product = self.recommender.catalog.get(gtin) if self.recommender is not None else None
        return f"{product.label} · {product.price:.2f}" if product is not None else None

    def _product_of(self, gtin: str) -> tuple[str, float] | None:
        product = self.recommender.catalog.get(gtin) if self.recommender is not None else None
        return (product.label, product.price) if product is not None else None

    def _alerts(self, notices: Sequence[AlertNotice]) -> list[Event]:
        return [notice.to_event(self.factory) for notice in notices]

    def _fusion(self, outputs: Iterable[FusionOutput]) -> list[Event]:
        return to_events(outputs, self.factory)

    def _noted(self, events: list[Event]) -> list[Event]:
        """Every alert emitted is noted by fusion's alert book, so staff can acknowledge it."""
        if events:
            self.fusion.record_alerts(events)
        return events
