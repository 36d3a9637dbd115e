"""A seeded store simulator: turns a scenario (edge.replay.scenarios) into a capture.

Every reader of the store configuration reads the items in its antennas' zones in inventory
rounds, with the noise of a real shop floor: RSSI around -55 dBm with jitter and a fixed
per-antenna orientation offset, missed reads, bursts (one tag answering several times in a
round), short shadows (a body between tag and antenna), and weak cross-reads (around -72 dBm)
by antennas of the same reader that cover a neighbouring zone. Each reader family then
speaks its own wire format:

- R2000 (serial): 0xA0 tag frames and one completion frame per ~200 ms round, delivered in
  random 1..64-byte chunks (frames split across chunks), with outages, reboots and line noise;
- Zebra FX (MQTT): IoT Connector tag data events, single objects or batched arrays;
- Impinj R700 (MQTT): ``tagInventory`` events, an ``inventoryStatus`` event at start.

The tills' sales (``Scenario.sales``) go on the store's POS sales topic, in the same MQTT
source: SaleSubmission JSON priced from the catalog. A scenario's camera scene is written
beside the manifest as ``camera_scene.json`` (its videos are built at test time).

MQTT readers stamp their payloads with their own clock, which a scenario can make jump. A
crowded store (``Scenario.crowd``: thousands of tags) caps each antenna's reads per second, so
each tag is read less often, and picks the reads by geometric skipping, so the cost grows with
the reads, not with the tags in view.

Everything random comes from one ``random.Random(seed)`` (split per reader by name), so a
scenario and a seed give byte-identical capture files. The intended item movements (the
"story") are returned and written beside the manifest as ``story.json``.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import random
import zlib
from bisect import bisect_left, bisect_right, insort
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC
from pathlib import Path
from typing import Any

from edge.config.readers import (
    ImpinjHttpReader,
    ImpinjMqttReader,
    LlrpReader,
    R2000SerialReader,
    ZebraMqttReader,
)
from edge.config.store import StoreConfig
from edge.fusion.sales import SaleSubmission
from edge.mqtt.topics import pos_sales_topic
from edge.recommend.catalog import Catalog
from edge.replay.camera_scenes import CameraScene, write_scene
from edge.replay.capture import CaptureWriter, format_utc
from edge.replay.scenarios import COMPANY_PREFIX, GONE, Crowd, Scenario, SerialNoise
from edge.rfid.epc import decode_epc, encode_sgtin96
from edge.rfid.r2000 import (
    CMD_REALTIME_INVENTORY,
    RSSI_OFFSET_DB,
    encode_completion_frame,
    encode_error_frame,
    encode_tag_frame,
    pc_for_epc,
)

STORY_FILE = "story.json"
MQTT_SOURCE = "mqtt-readers"
"""One MQTT source for all MQTT readers, as ``o2o-edge record`` writes it."""

ROUND_MS = {"r2000_serial": 200, "zebra_mqtt": 250, "impinj_mqtt": 250}
"""Inventory round length per reader family."""
SERIAL_BYTE_US = 87
"""One byte at 115200 baud 8N1 (10 bits)."""
ANTENNA_MISSING = 0x22
ZEBRA_BATCH_P = 0.5
IMPINJ_MULTI_P = 0.1
"""Chance that the R700 puts a round's events into one message (one JSON object per line)."""


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
BOOT_NOISE = (0x00, 0xFF)
"""What a UART line shows while a reader powers up, before random noise."""


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


@dataclass(slots=True)
class SerialCounts:
    """What went onto one serial line, for checking a parser against it."""

    tag_frames: int = 0
    """Intact tag frames (the reads a parser must deliver)."""
    inventory_done: int = 0
    error_frames: int = 0
    corrupted_frames: int = 0
    truncated_frames: int = 0
    garbage_bytes: int = 0
    chunks: int = 0
    bytes: int = 0


@dataclass(slots=True)
class Story:
    """The intended truth of a simulated capture (``story.json``)."""

    scenario: str
    description: str
    seed: int
    store_id: str
    start_ms: int
    duration_s: float
    items: list[SimItem]
    outages: list[dict[str, Any]] = field(default_factory=list)
    reboots: list[dict[str, Any]] = field(default_factory=list)
    clock_jumps: list[dict[str, Any]] = field(default_factory=list)
    serial: dict[str, SerialCounts] = field(default_factory=dict)
    mqtt_messages: dict[str, int] = field(default_factory=dict)
    sales: list[dict[str, Any]] = field(default_factory=list)
    """Per till sale: ``t_ms``, ``topic`` and the ``sale`` (SaleSubmission JSON) sent."""

    def item(self, label: str) -> SimItem:
        return next(item for item in self.items if item.label == label)

    def to_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "description": self.description,
            "seed": self.seed,
            "store_id": self.store_id,
            "start": format_utc(self.start_ms),
            "start_ms": self.start_ms,
            "duration_s": self.duration_s,
            "items": [
                {
                    "label": item.label,
                    "epc": item.epc,
                    "gtin": item.gtin,
                    "path": [{"t_ms": t, "zone": zone} for t, zone in item.path],
                    "moves": item.moves(),
                    "final_zone": item.path[-1][1],
                }
                for item in self.items
            ],
            "outages": self.outages,
            # Only when present, so older scenarios' stories stay as they were.
            **({"reboots": self.reboots} if self.reboots else {}),
            **({"clock_jumps": self.clock_jumps} if self.clock_jumps else {}),
            "serial": {reader: asdict(counts) for reader, counts in self.serial.items()},
            "mqtt_messages": self.mqtt_messages,
            **({"sales": self.sales} if self.sales else {}),
        }


@dataclass(frozen=True, slots=True)
class _Read:
    t_ms: int
    antenna: int
    item: SimItem
    rssi_dbm: float


# --- the world ------------------------------------------------------------------------------


def _items(
    scenario: Scenario, start_ms: int, radio: RadioModel, rng: random.Random
) -> list[SimItem]:
    items = []
    for spec in scenario.items:
        epc = encode_sgtin96(COMPANY_PREFIX, spec.item_reference, spec.serial)
        gtin = decode_epc(epc).gtin or ""
        path = tuple((start_ms + round(stay.at_s * 1000), stay.zone) for stay in spec.stays)
        shadows = []
        seconds: Iterator[int] = (
            _bernoulli_picks(rng, int(scenario.duration_s), radio.shadow_p_per_s)
            if scenario.crowd
            else (s for s in range(int(scenario.duration_s)) if rng.random() < radio.shadow_p_per_s)
        )
        for second in seconds:
            begin = start_ms + second * 1000 + rng.randrange(1000)
            shadows.append((begin, begin + rng.randint(1000, SHADOW_MAX_MS)))
        items.append(SimItem(spec.label, epc, gtin, path, tuple(shadows)))
    return items


def _round_times(rng: random.Random, start_ms: int, end_ms: int, round_ms: int) -> Iterator[int]:
    t = start_ms + rng.randrange(round_ms)
    jitter = max(1, round_ms // 20)
    while t < end_ms:
        yield t
        t += round_ms + rng.randint(-jitter, jitter)


def _bernoulli_picks(rng: random.Random, n: int, p: float) -> Iterator[int]:
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


class _Presence:
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


def _reads_of_reader(
    rng: random.Random,
    antennas: dict[int, str],
    neighbours: frozenset[tuple[str, str]],
    items: list[SimItem],
    radio: RadioModel,
    start_ms: int,
    end_ms: int,
    round_ms: int,
    crowd: Crowd | None = None,
) -> Iterator[tuple[int, list[_Read]]]:
    """Per inventory round: its start time and its reads, antenna by antenna."""
    ports = sorted(antennas)
    orientation = {
        (item.epc, port): rng.gauss(0, radio.orientation_db) for item in items for port in ports
    }
    near = {
        zone: sorted({other for other, this in neighbours if this == zone})
        for zone in set(antennas.values())
    }
    presence = _Presence(items)
    dwell_ms = round_ms // (2 * len(ports)) or 1

    def answer(item: SimItem, port: int, level: float, t_antenna: int, seen: list[_Read]) -> None:
        times = rng.randint(2, 4) if rng.random() < radio.burst_p else 1
        for _ in range(times):
            rssi = level + orientation[(item.epc, port)] + rng.gauss(0, radio.jitter_db)
            seen.append(_Read(t_antenna + rng.randrange(dwell_ms), port, item, rssi))

    for t_round in _round_times(rng, start_ms, end_ms - round_ms, round_ms):
        reads: list[_Read] = []
        for slot, port in enumerate(ports):
            zone = antennas[port]
            t_antenna = t_round + slot * dwell_ms
            presence.advance(t_antenna)
            own = presence.in_zone(zone)
            cross = sorted(i for other in near[zone] for i in presence.in_zone(other))
            seen: list[_Read] = []
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
                    answer(item, port, level, t_antenna, seen)
            else:
                own_p, cross_p = _crowded_read_p(radio, crowd, len(own), len(cross), round_ms)
                for group, read_p, level in (
                    (own, own_p, radio.rssi_dbm),
                    (cross, cross_p, radio.cross_rssi_dbm),
                ):
                    for pick in _bernoulli_picks(rng, len(group), read_p):
                        item = items[group[pick]]
                        if not item.shadowed(t_antenna):
                            answer(item, port, level, t_antenna, seen)
            rng.shuffle(seen)  # a reader answers in no particular tag order
            reads.extend(sorted(seen, key=lambda read: read.t_ms))
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


# --- R2000 serial ---------------------------------------------------------------------------


def _r2000_chunks(
    rng: random.Random,
    reader: R2000SerialReader,
    rounds: Iterator[tuple[int, list[_Read]]],
    noise: SerialNoise,
    outages: list[tuple[int, int]],
    counts: SerialCounts,
    boots_ms: list[int] | None = None,
    read_ms: int | None = None,
) -> Iterator[tuple[int, bytes]]:
    """``(t_ms, chunk)`` as the serial port would deliver the reader's bytes.

    ``boots_ms``: the reader powers up at these times (the end of a reboot's silence), and
    its first round after each one starts with boot noise and a partial frame. ``read_ms``:
    see ``_chunked``.
    """
    boots = sorted(boots_ms or [])
    address = reader.address
    last_port = min(max(reader.antennas, default=1), 4)
    schedule = list(rounds)
    for index, (t_round, reads) in enumerate(schedule):
        if _in(outages, t_round):
            continue
        frames: list[_Wire] = []
        for read in reads:
            epc = bytes.fromhex(read.item.epc)
            raw = min(255, max(0, round(read.rssi_dbm) + RSSI_OFFSET_DB))
            frame = encode_tag_frame(
                address, read.antenna, pc_for_epc(epc), epc, raw, freq=rng.randrange(50)
            )
            frames.append(_Wire(read.t_ms, frame, "tag"))
        t_end = max([t_round, *(wire.t_ms for wire in frames)]) + 1
        if rng.random() < noise.error_frame_p:
            error = encode_error_frame(address, CMD_REALTIME_INVENTORY, ANTENNA_MISSING)
            frames.append(_Wire(t_end, error, "error"))
        rate = len(reads) * 1000 // ROUND_MS["r2000_serial"]
        done = encode_completion_frame(address, last_port, rate, len(reads))
        frames.append(_Wire(t_end, done, "done"))
        tags = [i for i, wire in enumerate(frames) if wire.kind == "tag"]
        if tags and rng.random() < noise.corrupt_p:
            i = rng.choice(tags)
            broken = bytearray(frames[i].data)
            broken[rng.randrange(4, len(broken))] ^= rng.randrange(1, 256)
            frames[i] = _Wire(frames[i].t_ms, bytes(broken), "corrupted")
        tags = [i for i, wire in enumerate(frames) if wire.kind == "tag"]
        if tags and rng.random() < noise.truncate_p:
            i = rng.choice(tags)
            frames[i] = _truncated(rng, frames[i])
        if rng.random() < noise.garbage_p:
            size = rng.randint(1, 24)
            garbage = bytes(0xA0 if rng.random() < 0.2 else rng.randrange(256) for _ in range(size))
            at = rng.randrange(len(frames))
            frames.insert(at, _Wire(frames[at].t_ms, garbage, "garbage"))
        if boots and boots[0] <= t_round:
            boots.pop(0)
            frames = [*_boot_noise(rng, frames, t_round), *frames]
        following = schedule[index + 1][0] if index + 1 < len(schedule) else None
        if following is not None and _in(outages, following):
            # The cable is pulled before the outage starts, while a tag frame is on the wire.
            pulled_us = min(start for start, end in outages if start <= following < end) * 1000
            ends = _ends_us(frames)
            frames = [
                wire for wire, end_us in zip(frames, ends, strict=True) if end_us < pulled_us - 2000
            ]
            tags = [i for i, wire in enumerate(frames) if wire.kind == "tag"]
            frames = [*frames[: tags[-1]], _truncated(rng, frames[tags[-1]])] if tags else []
        for wire in frames:
            if wire.kind == "tag":
                counts.tag_frames += 1
            elif wire.kind == "done":
                counts.inventory_done += 1
            elif wire.kind == "error":
                counts.error_frames += 1
            elif wire.kind == "corrupted":
                counts.corrupted_frames += 1
            elif wire.kind == "truncated":
                counts.truncated_frames += 1
            else:
                counts.garbage_bytes += len(wire.data)
        yield from _chunked(rng, frames, counts, read_ms)


def _boot_noise(rng: random.Random, frames: list[_Wire], t_ms: int) -> list[_Wire]:
    """What a rebooting reader puts on the line first: the UART settling (0x00/0xFF), random
    bytes with frame heads among them, and the start of a frame it never finishes."""
    noise = bytes(rng.choice(BOOT_NOISE) for _ in range(rng.randint(4, 12)))
    noise += bytes(0xA0 if rng.random() < 0.2 else rng.randrange(256) for _ in range(16))
    wires = [_Wire(t_ms, noise, "garbage")]
    tags = [wire for wire in frames if wire.kind == "tag"]
    if tags:
        wires.append(_truncated(rng, _Wire(t_ms, tags[0].data, "tag")))
    return wires


@dataclass(frozen=True, slots=True)
class _Wire:
    """Bytes the reader puts on the line at ``t_ms``, and what they are."""

    t_ms: int
    data: bytes
    kind: str
    """tag, done, error, corrupted, truncated or garbage."""


def _truncated(rng: random.Random, wire: _Wire) -> _Wire:
    return _Wire(wire.t_ms, wire.data[: rng.randrange(1, len(wire.data))], "truncated")


def _byte_times_us(frames: list[_Wire]) -> list[int]:
    """When each byte has arrived: frames go out back to back, none before its own time."""
    times: list[int] = []
    clock_us = 0
    for wire in frames:
        clock_us = max(clock_us, wire.t_ms * 1000)
        for _ in wire.data:
            clock_us += SERIAL_BYTE_US
            times.append(clock_us)
    return times


def _ends_us(frames: list[_Wire]) -> list[int]:
    """When the last byte of each frame has arrived (non-decreasing)."""
    times = _byte_times_us(frames)
    ends, position = [], 0
    for wire in frames:
        position += len(wire.data)
        ends.append(times[position - 1])
    return ends


def _in(windows: list[tuple[int, int]], t_ms: int) -> bool:
    return any(start <= t_ms < end for start, end in windows)


def _chunked(
    rng: random.Random, frames: list[_Wire], counts: SerialCounts, read_ms: int | None = None
) -> Iterator[tuple[int, bytes]]:
    """Cut a round's bytes into random 1..64-byte reads; a chunk arrives with its last byte.

    With ``read_ms`` the driver reads every ``read_ms`` instead: a chunk is everything that
    arrived in one such interval, delivered at its end.
    """
    data = b"".join(wire.data for wire in frames)
    byte_us = _byte_times_us(frames)
    position = 0
    while position < len(data):
        if read_ms is None:
            end = min(len(data), position + rng.randint(1, 64))
            t_ms = byte_us[end - 1] // 1000 + 1
        else:
            t_ms = (byte_us[position] // (read_ms * 1000) + 1) * read_ms
            end = bisect_left(byte_us, t_ms * 1000, position)
        counts.chunks += 1
        counts.bytes += end - position
        yield t_ms, bytes(data[position:end])
        position = end


# --- MQTT readers ---------------------------------------------------------------------------


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


def _reader_clock(jumps: list[tuple[int, int]]) -> ReaderClock:
    """A clock that is right until the first jump ``(at_ms, offset_ms)``, then off by it."""
    jumps = sorted(jumps)
    times = [at for at, _ in jumps]

    def clock(t_ms: int) -> int:
        index = bisect_right(times, t_ms) - 1
        return t_ms + (jumps[index][1] if index >= 0 else 0)

    return clock


def _zebra_messages(
    rng: random.Random,
    rounds: Iterator[tuple[int, list[_Read]]],
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
                    yield sent_ms, _json([event for _, event in batch])
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
            yield received, _json([event for _, event in events])
        else:
            for t_ms, event in events:
                yield t_ms + rng.randint(5, 40), _json(event)


def _impinj_messages(
    rng: random.Random,
    hostname: str,
    start_ms: int,
    rounds: Iterator[tuple[int, list[_Read]]],
    clock: ReaderClock = lambda t_ms: t_ms,
) -> Iterator[tuple[int, bytes]]:
    status_ms = start_ms + 100
    yield (
        status_ms + 5,
        _json(
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
            lines = b"\n".join(_json(event) for _, event in events)
            yield events[-1][0] + rng.randint(5, 40), lines
        else:
            for t_ms, event in events:
                yield t_ms + rng.randint(5, 40), _json(event)


def _json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def _hostname(reader_id: str) -> str:
    suffix = zlib.crc32(reader_id.encode()) & 0xFFFFFF
    return "impinj-" + "-".join(f"{suffix:06x}"[i : i + 2] for i in (0, 2, 4))


# --- POS sales ------------------------------------------------------------------------------


def _sales(
    scenario: Scenario, items: list[SimItem], catalog: Catalog, start_ms: int, topic: str
) -> list[dict[str, Any]]:
    """The scenario's till sales as the tills send them: SaleSubmission JSON, one EPC line per
    item at its catalog price. Raises ValueError for an unknown item or an unpriced product."""
    by_label = {item.label: item for item in items}
    sales = []
    for sale in scenario.sales:
        where = f"scenario {scenario.name}: sale {sale.sale_id}"
        if not 0 <= sale.at_s <= scenario.duration_s:
            raise ValueError(f"{where} at {sale.at_s} s is outside the capture")
        lines: list[dict[str, Any]] = []
        for label in sale.labels:
            item = by_label.get(label)
            if item is None:
                raise ValueError(f"{where} sells item {label}, which the scenario does not have")
            product = catalog.get(item.gtin)
            if product is None:
                raise ValueError(
                    f"{where} sells item {label} (GTIN {item.gtin}), which the catalog "
                    f"{catalog.version} has no price for"
                )
            lines.append({"epc": item.epc, "gtin": item.gtin, "amount": product.price})
        body = {
            "sale_id": sale.sale_id,
            "till_id": sale.till_id,
            "lines": lines,
            "total": round(sum(line["amount"] for line in lines), 2),
            "currency": "EUR",
            **({"member_id": sale.member_id} if sale.member_id else {}),
            **({"returned": True} if sale.returned else {}),
        }
        SaleSubmission.model_validate(body)  # what the store will check, checked here first
        sales.append({"t_ms": start_ms + round(sale.at_s * 1000), "topic": topic, "sale": body})
    return sales


# --- the capture ----------------------------------------------------------------------------


def simulate(
    scenario: Scenario,
    config: StoreConfig,
    out: str | Path,
    seed: int = 0,
    radio: RadioModel | None = None,
    catalog: Catalog | None = None,
) -> Story:
    """Write the capture of ``scenario`` in the store ``config`` into ``out``; return its story.

    The scenario's till sales go into the MQTT source on the store's POS sales topic, priced
    from ``catalog`` (default: the demo catalog, firmware_configs/demo_catalog.json).
    """
    radio = radio or RadioModel()
    zones = {zone.id for zone in config.zones}
    for spec in scenario.items:
        for stay in spec.stays:
            if stay.zone != GONE and stay.zone not in zones:
                raise ValueError(
                    f"scenario {scenario.name}: item {spec.label} goes to zone '{stay.zone}', "
                    f"which store {config.store_id} does not define"
                )
    readers = {reader.id: reader for reader in config.readers}
    for what, reader_id in [
        *(("outage", outage.reader_id) for outage in scenario.outages),
        *(("reboot", reboot.reader_id) for reboot in scenario.reboots),
    ]:
        if not isinstance(readers.get(reader_id), R2000SerialReader):
            raise ValueError(
                f"scenario {scenario.name}: {what} of '{reader_id}', which is not a "
                f"serial reader of store {config.store_id}"
            )
    for jump in scenario.clock_jumps:
        if not isinstance(readers.get(jump.reader_id), ZebraMqttReader | ImpinjMqttReader):
            raise ValueError(
                f"scenario {scenario.name}: clock jump of '{jump.reader_id}', which is not an "
                f"MQTT reader of store {config.store_id} (serial frames carry no time)"
            )
    start_ms = round(scenario.start.astimezone(UTC).timestamp() * 1000)
    end_ms = start_ms + round(scenario.duration_s * 1000)
    world = random.Random(seed)
    items = _items(scenario, start_ms, radio, world)
    neighbours = frozenset(pair for a, b in scenario.neighbours for pair in ((a, b), (b, a)))
    story = Story(
        scenario=scenario.name,
        description=scenario.description,
        seed=seed,
        store_id=config.store_id,
        start_ms=start_ms,
        duration_s=scenario.duration_s,
        items=items,
        outages=[
            {
                "reader": outage.reader_id,
                "from_ms": start_ms + round(outage.from_s * 1000),
                "to_ms": start_ms + round(outage.to_s * 1000),
            }
            for outage in scenario.outages
        ],
        reboots=[
            {
                "reader": reboot.reader_id,
                "from_ms": start_ms + round(reboot.at_s * 1000),
                "to_ms": start_ms + round((reboot.at_s + reboot.down_s) * 1000),
            }
            for reboot in scenario.reboots
        ],
        clock_jumps=[
            {
                "reader": jump.reader_id,
                "at_ms": start_ms + round(jump.at_s * 1000),
                "offset_ms": round(jump.offset_s * 1000),
            }
            for jump in scenario.clock_jumps
        ],
    )
    if scenario.sales:
        if catalog is None:
            from edge.recommend.runtime import DEMO_CATALOG

            catalog = Catalog.load(DEMO_CATALOG)
        topic = pos_sales_topic(config.mqtt.topic_prefix, config.store_id)
        story.sales = _sales(scenario, items, catalog, start_ms, topic)
    out = Path(out)
    writer = CaptureWriter(
        out,
        config.store_id,
        start_ms,
        f"simulated ({scenario.name}, seed {seed}): {scenario.description}",
        compress=scenario.compress,
    )
    crowd = scenario.crowd
    mqtt_readers = [r for r in config.readers if isinstance(r, ZebraMqttReader | ImpinjMqttReader)]
    mqtt: list[tuple[int, int, str, bytes]] = []
    for order, reader in enumerate(config.readers):
        if isinstance(reader, LlrpReader | ImpinjHttpReader):
            continue  # no model of these here: record a live reader instead
        rng = random.Random(f"{seed}:{reader.id}")
        rounds = _reads_of_reader(
            rng,
            reader.antennas,
            neighbours,
            items,
            radio,
            start_ms,
            end_ms,
            ROUND_MS[reader.kind],
            crowd,
        )
        if isinstance(reader, R2000SerialReader):
            counts = story.serial.setdefault(reader.id, SerialCounts())
            silences = [
                (o["from_ms"], o["to_ms"])
                for o in [*story.outages, *story.reboots]
                if o["reader"] == reader.id
            ]
            boots = [o["to_ms"] for o in story.reboots if o["reader"] == reader.id]
            writer.add_serial_source(reader.id, reader.id)
            chunks = _r2000_chunks(
                rng,
                reader,
                rounds,
                scenario.noise,
                silences,
                counts,
                boots,
                crowd.serial_read_ms if crowd else None,
            )
            for t_ms, chunk in chunks:
                writer.write_serial(reader.id, t_ms, chunk)
            continue
        clock = _reader_clock(
            [(j["at_ms"], j["offset_ms"]) for j in story.clock_jumps if j["reader"] == reader.id]
        )
        if isinstance(reader, ZebraMqttReader):
            report_ms = crowd.zebra_report_ms if crowd else None
            messages = _zebra_messages(rng, rounds, report_ms, clock)
        else:
            messages = _impinj_messages(rng, _hostname(reader.id), start_ms, rounds, clock)
        count = published_ms = 0
        for t_ms, payload in messages:
            # MQTT keeps one client's messages in order, whatever each one's latency.
            published_ms = max(published_ms, t_ms)
            mqtt.append((published_ms, order, reader.topic, payload))
            count += 1
        story.mqtt_messages[reader.id] = count
    tills = len(config.readers)  # after every reader in a tie
    for sale in story.sales:
        mqtt.append((sale["t_ms"], tills, sale["topic"], _json(sale["sale"])))
    if mqtt_readers or story.sales:
        topics = [reader.topic for reader in mqtt_readers]
        topics += sorted({sale["topic"] for sale in story.sales})
        writer.add_mqtt_source(MQTT_SOURCE, topics=topics)
        # One file for all MQTT readers, in arrival order (ties: reader order, then sequence).
        for t_ms, _, topic, payload in sorted(mqtt, key=lambda m: (m[0], m[1])):
            writer.write_mqtt(MQTT_SOURCE, t_ms, topic, payload)
    writer.close(duration_s=scenario.duration_s)
    if scenario.cameras:
        write_scene(CameraScene(scenario.cameras), out)
    (out / STORY_FILE).write_text(json.dumps(story.to_dict(), indent=1) + "\n", encoding="utf-8")
    return story
