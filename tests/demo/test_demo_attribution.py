"""The demo's narrated opening scenes replay, through the edge as ``o2o-edge replay`` builds it,
to exactly the attributions the narration states (issue 18, item 1). Narration and expected
attribution both come from ``edge.app.demo_store.DAY_OPENERS``; the events come from the
real pipeline (readers, tills and, with the shared photographs, the cameras' videos)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from edge.app.demo_store import (
    DAY_OPENERS,
    ENTRANCE_CAMERA,
    ROOM_CAMERAS,
    ROOM_NAMES,
    enrol_members,
    expected_member,
    member_name,
    narration,
    opening,
    opening_end_s,
    room_entries,
    store_day,
)
from edge.app.replay import replay_to_file
from edge.config.loader import load_store_config
from edge.config.store import StoreConfig
from edge.config.vision import GALLERY_KEY_ENV
from edge.config.zones import ZoneKind
from edge.replay.simulator import simulate
from tests.conftest import REPO_ROOT

FIRMWARE = REPO_ROOT / "firmware_configs"


def test_the_demo_knows_which_rooms_have_a_camera() -> None:
    config = load_store_config(FIRMWARE / "demo_store_cameras.yaml")
    cameras = {camera.id: camera.zone for camera in config.cameras}
    rooms = {zone.id for zone in config.zones if zone.kind is ZoneKind.FITTING_ROOM}
    assert {zone: camera for camera, zone in cameras.items() if zone in rooms} == ROOM_CAMERAS
    assert cameras[ENTRANCE_CAMERA] == "entrance"
    assert set(ROOM_NAMES) == rooms


@pytest.mark.parametrize("cameras", [True, False], ids=["cameras", "no-cameras"])
def test_the_narration_states_each_openers_attribution(cameras: bool) -> None:
    said = opening(cameras=cameras).description
    for opener in DAY_OPENERS:
        told = narration(opener, cameras)
        assert told in said
        member = expected_member(opener, cameras)
        if member is not None:
            assert f"recognises {member_name(member)}" in told and f"credited to {member}" in told
        elif opener.room is not None:
            assert "greets nobody" in told
    # The one member opener is greeted only where a camera can see her.
    assert [expected_member(o, cameras) for o in DAY_OPENERS if o.room] == (
        ["m-1001", None] if cameras else [None, None]
    )


def _replay_opening(
    tmp_path: Path, config: StoreConfig, *, cameras: bool, faces: Path | None
) -> tuple[dict[str, str], list[dict[str, Any]]]:
    """Simulate the openers (as the demo day plays them), replay them through the edge;
    returns label -> EPC and the events as JSON objects."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    config = config.model_copy(update={"data_dir": data_dir})
    capture_dir = tmp_path / "capture"
    story = simulate(opening(cameras=cameras), config, capture_dir, seed=0)
    if faces is not None:
        from edge.replay.camera_scenes import build_camera_capture
        from edge.replay.capture import Capture

        built = build_camera_capture(capture_dir, faces, tmp_path / "camera-capture")
        capture_dir = tmp_path / "camera-capture"
        enrol_members(config, faces, Capture.open(capture_dir).start_ms)
        assert built.start_ms == story.start_ms
    out = tmp_path / "events.jsonl"
    replay_to_file(capture_dir, config, out)
    events = [json.loads(line) for line in out.read_text().splitlines()]
    return {item.label: item.epc for item in story.items}, events


def _check_attributions(
    epcs: dict[str, str], events: list[dict[str, Any]], *, cameras: bool
) -> None:
    for opener in (o for o in DAY_OPENERS if o.room is not None):
        member = expected_member(opener, cameras)
        tried = {epcs[item.label] for item in opener.tried_on()}
        assert tried
        tryons = [
            (e["type"], e["payload"]["epc"], e["payload"]["member_id"], e["payload"]["zone"])
            for e in events
            if e["type"] in ("tryon.started", "tryon.ended") and e["payload"]["epc"] in tried
        ]
        # Each item tried on once, in the narrated room, credited to the narrated shopper
        # from its first event to its last.
        assert sorted(tryons) == sorted(
            (kind, epc, member, opener.room)
            for epc in tried
            for kind in ("tryon.started", "tryon.ended")
        ), tryons
        sessions = {
            e["payload"]["session_id"]
            for e in events
            if e["type"] == "tryon.started" and e["payload"]["epc"] in tried
        }
        assert len(sessions) == 1
        # The room's tablet, for that session, greets the narrated shopper or nobody, and
        # lists only the scene's items.
        tablet = [
            e["payload"]
            for e in events
            if e["type"] == "recommendation" and e["payload"]["session_id"] in sessions
        ]
        assert tablet and {t["member_id"] for t in tablet} <= {member, None}
        if member is not None:
            assert tablet[-1]["member_id"] == member
        gtins = {_gtin(events, epc) for epc in tried}
        assert all(set(t["items"]) <= gtins for t in tablet)
    # Nothing in the opening is credited to a member the narration does not name.
    named = {expected_member(o, cameras) for o in DAY_OPENERS} - {None}
    credited = {e["payload"]["member_id"] for e in events if e["type"].startswith("tryon.")} - {
        None
    }
    assert credited == named


def _gtin(events: list[dict[str, Any]], epc: str) -> str:
    return next(
        e["payload"]["gtin"]
        for e in events
        if e["type"] == "tryon.started" and e["payload"]["epc"] == epc
    )


@pytest.mark.network
def test_the_opening_replays_to_the_narrated_attributions_without_cameras(
    tmp_path: Path, mqtt_broker: tuple[str, int]
) -> None:
    config = load_store_config(FIRMWARE / "demo_store.yaml")
    epcs, events = _replay_opening(tmp_path, config, cameras=False, faces=None)
    _check_attributions(epcs, events, cameras=False)


@pytest.mark.network
def test_the_opening_replays_to_the_narrated_attributions_with_cameras(
    faces_dir: Path,
    tmp_path: Path,
    mqtt_broker: tuple[str, int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from edge.vision.gallery_file import generate_key

    monkeypatch.setenv(GALLERY_KEY_ENV, generate_key())  # the recognition workers inherit it
    config = load_store_config(FIRMWARE / "demo_store_cameras.yaml")
    epcs, events = _replay_opening(tmp_path, config, cameras=True, faces=faces_dir)
    seen = [
        (e["payload"]["zone"], e["payload"]["member_id"])
        for e in events
        if e["type"] == "member.seen"
    ]
    assert seen == [("entrance", "m-1001"), ("fitting-1", "m-1001")]
    _check_attributions(epcs, events, cameras=True)


def test_the_demo_day_has_one_shopper_per_room_at_a_time() -> None:
    """The whole day, openers included: whatever is in a fitting room at any moment came in
    together (one shopper's armful), so each tablet shows one shopper's items."""
    from tests.replay.test_busy import _room_arrivals_at

    day = store_day(600, cameras=True)
    for room in ROOM_NAMES:
        for t_s in range(0, 600, 5):
            arrivals = _room_arrivals_at(day.items, room, t_s)
            assert not arrivals or max(arrivals) - min(arrivals) <= 5, (room, t_s, arrivals)
    # The openers' rooms are theirs until they left: no busy shopper, no other member filmed.
    for opener in (o for o in DAY_OPENERS if o.room is not None):
        mine = {item.label for item in opener.tried_on()}
        for t_s in range(0, round(opening_end_s())):
            others = [
                item for item in day.items if item.label not in mine and _in(item, opener.room, t_s)
            ]
            assert not others, (opener.room, t_s, others[0].label)
    filmed_in_rooms = [
        (a.at_s, a.member_id) for a in day.cameras if a.camera in ROOM_CAMERAS.values()
    ]
    assert [m for at, m in filmed_in_rooms if at < opening_end_s()] == ["m-1001"]
    # Every other member filmed in a room steps in with a shopper's items: theirs.
    later = [at for at, _member in filmed_in_rooms if at >= opening_end_s()]
    assert later
    entries = room_entries(day, "fitting-1", opening_end_s())
    assert all(any(0 < entry - at <= 5 for entry in entries) for at in later)


def _in(item: Any, room: str | None, t_s: float) -> bool:
    zone = None
    for stay in item.stays:
        if stay.at_s <= t_s:
            zone = stay.zone
    return zone == room
