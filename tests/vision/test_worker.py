"""The recognition worker process: answers with matches only, follows gallery changes, and is
restarted when it dies or goes silent."""

from __future__ import annotations

import dataclasses
import os
import signal
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from edge.clock import VirtualClock
from edge.config.store import StoreConfig
from edge.config.vision import GALLERY_KEY_ENV
from edge.vision.enrolment import FaceService, PhotoInput
from edge.vision.face_tracker import FaceMatch
from edge.vision.worker import RecognitionError, RecognitionWorker, worker_count
from tests.vision.conftest import LFW_MEMBERS, lfw_photos, store_config

MEMBER_ID, IDENTITY = next(iter(LFW_MEMBERS.items()))


@pytest.fixture
def config(tmp_data_dir: Path, gallery_key: str) -> StoreConfig:
    return store_config(tmp_data_dir, detection_scale=0.75)


@pytest.fixture
def frame(faces_dir: Path) -> np.ndarray[Any, Any]:
    """A 640x480 frame holding the member's (unenrolled) third photograph."""
    photo = cv2.imread(str(lfw_photos(faces_dir, IDENTITY)[2]))
    assert photo is not None
    image = np.full((480, 640, 3), 120, np.uint8)
    image[100:350, 200:450] = photo
    return image


def enrol(config: StoreConfig, faces_dir: Path) -> None:
    service = FaceService.from_config(config, VirtualClock(0))
    photos = [PhotoInput(p.name, p.read_bytes) for p in lfw_photos(faces_dir, IDENTITY)[:2]]
    assert service.enroll(MEMBER_ID, photos, consent_reference="form-1").photos_used == 2


def start(config: StoreConfig) -> RecognitionWorker:
    worker = RecognitionWorker.for_camera(config, config.cameras[0])
    worker.start()
    return worker


def only_member(matches: list[FaceMatch]) -> str | None:
    assert len(matches) == 1
    return matches[0].member_id


def test_answers_carry_no_embedding_and_no_pixels() -> None:
    assert [f.name for f in dataclasses.fields(FaceMatch)] == [
        "box",
        "det_score",
        "member_id",
        "distance",
        "margin",
        "rejected",
    ]


def test_a_killed_worker_is_restarted_and_the_frame_answered(
    config: StoreConfig, faces_dir: Path, frame: np.ndarray[Any, Any]
) -> None:
    enrol(config, faces_dir)
    worker = start(config)
    try:
        first = worker.recognise(frame)
        assert only_member(first) == MEMBER_ID
        assert first[0].distance is not None and first[0].distance < 0.5
        old_pid = worker.pid
        assert old_pid is not None and old_pid != os.getpid()

        os.kill(old_pid, signal.SIGKILL)

        assert worker.recognise(frame) == first
        assert worker.pid != old_pid
        stats = worker.stats
        assert (stats.restarts, stats.failures, stats.frames) == (1, 1, 2)
    finally:
        worker.stop()
    assert worker.pid is None


def test_a_silent_worker_is_restarted(
    tmp_data_dir: Path, gallery_key: str, frame: np.ndarray[Any, Any]
) -> None:
    worker = start(store_config(tmp_data_dir, detection_scale=0.75, reply_timeout_s=1.0))
    try:
        pid = worker.pid
        assert pid is not None
        os.kill(pid, signal.SIGSTOP)  # alive but never answers, like a hung native call

        assert only_member(worker.recognise(frame)) is None  # empty gallery: nobody

        assert worker.stats.restarts == 1 and worker.pid != pid
    finally:
        worker.stop()


def test_the_worker_follows_gallery_changes(
    config: StoreConfig, faces_dir: Path, frame: np.ndarray[Any, Any]
) -> None:
    worker = start(config)
    try:
        assert only_member(worker.recognise(frame)) is None
        enrol(config, faces_dir)  # another process (the enrolment CLI) rewrites the gallery
        assert only_member(worker.recognise(frame)) == MEMBER_ID
        FaceService.from_config(config, VirtualClock(0)).forget(MEMBER_ID)
        assert only_member(worker.recognise(frame)) is None
        assert worker.stats.restarts == 0
    finally:
        worker.stop()


def test_a_worker_that_cannot_load_says_why(
    config: StoreConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(GALLERY_KEY_ENV)
    worker = RecognitionWorker.for_camera(config, config.cameras[0])
    with pytest.raises(RecognitionError, match="cannot load: GalleryKeyError: no gallery key"):
        worker.start()
    with pytest.raises(RecognitionError, match="is not running"):
        worker.recognise(np.zeros((8, 8, 3), np.uint8))


@pytest.mark.parametrize(
    ("cameras", "cpus", "workers"),
    [(1, 1, 1), (1, 4, 1), (3, 2, 1), (3, 4, 3), (8, 4, 3)],
)
def test_one_worker_per_camera_while_cores_allow(cameras: int, cpus: int, workers: int) -> None:
    assert worker_count(cameras, cpus) == workers
