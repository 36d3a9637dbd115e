"""Staff alerts: the open ones (newest first), and acknowledging one with a tap."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status

from edge.api.deps import ConfigDep, PresenterDep, StaffDep, StoreDep
from edge.api.schemas import AlertPublic
from edge.events.alerts import AlertKind

router = APIRouter(prefix="/api/v1/alerts", tags=["alerts"])


@router.get("", responses={404: {"description": "Zone not found (the zone filter)"}})
def open_alerts(
    config: ConfigDep,
    _: StaffDep,
    store: StoreDep,
    present: PresenterDep,
    kind: Annotated[AlertKind | None, Query(description="Only this kind")] = None,
    zone: Annotated[str | None, Query(max_length=64, description="Only this zone")] = None,
) -> list[AlertPublic]:
    if zone is not None and zone not in config.zones_by_id():
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Zone not found")
    return [present.alert(view) for view in store.open_alerts(kind.value if kind else None, zone)]


@router.post("/{alert_id}/ack", responses={404: {"description": "Alert not found"}})
def acknowledge(
    alert_id: str, staff: StaffDep, store: StoreDep, present: PresenterDep
) -> AlertPublic:
    return present.alert(store.acknowledge_alert(alert_id, staff.name))
