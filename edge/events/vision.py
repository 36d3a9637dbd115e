"""Camera events: a recognised member (``member.seen``) and anonymous counts (``zone.visitors``).

Nothing here can describe a person who is not a member: an unknown face only ever adds one to
a ``zone.visitors`` count (DESIGN principle 4).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from edge.events.base import Event, EventFactory, UtcMs, ms_to_datetime
from edge.vision.face_tracker import (
    MINUTE_MS,
    MemberSeenObservation,
    Observation,
    ZoneVisitorsObservation,
)


class MemberSeenPayload(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    member_id: str
    camera_id: str
    zone: str
    confidence: float = Field(ge=0, le=1, description="Agreeing share of the track's frames")
    distance: float = Field(ge=0, description="Mean face distance of the agreeing frames")
    votes: int = Field(ge=1, description="Frames that named the member")
    first_seen: UtcMs
    last_seen: UtcMs = Field(description="When the decision was made")


class MemberSeen(Event):
    """Once per face track, when enough frames agree on one member."""

    type: Literal["member.seen"] = "member.seen"
    payload: MemberSeenPayload


class ZoneVisitorsPayload(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    zone: str
    camera_id: str
    minute_start: UtcMs
    visitors: int = Field(ge=0, description="Distinct people (face tracks) seen in the minute")
    members: int = Field(ge=0, description="Of them, recognised members")


class ZoneVisitors(Event):
    """People one camera saw in its zone during one minute; sent when the minute closes."""

    type: Literal["zone.visitors"] = "zone.visitors"
    payload: ZoneVisitorsPayload


def to_event(obs: Observation, factory: EventFactory) -> MemberSeen | ZoneVisitors:
    """The event for a face tracker observation (event time: decision time / minute end)."""
    source = f"camera:{obs.camera_id}"
    if isinstance(obs, MemberSeenObservation):
        return factory.make(
            MemberSeen,
            ts_ms=obs.last_seen_ms,
            source=source,
            payload=MemberSeenPayload(
                member_id=obs.member_id,
                camera_id=obs.camera_id,
                zone=obs.zone,
                confidence=obs.confidence,
                distance=obs.distance,
                votes=obs.votes,
                first_seen=ms_to_datetime(obs.first_seen_ms),
                last_seen=ms_to_datetime(obs.last_seen_ms),
            ),
        )
    if isinstance(obs, ZoneVisitorsObservation):
        return factory.make(
            ZoneVisitors,
            ts_ms=obs.minute_start_ms + MINUTE_MS,
            source=source,
            payload=ZoneVisitorsPayload(
                zone=obs.zone,
                camera_id=obs.camera_id,
                minute_start=ms_to_datetime(obs.minute_start_ms),
                visitors=obs.visitors,
                members=obs.members,
            ),
        )
    raise TypeError(f"not a face tracker observation: {obs!r}")
