"""Camera events: a recognised member (``member.seen``) and anonymous counts (``zone.visitors``).

Nothing here can describe a person who is not a member: an unknown face only ever adds one to
a ``zone.visitors`` count (docs/architecture.md, principle 4).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from edge.events.base import Event, UtcMs


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
