"""Zones of the store floor."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from edge.config.base import StrictModel


class ZoneKind(StrEnum):
    SHELF = "shelf"
    FITTING_ROOM = "fitting_room"
    POS = "pos"
    EXIT = "exit"
    BACKROOM = "backroom"
    ENTRANCE = "entrance"


class ZoneConfig(StrictModel):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$", title="Zone id (used in topics)")
    kind: ZoneKind = Field(title="Zone kind")
    name: str = Field(default="", title="Display name")
