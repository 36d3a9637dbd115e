"""``o2o-edge bench llrp``: tag reads per second through LLRP stream framing, RO_ACCESS_REPORT
decoding and the tag tracker, on one core.

The store and its shoppers are those of ``o2o-edge bench rfid`` (5,000 SGTIN-96 tags, 8 readers
x 4 antennas, items moving shelf -> fitting room -> shelf or till -> exit), but every reader
speaks LLRP: each RO_ACCESS_REPORT carries 100 TagReportData with the content the LLRP driver
asks an Impinj reader for (EPC-96, AntennaID, PeakRSSI, first/last seen UTC, TagSeenCount,
ImpinjRFPhaseAngle, ImpinjPeakRSSI, ImpinjRFDopplerFrequency); a KEEPALIVE every second. Each
reader's messages are one TCP byte stream cut into 64 KiB reads, as ``recv`` returns them.

Timed, as the driver and the owner loop run them: ``LlrpFramer.feed`` per read,
``ReportDecoder.reads`` per report (with the clock-offset and drift check), one
``TagTracker.process`` per read and a ``tick`` per simulated second. ``decode_only`` times
framing and decoding alone. The first report is checked against the generic codec, so the
fast path and the specification's layout agree.
"""

from __future__ import annotations

import argparse
import gc
import random
import resource
import struct
import sys
from collections import Counter
from typing import Any

from edge.bench.rfid import (
    ANTENNAS,
    READERS,
    TAGS,
    ZONES,
    _clear_decode_caches,
    _epcs,
    _new_tracker,
    _picks,
    _pin_to_one_core,
    _Store,
    _Timing,
    rate_figures,
)
from edge.rfid.llrp.codec import decode_body, encode_body, frame
from edge.rfid.llrp.framing import LlrpFramer
from edge.rfid.llrp.reports import ReportDecoder, tag_details
from edge.rfid.llrp.spec import CUSTOM, HEADER_LEN, IMPINJ, Impinj, MessageType

READS_FULL = 1_000_000
READS_QUICK = 100_000
TAGS_PER_REPORT = 100
READS_PER_READER_S = 800
"""A fixed reader inventories several hundred tags a second."""
RECV_BYTES = 64 * 1024
T0_MS = 1_763_800_000_000
TARGET_READS_PER_S = 150_000
MAX_DRIFT_MS = 5000

TRD = struct.Struct(">HHB12sBHBbBQBQBHHHIIHHHIIhHHIIh")
"""One TagReportData with the TV and Impinj custom parameters listed above."""


def _trd(epc: bytes, antenna: int, rssi_centi: int, seen_us: int, rng: random.Random) -> bytes:
    return TRD.pack(
        240, TRD.size,
        0x80 | 13, epc,
        0x80 | 1, antenna,
        0x80 | 6, round(rssi_centi / 100),
        0x80 | 2, seen_us,
        0x80 | 4, seen_us,
        0x80 | 8, 1,
        CUSTOM, 14, IMPINJ, Impinj.RFPhaseAngle, rng.randrange(4096),
        CUSTOM, 14, IMPINJ, Impinj.PeakRSSI, rssi_centi,
        CUSTOM, 14, IMPINJ, Impinj.RFDopplerFrequency, rng.randrange(-320, 320),
    )  # fmt: skip


def build_workload(total_reads: int, seed: int = 1) -> tuple[list[tuple[int, int, bytes]], int]:
    """Reads ``(reader index, receive time ms, bytes)`` in arrival order, and seconds simulated."""
    rng = random.Random(seed)
    store = _Store(rng)
    epcs = _epcs()
    streams = [bytearray() for _ in READERS]
    pending: list[list[bytes]] = [[] for _ in READERS]
    chunks: list[tuple[int, int, bytes]] = []
    msg_ids = [0] * len(READERS)
    reads = second = 0
    while reads < total_reads:
        for r, picks in _picks(rng, store, second, READS_PER_READER_S):
            for n, a in enumerate(picks):
                tags = store.tags_at[a]
                ms = T0_MS + second * 1000 + (n * 1000) // READS_PER_READER_S
                rssi = round(rng.gauss(-55.0, 3.0) * 100)
                tag = tags[int(rng.random() * len(tags))]
                pending[r].append(_trd(epcs[tag], a % 4 + 1, rssi, ms * 1000 + n % 1000, rng))
                reads += 1
                if len(pending[r]) == TAGS_PER_REPORT:
                    msg_ids[r] += 1
                    streams[r] += frame(
                        MessageType.RO_ACCESS_REPORT, b"".join(pending[r]), msg_ids[r]
                    )
                    pending[r].clear()
                    _cut(chunks, streams[r], r, ms)
            msg_ids[r] += 1
            streams[r] += frame(MessageType.KEEPALIVE, b"", msg_ids[r])
        second += 1
    for r, stream in enumerate(streams):
        if stream:
            chunks.append((r, T0_MS + second * 1000, bytes(stream)))
    chunks.sort(key=lambda chunk: (chunk[1], chunk[0]))
    return chunks, second


def _cut(chunks: list[tuple[int, int, bytes]], stream: bytearray, r: int, ts_ms: int) -> None:
    while len(stream) >= RECV_BYTES:
        chunks.append((r, ts_ms, bytes(stream[:RECV_BYTES])))
        del stream[:RECV_BYTES]


def _check_layout(chunks: list[tuple[int, int, bytes]]) -> None:
    """The hand-packed TagReportData agree with the generic codec, field for field."""
    framer = LlrpFramer()
    first = next(f for _, _, data in chunks for f in framer.feed(data) if f.type == 61)
    message = decode_body(first.type, first.body)
    if encode_body(message) != first.body:
        raise AssertionError("the generic codec does not re-encode the workload")
    detail = tag_details(message)[0]
    fast = ReportDecoder().reads(first.data, HEADER_LEN, "r", T0_MS, 0, 10**12).reads[0]
    if (detail.epc, detail.antenna, detail.peak_rssi_dbm) != (
        fast.epc,
        fast.antenna,
        fast.rssi_dbm,
    ):
        raise AssertionError(f"fast path {fast} disagrees with the codec {detail}")


def _progress(message: str) -> None:
    print(f"bench llrp: {message}", file=sys.stderr, flush=True)


def _pipeline(
    chunks: list[tuple[int, int, bytes]], track: bool
) -> tuple[_Timing, int, Counter[str]]:
    _clear_decode_caches()
    framers = [LlrpFramer() for _ in READERS]
    decoders = [ReportDecoder() for _ in READERS]
    tracker = _new_tracker()
    process, tick = tracker.process, tracker.tick
    kinds: Counter[str] = Counter()
    reads = 0
    next_tick = T0_MS + 1000
    report = MessageType.RO_ACCESS_REPORT
    with _Timing() as timing:
        for r, ts_ms, chunk in chunks:
            reader_id = READERS[r]
            decode = decoders[r].reads
            for message in framers[r].feed(chunk):
                if message.type != report:
                    continue
                batch = decode(message.data, HEADER_LEN, reader_id, ts_ms, 0, MAX_DRIFT_MS).reads
                reads += len(batch)
                if track:
                    for read in batch:
                        for change in process(read):
                            kinds[change.kind] += 1
            if track:
                while next_tick <= ts_ms:
                    for change in tick(next_tick):
                        kinds[change.kind] += 1
                    next_tick += 1000
    return timing, reads, kinds


def run(args: argparse.Namespace) -> dict[str, Any]:
    quick = bool(getattr(args, "quick", False))
    core = _pin_to_one_core()
    total = READS_QUICK if quick else READS_FULL
    _progress(f"generating {total:,} reads in reports of {TAGS_PER_REPORT} tags")
    chunks, simulated_s = build_workload(total)
    _check_layout(chunks)
    workload_bytes = sum(len(chunk) for _, _, chunk in chunks)
    gc.collect()
    gc.freeze()
    _progress("timing framing + decoding + tracking")
    full, reads, kinds = _pipeline(chunks, track=True)
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    _progress("timing framing + decoding only")
    decode, decoded, _ = _pipeline(chunks, track=False)
    reads_per_s = reads / full.cpu_s
    return {
        "reads": reads,
        "tags": TAGS,
        "readers": len(READERS),
        "antennas": len(ANTENNAS),
        "zones": len(ZONES),
        "tags_per_report": TAGS_PER_REPORT,
        "reports": reads // TAGS_PER_REPORT,
        "tag_report_data_bytes": TRD.size,
        "events": sum(kinds.values()),
        "events_by_kind": {str(kind): kinds[kind] for kind in sorted(kinds)},
        "simulated_s": simulated_s,
        "recv_bytes": RECV_BYTES,
        "workload_mb": round(workload_bytes / 2**20, 1),
        **rate_figures(full, reads),
        "decode_only_reads_per_s": round(decoded / decode.cpu_s),
        "decode_only_reads_per_wall_s": round(decoded / decode.wall_s),
        "peak_rss_mb": round(peak_rss_mb, 1),
        "target_reads_per_s": TARGET_READS_PER_S,
        "meets_target": reads_per_s >= TARGET_READS_PER_S,
        "cpu_core": core,
        "quick": quick,
        "python": sys.version.split()[0],
    }
