"""``o2o-edge bench rfid``'s workload is what a module answers the driver's default command:
0x8A fast switch replies over each reader's four antennas, with summaries and the odd
missing-antenna reply; the timed pipeline parses and tracks all of it."""

from __future__ import annotations

from edge.bench.rfid import (
    CHUNK_IDLE_MS,
    LOOSE_EVERY,
    ROUND_READS,
    _full_pipeline,
    build_workload,
)
from edge.rfid.r2000 import R2000Parser, TagFrame


def test_the_workload_is_fast_switch_replies_and_the_pipeline_reads_them_all() -> None:
    chunks, _ = build_workload(20_000)
    parsers: dict[int, R2000Parser] = {}
    antennas: set[tuple[int, int]] = set()
    for reader, ts_ms, chunk in chunks:
        parser = parsers.setdefault(reader, R2000Parser(reader + 1, idle_flush_ms=CHUNK_IDLE_MS))
        antennas |= {
            (reader, f.antenna) for f in parser.feed(chunk, ts_ms) if isinstance(f, TagFrame)
        }
    stats = [p.stats for p in parsers.values()]
    reads = sum(s["tag_frames"] for s in stats)
    assert reads >= 20_000
    assert sum(s["inventory_done"] for s in stats) == 0  # no 0x89: the driver sends 0x8A
    summaries = sum(s["fast_switch_done"] for s in stats)
    assert summaries == sum(s["tag_frames"] // ROUND_READS for s in stats)
    assert 0 < sum(s["antenna_missing"] for s in stats) <= summaries // LOOSE_EVERY + 1
    assert sum(s["garbage_bytes"] + s["idle_flushed"] for s in stats) == 0
    assert len(antennas) >= 30  # the 32 antennas switched to (the exit is empty early on)

    timing, timed_reads, kinds, tracker, _ = _full_pipeline(chunks)
    assert timed_reads == reads and timing.cpu_s > 0
    assert kinds["commands_sent"] == summaries
    assert tracker.tags_tracked > 1_000
