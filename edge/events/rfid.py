"""Events of the RFID tag tracker: where each item is, and what changed."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from edge.events.base import Event, UtcMs


class TagPayload(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    epc: str = Field(description="EPC, upper-case hex")
    gtin: str | None = Field(default=None, description="GTIN-14 when the EPC is an SGTIN")
    zone: str = Field(description="Zone the tag is in now (for departures: where it was last)")
    zone_kind: str = Field(description="shelf, fitting_room, pos, exit, backroom or entrance")
    reader_id: str = Field(description="Reader of the read that decided the event")
    antenna: int = Field(ge=1, description="Antenna port of that read")
    rssi_dbm: float = Field(description="Smoothed RSSI in that zone, dBm")


class TagArrivedPayload(TagPayload):
    pass


class TagMovedPayload(TagPayload):
    from_zone: str = Field(description="Zone the tag was in before")


class TagDepartedPayload(TagPayload):
    via_exit: bool = Field(description="True when the last zone that read it was an exit")
    last_seen: UtcMs = Field(description="Time of the last read")
    last_zone: str | None = Field(
        default=None,
        description="Zone of the last read (the exit when via_exit); `zone` is where the "
        "tag was placed, which a few exit reads do not change",
    )


class TagReturnedPayload(TagPayload):
    absent_s: float = Field(
        ge=0, description="Seconds between the last read before the departure and this read"
    )


class TagArrived(Event):
    type: Literal["tag.arrived"] = "tag.arrived"
    payload: TagArrivedPayload


class TagMoved(Event):
    type: Literal["tag.moved"] = "tag.moved"
    payload: TagMovedPayload


class TagDeparted(Event):
    type: Literal["tag.departed"] = "tag.departed"
    payload: TagDepartedPayload


class TagReturned(Event):
    type: Literal["tag.returned"] = "tag.returned"
    payload: TagReturnedPayload


TagEvent = TagArrived | TagMoved | TagDeparted | TagReturned
