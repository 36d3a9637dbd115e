"""Staff alerts of the fusion stage, and the book that records acknowledgements.

Kinds (beside ``exit_unsold`` and ``reader_offline`` of :mod:`edge.alerts.rules`, whose
throttle they share, so ``alerts.repeat_interval_s`` holds for every kind):

- ``member_arrived``: a consented member of tier ``fusion.member_arrived_min_tier`` or above
  is seen at an entrance; once per visit.
- ``size_request``: a fitting-room tablet asks for another size or colour of an item; the text
  says whether and where (shelf or backroom) the wanted variant is in stock right now.
- ``shelf_empty``: the last item of a product left the shelves while the backroom holds it:
  replenish. Resolved (``alert.resolved``) when one is placed on a shelf again.
- ``left_in_room``: a fitting-room session ended with items still in the room (the shopper
  left them): a task to clear the room, listing them. Resolved when the last of them has left
  the room. The next shopper's tablet never shows them.
- ``camera_offline``: a camera reported it lost its frames; resolved when it is back. An alert
  held back by the throttle is raised on a later tick if the camera is still offline.

Like :class:`edge.alerts.rules.AlertRules`, a pure state machine: every method returns
:class:`~edge.alerts.rules.AlertDraft` / :class:`~edge.alerts.rules.AlertResolution` notices,
which :func:`edge.alerts.rules.to_event` turns into events.

:class:`AlertBook` keeps the alerts raised (by any rule) so that staff can acknowledge them
(``o2o/{store}/alerts/ack``) and the dashboard can list the open ones.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from edge.alerts.rules import AlertDraft, AlertNotice, AlertResolution, AlertRules, clock_text
from edge.config.zones import ZoneKind
from edge.events.alerts import (
    AlertAcknowledged,
    AlertAckPayload,
    AlertKind,
    AlertPayload,
    AlertRaised,
    AlertResolved,
    AlertState,
    Severity,
)
from edge.events.base import EventFactory, datetime_to_ms, ms_to_datetime
from edge.fusion.directory import MemberProfile
from edge.fusion.fitting_rooms import ItemsLeft, RoomCleared
from edge.recommend.catalog import Catalog, Product
from edge.recommend.filters import StockLookup, ZoneStock, available_stock

log = logging.getLogger(__name__)

STOCK_KINDS = (ZoneKind.SHELF, ZoneKind.BACKROOM)
"""Where staff can fetch an item from (not from another shopper's room or the till)."""


@dataclass(frozen=True, slots=True)
class SizeAnswer:
    """What the store has of the variant a tablet asked for."""

    wanted: Product | None
    """The catalog variant asked for; None when the catalog has no such product."""
    available: tuple[ZoneStock, ...]
    """Shelves first, then the backroom; empty when out of stock."""


ACK_SOURCE = "fusion"
"""Acknowledgements are taken by fusion's alert book (:class:`AlertBook`)."""


@dataclass(frozen=True, slots=True)
class CameraHealth:
    camera_id: str
    online: bool
    since_ms: int
    """When the camera said so."""
    detail: str


class StaffAlertRules:
    def __init__(
        self,
        rules: AlertRules,
        *,
        zone_kinds: Mapping[str, ZoneKind],
        zone_names: Mapping[str, str],
        camera_zones: Mapping[str, str],
        tier_rank: Callable[[str], int],
        min_tier: str,
        stock_of: StockLookup,
        catalog_of: Callable[[], Catalog | None] = lambda: None,
    ) -> None:
        """``catalog_of``: the current catalog (the recommender's, which sync may replace);
        without one, texts name products by GTIN and size requests find no variant."""
        self._rules = rules
        self._zone_kinds = dict(zone_kinds)
        self._zone_names = dict(zone_names)
        self._camera_zones = dict(camera_zones)
        self._tier_rank = tier_rank
        self._min_rank = tier_rank(min_tier)
        self._min_tier = min_tier
        self._stock_of = stock_of
        self._catalog_of = catalog_of
        self._shelf_empty: dict[str, int] = {}
        """GTIN -> when its shelf_empty alert was raised (until a shelf has it again)."""
        self._camera_down: dict[str, tuple[int, str, int | None]] = {}
        """Camera id -> (offline since, detail, raised at or None while throttled)."""
        self._camera_said: dict[str, CameraHealth] = {}
        """Camera id -> what its last status said (the dashboard shows it)."""

    # -- member_arrived --------------------------------------------------------------------

    def member_arrived(self, profile: MemberProfile, zone: str, ts_ms: int) -> list[AlertNotice]:
        """A consented member seen at an entrance (the engine calls this once per visit)."""
        if not profile.consent or self._tier_rank(profile.tier) < self._min_rank:
            return []
        if not self._rules.may_raise(AlertKind.MEMBER_ARRIVED, profile.member_id, ts_ms):
            return []
        name = profile.first_name or f"Member {profile.member_id}"
        size = f", usually size {profile.sizes[0]}" if profile.sizes else ""
        return [
            AlertDraft(
                kind=AlertKind.MEMBER_ARRIVED,
                severity=Severity.INFO,
                zone=zone,
                subject=profile.member_id,
                text=f"{name} ({profile.tier} member{size}) just arrived at {self._name(zone)}",
                ts_ms=ts_ms,
                cause={"member_id": profile.member_id, "tier": profile.tier},
            )
        ]

    # -- size_request ----------------------------------------------------------------------

    def find_variant(self, gtin: str, size: str | None, colour: str | None) -> SizeAnswer:
        """The variant of ``gtin``'s style in ``size``/``colour`` (each defaulting to the
        item's own) and where it is in stock."""
        catalog = self._catalog_of()
        product = catalog.get(gtin) if catalog is not None else None
        if product is None or catalog is None:
            return SizeAnswer(None, ())
        want_size = (size or product.size).casefold()
        want_colour = (colour or product.colour).casefold()
        wanted = next(
            (
                variant
                for variant in catalog.variants(product.style)
                if variant.size.casefold() == want_size and variant.colour.casefold() == want_colour
            ),
            None,
        )
        return SizeAnswer(wanted, self._where(wanted.gtin) if wanted is not None else ())

    def size_request(
        self,
        *,
        zone: str,
        gtin: str,
        size: str | None,
        colour: str | None,
        answer: SizeAnswer,
        member: MemberProfile | None,
        ts_ms: int,
    ) -> list[AlertNotice]:
        wanted = answer.wanted
        subject = f"{zone}:{wanted.gtin if wanted else gtin}:{size or ''}:{colour or ''}"
        if not self._rules.may_raise(AlertKind.SIZE_REQUEST, subject, ts_ms):
            return []
        who = f" ({member.first_name})" if member is not None and member.first_name else ""
        if wanted is not None:
            item = wanted.label
            where = (
                ", ".join(self._place_text(place) for place in answer.available)
                if answer.available
                else "not in stock in this store"
            )
        else:
            catalog = self._catalog_of()
            known = catalog.get(gtin) if catalog is not None else None
            asked = ", ".join(part for part in (colour, f"size {size}" if size else None) if part)
            item = f"{known.name if known else f'item {gtin}'} ({asked or 'another variant'})"
            where = "no such variant in the catalog"
        return [
            AlertDraft(
                kind=AlertKind.SIZE_REQUEST,
                severity=Severity.WARNING,
                zone=zone,
                subject=subject,
                text=f"{self._name(zone)}{who} asks for {item}: {where}",
                ts_ms=ts_ms,
                cause={
                    "gtin": gtin,
                    "size": size,
                    "colour": colour,
                    "wanted_gtin": wanted.gtin if wanted is not None else None,
                },
            )
        ]

    # -- shelf_empty -----------------------------------------------------------------------

    def shelf_lost(self, gtin: str, shelf: str, ts_ms: int) -> list[AlertNotice]:
        """An item of ``gtin`` left the shelf zone ``shelf`` (moved away or departed)."""
        stock = self._stock_of(gtin)
        on_shelves = sum(n for z, n in stock.items() if self._kind(z) is ZoneKind.SHELF)
        in_backroom = sum(n for z, n in stock.items() if self._kind(z) is ZoneKind.BACKROOM)
        if on_shelves or not in_backroom or gtin in self._shelf_empty:
            return []
        if not self._rules.may_raise(AlertKind.SHELF_EMPTY, gtin, ts_ms):
            return []
        self._shelf_empty[gtin] = ts_ms
        backroom = ", ".join(
            self._place_text(place)
            for place in self._where(gtin)
            if place.kind is ZoneKind.BACKROOM
        )
        return [
            AlertDraft(
                kind=AlertKind.SHELF_EMPTY,
                severity=Severity.WARNING,
                zone=shelf,
                subject=gtin,
                text=f"{self._name(shelf)}: no {self._label(gtin)} left; {backroom}: replenish",
                ts_ms=ts_ms,
                cause={"gtin": gtin, "stock": dict(stock)},
            )
        ]

    def shelf_gained(self, gtin: str, shelf: str, ts_ms: int) -> list[AlertNotice]:
        """An item of ``gtin`` was placed on the shelf zone ``shelf``."""
        raised_ms = self._shelf_empty.pop(gtin, None)
        if raised_ms is None:
            return []
        return [
            AlertResolution(
                kind=AlertKind.SHELF_EMPTY,
                subject=gtin,
                zone=shelf,
                text=f"{self._label(gtin)} is back on {self._name(shelf)}",
                raised_ms=raised_ms,
                ts_ms=ts_ms,
            )
        ]

    # -- left_in_room ----------------------------------------------------------------------

    def left_in_room(self, left: ItemsLeft) -> list[AlertNotice]:
        """A session ended with items in its room: ask staff to clear them (one task per
        session; its subject is the session id, unique, so the throttle never holds it)."""
        if not self._rules.may_raise(AlertKind.LEFT_IN_ROOM, left.session_id, left.ts_ms):
            return []
        labels = [self._label(item.gtin) if item.gtin else item.epc for item in left.items]
        count = f"{len(labels)} item{'s' if len(labels) != 1 else ''}"
        return [
            AlertDraft(
                kind=AlertKind.LEFT_IN_ROOM,
                severity=Severity.INFO,
                zone=left.zone,
                subject=left.session_id,
                text=f"{self._name(left.zone)}: {count} left in the room "
                f"({', '.join(labels)}): clear it",
                ts_ms=left.ts_ms,
                cause={
                    "session_id": left.session_id,
                    "items": [{"epc": item.epc, "gtin": item.gtin} for item in left.items],
                },
            )
        ]

    def room_cleared(self, cleared: RoomCleared) -> list[AlertNotice]:
        return [
            AlertResolution(
                kind=AlertKind.LEFT_IN_ROOM,
                subject=cleared.session_id,
                zone=cleared.zone,
                text=f"{self._name(cleared.zone)}: cleared",
                raised_ms=cleared.left_ms,
                ts_ms=cleared.ts_ms,
            )
        ]

    # -- camera_offline --------------------------------------------------------------------

    def camera_status(
        self, camera_id: str, online: bool, ts_ms: int, detail: str = ""
    ) -> list[AlertNotice]:
        self._camera_said[camera_id] = CameraHealth(camera_id, online, ts_ms, detail)
        down = self._camera_down.get(camera_id)
        if not online:
            if down is None:
                self._camera_down[camera_id] = (ts_ms, detail, None)
                return self._camera_offline(camera_id, ts_ms)
            return []
        if down is None:
            return []
        del self._camera_down[camera_id]
        since_ms, _, raised_ms = down
        if raised_ms is None:
            return []  # the throttle held the alert back: nothing to resolve
        return [
            AlertResolution(
                kind=AlertKind.CAMERA_OFFLINE,
                subject=camera_id,
                zone=self._camera_zones.get(camera_id),
                text=(
                    f"Camera {camera_id} back online at {clock_text(ts_ms)} after "
                    f"{max(ts_ms - since_ms, 0) // 1000} s"
                ),
                raised_ms=raised_ms,
                ts_ms=ts_ms,
            )
        ]

    def camera_health(self) -> dict[str, CameraHealth]:
        """Each camera's last status (cameras that said nothing yet are absent)."""
        return dict(self._camera_said)

    def tick(self, now_ms: int) -> list[AlertNotice]:
        """Raise camera alerts the throttle held back, if the camera is still offline."""
        notices: list[AlertNotice] = []
        for camera_id in sorted(self._camera_down):
            if self._camera_down[camera_id][2] is None:
                notices.extend(self._camera_offline(camera_id, now_ms))
        return notices

    def _camera_offline(self, camera_id: str, ts_ms: int) -> list[AlertNotice]:
        since_ms, detail, _ = self._camera_down[camera_id]
        if not self._rules.may_raise(AlertKind.CAMERA_OFFLINE, camera_id, ts_ms):
            return []
        self._camera_down[camera_id] = (since_ms, detail, ts_ms)
        zone = self._camera_zones.get(camera_id)
        why = f" ({detail})" if detail else ""
        return [
            AlertDraft(
                kind=AlertKind.CAMERA_OFFLINE,
                severity=Severity.WARNING,
                zone=zone,
                subject=camera_id,
                text=f"Camera {camera_id} offline since {clock_text(since_ms)}{why}",
                ts_ms=ts_ms,
                cause={"camera_id": camera_id, "zone": zone, "detail": detail},
            )
        ]

    # -- helpers ---------------------------------------------------------------------------

    def _kind(self, zone: str) -> ZoneKind | None:
        return self._zone_kinds.get(zone)

    def _name(self, zone: str) -> str:
        return self._zone_names.get(zone) or zone

    def _label(self, gtin: str) -> str:
        catalog = self._catalog_of()
        product = catalog.get(gtin) if catalog is not None else None
        return product.label if product is not None else f"GTIN {gtin}"

    def _where(self, gtin: str) -> tuple[ZoneStock, ...]:
        return available_stock(self._stock_of(gtin), self._zone_kinds, STOCK_KINDS)

    def _place_text(self, place: ZoneStock) -> str:
        preposition = "in" if place.kind is ZoneKind.BACKROOM else "on"
        return f"{place.count} {preposition} {self._name(place.zone)}"


# -- acknowledgements ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AlertAck:
    """A staff member acknowledged an open alert; becomes ``alert.acknowledged``."""

    alert_id: str
    staff_id: str
    ts_ms: int

    def to_event(self, factory: EventFactory) -> AlertAcknowledged:
        return factory.make(
            AlertAcknowledged,
            ts_ms=self.ts_ms,
            source=ACK_SOURCE,
            payload=AlertAckPayload(
                alert_id=self.alert_id,
                staff_id=self.staff_id,
                acknowledged=ms_to_datetime(self.ts_ms),
            ),
        )


@dataclass(slots=True)
class AckStats:
    acknowledged: int = 0
    unknown: int = 0
    """Acknowledgements of alert ids the book does not know (never raised, or forgotten)."""
    repeated: int = 0
    """Acknowledgements of alerts already acknowledged or resolved."""


class AlertBook:
    """The alerts raised in the last ``keep_s``, their state, and who acknowledged them."""

    def __init__(self, keep_s: float = 24 * 3600.0) -> None:
        self._keep_ms = round(keep_s * 1000)
        self._alerts: dict[str, AlertPayload] = {}
        self._acked_by: dict[str, str] = {}
        self.stats = AckStats()

    def record(self, event: AlertRaised | AlertResolved) -> None:
        """Every ``alert.raised`` / ``alert.resolved`` event emitted, whatever rule made it."""
        if isinstance(event, AlertRaised):
            self._alerts[event.payload.alert_id] = event.payload
            return
        for alert_id, alert in self._alerts.items():
            if (
                alert.kind is event.payload.kind
                and alert.subject == event.payload.subject
                and alert.state is not AlertState.RESOLVED
            ):
                self._alerts[alert_id] = alert.model_copy(update={"state": AlertState.RESOLVED})

    def acknowledge(self, alert_id: str, staff_id: str, ts_ms: int) -> AlertAck | None:
        """The acknowledgement to publish; None for unknown or already handled alerts."""
        alert = self._alerts.get(alert_id)
        if alert is None:
            self.stats.unknown += 1
            log.warning(
                "acknowledgement by %s of unknown alert %r ignored (%d so far)",
                staff_id,
                alert_id,
                self.stats.unknown,
            )
            return None
        if alert.state is not AlertState.OPEN:
            self.stats.repeated += 1
            return None
        self._alerts[alert_id] = alert.model_copy(update={"state": AlertState.ACKNOWLEDGED})
        self._acked_by[alert_id] = staff_id
        self.stats.acknowledged += 1
        return AlertAck(alert_id=alert_id, staff_id=staff_id, ts_ms=ts_ms)

    def get(self, alert_id: str) -> AlertPayload | None:
        return self._alerts.get(alert_id)

    def acknowledged_by(self, alert_id: str) -> str | None:
        return self._acked_by.get(alert_id)

    def open_alerts(self) -> list[AlertPayload]:
        """Alerts not resolved (open or acknowledged), oldest first."""
        return sorted(
            (a for a in self._alerts.values() if a.state is not AlertState.RESOLVED),
            key=lambda a: (a.created, a.alert_id),
        )

    def tick(self, now_ms: int) -> None:
        """Forget alerts raised more than ``keep_s`` ago."""
        old = [
            alert_id
            for alert_id, alert in self._alerts.items()
            if now_ms - datetime_to_ms(alert.created) > self._keep_ms
        ]
        for alert_id in old:
            del self._alerts[alert_id]
            self._acked_by.pop(alert_id, None)
