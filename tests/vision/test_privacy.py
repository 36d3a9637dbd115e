"""After the camera scenario (members and strangers filmed, replayed through the pipeline),
nothing derived from the strangers is anywhere: not in the data directory (gallery, consent,
outbox), not in the events, not in the logs, not on standard error (the worker's included).
The edge's camera path publishes nothing to MQTT itself: the events checked here are exactly
what the outbox and the MQTT publisher would carry."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from edge.config.vision import GALLERY_KEY_ENV
from edge.vision.backends import analyse, create_backend
from edge.vision.gallery import open_gallery
from edge.vision.sources import VideoFileSource
from tests.vision.conftest import LFW_MEMBERS, LFW_UNKNOWN, CameraScenario, lfw_photos


def unknown_embeddings(scenario: CameraScenario) -> list[np.ndarray[Any, Any]]:
    """The strangers' embeddings exactly as the worker computed them (same code, same frames;
    every other frame is enough to show they were seen and embedded)."""
    config = scenario.config
    camera = config.cameras[0]
    backend = create_backend(config.vision, detection_scale=camera.detection_scale)
    gallery = open_gallery(
        config.data_dir,
        config.vision,
        backend=backend.name,
        embedding_size=backend.embedding_size,
        metric=backend.metric,
        default_threshold=backend.default_threshold,
    )
    found: list[np.ndarray[Any, Any]] = []
    for frame in VideoFileSource.for_camera(camera):
        if frame.index % 2:
            continue
        for face in analyse(backend, frame.image, config.vision.gates):
            if face.embedding is not None and gallery.match(face.embedding).member_id is None:
                found.append(face.embedding)
    return found


def needles(embedding: np.ndarray[Any, Any]) -> list[bytes]:
    """Binary and text forms an embedding would take if it were written anywhere."""
    forms = [
        embedding.astype("<f4").tobytes()[:16],
        embedding.astype(">f4").tobytes()[:16],
        embedding.astype("<f8").tobytes()[:32],
    ]
    for value in embedding[:3]:
        forms += [repr(float(value)).encode(), str(np.float32(value)).encode()]
        forms.append(f"{float(value):.6f}".encode())
    return forms


def haystacks(scenario: CameraScenario) -> dict[str, bytes]:
    found = {
        str(path): path.read_bytes()
        for path in sorted(scenario.config.data_dir.rglob("*"))
        if path.is_file()
    }
    found["logs"] = scenario.log_text.encode()
    found["stderr"] = scenario.stderr_text.encode()
    found["events"] = "\n".join(e.to_json() for e in scenario.events).encode()
    return found


def test_nothing_derived_from_unknown_people_is_kept(
    camera_scenario: CameraScenario, faces_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(GALLERY_KEY_ENV, camera_scenario.gallery_key)
    strangers = unknown_embeddings(camera_scenario)
    assert len(strangers) >= 10, "the strangers must have been seen and embedded"

    searched = haystacks(camera_scenario)
    assert set(searched) >= {str(camera_scenario.outbox), "logs", "stderr", "events"}
    names: list[bytes] = []
    for identity in LFW_UNKNOWN:
        names += [identity.encode(), identity.replace("_", " ").encode()]
        for photo in lfw_photos(faces_dir, identity):
            names += [photo.name.encode(), str(photo).encode()]
    for where, text in searched.items():
        for needle in names:
            assert needle not in text, f"{needle!r} found in {where}"
        for embedding in strangers:
            for needle in needles(embedding):
                assert needle not in text, f"a stranger's embedding ({needle!r}) is in {where}"
        assert b"track" not in text.lower(), f"a track is mentioned in {where}"
    # The search finds an embedding written the careless ways: raw, as JSON, printed by numpy.
    first = strangers[0]
    raw = io.BytesIO()
    np.save(raw, first)
    for leak in (raw.getvalue(), json.dumps(first.tolist()).encode(), str(first).encode()):
        assert any(needle in leak for needle in needles(first)), leak[:80]


def test_the_data_directory_holds_members_only(
    camera_scenario: CameraScenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(GALLERY_KEY_ENV, camera_scenario.gallery_key)
    config = camera_scenario.config
    data_dir = config.data_dir
    # The gallery and consents (with their empty lock files), and the outbox of events for HQ
    # (nothing else, no images).
    assert sorted(str(p.relative_to(data_dir)) for p in data_dir.rglob("*")) == [
        "consent.json",
        "consent.json.lock",
        "gallery.o2og",
        "gallery.o2og.lock",
        "sync",
        "sync/outbox.db",
    ]
    assert [p.stat().st_size for p in data_dir.glob("*.lock")] == [0, 0]
    gallery = open_gallery(
        data_dir,
        config.vision,
        backend="face_recognition",
        embedding_size=128,
        metric="euclidean",
        default_threshold=0.5,
    )
    assert gallery.members() == sorted(LFW_MEMBERS)
    # One mean template per member's enrolment, nothing more.
    assert gallery.embedding_count == len(LFW_MEMBERS)
    seen = {e.payload.member_id for e in camera_scenario.events if e.type == "member.seen"}
    assert seen == set(LFW_MEMBERS)
