"""The store dashboard's data: zones, readers and cameras, recent events, hourly activity."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status

from edge.api.deps import ConfigDep, DeviceDep, ServicesDep, StaffDep
from edge.api.schemas import DashboardPublic
from edge.runtime.services import ServiceUnavailable

router = APIRouter(prefix="/api/v1", tags=["dashboard"])


@router.get("/dashboard")
def dashboard(_: StaffDep, services: ServicesDep) -> DashboardPublic:
    try:
        return services.dashboard()
    except ServiceUnavailable as error:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(error)) from None


@router.get("/zones")
def zones(config: ConfigDep, device: DeviceDep) -> list[dict[str, str]]:
    """The store's zones (a tablet sees only its own)."""
    return [
        {"id": zone.id, "name": zone.name or zone.id, "kind": zone.kind.value}
        for zone in config.zones
        if device.may_see_zone(zone.id)
    ]
