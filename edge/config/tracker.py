"""Thresholds of the tag tracker (defaults and reasons documented in docs/tracker.md)."""

from __future__ import annotations

from typing import Any

from pydantic import Field, ValidationInfo, field_validator

from edge.config.base import StrictModel
from edge.config.zones import ZoneKind

# EdgeX app-rfid-llrp-inventory departs after 600 s everywhere; Intel RSP departs an item
# 30 s after an exit read. The other kinds sit between, by how long an item may go unread there.
DEFAULT_DEPARTED_AFTER_S: dict[ZoneKind, float] = {
    ZoneKind.SHELF: 600.0,
    ZoneKind.FITTING_ROOM: 600.0,
    ZoneKind.POS: 300.0,
    ZoneKind.EXIT: 30.0,
    ZoneKind.BACKROOM: 1800.0,
    ZoneKind.ENTRANCE: 60.0,
}


class TrackerConfig(StrictModel):
    rssi_window: int = Field(
        default=8,
        ge=1,
        le=64,
        title="Reads kept per tag and zone",
        description="The zone's smoothed RSSI is the mean of these reads (dBm)",
    )
    move_threshold_db: float = Field(
        default=6.0,
        ge=0,
        le=40,
        title="A new zone must beat the current one by this much (dB)",
        description="EdgeX mobility profile threshold; scaled down by the hysteresis decay",
    )
    arrival_settle_s: float = Field(
        default=1.0,
        ge=0,
        title="A tag first seen (or seen again after departing) is placed after this long",
        description=(
            "Weak cross-reads from a neighbouring antenna may come before the tag's own zone "
            "reads it: waiting lets the strongest zone win the first placement"
        ),
    )
    hysteresis_holdoff_s: float = Field(
        default=1.0,
        ge=0,
        title="Full move threshold while the current zone was read this recently",
        description="EdgeX mobility profile holdoff: no decay during this time",
    )
    hysteresis_slope_db_per_s: float = Field(
        default=3.0,
        gt=0,
        title="After the holdoff, the move threshold falls by this much per second (dB/s)",
        description=(
            "EdgeX mobility profile slope: the current zone's RSSI ages while it goes unread, "
            "so a zone as strong as it takes the tag soon after it goes quiet"
        ),
    )
    hysteresis_floor_db: float = Field(
        default=6.0,
        ge=0,
        title="The move threshold falls no lower than minus this (dB)",
        description=(
            "While the current zone competes, a zone this much weaker than it never takes the "
            "tag: weak cross-reads by a neighbouring antenna lose however long it stays quiet"
        ),
    )
    hysteresis_max_s: float = Field(
        default=300.0,
        gt=0,
        title="The current zone competes for this long after its last read",
        description=(
            "After that, any zone with min_reads_for_zone reads takes the tag (an item carried "
            "to a zone that reads it much more weakly still moves)"
        ),
    )
    min_reads_for_zone: int = Field(
        default=2,
        ge=1,
        le=64,
        title="Reads needed in a zone before the tag can arrive, return or move there",
        description="A single cross-read never places a tag; must not exceed rssi_window",
    )
    read_stale_s: float = Field(
        default=30.0,
        gt=0,
        title="A zone's RSSI window restarts with a read this long after its previous one",
        description=(
            "Also: another zone unread this long no longer blocks a placement, and a tag read "
            "but never placed is forgotten this long after its last read"
        ),
    )
    departed_after_s: dict[ZoneKind, float] = Field(
        default_factory=lambda: dict(DEFAULT_DEPARTED_AFTER_S),
        title="No read for this long (by zone kind) -> departed",
        description="Kinds left out keep their default; after a read at an exit the exit "
        "threshold applies (departed through the exit)",
    )
    forget_departed_after_s: float = Field(
        default=86400.0,
        gt=0,
        title="Departed tags unread for this long are forgotten",
        description="Bounds memory; a forgotten tag read again arrives instead of returning",
    )

    @field_validator("departed_after_s", mode="before")
    @classmethod
    def _merge_departed_defaults(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {**{kind.value: s for kind, s in DEFAULT_DEPARTED_AFTER_S.items()}, **value}
        return value

    @field_validator("departed_after_s", mode="after")
    @classmethod
    def _positive_thresholds(cls, value: dict[ZoneKind, float]) -> dict[ZoneKind, float]:
        for kind, seconds in value.items():
            if not seconds > 0:
                raise ValueError(f"departed_after_s for '{kind.value}' must be > 0 (got {seconds})")
        return value

    @field_validator("min_reads_for_zone", mode="after")
    @classmethod
    def _fits_window(cls, value: int, info: ValidationInfo) -> int:
        window = info.data.get("rssi_window")
        if window is not None and value > window:
            raise ValueError(
                f"min_reads_for_zone ({value}) cannot exceed rssi_window ({window}): "
                "the window could never hold that many reads"
            )
        return value
