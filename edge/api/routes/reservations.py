"""Reservations made online, at the store: the staff pick list, "picked" taps, and the
member's QR check-in at a fitting-room tablet (docs/fusion.md, "Reservations")."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, status
from pydantic import BaseModel, ConfigDict, Field

from edge.api.deps import ConfigDep, ShopFloorDep, StaffDep, StoreDep, check_zone

router = APIRouter(tags=["reservations"])

_PICK_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "No open reservation with this id"},
    409: {"description": "The tag is not this item's product, or already picked"},
}


class PickBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    epc: str = Field(pattern=r"^[0-9A-Fa-f]{8,64}$", description="The tag taken for the item")


class CheckInBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(pattern=r"^[A-Za-z0-9]{8}$", description="From the member's QR code")


@router.get("/api/v1/reservations")
def board(_: StaffDep, store: StoreDep) -> dict[str, Any]:
    """Open reservations, each item with where tags of its product are now (pick list),
    and the tags of closed reservations to take back to the floor."""
    returns = store.reservation_returns()
    return {
        "reservations": store.reservations(),
        "to_return": [{"epc": epc, "reservation_id": rid} for epc, rid in sorted(returns.items())],
    }


@router.post("/api/v1/reservations/{reservation_id}/items/{item}/picked", responses=_PICK_ERRORS)
def picked(
    reservation_id: str, item: int, body: PickBody, staff: StaffDep, store: StoreDep
) -> dict[str, Any]:
    """Staff took this tag for the item. The reservation becomes ready when RFID reads every
    picked tag in the hold zone, not on this tap."""
    return {"reservations": store.pick_reserved_item(reservation_id, item, body.epc, staff.name)}


@router.post(
    "/api/v1/reservations/{reservation_id}/items/{item}/unavailable",
    responses={
        404: {"description": "No open reservation with this id"},
        409: {"description": "No such item, or it is already picked"},
    },
)
def unavailable(reservation_id: str, item: int, staff: StaffDep, store: StoreDep) -> dict[str, Any]:
    """Staff found no tag of the item: HQ tells the member and offers another size or a nearby
    store; the rest of the reservation can still become ready."""
    return {"reservations": store.reserved_item_unavailable(reservation_id, item, staff.name)}


@router.post(
    "/api/v1/rooms/{zone}/check-in",
    status_code=status.HTTP_201_CREATED,
    responses={
        404: {"description": "No open reservation with this code"},
        409: {"description": "The reservation's window has ended"},
    },
)
def check_in(
    zone: str, body: CheckInBody, config: ConfigDep, device: ShopFloorDep, store: StoreDep
) -> dict[str, str]:
    """The member's QR code, scanned by the tablet's camera or typed in."""
    check_zone(config, device, zone)
    return {"reservation_id": store.check_in(body.code)}
