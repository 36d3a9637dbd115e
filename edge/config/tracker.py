"""Thresholds of the tag tracker (defaults and reasons documented in docs/tracker.md)."""

from __future__ import annotations

from pydantic import Field

from edge.config.base import StrictModel


class TrackerConfig(StrictModel):
    rssi_window: int = Field(default=8, ge=1, le=64, title="Reads kept per tag and antenna")
    move_threshold_db: float = Field(
        default=6.0, ge=0, title="A new zone must beat the current one by this much (dB)"
    )
    hysteresis_decay_s: float = Field(
        default=10.0,
        gt=0,
        title="Time for the move threshold to decay to zero",
        description="The longer the current zone goes unread, the easier a move becomes",
    )
    min_reads_for_zone: int = Field(default=2, ge=1, title="Reads needed in a new zone")
    read_stale_s: float = Field(
        default=5.0, gt=0, title="A zone's RSSI window older than this is ignored"
    )
    departed_after_s: dict[str, float] = Field(
        default_factory=lambda: {
            "shelf": 600.0,
            "fitting_room": 600.0,
            "pos": 300.0,
            "exit": 30.0,
            "backroom": 1800.0,
            "entrance": 60.0,
        },
        title="No read for this long (by zone kind) -> departed",
    )
