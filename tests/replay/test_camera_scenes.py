"""Camera streams of simulated captures: the committed capture holds RFID/POS and a scene; the
videos are built from the shared photographs at test time and replay through the real
recognition worker, with members enrolled (and consenting) here, in the test."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from edge.app.replay import replay_to_file
from edge.clock import VirtualClock
from edge.config import load_store_config
from edge.config.store import StoreConfig
from edge.config.vision import GALLERY_KEY_ENV
from edge.events.base import parse_event
from edge.replay.camera_scenes import (
    SCENE_FILE,
    CameraAppearance,
    CameraScene,
    build_camera_capture,
    load_scene,
    person_photos,
)
from edge.replay.capture import CameraSource, Capture
from edge.replay.replayer import ReplayStats
from edge.replay.scenarios import SHIPPED, get_scenario
from edge.replay.simulator import simulate
from edge.vision.enrolment import FaceService, PhotoInput
from edge.vision.gallery_file import generate_key
from tests.conftest import REPO_ROOT

CAMERAS_STORE = REPO_ROOT / "firmware_configs" / "demo_store_cameras.yaml"
SHIPPED_DIR = REPO_ROOT / "tests" / "hil" / "member_tryon_camera"
MEMBER = "m-1001"


def test_a_scene_round_trips_through_its_json(tmp_path: Path) -> None:
    scene = CameraScene(
        (
            CameraAppearance("cam-a", 1.5, 4, "Person_One", "m-1", photo=1),
            CameraAppearance("cam-b", 9, 2, "Person_Two", None, start_at=(0.1, 0.2)),
        ),
        fps=4.0,
    )
    (tmp_path / SCENE_FILE).write_text(json.dumps(scene.to_dict()))
    assert load_scene(tmp_path) == scene
    assert scene.cameras == ["cam-a", "cam-b"] and scene.members == {"m-1": "Person_One"}
    assert load_scene(tmp_path / "nowhere") is None


def test_only_camera_scenarios_ship_a_scene_and_none_ships_a_video(tmp_path: Path) -> None:
    demo = load_store_config(REPO_ROOT / "firmware_configs" / "demo_store.yaml")
    simulate(get_scenario("member_tryon_camera"), demo, tmp_path / "camera", seed=1)
    simulate(get_scenario("sold_then_carried_out"), demo, tmp_path / "plain", seed=1)
    assert load_scene(tmp_path / "camera") == CameraScene(
        get_scenario("member_tryon_camera").cameras
    )
    assert not (tmp_path / "plain" / SCENE_FILE).exists()
    # Videos of the shared photographs are never committed (licence): only scenes are.
    hil = REPO_ROOT / "tests" / "hil"
    assert not [p for p in hil.rglob("*") if p.suffix in (".mp4", ".avi", ".mkv", ".jpg")]
    assert "member_tryon_camera" in SHIPPED and (SHIPPED_DIR / SCENE_FILE).is_file()


def test_the_camera_store_is_the_demo_store_plus_two_cameras() -> None:
    demo = load_store_config(REPO_ROOT / "firmware_configs" / "demo_store.yaml")
    cameras = load_store_config(CAMERAS_STORE)
    assert [(c.id, c.zone, c.detection_scale) for c in cameras.cameras] == [
        ("cam-entrance", "entrance", 0.75),
        ("cam-fitting-1", "fitting-1", 0.75),
    ]
    assert cameras.model_copy(update={"cameras": []}) == demo
    scene = load_scene(SHIPPED_DIR)
    assert scene is not None and set(scene.cameras) <= {c.id for c in cameras.cameras}


def _enrol(config: StoreConfig, scene: CameraScene, faces_dir: Path, start_ms: int) -> None:
    """Enrol each member of the scene (with consent) from the photographs not filmed, and
    list them in the member directory as consenting to personalised service."""
    service = FaceService.from_config(config, VirtualClock(start_ms))
    filmed = {(a.person, a.photo) for a in scene.appearances}
    for member_id, person in scene.members.items():
        photos = [
            photo
            for number, photo in enumerate(person_photos(faces_dir, person))
            if (person, number) not in filmed
        ]
        inputs = [PhotoInput(photo.name, photo.read_bytes) for photo in photos]
        report = service.enroll(member_id, inputs, consent_reference=f"form-{member_id}")
        assert report.photos_used >= 2 and report.added == 1, report
    members = [
        {"member_id": m, "first_name": p.split("_")[0], "tier": "gold", "consent": True}
        for m, p in scene.members.items()
    ]
    (config.data_dir / "members.json").write_text(json.dumps({"version": "t", "members": members}))


def _replay_camera_scene(
    faces_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    edit: Callable[[Capture], None] = lambda _capture: None,
) -> tuple[CameraScene, Capture, ReplayStats, list[dict[str, Any]]]:
    """Build the shipped scene's videos, enrol its members, let ``edit`` change the capture,
    replay it; returns the events as JSON objects."""
    scene = load_scene(SHIPPED_DIR)
    assert scene is not None
    for appearance in scene.appearances:
        if not (faces_dir / "lfw" / appearance.person).is_dir():
            pytest.skip(f"{faces_dir / 'lfw' / appearance.person} is absent")
    monkeypatch.setenv(GALLERY_KEY_ENV, generate_key())  # the spawned workers inherit it
    capture = build_camera_capture(SHIPPED_DIR, faces_dir, tmp_path / "capture")
    assert [s.camera for s in capture.sources if isinstance(s, CameraSource)] == scene.cameras
    edit(capture)
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    config = load_store_config(CAMERAS_STORE).model_copy(update={"data_dir": data_dir})
    _enrol(config, scene, faces_dir, capture.start_ms)

    stats = replay_to_file(tmp_path / "capture", config, tmp_path / "events.jsonl")
    lines = (tmp_path / "events.jsonl").read_text().splitlines()
    return scene, capture, stats, [parse_event(line).model_dump(mode="json") for line in lines]


def _of(events: list[dict[str, Any]], kind: str, *keys: str) -> list[tuple[Any, ...]]:
    return [tuple(e["payload"][k] for k in keys) for e in events if e["type"] == kind]


@pytest.mark.network
def test_a_member_seen_by_the_cameras_tries_on_and_buys(
    faces_dir: Path,
    mqtt_broker: tuple[str, int],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    scene, capture, stats, events = _replay_camera_scene(faces_dir, tmp_path, monkeypatch)

    assert stats.camera_frames == round(2 * scene.fps * capture.manifest.duration_s)
    assert stats.camera_frames_missing == 0

    seen = _of(events, "member.seen", "zone", "member_id")
    assert seen == [("entrance", MEMBER), ("fitting-1", MEMBER)]  # the stranger: nothing
    assert _of(events, "visit.started", "member_id") == [(MEMBER,)]
    assert _of(events, "tag.departed", "via_exit") == [(True,)]  # the sweater, carried out ...
    assert _of(events, "alert.raised", "kind") == [("member_arrived",)]  # ... paid: no exit_unsold
    assert set(_of(events, "tryon.started", "member_id")) == {(MEMBER,)}
    outcomes = sorted(_of(events, "tryon.outcome", "outcome", "member_id"))
    assert outcomes == [("purchased", MEMBER), ("returned_to_floor", MEMBER)]
    assert _of(events, "sale", "member_id") == [(MEMBER,)]


GAP_S = (50, 95)
"""The entrance camera delivers no frame from 50 s to 95 s of the capture (after both faces)."""


@pytest.mark.network
def test_a_camera_that_drops_and_returns_raises_then_resolves_camera_offline(
    faces_dir: Path,
    mqtt_broker: tuple[str, int],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def drop_frames(capture: Capture) -> None:
        source = next(s for s in capture.sources if isinstance(s, CameraSource))
        assert source.camera == "cam-entrance"
        stamps = capture.path(source.timestamps)
        start_s = capture.start_ms / 1000
        kept = [
            line
            for line in stamps.read_text().splitlines()
            if not GAP_S[0] <= json.loads(line)["t"] - start_s < GAP_S[1]
        ]
        stamps.write_text("\n".join(kept) + "\n")

    _, capture, _, events = _replay_camera_scene(faces_dir, tmp_path, monkeypatch, drop_frames)

    raised = _of(events, "alert.raised", "kind", "subject")
    assert raised == [("member_arrived", MEMBER), ("camera_offline", "cam-entrance")]
    resolved = [e for e in events if e["type"] == "alert.resolved"]
    assert [(e["payload"]["kind"], e["payload"]["subject"]) for e in resolved] == [
        ("camera_offline", "cam-entrance")
    ]

    def at_s(event: dict[str, Any]) -> float:
        return (parse_event(event).ts_ms - capture.start_ms) / 1000

    # Offline since the last frame before the gap (as a live camera reports it), once
    # offline_after_s (30 s) had passed without one; back with the first frame after it.
    offline = next(e for e in events if e["payload"].get("kind") == "camera_offline")
    assert GAP_S[0] - 1 <= at_s(offline) < GAP_S[0]
    assert GAP_S[1] <= at_s(resolved[0]) < GAP_S[1] + 1
    # The member's story is unchanged by the outage.
    assert _of(events, "member.seen", "zone") == [("entrance",), ("fitting-1",)]
