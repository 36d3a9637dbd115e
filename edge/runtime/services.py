"""What the HTTP API needs from the running edge, and how it gets it without sharing state.

Every read of the store's state (rooms, stock, alerts) runs as a snapshot function on the owner
loop (:meth:`OwnerLoop.call`), never on the API's threads (STYLE.md §5). Requests that change
the state (a tablet's size request, a staff acknowledgement) run there too
(:meth:`OwnerLoop.call_emitting`), so the events they cause reach the sinks in order with
everything else. Turning a snapshot into
the public models (catalog lookups, zone names) happens on the caller's thread: the catalog and
the configuration are immutable.

:func:`attach_api` adds the API to an assembled edge (live or replayed): the event hub and the
activity log become sinks of the owner loop, and the FastAPI app is built over them.
"""

from __future__ import annotations

import logging
import queue
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, TypeVar

from edge.alerts.rules import ReaderHealth
from edge.api.schemas import (
    AlertPublic,
    ComponentPublic,
    DashboardPublic,
    EventSummaryPublic,
    HourPublic,
    MemberPublic,
    RecommendationPublic,
    RoomItemPublic,
    RoomStatePublic,
    SizeRequestPublic,
    SizeStockPublic,
    StockPlacePublic,
    ZonePublic,
)
from edge.clock import Clock
from edge.config.store import StoreConfig
from edge.config.zones import ZoneKind
from edge.events.alerts import AlertKind, AlertPayload, AlertRaised, AlertState
from edge.events.base import Event, datetime_to_ms, ms_to_datetime
from edge.events.fusion import RecommendedItem, StockPlace
from edge.recommend.catalog import Catalog
from edge.runtime.core import StoreCore
from edge.runtime.owner import OwnerLoop

if TYPE_CHECKING:
    from fastapi import FastAPI

    from cloud_sync.client.service import SyncClient
    from cloud_sync.client.status import SyncStatus
    from edge.api.devices import DeviceRegistry
    from edge.api.hub import EventHub
    from edge.fusion.engine import RoomState
    from edge.runtime.assembly import EdgeAssembly

log = logging.getLogger(__name__)

HOUR_MS = 3_600_000
RECENT_EVENTS = 50
CHART_HOURS = 12
CALL_TIMEOUT_S = 3.0

T = TypeVar("T")

FLOOR = "floor"
BACKROOM = "backroom"


class ServiceUnavailable(RuntimeError):
    """The edge cannot answer now (not running, or the stage needed is not part of it)."""


class RequestRejected(ValueError):
    """A request the edge understood but will not carry out; the message says why."""


@dataclass(frozen=True, slots=True)
class ComponentCounters:
    """A driver's counters as the dashboard shows them."""

    errors: int
    frame_drops: int | None
    counters: dict[str, int]
    online: bool | None = None
    """What the component itself says (cameras), None when it does not say."""


Probe = Callable[[], Mapping[str, ComponentCounters]]
"""Component id -> counters; called on the API's thread, so only thread-safe reads."""


# --- the activity log (an event sink) ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Summary:
    event_id: str
    type: str
    ts_ms: int
    zone: str | None
    summary: str


class ActivityLog:
    """Recent events and visitors / try-ons per hour, for the dashboard.

    A sink of the owner loop: ``emit`` runs on the owner thread, and so does ``snapshot``
    (through :meth:`OwnerLoop.call`), so it needs no lock.
    """

    def __init__(self, recent: int = RECENT_EVENTS) -> None:
        self._recent: deque[_Summary] = deque(maxlen=recent)
        self._visitors: dict[int, int] = {}
        self._tryons: dict[int, int] = {}

    def emit(self, event: Event) -> None:
        ts_ms = datetime_to_ms(event.ts)
        zone = getattr(event.payload, "zone", None)
        self._recent.append(_Summary(event.event_id, event.type, ts_ms, zone, summary_of(event)))
        hour = ts_ms // HOUR_MS
        if event.type == "visit.started":
            self._visitors[hour] = self._visitors.get(hour, 0) + 1
        elif event.type == "tryon.started":
            self._tryons[hour] = self._tryons.get(hour, 0) + 1

    def close(self) -> None:
        pass

    def snapshot(
        self, now_ms: int, hours: int = CHART_HOURS
    ) -> tuple[list[_Summary], list[HourPublic]]:
        last = now_ms // HOUR_MS
        for counts in (self._visitors, self._tryons):
            for old in [h for h in counts if h <= last - hours]:
                del counts[old]
        chart = [
            HourPublic(
                hour=ms_to_datetime(hour * HOUR_MS),
                visitors=self._visitors.get(hour, 0),
                tryons=self._tryons.get(hour, 0),
            )
            for hour in range(last - hours + 1, last + 1)
        ]
        return list(reversed(self._recent)), chart


SUMMARY_KEYS = ("epc", "gtin", "zone", "from_zone", "via_exit", "camera_id", "reader_id", "kind")
"""Payload fields a dashboard line shows: products and places, never who (member ids are
left out whatever their consent; the alerts' own text names consented members only)."""


def summary_of(event: Event) -> str:
    fields = event.payload.model_dump(mode="json")
    if isinstance(fields.get("text"), str) and event.type.startswith("alert."):
        return str(fields["text"])
    return " ".join(f"{k}={fields[k]}" for k in SUMMARY_KEYS if fields.get(k) is not None)


# --- snapshots taken on the owner thread -------------------------------------------------


@dataclass(frozen=True, slots=True)
class _RoomSnap:
    state: RoomState
    requests: tuple[tuple[AlertPayload, str | None], ...]


@dataclass(frozen=True, slots=True)
class _DashboardSnap:
    zone_tags: dict[str, list[str]]
    occupied: dict[str, bool]
    readers: list[ReaderHealth]
    open_alerts: list[AlertPayload]
    recent: list[_Summary]
    hours: list[HourPublic]


# --- the services -------------------------------------------------------------------------


class EdgeServices:
    def __init__(
        self,
        owner: OwnerLoop,
        config: StoreConfig,
        clock: Clock,
        *,
        catalog_of: Callable[[], Catalog | None] = lambda: None,
        activity: ActivityLog | None = None,
        probes: Sequence[Probe] = (),
        sync_status: Callable[[], SyncStatus | None] = lambda: None,
        timeout_s: float = CALL_TIMEOUT_S,
    ) -> None:
        """``sync_status``: the store <-> HQ sync's status for the dashboard (None: no sync)."""
        self.owner = owner
        self._sync_status = sync_status
        self.config = config
        self.clock = clock
        self._catalog_of = catalog_of
        self.activity = activity
        self.probes = list(probes)
        self.timeout_s = timeout_s
        self._zones = config.zones_by_id()

    @property
    def catalog(self) -> Catalog | None:
        """The current catalog (sync may replace it; a catalog itself never changes)."""
        return self._catalog_of()

    # Plumbing -------------------------------------------------------------------------------
    def _call(self, fn: Callable[[StoreCore], T]) -> T:
        """``fn(core)`` on the owner thread (its exceptions come back here)."""
        try:
            return self.owner.call(fn, timeout_s=self.timeout_s)
        except queue.Empty:
            raise ServiceUnavailable("The edge is not responding") from None

    def _change(self, fn: Callable[[StoreCore], tuple[T, list[Event]]]) -> T:
        """``fn(core)`` on the owner thread; the events it returns go to the sinks."""
        try:
            return self.owner.call_emitting(fn, timeout_s=self.timeout_s)
        except queue.Empty:
            raise ServiceUnavailable("The edge is not responding") from None

    def zone_name(self, zone: str | None) -> str | None:
        if zone is None:
            return None
        config = self._zones.get(zone)
        return (config.name or zone) if config is not None else zone

    def has_zone(self, zone: str) -> bool:
        return zone in self._zones

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
    def room_state(self, zone: str) -> RoomStatePublic:
        def snap(core: StoreCore) -> _RoomSnap:
            fusion = core.fusion
            state = fusion.room_state(zone)
            requests: list[tuple[AlertPayload, str | None]] = []
            if state.session is not None:
                started = state.session.started_ms
                for alert in fusion.open_alerts():
                    if (
                        alert.kind is AlertKind.SIZE_REQUEST
                        and alert.zone == zone
                        and datetime_to_ms(alert.created) >= started
                    ):
                        requests.append((alert, fusion.alerts.acknowledged_by(alert.alert_id)))
            return _RoomSnap(state, tuple(requests))

        room: _RoomSnap = self._call(snap)
        session = room.state.session
        member = room.state.member
        return RoomStatePublic(
            zone=zone,
            zone_name=self.zone_name(zone) or zone,
            occupied=session is not None,
            session_id=session.session_id if session else None,
            started=ms_to_datetime(session.started_ms) if session else None,
            member=MemberPublic(first_name=member.first_name, tier=member.tier) if member else None,
            items=[self._item(i.epc, i.gtin, i.since_ms) for i in session.items] if session else [],
            recommendations=[self._recommendation(r) for r in room.state.recommendations],
            requests=[self._request(alert, by) for alert, by in reversed(room.requests)],
        )

    def _item(self, epc: str, gtin: str | None, since_ms: int) -> RoomItemPublic:
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
        variants = catalog.variants(product.style) if catalog is not None else []
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
            sizes=sorted(_unique(v.size for v in variants if v.size), key=size_order),
            colours=_unique(v.colour for v in variants if v.colour),
        )

    def _recommendation(self, item: RecommendedItem) -> RecommendationPublic:
        return RecommendationPublic(
            gtin=item.gtin,
            name=item.name,
            category=item.category,
            size=item.size,
            colour=item.colour,
            price=item.price,
            image=item.image or f"/static/catalog/{item.gtin}.svg",
            reason=item.reason,
            text=item.text,
            sizes_in_stock=[
                SizeStockPublic(size=size, places=[self._place(p) for p in places])
                for size, places in item.sizes_in_stock.items()
            ],
        )

    def _request(self, alert: AlertPayload, acknowledged_by: str | None) -> SizeRequestPublic:
        cause = alert.cause or {}
        return SizeRequestPublic(
            alert_id=alert.alert_id,
            zone=alert.zone or "",
            gtin=str(cause.get("gtin", "")),
            size=cause.get("size"),
            colour=cause.get("colour"),
            text=alert.text,
            state=alert.state.value,
            acknowledged_by=acknowledged_by,
            created=alert.created,
        )

    def request_size(
        self, zone: str, gtin: str, size: str | None, colour: str | None, device: str
    ) -> SizeRequestPublic:
        """Raise a ``size_request`` alert for the item ``gtin`` in ``zone``. A repeat of an
        open request (the alert throttle holds it back) returns that request."""
        catalog = self.catalog
        if catalog is not None and gtin not in catalog:
            raise RequestRejected("Unknown product")
        now_ms = self.clock.now_ms()
        Found = tuple[AlertPayload, str | None] | None

        def run(core: StoreCore) -> tuple[Found, list[Event]]:
            events = core.handle_size_request(zone, gtin, size=size, colour=colour, ts_ms=now_ms)
            for event in events:
                if isinstance(event, AlertRaised):
                    return (event.payload, None), events
            for alert in reversed(core.fusion.open_alerts()):
                cause = alert.cause or {}
                if (
                    alert.kind is AlertKind.SIZE_REQUEST
                    and alert.zone == zone
                    and (cause.get("gtin"), cause.get("size"), cause.get("colour"))
                    == (gtin, size, colour)
                ):
                    return (alert, core.fusion.alerts.acknowledged_by(alert.alert_id)), events
            return None, events

        log.info(
            "size request from %s in %s: %s size=%s colour=%s", device, zone, gtin, size, colour
        )
        found = self._change(run)
        if found is None:
            raise RequestRejected("Already requested a moment ago")
        return self._request(*found)

    # Alerts ---------------------------------------------------------------------------------
    def open_alerts(self, kind: str | None = None, zone: str | None = None) -> list[AlertPublic]:
        """Alerts not resolved (open or acknowledged), newest first."""

        def snap(core: StoreCore) -> list[tuple[AlertPayload, str | None]]:
            fusion = core.fusion
            return [
                (alert, fusion.alerts.acknowledged_by(alert.alert_id))
                for alert in fusion.open_alerts()
                if (kind is None or alert.kind.value == kind)
                and (zone is None or alert.zone == zone)
            ]

        alerts = self._call(snap)
        return [self._alert(alert, by) for alert, by in reversed(alerts)]

    def acknowledge_alert(self, alert_id: str, staff_id: str) -> AlertPublic | None:
        """Acknowledge an alert (emits ``alert.acknowledged``); None for an unknown id. An
        alert acknowledged already stays acknowledged by whoever did it first."""
        now_ms = self.clock.now_ms()

        Found = tuple[AlertPayload, str | None] | None

        def run(core: StoreCore) -> tuple[Found, list[Event]]:
            book = core.fusion.alerts
            if book.get(alert_id) is None:
                return None, []
            events = core.handle_alert_ack(alert_id, staff_id, now_ms)
            alert = book.get(alert_id)
            assert alert is not None
            return (alert, book.acknowledged_by(alert_id)), events

        found = self._change(run)
        return self._alert(*found) if found is not None else None

    def _alert(self, alert: AlertPayload, acknowledged_by: str | None) -> AlertPublic:
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
            acknowledged_by=acknowledged_by,
        )

    # Dashboard ------------------------------------------------------------------------------
    def dashboard(self) -> DashboardPublic:
        now_ms = self.clock.now_ms()
        zones = list(self._zones)
        activity = self.activity

        def snap(core: StoreCore) -> _DashboardSnap:
            rooms = core.fusion.rooms
            recent, hours = activity.snapshot(now_ms) if activity is not None else ([], [])
            return _DashboardSnap(
                zone_tags={zone: core.tracker.tags_in_zone(zone) for zone in zones},
                occupied={zone: rooms.snapshot(zone) is not None for zone in rooms.rooms},
                readers=core.alerts.reader_health(),
                open_alerts=core.fusion.open_alerts(),
                recent=recent,
                hours=hours,
            )

        board = self._call(snap)
        counters: dict[str, ComponentCounters] = {}
        for probe in self.probes:
            counters.update(probe())
        return DashboardPublic(
            store_id=self.config.store_id,
            name=self.config.name or self.config.store_id,
            now=ms_to_datetime(now_ms),
            zones=[self._zone(zone, board) for zone in zones],
            components=self._components(board, counters),
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
            hours=board.hours,
            open_alerts=sum(a.state is AlertState.OPEN for a in board.open_alerts),
            sync=self._sync_status(),
        )

    def _zone(self, zone: str, board: _DashboardSnap) -> ZonePublic:
        from edge.rfid.epc import gtin_of

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

    def _components(
        self, board: _DashboardSnap, counters: Mapping[str, ComponentCounters]
    ) -> list[ComponentPublic]:
        offline = {
            (alert.kind, alert.subject)
            for alert in board.open_alerts
            if alert.kind in (AlertKind.READER_OFFLINE, AlertKind.CAMERA_OFFLINE)
        }
        components = []
        for reader in board.readers:
            state = "unknown"
            if reader.last_alive_ms is not None or reader.connected is not None:
                down = reader.offline_since_ms is not None or reader.connected is False
                state = "offline" if down else "online"
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
            state = "unknown" if found is None or found.online is None else "online"
            if (AlertKind.CAMERA_OFFLINE, camera.id) in offline or (
                found and found.online is False
            ):
                state = "offline"
            components.append(
                ComponentPublic(
                    id=camera.id,
                    kind="camera",
                    zone=camera.zone,
                    state=state,
                    last_data=None,
                    errors=found.errors if found else 0,
                    frame_drops=found.frame_drops if found else None,
                    counters=found.counters if found else {},
                )
            )
        return components


def _at(ts_ms: int | None) -> datetime | None:
    return ms_to_datetime(ts_ms) if ts_ms is not None else None


def _unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))


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


# --- probes of the assembled edge's drivers ----------------------------------------------

SERIAL_ERROR_KEYS = (
    "checksum_errors",
    "bad_length",
    "wrong_address",
    "error_responses",
    "read_errors",
    "open_errors",
)


def component_probe(assembly: EdgeAssembly) -> Probe:
    """Counters of the assembly's reader drivers and cameras (their stats are thread-safe)."""

    def probe() -> dict[str, ComponentCounters]:
        found: dict[str, ComponentCounters] = {}
        for reader_id, serial in assembly.serial_drivers.items():
            stats = serial.stats()
            errors = sum(stats.get(key, 0) for key in SERIAL_ERROR_KEYS)
            found[reader_id] = ComponentCounters(errors, None, dict(stats))
        for reader_id, driver in assembly.mqtt_drivers.items():
            mqtt = driver.stats()
            malformed = sum(mqtt.malformed.values())
            found[reader_id] = ComponentCounters(
                malformed,
                None,
                {
                    "messages": mqtt.messages_received,
                    "reads": mqtt.reads,
                    "malformed": malformed,
                    "clock_drift_corrected": mqtt.clock_drift_corrected,
                    "unmapped_antenna": mqtt.unmapped_antenna,
                },
            )
        for camera_id, camera in assembly.cameras.items():
            frames = camera.stats
            found[camera_id] = ComponentCounters(
                sum(frames.source_errors.values()) + frames.frames_lost,
                frames.frames_dropped,
                {
                    "frames_processed": frames.frames_processed,
                    "frames_lost": frames.frames_lost,
                    "queue_depth": frames.queue_depth,
                    "active_tracks": frames.active_tracks,
                    **frames.source_errors,
                },
                online=frames.online,
            )
        return found

    return probe


# --- wiring -------------------------------------------------------------------------------


@dataclass
class ApiRuntime:
    """The API of one assembled edge; serve ``app`` with :func:`edge.api.server.serve_api`."""

    services: EdgeServices
    devices: DeviceRegistry
    hub: EventHub
    activity: ActivityLog
    app: FastAPI


def attach_api(
    assembly: EdgeAssembly,
    *,
    probes: Sequence[Probe] = (),
    sync: SyncClient | None = None,
) -> ApiRuntime:
    """Add the API to an assembled edge, before it starts: the hub and the activity log join
    the owner loop's sinks. Products are named from the recommender's catalog (the one a sync
    replaces); ``probes``: counters of further components; ``sync``: its status in /metrics."""
    from edge.api.app import create_app
    from edge.api.devices import DeviceRegistry
    from edge.api.hub import EventHub
    from edge.clock import SystemClock
    from edge.metrics import attach_metrics

    config = assembly.config
    recommender = assembly.owner.core.recommender
    hub = EventHub(config.api.ws_queue_size)
    activity = ActivityLog()
    assembly.owner.sinks.extend([activity, hub])
    services = EdgeServices(
        assembly.owner,
        config,
        assembly.clock,
        catalog_of=(lambda: recommender.catalog) if recommender is not None else lambda: None,
        activity=activity,
        probes=[component_probe(assembly), *probes],
        sync_status=sync.status if sync is not None else lambda: None,
    )
    # Pairing codes expire in wall-clock time, whatever clock the store's events run on.
    devices = DeviceRegistry.from_store_config(config, SystemClock())
    app = create_app(config, services=services, devices=devices, hub=hub, clock=assembly.clock)
    app.state.metrics = attach_metrics(assembly, sync)  # /healthz and /metrics
    return ApiRuntime(services, devices, hub, activity, app)
