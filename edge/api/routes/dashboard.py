"""The store dashboard's data: zones, readers and cameras, recent events, hourly activity."""

from __future__ import annotations

from fastapi import APIRouter

from edge.api.deps import ConfigDep, PresenterDep, ShopFloorDep, StaffDep, StoreDep
from edge.api.schemas import DashboardPublic

router = APIRouter(prefix="/api/v1", tags=["dashboard"])


@router.get("/dashboard")
def dashboard(_: StaffDep, store: StoreDep, present: PresenterDep) -> DashboardPublic:
    return present.dashboard(store.dashboard())


@router.get("/zones")
def zones(config: ConfigDep, device: ShopFloorDep) -> list[dict[str, str]]:
    """The store's zones (a tablet sees only its own)."""
    return [
        {"id": zone.id, "name": zone.name or zone.id, "kind": zone.kind.value}
        for zone in config.zones
        if device.may_see_zone(zone.id)
    ]
