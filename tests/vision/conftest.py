"""Vision fixtures: LFW identities from the shared photographs, a store with one camera, and a
camera recording built from photographs and replayed once per session through the pipeline."""

from __future__ import annotations

import contextlib
import logging
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cloud_sync.client.service import OUTBOX_FILE
from edge.app.replay import ReplaySetup, replay_edge
from edge.clock import VirtualClock
from edge.config.loader import parse_store_config
from edge.config.store import StoreConfig
from edge.config.vision import GALLERY_KEY_ENV
from edge.events.base import Event
from edge.replay.capture import MANIFEST, CameraSource, Capture, Manifest
from edge.vision.enrolment import FaceService, PhotoInput
from edge.vision.gallery_file import generate_key
from edge.vision.video_builder import (
    Appearance,
    Point,
    VideoScript,
    build_video,
    indexed_face_box,
)
from edge.vision.worker import WorkerStats

# Enrolled from their first two LFW photographs, filmed from the third. Faces are filmed about
# 140 px high: the HOG detector (80 px window) at detection scale 0.75 finds faces from 107 px.
LFW_MEMBERS = {"m-1001": "Abdoulaye_Wade", "m-1002": "Adel_Al-Jubeir", "m-1003": "Ali_Naimi"}
# Never enrolled: they must leave nothing behind but a count.
LFW_UNKNOWN = ("Adrien_Brody", "Anne_McLellan")

MINUTE_0_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z
VIDEO_START_S = MINUTE_0_MS / 1000 + 56  # the recording crosses a minute boundary at 4 s


def lfw_photos(faces_dir: Path, identity: str) -> list[Path]:
    photos = sorted((faces_dir / "lfw" / identity).glob("*.jpg"))
    if len(photos) < 3:
        pytest.skip(f"{faces_dir / 'lfw' / identity}: expected at least 3 photographs")
    return photos


def store_config(data_dir: Path, **camera: object) -> StoreConfig:
    return parse_store_config(
        {
            "store_id": "s-vision",
            "data_dir": str(data_dir),
            "zones": [{"id": "entrance", "kind": "entrance"}],
            "cameras": [{"id": "cam-door", "zone": "entrance", "source": 0, **camera}],
        }
    )


def enrol_members(config: StoreConfig, faces_dir: Path) -> None:
    service = FaceService.from_config(config, VirtualClock(MINUTE_0_MS))
    for member_id, identity in LFW_MEMBERS.items():
        photos = lfw_photos(faces_dir, identity)[:2]
        inputs = [PhotoInput(p.name, p.read_bytes) for p in photos]
        report = service.enroll(member_id, inputs, consent_reference=f"form-{member_id}")
        assert (report.photos_used, report.added) == (2, 1), report


@pytest.fixture
def gallery_key(monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh gallery key in the environment (spawned workers inherit it)."""
    key = generate_key()
    monkeypatch.setenv(GALLERY_KEY_ENV, key)
    return key


def scenario_script(faces_dir: Path) -> VideoScript:
    """Members and strangers crossing the entrance, two seconds each, some at the same time."""
    a, b, c = (lfw_photos(faces_dir, name)[2] for name in LFW_MEMBERS.values())
    u1, u2 = (lfw_photos(faces_dir, name)[0] for name in LFW_UNKNOWN)

    def walk(photo: Path, start_s: float, start_at: Point, end_at: Point) -> Appearance:
        box = indexed_face_box(faces_dir, photo)
        return Appearance(photo, start_s, 2.0, start_at, end_at, 280, box, margin=0.5)

    return VideoScript(
        (
            walk(a, 0.0, (0.22, 0.3), (0.3, 0.32)),
            walk(u1, 0.4, (0.78, 0.7), (0.7, 0.68)),
            walk(b, 4.4, (0.78, 0.3), (0.7, 0.32)),  # the minute changes at 4 s
            walk(u2, 4.8, (0.22, 0.7), (0.3, 0.68)),
            walk(c, 8.4, (0.35, 0.5), (0.65, 0.5)),  # after the stranger's track ended
        ),
        duration_s=10.6,
        fps=5.0,
        start_epoch_s=VIDEO_START_S,
    )


@contextlib.contextmanager
def stderr_to(path: Path) -> Iterator[None]:
    """Send file descriptor 2 to ``path``: what spawned workers print goes there too."""
    saved = os.dup(2)
    with path.open("wb") as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


@dataclass
class CameraScenario:
    config: StoreConfig
    gallery_key: str
    video: Path
    timestamps: Path
    events: list[Event]
    """Every event the edge emitted, in order."""
    outbox: Path
    """The edge's real outbox (SQLite): what it would send to headquarters."""
    log_text: str
    """Every log record of the run (DEBUG and up), main process."""
    stderr_text: str
    """Everything written to standard error meanwhile, the worker process included."""
    worker_stats: WorkerStats
    frames: int


class _Collect:
    """An event sink keeping what the edge emits."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def emit(self, event: Event) -> None:
        self.events.append(event)

    def close(self) -> None:
        pass


@pytest.fixture(scope="session")
def camera_scenario(
    faces_dir: Path, tmp_path_factory: pytest.TempPathFactory, mqtt_broker: tuple[str, int]
) -> Iterator[CameraScenario]:
    """Enrol three members, film them and two strangers, and replay the film through the
    edge as the composition root builds it (outbox, MQTT and all)."""
    root = tmp_path_factory.mktemp("camera-scenario")
    data_dir, capture_dir = root / "data", root / "capture"
    data_dir.mkdir()
    capture_dir.mkdir()
    source = CameraSource(
        id="cam-door", camera="cam-door", video="cam-door.mp4", timestamps="cam-door.frames.jsonl"
    )
    video, stamps = capture_dir / source.video, capture_dir / source.timestamps
    script = scenario_script(faces_dir)
    frames = build_video(script, video, stamps)
    key = generate_key()
    records: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(self.format(record))

    handler = Collect(logging.DEBUG)
    root_logger = logging.getLogger()
    level = root_logger.level
    root_logger.addHandler(handler)
    root_logger.setLevel(logging.DEBUG)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(GALLERY_KEY_ENV, key)
        config = store_config(
            data_dir, source=str(video), timestamps=str(stamps), detection_scale=0.75
        ).model_copy(update={"store_id": f"s-vision-{uuid.uuid4().hex[:8]}"})
        manifest = Manifest(
            format="o2o-capture/1",
            store_id=config.store_id,
            start=datetime.fromtimestamp(script.start_epoch_s, UTC),
            duration_s=script.duration_s,
            description="members and strangers at the entrance",
            sources=[source],
        )
        (capture_dir / MANIFEST).write_text(manifest.to_yaml(), encoding="utf-8")
        enrol_members(config, faces_dir)
        collect = _Collect()
        setup = ReplaySetup(sync=True)  # the real outbox (sync to HQ off: events stay there)
        try:
            capture = Capture.open(capture_dir)
            with (
                stderr_to(root / "stderr.txt"),
                replay_edge(capture, config, [collect], setup) as (edge, replayer),
            ):
                replayer.play(edge.runtime)
                stats = edge.runtime.workers["cam-door"].stats
        finally:
            root_logger.removeHandler(handler)
            root_logger.setLevel(level)
    yield CameraScenario(
        config=config,
        gallery_key=key,
        video=video,
        timestamps=stamps,
        events=collect.events,
        outbox=data_dir / OUTBOX_FILE,
        log_text="\n".join(records),
        stderr_text=(root / "stderr.txt").read_text(errors="replace"),
        worker_stats=stats,
        frames=frames,
    )


# --- Single photographs: backends, enrolment and identification tests --------------------

# Every 4th LFW identity (sorted by name): the first 15 are enrolled from their first photo
# and identified from their next two; the other 10 are strangers who must stay unknown.
SAMPLE_EVERY = 4
SAMPLE_ENROLLED = 15
SAMPLE_STRANGERS = 10
SAMPLE_PROBES = 2


@dataclass(frozen=True)
class LfwSample:
    enrolled: dict[str, object]
    """identity -> (1, 128) embedding of its first photo."""
    probes: list[tuple[str, object]]
    """(identity, embedding) of the next photos of enrolled identities."""
    strangers: list[tuple[str, object]]
    """(identity, embedding) of the first photo of identities never enrolled."""


@pytest.fixture(scope="session")
def photo_backend() -> object:
    """The default backend set up for photographs, loaded once per session."""
    from edge.config.vision import VisionConfig
    from edge.vision.backends import create_backend

    return create_backend(VisionConfig(), for_photos=True)


@pytest.fixture(scope="session")
def lfw_sample(faces_dir: Path, photo_backend: object) -> LfwSample:
    """Embeddings of the sampled photos, computed once and kept in memory only."""
    from edge.config.vision import QualityGates
    from edge.vision.backends import analyse, decode_image

    def embed(photo: Path) -> object:
        image = decode_image(photo.read_bytes())
        assert image is not None, photo
        faces = analyse(photo_backend, image, QualityGates())  # type: ignore[arg-type]
        assert len(faces) == 1 and faces[0].embedding is not None, (photo, faces)
        return faces[0].embedding

    identities = sorted(p.name for p in (faces_dir / "lfw").iterdir() if p.is_dir())
    sampled = [i for i in identities[::SAMPLE_EVERY] if len(lfw_photos(faces_dir, i)) >= 3]
    members = sampled[:SAMPLE_ENROLLED]
    strangers = sampled[SAMPLE_ENROLLED : SAMPLE_ENROLLED + SAMPLE_STRANGERS]
    assert len(strangers) == SAMPLE_STRANGERS, "the shared LFW subset has fewer identities"
    enrolled = {i: embed(lfw_photos(faces_dir, i)[0]) for i in members}
    probes = [
        (i, embed(photo))
        for i in members
        for photo in lfw_photos(faces_dir, i)[1 : 1 + SAMPLE_PROBES]
    ]
    return LfwSample(enrolled, probes, [(i, embed(lfw_photos(faces_dir, i)[0])) for i in strangers])
