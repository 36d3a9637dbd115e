"""One store's running parts: the owner loop, the MQTT connection, the reader drivers, the
cameras and their recognition workers, and the store's MQTT inputs (tills, acknowledgements).

The composition root (:mod:`edge.app.compose`) builds a :class:`StoreRuntime`; ``run``,
``replay`` and the tests then start and stop it here, in one order, so that a replayed store
exercises exactly the code of a live one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from edge.clock import Clock
from edge.config.store import StoreConfig
from edge.events.alerts import ComponentState, ComponentStatus
from edge.events.base import ms_to_datetime
from edge.mqtt.client import MqttConnection
from edge.mqtt.publisher import EventPublisher
from edge.mqtt.store_inputs import StoreMqttInputs
from edge.rfid.impinj_http import ImpinjHttpDriver
from edge.rfid.llrp.driver import LlrpReaderDriver
from edge.rfid.mqtt_reader import MqttReaderDriver
from edge.rfid.serial_reader import R2000SerialDriver
from edge.runtime.owner import OwnerLoop
from edge.vision.camera import CameraRunner
from edge.vision.worker import RecognitionWorker

log = logging.getLogger(__name__)


@dataclass
class StoreRuntime:
    config: StoreConfig
    clock: Clock
    connection: MqttConnection
    owner: OwnerLoop
    store_inputs: StoreMqttInputs
    live_cameras: bool
    """False in a replay: the replayer steps the cameras through the recorded frames."""
    serial_drivers: dict[str, R2000SerialDriver] = field(default_factory=dict)
    mqtt_drivers: dict[str, MqttReaderDriver] = field(default_factory=dict)
    llrp_drivers: dict[str, LlrpReaderDriver] = field(default_factory=dict)
    http_drivers: dict[str, ImpinjHttpDriver] = field(default_factory=dict)
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
        self.store_inputs.start()
        for mqtt_driver in self.mqtt_drivers.values():
            mqtt_driver.start()
        for serial_driver in self.serial_drivers.values():
            serial_driver.start()
        for llrp_driver in self.llrp_drivers.values():
            llrp_driver.start()
        for http_driver in self.http_drivers.values():
            http_driver.start()
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
        for llrp_driver in self.llrp_drivers.values():
            llrp_driver.stop()
        for http_driver in self.http_drivers.values():
            http_driver.stop()
        for mqtt_driver in self.mqtt_drivers.values():
            mqtt_driver.stop()
        self.store_inputs.stop()
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
