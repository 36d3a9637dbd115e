"""Exit gate alarms for staff: the open ones with their items, and closing one with its
outcome (recovered, false alarm, lost). "Checking" is the alert's acknowledgement
(``POST /api/v1/alerts/{id}/ack``), which turns the gate light off."""

from __future__ import annotations

from fastapi import APIRouter, status
from pydantic import BaseModel, ConfigDict

from edge.api.deps import StaffDep, StoreDep
from edge.events.alerts import GateAlarmPayload, GateOutcome

router = APIRouter(prefix="/api/v1/gate", tags=["gate"])


class GateOutcomeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcome: GateOutcome


@router.get("/alarms")
def open_gate_alarms(_: StaffDep, store: StoreDep) -> list[GateAlarmPayload]:
    """Exit alarms not closed yet, oldest first, each with its items and total value."""
    return store.gate_alarms()


@router.post(
    "/alarms/{alarm_id}/outcome",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={404: {"description": "Alarm not found (not open)"}},
)
def close_gate_alarm(alarm_id: str, body: GateOutcomeIn, staff: StaffDep, store: StoreDep) -> None:
    """Close the alarm with what happened; 404 ``Alarm not found`` when it is not open."""
    store.close_gate_alarm(alarm_id, body.outcome, staff.name)
