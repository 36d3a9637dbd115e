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

from edge.config.readers import LlrpReader, R2000SerialReader
from edge.config.store import StoreConfig
from edge.replay.capture import CaptureWriter
from edge.vision.frames import Frame
from edge.vision.sources import RecordingWriter

log = logging.getLogger(__name__)

MQTT_SOURCE = "mqtt-readers"
PROGRESS_EVERY_S = 10.0


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


class StoreRecording:
    """Where a live store's inputs go while it is recorded: the composition root hands these
    methods to the drivers as taps (``o2o-edge record``, :mod:`edge.app.record`)."""

    def __init__(self, config: StoreConfig, out: Path, start_ms: int) -> None:
        self.start_ms = start_ms
        self._writer = CaptureWriter(
            out, config.store_id, start_ms, f"recorded in store {config.store_id}"
        )
        if any(not isinstance(r, R2000SerialReader | LlrpReader) for r in config.readers):
            self._writer.add_mqtt_source(MQTT_SOURCE)
        for reader in config.readers:
            if isinstance(reader, R2000SerialReader):
                self._writer.add_serial_source(reader.id, reader.id)
            elif isinstance(reader, LlrpReader):
                self._writer.add_llrp_source(reader.id, reader.id)
        self._cameras = CameraRecordings(config, self._writer)

    def serial(self, reader_id: str, ts_ms: int, data: bytes) -> None:
        self._writer.write_serial(reader_id, ts_ms, data)

    def mqtt(self, _reader_id: str, ts_ms: int, topic: str, payload: bytes) -> None:
        self._writer.write_mqtt(MQTT_SOURCE, ts_ms, topic, payload)

    def llrp(self, reader_id: str, ts_ms: int, message: bytes) -> None:
        self._writer.write_llrp(reader_id, ts_ms, message)

    def frame(self, camera_id: str, frame: Frame) -> None:
        self._cameras.write(camera_id, frame)

    def close(self, end_ms: int) -> None:
        self._cameras.close()
        self._writer.close(duration_s=(end_ms - self.start_ms) / 1000)


def show_progress(stop: threading.Event, duration_s: float) -> None:
    """Log how far the recording is, every few seconds, until ``stop`` is set."""
    started = time.monotonic()
    while not stop.wait(PROGRESS_EVERY_S):
        log.info("recording: %.0f of %.0f s", time.monotonic() - started, duration_s)
