"""Staff alerts: the open ones (newest first), and acknowledging one with a tap."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status

from edge.api.deps import ConfigDep, ServicesDep, StaffDep
from edge.api.schemas import AlertPublic
from edge.events.alerts import AlertKind
from edge.runtime.services import ServiceUnavailable

router = APIRouter(prefix="/api/v1/alerts", tags=["alerts"])


@router.get("")
def open_alerts(
    config: ConfigDep,
    _: StaffDep,
    services: ServicesDep,
    kind: Annotated[AlertKind | None, Query(description="Only this kind")] = None,
    zone: Annotated[str | None, Query(max_length=64, description="Only this zone")] = None,
) -> list[AlertPublic]:
    if zone is not None and zone not in config.zones_by_id():
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Zone not found")
    try:
        return services.open_alerts(kind.value if kind else None, zone)
    except ServiceUnavailable as error:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(error)) from None


@router.post("/{alert_id}/ack")
def acknowledge(alert_id: str, staff: StaffDep, services: ServicesDep) -> AlertPublic:
    try:
        alert = services.acknowledge_alert(alert_id, staff.name)
    except ServiceUnavailable as error:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(error)) from None
    if alert is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Alert not found")
    return alert
