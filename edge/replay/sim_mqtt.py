"""What the simulated MQTT readers publish: Zebra IoT Connector tag data events (single or
batched) and Impinj R700 IoT device interface events, stamped with the reader's own clock,
which a scenario can make jump."""

from __future__ import annotations

import base64
import binascii
import json
import random
import zlib
from bisect import bisect_right
from collections.abc import Callable, Iterator
from typing import Any

from edge.replay.capture import format_utc
from edge.replay.sim_world import SimRead
from edge.rfid.r2000 import pc_for_epc

ZEBRA_BATCH_P = 0.5
IMPINJ_MULTI_P = 0.1
"""Chance that the R700 puts a round's events into one message (one JSON object per line)."""


def _zebra_time(t_ms: int) -> str:
    """``2023-02-24T10:14:42.851+0000``, the IoT Connector's timestamp format."""
    return format_utc(t_ms)[:-1] + "+0000"


def _impinj_time(t_ms: int) -> str:
    """``2024-03-05T14:02:11.482000Z``: the R700 writes microseconds."""
    return format_utc(t_ms)[:-1] + "000Z"


def _tag_crc(epc_hex: str) -> int:
    """The tag's StoredCRC: CRC-16/CCITT over PC and EPC, preset 0xFFFF, inverted (Gen2)."""
    epc = bytes.fromhex(epc_hex)
    return binascii.crc_hqx(pc_for_epc(epc).to_bytes(2, "big") + epc, 0xFFFF) ^ 0xFFFF


ReaderClock = Callable[[int], int]
"""True time (epoch ms) -> what the reader's own clock says."""


def reader_clock(jumps: list[tuple[int, int]]) -> ReaderClock:
    """A clock that is right until the first jump ``(at_ms, offset_ms)``, then off by it."""
    jumps = sorted(jumps)
    times = [at for at, _ in jumps]

    def clock(t_ms: int) -> int:
        index = bisect_right(times, t_ms) - 1
        return t_ms + (jumps[index][1] if index >= 0 else 0)

    return clock


def zebra_messages(
    rng: random.Random,
    rounds: Iterator[tuple[int, list[SimRead]]],
    report_ms: int | None = None,
    clock: ReaderClock = lambda t_ms: t_ms,
) -> Iterator[tuple[int, bytes]]:
    """Tag data events per round, some batched; with ``report_ms`` (IoT Connector batching)
    every event of each ``report_ms`` interval in one array (the last, unfinished interval
    would be sent after the capture ends)."""
    event_num = 0
    batch: list[tuple[int, dict[str, Any]]] = []
    batch_end_ms: int | None = None
    for t_round, reads in rounds:
        if report_ms is not None:
            batch_end_ms = batch_end_ms or t_round + report_ms
            if t_round >= batch_end_ms:
                if batch:
                    sent_ms = max(batch_end_ms, batch[-1][0]) + rng.randint(5, 40)
                    yield sent_ms, json_bytes([event for _, event in batch])
                    batch = []
                while batch_end_ms <= t_round:
                    batch_end_ms += report_ms
        events = []
        for read in reads:
            event_num += 1
            epc = bytes.fromhex(read.item.epc)
            events.append(
                (
                    read.t_ms,
                    {
                        "data": {
                            "CRC": f"{_tag_crc(read.item.epc):04x}",
                            "PC": f"{pc_for_epc(epc):04x}",
                            "antenna": read.antenna,
                            "channel": 902.75 + 0.5 * rng.randrange(50),
                            "eventNum": event_num,
                            "format": "epc",
                            "idHex": read.item.epc.lower(),
                            "peakRssi": round(read.rssi_dbm),
                            "phase": round(rng.uniform(-180, 180), 2),
                            "reads": 1,
                        },
                        "timestamp": _zebra_time(clock(read.t_ms)),
                        "type": "INVENTORY",
                    },
                )
            )
        if report_ms is not None:
            batch.extend(events)
        elif len(events) > 1 and rng.random() < ZEBRA_BATCH_P:
            received = events[-1][0] + rng.randint(5, 40)
            yield received, json_bytes([event for _, event in events])
        else:
            for t_ms, event in events:
                yield t_ms + rng.randint(5, 40), json_bytes(event)


def impinj_messages(
    rng: random.Random,
    hostname: str,
    start_ms: int,
    rounds: Iterator[tuple[int, list[SimRead]]],
    clock: ReaderClock = lambda t_ms: t_ms,
) -> Iterator[tuple[int, bytes]]:
    status_ms = start_ms + 100
    yield (
        status_ms + 5,
        json_bytes(
            {
                "timestamp": _impinj_time(clock(status_ms)),
                "hostname": hostname,
                "eventType": "inventoryStatus",
                "inventoryStatusEvent": {"status": "running"},
            }
        ),
    )
    for _, reads in rounds:
        events = []
        for read in reads:
            epc = bytes.fromhex(read.item.epc)
            events.append(
                (
                    read.t_ms,
                    {
                        "timestamp": _impinj_time(clock(read.t_ms + 1)),
                        "hostname": hostname,
                        "eventType": "tagInventory",
                        "tagInventoryEvent": {
                            "epc": base64.b64encode(epc).decode("ascii"),
                            "epcHex": read.item.epc,
                            "antennaPort": read.antenna,
                            "antennaName": str(read.antenna),
                            "peakRssiCdbm": round(read.rssi_dbm * 100),
                            "frequency": 902750 + 500 * rng.randrange(50),
                            "transmitPowerCdbm": 3000,
                            "lastSeenTime": _impinj_time(clock(read.t_ms)),
                        },
                    },
                )
            )
        if len(events) > 1 and rng.random() < IMPINJ_MULTI_P:
            lines = b"\n".join(json_bytes(event) for _, event in events)
            yield events[-1][0] + rng.randint(5, 40), lines
        else:
            for t_ms, event in events:
                yield t_ms + rng.randint(5, 40), json_bytes(event)


def json_bytes(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def hostname(reader_id: str) -> str:
    suffix = zlib.crc32(reader_id.encode()) & 0xFFFFFF
    return "impinj-" + "-".join(f"{suffix:06x}"[i : i + 2] for i in (0, 2, 4))
