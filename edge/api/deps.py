"""FastAPI dependencies: the store configuration, bearer-token checks (the admin token and
paired devices), the face service, the running edge's services."""

from __future__ import annotations

import secrets
import threading
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from edge.api.devices import Device, DeviceRegistry, DeviceRole
from edge.config.store import StoreConfig

if TYPE_CHECKING:
    from edge.runtime.services import EdgeServices
    from edge.vision.enrolment import FaceService

_bearer = HTTPBearer(auto_error=False, description="api -> admin_token of STORE.yaml")
_face_service_lock = threading.Lock()


def get_config(request: Request) -> StoreConfig:
    config: StoreConfig = request.app.state.config
    return config


ConfigDep = Annotated[StoreConfig, Depends(get_config)]
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def require_admin(config: ConfigDep, credentials: Credentials) -> None:
    """Administrative calls (enrol, forget, identify) need ``Authorization: Bearer <token>``."""
    expected = config.api.admin_token
    if expected is None:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, "Admin API disabled: api -> admin_token is not set"
        )
    if credentials is None or not secrets.compare_digest(
        credentials.credentials.encode(), expected.encode()
    ):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "Missing or invalid bearer token",
            headers={"WWW-Authenticate": "Bearer"},
        )


AdminDep = Annotated[None, Depends(require_admin)]


def get_face_service(request: Request) -> FaceService:
    """The store's face service, built on first use (loads the models and the gallery)."""
    from edge.vision.gallery import GalleryFileError, GalleryKeyError

    state = request.app.state
    with _face_service_lock:
        if state.face_service is None:
            from edge.vision.enrolment import FaceService

            try:
                state.face_service = FaceService.from_config(state.config, state.clock)
            except (GalleryKeyError, GalleryFileError) as error:
                raise HTTPException(
                    status.HTTP_503_SERVICE_UNAVAILABLE, f"Face recognition unavailable: {error}"
                ) from None
        service: FaceService = state.face_service
        return service


FaceServiceDep = Annotated["FaceService", Depends(get_face_service)]


# --- paired devices (tablets, staff, admin) ----------------------------------------------

NOT_AUTHENTICATED = "Not authenticated"
INVALID_TOKEN = "Invalid token"
STAFF_ONLY = "Staff or admin token required"
OTHER_ZONE = "Not allowed for this zone"
UNKNOWN_ZONE = "Zone not found"

_CONFIG_ADMIN = Device(name="admin", role=DeviceRole.ADMIN, zone=None, created_ms=0)
"""The holder of ``api -> admin_token`` counts as an admin device."""


def get_devices(request: Request) -> DeviceRegistry:
    devices: DeviceRegistry | None = request.app.state.devices
    if devices is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "Device pairing not available")
    return devices


def get_services(request: Request) -> EdgeServices:
    services: EdgeServices | None = request.app.state.services
    if services is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "The edge is not running")
    return services


DevicesDep = Annotated["DeviceRegistry", Depends(get_devices)]
ServicesDep = Annotated["EdgeServices", Depends(get_services)]


def device_for_token(
    config: StoreConfig, devices: DeviceRegistry | None, token: str
) -> Device | None:
    """The device a bearer token belongs to; None when unknown or revoked."""
    admin = config.api.admin_token
    if admin is not None and secrets.compare_digest(token.encode(), admin.encode()):
        return _CONFIG_ADMIN
    return devices.authenticate(token) if devices is not None else None


def current_device(request: Request, credentials: Credentials) -> Device:
    """The paired device calling, from ``Authorization: Bearer <token>``: 401 otherwise."""
    if credentials is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, NOT_AUTHENTICATED, headers={"WWW-Authenticate": "Bearer"}
        )
    device = device_for_token(
        request.app.state.config, request.app.state.devices, credentials.credentials
    )
    if device is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, INVALID_TOKEN, headers={"WWW-Authenticate": "Bearer"}
        )
    return device


DeviceDep = Annotated[Device, Depends(current_device)]


def require_staff(device: DeviceDep) -> Device:
    if device.role is DeviceRole.TABLET:
        raise HTTPException(status.HTTP_403_FORBIDDEN, STAFF_ONLY)
    return device


StaffDep = Annotated[Device, Depends(require_staff)]


def check_zone(config: StoreConfig, device: Device, zone: str) -> None:
    """404 for a zone the store does not have, 403 for a tablet of another zone."""
    if zone not in config.zones_by_id():
        raise HTTPException(status.HTTP_404_NOT_FOUND, UNKNOWN_ZONE)
    if not device.may_see_zone(zone):
        raise HTTPException(status.HTTP_403_FORBIDDEN, OTHER_ZONE)
