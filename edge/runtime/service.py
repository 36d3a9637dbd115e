"""The live edge: drivers on the wall clock, a ticker, and a clean stop on SIGINT/SIGTERM."""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Sequence

from cloud_sync.client.status import STATUS_TOPIC
from edge.api.server import serve_api
from edge.clock import SystemClock
from edge.config.store import StoreConfig
from edge.events.base import EventFactory
from edge.runtime.assembly import FrameTap, MqttTap, SerialTap, build_edge
from edge.runtime.owner import EventSink
from edge.runtime.services import attach_api
from edge.runtime.sync_wiring import attach_sync

log = logging.getLogger(__name__)

TICK_S = 1.0
SYNC_STATUS_EVERY_S = 30.0


def run_store(
    config: StoreConfig,
    sinks: Sequence[EventSink] = (),
    *,
    duration_s: float | None = None,
    on_serial_chunk: SerialTap | None = None,
    on_mqtt_message: MqttTap | None = None,
    on_camera_frame: FrameTap | None = None,
    stop: threading.Event | None = None,
) -> None:
    """Run every edge daemon of one store until ``duration_s`` elapses or a signal arrives."""
    clock = SystemClock()
    stop = stop or threading.Event()
    assembly = build_edge(
        config,
        clock,
        EventFactory(config.store_id),
        sinks,
        on_serial_chunk=on_serial_chunk,
        on_mqtt_message=on_mqtt_message,
        on_camera_frame=on_camera_frame,
    )
    sync = attach_sync(config, clock, assembly.owner)
    api = attach_api(assembly, sync=sync) if config.api.enabled else None
    _stop_on_signals(stop)
    sync.start()
    assembly.start()
    server = serve_api(api.app, config.api.host, config.api.port) if api is not None else None
    log.info(
        "store %s running: %d reader(s), broker %s:%d",
        config.store_id,
        len(config.readers),
        config.mqtt.host,
        config.mqtt.port,
    )
    deadline = None if duration_s is None else time.monotonic() + duration_s
    status_topic = STATUS_TOPIC.format(prefix=config.mqtt.topic_prefix, store_id=config.store_id)
    next_status = 0.0
    try:
        while not stop.wait(TICK_S):
            assembly.owner.submit_tick(clock.now_ms())
            if time.monotonic() >= next_status:
                assembly.connection.publish(
                    status_topic, sync.status().model_dump_json(), qos=1, retain=True
                )
                next_status = time.monotonic() + SYNC_STATUS_EVERY_S
            if deadline is not None and time.monotonic() >= deadline:
                break
    finally:
        log.info("store %s stopping", config.store_id)
        if server is not None:
            server.stop()
        assembly.stop()
        sync.stop()


def _stop_on_signals(stop: threading.Event) -> None:
    if threading.current_thread() is not threading.main_thread():
        return
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
