"""Scenario builders for the tag tracker (the EdgeX ``readAll``/``verifyEventPattern`` style).

A small store: two neighbouring shelves, a fitting room with two antennas, a POS, an exit, a
backroom and an entrance, on two readers. Reads are built per zone with ``reads(...)``, fed in
time order with ticks on the way by ``read_all(...)``, and checked with ``assert_pattern``.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Iterable
from typing import Any, Protocol

import pytest

from edge.config.tracker import TrackerConfig
from edge.config.zones import ZoneKind
from edge.rfid.epc import encode_sgtin96, gtin_of
from edge.rfid.reads import TagRead
from edge.rfid.tracker import ChangeKind, TagChange, TagTracker

T0_MS = 1_763_800_000_000
"""A realistic epoch-ms start time (November 2025) for every scenario."""

COMPANY_PREFIX = "0614141"
ZONES: dict[str, ZoneKind] = {
    "shelf-a": ZoneKind.SHELF,
    "shelf-b": ZoneKind.SHELF,
    "fitting-1": ZoneKind.FITTING_ROOM,
    "pos": ZoneKind.POS,
    "exit": ZoneKind.EXIT,
    "backroom": ZoneKind.BACKROOM,
    "entrance": ZoneKind.ENTRANCE,
}
ANTENNAS: dict[tuple[str, int], str] = {
    ("r1", 1): "shelf-a",
    ("r1", 2): "shelf-b",
    ("r1", 3): "fitting-1",
    ("r1", 4): "fitting-1",
    ("r2", 1): "pos",
    ("r2", 2): "exit",
    ("r2", 3): "backroom",
    ("r2", 4): "entrance",
}
PORT_OF: dict[str, tuple[str, int]] = {}
for _port, _zone in ANTENNAS.items():
    PORT_OF.setdefault(_zone, _port)


def epc_of(item: int, serial: int) -> str:
    """SGTIN-96 of item reference ``item`` (indicator 0) of GS1 company 0614141."""
    return encode_sgtin96(COMPANY_PREFIX, f"{item:06d}", serial)


def gtin(item: int) -> str:
    """GTIN-14 of ``epc_of(item, ...)``."""
    found = gtin_of(epc_of(item, 1))
    assert found is not None
    return found


def make_tracker(**overrides: Any) -> TagTracker:
    """A tracker over the test store with default thresholds, except those overridden, and
    no arrival settle time (scenarios place tags at their first reads; the settle time has
    its own tests)."""
    overrides.setdefault("arrival_settle_s", 0.0)
    return TagTracker(TrackerConfig(**overrides), ZONES, ANTENNAS)


def reads(
    epc: str,
    zone: str,
    *,
    start_ms: int,
    count: int = 4,
    every_ms: int = 250,
    rssi: float | Iterable[float] = -55.0,
    port: tuple[str, int] | None = None,
) -> list[TagRead]:
    """``count`` reads of ``epc`` in ``zone`` (its first antenna unless ``port`` is given),
    ``every_ms`` apart from ``start_ms``; ``rssi`` is one value or one per read."""
    reader_id, antenna = port or PORT_OF[zone]
    values = [float(rssi)] * count if isinstance(rssi, int | float) else list(rssi)
    assert len(values) == count, "give one RSSI per read"
    return [
        TagRead(reader_id, antenna, epc, value, start_ms + n * every_ms)
        for n, value in enumerate(values)
    ]


def noisy(rng: random.Random, mean_dbm: float, sigma_db: float, count: int) -> list[float]:
    """Integer-dBm RSSI with Gaussian jitter, as R2000 readers report it."""
    return [float(round(rng.gauss(mean_dbm, sigma_db))) for _ in range(count)]


class Tracks(Protocol):
    """What ``read_all`` drives: the tracker, or a reference implementation of it."""

    def process(self, read: TagRead) -> list[TagChange]: ...

    def tick(self, now_ms: int) -> list[TagChange]: ...


def read_all(
    tracker: Tracks,
    *streams: Iterable[TagRead],
    tick_every_ms: int = 1000,
    until_ms: int | None = None,
) -> list[TagChange]:
    """Feed the reads of all streams in time order (stable within a stream), ticking the
    tracker at every ``tick_every_ms`` boundary passed, up to ``until_ms`` if given."""
    changes: list[TagChange] = []
    merged = list(
        heapq.merge(*(sorted(s, key=lambda r: r.ts_ms) for s in streams), key=lambda r: r.ts_ms)
    )
    next_tick = None
    for read in merged:
        if next_tick is None:
            next_tick = (read.ts_ms // tick_every_ms + 1) * tick_every_ms
        while next_tick <= read.ts_ms:
            changes.extend(tracker.tick(next_tick))
            next_tick += tick_every_ms
        changes.extend(tracker.process(read))
    if until_ms is not None:
        if next_tick is None:
            next_tick = until_ms
        while next_tick <= until_ms:
            changes.extend(tracker.tick(next_tick))
            next_tick += tick_every_ms
    return changes


Pattern = tuple[ChangeKind | str, str, str]
"""(kind, epc, zone) of one expected change."""


def assert_pattern(changes: list[TagChange], expected: list[Pattern]) -> None:
    """The changes, in order, are exactly these (kind, epc, zone) triples."""
    got = [(str(c.kind), c.epc, c.zone) for c in changes]
    want = [(str(kind), epc, zone) for kind, epc, zone in expected]
    assert got == want


@pytest.fixture
def tracker() -> TagTracker:
    return make_tracker()
