"""Device pairing: a tablet exchanges its one-time code for a token; any device asks who it is."""

from __future__ import annotations

import time
from collections import deque

from fastapi import APIRouter, HTTPException, Request, status

from edge.api.deps import DeviceDep, DevicesDep
from edge.api.devices import Device, PairingError
from edge.api.schemas import DevicePublic, PairCreate, PairPublic

router = APIRouter(prefix="/api/v1/devices", tags=["devices"])

MAX_FAILURES = 10
FAILURE_WINDOW_S = 60.0
TOO_MANY = "Too many pairing attempts; try again in a minute"


class PairingThrottle:
    """At most ``MAX_FAILURES`` wrong codes per minute for the whole edge: a short code must
    not be guessable by trying them all."""

    def __init__(self) -> None:
        self._failures: deque[float] = deque()

    def allowed(self, now_s: float) -> bool:
        while self._failures and now_s - self._failures[0] > FAILURE_WINDOW_S:
            self._failures.popleft()
        return len(self._failures) < MAX_FAILURES

    def failed(self, now_s: float) -> None:
        self._failures.append(now_s)


def _throttle(request: Request) -> PairingThrottle:
    state = request.app.state
    if not hasattr(state, "pairing_throttle"):
        state.pairing_throttle = PairingThrottle()
    throttle: PairingThrottle = state.pairing_throttle
    return throttle


def _public(device: Device) -> DevicePublic:
    return DevicePublic(name=device.name, role=device.role.value, zone=device.zone)


@router.post("/pair")
def pair(body: PairCreate, request: Request, devices: DevicesDep) -> PairPublic:
    throttle = _throttle(request)
    now_s = time.monotonic()
    if not throttle.allowed(now_s):
        raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, TOO_MANY)
    try:
        device, token = devices.pair(body.code)
    except PairingError as error:
        throttle.failed(now_s)
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(error)) from None
    return PairPublic(token=token, device=_public(device))


@router.get("/me")
def me(device: DeviceDep) -> DevicePublic:
    return _public(device)
