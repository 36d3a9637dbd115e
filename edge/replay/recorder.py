"""Records a live store into a capture directory (docs/capture-format.md) while the edge runs
as usual: serial bytes in the chunks the ports delivered them, MQTT reader messages as they
arrived, and camera frames as video plus frame timestamps.

Camera recordings hold images of people: an operator records on purpose, for tests of the
store's own setup, and keeps the capture as the store's privacy rules require.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

from edge.config.readers import R2000SerialReader
from edge.config.store import StoreConfig
from edge.replay.capture import CaptureWriter
from edge.runtime.service import run_store
from edge.vision.sources import Frame, RecordingWriter

log = logging.getLogger(__name__)

MQTT_SOURCE = "mqtt-readers"


class CameraRecordings:
    """One recording per camera, opened at its first frame (when the frame size is known)."""

    def __init__(self, config: StoreConfig, writer: CaptureWriter) -> None:
        self._writer = writer
        self._fps = {camera.id: camera.target_fps for camera in config.cameras}
        self._videos = {
            camera.id: writer.add_camera_source(f"camera-{camera.id}", camera.id)
            for camera in config.cameras
        }
        self._recordings: dict[str, RecordingWriter] = {}

    def write(self, camera_id: str, frame: Frame) -> None:
        recording = self._recordings.get(camera_id)
        if recording is None:
            height, width = frame.image.shape[:2]
            source_id = f"camera-{camera_id}"
            recording = self._recordings[camera_id] = RecordingWriter(
                self._videos[camera_id],
                lambda ts_ms, index: self._writer.write_frame_ts(source_id, ts_ms, index),
                fps=self._fps[camera_id],
                size=(width, height),
            )
        recording.write(frame.image, frame.ts_ms)

    def close(self) -> None:
        for recording in self._recordings.values():
            recording.close()


def record_store(config: StoreConfig, out: Path, duration_s: float) -> Path:
    start_ms = time.time_ns() // 1_000_000
    writer = CaptureWriter(out, config.store_id, start_ms, f"recorded in store {config.store_id}")
    if any(not isinstance(reader, R2000SerialReader) for reader in config.readers):
        writer.add_mqtt_source(MQTT_SOURCE)
    for reader in config.readers:
        if isinstance(reader, R2000SerialReader):
            writer.add_serial_source(reader.id, reader.id)
    cameras = CameraRecordings(config, writer)
    stop = threading.Event()
    progress = threading.Thread(target=_progress, args=(stop, duration_s), daemon=True)
    progress.start()
    try:
        run_store(
            config,
            duration_s=duration_s,
            on_serial_chunk=writer.write_serial,
            on_mqtt_message=lambda _reader, ts_ms, topic, payload: writer.write_mqtt(
                MQTT_SOURCE, ts_ms, topic, payload
            ),
            on_camera_frame=cameras.write,
            stop=stop,
        )
    finally:
        stop.set()
        cameras.close()
        writer.close(duration_s=(time.time_ns() // 1_000_000 - start_ms) / 1000)
    return out


def _progress(stop: threading.Event, duration_s: float) -> None:
    started = time.monotonic()
    while not stop.wait(10):
        log.info("recording: %.0f of %.0f s", time.monotonic() - started, duration_s)
