"""The simulated R2000 module: a reader on the far end of the serial line that answers the
commands it receives, and only those, with the frames a real module returns for them
(docs/readers.md, "Commands sent and replies read").

:class:`SimulatedR2000` is pure: command bytes and their arrival time in, reply frames with
the times they go onto the line out. It answers 0x74 (set work antenna), 0x89 and 0x8B
(inventory on the work antenna), 0x8A (fast switch over the antennas it is given, with a
per-antenna error for one that is not connected), 0x75 (get work antenna) and 0x90/0x91
(inventory buffer: empty in real-time mode). An 8-port module numbers antennas 5-8 with bit 7
of the RSSI byte. Two shells drive it:

- :func:`r2000_capture_chunks` runs the serial driver's own command loop
  (:class:`edge.rfid.r2000_inventory.InventoryCommander`) against it in event time, with the
  line's noise, outages and reboots, and yields the chunks a port would deliver: a capture;
- :class:`SimulatedReaderPort` puts it on the master side of a pseudo-terminal for a live
  driver (tests, demos on a laptop without a reader).
"""

from __future__ import annotations

import contextlib
import os
import random
import select
import threading
import time
import tty
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from edge.config.readers import R2000SerialReader
from edge.replay.scenarios import SerialNoise
from edge.replay.sim_world import AntennaRadio
from edge.rfid.r2000 import (
    ANTENNA_MISSING,
    CMD_CUSTOMIZED_INVENTORY,
    CMD_FAST_SWITCH_INVENTORY,
    CMD_GET_AND_RESET_INVENTORY_BUFFER,
    CMD_GET_INVENTORY_BUFFER,
    CMD_REALTIME_INVENTORY,
    CMD_SET_WORK_ANTENNA,
    COMMAND_SUCCESS,
    HEAD,
    RSSI_OFFSET_DB,
    R2000Parser,
    build_command,
    encode_antenna_missing,
    encode_completion_frame,
    encode_error_frame,
    encode_fast_switch_done,
    encode_tag_frame,
    pc_for_epc,
)
from edge.rfid.r2000_inventory import InventoryCommander

CMD_GET_WORK_ANTENNA = 0x75
BUFFER_IS_EMPTY = 0x38
ANTENNA_ID_OUT_OF_RANGE = 0x47
SERIAL_BYTE_US = 87
"""One byte at 115200 baud 8N1 (10 bits)."""
ANTENNA_ROUND_MS = 50
"""One inventory round on one antenna: a Gen2 Q-round over the few tags of a shelf."""
COMMAND_LATENCY_MS = 2
"""From a command's last byte to the module's first reply."""
HOST_LATENCY_MS = 1
"""From a reply's last byte to the driver's next command."""
LINE_PAUSE_US = 16_000
"""A pause of the line after which the bytes before it are handed over (USB latency timer)."""
BOOT_NOISE = (0x00, 0xFF)
"""What a UART line shows while a reader powers up, before random noise."""


@dataclass(slots=True)
class SerialCounts:
    """What went onto one serial line, for checking a parser against it."""

    tag_frames: int = 0
    """Intact tag frames (the reads a parser must deliver)."""
    inventory_done: int = 0
    """Round summaries: 0x89's, and 0x8A's end of command."""
    error_frames: int = 0
    result_frames: int = 0
    """0x10 results (command_success) of 0x74."""
    corrupted_frames: int = 0
    truncated_frames: int = 0
    garbage_bytes: int = 0
    chunks: int = 0
    bytes: int = 0
    commands: int = 0
    """Commands the driver sent (answered or not)."""


@dataclass(frozen=True, slots=True)
class Wire:
    """Bytes the reader puts on the line at ``t_ms``, and what they are."""

    t_ms: int
    data: bytes
    kind: str
    """tag, done, error, ok, corrupted, truncated or garbage."""


class SimulatedR2000:
    """An R2000 module: its work antenna, its connected antennas, and the radio it reads
    through. One owner (the capture loop or the pseudo-terminal thread)."""

    def __init__(
        self,
        address: int,
        air: AntennaRadio,
        ports: int = 4,
        connected: frozenset[int] | None = None,
        *,
        rng: random.Random | None = None,
        flaky_p: float = 0.0,
    ) -> None:
        """``connected``: antennas with a cable (default all ``ports``); ``flaky_p``: chance
        per antenna inventory that a loose connector makes the module report it missing."""
        if ports not in (4, 8):
            raise ValueError(f"an R2000 module has 4 or 8 ports, not {ports}")
        self.address = address
        self.ports = ports
        self.connected = frozenset(range(1, ports + 1)) if connected is None else connected
        self.work_antenna = 1
        self.commands: list[bytes] = []
        """Every command received, in order (what the driver sent)."""
        self._air = air
        self._rng = rng or random.Random(0)
        self._flaky_p = flaky_p
        self._pending = bytearray()

    def boot(self) -> None:
        """Power-up: the work antenna is antenna 1 again, a half-received command is lost."""
        self.work_antenna = 1
        self._pending.clear()

    def receive(self, data: bytes, t_ms: int) -> list[Wire]:
        """The replies to every command completed by ``data``, which arrived at ``t_ms``."""
        self._pending += data
        wires: list[Wire] = []
        for command in self._commands():
            self.commands.append(command)
            start_ms = max([t_ms, *(wire.t_ms for wire in wires)]) + COMMAND_LATENCY_MS
            wires += self._answer(command, start_ms)
        return wires

    def _commands(self) -> Iterator[bytes]:
        buf = self._pending
        while True:
            start = buf.find(HEAD)
            if start < 0:
                buf.clear()
                return
            del buf[:start]
            if len(buf) < 2 or len(buf) < buf[1] + 2:
                return
            frame = bytes(buf[: buf[1] + 2])
            if sum(frame) & 0xFF or buf[1] < 3:
                del buf[:1]  # not a command: the module waits for the next head
                continue
            del buf[: len(frame)]
            if frame[2] in (self.address, 0xFF):
                yield frame

    def _answer(self, command: bytes, t_ms: int) -> list[Wire]:
        cmd, data = command[3], command[4:-1]
        address = self.address
        if cmd == CMD_SET_WORK_ANTENNA and len(data) == 1:
            if data[0] >= self.ports:
                return [
                    Wire(t_ms, encode_error_frame(address, cmd, ANTENNA_ID_OUT_OF_RANGE), "error")
                ]
            self.work_antenna = data[0] + 1
            return [Wire(t_ms, encode_error_frame(address, cmd, COMMAND_SUCCESS), "ok")]
        if cmd == CMD_GET_WORK_ANTENNA:
            return [Wire(t_ms, build_command(address, cmd, bytes((self.work_antenna - 1,))), "ok")]
        if cmd == CMD_REALTIME_INVENTORY and len(data) == 1:
            return self._work_antenna_rounds(cmd, data[0], t_ms)
        if cmd == CMD_CUSTOMIZED_INVENTORY and len(data) >= 3:
            return self._work_antenna_rounds(cmd, data[-1], t_ms)
        if cmd == CMD_FAST_SWITCH_INVENTORY and len(data) in (10, 18):
            return self._fast_switch(data, t_ms)
        if cmd in (CMD_GET_INVENTORY_BUFFER, CMD_GET_AND_RESET_INVENTORY_BUFFER):
            return [Wire(t_ms, encode_error_frame(address, cmd, BUFFER_IS_EMPTY), "error")]
        return []  # a command this module model does not know: no answer

    def _usable(self, antenna: int) -> bool:
        if antenna not in self.connected:
            return False
        return not (self._flaky_p and self._rng.random() < self._flaky_p)

    def _rounds(
        self, cmd: int, antenna: int, rounds: int, t_ms: int, cycle_ms: int
    ) -> tuple[list[Wire], int]:
        """Tag frames of ``rounds`` inventory rounds on ``antenna`` from ``t_ms``; returns
        them and the time the rounds end."""
        wires = []
        for _ in range(rounds):
            for read in self._air.read(antenna, t_ms, ANTENNA_ROUND_MS, cycle_ms):
                epc = bytes.fromhex(read.item.epc)
                raw = min(0x7F, max(0, round(read.rssi_dbm) + RSSI_OFFSET_DB))
                frame = encode_tag_frame(
                    self.address,
                    antenna,
                    pc_for_epc(epc),
                    epc,
                    raw,
                    freq=self._rng.randrange(50),
                    cmd=cmd,
                )
                wires.append(Wire(read.t_ms, frame, "tag"))
            t_ms += ANTENNA_ROUND_MS
        return wires, t_ms

    def _work_antenna_rounds(self, cmd: int, repeat: int, t_ms: int) -> list[Wire]:
        antenna = self.work_antenna
        if not self._usable(antenna):
            return [Wire(t_ms, encode_error_frame(self.address, cmd, ANTENNA_MISSING), "error")]
        wires, end_ms = self._rounds(cmd, antenna, max(repeat, 1), t_ms, ANTENNA_ROUND_MS * 4)
        end_ms = max([end_ms, *(wire.t_ms for wire in wires)])
        rate = len(wires) * 1000 // max(end_ms - t_ms, 1)
        done = encode_completion_frame(self.address, antenna, rate, len(wires), cmd)
        return [*wires, Wire(end_ms, done, "done")]

    def _fast_switch(self, data: bytes, t_ms: int) -> list[Wire]:
        slots = [(data[i], data[i + 1]) for i in range(0, len(data) - 2, 2)]
        interval_ms, repeat = data[-2], max(data[-1], 1)
        used = [(ant, stay) for ant, stay in slots if ant <= 7]
        cycle_ms = ANTENNA_ROUND_MS * max(sum(stay for _, stay in used), 1)
        start_ms, wires, total = t_ms, [], 0
        for _ in range(repeat):
            for ant, stay in used:
                antenna = ant + 1
                if antenna > self.ports or not self._usable(antenna):
                    frame = encode_antenna_missing(self.address, antenna)
                    wires.append(Wire(t_ms, frame, "error"))
                    t_ms += 1
                    continue
                reads, t_ms = self._rounds(
                    CMD_FAST_SWITCH_INVENTORY, antenna, max(stay, 1), t_ms, cycle_ms
                )
                wires += reads
                total += len(reads)
                t_ms += interval_ms
        end_ms = max([t_ms, *(wire.t_ms for wire in wires)])
        done = encode_fast_switch_done(self.address, total, end_ms - start_ms)
        return [*wires, Wire(end_ms, done, "done")]


# --- a capture: the driver's command loop against the module, in event time -----------------


def r2000_capture_chunks(
    rng: random.Random,
    reader: R2000SerialReader,
    air: AntennaRadio,
    noise: SerialNoise,
    start_ms: int,
    end_ms: int,
    silences: list[tuple[int, int]],
    counts: SerialCounts,
    boots_ms: list[int] | None = None,
    read_ms: int | None = None,
) -> Iterator[tuple[int, bytes]]:
    """``(t_ms, chunk)`` as the serial port delivers the module's answers to the commands the
    driver's own command loop sends, from ``start_ms`` (the port is opened) to ``end_ms``.

    ``silences``: the module hears and says nothing (cable pulled, or powered off); the one
    before each of ``boots_ms`` ends in a power-up (boot noise, a partial frame, antenna 1).
    Line damage per answer as ``noise`` says; ``read_ms``: see :func:`_chunked`.
    """
    ports = 8 if max(reader.antennas, default=1) > 4 else 4
    module = SimulatedR2000(reader.address, air, ports, rng=rng, flaky_p=noise.error_frame_p)
    commander = InventoryCommander(reader)
    parser = R2000Parser(reader.address)
    boots = sorted(boots_ms or [])
    t_ms = start_ms + rng.randrange(200)
    command = commander.start(t_ms)
    while t_ms < end_ms:
        counts.commands += 1
        arrived_ms = t_ms + (len(command) * SERIAL_BYTE_US) // 1000 + 1
        wires: list[Wire] = []
        if not _in(silences, arrived_ms):
            booted = None
            while boots and boots[0] <= arrived_ms:
                booted = boots.pop(0)
                module.boot()
            wires = module.receive(command, arrived_ms)
            wires = _damaged(rng, wires, noise)
            if booted is not None:
                wires = [*_boot_noise(rng, wires, booted), *wires]
            wires = _cut_before(rng, wires, silences)
        # What would arrive after the capture ends is not in it (nor in the counts).
        slack_ms = read_ms or 1
        wires = [
            wire
            for wire, end_us in zip(wires, _ends_us(wires), strict=True)
            if end_us // 1000 + slack_ms < end_ms
        ]
        _count(wires, counts)
        next_command: bytes | None = None
        next_ms = t_ms
        for chunk_ms, chunk in _chunked(rng, wires, counts, read_ms):
            if chunk_ms >= end_ms:
                return
            yield chunk_ms, chunk
            answer = commander.on_frames(parser.feed(chunk, chunk_ms), chunk_ms)
            if answer is not None and next_command is None:
                next_command, next_ms = answer, chunk_ms + HOST_LATENCY_MS
        while next_command is None:
            flush_ms = parser.flush_due_ms()
            if flush_ms is not None and flush_ms <= commander.resend_at_ms:
                next_command = commander.on_frames(parser.flush_idle(flush_ms), flush_ms)
                next_ms = flush_ms + HOST_LATENCY_MS
            else:
                next_ms = commander.resend_at_ms
                next_command = commander.due(next_ms)
        t_ms, command = max(next_ms, t_ms + 1), next_command


def _damaged(rng: random.Random, wires: list[Wire], noise: SerialNoise) -> list[Wire]:
    """One answer with the line damage ``noise`` gives it: a corrupted tag frame, a truncated
    one, garbage between two frames."""
    if not wires:
        return wires
    wires = list(wires)
    tags = [i for i, wire in enumerate(wires) if wire.kind == "tag"]
    if tags and rng.random() < noise.corrupt_p:
        i = rng.choice(tags)
        broken = bytearray(wires[i].data)
        broken[rng.randrange(4, len(broken))] ^= rng.randrange(1, 256)
        wires[i] = Wire(wires[i].t_ms, bytes(broken), "corrupted")
    tags = [i for i, wire in enumerate(wires) if wire.kind == "tag"]
    if tags and rng.random() < noise.truncate_p:
        i = rng.choice(tags)
        wires[i] = _truncated(rng, wires[i])
    if rng.random() < noise.garbage_p:
        size = rng.randint(1, 24)
        garbage = bytes(0xA0 if rng.random() < 0.2 else rng.randrange(256) for _ in range(size))
        at = rng.randrange(len(wires))
        wires.insert(at, Wire(wires[at].t_ms, garbage, "garbage"))
    return wires


def _cut_before(
    rng: random.Random, wires: list[Wire], silences: list[tuple[int, int]]
) -> list[Wire]:
    """An answer still on the line when a silence starts: the cable is pulled while a tag
    frame is on the wire."""
    if not wires:
        return wires
    ends = _ends_us(wires)
    pulled = [start for start, _ in silences if wires[0].t_ms <= start and start * 1000 <= ends[-1]]
    if not pulled:
        return wires
    pulled_us = min(pulled) * 1000
    kept = [wire for wire, end_us in zip(wires, ends, strict=True) if end_us < pulled_us - 2000]
    tags = [i for i, wire in enumerate(kept) if wire.kind == "tag"]
    return [*kept[: tags[-1]], _truncated(rng, kept[tags[-1]])] if tags else kept


def _count(wires: list[Wire], counts: SerialCounts) -> None:
    for wire in wires:
        if wire.kind == "tag":
            counts.tag_frames += 1
        elif wire.kind == "done":
            counts.inventory_done += 1
        elif wire.kind == "error":
            counts.error_frames += 1
        elif wire.kind == "ok":
            counts.result_frames += 1
        elif wire.kind == "corrupted":
            counts.corrupted_frames += 1
        elif wire.kind == "truncated":
            counts.truncated_frames += 1
        else:
            counts.garbage_bytes += len(wire.data)


def _boot_noise(rng: random.Random, frames: list[Wire], t_ms: int) -> list[Wire]:
    """What a rebooting reader puts on the line first: the UART settling (0x00/0xFF), random
    bytes with frame heads among them, and the start of a frame it never finishes."""
    noise = bytes(rng.choice(BOOT_NOISE) for _ in range(rng.randint(4, 12)))
    noise += bytes(0xA0 if rng.random() < 0.2 else rng.randrange(256) for _ in range(16))
    wires = [Wire(t_ms, noise, "garbage")]
    tags = [wire for wire in frames if wire.kind == "tag"]
    if tags:
        wires.append(_truncated(rng, Wire(t_ms, tags[0].data, "tag")))
    return wires


def _truncated(rng: random.Random, wire: Wire) -> Wire:
    return Wire(wire.t_ms, wire.data[: rng.randrange(1, len(wire.data))], "truncated")


def _byte_times_us(frames: list[Wire]) -> list[int]:
    """When each byte has arrived: frames go out back to back, none before its own time."""
    times: list[int] = []
    clock_us = 0
    for wire in frames:
        clock_us = max(clock_us, wire.t_ms * 1000)
        for _ in wire.data:
            clock_us += SERIAL_BYTE_US
            times.append(clock_us)
    return times


def _ends_us(frames: list[Wire]) -> list[int]:
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
    rng: random.Random, frames: list[Wire], counts: SerialCounts, read_ms: int | None = None
) -> Iterator[tuple[int, bytes]]:
    """Cut an answer's bytes into random 1..64-byte reads; a chunk arrives with its last byte,
    and never waits for bytes after a pause of the line (a USB-serial adapter hands over what
    it has within its latency timer).

    With ``read_ms`` the driver reads every ``read_ms`` instead: a chunk is everything that
    arrived in one such interval, delivered at its end.
    """
    data = b"".join(wire.data for wire in frames)
    byte_us = _byte_times_us(frames)
    pauses = [i for i in range(1, len(byte_us)) if byte_us[i] - byte_us[i - 1] > LINE_PAUSE_US]
    pauses.append(len(data))
    position = 0
    while position < len(data):
        if read_ms is None:
            pause = pauses[bisect_right(pauses, position)]
            end = min(pause, position + rng.randint(1, 64))
            t_ms = byte_us[end - 1] // 1000 + 1
        else:
            t_ms = (byte_us[position] // (read_ms * 1000) + 1) * read_ms
            end = bisect_left(byte_us, t_ms * 1000, position)
        counts.chunks += 1
        counts.bytes += end - position
        yield t_ms, bytes(data[position:end])
        position = end


# --- live: the module on a pseudo-terminal ---------------------------------------------------


class SimulatedReaderPort:
    """The module on the master side of a pseudo-terminal: a driver opens :attr:`path` as its
    serial port, and every command it writes is answered, paced in real time (or at once with
    ``realtime=False``). ``now_ms`` is the module's time (the items' paths are laid out in it).
    """

    def __init__(
        self,
        module: SimulatedR2000,
        now_ms: Callable[[], int] = lambda: int(time.time() * 1000),
        *,
        realtime: bool = True,
    ) -> None:
        self.module = module
        self._now_ms = now_ms
        self._realtime = realtime
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        self.path = os.ttyname(self.slave)
        self._closed = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._serve, name="sim-r2000", daemon=True)
        self._thread.start()

    @property
    def commands(self) -> list[bytes]:
        with self._lock:
            return list(self.module.commands)

    def _serve(self) -> None:
        while not self._closed.is_set():
            try:
                if not select.select([self.master], [], [], 0.05)[0]:
                    continue
                data = os.read(self.master, 4096)
            except OSError:
                return
            if not data:
                return
            received_ms = self._now_ms()
            with self._lock:
                wires = self.module.receive(data, received_ms)
            for wire in wires:
                if self._realtime:
                    # Hold each frame until its time in the module's clock, as the radio does.
                    self._closed.wait(max(0, wire.t_ms - self._now_ms()) / 1000)
                if self._closed.is_set():
                    return
                with contextlib.suppress(OSError):
                    os.write(self.master, wire.data)

    def close(self) -> None:
        self._closed.set()
        self._thread.join(2.0)
        for fd in (self.slave, self.master):
            with contextlib.suppress(OSError):
                os.close(fd)
