"""The dashboard's activity log: recent events and visitors / try-ons per hour.

An :class:`ActivityLog` is a sink of the owner loop: ``emit`` runs on the owner thread, and so
does ``snapshot`` (through :meth:`~edge.runtime.owner.OwnerLoop.call`), so it needs no lock.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
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


def summary_of(event: Event, describe: Callable[[str], str | None] | None = None) -> str:
    """The line a dashboard shows; with ``describe``, the product's label stands for its EPC
    and GTIN."""
    fields = event.payload.model_dump(mode="json")
    if isinstance(fields.get("text"), str) and event.type.startswith("alert."):
        return str(fields["text"])
    gtin = fields.get("gtin")
    label = describe(gtin) if describe is not None and isinstance(gtin, str) else None
    keys = [k for k in SUMMARY_KEYS if not (label and k in ("epc", "gtin"))]
    parts = [label] if label else []
    parts += [f"{k}={fields[k]}" for k in keys if fields.get(k) is not None]
    return " ".join(parts)


TAG_TYPES = frozenset({"tag.arrived", "tag.moved", "tag.departed", "tag.returned"})
BURST_MS = 60_000
"""Tag events of one kind in one zone within a minute make one dashboard line."""
SHOWN_PRODUCTS = 3


class _TagBurst:
    """Tag events of one type in one zone, as one line: "5 items: Wrap dress (navy, S) x2, ..."."""

    def __init__(self, event: Event, ts_ms: int, zone: str | None) -> None:
        self.event_id, self.type, self.zone = event.event_id, event.type, zone
        self.first_ms = self.ts_ms = ts_ms
        self.products: dict[str, int] = {}
        self.count = 0

    def add(self, ts_ms: int, product: str) -> None:
        self.ts_ms = ts_ms
        self.count += 1
        self.products[product] = self.products.get(product, 0) + 1

    def summary(self) -> EventSummary:
        ranked = sorted(self.products.items(), key=lambda kv: -kv[1])
        named = ", ".join(f"{p} ×{n}" if n > 1 else p for p, n in ranked[:SHOWN_PRODUCTS])
        more = len(ranked) - SHOWN_PRODUCTS
        tail = f" and {more} more products" if more > 0 else ""
        items = "1 item" if self.count == 1 else f"{self.count} items"
        return EventSummary(
            self.event_id, self.type, self.ts_ms, self.zone, f"{items}: {named}{tail}"
        )


class ActivityLog:
    """``describe``: GTIN -> what staff see on the shelf (the catalog's label), so that lines
    name products; None when the catalog does not list it (the EPC is shown then)."""

    def __init__(
        self,
        recent: int = RECENT_EVENTS,
        describe: Callable[[str], str | None] | None = None,
    ) -> None:
        self._recent: deque[EventSummary | _TagBurst] = deque(maxlen=recent)
        self._visitors: dict[int, int] = {}
        self._tryons: dict[int, int] = {}
        self._describe = describe or (lambda _gtin: None)
        self._bursts: dict[tuple[str, str | None], _TagBurst] = {}

    def emit(self, event: Event) -> None:
        ts_ms = datetime_to_ms(event.ts)
        zone = getattr(event.payload, "zone", None)
        if event.type in TAG_TYPES:
            self._tag(event, ts_ms, zone)
        else:
            self._recent.append(
                EventSummary(
                    event.event_id, event.type, ts_ms, zone, summary_of(event, self._describe)
                )
            )
        hour = ts_ms // HOUR_MS
        if event.type == "visit.started":
            self._visitors[hour] = self._visitors.get(hour, 0) + 1
        elif event.type == "tryon.started":
            self._tryons[hour] = self._tryons.get(hour, 0) + 1

    def _tag(self, event: Event, ts_ms: int, zone: str | None) -> None:
        gtin = getattr(event.payload, "gtin", None)
        epc = getattr(event.payload, "epc", "?")
        product = (self._describe(gtin) if gtin else None) or f"EPC {epc}"
        burst = self._bursts.get((event.type, zone))
        if burst is None or ts_ms - burst.first_ms > BURST_MS or burst not in self._recent:
            burst = self._bursts[(event.type, zone)] = _TagBurst(event, ts_ms, zone)
            self._recent.append(burst)
        burst.add(ts_ms, product)

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
        recent = [e.summary() if isinstance(e, _TagBurst) else e for e in self._recent]
        recent.sort(key=lambda e: e.ts_ms)  # a burst moves up with its latest event
        return list(reversed(recent)), chart
