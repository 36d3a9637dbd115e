"""Records a live store: serial bytes in the chunks the ports delivered them and MQTT reader
messages as they arrived, into a capture directory (docs/capture-format.md), while the edge
runs as usual."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

from edge.config.readers import R2000SerialReader
from edge.config.store import StoreConfig
from edge.replay.capture import CaptureWriter
from edge.runtime.service import run_store

log = logging.getLogger(__name__)


def record_store(config: StoreConfig, out: Path, duration_s: float) -> Path:
    start_ms = time.time_ns() // 1_000_000
    writer = CaptureWriter(out, config.store_id, start_ms, f"recorded in store {config.store_id}")
    mqtt_source = "mqtt-readers"
    if any(not isinstance(reader, R2000SerialReader) for reader in config.readers):
        writer.add_mqtt_source(mqtt_source)
    for reader in config.readers:
        if isinstance(reader, R2000SerialReader):
            writer.add_serial_source(reader.id, reader.id)
    stop = threading.Event()
    progress = threading.Thread(target=_progress, args=(stop, duration_s), daemon=True)
    progress.start()
    try:
        run_store(
            config,
            duration_s=duration_s,
            on_serial_chunk=writer.write_serial,
            on_mqtt_message=lambda _reader, ts_ms, topic, payload: writer.write_mqtt(
                mqtt_source, ts_ms, topic, payload
            ),
            stop=stop,
        )
    finally:
        stop.set()
        writer.close(duration_s=(time.time_ns() // 1_000_000 - start_ms) / 1000)
    return out


def _progress(stop: threading.Event, duration_s: float) -> None:
    started = time.monotonic()
    while not stop.wait(10):
        log.info("recording: %.0f of %.0f s", time.monotonic() - started, duration_s)
