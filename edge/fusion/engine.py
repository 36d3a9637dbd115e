"""The fusion stage's facade: the one object the runtime's owner loop feeds.

Inputs (all timestamped; the engine reads no clock and does no I/O): the tag tracker's
changes, ``member.seen`` observations, POS sales, tablet size requests, staff
acknowledgements, camera status changes and ticks. Every method returns a list of plain
frozen dataclasses (:data:`FusionOutput`), which :func:`to_events` turns into events with the
owner loop's :class:`~edge.events.base.EventFactory`. The owner also passes every alert event
it emits, whoever raised it, to :meth:`FusionEngine.record_alerts`, so that staff can
acknowledge any alert.

It composes the pure parts: :class:`~edge.fusion.visits.VisitTracker`,
:class:`~edge.fusion.fitting_rooms.FittingRooms`, :class:`~edge.fusion.outcomes.OutcomeTracker`,
:class:`~edge.fusion.sales.SaleBook`, :class:`~edge.alerts.staff_rules.StaffAlertRules` and
:class:`~edge.alerts.staff_rules.AlertBook`; the rules of each are in its module, and the
whole picture in docs/fusion.md.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from edge.alerts.rules import AlertDraft, AlertNotice, AlertResolution, AlertRules
from edge.alerts.staff_rules import AlertAck, AlertBook, SizeAnswer, StaffAlertRules
from edge.config.store import StoreConfig
from edge.config.zones import ZoneKind
from edge.events.alerts import (
    AlertPayload,
    AlertRaised,
    AlertResolved,
)
from edge.events.base import Event, EventFactory
from edge.events.fusion import Recommendation as RecommendationEvent
from edge.events.fusion import (
    RecommendationPayload,
    RecommendedItem,
    Sale,
    SalePayload,
    SizeRequest,
    SizeRequestPayload,
    StockPlace,
)
from edge.fusion.directory import DIRECTORY_FILE, MemberDirectory, MemberProfile
from edge.fusion.fitting_rooms import (
    FittingRooms,
    ItemsLeft,
    RoomCleared,
    RoomOutput,
    RoomSnapshot,
    SessionChange,
    SessionChanged,
    TryOnEnd,
    TryOnStart,
)
from edge.fusion.outcomes import OutcomeTracker, TryOnResult
from edge.fusion.recommend_hook import recommender_hook
from edge.fusion.sales import SaleBook, SaleResult, SaleStatus
from edge.fusion.visits import SOURCE, VisitEnd, VisitStart, VisitTracker
from edge.recommend.catalog import Catalog
from edge.recommend.filters import StockLookup
from edge.recommend.runtime import Recommender
from edge.rfid.tracker import ChangeKind, TagChange
from edge.vision.face_tracker import MemberSeenObservation
from edge.vision.frames import CameraStatus

log = logging.getLogger(__name__)

Recommend = Callable[[RoomSnapshot, MemberProfile | None], Sequence[RecommendedItem]]
"""Recommendations for a fitting room's session and its member's profile (consented members
only); called on every change of a session. edge/fusion/recommend_hook.py adapts the
recommender."""


@dataclass(frozen=True, slots=True)
class RoomRecommendation:
    """What a fitting room's tablet should show now; ``session.ended_ms`` set: clear it."""

    session: RoomSnapshot
    recommendations: tuple[RecommendedItem, ...]
    ts_ms: int

    def to_event(self, factory: EventFactory) -> RecommendationEvent:
        session = self.session
        return factory.make(
            RecommendationEvent,
            ts_ms=self.ts_ms,
            source=SOURCE,
            payload=RecommendationPayload(
                session_id=session.session_id,
                zone=session.zone,
                member_id=session.member_id,
                items=list(session.gtins) if session.ended_ms is None else [],
                recommendations=list(self.recommendations),
            ),
        )


@dataclass(frozen=True, slots=True)
class SaleRecorded:
    payload: SalePayload
    ts_ms: int

    def to_event(self, factory: EventFactory) -> Sale:
        return factory.make(Sale, ts_ms=self.ts_ms, source=SOURCE, payload=self.payload)


@dataclass(frozen=True, slots=True)
class SizeRequested:
    zone: str
    session_id: str | None
    member_id: str | None
    gtin: str
    size: str | None
    colour: str | None
    answer: SizeAnswer
    ts_ms: int

    def to_event(self, factory: EventFactory) -> SizeRequest:
        wanted = self.answer.wanted
        return factory.make(
            SizeRequest,
            ts_ms=self.ts_ms,
            source=SOURCE,
            payload=SizeRequestPayload(
                zone=self.zone,
                session_id=self.session_id,
                member_id=self.member_id,
                gtin=self.gtin,
                size=self.size,
                colour=self.colour,
                wanted_gtin=wanted.gtin if wanted is not None else None,
                available=[
                    StockPlace(zone=z.zone, kind=z.kind.value, count=z.count)
                    for z in self.answer.available
                ],
            ),
        )


@dataclass(frozen=True, slots=True)
class RoomState:
    """A fitting room for its tablet: the session (None when the room is free), the
    member's profile (consented members only) and the latest recommendations."""

    zone: str
    session: RoomSnapshot | None
    member: MemberProfile | None
    recommendations: tuple[RecommendedItem, ...]


FusionOutput = (
    VisitStart
    | VisitEnd
    | TryOnStart
    | TryOnEnd
    | TryOnResult
    | RoomRecommendation
    | SaleRecorded
    | SizeRequested
    | AlertDraft
    | AlertResolution
    | AlertAck
)


@dataclass(slots=True)
class FusionStats:
    sales_recorded: int = 0
    sales_duplicate: int = 0
    sales_conflict: int = 0
    recommend_errors: int = 0
    """Recommender calls that raised (logged; the session goes on without recommendations)."""


def directory_path(config: StoreConfig) -> Path:
    return config.fusion.member_directory or config.data_dir / DIRECTORY_FILE


class FusionEngine:
    def __init__(
        self,
        config: StoreConfig,
        rules: AlertRules,
        *,
        stock_of: StockLookup,
        directory: MemberDirectory | None = None,
        catalog_of: Callable[[], Catalog | None] = lambda: None,
        recommend: Recommend | None = None,
    ) -> None:
        """``rules``: the runtime's :class:`AlertRules` (its ``mark_sold`` and throttle are
        shared); ``stock_of``: the tag tracker's stock view, already updated by each change
        it reports; ``directory``: member profiles, which sync may replace later (assign
        ``engine.directory`` on the owner thread); ``catalog_of``: the current catalog;
        ``recommend``: None runs without recommendations."""
        fusion = config.fusion
        self.config = config
        self.directory = directory or MemberDirectory()
        self.stats = FusionStats()
        self._rules = rules
        self._recommend = recommend
        self._zone_kinds = {zone.id: zone.kind for zone in config.zones}
        self._camera_zones = {camera.id: camera.zone for camera in config.cameras}
        self.visits = VisitTracker(fusion)
        self.rooms = FittingRooms(
            fusion, [z for z, kind in self._zone_kinds.items() if kind is ZoneKind.FITTING_ROOM]
        )
        self.outcomes = OutcomeTracker(fusion)
        self.sales = SaleBook(fusion.sale_memory_s)
        self.staff = StaffAlertRules(
            rules,
            zone_kinds=self._zone_kinds,
            zone_names={zone.id: zone.name or zone.id for zone in config.zones},
            camera_zones=self._camera_zones,
            tier_rank=fusion.tier_rank,
            min_tier=fusion.member_arrived_min_tier,
            stock_of=stock_of,
            catalog_of=catalog_of,
        )
        self.alerts = AlertBook()
        self._arrival_checked: set[str] = set()
        """Visits whose member_arrived rule has run (it runs once per visit)."""
        self._at_till: dict[str, str | None] = {}
        """EPC -> GTIN of the items at a till now (for sale lines without EPC)."""
        self._shown: dict[str, tuple[RecommendedItem, ...]] = {}
        """Room -> the recommendations its tablet shows."""

    @classmethod
    def from_store_config(
        cls,
        config: StoreConfig,
        rules: AlertRules,
        *,
        stock_of: StockLookup,
        recommender: Recommender | None = None,
    ) -> FusionEngine:
        """The engine as the runtime builds it: the member directory from
        :func:`directory_path` (empty until the first sync), catalog and recommendations from
        ``recommender`` (None: no recommendations, products named by GTIN)."""
        directory = MemberDirectory.load(directory_path(config))
        if recommender is None:
            return cls(config, rules, stock_of=stock_of, directory=directory)
        return cls(
            config,
            rules,
            stock_of=stock_of,
            directory=directory,
            catalog_of=lambda: recommender.catalog,
            recommend=recommender_hook(recommender, stock_of),
        )

    # -- inputs ----------------------------------------------------------------------------

    def on_tag_change(self, change: TagChange) -> list[FusionOutput]:
        """A change reported by the tag tracker (after it updated its stock view)."""
        epc, ts_ms = change.epc, change.ts_ms
        departed = change.kind is ChangeKind.DEPARTED
        now_kind = None if departed else change.zone_kind
        outputs: list[FusionOutput] = []
        room = self.rooms.room_of(epc) or self.rooms.left_in(epc)
        if room is not None and (departed or change.zone != room):
            outputs.extend(self._room_outputs(self.rooms.item_out(epc, ts_ms), now_kind))
        outputs.extend(self.outcomes.item_moved(epc, now_kind, ts_ms))
        if now_kind is ZoneKind.FITTING_ROOM:
            outputs.extend(
                self._room_outputs(self.rooms.item_in(change.zone, epc, change.gtin, ts_ms), None)
            )
        if now_kind is ZoneKind.POS:
            self._at_till[epc] = change.gtin
        else:
            self._at_till.pop(epc, None)
        if change.gtin is not None:
            outputs.extend(self._shelf_rules(change, change.gtin))
        return outputs

    def on_member_seen(self, obs: MemberSeenObservation) -> list[FusionOutput]:
        outputs: list[FusionOutput] = []
        visit_id, started = self.visits.on_seen(obs)
        outputs.extend(started)
        profile = self.directory.consented(obs.member_id)
        kind = self._zone_kinds.get(obs.zone)
        if kind is ZoneKind.ENTRANCE and visit_id not in self._arrival_checked:
            self._arrival_checked.add(visit_id)
            if profile is not None:
                outputs.extend(self.staff.member_arrived(profile, obs.zone, obs.last_seen_ms))
        if self._camera_zones.get(obs.camera_id, obs.zone) != obs.zone:
            # A fitting room takes its occupant only from its own camera (the vision stage
            # names the zone from the camera's config; a camera it does not know, as in
            # tests feeding observations, is taken at its word).
            return outputs
        member_id = profile.member_id if profile is not None else None
        face = self.rooms.face(
            obs.zone, obs.member_id, member_id, obs.first_seen_ms, obs.last_seen_ms
        )
        outputs.extend(self._room_outputs(face, None))
        return outputs

    def on_reservation_arrival(self, zone: str, member_id: str, ts_ms: int) -> list[FusionOutput]:
        """A member came for a reservation waiting in ``zone`` (a fitting room): its tablet
        greets them and shows the reserved items with recommendations. They identified
        themselves (QR code, or a recognition they consented to), so no face is needed here."""
        return self._room_outputs(self.rooms.face(zone, member_id, member_id, ts_ms, ts_ms), None)

    def on_sale(self, payload: SalePayload, now_ms: int) -> tuple[SaleResult, list[FusionOutput]]:
        """Record a sale (already validated, see :class:`~edge.fusion.sales.SaleSubmission`).

        Returns the answer for the till and what the sale caused; a repeated sale id
        (duplicate or conflict) causes nothing."""
        earlier = self.sales.earlier(payload)
        if earlier is not None:
            if earlier.status is SaleStatus.DUPLICATE:
                self.stats.sales_duplicate += 1
            else:
                self.stats.sales_conflict += 1
                log.warning("sale refused: %s", earlier.message)
            return earlier, []
        outputs: list[FusionOutput] = [SaleRecorded(payload, now_ms)]
        sold: dict[str, None] = {}
        if not payload.returned:
            for line in payload.lines:
                if line.epc is not None:
                    sold[line.epc] = None
                    outputs.extend(
                        self.outcomes.sold_epc(
                            line.epc,
                            payload.sale_id,
                            now_ms,
                            in_room=self.rooms.room_of(line.epc) is not None,
                        )
                    )
                elif line.gtin is not None:
                    tried = self.outcomes.sold_gtin(
                        line.gtin, line.quantity, payload.sale_id, payload.member_id, now_ms
                    )
                    outputs.extend(tried)
                    sold.update(dict.fromkeys(self._till_items(line.gtin, line.quantity, sold)))
                    sold.update(dict.fromkeys(result.epc for result in tried))
        for epc in sold:
            self._rules.mark_sold(epc, now_ms)
            self._at_till.pop(epc, None)  # paid for: no later GTIN line may take it again
        purchased = sum(isinstance(output, TryOnResult) for output in outputs)
        result = SaleResult(
            sale_id=payload.sale_id,
            status=SaleStatus.RECORDED,
            message=f"sale {payload.sale_id} recorded",
            recorded_ms=now_ms,
            purchased_tryons=purchased,
            epcs_sold=tuple(sold),
        )
        self.sales.record(payload, result)
        self.stats.sales_recorded += 1
        return result, outputs

    def on_size_request(
        self, zone: str, gtin: str, *, size: str | None, colour: str | None, ts_ms: int
    ) -> list[FusionOutput]:
        """A tablet in ``zone`` asks for ``gtin`` in another size and/or colour."""
        if size is None and colour is None:
            raise ValueError("a size request needs a size, a colour or both")
        session = self.rooms.snapshot(zone)
        member_id = session.member_id if session is not None else None
        member = self.directory.consented(member_id) if member_id is not None else None
        answer = self.staff.find_variant(gtin, size, colour)
        self.rooms.item_requested(zone)
        request = SizeRequested(
            zone=zone,
            session_id=session.session_id if session is not None else None,
            member_id=member_id,
            gtin=gtin,
            size=size,
            colour=colour,
            answer=answer,
            ts_ms=ts_ms,
        )
        alerts = self.staff.size_request(
            zone=zone,
            gtin=gtin,
            size=size,
            colour=colour,
            answer=answer,
            member=member,
            ts_ms=ts_ms,
        )
        return [request, *alerts]

    def on_alert_ack(self, alert_id: str, staff_id: str, ts_ms: int) -> list[FusionOutput]:
        """Staff acknowledged an alert; unknown or already acknowledged ids change nothing."""
        ack = self.alerts.acknowledge(alert_id, staff_id, ts_ms)
        return [ack] if ack is not None else []

    def on_camera_status(self, status: CameraStatus) -> list[FusionOutput]:
        return list(
            self.staff.camera_status(status.camera_id, status.online, status.ts_ms, status.detail)
        )

    def record_alerts(self, events: Iterable[Event]) -> None:
        """Note the alert events among ``events`` (every event the owner emits may be passed:
        others are skipped), so that they can be acknowledged and listed."""
        for event in events:
            if isinstance(event, AlertRaised | AlertResolved):
                self.alerts.record(event)

    def tick(self, now_ms: int) -> list[FusionOutput]:
        outputs: list[FusionOutput] = []
        outputs.extend(self._room_outputs(self.rooms.tick(now_ms), ZoneKind.FITTING_ROOM))
        outputs.extend(self.outcomes.tick(now_ms))
        for end in self.visits.tick(now_ms):
            self._arrival_checked.discard(end.visit_id)
            outputs.append(end)
        outputs.extend(self.staff.tick(now_ms))
        self.sales.tick(now_ms)
        self.alerts.tick(now_ms)
        return outputs

    # -- snapshots -------------------------------------------------------------------------

    def room_state(self, zone: str) -> RoomState:
        session = self.rooms.snapshot(zone)
        member_id = session.member_id if session is not None else None
        return RoomState(
            zone=zone,
            session=session,
            member=self.directory.consented(member_id) if member_id is not None else None,
            recommendations=self._shown.get(zone, ()) if session is not None else (),
        )

    def open_alerts(self) -> list[AlertPayload]:
        return self.alerts.open_alerts()

    # -- rules -----------------------------------------------------------------------------

    def _room_outputs(
        self, room_outputs: Iterable[RoomOutput], item_kind: ZoneKind | None
    ) -> list[FusionOutput]:
        """Pass try-ons through, open their outcome windows (``item_kind``: where the
        items are now) and turn session changes into recommendations."""
        outputs: list[FusionOutput] = []
        for output in room_outputs:
            if isinstance(output, SessionChanged):
                outputs.append(self._recommendation(output))
            elif isinstance(output, ItemsLeft):
                outputs.extend(self.staff.left_in_room(output))
            elif isinstance(output, RoomCleared):
                outputs.extend(self.staff.room_cleared(output))
            else:
                outputs.append(output)
            if isinstance(output, TryOnEnd):
                # An item whose session ended under it is still in its room.
                in_room = self.rooms.left_in(output.epc) is not None
                kind = ZoneKind.FITTING_ROOM if in_room else item_kind
                outputs.extend(self.outcomes.tryon_ended(output, kind))
        return outputs

    def _recommendation(self, changed: SessionChanged) -> RoomRecommendation:
        session = changed.session
        picks: tuple[RecommendedItem, ...] = ()
        if changed.change is SessionChange.ENDED:
            self._shown.pop(session.zone, None)
        elif self._recommend is not None:
            try:
                member_id = session.member_id
                member = self.directory.consented(member_id) if member_id is not None else None
                picks = tuple(self._recommend(session, member))
            except Exception:
                self.stats.recommend_errors += 1
                log.exception(
                    "recommender failed for %s (%d failures so far); the tablet keeps its list",
                    session.zone,
                    self.stats.recommend_errors,
                )
                picks = self._shown.get(session.zone, ())
            self._shown[session.zone] = picks
        return RoomRecommendation(session, picks, changed.ts_ms)

    def _shelf_rules(self, change: TagChange, gtin: str) -> list[AlertNotice]:
        kind = change.kind
        notices: list[AlertNotice] = []
        left = change.zone if kind is ChangeKind.DEPARTED else change.from_zone
        if left is not None and self._zone_kinds.get(left) is ZoneKind.SHELF:
            notices.extend(self.staff.shelf_lost(gtin, left, change.ts_ms))
        if kind is not ChangeKind.DEPARTED and change.zone_kind is ZoneKind.SHELF:
            notices.extend(self.staff.shelf_gained(gtin, change.zone, change.ts_ms))
        return notices

    def _till_items(self, gtin: str, quantity: int, taken: Iterable[str]) -> list[str]:
        """Up to ``quantity`` items of ``gtin`` at a till, not already sold in this sale."""
        skip = set(taken)
        at_till = sorted(epc for epc, g in self._at_till.items() if g == gtin and epc not in skip)
        return at_till[:quantity]


# -- events ----------------------------------------------------------------------------------


def to_events(outputs: Iterable[FusionOutput], factory: EventFactory) -> list[Event]:
    """The events for the engine's outputs, in order (run in the owner loop: the factory's
    ids are deterministic in that order)."""
    return [output.to_event(factory) for output in outputs]
