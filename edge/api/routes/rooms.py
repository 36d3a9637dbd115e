"""A fitting room for its tablet: what is in it, who, recommendations, size requests."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status

from edge.api.deps import ConfigDep, DeviceDep, ServicesDep, check_zone
from edge.api.schemas import RoomStatePublic, SizeRequestCreate, SizeRequestPublic
from edge.runtime.services import RequestRejected, ServiceUnavailable

router = APIRouter(prefix="/api/v1/rooms", tags=["rooms"])


@router.get("/{zone}")
def room_state(
    zone: str, config: ConfigDep, device: DeviceDep, services: ServicesDep
) -> RoomStatePublic:
    check_zone(config, device, zone)
    try:
        return services.room_state(zone)
    except ServiceUnavailable as error:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(error)) from None


@router.post("/{zone}/size-requests", status_code=status.HTTP_201_CREATED)
def request_size(
    zone: str,
    body: SizeRequestCreate,
    config: ConfigDep,
    device: DeviceDep,
    services: ServicesDep,
) -> SizeRequestPublic:
    check_zone(config, device, zone)
    if body.size is None and body.colour is None:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, "Ask for a size, a colour or both"
        )
    try:
        return services.request_size(zone, body.gtin, body.size, body.colour, device.name)
    except RequestRejected as error:
        raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from None
    except ServiceUnavailable as error:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(error)) from None
