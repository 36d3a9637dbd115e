"""The exit gate: when a read at an exit is confident enough to alarm (docs/fusion.md, "Gate").

The reasons behind the defaults are in docs/fusion.md.
"""

from __future__ import annotations

from pydantic import Field, model_validator

from edge.config.base import StrictModel


class GateDirectionConfig(StrictModel):
    """One exit described as two zones: read inside first, then outside, is a way out."""

    exit: str = Field(title="Exit zone (kind exit) whose reads are the outside of the gate")
    inside: str = Field(
        title="Zone read on the store side of the gate (an antenna facing into the store)",
        description="An item confidently read at the exit alarms only when it was read here "
        "within direction_window_s before; read at the exit first, it is coming in",
    )


class GateConfig(StrictModel):
    enabled: bool = Field(
        default=True,
        title="Alarm exit_unsold on the confident exit read (else 30 s later, on departure)",
        description="When on, tag.departed via the exit stays an inventory event only",
    )
    confirm_reads: int = Field(
        default=2,
        ge=1,
        le=50,
        title="Reads of one item at one exit, within confirm_window_s, that make it confident",
    )
    confirm_window_s: float = Field(
        default=1.0,
        gt=0,
        le=30,
        title="Window in which confirm_reads reads must fall",
        description="A shopper crosses a gate's field in about a second",
    )
    rssi_floor_dbm: float | None = Field(
        default=-70.0,
        ge=-120,
        le=0,
        title="Reads weaker than this do not count towards confidence (None: no floor)",
        description="Cuts stray reads of items on display near the door",
    )
    missing_rssi_passes: bool = Field(
        default=True,
        title="Whether a read without RSSI (reader reports none) passes the floor",
        description="Off: a reader with RSSI switched off can never make an exit alarm",
    )
    group_s: float = Field(
        default=3.0,
        ge=0,
        le=60,
        title="Items confident at one exit within this long of its alarm join that alarm",
    )
    alarm_on_s: float = Field(
        default=20.0,
        gt=0,
        le=3600,
        title="The gate light turns off this long after the alarm's last item (or at ack)",
    )
    direction_window_s: float = Field(
        default=10.0,
        gt=0,
        le=300,
        title="An inside read this long before the exit read makes it inside -> outside",
    )
    came_in_memory_s: float = Field(
        default=4 * 3600.0,
        gt=0,
        title="How long an item that came in from outside is exempt from exit alarms",
        description="Its first read (since the edge started, or since it was forgotten after "
        "this long unread) at an entrance or exit zone, or a reader-reported IN: an item "
        "bought elsewhere that a shopper brought in",
    )
    directions: list[GateDirectionConfig] = Field(
        default_factory=list,
        title="Exits described as inside/outside zones (none: every exit read may alarm)",
    )

    @model_validator(mode="after")
    def _window(self) -> GateConfig:
        exits = [d.exit for d in self.directions]
        repeated = sorted({e for e in exits if exits.count(e) > 1})
        if repeated:
            raise ValueError(f"gate -> directions lists exit {', '.join(repeated)} twice")
        for direction in self.directions:
            if direction.inside == direction.exit:
                raise ValueError(
                    f"gate -> directions: exit '{direction.exit}' needs a different inside zone"
                )
        return self
