"""The simulated shop floor: items moving between zones, and what a reader's antennas read of
them (RSSI around -55 dBm with jitter and a fixed per-antenna orientation offset, missed reads,
bursts, short shadows, weak cross-reads by antennas covering a neighbouring zone).

Every reader family's simulation asks :class:`AntennaRadio` what an antenna reads while it
inventories; the R2000 module asks it when the driver's commands make it inventory an antenna,
the MQTT readers per round (:func:`reads_of_reader`).
"""

from __future__ import annotations

import math
import random
from bisect import bisect_left, bisect_right, insort
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from edge.replay.scenarios import COMPANY_PREFIX, GONE, Crowd, Scenario
from edge.rfid.epc import decode_epc, encode_sgtin96


@dataclass(frozen=True, slots=True)
class RadioModel:
    """How antennas see tags; the defaults give 2-4 reads per second per tag and antenna."""

    rssi_dbm: float = -55.0
    jitter_db: float = 2.5
    orientation_db: float = 2.0
    """Spread of a fixed per item-and-antenna offset (tag orientation, distance)."""
    cross_rssi_dbm: float = -72.0
    cross_read_p: float = 0.15
    miss_p: float = 0.55
    burst_p: float = 0.04
    shadow_p_per_s: float = 0.02
    """Chance per second that an item goes unread for 1-3 s."""


SHADOW_MAX_MS = 3000


@dataclass(frozen=True, slots=True)
class SimItem:
    label: str
    epc: str
    gtin: str
    path: tuple[tuple[int, str], ...]
    """``(t_ms, zone or "gone")`` from the start on, in time order."""
    shadows: tuple[tuple[int, int], ...] = ()

    def zone_at(self, t_ms: int) -> str:
        index = bisect_right([at for at, _ in self.path], t_ms) - 1
        return self.path[max(index, 0)][1]

    def shadowed(self, t_ms: int) -> bool:
        # Shadows are in start order and last at most SHADOW_MAX_MS: look at the recent ones.
        index = bisect_right(self.shadows, t_ms, key=lambda shadow: shadow[0]) - 1
        while index >= 0 and self.shadows[index][0] > t_ms - SHADOW_MAX_MS:
            if t_ms < self.shadows[index][1]:
                return True
            index -= 1
        return False

    def moves(self) -> list[dict[str, Any]]:
        """Zone changes as a tracker should see them: unread transit is skipped, and a final
        ``gone`` (the item left the store) is a move to ``gone``."""
        moves: list[dict[str, Any]] = []
        current = self.path[0][1]
        for index, (t_ms, zone) in enumerate(self.path[1:], start=1):
            last = index == len(self.path) - 1
            if (zone == GONE and not last) or zone == current:
                continue
            moves.append({"t_ms": t_ms, "from": current, "to": zone})
            current = zone
        return moves


@dataclass(frozen=True, slots=True)
class SimRead:
    t_ms: int
    antenna: int
    item: SimItem
    rssi_dbm: float


def build_items(
    scenario: Scenario, start_ms: int, radio: RadioModel, rng: random.Random
) -> list[SimItem]:
    items = []
    for spec in scenario.items:
        epc = encode_sgtin96(COMPANY_PREFIX, spec.item_reference, spec.serial)
        gtin = decode_epc(epc).gtin or ""
        path = tuple((start_ms + round(stay.at_s * 1000), stay.zone) for stay in spec.stays)
        shadows = []
        seconds: Iterator[int] = (
            bernoulli_picks(rng, int(scenario.duration_s), radio.shadow_p_per_s)
            if scenario.crowd
            else (s for s in range(int(scenario.duration_s)) if rng.random() < radio.shadow_p_per_s)
        )
        for second in seconds:
            begin = start_ms + second * 1000 + rng.randrange(1000)
            shadows.append((begin, begin + rng.randint(1000, SHADOW_MAX_MS)))
        items.append(SimItem(spec.label, epc, gtin, path, tuple(shadows)))
    return items


def round_times(rng: random.Random, start_ms: int, end_ms: int, round_ms: int) -> Iterator[int]:
    t = start_ms + rng.randrange(round_ms)
    jitter = max(1, round_ms // 20)
    while t < end_ms:
        yield t
        t += round_ms + rng.randint(-jitter, jitter)


def bernoulli_picks(rng: random.Random, n: int, p: float) -> Iterator[int]:
    """The indices in ``range(n)`` that succeed, each with chance ``p``: geometric skipping,
    so the cost is the number of successes, not ``n``."""
    if p <= 0:
        return
    if p >= 1:
        yield from range(n)
        return
    log_miss = math.log1p(-p)
    index = -1
    while True:
        index += 1 + int(math.log(1.0 - rng.random()) / log_miss)
        if index >= n:
            return
        yield index


class Presence:
    """Which items are in which zone, as time goes on (asked in non-decreasing time)."""

    def __init__(self, items: list[SimItem]) -> None:
        self._changes = sorted(
            (t_ms, index, order, zone)
            for index, item in enumerate(items)
            for order, (t_ms, zone) in enumerate(item.path[1:])
        )
        self._next = 0
        self._zone = [item.path[0][1] for item in items]
        self.members: dict[str, list[int]] = {}
        for index, zone in enumerate(self._zone):
            self.members.setdefault(zone, []).append(index)

    def advance(self, t_ms: int) -> None:
        changes = self._changes
        while self._next < len(changes) and changes[self._next][0] <= t_ms:
            _, index, _, zone = changes[self._next]
            self._next += 1
            old = self.members[self._zone[index]]
            del old[bisect_left(old, index)]
            insort(self.members.setdefault(zone, []), index)
            self._zone[index] = zone

    def in_zone(self, zone: str) -> list[int]:
        return self.members.get(zone, [])


class AntennaRadio:
    """What one reader's antennas read of the items, asked in non-decreasing time."""

    def __init__(
        self,
        rng: random.Random,
        antennas: dict[int, str],
        neighbours: frozenset[tuple[str, str]],
        items: list[SimItem],
        radio: RadioModel,
        crowd: Crowd | None = None,
    ) -> None:
        ports = sorted(antennas)
        self._rng = rng
        self._antennas = antennas
        self._items = items
        self._radio = radio
        self._crowd = crowd
        self._orientation = {
            (item.epc, port): rng.gauss(0, radio.orientation_db) for item in items for port in ports
        }
        self._near = {
            zone: sorted({other for other, this in neighbours if this == zone})
            for zone in set(antennas.values())
        }
        self._presence = Presence(items)

    def read(self, port: int, t_antenna: int, dwell_ms: int, round_ms: int) -> list[SimRead]:
        """The reads of antenna ``port`` inventoried from ``t_antenna`` for ``dwell_ms``, in
        time order; ``round_ms``: how often the antenna is inventoried (a crowd's capacity)."""
        rng, radio, items, crowd = self._rng, self._radio, self._items, self._crowd
        orientation = self._orientation

        def answer(item: SimItem, level: float, seen: list[SimRead]) -> None:
            times = rng.randint(2, 4) if rng.random() < radio.burst_p else 1
            for _ in range(times):
                rssi = level + orientation[(item.epc, port)] + rng.gauss(0, radio.jitter_db)
                seen.append(SimRead(t_antenna + rng.randrange(dwell_ms), port, item, rssi))

        zone = self._antennas.get(port)
        if zone is None:
            return []  # an antenna with a cable but nothing in view
        presence = self._presence
        presence.advance(t_antenna)
        own = presence.in_zone(zone)
        cross = sorted(i for other in self._near[zone] for i in presence.in_zone(other))
        seen: list[SimRead] = []
        if crowd is None:
            # Item order, as a reader that tries every tag in view each round.
            for index in sorted(own + cross):
                item = items[index]
                if item.zone_at(t_antenna) == zone:
                    read_p, level = 1 - radio.miss_p, radio.rssi_dbm
                else:
                    read_p, level = radio.cross_read_p, radio.cross_rssi_dbm
                if item.shadowed(t_antenna) or rng.random() >= read_p:
                    continue
                answer(item, level, seen)
        else:
            own_p, cross_p = _crowded_read_p(radio, crowd, len(own), len(cross), round_ms)
            for group, read_p, level in (
                (own, own_p, radio.rssi_dbm),
                (cross, cross_p, radio.cross_rssi_dbm),
            ):
                for pick in bernoulli_picks(rng, len(group), read_p):
                    item = items[group[pick]]
                    if not item.shadowed(t_antenna):
                        answer(item, level, seen)
        rng.shuffle(seen)  # a reader answers in no particular tag order
        return sorted(seen, key=lambda read: read.t_ms)


def reads_of_reader(
    rng: random.Random,
    antennas: dict[int, str],
    neighbours: frozenset[tuple[str, str]],
    items: list[SimItem],
    radio: RadioModel,
    start_ms: int,
    end_ms: int,
    round_ms: int,
    crowd: Crowd | None = None,
) -> Iterator[tuple[int, list[SimRead]]]:
    """Per inventory round of an MQTT reader: its start time and its reads, antenna by
    antenna (the reader schedules its own rounds)."""
    ports = sorted(antennas)
    air = AntennaRadio(rng, antennas, neighbours, items, radio, crowd)
    dwell_ms = round_ms // (2 * len(ports)) or 1
    for t_round in round_times(rng, start_ms, end_ms - round_ms, round_ms):
        reads: list[SimRead] = []
        for slot, port in enumerate(ports):
            reads.extend(air.read(port, t_round + slot * dwell_ms, dwell_ms, round_ms))
        yield t_round, reads


def _crowded_read_p(
    radio: RadioModel, crowd: Crowd, own: int, cross: int, round_ms: int
) -> tuple[float, float]:
    """Read chances of a tag of the antenna's zone and of a neighbouring one, in one round,
    when the antenna can read only ``crowd.antenna_reads_per_s``."""
    own_p, cross_p = 1 - radio.miss_p, radio.cross_read_p
    capacity = crowd.antenna_reads_per_s * round_ms / 1000
    expected = own * own_p + cross * cross_p
    if expected > capacity:
        scale = capacity / expected
        own_p, cross_p = own_p * scale, cross_p * scale * crowd.capture_effect
    return own_p, cross_p
