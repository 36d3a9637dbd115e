"""The composition root: builds one store's edge, every stateful object exactly once.

``o2o-edge run``, ``replay`` (with or without ``--serve``), ``record``, ``demo``, the
benchmarks and the tests all build the edge with :func:`build_edge`; nothing else constructs
the owner loop, the store core, the face service, the device registry, the event hub, the sync
client or the MQTT connection. Every object is handed to whoever needs it here, so the pages,
``/metrics`` and the sync always look at the objects that run. docs/architecture.md draws the
result.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import FastAPI

from cloud_sync.client.downlink import SOLD_SET_FILE, GallerySink
from cloud_sync.client.service import SyncClient
from cloud_sync.client.status import SyncStatus
from edge.alerts.sold_set import SoldSet, SoldSetError
from edge.api.app import create_app
from edge.api.context import ApiContext
from edge.api.devices import DeviceRegistry
from edge.api.hub import EventHub
from edge.api.server import ApiServer, serve_api
from edge.clock import Clock, SystemClock
from edge.config.readers import (
    ImpinjHttpReader,
    ImpinjMqttReader,
    LlrpReader,
    R2000SerialReader,
    ZebraMqttReader,
)
from edge.config.store import StoreConfig
from edge.events.base import EventFactory
from edge.events.reservations import Reservation
from edge.events.stock import NearbyStock as NearbyStockAnswer
from edge.mqtt.client import MqttConnection
from edge.mqtt.publisher import EventPublisher
from edge.mqtt.store_inputs import StoreMqttInputs
from edge.recommend.catalog import Catalog
from edge.recommend.nearby import NearbyStock
from edge.rfid.impinj_http import ImpinjHttpDriver
from edge.rfid.llrp.driver import LlrpReaderDriver
from edge.rfid.mqtt_reader import MqttReaderDriver
from edge.rfid.serial_reader import R2000SerialDriver
from edge.runtime.assembly import StoreRuntime
from edge.runtime.core import StoreCore, load_recommender
from edge.runtime.owner import EventSink, OwnerLoop
from edge.runtime.sinks import MqttSink, OutboxSink
from edge.service.activity import ActivityLog
from edge.service.components import component_counters
from edge.service.faces import FaceServiceProvider, SyncedGallery
from edge.service.health import HealthReporter
from edge.service.metrics import EdgeMetrics, EventCounter
from edge.service.store import StoreService
from edge.vision.camera import CameraRunner
from edge.vision.enrolment import FaceService
from edge.vision.frames import Frame
from edge.vision.worker import RecognitionWorker

log = logging.getLogger(__name__)

SerialTap = Callable[[str, int, bytes], None]
"""``(reader_id, ts_ms, chunk)``: every chunk a serial port delivered (recording)."""
MqttTap = Callable[[str, int, str, bytes], None]
"""``(reader_id, ts_ms, topic, payload)``: every message an MQTT reader sent (recording)."""
FrameTap = Callable[[str, Frame], None]
"""``(camera_id, frame)``: every frame a camera grabbed, before the queue (recording)."""
LlrpTap = Callable[[str, int, bytes], None]
"""``(reader_id, ts_ms, message)``: every whole LLRP message a reader sent (recording)."""


@dataclass(frozen=True)
class Taps:
    serial: SerialTap | None = None
    mqtt: MqttTap | None = None
    frames: FrameTap | None = None
    llrp: LlrpTap | None = None


@dataclass(frozen=True)
class EdgeOptions:
    clock: Clock = field(default_factory=SystemClock)
    """The store's clock: the wall clock live, a virtual one in a replay."""
    factory: EventFactory | None = None
    """Event ids: random per process by default; seeded from the capture in a replay."""
    sinks: Sequence[EventSink] = ()
    """Further sinks (the replay's JSON-lines file, the console), after the outbox."""
    publish_events: bool = True
    live_cameras: bool = True
    sync: bool = True
    """The store <-> HQ sync client (outbox always, uploader and downlink per config)."""
    sync_gallery: bool = True
    """Let HQ's member gallery replace this store's (off for the demo, which enrols locally)."""
    mqtt_component: str = "edge"
    taps: Taps = Taps()
    wall_clock: Clock = field(default_factory=SystemClock)
    """Wall time where a replay's virtual clock must not be used: pairing codes expire, sync
    requests are signed and consents are dated in real time."""


@dataclass
class Edge:
    """One store's edge, built by :func:`build_edge`; start, serve, stop."""

    config: StoreConfig
    options: EdgeOptions
    runtime: StoreRuntime
    sync: SyncClient | None
    faces: FaceServiceProvider
    devices: DeviceRegistry
    hub: EventHub
    activity: ActivityLog
    store: StoreService
    metrics: EdgeMetrics
    http: FastAPI
    health: HealthReporter | None = None
    """Sends ``store.health`` to HQ (only when the store syncs)."""
    server: ApiServer | None = None

    @property
    def owner(self) -> OwnerLoop:
        return self.runtime.owner

    @property
    def clock(self) -> Clock:
        return self.runtime.clock

    def start(self) -> None:
        if self.sync is not None:
            self.sync.start()
        self.runtime.start()
        if self.health is not None:
            self.health.start()

    def serve(self, host: str | None = None, port: int | None = None) -> ApiServer:
        """Serve the pages and the API (the config's ``api`` address unless given)."""
        api = self.config.api
        self.server = serve_api(
            self.http, api.host if host is None else host, api.port if port is None else port
        )
        return self.server

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None
        if self.health is not None:
            self.health.stop()
        self.runtime.stop()
        if self.sync is not None:
            self.sync.stop()

    def sync_status(self) -> SyncStatus | None:
        return self.sync.status() if self.sync is not None else None


def _saved_sold_set(config: StoreConfig) -> SoldSet | None:
    """The chain's sold set the downlink saved last, so the gate has it before the first
    poll; None (logged) when there is none or it cannot be read."""
    path = config.data_dir / SOLD_SET_FILE
    try:
        return SoldSet.from_bytes(path.read_bytes())
    except FileNotFoundError:
        return None
    except (OSError, SoldSetError) as error:
        log.warning("sold set %s ignored until the next download: %s", path, error)
        return None


def build_edge(config: StoreConfig, options: EdgeOptions | None = None) -> Edge:
    options = options or EdgeOptions()
    clock = options.clock
    factory = options.factory or EventFactory(config.store_id)
    connection = MqttConnection(config.mqtt, config.store_id, component=options.mqtt_component)

    faces = FaceServiceProvider(lambda: FaceService.from_config(config, options.wall_clock))
    core = StoreCore(config, factory, recommender=load_recommender(config))
    if options.sync and config.sync.enabled:
        saved = _saved_sold_set(config)
        if saved is not None:
            core.receive_sold_set(saved)
    owner = OwnerLoop(core, [])
    sync = (
        _sync_client(config, owner, faces if options.sync_gallery else None, options.wall_clock)
        if options.sync
        else None
    )

    def describe(gtin: str) -> str | None:
        # Sinks run on the owner loop: the catalog as it is now (a downlink may replace it).
        recommender = core.recommender
        product = recommender.catalog.get(gtin) if recommender is not None else None
        return product.label if product is not None else None

    activity = ActivityLog(describe=describe)
    hub = EventHub(config.api.ws_queue_size)
    events = EventCounter()
    outbox = OutboxSink(sync) if sync is not None else None
    sinks: list[EventSink] = [outbox] if outbox is not None else []
    sinks.extend(options.sinks)
    publisher = (
        MqttSink(EventPublisher(connection, config.store_id, config.mqtt.topic_prefix))
        if options.publish_events
        else None
    )
    if publisher is not None:
        sinks.append(publisher)
    sinks.extend([activity, hub, events])
    owner.sinks.extend(sinks)

    store = StoreService(
        owner,
        config,
        clock,
        activity=activity,
        probe=lambda: component_counters(runtime),
        sync_status=(lambda: sync.status()) if sync is not None else (lambda: None),
        wall_clock=options.wall_clock,
    )
    runtime = StoreRuntime(
        config=config,
        clock=clock,
        connection=connection,
        owner=owner,
        store_inputs=StoreMqttInputs(
            connection,
            config.mqtt.topic_prefix,
            config.store_id,
            clock=clock,
            submit_ack=store.acknowledge_from_handheld,
            submit_sale=store.record_sale,
            submit_outcome=store.close_from_handheld,
        ),
        live_cameras=options.live_cameras,
    )
    _add_readers(runtime, options.taps)
    _add_cameras(runtime, options.taps)

    metrics = EdgeMetrics(runtime, store, events, sync)
    devices = DeviceRegistry.from_store_config(config, options.wall_clock)
    http = create_app(
        ApiContext(
            config=config, store=store, faces=faces, devices=devices, hub=hub, metrics=metrics
        )
    )
    health = None
    if sync is not None and outbox is not None and sync.enabled:
        # To HQ (the console), and to the store's MQTT events like every other event.
        reports: list[EventSink] = [outbox] if publisher is None else [outbox, publisher]
        health = HealthReporter(
            store,
            sync.status,
            [sink.emit for sink in reports],
            factory,
            options.wall_clock,
            [camera.id for camera in config.cameras],
            config.sync.health_report_s,
        )
    return Edge(
        config=config,
        options=options,
        runtime=runtime,
        sync=sync,
        faces=faces,
        devices=devices,
        hub=hub,
        activity=activity,
        store=store,
        metrics=metrics,
        http=http,
        health=health,
    )


def _add_readers(runtime: StoreRuntime, taps: Taps) -> None:
    owner = runtime.owner
    for reader in runtime.config.readers:
        if isinstance(reader, R2000SerialReader):
            runtime.serial_drivers[reader.id] = R2000SerialDriver(
                reader,
                runtime.clock,
                owner.submit_read,
                owner.submit_status,
                on_chunk=_bind(taps.serial, reader.id),
            )
        elif isinstance(reader, ZebraMqttReader | ImpinjMqttReader):
            runtime.mqtt_drivers[reader.id] = MqttReaderDriver(
                reader,
                runtime.connection,
                runtime.clock,
                owner.submit_read,
                owner.submit_status,
                on_message=_bind(taps.mqtt, reader.id),
            )
        elif isinstance(reader, ImpinjHttpReader):
            runtime.http_drivers[reader.id] = ImpinjHttpDriver(
                reader, runtime.clock, owner.submit_read, owner.submit_status
            )
        elif isinstance(reader, LlrpReader):
            runtime.llrp_drivers[reader.id] = LlrpReaderDriver(
                reader,
                runtime.clock,
                owner.submit_read,
                owner.submit_status,
                on_message=_bind(taps.llrp, reader.id),
            )


def _add_cameras(runtime: StoreRuntime, taps: Taps) -> None:
    config = runtime.config
    owner = runtime.owner
    for camera in config.cameras:
        worker = RecognitionWorker.for_camera(config, camera)
        runtime.workers[camera.id] = worker
        runtime.cameras[camera.id] = CameraRunner(
            camera,
            worker,
            on_observation=owner.submit_observation,
            on_status=owner.submit_camera_status,
            clock=runtime.clock,
            on_frame=_bind(taps.frames, camera.id),
        )


def _bind(tap: Callable[..., None] | None, component_id: str) -> Callable[..., None] | None:
    """The tap with its first argument (the reader or camera id) filled in."""
    if tap is None:
        return None
    return lambda *args: tap(component_id, *args)


def _sync_client(
    config: StoreConfig, owner: OwnerLoop, faces: FaceServiceProvider | None, wall_clock: Clock
) -> SyncClient:
    """The sync client; model and catalog downloads reload the recommender on the owner
    thread, gallery downloads go into the face service (when this edge has cameras)."""

    def on_model(path: Path, version: str) -> None:
        def reload(core: StoreCore) -> None:
            if core.recommender is None:
                log.warning("model %s downloaded; recommendations are off until restart", version)
                return
            core.recommender.reload(path)

        owner.call(reload)
        log.info("recommender model %s in use", version)

    def on_catalog(path: Path, version: str) -> None:
        catalog = Catalog.load(path)

        def reload(core: StoreCore) -> None:
            if core.recommender is not None:
                core.recommender.reload(catalog=catalog)

        owner.call(reload)
        log.info("catalog %s in use", version)

    def on_stock_request() -> None:
        owner.call(StoreCore.request_stock_snapshot)

    def on_reservations(reservations: list[Reservation]) -> None:
        owner.call(lambda core: core.receive_reservations(reservations))

    def on_sold_set(sold: SoldSet) -> None:
        owner.call(lambda core: core.receive_sold_set(sold))

    def on_nearby_stock(answer: NearbyStockAnswer) -> None:
        nearby = NearbyStock(answer)  # indexed here, off the owner thread
        owner.call(lambda core: core.receive_nearby_stock(nearby))

    gallery: GallerySink | None = (
        SyncedGallery(faces) if faces is not None and config.cameras else None
    )
    return SyncClient(
        config,
        gallery=gallery,
        on_model=on_model,
        on_catalog=on_catalog,
        on_stock_request=on_stock_request,
        on_reservations=on_reservations,
        on_sold_set=on_sold_set,
        on_nearby_stock=on_nearby_stock,
        clock=wall_clock,
    )
