"""A camera recording made from real photographs, replayed through the edge (recorded frames
-> recognition worker -> face tracker -> store -> events), gives exactly the expected
member.seen and zone.visitors events; the same camera run live reports members as they pass."""

from __future__ import annotations

import queue
import time

import pytest

from edge.config.vision import GALLERY_KEY_ENV
from edge.events.base import datetime_to_ms
from edge.events.vision import MemberSeen, ZoneVisitors
from edge.vision.camera import CameraRunner
from edge.vision.face_tracker import MemberSeenObservation, Observation
from edge.vision.frames import CameraStatus
from edge.vision.worker import RecognitionWorker
from tests.vision.conftest import LFW_MEMBERS, MINUTE_0_MS, VIDEO_START_S, CameraScenario


def test_replay_gives_exactly_the_expected_events(camera_scenario: CameraScenario) -> None:
    events = camera_scenario.events
    seen = [e for e in events if isinstance(e, MemberSeen)]
    counts = [e for e in events if isinstance(e, ZoneVisitors)]

    assert camera_scenario.frames == 53
    assert [e.payload.member_id for e in seen] == list(LFW_MEMBERS)
    # Minute 0 (until 4 s into the video): one member and one stranger; then two and one.
    assert [
        (datetime_to_ms(e.payload.minute_start), e.payload.visitors, e.payload.members)
        for e in counts
    ] == [(MINUTE_0_MS, 2, 1), (MINUTE_0_MS + 60_000, 3, 2)]
    assert [e.type for e in events if e.type in ("member.seen", "zone.visitors")] == [
        "member.seen",
        "member.seen",
        "zone.visitors",
        "member.seen",
        "zone.visitors",
    ]
    # The whole edge ran: each member recognised at the entrance opened a visit.
    visits = [e.payload.member_id for e in events if e.type == "visit.started"]
    assert visits == list(LFW_MEMBERS)
    starts_s = [0.0, 4.4, 8.4]  # when each member walks in (tests/vision/conftest.py)
    for event, start_s in zip(seen, starts_s, strict=True):
        payload = event.payload
        assert event.source == "camera:cam-door"
        assert (payload.camera_id, payload.zone) == ("cam-door", "entrance")
        assert datetime_to_ms(payload.first_seen) == round((VIDEO_START_S + start_s) * 1000)
        assert payload.votes == 3 and payload.confidence == 1.0 and payload.distance < 0.5
        assert event.ts == payload.last_seen
    assert camera_scenario.worker_stats.restarts == 0
    assert camera_scenario.worker_stats.frames == 53


def next_member_seen(
    observations: queue.Queue[Observation], timeout_s: float
) -> MemberSeenObservation:
    """The first member.seen (a minute of the wall clock may close before it)."""
    deadline = time.monotonic() + timeout_s
    while True:
        observation = observations.get(timeout=max(0.0, deadline - time.monotonic()))
        if isinstance(observation, MemberSeenObservation):
            return observation


def test_live_camera_reports_members_as_they_pass(
    camera_scenario: CameraScenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(GALLERY_KEY_ENV, camera_scenario.gallery_key)
    config = camera_scenario.config
    # The recording as a live source: played in a loop at the camera's frame rate.
    camera = config.cameras[0].model_copy(update={"target_fps": 5.0})
    observations: queue.Queue[Observation] = queue.Queue()
    statuses: list[CameraStatus] = []
    with RecognitionWorker.for_camera(config, camera) as worker:
        runner = CameraRunner(
            camera, worker, on_observation=observations.put, on_status=statuses.append
        )
        started = time.time()
        runner.start()
        try:
            first = next_member_seen(observations, timeout_s=90)
        finally:
            runner.stop()
    # Usually m-1001, who walks in first; on a busy machine dropped frames may hide someone.
    assert first.member_id in LFW_MEMBERS
    assert started * 1000 - 1000 <= first.first_seen_ms <= first.last_seen_ms <= time.time() * 1000
    assert statuses[0] == CameraStatus("cam-door", True, statuses[0].ts_ms, "")
    stats = runner.stats
    assert stats.frames_processed >= 3 and stats.frames_lost == 0
