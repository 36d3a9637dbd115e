"""A fitting room for its tablet: what is in it, who, recommendations, size requests."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, status

from cloud_sync.http_errors import unprocessable
from edge.api.deps import ConfigDep, PresenterDep, ShopFloorDep, StoreDep, check_zone
from edge.api.schemas import RoomStatePublic, SizeRequestCreate, SizeRequestPublic

router = APIRouter(prefix="/api/v1/rooms", tags=["rooms"])


_ZONE: dict[int | str, dict[str, Any]] = {
    403: {"description": "The device belongs to another zone"},
    404: {"description": "Zone not found"},
}


@router.get("/{zone}", responses=_ZONE)
def room_state(
    zone: str, config: ConfigDep, device: ShopFloorDep, store: StoreDep, present: PresenterDep
) -> RoomStatePublic:
    check_zone(config, device, zone)
    return present.room(zone, store.room(zone))


@router.post(
    "/{zone}/size-requests",
    status_code=status.HTTP_201_CREATED,
    responses={**_ZONE, 422: unprocessable("Bad request body, or neither size nor colour")},
)
def request_size(
    zone: str,
    body: SizeRequestCreate,
    config: ConfigDep,
    device: ShopFloorDep,
    store: StoreDep,
    present: PresenterDep,
) -> SizeRequestPublic:
    check_zone(config, device, zone)
    if body.size is None and body.colour is None:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, "Ask for a size, a colour or both"
        )
    view = store.request_size(zone, body.gtin, body.size, body.colour, device.name)
    return present.size_request(view)
