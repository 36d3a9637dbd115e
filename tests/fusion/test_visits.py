"""Visits open on a sighting, close after visit_end_after_s unseen, with dwell per zone."""

from __future__ import annotations

from edge.config.fusion import FusionConfig
from edge.fusion.visits import VisitTracker, ZoneStay
from edge.vision.face_tracker import MemberSeenObservation
from tests.fusion.fusion_store import MIN, T0, S, Store, kinds, payloads

CONFIG = FusionConfig(visit_end_after_s=600, presence_s=60)


def seen(member: str, zone: str, first_ms: int, last_ms: int) -> MemberSeenObservation:
    return MemberSeenObservation(member, f"cam-{zone}", zone, 0.9, 0.4, 3, first_ms, last_ms)


def test_visit_opens_closes_and_adds_dwell_per_zone() -> None:
    visits = VisitTracker(CONFIG)
    visit_id, started = visits.on_seen(seen("m1", "entrance", T0, T0 + 2 * S))
    assert [(s.visit_id, s.zone, s.ts_ms) for s in started] == [(visit_id, "entrance", T0)]
    # Seen at the shelf 30 s later: the entrance stay lasted until then.
    assert visits.on_seen(seen("m1", "shelf-a", T0 + 30 * S, T0 + 31 * S)) == (visit_id, [])
    # Then 5 minutes later in the fitting room: the shelf stay is capped at presence_s.
    visits.on_seen(seen("m1", "fitting-1", T0 + 6 * MIN, T0 + 6 * MIN + S))
    visits.on_seen(seen("m1", "fitting-1", T0 + 8 * MIN, T0 + 8 * MIN + S))
    # And back at the shelf: a zone visited twice adds up, in first-entered order.
    visits.on_seen(seen("m1", "shelf-a", T0 + 9 * MIN, T0 + 9 * MIN + S))
    assert visits.tick(T0 + 19 * MIN) == []
    (end,) = visits.tick(T0 + 19 * MIN + S)
    assert end.visit_id == visit_id and end.member_id == "m1"
    assert end.ts_ms == T0 + 9 * MIN + S + 600 * S
    assert end.started_ms == T0
    assert end.ended_ms == T0 + 9 * MIN + S + 60 * S
    assert end.zones == (
        ZoneStay("entrance", 30 * S),
        ZoneStay("shelf-a", 61 * S + 61 * S),
        ZoneStay("fitting-1", 3 * MIN),
    )
    assert visits.open_visits == 0 and visits.visit_of("m1") is None


def test_a_new_visit_after_the_gap_and_members_are_independent() -> None:
    visits = VisitTracker(CONFIG)
    first, _ = visits.on_seen(seen("m1", "entrance", T0, T0))
    other, _ = visits.on_seen(seen("m2", "entrance", T0 + S, T0 + S))
    assert first != other
    ends = visits.tick(T0 + 20 * MIN)
    assert [e.member_id for e in ends] == ["m1", "m2"]
    again, started = visits.on_seen(seen("m1", "entrance", T0 + 30 * MIN, T0 + 30 * MIN))
    assert again != first and len(started) == 1


def test_visit_events_and_member_arrived_once_per_visit() -> None:
    store = Store()
    store.seen("m-anna", "entrance", T0)
    store.seen("m-anna", "entrance", T0 + 2 * MIN)  # still the same visit: no second alert
    store.seen("m-anna", "shelf-a", T0 + 3 * MIN)
    store.tick(T0 + 60 * MIN)
    assert kinds(store.events) == ["visit.started", "alert.raised:member_arrived", "visit.ended"]
    (ended,) = payloads(store.events, "visit.ended")
    assert [z["zone"] for z in ended["zones"]] == ["entrance", "shelf-a"]
    assert ended["duration_s"] == (3 * MIN + 60 * S + 500) / 1000


def test_member_arrived_needs_tier_and_consent() -> None:
    store = Store()
    store.seen("m-bob", "entrance", T0)  # standard tier: below gold
    store.seen("m-carl", "entrance", T0)  # platinum but no consent
    store.seen("m-nobody", "entrance", T0)  # not in the directory
    assert kinds(store.events) == ["visit.started"] * 3
