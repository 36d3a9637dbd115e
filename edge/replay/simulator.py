"""A seeded store simulator: turns a scenario (edge.replay.scenarios) into a capture.

Every reader of the store configuration reads the items in its antennas' zones in inventory
rounds, with the noise of a real shop floor: RSSI around -55 dBm with jitter and a fixed
per-antenna orientation offset, missed reads, bursts (one tag answering several times in a
round), short shadows (a body between tag and antenna), and weak cross-reads (around -72 dBm)
by antennas of the same reader that cover a neighbouring zone. Each reader family then
speaks its own wire format:

- R2000 (serial): 0xA0 tag frames and one completion frame per ~200 ms round, delivered in
  random 1..64-byte chunks (frames split across chunks), with outages and line noise;
- Zebra FX (MQTT): IoT Connector tag data events, single objects or batched arrays;
- Impinj R700 (MQTT): ``tagInventory`` events, an ``inventoryStatus`` event at start.

Everything random comes from one ``random.Random(seed)`` (split per reader by name), so a
scenario and a seed give byte-identical capture files. The intended item movements (the
"story") are returned and written beside the manifest as ``story.json``.
"""

from __future__ import annotations

import base64
import binascii
import json
import random
import zlib
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC
from pathlib import Path
from typing import Any

from edge.config.readers import ImpinjMqttReader, R2000SerialReader, ZebraMqttReader
from edge.config.store import StoreConfig
from edge.replay.capture import CaptureWriter, format_utc
from edge.replay.scenarios import COMPANY_PREFIX, GONE, Scenario, SerialNoise
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
        return any(start <= t_ms < end for start, end in self.shadows)

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
    serial: dict[str, SerialCounts] = field(default_factory=dict)
    mqtt_messages: dict[str, int] = field(default_factory=dict)

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
            "serial": {reader: asdict(counts) for reader, counts in self.serial.items()},
            "mqtt_messages": self.mqtt_messages,
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
        for second in range(int(scenario.duration_s)):
            if rng.random() < radio.shadow_p_per_s:
                begin = start_ms + second * 1000 + rng.randrange(1000)
                shadows.append((begin, begin + rng.randint(1000, 3000)))
        items.append(SimItem(spec.label, epc, gtin, path, tuple(shadows)))
    return items


def _round_times(rng: random.Random, start_ms: int, end_ms: int, round_ms: int) -> Iterator[int]:
    t = start_ms + rng.randrange(round_ms)
    jitter = max(1, round_ms // 20)
    while t < end_ms:
        yield t
        t += round_ms + rng.randint(-jitter, jitter)


def _reads_of_reader(
    rng: random.Random,
    antennas: dict[int, str],
    neighbours: frozenset[tuple[str, str]],
    items: list[SimItem],
    radio: RadioModel,
    start_ms: int,
    end_ms: int,
    round_ms: int,
) -> Iterator[tuple[int, list[_Read]]]:
    """Per inventory round: its start time and its reads, antenna by antenna."""
    ports = sorted(antennas)
    orientation = {
        (item.epc, port): rng.gauss(0, radio.orientation_db) for item in items for port in ports
    }
    dwell_ms = round_ms // (2 * len(ports)) or 1
    for t_round in _round_times(rng, start_ms, end_ms - round_ms, round_ms):
        reads: list[_Read] = []
        for slot, port in enumerate(ports):
            zone = antennas[port]
            t_antenna = t_round + slot * dwell_ms
            seen: list[_Read] = []
            for item in items:
                where = item.zone_at(t_antenna)
                if where == zone:
                    read_p, level = 1 - radio.miss_p, radio.rssi_dbm
                elif (where, zone) in neighbours:
                    read_p, level = radio.cross_read_p, radio.cross_rssi_dbm
                else:
                    continue
                if item.shadowed(t_antenna) or rng.random() >= read_p:
                    continue
                times = rng.randint(2, 4) if rng.random() < radio.burst_p else 1
                for _ in range(times):
                    rssi = level + orientation[(item.epc, port)] + rng.gauss(0, radio.jitter_db)
                    seen.append(_Read(t_antenna + rng.randrange(dwell_ms), port, item, rssi))
            rng.shuffle(seen)  # a reader answers in no particular tag order
            reads.extend(sorted(seen, key=lambda read: read.t_ms))
        yield t_round, reads


# --- R2000 serial ---------------------------------------------------------------------------


def _r2000_chunks(
    rng: random.Random,
    reader: R2000SerialReader,
    rounds: Iterator[tuple[int, list[_Read]]],
    noise: SerialNoise,
    outages: list[tuple[int, int]],
    counts: SerialCounts,
) -> Iterator[tuple[int, bytes]]:
    """``(t_ms, chunk)`` as the serial port would deliver the reader's bytes."""
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
        yield from _chunked(rng, frames, counts)


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
    rng: random.Random, frames: list[_Wire], counts: SerialCounts
) -> Iterator[tuple[int, bytes]]:
    """Cut a round's bytes into random 1..64-byte reads; a chunk arrives with its last byte."""
    data = b"".join(wire.data for wire in frames)
    byte_us = _byte_times_us(frames)
    position = 0
    while position < len(data):
        end = min(len(data), position + rng.randint(1, 64))
        counts.chunks += 1
        counts.bytes += end - position
        yield byte_us[end - 1] // 1000 + 1, bytes(data[position:end])
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


def _zebra_messages(
    rng: random.Random, rounds: Iterator[tuple[int, list[_Read]]]
) -> Iterator[tuple[int, bytes]]:
    event_num = 0
    for _, reads in rounds:
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
                        "timestamp": _zebra_time(read.t_ms),
                        "type": "INVENTORY",
                    },
                )
            )
        if len(events) > 1 and rng.random() < ZEBRA_BATCH_P:
            received = events[-1][0] + rng.randint(5, 40)
            yield received, _json([event for _, event in events])
        else:
            for t_ms, event in events:
                yield t_ms + rng.randint(5, 40), _json(event)


def _impinj_messages(
    rng: random.Random, hostname: str, start_ms: int, rounds: Iterator[tuple[int, list[_Read]]]
) -> Iterator[tuple[int, bytes]]:
    status_ms = start_ms + 100
    yield (
        status_ms + 5,
        _json(
            {
                "timestamp": _impinj_time(status_ms),
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
                        "timestamp": _impinj_time(read.t_ms + 1),
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
                            "lastSeenTime": _impinj_time(read.t_ms),
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


# --- the capture ----------------------------------------------------------------------------


def simulate(
    scenario: Scenario,
    config: StoreConfig,
    out: str | Path,
    seed: int = 0,
    radio: RadioModel | None = None,
) -> Story:
    """Write the capture of ``scenario`` in the store ``config`` into ``out``; return its story."""
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
    for outage in scenario.outages:
        if not isinstance(readers.get(outage.reader_id), R2000SerialReader):
            raise ValueError(
                f"scenario {scenario.name}: outage of '{outage.reader_id}', which is not a "
                f"serial reader of store {config.store_id}"
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
    )
    out = Path(out)
    writer = CaptureWriter(
        out,
        config.store_id,
        start_ms,
        f"simulated ({scenario.name}, seed {seed}): {scenario.description}",
    )
    mqtt_readers = [r for r in config.readers if isinstance(r, ZebraMqttReader | ImpinjMqttReader)]
    mqtt: list[tuple[int, int, str, bytes]] = []
    for order, reader in enumerate(config.readers):
        rng = random.Random(f"{seed}:{reader.id}")
        rounds = _reads_of_reader(
            rng, reader.antennas, neighbours, items, radio, start_ms, end_ms, ROUND_MS[reader.kind]
        )
        if isinstance(reader, R2000SerialReader):
            counts = story.serial.setdefault(reader.id, SerialCounts())
            outages = [
                (o["from_ms"], o["to_ms"]) for o in story.outages if o["reader"] == reader.id
            ]
            writer.add_serial_source(reader.id, reader.id)
            for t_ms, chunk in _r2000_chunks(rng, reader, rounds, scenario.noise, outages, counts):
                writer.write_serial(reader.id, t_ms, chunk)
            continue
        if isinstance(reader, ZebraMqttReader):
            messages = _zebra_messages(rng, rounds)
        else:
            messages = _impinj_messages(rng, _hostname(reader.id), start_ms, rounds)
        count = published_ms = 0
        for t_ms, payload in messages:
            # MQTT keeps one client's messages in order, whatever each one's latency.
            published_ms = max(published_ms, t_ms)
            mqtt.append((published_ms, order, reader.topic, payload))
            count += 1
        story.mqtt_messages[reader.id] = count
    if mqtt_readers:
        writer.add_mqtt_source(MQTT_SOURCE, topics=[reader.topic for reader in mqtt_readers])
        # One file for all MQTT readers, in arrival order (ties: reader order, then sequence).
        for t_ms, _, topic, payload in sorted(mqtt, key=lambda m: (m[0], m[1])):
            writer.write_mqtt(MQTT_SOURCE, t_ms, topic, payload)
    writer.close(duration_s=scenario.duration_s)
    (out / STORY_FILE).write_text(json.dumps(story.to_dict(), indent=1) + "\n", encoding="utf-8")
    return story
