"""``o2o-edge bench rfid``: raw reads per second through R2000 frame parsing, EPC decoding and
the tag tracker, on one core.

The workload is a simulated large store: 5,000 distinct SGTIN-96 tags on 8 R2000 readers x 4
antennas (shelves, fitting rooms, checkouts, entrance, exit, backroom), about 400 reads per
second per reader with RSSI jitter, cross-reads by the neighbouring antenna and shoppers moving
items (shelf -> fitting room -> shelf or checkout -> exit). The readers' byte streams are
generated up front with the real frame encoders, as a module answers the driver's default
command, 0x8A fast switch over its four antennas: tag frames, one summary frame per command,
and now and then a missing-antenna reply (a loose cable on the backroom reader). They are cut
into 4 KiB chunks, each stamped with the time its last byte arrived, as the serial driver
stamps its reads.

Timed, in the order the serial driver and the owner loop run them: ``R2000Parser.feed`` per
chunk (with its time, for the idle flush), the driver's command loop on the chunk's frames
(``InventoryCommander.on_frames``), one ``TagRead`` per tag frame, ``TagTracker.process``
(which decodes each EPC to its GTIN the first time it sees the tag; decode caches are cleared
first), and ``tick`` once per simulated second. ``parse_only`` and ``track_only`` time the
two halves alone.
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import resource
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from edge.config.readers import R2000SerialReader
from edge.config.tracker import TrackerConfig
from edge.config.zones import ZoneKind
from edge.rfid.epc import decode_epc, encode_sgtin96, gtin_of
from edge.rfid.r2000 import (
    CMD_FAST_SWITCH_INVENTORY,
    R2000Parser,
    TagFrame,
    encode_antenna_missing,
    encode_fast_switch_done,
    encode_tag_frame,
    pc_for_epc,
)
from edge.rfid.r2000_inventory import InventoryCommander
from edge.rfid.reads import TagRead
from edge.rfid.tracker import TagTracker

TAGS = 5_000
READS_FULL = 1_000_000
READS_QUICK = 100_000
READS_PER_READER_S = 400
"""An R2000 module at 115200 baud delivers a few hundred 96-bit reads a second."""
CHUNK_BYTES = 4096
ROUND_READS = 50
"""Tag frames per 0x8A fast switch command (over the reader's four antennas); each command
ends with the module's summary frame, upon which the driver sends the next."""
ROUND_MS = ROUND_READS * 1000 // READS_PER_READER_S
FAST_SWITCH = CMD_FAST_SWITCH_INVENTORY
CHUNK_IDLE_MS = 2_000
LOOSE_READER, LOOSE_EVERY = 7, 10
"""The backroom reader's antenna 4 has a loose cable: every 10th command reports it missing."""
CROSS_READ_SHARE = 0.12
T0_MS = 1_763_800_000_000
TARGET_READS_PER_S = 100_000

# Reader i's antennas 1..4, a larger version of firmware_configs/demo_store.yaml.
LAYOUT: list[list[str]] = [
    ["shelf-a", "shelf-a", "shelf-b", "shelf-b"],
    ["shelf-c", "shelf-c", "shelf-d", "shelf-d"],
    ["shelf-e", "shelf-e", "shelf-f", "shelf-f"],
    ["shelf-g", "shelf-g", "shelf-h", "shelf-h"],
    ["shelf-i", "shelf-j", "shelf-k", "shelf-l"],
    ["fitting-1", "fitting-2", "fitting-3", "fitting-4"],
    ["pos-1", "pos-2", "entrance", "exit"],
    ["backroom", "backroom", "backroom", "backroom"],
]
READERS = [f"reader-{n + 1}" for n in range(len(LAYOUT))]


def _zone_kind(zone: str) -> ZoneKind:
    prefix = zone.split("-")[0]
    return {"fitting": ZoneKind.FITTING_ROOM}.get(prefix) or ZoneKind(prefix)


ZONES = {zone: _zone_kind(zone) for row in LAYOUT for zone in row}
ANTENNAS = {
    (READERS[r], port + 1): zone for r, row in enumerate(LAYOUT) for port, zone in enumerate(row)
}


def _progress(message: str) -> None:
    print(f"bench rfid: {message}", file=sys.stderr, flush=True)


class _Store:
    """Where each tag is (by antenna index 0..31) and how shoppers move them."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.kind_of = [ZONES[LAYOUT[a // 4][a % 4]] for a in range(32)]
        self.by_kind: dict[ZoneKind, list[int]] = {}
        for a, kind in enumerate(self.kind_of):
            self.by_kind.setdefault(kind, []).append(a)
        self.tags_at: list[list[int]] = [[] for _ in range(32)]
        shelves, rooms = self.by_kind[ZoneKind.SHELF], self.by_kind[ZoneKind.FITTING_ROOM]
        backroom = self.by_kind[ZoneKind.BACKROOM]
        for tag in range(TAGS):
            if tag < 1_000:
                home = backroom[tag % len(backroom)]
            elif tag < 1_200:
                home = rooms[tag % len(rooms)]
            else:
                home = shelves[tag % len(shelves)]
            self.tags_at[home].append(tag)
        self.leaving: list[tuple[int, int]] = []  # (second, tag) read at the exit, then gone

    def _move(self, from_kind: ZoneKind, to_kind: ZoneKind) -> int | None:
        rng = self.rng
        source = self.tags_at[rng.choice(self.by_kind[from_kind])]
        if not source:
            return None
        tag = source.pop(rng.randrange(len(source)))
        self.tags_at[rng.choice(self.by_kind[to_kind])].append(tag)
        return tag

    def shoppers(self, second: int) -> None:
        """A few items change place every second; items at the exit leave after 2 s."""
        for _ in range(3):
            self._move(ZoneKind.SHELF, ZoneKind.FITTING_ROOM)
        for _ in range(2):
            self._move(ZoneKind.FITTING_ROOM, ZoneKind.SHELF)
        self._move(ZoneKind.FITTING_ROOM, ZoneKind.POS)
        tag = self._move(ZoneKind.POS, ZoneKind.EXIT)
        if tag is not None:
            self.leaving.append((second + 2, tag))
        while self.leaving and self.leaving[0][0] <= second:
            _, gone = self.leaving.pop(0)
            for tags in self.tags_at:
                if gone in tags:
                    tags.remove(gone)


def _epcs() -> list[bytes]:
    """The store's tags, SGTIN-96, as bytes."""
    return [
        bytes.fromhex(encode_sgtin96("0614141", f"{1 + tag // 10:06d}", tag)) for tag in range(TAGS)
    ]


def _picks(
    rng: random.Random, store: _Store, second: int, per_reader_s: int
) -> Iterator[tuple[int, list[int]]]:
    """One simulated second: shoppers move items, then per reader the antenna (0..31) of each
    of its ``per_reader_s`` reads, weighted by the tags each antenna sees."""
    store.shoppers(second)
    for r in range(len(READERS)):
        antennas = range(r * 4, r * 4 + 4)
        weights = [len(store.tags_at[a]) for a in antennas]
        if sum(weights):
            yield r, rng.choices(list(antennas), weights=weights, k=per_reader_s)


def build_workload(total_reads: int, seed: int = 1) -> tuple[list[tuple[int, int, bytes]], int]:
    """Chunks ``(reader index, receive time ms, bytes)`` in arrival order, and the seconds
    simulated. Frames come from the real encoders; chunk cuts fall anywhere in a frame."""
    rng = random.Random(seed)
    store = _Store(rng)
    epcs = _epcs()
    pc = pc_for_epc(epcs[0])
    buffers = [bytearray() for _ in READERS]
    in_round = [0] * len(READERS)
    commands = [0] * len(READERS)
    chunks: list[tuple[int, int, bytes]] = []
    reads = 0
    second = 0
    gauss, random_ = rng.gauss, rng.random
    while reads < total_reads:
        for r, picks in _picks(rng, store, second, READS_PER_READER_S):
            buf = buffers[r]
            for n, a in enumerate(picks):
                source, mean = a, -55.0
                if random_() < CROSS_READ_SHARE:
                    neighbour = a + (1 if a % 4 < 3 else -1)
                    if store.tags_at[neighbour]:
                        source, mean = neighbour, -68.0
                tags = store.tags_at[source]
                tag = tags[int(random_() * len(tags))]
                raw = min(max(round(gauss(mean, 3.0)) + 129, 0), 255)
                buf += encode_tag_frame(r + 1, a % 4 + 1, pc, epcs[tag], raw, cmd=FAST_SWITCH)
                reads += 1
                in_round[r] += 1
                if in_round[r] == ROUND_READS:
                    commands[r] += 1
                    if r == LOOSE_READER and commands[r] % LOOSE_EVERY == 0:
                        buf += encode_antenna_missing(r + 1, 4)
                    buf += encode_fast_switch_done(r + 1, ROUND_READS, ROUND_MS)
                    in_round[r] = 0
                if len(buf) >= CHUNK_BYTES:
                    ts_ms = T0_MS + second * 1000 + (n * 1000) // READS_PER_READER_S
                    chunks.append((r, ts_ms, bytes(buf[:CHUNK_BYTES])))
                    del buf[:CHUNK_BYTES]
        second += 1
        if second % 50 == 0:
            _progress(f"generated {reads:,} reads ({second} simulated s)")
    for r, buf in enumerate(buffers):
        if buf:
            chunks.append((r, T0_MS + second * 1000, bytes(buf)))
    chunks.sort(key=lambda chunk: (chunk[1], chunk[0]))
    return chunks, second


def _new_tracker() -> TagTracker:
    return TagTracker(TrackerConfig(), ZONES, ANTENNAS)


def _clear_decode_caches() -> None:
    gtin_of.cache_clear()
    decode_epc.cache_clear()


@dataclass
class _Timing:
    """CPU seconds (what one core spent: the figure, as this box may be shared) and wall."""

    cpu_s: float = 0.0
    wall_s: float = 0.0

    def __enter__(self) -> _Timing:
        self._cpu0, self._wall0 = time.process_time(), time.perf_counter()
        return self

    def __exit__(self, *_: object) -> None:
        self.cpu_s += time.process_time() - self._cpu0
        self.wall_s += time.perf_counter() - self._wall0


def _full_pipeline(
    chunks: list[tuple[int, int, bytes]],
) -> tuple[_Timing, int, Counter[str], TagTracker, _Timing]:
    """Parse + decode + track, exactly as the serial driver and the owner loop do it."""
    _clear_decode_caches()
    # A 4 KiB chunk stands for half a second of one reader's line (a driver reads as the bytes
    # come): the idle flush's gap scales with it, so only a silent line would flush.
    parsers = [R2000Parser(r + 1, idle_flush_ms=CHUNK_IDLE_MS) for r in range(len(READERS))]
    commanders = _commanders()
    tracker = _new_tracker()
    process, tick = tracker.process, tracker.tick
    kinds: Counter[str] = Counter()
    reads = 0
    next_tick = T0_MS + 1000
    report_every = max(len(chunks) // 10, 1)
    ticks = _Timing()
    with _Timing() as timing:
        for n, (r, ts_ms, chunk) in enumerate(chunks):
            reader_id = READERS[r]
            frames = parsers[r].feed(chunk, ts_ms)
            # The driver's command loop: the next 0x8A on each summary frame.
            commanders[r].on_frames(frames, ts_ms)
            for frame in frames:
                if type(frame) is TagFrame:
                    reads += 1
                    read = TagRead(
                        reader_id, frame.antenna, frame.epc_hex, float(frame.rssi_dbm), ts_ms
                    )
                    for change in process(read):
                        kinds[change.kind] += 1
            while next_tick <= ts_ms:
                with ticks:
                    for change in tick(next_tick):
                        kinds[change.kind] += 1
                next_tick += 1000
            if n % report_every == report_every - 1:
                _progress(f"full pipeline: {reads:,} reads")
    kinds["commands_sent"] = sum(p.stats["fast_switch_done"] for p in parsers)
    kinds["antenna_missing"] = sum(p.stats["antenna_missing"] for p in parsers)
    return timing, reads, kinds, tracker, ticks


def _commanders() -> list[InventoryCommander]:
    """Each reader's command loop, as the serial driver runs it (0x8A over antennas 1-4)."""
    return [
        InventoryCommander(
            R2000SerialReader(
                id=reader_id,
                kind="r2000_serial",
                port="loop://",
                address=r + 1,
                antennas=dict(enumerate(LAYOUT[r], start=1)),
            )
        )
        for r, reader_id in enumerate(READERS)
    ]


def _parse_only(chunks: list[tuple[int, int, bytes]]) -> tuple[_Timing, int]:
    parsers = [R2000Parser(r + 1) for r in range(len(READERS))]
    reads = 0
    with _Timing() as timing:
        for r, _, chunk in chunks:
            for frame in parsers[r].feed(chunk):
                if type(frame) is TagFrame:
                    reads += 1
    return timing, reads


def _track_only(chunks: list[tuple[int, int, bytes]]) -> tuple[_Timing, int]:
    """Time only the tracker: each chunk is parsed (untimed) just before its reads are fed."""
    _clear_decode_caches()
    parsers = [R2000Parser(r + 1) for r in range(len(READERS))]
    tracker = _new_tracker()
    process, tick = tracker.process, tracker.tick
    reads = 0
    next_tick = T0_MS + 1000
    timing = _Timing()
    for r, ts_ms, chunk in chunks:
        reader_id = READERS[r]
        batch = [
            TagRead(reader_id, frame.antenna, frame.epc_hex, float(frame.rssi_dbm), ts_ms)
            for frame in parsers[r].feed(chunk)
            if type(frame) is TagFrame
        ]
        with timing:
            for read in batch:
                process(read)
            while next_tick <= ts_ms:
                tick(next_tick)
                next_tick += 1000
        reads += len(batch)
    return timing, reads


def rate_figures(timing: _Timing, reads: int) -> dict[str, float]:
    """CPU time (the figure: one core's work, whatever else the box runs) and wall time."""
    return {
        "cpu_s": round(timing.cpu_s, 3),
        "wall_s": round(timing.wall_s, 3),
        "reads_per_s": round(reads / timing.cpu_s),
        "reads_per_wall_s": round(reads / timing.wall_s),
    }


def _decode_rate() -> float:
    """Uncached GTIN decodes per second over the 5,000 distinct EPCs."""
    epcs = [encode_sgtin96("0614141", f"{1 + tag // 10:06d}", tag) for tag in range(TAGS)]
    _clear_decode_caches()
    decode = gtin_of.__wrapped__
    start = time.perf_counter()
    for epc in epcs:
        decode(epc)
    return len(epcs) / (time.perf_counter() - start)


def _pin_to_one_core() -> int | None:
    if not hasattr(os, "sched_setaffinity"):
        return None
    core = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {core})
    return core


def run(args: argparse.Namespace) -> dict[str, Any]:
    quick = bool(getattr(args, "quick", False))
    core = _pin_to_one_core()
    total = READS_QUICK if quick else READS_FULL
    _progress(f"generating {total:,} reads of {TAGS:,} tags on {len(READERS)} readers")
    chunks, simulated_s = build_workload(total)
    workload_bytes = sum(len(chunk) for _, _, chunk in chunks)
    # The generated workload is not garbage the edge would have: keep the collector off it.
    gc.collect()
    gc.freeze()

    _progress("timing the full pipeline (parse + EPC decode + track)")
    full, reads, kinds, tracker, ticks = _full_pipeline(chunks)
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    _progress("timing parse only")
    parse, parsed = _parse_only(chunks)
    _progress("timing track only")
    track, tracked = _track_only(chunks)
    decode_per_s = _decode_rate()
    reads_per_s = reads / full.cpu_s
    commands_sent = kinds.pop("commands_sent")
    antenna_missing = kinds.pop("antenna_missing")
    return {
        "reads": reads,
        "tags": tracker.tags_tracked,
        "readers": len(READERS),
        "antennas": len(ANTENNAS),
        "zones": len(ZONES),
        "fast_switch_commands": commands_sent,
        "antenna_missing_replies": antenna_missing,
        "events": sum(kinds.values()),
        "events_by_kind": {str(kind): kinds[kind] for kind in sorted(kinds)},
        "tags_present_at_end": tracker.tags_present,
        "unmapped_reads": tracker.stats.unmapped_reads,
        "simulated_s": simulated_s,
        "chunk_bytes": CHUNK_BYTES,
        "chunks": len(chunks),
        "workload_mb": round(workload_bytes / 2**20, 1),
        **rate_figures(full, reads),
        "parse_only_reads_per_s": round(parsed / parse.cpu_s),
        "track_only_reads_per_s": round(tracked / track.cpu_s),
        "ticks": simulated_s,
        "tick_mean_ms": round(ticks.cpu_s * 1000 / max(simulated_s, 1), 3),
        "epc_decode_uncached_per_s": round(decode_per_s),
        "peak_rss_mb": round(peak_rss_mb, 1),
        "target_reads_per_s": TARGET_READS_PER_S,
        "meets_target": reads_per_s >= TARGET_READS_PER_S,
        "cpu_core": core,
        "quick": quick,
        "python": sys.version.split()[0],
    }
