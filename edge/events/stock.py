"""Stock levels sent to headquarters: a numbered snapshot, then numbered changes.

HQ keeps, per store, the last ``seq`` of the current ``stream``. A change whose ``seq`` is not
the next one tells HQ it missed something; it then asks for a new snapshot (downlink), and the
store's counts are reported as stale until that snapshot is complete (docs/sync.md).

HQ sends back, on each store's downlink, the stock of the stores near it
(:class:`NearbyStock`, docs/sync.md "Nearby stores' stock"): HQ builds it, the edge reads it.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from edge.events.base import Event, UtcMs


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


class _Wire(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class NearbyStore(_Wire):
    """Another active store of the chain near the asking one, whose counts HQ holds complete
    and fresh."""

    store_id: str = Field(min_length=1, max_length=64)
    name: str = Field(max_length=200)
    distance_km: float = Field(ge=0, description="From the asking store")
    as_of: UtcMs = Field(description="Time of the store's last stock report to HQ")


class NearbyCount(_Wire):
    store_id: str = Field(min_length=1, max_length=64)
    count: int = Field(gt=0, le=2_000_000, description="Units on the floor and in the backroom")


class NearbyStock(_Wire):
    """HQ -> store: the chain's stock of the catalog at the stores near this one. Stock only,
    nothing about members."""

    radius_km: float = Field(gt=0, description="Stores farther than this are not listed")
    max_age_s: float = Field(gt=0, description="Stores whose counts are older are not listed")
    stores: list[NearbyStore] = Field(
        description="Other active stores within the radius with complete, fresh counts, "
        "nearest first"
    )
    stock: dict[str, list[NearbyCount]] = Field(
        description="GTIN of the catalog -> the nearest stores that have units (up to HQ's "
        "nearby_stores), nearest first; GTINs no nearby store has are left out"
    )
