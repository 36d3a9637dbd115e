"""``store.health``: what a store's edge says about itself, sent to headquarters every
``sync.health_report_s`` so that the console shows each store's state without reaching in."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from edge.events.base import Event


class StoreHealthPayload(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    backlog: int = Field(ge=0, description="Events in the outbox not yet delivered to HQ")
    dead_letters: int = Field(ge=0, description="Events HQ refused for good")
    readers_offline: list[str] = Field(description="Reader ids that count as offline now")
    cameras_offline: list[str] = Field(description="Camera ids that count as offline now")
    open_alarms: int = Field(ge=0, description="Exit alarms staff have not closed")
    open_alerts: int = Field(ge=0, description="Staff alerts not yet resolved")


class StoreHealth(Event):
    """The edge's own state every minute (outbox backlog and dead letters, readers and cameras
    offline, open exit alarms and alerts), for HQ's console and for monitoring."""

    type: Literal["store.health"] = "store.health"
    payload: StoreHealthPayload
