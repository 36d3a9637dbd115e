"""The running store as the API sees it: snapshots and changes, all through the owner loop.

Every read of the store's state (rooms, stock, alerts) runs as a snapshot function on the
owner loop (:meth:`~edge.runtime.owner.OwnerLoop.call`), never on the caller's thread. Changes
(a tablet's size request, a staff acknowledgement, a till's sale) run there too
(:meth:`~edge.runtime.owner.OwnerLoop.call_emitting`), so the events they cause reach the sinks
in order with everything else. What comes back is plain data; :mod:`edge.api.presenters`
turns it into the public models.
"""

from __future__ import annotations

import logging
import queue
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from cloud_sync.client.status import SyncStatus
from edge.alerts.rules import ReaderHealth
from edge.alerts.staff_rules import CameraHealth
from edge.clock import Clock
from edge.config.store import StoreConfig
from edge.events.alerts import AlertKind, AlertPayload, AlertRaised, GateAlarmPayload, GateOutcome
from edge.events.base import Event, datetime_to_ms
from edge.events.fusion import SalePayload
from edge.events.reservations import ReservationArrived
from edge.fusion.engine import RoomState
from edge.fusion.reservations import ReservationError, UnknownReservationError
from edge.fusion.sales import SaleResult
from edge.recommend.catalog import Catalog
from edge.recommend.nearby import NearbyOffer
from edge.runtime.core import StoreCore
from edge.runtime.owner import OwnerLoop
from edge.service.activity import ActivityLog, EventSummary, HourCounts
from edge.service.components import ComponentCounters
from edge.service.errors import NotFound, RequestRejected, ServiceUnavailable

log = logging.getLogger(__name__)

CALL_TIMEOUT_S = 3.0

T = TypeVar("T")

Probe = Callable[[], Mapping[str, ComponentCounters]]
"""Component id -> counters; called on the caller's thread, so only thread-safe reads."""


@dataclass(frozen=True, slots=True)
class AlertView:
    alert: AlertPayload
    acknowledged_by: str | None


@dataclass(frozen=True, slots=True)
class RoomView:
    state: RoomState
    requests: tuple[AlertView, ...]
    """The room's size requests of the current session, oldest first."""
    stock: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    """GTIN -> {zone: count} for every variant of the styles in the room and recommended."""
    nearby: Mapping[str, tuple[NearbyOffer, ...]] = field(default_factory=dict)
    """GTIN -> the nearby stores that have it (fresh counts only, nearest first), for the same
    variants; GTINs no nearby store has are left out."""


@dataclass(frozen=True, slots=True)
class DashboardView:
    now_ms: int
    zone_tags: dict[str, list[str]]
    occupied: dict[str, bool]
    readers: list[ReaderHealth]
    cameras: dict[str, CameraHealth]
    open_alerts: list[AlertPayload]
    recent: list[EventSummary]
    hours: list[HourCounts]
    counters: dict[str, ComponentCounters]
    sync: SyncStatus | None


NO_SUCH_VARIANT = "No such size or colour"
NOT_IN_STORE = "Not in this store"
IN_YOUR_ROOM = "Already in your room"


def _cannot_fetch(
    core: StoreCore, zone: str, gtin: str, size: str | None, colour: str | None
) -> str | None:
    """Why staff cannot bring the variant asked for (on the owner thread), or None. Answered
    at once, so the tablet never promises what the store does not have; no alert is raised."""
    answer = core.fusion.staff.find_variant(gtin, size, colour)
    if answer.wanted is None:
        return NO_SUCH_VARIANT
    if answer.available:
        return None
    here = core.tracker.stock_of(answer.wanted.gtin).get(zone, 0)
    return IN_YOUR_ROOM if here > 0 else NOT_IN_STORE


class StoreService:
    def __init__(
        self,
        owner: OwnerLoop,
        config: StoreConfig,
        clock: Clock,
        *,
        activity: ActivityLog,
        probe: Probe,
        sync_status: Callable[[], SyncStatus | None],
        wall_clock: Clock | None = None,
        timeout_s: float = CALL_TIMEOUT_S,
    ) -> None:
        """``clock``: the store's event clock (virtual in a replay); ``sync_status``: the store
        <-> HQ sync's status (None: no sync in this edge); ``wall_clock``: real time, which
        other stores' stock is judged by (HQ dates it; the store's clock by default)."""
        self._owner = owner
        self.config = config
        self.clock = clock
        self.wall_clock = wall_clock or clock
        self._activity = activity
        self._probe = probe
        self._sync_status = sync_status
        self.timeout_s = timeout_s
        recommender = owner.core.recommender
        # The recommender's catalog is replaced whole by a sync (a catalog never changes), so
        # reading the reference from another thread is safe.
        self._catalog_of: Callable[[], Catalog | None] = (
            (lambda: recommender.catalog) if recommender is not None else (lambda: None)
        )

    @property
    def catalog(self) -> Catalog | None:
        return self._catalog_of()

    # Plumbing -------------------------------------------------------------------------------
    def _call(self, fn: Callable[[StoreCore], T]) -> T:
        """``fn(core)`` on the owner thread (its exceptions come back here)."""
        try:
            return self._owner.call(fn, timeout_s=self.timeout_s)
        except queue.Empty:
            raise ServiceUnavailable("The edge is not responding") from None

    def _change(self, fn: Callable[[StoreCore], tuple[T, list[Event]]]) -> T:
        """``fn(core)`` on the owner thread; the events it returns go to the sinks."""
        try:
            return self._owner.call_emitting(fn, timeout_s=self.timeout_s)
        except queue.Empty:
            raise ServiceUnavailable("The edge is not responding") from None

    def ping(self, timeout_s: float) -> bool:
        """True when the owner loop runs a no-op within ``timeout_s`` (health checks)."""
        try:
            self._owner.call(lambda _core: None, timeout_s=timeout_s)
        except queue.Empty:
            return False
        return True

    # Fitting rooms --------------------------------------------------------------------------
    def room(self, zone: str) -> RoomView:
        def snap(core: StoreCore) -> RoomView:
            fusion = core.fusion
            state = fusion.room_state(zone)
            requests: list[AlertView] = []
            if state.session is not None:
                started = state.session.started_ms
                for alert in fusion.open_alerts():
                    if (
                        alert.kind is AlertKind.SIZE_REQUEST
                        and alert.zone == zone
                        and datetime_to_ms(alert.created) >= started
                    ):
                        requests.append(
                            AlertView(alert, fusion.alerts.acknowledged_by(alert.alert_id))
                        )
            stock = self._variant_stock(core, state)
            return RoomView(state, tuple(requests), stock, self._nearby(core, stock))

        return self._call(snap)

    def _variant_stock(self, core: StoreCore, state: RoomState) -> dict[str, dict[str, int]]:
        """On the owner thread: stock of every size and colour the tablet may offer."""
        catalog = self.catalog
        if catalog is None:
            return {}
        shown = [item.gtin for item in state.session.items] if state.session else []
        shown.extend(rec.gtin for rec in state.recommendations)
        styles = {p.style for gtin in shown if gtin and (p := catalog.get(gtin)) is not None}
        return {
            variant.gtin: dict(core.tracker.stock_of(variant.gtin))
            for style in sorted(styles)
            for variant in catalog.variants(style)
        }

    def _nearby(self, core: StoreCore, gtins: Iterable[str]) -> dict[str, tuple[NearbyOffer, ...]]:
        """On the owner thread: the nearby stores that have these GTINs, counts still fresh."""
        now_ms = self.wall_clock.now_ms()
        max_age_ms = round(self.config.sync.nearby_stock_max_age_s * 1000)
        found = {
            gtin: core.nearby.offers(gtin, now_ms=now_ms, max_age_ms=max_age_ms) for gtin in gtins
        }
        return {gtin: offers for gtin, offers in found.items() if offers}

    def request_size(
        self, zone: str, gtin: str, size: str | None, colour: str | None, device: str
    ) -> AlertView:
        """Raise a ``size_request`` alert for the item ``gtin`` in ``zone``. A repeat of an
        open request (the alert throttle holds it back) returns that request."""
        catalog = self.catalog
        if catalog is not None and gtin not in catalog:
            raise RequestRejected("Unknown product")
        now_ms = self.clock.now_ms()

        def run(core: StoreCore) -> tuple[AlertView | str | None, list[Event]]:
            if catalog is not None:
                refusal = _cannot_fetch(core, zone, gtin, size, colour)
                if refusal is not None:
                    return refusal, []
            events = core.handle_size_request(zone, gtin, size=size, colour=colour, ts_ms=now_ms)
            for event in events:
                if isinstance(event, AlertRaised):
                    return AlertView(event.payload, None), events
            for alert in reversed(core.fusion.open_alerts()):
                cause = alert.cause or {}
                if (
                    alert.kind is AlertKind.SIZE_REQUEST
                    and alert.zone == zone
                    and (cause.get("gtin"), cause.get("size"), cause.get("colour"))
                    == (gtin, size, colour)
                ):
                    return AlertView(alert, core.fusion.alerts.acknowledged_by(alert.alert_id)), (
                        events
                    )
            return None, events

        log.info(
            "size request from %s in %s: %s size=%s colour=%s", device, zone, gtin, size, colour
        )
        found = self._change(run)
        if found is None:
            raise RequestRejected("Already requested a moment ago")
        if isinstance(found, str):
            log.info("size request from %s in %s refused: %s", device, zone, found)
            raise RequestRejected(found)
        return found

    # Alerts ---------------------------------------------------------------------------------
    def open_alerts(self, kind: str | None = None, zone: str | None = None) -> list[AlertView]:
        """Alerts not resolved (open or acknowledged), newest first."""

        def snap(core: StoreCore) -> list[AlertView]:
            fusion = core.fusion
            return [
                AlertView(alert, fusion.alerts.acknowledged_by(alert.alert_id))
                for alert in fusion.open_alerts()
                if (kind is None or alert.kind.value == kind)
                and (zone is None or alert.zone == zone)
            ]

        return list(reversed(self._call(snap)))

    def acknowledge_alert(
        self, alert_id: str, staff_id: str, ts_ms: int | None = None
    ) -> AlertView:
        """Acknowledge an alert (emits ``alert.acknowledged``). An alert acknowledged already
        stays acknowledged by whoever did it first. NotFound for an unknown id."""
        now_ms = self.clock.now_ms() if ts_ms is None else ts_ms

        def run(core: StoreCore) -> tuple[AlertView | None, list[Event]]:
            book = core.fusion.alerts
            if book.get(alert_id) is None:
                return None, []
            events = core.handle_alert_ack(alert_id, staff_id, now_ms)
            alert = book.get(alert_id)
            assert alert is not None
            return AlertView(alert, book.acknowledged_by(alert_id)), events

        found = self._change(run)
        if found is None:
            raise NotFound("Alert not found")
        return found

    # Gate alarms (edge/alerts/gate.py) ------------------------------------------------------
    def gate_alarms(self) -> list[GateAlarmPayload]:
        """Exit alarms staff have not closed, oldest first, with their items."""
        return self._call(lambda core: core.gate.alarms())

    def close_gate_alarm(
        self, alarm_id: str, outcome: GateOutcome, staff_id: str, ts_ms: int | None = None
    ) -> None:
        """Staff close an exit alarm with its outcome; NotFound when it is not open."""
        now_ms = self.clock.now_ms() if ts_ms is None else ts_ms

        def run(core: StoreCore) -> tuple[bool, list[Event]]:
            if not core.gate.is_open(alarm_id):
                return False, []
            return True, core.close_gate_alarm(alarm_id, outcome, staff_id, now_ms)

        if not self._change(run):
            raise NotFound("Alarm not found")

    def close_from_handheld(
        self, alarm_id: str, outcome: GateOutcome, staff_id: str, ts_ms: int
    ) -> bool:
        """An exit alarm closed over MQTT (``alerts/ack`` with an outcome)."""
        try:
            self.close_gate_alarm(alarm_id, outcome, staff_id, ts_ms)
        except NotFound:
            return False
        return True

    def acknowledge_from_handheld(self, alert_id: str, staff_id: str, ts_ms: int) -> bool:
        """An acknowledgement from MQTT (timed on receipt); False for an unknown alert."""
        try:
            self.acknowledge_alert(alert_id, staff_id, ts_ms)
        except NotFound:
            return False
        return True

    # Sales ----------------------------------------------------------------------------------
    def record_sale(self, payload: SalePayload) -> SaleResult:
        """Record a till's sale (HTTP and MQTT alike): recorded, duplicate or conflict."""
        now_ms = self.clock.now_ms()
        try:
            return self._owner.call_emitting(
                lambda core: core.handle_sale(payload, now_ms), timeout_s=self.timeout_s
            )
        except queue.Empty:
            raise ServiceUnavailable(
                "The store did not answer in time; retrying the same sale is safe"
            ) from None

    # Reservations (reserve online, try in store) ---------------------------------------------
    def reservations(self) -> list[dict[str, Any]]:
        """Open reservations with their pick lists, and the tags to take back to the floor."""
        return self._call(lambda core: core.reservation_board())

    def reservation_returns(self) -> dict[str, str]:
        return self._call(lambda core: core.reservations.to_return())

    def pick_reserved_item(
        self, reservation_id: str, item: int, epc: str, staff_id: str
    ) -> list[dict[str, Any]]:
        """Staff took ``epc`` for an item; the board afterwards."""
        now_ms = self.clock.now_ms()

        def run(core: StoreCore) -> tuple[list[dict[str, Any]], list[Event]]:
            events = core.pick_reserved_item(reservation_id, item, epc.upper(), staff_id, now_ms)
            return core.reservation_board(), events

        return self._reservation_change(run)

    def reserved_item_unavailable(
        self, reservation_id: str, item: int, staff_id: str
    ) -> list[dict[str, Any]]:
        """Staff found no tag of an item to pick; the board afterwards."""
        now_ms = self.clock.now_ms()

        def run(core: StoreCore) -> tuple[list[dict[str, Any]], list[Event]]:
            events = core.report_reserved_item_unavailable(reservation_id, item, staff_id, now_ms)
            return core.reservation_board(), events

        return self._reservation_change(run)

    def check_in(self, code: str) -> str:
        """A member's QR code scanned or typed at a tablet; the reservation's id."""
        now_ms = self.clock.now_ms()

        def run(core: StoreCore) -> tuple[str, list[Event]]:
            events = core.check_in_reservation(code, now_ms)
            found = [e.payload.reservation_id for e in events if isinstance(e, ReservationArrived)]
            return (found[0] if found else ""), events

        return self._reservation_change(run)

    def _reservation_change(self, fn: Callable[[StoreCore], tuple[T, list[Event]]]) -> T:
        try:
            return self._change(fn)
        except UnknownReservationError as error:
            raise NotFound(str(error)) from None
        except ReservationError as error:
            raise RequestRejected(str(error)) from None

    # Dashboard ------------------------------------------------------------------------------
    def dashboard(self) -> DashboardView:
        now_ms = self.clock.now_ms()
        zones = [zone.id for zone in self.config.zones]
        activity = self._activity

        def snap(core: StoreCore) -> DashboardView:
            rooms = core.fusion.rooms
            recent, hours = activity.snapshot(now_ms)
            return DashboardView(
                now_ms=now_ms,
                zone_tags={zone: core.tracker.tags_in_zone(zone) for zone in zones},
                occupied={zone: rooms.snapshot(zone) is not None for zone in rooms.rooms},
                readers=core.alerts.reader_health(),
                cameras=core.fusion.staff.camera_health(),
                open_alerts=core.fusion.open_alerts(),
                recent=recent,
                hours=hours,
                counters={},
                sync=None,
            )

        board = self._call(snap)
        counters = dict(self._probe())
        return replace(board, counters=counters, sync=self._sync_status())
