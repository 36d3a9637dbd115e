"""Fitting-room sessions: a pure state machine on item moves, faces and ticks.

- A room is occupied when an item arrives in it or its camera recognises a member; that
  opens a session. A session holds the member (recognised *and* consented to personalised
  service; otherwise it stays anonymous), the items brought in, and its start.
- Each item brought in starts a try-on (``tryon.started``); leaving the room (to any other
  zone, or departing) ends it (``tryon.ended``, with its duration).
- A recognised face keeps the room occupied for ``fusion.presence_s`` after the sighting
  (cameras report a member once per face track, not per frame).
- The session ends ``fusion.room_idle_end_s`` after the room last had neither an item nor a
  face. Items forgotten in a room must not keep it open forever: once nothing has moved and
  no face was seen for ``fusion.room_abandoned_after_s``, the session ends anyway and the
  try-ons of the items still there end with it (they are then usually ``left_in_room``).
- Every change of a session (item in or out, member recognised, end) is reported as a
  :class:`SessionChanged`, on which the engine asks the recommender for the room's tablet.

Times are the inputs' own; session ends are stamped with the time their rule fired (the
last activity plus the threshold), never with the tick's time, so replays are identical.
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
    """In arrival order."""
    ended_ms: int | None = None

    @property
    def gtins(self) -> tuple[str, ...]:
        return tuple(item.gtin for item in self.items if item.gtin is not None)


@dataclass(frozen=True, slots=True)
class SessionChanged:
    change: SessionChange
    session: RoomSnapshot
    ts_ms: int


RoomOutput = TryOnStart | TryOnEnd | SessionChanged


@dataclass(slots=True)
class _Session:
    session_id: str
    zone: str
    started_ms: int
    member_id: str | None = None
    items: dict[str, RoomItem] = field(default_factory=dict)
    face_until_ms: int = 0
    last_activity_ms: int = 0
    empty_since_ms: int | None = None

    def snapshot(self, ended_ms: int | None = None) -> RoomSnapshot:
        return RoomSnapshot(
            session_id=self.session_id,
            zone=self.zone,
            started_ms=self.started_ms,
            member_id=self.member_id,
            items=tuple(self.items.values()),
            ended_ms=ended_ms,
        )


class FittingRooms:
    def __init__(self, config: FusionConfig, rooms: Iterable[str]) -> None:
        self.rooms = frozenset(rooms)
        self._presence_ms = round(config.presence_s * 1000)
        self._idle_end_ms = round(config.room_idle_end_s * 1000)
        self._abandoned_ms = round(config.room_abandoned_after_s * 1000)
        self._sessions: dict[str, _Session] = {}
        self._where: dict[str, str] = {}
        """EPC -> room, for the items in a session."""

    # Inputs -------------------------------------------------------------------------------
    def item_in(self, zone: str, epc: str, gtin: str | None, ts_ms: int) -> list[RoomOutput]:
        if zone not in self.rooms or self._where.get(epc) == zone:
            return []
        session = self._open(zone, ts_ms)
        item = RoomItem(epc=epc, gtin=gtin, since_ms=ts_ms)
        session.items[epc] = item
        self._where[epc] = zone
        session.last_activity_ms = max(session.last_activity_ms, ts_ms)
        session.empty_since_ms = None
        start = TryOnStart(session.session_id, zone, epc, gtin, session.member_id, ts_ms)
        return [start, SessionChanged(SessionChange.ITEM_IN, session.snapshot(), ts_ms)]

    def item_out(self, epc: str, ts_ms: int) -> list[RoomOutput]:
        """The item left the room it was in (moved elsewhere or departed); [] if in none."""
        zone = self._where.pop(epc, None)
        if zone is None:
            return []
        session = self._sessions[zone]
        item = session.items.pop(epc)
        session.last_activity_ms = max(session.last_activity_ms, ts_ms)
        if not session.items:
            session.empty_since_ms = ts_ms
        return [
            self._end_tryon(session, item, ts_ms),
            SessionChanged(SessionChange.ITEM_OUT, session.snapshot(), ts_ms),
        ]

    def face(
        self, zone: str, member_id: str | None, first_seen_ms: int, last_seen_ms: int
    ) -> list[RoomOutput]:
        """A member recognised in ``zone``; ``member_id`` is None when they did not consent
        to personalised service (the face still means the room is occupied)."""
        if zone not in self.rooms:
            return []
        session = self._open(zone, first_seen_ms)
        session.face_until_ms = max(session.face_until_ms, last_seen_ms + self._presence_ms)
        session.last_activity_ms = max(session.last_activity_ms, last_seen_ms)
        if member_id is None or session.member_id is not None:
            # The first member recognised keeps the room: a companion does not take it over.
            return []
        session.member_id = member_id
        return [SessionChanged(SessionChange.MEMBER, session.snapshot(), last_seen_ms)]

    def tick(self, now_ms: int) -> list[RoomOutput]:
        due: list[tuple[int, str]] = []
        for zone, session in self._sessions.items():
            end_ms = self._end_time(session)
            if end_ms <= now_ms:
                due.append((end_ms, zone))
        outputs: list[RoomOutput] = []
        for end_ms, zone in sorted(due):
            session = self._sessions.pop(zone)
            for item in session.items.values():
                del self._where[item.epc]
                outputs.append(self._end_tryon(session, item, end_ms))
            outputs.append(
                SessionChanged(SessionChange.ENDED, session.snapshot(ended_ms=end_ms), end_ms)
            )
        return outputs

    # Queries ------------------------------------------------------------------------------
    def snapshot(self, zone: str) -> RoomSnapshot | None:
        session = self._sessions.get(zone)
        return session.snapshot() if session is not None else None

    def room_of(self, epc: str) -> str | None:
        """The room whose open session holds this item, else None."""
        return self._where.get(epc)

    # Rules --------------------------------------------------------------------------------
    def _open(self, zone: str, ts_ms: int) -> _Session:
        session = self._sessions.get(zone)
        if session is None:
            session = _Session(
                session_id=stable_id("fs", zone, ts_ms),
                zone=zone,
                started_ms=ts_ms,
                last_activity_ms=ts_ms,
                empty_since_ms=ts_ms,
            )
            self._sessions[zone] = session
        return session

    def _end_time(self, session: _Session) -> int:
        """When the session ends if nothing else happens."""
        if session.empty_since_ms is not None:
            return max(session.empty_since_ms, session.face_until_ms) + self._idle_end_ms
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
