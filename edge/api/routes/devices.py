"""Device pairing: a tablet exchanges its one-time code for a token; any device asks who it is."""

from __future__ import annotations

import time

from fastapi import APIRouter, HTTPException, Request, status

from edge.api.deps import ContextDep, DeviceDep
from edge.api.devices import Device, PairingError
from edge.api.schemas import DevicePublic, PairCreate, PairPublic

router = APIRouter(prefix="/api/v1/devices", tags=["devices"])

TOO_MANY = "Too many pairing attempts; try again in a minute"


def _public(device: Device) -> DevicePublic:
    return DevicePublic(name=device.name, role=device.role.value, zone=device.zone)


@router.post(
    "/pair",
    responses={
        400: {"description": "Invalid or expired pairing code"},
        429: {"description": "Too many pairing attempts from this address, or in the store"},
    },
)
def pair(body: PairCreate, context: ContextDep, request: Request) -> PairPublic:
    throttle = context.pairing
    now_s = time.monotonic()
    address = request.client.host if request.client else "unknown"
    if not throttle.allowed(address, now_s):
        raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, TOO_MANY)
    try:
        device, token = context.devices.pair(body.code)
    except PairingError as error:
        throttle.failed(address, now_s)
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(error)) from None
    return PairPublic(token=token, device=_public(device))


@router.get("/me")
def me(device: DeviceDep) -> DevicePublic:
    return _public(device)
