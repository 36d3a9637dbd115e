"""Thresholds of the fusion stage: visits, fitting-room sessions, try-on outcomes, staff alerts.

The reasons behind the defaults are in docs/fusion.md.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator

from edge.config.base import StrictModel

DEFAULT_TIERS = ["standard", "silver", "gold", "platinum"]


class FusionConfig(StrictModel):
    visit_end_after_s: float = Field(
        default=1200.0,
        gt=0,
        title="A visit ends when its member has not been seen for this long",
        description="Cameras report a member once per face track, so gaps of minutes are normal",
    )
    presence_s: float = Field(
        default=60.0,
        gt=0,
        title="A member sighting counts as presence in its zone for this long",
        description="Bounds the dwell given to a zone and keeps a fitting room occupied",
    )
    room_idle_end_s: float = Field(
        default=60.0,
        gt=0,
        title="A fitting-room session ends after this long with no item and no face in it",
    )
    room_vacated_after_s: float = Field(
        default=300.0,
        gt=0,
        title="A session ends this long after its shopper left with their items",
        description=(
            "Half or more of the items brought in went out, the last move being out, and "
            "nothing moved since: the rest is left behind for staff"
        ),
    )
    room_abandoned_after_s: float = Field(
        default=1800.0,
        gt=0,
        title="A session whose items stay put with no face for this long ends anyway",
        description="Items forgotten in a room must not keep its session open forever",
    )
    outcome_window_s: float = Field(
        default=1800.0,
        gt=0,
        title="Time after a try-on ends within which a sale counts as its purchase",
        description="When it closes, an item still in the room is left_in_room",
    )
    sale_memory_s: float = Field(
        default=7 * 24 * 3600.0,
        gt=0,
        title="How long a sale id is remembered for idempotent retries from the tills",
    )
    reservation_zone: str | None = Field(
        default=None,
        title="Zone where items reserved online wait for the member",
        description="Default: the first fitting room (else the first backroom, else the first "
        "zone). A reservation is ready only when RFID reads every picked item there",
    )
    tier_order: list[str] = Field(
        default_factory=lambda: list(DEFAULT_TIERS),
        min_length=1,
        title="Member tiers from lowest to highest (as headquarters names them)",
    )
    member_arrived_min_tier: str = Field(
        default="gold",
        title="Staff get a member_arrived alert for members of this tier or above",
    )
    member_directory: Path | None = Field(
        default=None,
        title="JSON file of member profiles (tier, first name, consent, size)",
        description="Default: data_dir/members.json; written by headquarters sync",
    )

    @model_validator(mode="after")
    def _tiers(self) -> FusionConfig:
        repeated = sorted({t for t in self.tier_order if self.tier_order.count(t) > 1})
        if repeated:
            raise ValueError(f"fusion -> tier_order repeats {', '.join(repeated)}")
        if self.member_arrived_min_tier not in self.tier_order:
            raise ValueError(
                f"fusion -> member_arrived_min_tier '{self.member_arrived_min_tier}' is not in "
                f"fusion -> tier_order ({', '.join(self.tier_order)}); add it there or pick one "
                "of those"
            )
        return self

    def tier_rank(self, tier: str) -> int:
        """Position of ``tier`` in ``tier_order``; -1 for a tier it does not list."""
        return self.tier_order.index(tier) if tier in self.tier_order else -1
