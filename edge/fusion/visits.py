"""Member visits: a pure state machine on ``member.seen`` sightings and ticks.

- A sighting of a member with no open visit opens one (``visit.started``), at any camera:
  the entrance camera usually sees them first, but a member missed there still visits.
- The visit ends when the member has not been seen for ``fusion.visit_end_after_s``
  (``visit.ended``, stamped ``last seen + visit_end_after_s`` so that a replay gives the same
  events whatever the tick cadence).
- Dwell per zone: cameras report a member once per face track, not per frame, so a stay in a
  zone runs from its first sighting there until the member is seen elsewhere, but at most
  ``fusion.presence_s`` past the last sighting there. Zones are listed in the order first
  entered; a zone visited twice adds up.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from edge.config.fusion import FusionConfig
from edge.events.base import EventFactory, ms_to_datetime
from edge.events.fusion import (
    VisitEnded,
    VisitEndedPayload,
    VisitStarted,
    VisitStartedPayload,
    ZoneDwell,
)
from edge.fusion.ids import stable_id
from edge.vision.face_tracker import MemberSeenObservation

SOURCE = "fusion"
"""The source of fusion's events."""


@dataclass(frozen=True, slots=True)
class VisitStart:
    visit_id: str
    member_id: str
    zone: str
    camera_id: str
    ts_ms: int

    def to_event(self, factory: EventFactory) -> VisitStarted:
        return factory.make(
            VisitStarted,
            ts_ms=self.ts_ms,
            source=SOURCE,
            payload=VisitStartedPayload(
                visit_id=self.visit_id,
                member_id=self.member_id,
                zone=self.zone,
                camera_id=self.camera_id,
            ),
        )


@dataclass(frozen=True, slots=True)
class ZoneStay:
    zone: str
    dwell_ms: int


@dataclass(frozen=True, slots=True)
class VisitEnd:
    visit_id: str
    member_id: str
    started_ms: int
    ended_ms: int
    """End of the last stay: last sighting plus at most ``presence_s``."""
    zones: tuple[ZoneStay, ...]
    ts_ms: int

    def to_event(self, factory: EventFactory) -> VisitEnded:
        return factory.make(
            VisitEnded,
            ts_ms=self.ts_ms,
            source=SOURCE,
            payload=VisitEndedPayload(
                visit_id=self.visit_id,
                member_id=self.member_id,
                started=ms_to_datetime(self.started_ms),
                ended=ms_to_datetime(self.ended_ms),
                duration_s=(self.ended_ms - self.started_ms) / 1000,
                zones=[ZoneDwell(zone=s.zone, dwell_s=s.dwell_ms / 1000) for s in self.zones],
            ),
        )


@dataclass(slots=True)
class _Visit:
    visit_id: str
    member_id: str
    started_ms: int
    zone: str
    stay_start_ms: int
    stay_last_ms: int
    last_seen_ms: int
    dwell_ms: dict[str, int] = field(default_factory=dict)


class VisitTracker:
    def __init__(self, config: FusionConfig) -> None:
        self._end_after_ms = round(config.visit_end_after_s * 1000)
        self._presence_ms = min(round(config.presence_s * 1000), self._end_after_ms)
        self._visits: dict[str, _Visit] = {}

    def on_seen(self, sighting: MemberSeenObservation) -> tuple[str, list[VisitStart]]:
        """The id of the member's visit, and its start if this sighting opened it."""
        visit = self._visits.get(sighting.member_id)
        first_ms, last_ms = (
            sighting.first_seen_ms,
            max(sighting.last_seen_ms, sighting.first_seen_ms),
        )
        if visit is None:
            visit = _Visit(
                visit_id=stable_id("v", sighting.member_id, first_ms),
                member_id=sighting.member_id,
                started_ms=first_ms,
                zone=sighting.zone,
                stay_start_ms=first_ms,
                stay_last_ms=last_ms,
                last_seen_ms=last_ms,
            )
            self._visits[sighting.member_id] = visit
            start = VisitStart(
                visit_id=visit.visit_id,
                member_id=visit.member_id,
                zone=sighting.zone,
                camera_id=sighting.camera_id,
                ts_ms=first_ms,
            )
            return visit.visit_id, [start]
        if sighting.zone == visit.zone:
            visit.stay_last_ms = max(visit.stay_last_ms, last_ms)
        else:
            stay_end_ms = self._close_stay(visit, until_ms=first_ms)
            visit.zone = sighting.zone
            visit.stay_start_ms = max(first_ms, stay_end_ms)
            visit.stay_last_ms = max(last_ms, visit.stay_start_ms)
        visit.last_seen_ms = max(visit.last_seen_ms, last_ms)
        return visit.visit_id, []

    def tick(self, now_ms: int) -> list[VisitEnd]:
        """End the visits of members unseen for ``visit_end_after_s``, oldest first."""
        due = [
            visit
            for visit in self._visits.values()
            if now_ms - visit.last_seen_ms >= self._end_after_ms
        ]
        due.sort(key=lambda visit: (visit.last_seen_ms, visit.member_id))
        ends = []
        for visit in due:
            del self._visits[visit.member_id]
            ended_ms = self._close_stay(visit, until_ms=visit.stay_last_ms + self._presence_ms)
            ends.append(
                VisitEnd(
                    visit_id=visit.visit_id,
                    member_id=visit.member_id,
                    started_ms=visit.started_ms,
                    ended_ms=ended_ms,
                    zones=tuple(ZoneStay(z, ms) for z, ms in visit.dwell_ms.items()),
                    ts_ms=visit.last_seen_ms + self._end_after_ms,
                )
            )
        return ends

    def visit_of(self, member_id: str) -> str | None:
        visit = self._visits.get(member_id)
        return visit.visit_id if visit is not None else None

    @property
    def open_visits(self) -> int:
        return len(self._visits)

    def _close_stay(self, visit: _Visit, *, until_ms: int) -> int:
        """Add the current stay's dwell (capped at ``presence_s`` past its last sighting);
        returns where the stay ended."""
        end_ms = max(visit.stay_last_ms, min(until_ms, visit.stay_last_ms + self._presence_ms))
        dwell = visit.dwell_ms
        dwell[visit.zone] = dwell.get(visit.zone, 0) + end_ms - visit.stay_start_ms
        return end_ms
