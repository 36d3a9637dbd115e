"""Staff alert rules: a pure state machine on timestamped inputs (no I/O, no clock of its own).

Two kinds so far:

- ``exit_unsold``: a ``tag.departed`` with ``via_exit`` for an EPC with no recorded sale
  (:meth:`AlertRules.mark_sold`; the fusion stage records sales).
- ``reader_offline``: a reader gave no sign of life, i.e. neither a read nor an alive status
  (connected, and not saying it stopped inventorying: ``ReaderStatus.alive``; drivers report
  heartbeats that way), for its ``offline_after_s`` (default by kind:
  ``ReaderBase.offline_after``). A reader with a last will (``HealthSource.CONNECTION``) is
  offline only when its will says so, for that long, never from silence; a reader heard only
  through its reads defaults to two hours, so a quiet hour is no outage. Raised once
  per outage. When the reader is heard from again, an :class:`AlertResolution` ends the
  outage (published as ``alert.resolved`` on the same ``alerts/reader_offline`` topic).

Throttling: an alert of one kind for one subject (EPC, reader id) is raised at most once per
``alerts.repeat_interval_s``. An outage whose alert is held back by the throttle is raised
when the interval has passed, if the reader is still offline by then; if it comes back first,
nothing was raised and nothing is resolved.

Every method returns a list of notices (:class:`AlertDraft` or :class:`AlertResolution`); each
makes its own event (``to_event``) in the runtime's owner loop.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from edge.config.readers import HealthSource
from edge.config.store import StoreConfig
from edge.events.alerts import (
    AlertKind,
    AlertPayload,
    AlertRaised,
    AlertResolved,
    AlertResolvedPayload,
    Severity,
)
from edge.events.base import EventFactory, ms_to_datetime
from edge.events.rfid import TagDeparted
from edge.rfid.reads import ReaderSignal, ReaderStatus

SOURCE = "alerts/rules"

SOLD_MEMORY_MS = 24 * 3600 * 1000
"""How long a sale keeps its EPC out of exit_unsold; a sold item leaves within minutes."""


@dataclass(frozen=True, slots=True)
class AlertDraft:
    """An alert to raise; :meth:`to_event` makes it an ``alert.raised`` event."""

    kind: AlertKind
    severity: Severity
    zone: str | None
    subject: str
    text: str
    ts_ms: int
    cause: dict[str, Any] | None = None

    def to_event(self, factory: EventFactory) -> AlertRaised:
        """``alert.raised``; the alert's ``alert_id`` is that event's id."""
        payload = AlertPayload(
            alert_id="",  # set below: the id exists once the event does
            kind=self.kind,
            severity=self.severity,
            zone=self.zone,
            subject=self.subject,
            text=self.text,
            created=ms_to_datetime(self.ts_ms),
            cause=self.cause,
        )
        event = factory.make(AlertRaised, ts_ms=self.ts_ms, source=SOURCE, payload=payload)
        return event.model_copy(
            update={"payload": payload.model_copy(update={"alert_id": event.event_id})}
        )


@dataclass(frozen=True, slots=True)
class AlertResolution:
    """The condition behind a raised alert is over; becomes an ``alert.resolved`` event."""

    kind: AlertKind
    subject: str
    zone: str | None
    text: str
    raised_ms: int
    ts_ms: int

    def to_event(self, factory: EventFactory) -> AlertResolved:
        return factory.make(
            AlertResolved,
            ts_ms=self.ts_ms,
            source=SOURCE,
            payload=AlertResolvedPayload(
                kind=self.kind,
                subject=self.subject,
                zone=self.zone,
                text=self.text,
                raised=ms_to_datetime(self.raised_ms),
                resolved=ms_to_datetime(self.ts_ms),
            ),
        )


AlertNotice = AlertDraft | AlertResolution


@dataclass(frozen=True, slots=True)
class ReaderWatch:
    """What the rules need to know about one reader."""

    reader_id: str
    offline_after_ms: int
    zone: str | None
    """The reader's zone when all its antennas read one zone, else None."""
    silence_counts: bool = True
    """False for a reader with a last will: offline only when the will says so, for
    offline_after_ms (a reconnect within that grace is no outage), never from silence."""


@dataclass(frozen=True, slots=True)
class ReaderHealth:
    reader_id: str
    zone: str | None
    last_alive_ms: int | None
    connected: bool | None
    offline_since_ms: int | None
    """Set while the reader counts as offline (whether or not the throttle let it alert)."""


@dataclass(slots=True)
class _ReaderState:
    watch: ReaderWatch
    last_alive_ms: int | None = None
    connected: bool | None = None
    offline_since_ms: int | None = None
    raised_ms: int | None = None
    will_down_ms: int | None = None
    """When the reader's last will said it dropped off (None: connected, or never said)."""


def _offline_now(state: _ReaderState, now_ms: int) -> bool:
    """Silence for offline_after_ms, or, for a reader with a last will, the will for as long."""
    after_ms = state.watch.offline_after_ms
    if not state.watch.silence_counts:
        down_ms = state.will_down_ms
        return down_ms is not None and now_ms - down_ms >= after_ms
    assert state.last_alive_ms is not None
    return now_ms - state.last_alive_ms >= after_ms


def _unknown(_gtin: str) -> str | None:
    return None


def _never(epc: str) -> bool:
    return False


def clock_text(ts_ms: int) -> str:
    return f"{ms_to_datetime(ts_ms):%H:%M:%S} UTC"


def _iso(ts_ms: int) -> str:
    """The events' own time format, ``2026-11-22T08:12:52.123Z``."""
    return f"{ms_to_datetime(ts_ms):%Y-%m-%dT%H:%M:%S}.{ts_ms % 1000:03d}Z"


class AlertRules:
    def __init__(
        self,
        readers: Iterable[ReaderWatch],
        *,
        repeat_interval_s: float,
        zone_names: Mapping[str, str] | None = None,
        exit_on_departure: bool = True,
    ) -> None:
        self._readers = {watch.reader_id: _ReaderState(watch) for watch in readers}
        self._repeat_interval_ms = round(repeat_interval_s * 1000)
        self._zone_names = dict(zone_names or {})
        self._last_raised_ms: dict[tuple[AlertKind, str], int] = {}
        self._sold_ms: dict[str, int] = {}
        self._exit_on_departure = exit_on_departure
        self._chain_sold: Callable[[str], bool] = _never
        self._returned: dict[str, int] = {}
        """EPCs returned here since the chain's sold set was last replaced."""
        self._describe: Callable[[str], str | None] = _unknown

    @classmethod
    def from_store_config(cls, config: StoreConfig) -> AlertRules:
        watches = []
        for reader in config.readers:
            zones = set(reader.port_zones().values())
            watches.append(
                ReaderWatch(
                    reader_id=reader.id,
                    offline_after_ms=round(reader.offline_after() * 1000),
                    zone=zones.pop() if len(zones) == 1 else None,
                    silence_counts=reader.health_source() is not HealthSource.CONNECTION,
                )
            )
        return cls(
            watches,
            repeat_interval_s=config.alerts.repeat_interval_s,
            zone_names={zone.id: zone.name or zone.id for zone in config.zones},
            # With the gate on, the exit read alarms (edge/alerts/gate.py); the departure 30 s
            # later stays an inventory event.
            exit_on_departure=not config.gate.enabled,
        )

    # -- exit_unsold -----------------------------------------------------------------------

    def mark_sold(self, epc: str, ts_ms: int) -> None:
        """A sale of this EPC was recorded: its departure through the exit is no alert."""
        self._sold_ms[epc.upper()] = ts_ms
        self._returned.pop(epc.upper(), None)

    def mark_returned(self, epc: str, ts_ms: int) -> None:
        """A return of this EPC was recorded here: it is unsold again, whatever an earlier
        sale or the chain's sold set (until its next version) says."""
        upper = epc.upper()
        self._sold_ms.pop(upper, None)
        self._returned[upper] = ts_ms

    def use_chain_sold(self, contains: Callable[[str], bool]) -> None:
        """EPCs sold anywhere in the chain (HQ's sold set, downlinked): no exit alarm either."""
        self._chain_sold = contains
        self._returned.clear()  # HQ's new version has the returns it was told of

    def use_catalog(self, describe: Callable[[str], str | None]) -> None:
        """GTIN -> what staff see on the shelf ("Wrap dress (navy, XS) · 59.00"): alerts name
        the product, not the tag."""
        self._describe = describe

    def is_sold(self, epc: str) -> bool:
        """Sold here (within SOLD_MEMORY_MS) or, as far as HQ's sold set says, elsewhere."""
        upper = epc.upper()
        if upper in self._sold_ms:
            return True
        return upper not in self._returned and self._chain_sold(upper)

    def on_tag_departed(self, event: TagDeparted) -> list[AlertNotice]:
        payload = event.payload
        if not self._exit_on_departure or not payload.via_exit or self.is_sold(payload.epc):
            return []
        ts_ms = event.ts_ms
        if not self.may_raise(AlertKind.EXIT_UNSOLD, payload.epc, ts_ms):
            return []
        exit_zone = payload.last_zone or payload.zone
        item = self._describe(payload.gtin) if payload.gtin else None
        if item is None:
            gtin = f", GTIN {payload.gtin}" if payload.gtin else ""
            item, tag = "An item not in the catalog", f" (EPC {payload.epc}{gtin})"
        else:
            tag = f" (EPC {payload.epc})"
        return [
            AlertDraft(
                kind=AlertKind.EXIT_UNSOLD,
                severity=Severity.CRITICAL,
                zone=exit_zone,
                subject=payload.epc,
                text=(
                    f"{item} left through {self._zone_names.get(exit_zone, exit_zone)} unsold{tag}"
                ),
                ts_ms=ts_ms,
                cause=event.model_dump(mode="json"),
            )
        ]

    # -- reader_offline --------------------------------------------------------------------

    def on_reader_data(self, reader_id: str, ts_ms: int) -> list[AlertNotice]:
        """A read from the reader (called for every read: keep it cheap)."""
        state = self._readers.get(reader_id)
        if state is None:
            return []
        if state.last_alive_ms is None or ts_ms > state.last_alive_ms:
            state.last_alive_ms = ts_ms
        state.will_down_ms = None  # it reads or says it is alive: whatever the will said
        return self._back(state, ts_ms) if state.offline_since_ms is not None else []

    def on_reader_status(self, status: ReaderStatus) -> list[AlertNotice]:
        state = self._readers.get(status.reader_id)
        if state is None:
            return []
        state.connected = status.connected
        if status.signal is ReaderSignal.LAST_WILL:
            if not status.connected:
                if state.will_down_ms is None:
                    state.will_down_ms = status.ts_ms
                return []
            state.will_down_ms = None
        if not status.alive:
            return []  # down, or up but saying it stopped inventorying: no sign of life
        return self.on_reader_data(status.reader_id, status.ts_ms)

    def tick(self, now_ms: int) -> list[AlertNotice]:
        """Raise what time alone decides; readers never heard from count from the first tick."""
        self._forget_before(now_ms)
        notices: list[AlertNotice] = []
        for state in self._readers.values():
            if state.last_alive_ms is None:
                state.last_alive_ms = now_ms
                continue
            if state.offline_since_ms is None and _offline_now(state, now_ms):
                state.offline_since_ms = (
                    state.last_alive_ms if state.watch.silence_counts else state.will_down_ms
                )
            if state.offline_since_ms is not None and state.raised_ms is None:
                notices.extend(self._offline(state, now_ms))
        return notices

    def _offline(self, state: _ReaderState, now_ms: int) -> list[AlertNotice]:
        reader_id = state.watch.reader_id
        if not self.may_raise(AlertKind.READER_OFFLINE, reader_id, now_ms):
            return []
        since_ms = state.offline_since_ms
        assert since_ms is not None
        state.raised_ms = now_ms
        why = (
            "connection lost"
            if state.connected is False
            else f"no data for {(now_ms - since_ms) // 1000} s"
        )
        return [
            AlertDraft(
                kind=AlertKind.READER_OFFLINE,
                severity=Severity.WARNING,
                zone=state.watch.zone,
                subject=reader_id,
                text=f"Reader {reader_id} offline since {clock_text(since_ms)} ({why})",
                ts_ms=now_ms,
                cause={
                    "reader_id": reader_id,
                    "last_seen": _iso(since_ms),
                    "offline_after_s": state.watch.offline_after_ms / 1000,
                    "connected": state.connected,
                },
            )
        ]

    def _back(self, state: _ReaderState, ts_ms: int) -> list[AlertNotice]:
        since_ms, raised_ms = state.offline_since_ms, state.raised_ms
        state.offline_since_ms = state.raised_ms = None
        if raised_ms is None or since_ms is None:
            return []  # the throttle held the alert back: nothing to resolve
        reader_id = state.watch.reader_id
        return [
            AlertResolution(
                kind=AlertKind.READER_OFFLINE,
                subject=reader_id,
                zone=state.watch.zone,
                text=(
                    f"Reader {reader_id} back online at {clock_text(ts_ms)} after "
                    f"{max(ts_ms - since_ms, 0) // 1000} s"
                ),
                raised_ms=raised_ms,
                ts_ms=ts_ms,
            )
        ]

    def reader_health(self) -> list[ReaderHealth]:
        """Every watched reader's last sign of life and state (the store dashboard)."""
        return [
            ReaderHealth(
                reader_id=reader_id,
                zone=state.watch.zone,
                last_alive_ms=state.last_alive_ms,
                connected=state.connected,
                offline_since_ms=state.offline_since_ms,
            )
            for reader_id, state in self._readers.items()
        ]

    # -- throttle and memory ---------------------------------------------------------------

    def may_raise(self, kind: AlertKind, subject: str, ts_ms: int) -> bool:
        """The throttle, shared with edge/alerts/staff_rules.py: True (and noted) when no
        alert of this kind for this subject was raised within the repeat interval."""
        key = (kind, subject)
        last = self._last_raised_ms.get(key)
        if last is not None and ts_ms - last < self._repeat_interval_ms:
            return False
        self._last_raised_ms[key] = ts_ms
        return True

    def _forget_before(self, now_ms: int) -> None:
        """Drop throttle entries that no longer hold anything back, and old sales."""
        interval = self._repeat_interval_ms
        for key in [k for k, t in self._last_raised_ms.items() if now_ms - t >= interval]:
            del self._last_raised_ms[key]
        for epc in [e for e, t in self._sold_ms.items() if now_ms - t > SOLD_MEMORY_MS]:
            del self._sold_ms[epc]
