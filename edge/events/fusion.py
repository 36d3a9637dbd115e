"""Events of the fusion stage: visits, fitting-room try-ons and their outcomes, POS sales,
recommendations and tablet requests."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from edge.events.base import Event, UtcMs


class _Payload(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# --- visits ---------------------------------------------------------------------------------


class ZoneDwell(_Payload):
    zone: str
    dwell_s: float = Field(ge=0, description="Seconds the member was seen in the zone")


class VisitStartedPayload(_Payload):
    visit_id: str
    member_id: str
    zone: str = Field(description="Zone where the visit was opened")
    camera_id: str


class VisitEndedPayload(_Payload):
    visit_id: str
    member_id: str
    started: UtcMs
    ended: UtcMs
    duration_s: float = Field(ge=0)
    zones: list[ZoneDwell] = Field(description="Zones passed through, in order, with dwell")


class VisitStarted(Event):
    type: Literal["visit.started"] = "visit.started"
    payload: VisitStartedPayload


class VisitEnded(Event):
    type: Literal["visit.ended"] = "visit.ended"
    payload: VisitEndedPayload


# --- fitting-room sessions and try-ons -----------------------------------------------------


class TryOnOutcome(StrEnum):
    PURCHASED = "purchased"
    RETURNED_TO_FLOOR = "returned_to_floor"
    LEFT_IN_ROOM = "left_in_room"


class TryOnPayload(_Payload):
    session_id: str = Field(description="Fitting-room session the try-on belongs to")
    zone: str = Field(description="Fitting room")
    epc: str
    gtin: str | None = None
    member_id: str | None = Field(
        default=None, description="Recognised, consented member; null for anonymous shoppers"
    )


class TryOnStartedPayload(TryOnPayload):
    pass


class TryOnEndedPayload(TryOnPayload):
    started: UtcMs
    duration_s: float = Field(ge=0)


class TryOnOutcomePayload(TryOnPayload):
    outcome: TryOnOutcome
    sale_id: str | None = Field(default=None, description="Sale that bought it, if purchased")


class TryOnStarted(Event):
    type: Literal["tryon.started"] = "tryon.started"
    payload: TryOnStartedPayload


class TryOnEnded(Event):
    type: Literal["tryon.ended"] = "tryon.ended"
    payload: TryOnEndedPayload


class TryOnOutcomeEvent(Event):
    type: Literal["tryon.outcome"] = "tryon.outcome"
    payload: TryOnOutcomePayload


# --- sales ----------------------------------------------------------------------------------


class SaleLine(_Payload):
    epc: str | None = Field(default=None, description="EPC of the item sold, when scanned")
    gtin: str | None = Field(default=None, description="GTIN-14 (derived from the EPC if absent)")
    quantity: int = Field(default=1, ge=1)
    amount: float = Field(ge=0, description="Line amount, in the sale currency")


class SalePayload(_Payload):
    sale_id: str
    till_id: str
    lines: list[SaleLine] = Field(min_length=1)
    total: float = Field(ge=0)
    currency: str = Field(default="EUR", pattern=r"^[A-Z]{3}$")
    member_id: str | None = None
    returned: bool = Field(default=False, description="A return (refund) of an earlier sale")


class Sale(Event):
    type: Literal["sale"] = "sale"
    payload: SalePayload
