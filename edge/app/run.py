"""The live edge: built by the composition root on the wall clock, a ticker, the sync status
on MQTT, and a clean stop on SIGINT/SIGTERM."""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Sequence

from cloud_sync.client.status import STATUS_TOPIC
from edge.app.compose import EdgeOptions, Taps, build_edge
from edge.clock import SystemClock
from edge.config.store import StoreConfig
from edge.runtime.owner import EventSink

log = logging.getLogger(__name__)

TICK_S = 1.0
SYNC_STATUS_EVERY_S = 30.0


def run_store(
    config: StoreConfig,
    sinks: Sequence[EventSink] = (),
    *,
    duration_s: float | None = None,
    taps: Taps | None = None,
    stop: threading.Event | None = None,
) -> None:
    """Run every edge daemon of one store until ``duration_s`` elapses or a signal arrives."""
    clock = SystemClock()
    stop = stop or threading.Event()
    edge = build_edge(config, EdgeOptions(clock=clock, sinks=sinks, taps=taps or Taps()))
    _stop_on_signals(stop)
    edge.start()
    if config.api.enabled:
        edge.serve()
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
            edge.owner.submit_tick(clock.now_ms())
            if time.monotonic() >= next_status and edge.sync is not None:
                edge.runtime.connection.publish(
                    status_topic, edge.sync.status().model_dump_json(), qos=1, retain=True
                )
                next_status = time.monotonic() + SYNC_STATUS_EVERY_S
            if deadline is not None and time.monotonic() >= deadline:
                break
    finally:
        log.info("store %s stopping", config.store_id)
        edge.stop()


def _stop_on_signals(stop: threading.Event) -> None:
    if threading.current_thread() is not threading.main_thread():
        return
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
