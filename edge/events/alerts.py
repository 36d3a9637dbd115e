"""Staff alerts and component status, published on ``o2o/{store}/alerts/{kind}``."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from edge.events.base import Event, UtcMs


class AlertKind(StrEnum):
    EXIT_UNSOLD = "exit_unsold"
    READER_OFFLINE = "reader_offline"
    CAMERA_OFFLINE = "camera_offline"
    MEMBER_ARRIVED = "member_arrived"
    SIZE_REQUEST = "size_request"
    SHELF_EMPTY = "shelf_empty"
    LEFT_IN_ROOM = "left_in_room"


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class AlertState(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class AlertPayload(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    alert_id: str = Field(description="Unique alert id (the event_id of the alert.raised event)")
    kind: AlertKind
    severity: Severity
    zone: str | None = Field(default=None, description="Zone concerned, if any")
    subject: str = Field(description="What the alert is about (EPC, reader id, ...); throttle key")
    text: str = Field(description="One sentence a person can read on a handheld")
    created: UtcMs
    state: AlertState = AlertState.OPEN
    cause: dict[str, Any] | None = Field(default=None, description="The event that caused it")


class AlertRaised(Event):
    type: Literal["alert.raised"] = "alert.raised"
    payload: AlertPayload


class AlertAckPayload(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    alert_id: str
    staff_id: str
    acknowledged: UtcMs


class AlertAcknowledged(Event):
    type: Literal["alert.acknowledged"] = "alert.acknowledged"
    payload: AlertAckPayload


class AlertResolvedPayload(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: AlertKind
    subject: str = Field(description="Subject of the alert it ends; (kind, subject) names it")
    zone: str | None = None
    text: str = Field(description="One sentence a person can read on a handheld")
    raised: UtcMs = Field(description="When the alert it ends was raised")
    resolved: UtcMs


class AlertResolved(Event):
    """The condition behind an open alert is over (e.g. the offline reader is back).

    Published on ``alerts/{kind}`` beside the ``alert.raised`` it ends. A condition raises at
    most one open alert per (kind, subject), so that pair identifies it.
    """

    type: Literal["alert.resolved"] = "alert.resolved"
    payload: AlertResolvedPayload


class ComponentState(StrEnum):
    ONLINE = "online"
    OFFLINE = "offline"
    STOPPED = "stopped"


class ComponentStatus(BaseModel):
    """Retained on ``o2o/{store}/status/{component}``; the edge's last will says offline."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    component: str
    state: ComponentState
    ts: UtcMs | None = None
    detail: dict[str, Any] = Field(default_factory=dict)


class GateAlarmState(StrEnum):
    ON = "on"
    OFF = "off"


class GateOutcome(StrEnum):
    """How staff closed a gate alarm (HQ's shrink and false-alarm reports count these)."""

    RECOVERED = "recovered"
    FALSE_ALARM = "false_alarm"
    LOST = "lost"


class GateItem(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    epc: str
    gtin: str | None = None
    name: str | None = Field(default=None, description="Product name from the catalog")
    price: float | None = Field(default=None, description="Catalog price; None if unknown")


class GateAlarmPayload(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    alarm_id: str = Field(description="The alert_id of the exit_unsold alert it belongs to")
    exit: str = Field(description="Exit zone id")
    state: GateAlarmState
    items: list[GateItem] = Field(description="Every item of the alarm so far")
    total_value: float = Field(description="Sum of the known prices of the items")
    reason: str = Field(description="opened, item_added, timeout, acknowledged or closed")
    outcome: GateOutcome | None = Field(default=None, description="Set when staff closed it")
    staff_id: str | None = None


class GateAlarm(Event):
    """The gate light: retained on ``o2o/{store}/gate/{exit}/alarm`` (on, then off)."""

    type: Literal["gate.alarm"] = "gate.alarm"
    payload: GateAlarmPayload
