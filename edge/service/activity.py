"""The dashboard's activity log: recent events and visitors / try-ons per hour.

An :class:`ActivityLog` is a sink of the owner loop: ``emit`` runs on the owner thread, and so
does ``snapshot`` (through :meth:`~edge.runtime.owner.OwnerLoop.call`), so it needs no lock.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from edge.events.base import Event, datetime_to_ms

HOUR_MS = 3_600_000
RECENT_EVENTS = 50
CHART_HOURS = 12

SUMMARY_KEYS = ("epc", "gtin", "zone", "from_zone", "via_exit", "camera_id", "reader_id", "kind")
"""Payload fields a dashboard line shows: products and places, never who (member ids are
left out whatever their consent; the alerts' own text names consented members only)."""


@dataclass(frozen=True, slots=True)
class EventSummary:
    event_id: str
    type: str
    ts_ms: int
    zone: str | None
    summary: str


@dataclass(frozen=True, slots=True)
class HourCounts:
    hour_ms: int
    visitors: int
    tryons: int


def summary_of(event: Event) -> str:
    fields = event.payload.model_dump(mode="json")
    if isinstance(fields.get("text"), str) and event.type.startswith("alert."):
        return str(fields["text"])
    return " ".join(f"{k}={fields[k]}" for k in SUMMARY_KEYS if fields.get(k) is not None)


class ActivityLog:
    def __init__(self, recent: int = RECENT_EVENTS) -> None:
        self._recent: deque[EventSummary] = deque(maxlen=recent)
        self._visitors: dict[int, int] = {}
        self._tryons: dict[int, int] = {}

    def emit(self, event: Event) -> None:
        ts_ms = datetime_to_ms(event.ts)
        zone = getattr(event.payload, "zone", None)
        self._recent.append(
            EventSummary(event.event_id, event.type, ts_ms, zone, summary_of(event))
        )
        hour = ts_ms // HOUR_MS
        if event.type == "visit.started":
            self._visitors[hour] = self._visitors.get(hour, 0) + 1
        elif event.type == "tryon.started":
            self._tryons[hour] = self._tryons.get(hour, 0) + 1

    def close(self) -> None:
        pass

    def snapshot(
        self, now_ms: int, hours: int = CHART_HOURS
    ) -> tuple[list[EventSummary], list[HourCounts]]:
        """Recent events (newest first) and the last ``hours`` hours' counts (oldest first)."""
        last = now_ms // HOUR_MS
        for counts in (self._visitors, self._tryons):
            for old in [h for h in counts if h <= last - hours]:
                del counts[old]
        chart = [
            HourCounts(hour * HOUR_MS, self._visitors.get(hour, 0), self._tryons.get(hour, 0))
            for hour in range(last - hours + 1, last + 1)
        ]
        return list(reversed(self._recent)), chart
