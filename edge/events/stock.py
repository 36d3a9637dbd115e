"""Stock levels sent to headquarters: a numbered snapshot, then numbered changes.

HQ keeps, per store, the last ``seq`` of the current ``stream``. A change whose ``seq`` is not
the next one tells HQ it missed something; it then asks for a new snapshot (downlink), and the
store's counts are reported as stale until that snapshot is complete (docs/sync.md).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from edge.events.base import Event


class StockLevel(BaseModel):
    """Present tags of one GTIN, by place, at the event's time (absolute counts)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    gtin: str = Field(pattern=r"^\d{14}$", description="GTIN-14")
    floor: int = Field(ge=0, le=1_000_000, description="On the sales floor (shelves, rooms, tills)")
    backroom: int = Field(ge=0, le=1_000_000, description="In the backroom")


class StockSnapshotPayload(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    stream: str = Field(max_length=40, description="Numbering stream; a new one per edge start")
    seq: int = Field(ge=1, description="Sequence number within the stream (snapshot parts too)")
    part: int = Field(ge=1, description="This part's number, 1-based")
    parts: int = Field(ge=1, description="Parts of the snapshot; GTINs in none of them have 0")
    levels: list[StockLevel] = Field(max_length=5000)


class StockChangedPayload(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    stream: str = Field(max_length=40, description="Numbering stream of the snapshot it follows")
    seq: int = Field(ge=1, description="Sequence number within the stream")
    levels: list[StockLevel] = Field(
        max_length=5000, description="The GTINs whose counts changed, with their new counts"
    )


class StockSnapshot(Event):
    """One part of the store's full count per GTIN (floor, backroom): sent when the edge
    starts and when HQ asks (it missed a change)."""

    type: Literal["stock.snapshot"] = "stock.snapshot"
    payload: StockSnapshotPayload


class StockChanged(Event):
    """The GTINs whose counts changed since the last stock message, with their new counts
    (0 when none is left); empty as a heartbeat when nothing changed for a while."""

    type: Literal["stock.changed"] = "stock.changed"
    payload: StockChangedPayload
