"""Builds one store's edge from its configuration; shared by ``run`` and ``replay`` so that a
replayed store exercises exactly the code of a live one."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from edge.alerts.publisher import EventPublisher
from edge.clock import Clock
from edge.config.readers import ImpinjMqttReader, R2000SerialReader, ZebraMqttReader
from edge.config.store import StoreConfig
from edge.events.alerts import ComponentState, ComponentStatus
from edge.events.base import EventFactory, ms_to_datetime
from edge.events.fusion import SalePayload
from edge.fusion.mqtt_inputs import FusionMqttInputs
from edge.fusion.sales import SaleResult
from edge.mqtt.client import MqttConnection
from edge.rfid.mqtt_reader import MqttReaderDriver
from edge.rfid.serial_reader import R2000SerialDriver
from edge.runtime.core import StoreCore, load_recommender
from edge.runtime.owner import EventSink, OwnerLoop
from edge.runtime.sinks import MqttSink
from edge.vision.camera import CameraRunner
from edge.vision.sources import Frame
from edge.vision.worker import RecognitionWorker

log = logging.getLogger(__name__)

SerialTap = Callable[[str, int, bytes], None]
MqttTap = Callable[[str, int, str, bytes], None]
FrameTap = Callable[[str, Frame], None]


@dataclass
class EdgeAssembly:
    config: StoreConfig
    clock: Clock
    connection: MqttConnection
    owner: OwnerLoop
    fusion_inputs: FusionMqttInputs
    live_cameras: bool
    serial_drivers: dict[str, R2000SerialDriver] = field(default_factory=dict)
    mqtt_drivers: dict[str, MqttReaderDriver] = field(default_factory=dict)
    cameras: dict[str, CameraRunner] = field(default_factory=dict)
    workers: dict[str, RecognitionWorker] = field(default_factory=dict)

    @property
    def publisher(self) -> EventPublisher:
        return EventPublisher(self.connection, self.config.store_id, self.config.mqtt.topic_prefix)

    def start(self, *, connect_timeout_s: float = 10.0) -> None:
        self.owner.start()
        for worker in self.workers.values():
            worker.start()
        self.connection.start()
        if not self.connection.wait_connected(connect_timeout_s):
            raise ConnectionError(
                f"no MQTT broker at {self.config.mqtt.host}:{self.config.mqtt.port}"
            )
        self.fusion_inputs.start()
        for mqtt_driver in self.mqtt_drivers.values():
            mqtt_driver.start()
        for serial_driver in self.serial_drivers.values():
            serial_driver.start()
        if self.live_cameras:
            for camera in self.cameras.values():
                camera.start()
        # Online once every driver listens, and again after every reconnect: a broker that
        # restarted without persistence has forgotten the retained status.
        self.publish_status(ComponentState.ONLINE)
        self.connection.add_connection_listener(self._republish_status)

    def stop(self) -> None:
        if self.live_cameras:
            for camera in self.cameras.values():
                camera.stop()
        for serial_driver in self.serial_drivers.values():
            serial_driver.stop()
        for mqtt_driver in self.mqtt_drivers.values():
            mqtt_driver.stop()
        self.fusion_inputs.stop()
        self.owner.sync()
        self.owner.stop()
        for worker in self.workers.values():
            worker.stop()
        self.connection.stop()

    def _republish_status(self, connected: bool) -> None:
        if connected:
            self.publish_status(ComponentState.ONLINE)

    def publish_status(self, state: ComponentState) -> None:
        """Retained status per reader and camera; the connection itself publishes ``edge``'s."""
        publisher = self.publisher
        now = ms_to_datetime(self.clock.now_ms())
        components = [f"reader-{r.id}" for r in self.config.readers]
        components += [f"camera-{c.id}" for c in self.config.cameras]
        for component in components:
            publisher.publish_status(
                component, ComponentStatus(component=component, state=state, ts=now)
            )


def build_edge(
    config: StoreConfig,
    clock: Clock,
    factory: EventFactory,
    sinks: Sequence[EventSink],
    *,
    publish_events: bool = True,
    live_cameras: bool = True,
    mqtt_component: str = "edge",
    on_serial_chunk: SerialTap | None = None,
    on_mqtt_message: MqttTap | None = None,
    on_camera_frame: FrameTap | None = None,
) -> EdgeAssembly:
    connection = MqttConnection(config.mqtt, config.store_id, component=mqtt_component)
    all_sinks = list(sinks)
    if publish_events:
        publisher = EventPublisher(connection, config.store_id, config.mqtt.topic_prefix)
        all_sinks.append(MqttSink(publisher))
    core = StoreCore(config, factory, recommender=load_recommender(config))
    owner = OwnerLoop(core, all_sinks)

    def submit_sale(payload: SalePayload) -> SaleResult:
        return owner.call_emitting(lambda core: core.handle_sale(payload, clock.now_ms()))

    def submit_ack(alert_id: str, staff_id: str, ts_ms: int) -> None:
        owner.call_emitting(lambda core: (None, core.handle_alert_ack(alert_id, staff_id, ts_ms)))

    fusion_inputs = FusionMqttInputs(
        connection,
        config.mqtt.topic_prefix,
        config.store_id,
        clock=clock,
        submit_ack=submit_ack,
        submit_sale=submit_sale,
    )
    assembly = EdgeAssembly(
        config=config,
        clock=clock,
        connection=connection,
        owner=owner,
        fusion_inputs=fusion_inputs,
        live_cameras=live_cameras,
    )
    for reader in config.readers:
        if isinstance(reader, R2000SerialReader):
            assembly.serial_drivers[reader.id] = R2000SerialDriver(
                reader,
                clock,
                owner.submit_read,
                owner.submit_status,
                on_chunk=_bind_serial(on_serial_chunk, reader.id),
            )
        elif isinstance(reader, ZebraMqttReader | ImpinjMqttReader):
            assembly.mqtt_drivers[reader.id] = MqttReaderDriver(
                reader,
                connection,
                clock,
                owner.submit_read,
                owner.submit_status,
                on_message=_bind_mqtt(on_mqtt_message, reader.id),
            )
    for camera in config.cameras:
        worker = RecognitionWorker.for_camera(config, camera)
        assembly.workers[camera.id] = worker
        assembly.cameras[camera.id] = CameraRunner(
            camera,
            worker,
            on_observation=owner.submit_observation,
            on_status=owner.submit_camera_status,
            clock=clock,
            on_frame=_bind_frames(on_camera_frame, camera.id),
        )
    return assembly


def _bind_serial(tap: SerialTap | None, reader_id: str) -> Callable[[int, bytes], None] | None:
    if tap is None:
        return None
    return lambda ts_ms, data: tap(reader_id, ts_ms, data)


def _bind_mqtt(tap: MqttTap | None, reader_id: str) -> Callable[[int, str, bytes], None] | None:
    if tap is None:
        return None
    return lambda ts_ms, topic, payload: tap(reader_id, ts_ms, topic, payload)


def _bind_frames(tap: FrameTap | None, camera_id: str) -> Callable[[Frame], None] | None:
    if tap is None:
        return None
    return lambda frame: tap(camera_id, frame)
