"""FastAPI dependencies: the edge's context (:class:`~edge.api.context.ApiContext`), and who
is calling (the bearer token of a paired device, or the config's ``api -> admin_token``) with
what role.

Roles and what they reach (docs/tablet.md has the table): a tablet its own zone's room; staff
every room, alerts, the dashboard and sales; a till sales only; admin everything, members'
faces included.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from edge.api.context import ApiContext
from edge.api.devices import Device, DeviceRegistry, DeviceRole
from edge.api.hub import EventHub
from edge.api.presenters import Presenter
from edge.config.store import StoreConfig
from edge.service.faces import FaceServiceProvider
from edge.service.metrics import EdgeMetrics
from edge.service.store import StoreService
from edge.vision.enrolment import FaceService

_bearer = HTTPBearer(
    auto_error=False, description="A paired device's token, or api -> admin_token of STORE.yaml"
)

NOT_AUTHENTICATED = "Not authenticated"
INVALID_TOKEN = "Invalid token"
STAFF_ONLY = "Staff or admin token required"
ADMIN_ONLY = "Admin token required"
SALES_ONLY = "Till, staff or admin token required"
NOT_FOR_TILLS = "Not allowed for a till"
OTHER_ZONE = "Not allowed for this zone"
UNKNOWN_ZONE = "Zone not found"

_CONFIG_ADMIN = Device(name="admin", role=DeviceRole.ADMIN, zone=None, created_ms=0)
"""The holder of ``api -> admin_token`` counts as an admin device."""


def get_context(request: Request) -> ApiContext:
    context: ApiContext = request.app.state.context
    return context


ContextDep = Annotated[ApiContext, Depends(get_context)]


def get_config(context: ContextDep) -> StoreConfig:
    return context.config


def get_store(context: ContextDep) -> StoreService:
    return context.store


def get_devices(context: ContextDep) -> DeviceRegistry:
    return context.devices


def get_hub(context: ContextDep) -> EventHub:
    return context.hub


def get_metrics(context: ContextDep) -> EdgeMetrics:
    return context.metrics


def get_faces(context: ContextDep) -> FaceServiceProvider:
    return context.faces


def get_presenter(context: ContextDep) -> Presenter:
    return Presenter(context.config, context.store.catalog)


def get_face_service(faces: Annotated[FaceServiceProvider, Depends(get_faces)]) -> FaceService:
    """The store's face service (built on first use; 503 with the reason when it cannot be)."""
    return faces.get()


ConfigDep = Annotated[StoreConfig, Depends(get_config)]
StoreDep = Annotated[StoreService, Depends(get_store)]
DevicesDep = Annotated[DeviceRegistry, Depends(get_devices)]
HubDep = Annotated[EventHub, Depends(get_hub)]
MetricsDep = Annotated[EdgeMetrics, Depends(get_metrics)]
FaceServiceDep = Annotated[FaceService, Depends(get_face_service)]
PresenterDep = Annotated[Presenter, Depends(get_presenter)]
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def device_for_token(context: ApiContext, token: str) -> Device | None:
    """The device a bearer token belongs to; None when unknown or revoked."""
    admin = context.config.api.admin_token
    if admin is not None and secrets.compare_digest(token.encode(), admin.encode()):
        return _CONFIG_ADMIN
    return context.devices.authenticate(token)


def current_device(context: ContextDep, credentials: Credentials) -> Device:
    """The paired device calling, from ``Authorization: Bearer <token>``: 401 otherwise."""
    if credentials is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, NOT_AUTHENTICATED, headers={"WWW-Authenticate": "Bearer"}
        )
    device = device_for_token(context, credentials.credentials)
    if device is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, INVALID_TOKEN, headers={"WWW-Authenticate": "Bearer"}
        )
    return device


DeviceDep = Annotated[Device, Depends(current_device)]


def _roles(allowed: frozenset[DeviceRole], refusal: str) -> Callable[[Device], Device]:
    def check(device: DeviceDep) -> Device:
        if device.role not in allowed:
            raise HTTPException(status.HTTP_403_FORBIDDEN, refusal)
        return device

    return check


ShopFloorDep = Annotated[
    Device,
    Depends(
        _roles(frozenset({DeviceRole.TABLET, DeviceRole.STAFF, DeviceRole.ADMIN}), NOT_FOR_TILLS)
    ),
]
"""Tablets (their zone only: see :func:`check_zone`), staff and admin."""
StaffDep = Annotated[
    Device, Depends(_roles(frozenset({DeviceRole.STAFF, DeviceRole.ADMIN}), STAFF_ONLY))
]
SalesDep = Annotated[
    Device,
    Depends(_roles(frozenset({DeviceRole.TILL, DeviceRole.STAFF, DeviceRole.ADMIN}), SALES_ONLY)),
]
AdminDep = Annotated[Device, Depends(_roles(frozenset({DeviceRole.ADMIN}), ADMIN_ONLY))]


def check_zone(config: StoreConfig, device: Device, zone: str) -> None:
    """404 for a zone the store does not have, 403 for a tablet of another zone."""
    if zone not in config.zones_by_id():
        raise HTTPException(status.HTTP_404_NOT_FOUND, UNKNOWN_ZONE)
    if not device.may_see_zone(zone):
        raise HTTPException(status.HTTP_403_FORBIDDEN, OTHER_ZONE)
