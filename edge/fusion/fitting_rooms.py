"""Fitting-room sessions: a pure state machine on item moves, faces and ticks.

One session is one occupant of a room (a shopper, with whoever came with them). The rules,
in order of strength (docs/fusion.md, "Fitting-room sessions" has the table):

- **Start.** An item arriving in a room without a session, or the room's camera recognising
  someone there, opens one.
- **A new occupant.** A session ends, and the next one starts at once, when someone new is
  evidently in the room: the camera recognises a person other than the session's, after the
  session's person was last present (``fusion.presence_s`` past their sighting); or, after
  the shopper left with their items (at least half of what was brought in went out, the last
  move being out) with no face present, an item arrives (unless the tablet asked staff for
  one: that is the delivery) or a face is first seen. Whatever the previous occupant left in
  the room is *left behind*: it is not the new session's.
- **End by RFID.** ``fusion.room_idle_end_s`` after the room last had neither an item nor a
  face; ``fusion.room_vacated_after_s`` after the shopper left with their items while others
  stay (the rest is left behind); ``fusion.room_abandoned_after_s`` after the last movement
  or face otherwise (forgotten items must not hold the room).
- **Members.** The session's member is the first person recognised *by that room's camera*
  while the session ran, who consented to personalised service; a face seen before the
  session started belongs to an earlier occupant and is ignored. Nothing carries over from one
  session to the next. A companion recognised while the occupant is present does not take
  the session over.
- **Try-ons.** Each item brought in starts a try-on (``tryon.started``); leaving the room
  (to any other zone, or departing) or the session's end ends it (``tryon.ended``).
- **Left in room.** Items still in the room when their session ends are reported once as
  :class:`ItemsLeft` (a staff task: clear the room); when the last of them has left the room,
  :class:`RoomCleared`. They never show on the next session's tablet.
- Every change of a session (item in or out, member recognised, end) is reported as a
  :class:`SessionChanged`, on which the engine asks the recommender for the room's tablet.

Times are the inputs' own; session ends are stamped with the time their rule fired (the
last activity plus the threshold, or the input that showed a new occupant), never with the
tick's time, so replays are identical.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from edge.config.fusion import FusionConfig
from edge.events.base import EventFactory, ms_to_datetime
from edge.events.fusion import TryOnEnded, TryOnEndedPayload, TryOnStarted, TryOnStartedPayload
from edge.fusion.ids import stable_id
from edge.fusion.visits import SOURCE


@dataclass(frozen=True, slots=True)
class TryOnStart:
    session_id: str
    zone: str
    epc: str
    gtin: str | None
    member_id: str | None
    ts_ms: int

    def to_event(self, factory: EventFactory) -> TryOnStarted:
        return factory.make(
            TryOnStarted,
            ts_ms=self.ts_ms,
            source=SOURCE,
            payload=TryOnStartedPayload(
                session_id=self.session_id,
                zone=self.zone,
                epc=self.epc,
                gtin=self.gtin,
                member_id=self.member_id,
            ),
        )


@dataclass(frozen=True, slots=True)
class TryOnEnd:
    session_id: str
    zone: str
    epc: str
    gtin: str | None
    member_id: str | None
    started_ms: int
    ts_ms: int

    def to_event(self, factory: EventFactory) -> TryOnEnded:
        return factory.make(
            TryOnEnded,
            ts_ms=self.ts_ms,
            source=SOURCE,
            payload=TryOnEndedPayload(
                session_id=self.session_id,
                zone=self.zone,
                epc=self.epc,
                gtin=self.gtin,
                member_id=self.member_id,
                started=ms_to_datetime(self.started_ms),
                duration_s=(self.ts_ms - self.started_ms) / 1000,
            ),
        )


class SessionChange(StrEnum):
    ITEM_IN = "item_in"
    ITEM_OUT = "item_out"
    MEMBER = "member"
    ENDED = "ended"


@dataclass(frozen=True, slots=True)
class RoomItem:
    epc: str
    gtin: str | None
    since_ms: int


@dataclass(frozen=True, slots=True)
class RoomSnapshot:
    """A fitting room's session as the tablet shows it (and the recommender sees it)."""

    session_id: str
    zone: str
    started_ms: int
    member_id: str | None
    items: tuple[RoomItem, ...]
    """In arrival order; only this session's (never what an earlier occupant left)."""
    ended_ms: int | None = None

    @property
    def gtins(self) -> tuple[str, ...]:
        return tuple(item.gtin for item in self.items if item.gtin is not None)


@dataclass(frozen=True, slots=True)
class SessionChanged:
    change: SessionChange
    session: RoomSnapshot
    ts_ms: int


@dataclass(frozen=True, slots=True)
class ItemsLeft:
    """Session ``session_id`` ended with ``items`` still in ``zone``: staff should clear them."""

    zone: str
    session_id: str
    items: tuple[RoomItem, ...]
    ts_ms: int


@dataclass(frozen=True, slots=True)
class RoomCleared:
    """The last item session ``session_id`` left behind in ``zone`` has gone."""

    zone: str
    session_id: str
    left_ms: int
    """When the items were left (the :class:`ItemsLeft`)."""
    ts_ms: int


RoomOutput = TryOnStart | TryOnEnd | SessionChanged | ItemsLeft | RoomCleared


@dataclass(slots=True)
class _Session:
    session_id: str
    zone: str
    started_ms: int
    member_id: str | None = None
    """Shown on the tablet and on try-ons: recognised here, in this session, and consented."""
    person_id: str | None = None
    """Whoever the camera recognised first in this session (consented or not): tells a new
    occupant from the same one. Never leaves this module."""
    items: dict[str, RoomItem] = field(default_factory=dict)
    face_until_ms: int = 0
    deliveries: int = 0
    """Items asked for from the tablet (size requests) and not brought in yet: an arrival
    while one is awaited is the delivery, not a new occupant."""
    brought: int = 0
    """Items brought in during the session."""
    taken_out: int = 0
    """... and taken out again."""
    last_in_ms: int = 0
    last_out_ms: int | None = None
    last_activity_ms: int = 0

    def snapshot(self, ended_ms: int | None = None) -> RoomSnapshot:
        return RoomSnapshot(
            session_id=self.session_id,
            zone=self.zone,
            started_ms=self.started_ms,
            member_id=self.member_id,
            items=tuple(self.items.values()),
            ended_ms=ended_ms,
        )

    def left_with_items(self) -> bool:
        """At least half of what was brought in went out again, the last move being out:
        the shopper has gone with (most of) their items. One item handed out of three is
        not leaving, and several shoppers sharing a room (which RFID cannot tell apart)
        rarely look like it."""
        return (
            self.last_out_ms is not None
            and self.last_out_ms >= self.last_in_ms
            and 2 * self.taken_out >= self.brought
        )

    def vacating(self, ts_ms: int) -> bool:
        """The shopper left with their items and no face is present at ``ts_ms``."""
        return self.left_with_items() and self.face_until_ms < ts_ms


@dataclass(slots=True)
class _LeftBehind:
    zone: str
    session_id: str
    left_ms: int
    epcs: set[str]


class FittingRooms:
    def __init__(self, config: FusionConfig, rooms: Iterable[str]) -> None:
        self.rooms = frozenset(rooms)
        self._presence_ms = round(config.presence_s * 1000)
        self._idle_end_ms = round(config.room_idle_end_s * 1000)
        self._vacated_ms = round(config.room_vacated_after_s * 1000)
        self._abandoned_ms = round(config.room_abandoned_after_s * 1000)
        self._sessions: dict[str, _Session] = {}
        self._where: dict[str, str] = {}
        """EPC -> room, for the items in a session."""
        self._left: dict[str, _LeftBehind] = {}
        """EPC -> the task it belongs to, for items left behind by an ended session."""

    # Inputs -------------------------------------------------------------------------------
    def item_in(self, zone: str, epc: str, gtin: str | None, ts_ms: int) -> list[RoomOutput]:
        if zone not in self.rooms or self._where.get(epc) == zone:
            return []
        outputs: list[RoomOutput] = []
        session = self._sessions.get(zone)
        if session is not None and session.deliveries:
            # Staff bring what the tablet asked for (the first arrival after the request).
            session.deliveries -= 1
        elif session is not None and session.vacating(ts_ms):
            # Someone brings items in after the last occupant left with theirs.
            outputs.extend(self._end(zone, ts_ms))
        session = self._open(zone, ts_ms)
        item = RoomItem(epc=epc, gtin=gtin, since_ms=ts_ms)
        session.items[epc] = item
        session.brought += 1
        self._where[epc] = zone
        session.last_in_ms = max(session.last_in_ms, ts_ms)
        session.last_activity_ms = max(session.last_activity_ms, ts_ms)
        start = TryOnStart(session.session_id, zone, epc, gtin, session.member_id, ts_ms)
        outputs += [start, SessionChanged(SessionChange.ITEM_IN, session.snapshot(), ts_ms)]
        return outputs

    def item_out(self, epc: str, ts_ms: int) -> list[RoomOutput]:
        """The item left the room it was in (moved elsewhere or departed); [] if in none."""
        left = self._left.pop(epc, None)
        if left is not None:
            left.epcs.discard(epc)
            if left.epcs:
                return []
            return [RoomCleared(left.zone, left.session_id, left.left_ms, ts_ms)]
        zone = self._where.pop(epc, None)
        if zone is None:
            return []
        session = self._sessions[zone]
        item = session.items.pop(epc)
        session.taken_out += 1
        session.last_out_ms = max(session.last_out_ms or 0, ts_ms)
        session.last_activity_ms = max(session.last_activity_ms, ts_ms)
        return [
            self._end_tryon(session, item, ts_ms),
            SessionChanged(SessionChange.ITEM_OUT, session.snapshot(), ts_ms),
        ]

    def face(
        self,
        zone: str,
        person_id: str,
        member_id: str | None,
        first_seen_ms: int,
        last_seen_ms: int,
    ) -> list[RoomOutput]:
        """``person_id`` recognised by ``zone``'s own camera from ``first_seen_ms`` to
        ``last_seen_ms``; ``member_id`` is theirs when they consented to personalised service,
        else None (the face still means the room is occupied)."""
        if zone not in self.rooms:
            return []
        outputs: list[RoomOutput] = []
        session = self._sessions.get(zone)
        if session is not None:
            if last_seen_ms < session.started_ms:
                # Reported late, seen before this session began: an earlier occupant.
                return []
            if _new_occupant(session, person_id, first_seen_ms):
                outputs.extend(self._end(zone, first_seen_ms))
        session = self._open(zone, first_seen_ms)
        session.face_until_ms = max(session.face_until_ms, last_seen_ms + self._presence_ms)
        session.last_activity_ms = max(session.last_activity_ms, last_seen_ms)
        if session.person_id is None:
            session.person_id = person_id
        if member_id is None or session.member_id is not None or session.person_id != person_id:
            # A companion (or anyone after the occupant) does not take the session over.
            return outputs
        session.member_id = member_id
        outputs.append(SessionChanged(SessionChange.MEMBER, session.snapshot(), last_seen_ms))
        return outputs

    def item_requested(self, zone: str) -> None:
        """The room's tablet asked staff for an item (another size or colour): the next
        arrival after the shopper handed items out is that item, for the same session."""
        session = self._sessions.get(zone)
        if session is not None:
            session.deliveries += 1

    def tick(self, now_ms: int) -> list[RoomOutput]:
        due: list[tuple[int, str]] = []
        for zone, session in self._sessions.items():
            end_ms = self._end_time(session)
            if end_ms <= now_ms:
                due.append((end_ms, zone))
        outputs: list[RoomOutput] = []
        for end_ms, zone in sorted(due):
            outputs.extend(self._end(zone, end_ms))
        return outputs

    # Queries ------------------------------------------------------------------------------
    def snapshot(self, zone: str) -> RoomSnapshot | None:
        session = self._sessions.get(zone)
        return session.snapshot() if session is not None else None

    def room_of(self, epc: str) -> str | None:
        """The room whose open session holds this item, else None."""
        return self._where.get(epc)

    def left_in(self, epc: str) -> str | None:
        """The room this item was left behind in (its session over), else None."""
        left = self._left.get(epc)
        return left.zone if left is not None else None

    # Rules --------------------------------------------------------------------------------
    def _open(self, zone: str, ts_ms: int) -> _Session:
        session = self._sessions.get(zone)
        if session is None:
            session = _Session(
                session_id=stable_id("fs", zone, ts_ms),
                zone=zone,
                started_ms=ts_ms,
                last_in_ms=ts_ms,
                last_activity_ms=ts_ms,
            )
            self._sessions[zone] = session
        return session

    def _end(self, zone: str, end_ms: int) -> list[RoomOutput]:
        """End the room's session at ``end_ms``: its items' try-ons end, the tablet is
        cleared, and what is still in the room is left behind for staff."""
        session = self._sessions.pop(zone)
        outputs: list[RoomOutput] = []
        left = tuple(session.items.values())
        for item in left:
            del self._where[item.epc]
            outputs.append(self._end_tryon(session, item, end_ms))
        outputs.append(
            SessionChanged(SessionChange.ENDED, session.snapshot(ended_ms=end_ms), end_ms)
        )
        if left:
            task = _LeftBehind(zone, session.session_id, end_ms, {item.epc for item in left})
            for item in left:
                self._left[item.epc] = task
            outputs.append(ItemsLeft(zone, session.session_id, left, end_ms))
        return outputs

    def _end_time(self, session: _Session) -> int:
        """When the session ends if nothing else happens."""
        moved_ms = max(session.last_in_ms, session.last_out_ms or 0)
        if not session.items:
            return max(moved_ms, session.face_until_ms) + self._idle_end_ms
        if session.left_with_items():
            return max(moved_ms, session.face_until_ms) + self._vacated_ms
        return max(session.last_activity_ms, session.face_until_ms) + self._abandoned_ms

    @staticmethod
    def _end_tryon(session: _Session, item: RoomItem, ts_ms: int) -> TryOnEnd:
        return TryOnEnd(
            session_id=session.session_id,
            zone=session.zone,
            epc=item.epc,
            gtin=item.gtin,
            member_id=session.member_id,
            started_ms=item.since_ms,
            ts_ms=max(ts_ms, item.since_ms),
        )


def _new_occupant(session: _Session, person_id: str, first_seen_ms: int) -> bool:
    """Does a face of ``person_id`` first seen at ``first_seen_ms`` show someone new in the
    room? Another person after the session's person was last present, or anyone after the
    session's items started leaving with no face present."""
    if session.person_id is not None and session.person_id != person_id:
        return first_seen_ms >= session.face_until_ms
    if session.person_id is None:
        return session.vacating(first_seen_ms) and first_seen_ms > (session.last_out_ms or 0)
    return False
