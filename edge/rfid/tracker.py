"""The tag tracker: where each item is, and what changed.

A pure state machine (docs/architecture.md): timestamped :class:`~edge.rfid.reads.TagRead` s
and ticks
in, :class:`TagChange` s out; no I/O, no clock of its own. ``process`` places tags (arrived,
moved, returned); ``tick`` departs tags that went unread for too long. The algorithm, its
thresholds and their reasons are in docs/tracker.md.

``process`` runs for every raw read (100,000+ per second in ``o2o-edge bench rfid``), so it
is written for CPython speed: slots classes, a small ring of RSSI values plus a running sum
per zone, no allocation when nothing changes, and no work proportional to the number of tags.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from edge.config.store import StoreConfig
from edge.config.tracker import TrackerConfig
from edge.config.zones import ZoneKind
from edge.events.base import EventFactory, ms_to_datetime
from edge.events.rfid import (
    TagArrived,
    TagArrivedPayload,
    TagDeparted,
    TagDepartedPayload,
    TagEvent,
    TagMoved,
    TagMovedPayload,
    TagReturned,
    TagReturnedPayload,
)
from edge.rfid.epc import decode_epc
from edge.rfid.epc import gtin_of as sgtin_gtin_of
from edge.rfid.reads import TagRead
from edge.rfid.stock import StockView

GtinOf = Callable[[str], str | None]
"""EPC (upper-case hex) -> GTIN-14, or None when the EPC carries no GTIN."""

AntennaMap = Mapping[tuple[str, int], str]
"""(reader id, antenna port) -> zone id."""

MISSING_RSSI_DBM = -60.0
"""RSSI a read without one counts as (readers with RSSI switched off): a typical in-zone
read, so such reads place tags by count and recency and neither win nor lose much against
measured reads (docs/tracker.md)."""

SOURCE = "rfid/tracker"
"""The source of ``tag.*`` events."""


class ChangeKind(StrEnum):
    ARRIVED = "arrived"
    MOVED = "moved"
    DEPARTED = "departed"
    RETURNED = "returned"


class TagState(StrEnum):
    SEEN = "seen"
    """Read, but not yet ``min_reads_for_zone`` times in one zone: not placed anywhere."""
    PRESENT = "present"
    DEPARTED = "departed"


@dataclass(frozen=True, slots=True)
class TagChange:
    kind: ChangeKind
    epc: str
    gtin: str | None
    zone: str
    """Zone the tag is in now; for a departure, the zone it was in (where stock drops)."""
    zone_kind: ZoneKind
    reader_id: str
    """Reader of the read that decided the change (departures: of the last read)."""
    antenna: int
    rssi_dbm: float
    """Smoothed RSSI (dBm, window mean) in the zone of that read."""
    ts_ms: int
    """Time of the deciding read; for a departure, last_seen_ms + the threshold that ran out."""
    from_zone: str | None = None
    """Moves: the zone the tag left."""
    via_exit: bool = False
    """Departures: the tag was in, or last read at, an exit zone."""
    last_zone: str | None = None
    """Departures: zone of the last read (an exit for via_exit, maybe not ``zone``)."""
    last_seen_ms: int | None = None
    """Departures: time of the last read; returns: of the last read before the departure."""
    absent_ms: int | None = None
    """Returns: ts_ms - last_seen_ms."""

    def to_event(self, factory: EventFactory) -> TagEvent:
        """The event for this change, stamped with the change's time."""
        common: dict[str, Any] = {
            "epc": self.epc,
            "gtin": self.gtin,
            "zone": self.zone,
            "zone_kind": self.zone_kind.value,
            "reader_id": self.reader_id,
            "antenna": self.antenna,
            "rssi_dbm": self.rssi_dbm,
        }
        make = factory.make
        ts_ms = self.ts_ms
        if self.kind is ChangeKind.ARRIVED:
            return make(TagArrived, ts_ms=ts_ms, source=SOURCE, payload=TagArrivedPayload(**common))
        if self.kind is ChangeKind.MOVED:
            assert self.from_zone is not None
            payload = TagMovedPayload(**common, from_zone=self.from_zone)
            return make(TagMoved, ts_ms=ts_ms, source=SOURCE, payload=payload)
        if self.kind is ChangeKind.DEPARTED:
            assert self.last_seen_ms is not None
            departed = TagDepartedPayload(
                **common,
                via_exit=self.via_exit,
                last_seen=ms_to_datetime(self.last_seen_ms),
                last_zone=self.last_zone,
            )
            return make(TagDeparted, ts_ms=ts_ms, source=SOURCE, payload=departed)
        assert self.absent_ms is not None
        returned = TagReturnedPayload(**common, absent_s=self.absent_ms / 1000)
        return make(TagReturned, ts_ms=ts_ms, source=SOURCE, payload=returned)


@dataclass(slots=True)
class TrackerStats:
    reads: int = 0
    unmapped_reads: int = 0
    """Reads from a (reader, antenna) that maps to no zone: ignored."""
    arrived: int = 0
    moved: int = 0
    departed: int = 0
    returned: int = 0
    forgotten: int = 0
    """Tags dropped from memory: never placed, or departed long ago."""
    undecoded: dict[str, int] = field(default_factory=dict)
    """Distinct tags whose EPC does not decode, by reason (edge/rfid/epc.py): a foreign or
    badly written tag, not a reader fault. Such tags are still tracked, without a GTIN."""


def move_margin_db(
    threshold_db: float,
    unread_ms: int,
    holdoff_ms: float,
    slope_db_per_ms: float,
    floor_db: float,
) -> float:
    """How much a candidate zone must beat the current one by, in dB (negative: how much
    weaker than the current zone it may be).

    The full threshold while the current zone was read within the holdoff, then falling by
    ``slope_db_per_ms`` for every ms it stays unread, down to ``-floor_db``: the current zone's
    RSSI ages, as in EdgeX's mobility profile, but a zone ``floor_db`` weaker never wins while
    the current one still competes (a weak cross-read never beats a strong zone that merely
    went quiet, however long the quiet).
    """
    if unread_ms <= holdoff_ms:
        return threshold_db
    margin = threshold_db - slope_db_per_ms * (unread_ms - holdoff_ms)
    return margin if margin > -floor_db else -floor_db


class _Window:
    """The last ``size`` RSSI values of one tag in one zone (a ring), with their sum.

    A preallocated list rather than a ``deque(maxlen=...)``: a deque takes 760 bytes, times
    zones per tag, times tags; this list takes 120 and measured faster in ``bench rfid``.
    """

    __slots__ = ("count", "last_ms", "next", "rssi", "sum_dbm")

    def __init__(self, size: int, ts_ms: int) -> None:
        self.rssi = [0.0] * size
        self.count = 0
        self.next = 0
        self.sum_dbm = 0.0
        self.last_ms = ts_ms

    def mean_dbm(self) -> float:
        return self.sum_dbm / self.count


class _Tag:
    __slots__ = (
        "epc",
        "gone_since_ms",
        "gtin",
        "last_read",
        "last_seen_ms",
        "last_zone",
        "sighting_ms",
        "state",
        "windows",
        "zone",
    )

    def __init__(self, epc: str, gtin: str | None, read: TagRead, zone: str) -> None:
        self.epc = epc
        self.gtin = gtin
        self.state = TagState.SEEN
        self.zone: str | None = None
        """Current zone while PRESENT, else None (one comparison on the hot path)."""
        self.windows: dict[str, _Window] = {}
        self.last_seen_ms = read.ts_ms
        self.last_read = read
        self.last_zone = zone
        self.gone_since_ms = 0
        self.sighting_ms = read.ts_ms
        """First read of the current sighting: since creation, the last departure, or a silence
        (no read anywhere) longer than ``hysteresis_max_s``. Placing waits the settle time."""


class TagTracker:
    """Tag locations from raw reads; see the module docstring and docs/tracker.md."""

    def __init__(
        self,
        config: TrackerConfig,
        zones: Mapping[str, ZoneKind],
        antennas: AntennaMap,
        gtin_of: GtinOf = sgtin_gtin_of,
    ) -> None:
        for (reader_id, port), zone in antennas.items():
            if zone not in zones:
                raise ValueError(
                    f"Reader {reader_id} antenna {port} maps to zone '{zone}', "
                    "which is not defined."
                )
        self.config = config
        self.stats = TrackerStats()
        self._gtin_of = gtin_of
        self._zone_kinds = {zone: ZoneKind(kind) for zone, kind in zones.items()}
        # reader id -> port -> zone: no tuple to build per read. One str object per zone id:
        # the hot path's zone comparison is then an identity check.
        canonical = {zone: zone for zone in self._zone_kinds}
        self._ports: dict[str, dict[int, str]] = {}
        for (reader_id, port), zone in antennas.items():
            self._ports.setdefault(reader_id, {})[port] = canonical[zone]
        self._departed_after_ms = {
            zone: round(config.departed_after_s[kind] * 1000)
            for zone, kind in self._zone_kinds.items()
        }
        self._is_exit = {zone: kind is ZoneKind.EXIT for zone, kind in self._zone_kinds.items()}
        self._window_size = config.rssi_window
        self._min_reads = config.min_reads_for_zone
        self._stale_ms = round(config.read_stale_s * 1000)
        self._threshold_db = config.move_threshold_db
        self._holdoff_ms = config.hysteresis_holdoff_s * 1000
        self._slope_db_per_ms = config.hysteresis_slope_db_per_s / 1000
        self._floor_db = config.hysteresis_floor_db
        self._compete_ms = round(config.hysteresis_max_s * 1000)
        self._settle_ms = round(config.arrival_settle_s * 1000)
        self._forget_ms = round(config.forget_departed_after_s * 1000)
        # Tags read more recently than this need no look in a tick.
        self._tick_min_age_ms = min(
            self._stale_ms, self._forget_ms, *self._departed_after_ms.values()
        )
        self._tags: dict[str, _Tag] = {}
        self._stock = StockView()

    @classmethod
    def from_store_config(cls, cfg: StoreConfig, gtin_of: GtinOf = sgtin_gtin_of) -> TagTracker:
        zones = {zone.id: zone.kind for zone in cfg.zones}
        antennas = {
            (reader.id, port): zone
            for reader in cfg.readers
            for port, zone in reader.port_zones().items()
        }
        return cls(cfg.tracker, zones, antennas, gtin_of)

    def _note_undecoded(self, epc: str) -> None:
        reason = decode_epc(epc).reason
        if reason is not None:
            undecoded = self.stats.undecoded
            undecoded[reason.value] = undecoded.get(reason.value, 0) + 1

    # Inputs -------------------------------------------------------------------------------
    def process(self, read: TagRead) -> list[TagChange]:
        """Take one read; returns the arrival, move or return it causes (usually nothing)."""
        stats = self.stats
        stats.reads += 1
        ports = self._ports.get(read.reader_id)
        zone = ports.get(read.antenna) if ports is not None else None
        if zone is None:
            stats.unmapped_reads += 1
            return []
        epc = read.epc
        ts_ms = read.ts_ms
        tag = self._tags.get(epc)
        if tag is None:
            gtin = self._gtin_of(epc)
            if gtin is None:
                self._note_undecoded(epc)
            tag = self._tags[epc] = _Tag(epc, gtin, read, zone)
        window = tag.windows.get(zone)
        if window is None:
            window = tag.windows[zone] = _Window(self._window_size, ts_ms)
        elif ts_ms - window.last_ms > self._stale_ms:
            window.count = 0
            window.sum_dbm = 0.0
        rssi = read.rssi_dbm
        if rssi is None:
            rssi = MISSING_RSSI_DBM
        size = self._window_size
        slot = window.next
        count = window.count
        if count == size:
            window.sum_dbm += rssi - window.rssi[slot]
        else:
            window.sum_dbm += rssi
            window.count = count = count + 1
        window.rssi[slot] = rssi
        window.next = slot + 1 if slot + 1 < size else 0
        if ts_ms > window.last_ms:
            window.last_ms = ts_ms
        if ts_ms >= tag.last_seen_ms:
            if ts_ms - tag.last_seen_ms > self._compete_ms:
                tag.sighting_ms = ts_ms
            tag.last_seen_ms = ts_ms
            tag.last_read = read
            tag.last_zone = zone
        if zone == tag.zone or count < self._min_reads:
            return []
        return self._place(tag, zone, window, read)

    def _place(self, tag: _Tag, zone: str, window: _Window, read: TagRead) -> list[TagChange]:
        """A zone other than the tag's has enough reads: arrive, return or maybe move there."""
        state = tag.state
        ts_ms = read.ts_ms
        mean_dbm = window.mean_dbm()
        current: _Window | None = None
        if state is TagState.PRESENT:
            assert tag.zone is not None
            current = tag.windows[tag.zone]
            unread_ms = ts_ms - current.last_ms
            if unread_ms <= self._compete_ms:
                margin = move_margin_db(
                    self._threshold_db,
                    unread_ms,
                    self._holdoff_ms,
                    self._slope_db_per_ms,
                    self._floor_db,
                )
                if mean_dbm <= current.mean_dbm() + margin:
                    return []
            elif ts_ms - tag.sighting_ms < self._settle_ms:
                # Seen again after a silence longer than the current zone competes: placed
                # afresh, as a new tag is, so the first cross-reads do not win the race.
                return []
        else:
            if state is TagState.DEPARTED and tag.sighting_ms <= tag.gone_since_ms:
                tag.sighting_ms = ts_ms
            if ts_ms - tag.sighting_ms < self._settle_ms:
                return []
        # Only the strongest fresh zone may take the tag, even over zones with too few reads
        # yet: the first neighbour to collect two cross-reads must not win a brief race. The
        # other zones' RSSI ages like the current zone's (which competed above), from no margin:
        # a zone that read the tag a moment ago no longer holds off one reading it now.
        stale_ms = self._stale_ms
        for other in tag.windows.values():
            unread_ms = ts_ms - other.last_ms
            if other is window or other is current or unread_ms > stale_ms:
                continue
            aged = move_margin_db(
                0.0, unread_ms, self._holdoff_ms, self._slope_db_per_ms, self._floor_db
            )
            if other.mean_dbm() - mean_dbm > -aged:
                return []
        if state is TagState.PRESENT:
            change = self._change(ChangeKind.MOVED, tag, zone, window, read, from_zone=tag.zone)
            self.stats.moved += 1
        elif state is TagState.SEEN:
            change = self._change(ChangeKind.ARRIVED, tag, zone, window, read)
            self.stats.arrived += 1
        else:
            change = self._change(
                ChangeKind.RETURNED,
                tag,
                zone,
                window,
                read,
                last_seen_ms=tag.gone_since_ms,
                absent_ms=read.ts_ms - tag.gone_since_ms,
            )
            self.stats.returned += 1
        tag.state = TagState.PRESENT
        tag.zone = zone
        apply_change(self._stock, change)
        return [change]

    def _change(
        self,
        kind: ChangeKind,
        tag: _Tag,
        zone: str,
        window: _Window,
        read: TagRead,
        *,
        from_zone: str | None = None,
        last_seen_ms: int | None = None,
        absent_ms: int | None = None,
    ) -> TagChange:
        return TagChange(
            kind=kind,
            epc=tag.epc,
            gtin=tag.gtin,
            zone=zone,
            zone_kind=self._zone_kinds[zone],
            reader_id=read.reader_id,
            antenna=read.antenna,
            rssi_dbm=round(window.mean_dbm(), 2),
            ts_ms=read.ts_ms,
            from_zone=from_zone,
            last_seen_ms=last_seen_ms,
            absent_ms=absent_ms,
        )

    def tick(self, now_ms: int) -> list[TagChange]:
        """Depart tags unread for their zone's threshold; forget stale or long-gone tags.

        O(tags) with a cheap skip for recently read ones; meant for about once a second.
        Departures come sorted by (last_seen_ms, epc).
        """
        min_age_ms = self._tick_min_age_ms
        due: list[tuple[int, str, int, bool]] = []
        forget: list[str] = []
        for tag in self._tags.values():
            age_ms = now_ms - tag.last_seen_ms
            if age_ms < min_age_ms:
                continue
            state = tag.state
            if state is TagState.PRESENT:
                zone = tag.zone
                assert zone is not None
                after_ms = self._departed_after_ms[zone]
                via_exit = self._is_exit[zone]
                if self._is_exit[tag.last_zone]:
                    # Read at an exit and then nowhere: gone through it (Intel RSP rule).
                    via_exit = True
                    after_ms = min(after_ms, self._departed_after_ms[tag.last_zone])
                if age_ms >= after_ms:
                    due.append((tag.last_seen_ms, tag.epc, after_ms, via_exit))
            elif state is TagState.SEEN:
                if age_ms > self._stale_ms:
                    forget.append(tag.epc)
            elif age_ms >= self._forget_ms:
                forget.append(tag.epc)
        for epc in forget:
            del self._tags[epc]
        self.stats.forgotten += len(forget)
        due.sort()
        return [
            self._depart(self._tags[epc], after_ms, via_exit) for _, epc, after_ms, via_exit in due
        ]

    def _depart(self, tag: _Tag, after_ms: int, via_exit: bool) -> TagChange:
        zone = tag.zone
        assert zone is not None
        read = tag.last_read
        change = TagChange(
            kind=ChangeKind.DEPARTED,
            epc=tag.epc,
            gtin=tag.gtin,
            zone=zone,
            zone_kind=self._zone_kinds[zone],
            reader_id=read.reader_id,
            antenna=read.antenna,
            rssi_dbm=round(tag.windows[tag.last_zone].mean_dbm(), 2),
            ts_ms=tag.last_seen_ms + after_ms,
            via_exit=via_exit,
            last_zone=tag.last_zone,
            last_seen_ms=tag.last_seen_ms,
        )
        self.stats.departed += 1
        apply_change(self._stock, change)
        tag.state = TagState.DEPARTED
        tag.zone = None
        tag.gone_since_ms = tag.last_seen_ms
        # Fresh windows: a return is decided on new reads only (as EdgeX resets its stats).
        tag.windows = {}
        return change

    # Queries ------------------------------------------------------------------------------
    def location(self, epc: str) -> str | None:
        """Zone of a present tag, else None."""
        tag = self._tags.get(epc)
        return tag.zone if tag is not None else None

    def state(self, epc: str) -> TagState | None:
        """State of a tag the tracker remembers, else None."""
        tag = self._tags.get(epc)
        return tag.state if tag is not None else None

    def stock(self) -> dict[str, dict[str, int]]:
        """``{gtin: {zone: count}}`` of present tags."""
        return self._stock.stock()

    def gtin_of(self, epc: str) -> str | None:
        """The GTIN of an EPC, tracked or not (None when it carries none)."""
        tag = self._tags.get(epc)
        return tag.gtin if tag is not None else self._gtin_of(epc.upper())

    def where_is(self, gtin: str) -> list[tuple[str, str]]:
        """Present tags of a GTIN and their zones, sorted by zone then EPC (a pick list)."""
        found = [
            (tag.epc, tag.zone)
            for tag in self._tags.values()
            if tag.gtin == gtin and tag.state is TagState.PRESENT and tag.zone is not None
        ]
        return sorted(found, key=lambda pair: (pair[1], pair[0]))

    def stock_of(self, gtin: str) -> dict[str, int]:
        return self._stock.stock_of(gtin)

    def tags_in_zone(self, zone: str) -> list[str]:
        return self._stock.tags_in_zone(zone)

    @property
    def tags_tracked(self) -> int:
        """Tags in memory (seen, present or departed and not yet forgotten)."""
        return len(self._tags)

    @property
    def tags_present(self) -> int:
        return self._stock.total()


def apply_change(view: StockView, change: TagChange) -> None:
    """Replay one change onto a stock view (the tracker does the same to its own)."""
    if change.kind is ChangeKind.ARRIVED or change.kind is ChangeKind.RETURNED:
        view.add(change.epc, change.gtin, change.zone)
    elif change.kind is ChangeKind.MOVED:
        assert change.from_zone is not None
        view.remove(change.epc, change.gtin, change.from_zone)
        view.add(change.epc, change.gtin, change.zone)
    else:
        view.remove(change.epc, change.gtin, change.zone)
