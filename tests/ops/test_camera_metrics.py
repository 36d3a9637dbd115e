"""Frames and recognition latency per camera in ``/metrics``: a real recognition worker
answering for a real photograph, the way a replayed camera feeds it (``CameraRunner.step``)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from prometheus_client.parser import text_string_to_metric_families

from edge.app.compose import EdgeOptions, build_edge
from edge.clock import VirtualClock
from edge.vision.frames import Frame
from tests.vision.conftest import LFW_UNKNOWN, gallery_key, lfw_photos, store_config

__all__ = ["gallery_key"]  # the fixture, shared with tests/vision

START_MS = 1_767_225_600_000


def test_frames_and_recognition_latency_per_camera(
    tmp_path: Path, faces_dir: Path, gallery_key: str, store_id: str
) -> None:
    config = store_config(tmp_path, detection_scale=0.75).model_copy(update={"store_id": store_id})
    edge = build_edge(
        config, EdgeOptions(clock=VirtualClock(START_MS), publish_events=False, live_cameras=False)
    )
    assembly, metrics = edge.runtime, edge.metrics
    photo = cv2.imread(str(lfw_photos(faces_dir, LFW_UNKNOWN[0])[0]))
    assert photo is not None
    image = np.full((480, 640, 3), 120, np.uint8)
    image[100:350, 200:450] = photo
    worker = assembly.workers["cam-door"]
    worker.start()
    try:
        for index in range(2):
            assembly.cameras["cam-door"].step(Frame("cam-door", index, START_MS + index, image))
    finally:
        worker.stop()

    body, content_type = metrics.render()
    assert content_type.startswith("text/plain")
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(body.decode())
        for sample in family.samples
    }
    camera = (("camera", "cam-door"),)
    assert samples[("o2o_camera_frames_processed_total", camera)] == 2
    assert samples[("o2o_camera_frames_dropped_total", camera)] == 0
    assert samples[("o2o_recognition_latency_seconds_count", camera)] == 2
    assert samples[("o2o_recognition_latency_seconds_sum", camera)] > 0
    assert samples[("o2o_recognition_latency_seconds_bucket", (*camera, ("le", "+Inf")))] == 2
    assert samples[("o2o_recognition_worker_restarts_total", camera)] == 0
    # Reader and MQTT families are there even for a store without readers.
    assert samples[("o2o_mqtt_connected", ())] == 0
