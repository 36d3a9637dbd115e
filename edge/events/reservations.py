"""Reserve online, try in store: the reservation as HQ sends it to the store (downlink), and
what the store reports back as it is picked, ready, collected and closed (docs/fusion.md,
"Reservations")."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from edge.events.base import Event, UtcMs

ReservationId = str


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ReservedItem(_Model):
    gtin: str = Field(pattern=r"^\d{14}$", description="GTIN-14 of the size reserved")


class Reservation(_Model):
    """One reservation as the store receives it from HQ."""

    id: ReservationId = Field(min_length=1, max_length=40)
    member_id: str = Field(min_length=1, max_length=40)
    items: list[ReservedItem] = Field(min_length=1, max_length=10)
    window_start: UtcMs = Field(description="From when the member may come")
    window_end: UtcMs = Field(description="Until when the items are held")
    checkin_code: str = Field(
        pattern=r"^[A-Z0-9]{8}$", description="Shown as a QR code on the member's phone"
    )


class ItemOutcome(StrEnum):
    BOUGHT = "bought"
    TRIED_NOT_BOUGHT = "tried_not_bought"
    NOT_COLLECTED = "not_collected"
    NOT_PICKED = "not_picked"


class ReservationPickedPayload(_Model):
    reservation_id: ReservationId
    item: int = Field(ge=0, description="Index of the item in the reservation")
    gtin: str
    epc: str = Field(description="The tag staff took for it")
    staff_id: str = Field(max_length=100)


class ReservationUnavailablePayload(_Model):
    reservation_id: ReservationId
    member_id: str
    item: int = Field(ge=0, description="Index of the item in the reservation")
    gtin: str
    staff_id: str = Field(max_length=100)


class ReservationReadyPayload(_Model):
    reservation_id: ReservationId
    member_id: str
    zone: str = Field(description="Where the items wait (RFID read them there)")
    epcs: list[str]


class ReservationArrivedPayload(_Model):
    reservation_id: ReservationId
    member_id: str
    zone: str
    how: Literal["face", "qr"] = Field(description="Recognised by camera or checked in by QR")


class ReservationClosedPayload(_Model):
    reservation_id: ReservationId
    member_id: str
    came: bool
    outcomes: list[ItemOutcome] = Field(description="Per item, in the reservation's order")
    to_return: list[str] = Field(description="EPCs staff must take back to the floor")


class ReservationReturnedPayload(_Model):
    reservation_id: ReservationId
    epc: str
    zone: str = Field(description="Where RFID read it back on the floor")
    last_seen: UtcMs


class ReservationPicked(Event):
    """Staff took a tag for an item of a reservation."""

    type: Literal["reservation.picked"] = "reservation.picked"
    payload: ReservationPickedPayload


class ReservationUnavailable(Event):
    """Staff found no tag of an item to pick: HQ offers the member alternatives."""

    type: Literal["reservation.unavailable"] = "reservation.unavailable"
    payload: ReservationUnavailablePayload


class ReservationReady(Event):
    """Every picked item was read where the reservation waits: the member can be told."""

    type: Literal["reservation.ready"] = "reservation.ready"
    payload: ReservationReadyPayload


class ReservationArrived(Event):
    """The member came for the reservation (face recognition with consent, or QR)."""

    type: Literal["reservation.arrived"] = "reservation.arrived"
    payload: ReservationArrivedPayload


class ReservationClosed(Event):
    """The window ended (or everything was bought): what became of each item."""

    type: Literal["reservation.closed"] = "reservation.closed"
    payload: ReservationClosedPayload


class ReservationReturned(Event):
    """An item of a closed reservation is back on the floor (RFID saw it there)."""

    type: Literal["reservation.returned"] = "reservation.returned"
    payload: ReservationReturnedPayload
