"""Face tracker scenarios: votes, one member.seen per track, anonymous counts, expiry."""

from __future__ import annotations

from edge.config.cameras import FaceTrackingConfig
from edge.events.base import EventFactory, EventIdGenerator, parse_event
from edge.events.vision import MemberSeen, ZoneVisitors
from edge.vision.face_tracker import (
    Box,
    FaceMatch,
    FaceTracker,
    MemberSeenObservation,
    Observation,
    ZoneVisitorsObservation,
    centroid_shift,
    decide_member,
    iou,
)

T0 = 1_700_000_080_000  # 40 s into a minute
CONFIG = FaceTrackingConfig(min_votes=3, min_vote_fraction=0.6, max_distance=0.6)


def face(x: int, member: str | None, distance: float | None = 0.4, y: int = 100) -> FaceMatch:
    box: Box = (y, x + 80, y + 80, x)
    return FaceMatch(box, 0.99, member, distance, 0.2 if member else None)


def run(
    frames: list[tuple[int, list[FaceMatch]]], config: FaceTrackingConfig = CONFIG
) -> list[Observation]:
    tracker = FaceTracker("cam-1", "entrance", config)
    out: list[Observation] = []
    for ts_ms, faces in frames:
        out += tracker.update(ts_ms, faces)
    return out + tracker.finish()


def members(observations: list[Observation]) -> list[MemberSeenObservation]:
    return [o for o in observations if isinstance(o, MemberSeenObservation)]


def visitors(observations: list[Observation]) -> list[ZoneVisitorsObservation]:
    return [o for o in observations if isinstance(o, ZoneVisitorsObservation)]


def walk(member: str | None, start_ms: int, frames: int, x0: int = 0, step_px: int = 10,
         distance: float | None = 0.4) -> list[tuple[int, list[FaceMatch]]]:  # fmt: skip
    return [(start_ms + i * 100, [face(x0 + i * step_px, member, distance)]) for i in range(frames)]


def test_box_geometry() -> None:
    a: Box = (0, 100, 100, 0)
    assert iou(a, a) == 1.0
    assert iou(a, (0, 200, 100, 100)) == 0.0
    assert round(iou(a, (0, 150, 100, 50)), 3) == round(1 / 3, 3)
    assert centroid_shift(a, (0, 150, 100, 50)) == 0.5


def test_decision_needs_enough_agreeing_votes() -> None:
    from collections import Counter

    assert decide_member(Counter({"m1": 2}), 2, CONFIG) is None  # too few votes
    assert decide_member(Counter({"m1": 3}), 6, CONFIG) is None  # only half the frames agree
    assert decide_member(Counter({"m1": 3}), 5, CONFIG) == "m1"
    assert decide_member(Counter({"m2": 3, "m1": 3}), 6, CONFIG) is None  # split
    tie = FaceTrackingConfig(min_votes=2, min_vote_fraction=0.5)
    assert decide_member(Counter({"m2": 2, "m1": 2}), 4, tie) == "m1"  # deterministic tie-break


def test_one_member_seen_per_track_at_the_deciding_frame() -> None:
    out = run(walk("m1", T0, 20))
    seen = members(out)
    assert len(seen) == 1
    assert seen[0] == MemberSeenObservation(
        member_id="m1",
        camera_id="cam-1",
        zone="entrance",
        confidence=1.0,
        distance=0.4,
        votes=3,
        first_seen_ms=T0,
        last_seen_ms=T0 + 200,
    )
    assert visitors(out) == [ZoneVisitorsObservation("cam-1", "entrance", T0 - 40_000, 1, 1)]


def test_a_look_alike_frame_or_two_does_not_make_a_member() -> None:
    frames = walk(None, T0, 10)
    frames[3] = (frames[3][0], [face(30, "m9")])
    frames[6] = (frames[6][0], [face(60, "m9")])
    frames[8] = (frames[8][0], [face(80, "m9", distance=0.7)])  # above max_distance: no vote
    out = run(frames)
    assert members(out) == []
    assert visitors(out)[0].visitors == 1
    assert visitors(out)[0].members == 0


def test_unembedded_frames_do_not_vote_and_do_not_dilute() -> None:
    frames = walk("m1", T0, 3) + walk("m1", T0 + 300, 5, x0=30, distance=None)
    out = run(frames)
    assert [m.member_id for m in members(out)] == ["m1"]


def test_unknown_people_only_count() -> None:
    # Two strangers side by side, then one more later in the next minute.
    both = [
        (T0 + i * 100, [face(i * 5, None, 0.8), face(400 + i * 5, None, 0.9)]) for i in range(10)
    ]
    later = walk(None, T0 + 30_000, 5, distance=None)
    out = run(both + later)
    assert members(out) == []
    assert visitors(out) == [
        ZoneVisitorsObservation("cam-1", "entrance", T0 - 40_000, 2, 0),
        ZoneVisitorsObservation("cam-1", "entrance", T0 + 20_000, 1, 0),
    ]


def test_expired_track_starts_over_and_may_be_seen_again() -> None:
    first = walk("m1", T0, 5)
    second = walk("m1", T0 + 500 + CONFIG.expire_after_ms + 1, 5)
    seen = members(run(first + second))
    assert [m.member_id for m in seen] == ["m1", "m1"]
    assert seen[1].first_seen_ms == T0 + 500 + CONFIG.expire_after_ms + 1


def test_gap_shorter_than_expiry_keeps_the_track() -> None:
    first = walk("m1", T0, 5)
    second = walk("m1", T0 + 400 + CONFIG.expire_after_ms, 5, x0=50)
    assert len(members(run(first + second))) == 1


def test_fast_motion_falls_back_to_centroid_distance() -> None:
    # 60 px per frame with 80 px boxes: IoU 0.14 < min_iou, shift 0.75 face widths.
    out = run(walk("m1", T0, 6, step_px=60))
    assert len(members(out)) == 1
    assert visitors(out)[0].visitors == 1


def test_two_members_crossing_paths_keep_their_tracks() -> None:
    frames = [
        (T0 + i * 100, [face(i * 20, "m1", 0.3), face(600 - i * 20, "m2", 0.35, y=200)])
        for i in range(12)
    ]
    seen = members(run(frames))
    assert sorted(m.member_id for m in seen) == ["m1", "m2"]


def test_minutes_close_after_the_grace_period_and_late_frames_count_in_the_next() -> None:
    tracker = FaceTracker("cam-1", "entrance", CONFIG)
    minute = T0 - 40_000
    for ts_ms, faces in walk(None, T0, 3):
        assert tracker.update(ts_ms, faces) == []
    assert tracker.tick(minute + 60_000 + CONFIG.expire_after_ms - 1) == []
    closed = tracker.tick(minute + 60_000 + CONFIG.expire_after_ms)
    assert closed == [ZoneVisitorsObservation("cam-1", "entrance", minute, 1, 0)]
    assert tracker.active_tracks == 0
    # A frame captured in the closed minute (a slow worker) counts in the next one.
    for ts_ms, faces in walk(None, minute + 59_000, 2):
        tracker.update(ts_ms, faces)
    assert tracker.finish() == [ZoneVisitorsObservation("cam-1", "entrance", minute + 60_000, 1, 0)]


def test_single_frame_flukes_are_not_visitors() -> None:
    assert visitors(run(walk(None, T0, 1))) == []


def test_deterministic_events() -> None:
    frames = walk("m1", T0, 10) + walk(None, T0 + 5_000, 10, x0=300) + walk("m2", T0 + 70_000, 8)

    def events() -> list[str]:
        factory = EventFactory("s1", EventIdGenerator(seed=b"replay"))
        return [o.to_event(factory).to_json() for o in run(frames)]

    first = events()
    assert first == events()
    parsed = [parse_event(line) for line in first]
    assert [type(e) for e in parsed] == [MemberSeen, ZoneVisitors, MemberSeen, ZoneVisitors]
    assert parsed[0].source == "camera:cam-1"
    assert parsed[0].payload.member_id == "m1"
    assert parsed[1].payload.visitors == 2
    assert parsed[1].payload.members == 1


def test_the_next_member_in_the_same_place_gets_a_track_of_their_own() -> None:
    first = walk("m1", T0, 5)
    second = walk("m2", T0 + 700, 5)  # steps in where m1 was, well within the expiry
    seen = members(run(first + second))
    assert [m.member_id for m in seen] == ["m1", "m2"]
