"""The R2000 serial driver against real ports: a pseudo-terminal (the reader on the master
side) and a TCP server behind ``socket://`` that is stopped and restarted."""

from __future__ import annotations

import os
import random
import select
import socket
import threading
import time
import tty
from collections.abc import Callable, Iterator

import pytest

from edge.clock import VirtualClock
from edge.config.readers import R2000SerialReader
from edge.rfid.r2000 import (
    CMD_FAST_SWITCH_INVENTORY,
    build_realtime_inventory,
    build_set_work_antenna,
    encode_antenna_missing,
    encode_completion_frame,
    encode_error_frame,
    encode_fast_switch_done,
    encode_tag_frame,
)
from edge.rfid.reads import ReaderStatus, TagRead
from edge.rfid.serial_reader import R2000SerialDriver, backoff_delay_s

COMMAND = bytes.fromhex("A0 0D 01 8A 00 01 01 01 FF 00 FF 00 00 01 C6")
"""Cmd 0x8A for antennas 1 and 2 of reader 1, built field by field (docs/readers.md)."""
TAG = bytes.fromhex("A0 13 01 89 04 30 00 E2 00 30 16 66 13 01 21 15 50 74 EF 45 BF")
TAG_8A = bytes.fromhex("A0 13 01 8A 04 30 00 E2 00 30 16 66 13 01 21 15 50 74 EF 45 BE")
"""The published 0x89 tag frame as a reply to 0x8A: one command byte and the checksum differ."""
EPC = "E200301666130121155074EF"
START_MS = 1_700_000_000_000


def wait_for(predicate: Callable[[], bool], what: str, timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.005)


class Sinks:
    """Thread-safe collectors for what the driver hands out."""

    def __init__(self) -> None:
        self.reads: list[TagRead] = []
        self.statuses: list[ReaderStatus] = []
        self.chunks: list[tuple[int, bytes]] = []
        self.lock = threading.Lock()

    def on_read(self, read: TagRead) -> None:
        with self.lock:
            self.reads.append(read)

    def on_status(self, status: ReaderStatus) -> None:
        with self.lock:
            self.statuses.append(status)

    def on_chunk(self, ts_ms: int, chunk: bytes) -> None:
        with self.lock:
            self.chunks.append((ts_ms, chunk))


def make_config(port: str, **overrides: object) -> R2000SerialReader:
    return R2000SerialReader.model_validate(
        {
            "id": "dock-1",
            "kind": "r2000_serial",
            "antennas": {1: "shelf-a", 2: "shelf-b"},
            "port": port,
            "reconnect_max_s": 0.2,
            **overrides,
        }
    )


def read_exactly(fd: int, count: int, timeout_s: float = 5.0) -> bytes:
    data = b""
    deadline = time.monotonic() + timeout_s
    while len(data) < count:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            raise AssertionError(f"expected {count} bytes, got {data.hex(' ')}")
        data += os.read(fd, count - len(data))
    return data


@pytest.fixture
def pty_pair() -> Iterator[tuple[int, str]]:
    master, slave = os.openpty()
    tty.setraw(slave)  # no echo or line editing before the driver configures the port
    yield master, os.ttyname(slave)
    os.close(master)
    os.close(slave)


def test_pty_reader_runs_fast_switch_inventory_and_delivers_reads(
    pty_pair: tuple[int, str],
) -> None:
    master, path = pty_pair
    clock = VirtualClock(START_MS)
    sinks = Sinks()
    driver = R2000SerialDriver(
        make_config(path),
        clock,
        sinks.on_read,
        sinks.on_status,
        on_chunk=sinks.on_chunk,
        resend_after_s=60.0,  # only a completed command may trigger the next one here
    )
    driver.start()
    try:
        # Every mapped antenna (1 and 2), one round each, unused slots 0xFF, Interval 0,
        # Repeat 1: the 4-slot form of cmd 0x8A.
        assert read_exactly(master, len(COMMAND)) == COMMAND
        wait_for(lambda: bool(sinks.statuses), "connected status")
        assert [(s.reader_id, s.connected) for s in sinks.statuses] == [("dock-1", True)]

        second = encode_tag_frame(
            1, 2, 0x3000, bytes.fromhex(EPC), 0x50, cmd=CMD_FAST_SWITCH_INVENTORY
        )
        os.write(master, TAG_8A + b"\x13\x37" + second[:9])  # garbage, and a frame cut in two
        wait_for(lambda: len(sinks.reads) == 1, "first read")
        clock.set_ms(START_MS + 50)
        os.write(master, second[9:])
        wait_for(lambda: driver.bytes_received == len(TAG_8A) + 2 + len(second), "all bytes")
        # bytes_received counts a chunk only after its reads were delivered.
        assert sinks.reads == [
            TagRead("dock-1", 1, EPC, -60.0, START_MS),
            TagRead("dock-1", 2, EPC, float(0x50 - 129), START_MS + 50),
        ]
        assert b"".join(chunk for _, chunk in sinks.chunks) == TAG_8A + b"\x13\x37" + second
        assert sinks.chunks[0][0] == START_MS

        # Antenna 2 not connected, then the end of the command: the next one goes out at once.
        os.write(master, encode_antenna_missing(1, 2) + encode_fast_switch_done(1, 2, 40))
        assert read_exactly(master, len(COMMAND)) == COMMAND
        wait_for(lambda: driver.stats()["commands_sent"] == 2, "second command counted")
        stats = driver.stats()
        assert stats["tag_frames"] == 2
        assert stats["garbage_bytes"] == 2
        assert stats["fast_switch_done"] == 1
        assert stats["antenna_missing"] == 1
        assert stats["missing_antennas"] == 1
        assert stats["reads"] == 2
    finally:
        driver.stop()
    assert "r2000-dock-1" not in [thread.name for thread in threading.enumerate()]


def test_pty_reader_in_work_antenna_mode_selects_each_antenna_then_reads_it(
    pty_pair: tuple[int, str],
) -> None:
    master, path = pty_pair
    sinks = Sinks()
    config = make_config(path, address=7, inventory_mode="work_antenna", dwell_rounds=3)
    driver = R2000SerialDriver(
        config, VirtualClock(START_MS), sinks.on_read, sinks.on_status, resend_after_s=0.1
    )
    select_1, select_2 = build_set_work_antenna(7, 1), build_set_work_antenna(7, 2)
    inventory = build_realtime_inventory(7, 3)
    assert select_2 == bytes.fromhex("A0 04 07 74 01 E0")
    driver.start()
    try:
        assert read_exactly(master, len(select_1)) == select_1
        assert read_exactly(master, len(select_1)) == select_1  # nobody answered: again
        os.write(master, encode_error_frame(7, 0x74, 0x10))  # command_success
        assert read_exactly(master, len(inventory)) == inventory
        os.write(master, encode_tag_frame(7, 1, 0x3000, bytes.fromhex(EPC), 0x45))
        os.write(master, encode_completion_frame(7, 1, 20, 1))
        assert read_exactly(master, len(select_2)) == select_2
        os.write(master, encode_error_frame(7, 0x74, 0x10))
        assert read_exactly(master, len(inventory)) == inventory
        os.write(master, encode_error_frame(7, 0x89, 0x22))  # antenna 2 not connected
        assert read_exactly(master, len(select_1)) == select_1  # on to the next antenna
        wait_for(lambda: driver.stats()["error_responses"] == 1, "error response counted")
        assert [(r.antenna, r.epc) for r in sinks.reads] == [(1, EPC)]
        assert driver.stats()["commands_ok"] == 2
    finally:
        driver.stop()


def test_held_bytes_are_flushed_after_an_idle_gap_of_event_time(
    pty_pair: tuple[int, str],
) -> None:
    master, path = pty_pair
    clock = VirtualClock(START_MS)
    sinks = Sinks()
    driver = R2000SerialDriver(
        make_config(path), clock, sinks.on_read, sinks.on_status, resend_after_s=60.0
    )
    driver.start()
    try:
        assert read_exactly(master, len(COMMAND)) == COMMAND
        # A frame cut short (a plausible head of a 96-bit tag frame) holds back the summary
        # that ends the command, and with it the next command.
        stray = TAG_8A[:6]
        done = encode_fast_switch_done(1, 1, 30)
        os.write(master, TAG_8A + stray + done)
        wait_for(lambda: driver.bytes_received == len(TAG_8A) + len(stray) + len(done), "bytes")
        time.sleep(0.2)  # wall time passing flushes nothing: only event time does
        assert len(sinks.reads) == 1 and driver.held_due_ms == START_MS + 100
        assert driver.stats()["fast_switch_done"] == 0
        clock.set_ms(START_MS + 100)
        assert read_exactly(master, len(COMMAND)) == COMMAND
        wait_for(lambda: driver.held_due_ms is None, "flush published")
        assert driver.stats()["fast_switch_done"] == 1
        assert driver.stats()["idle_flushed"] == 1
    finally:
        driver.stop()


class TcpReader:
    """A reader behind a TCP serial server (``socket://``) that can be unplugged."""

    def __init__(self, port: int = 0) -> None:
        self.server = socket.create_server(("127.0.0.1", port))
        self.server.settimeout(5.0)
        self.port = self.server.getsockname()[1]
        self.conn: socket.socket | None = None

    def accept(self) -> socket.socket:
        self.conn, _ = self.server.accept()
        self.conn.settimeout(5.0)
        return self.conn

    def read_command(self) -> bytes:
        assert self.conn is not None
        data = b""
        while len(data) < len(COMMAND):
            data += self.conn.recv(len(COMMAND) - len(data))
        return data

    def unplug(self) -> None:
        if self.conn is not None:
            self.conn.close()
        self.server.close()


def test_socket_reader_reconnects_when_the_port_comes_back() -> None:
    reader = TcpReader()
    sinks = Sinks()
    driver = R2000SerialDriver(
        make_config(f"socket://127.0.0.1:{reader.port}"),
        VirtualClock(START_MS),
        sinks.on_read,
        sinks.on_status,
    )
    driver.start()
    try:
        conn = reader.accept()
        assert reader.read_command() == COMMAND
        conn.sendall(TAG_8A)
        wait_for(lambda: len(sinks.reads) == 1, "read before unplugging")

        reader.unplug()
        wait_for(lambda: len(sinks.statuses) == 2, "disconnected status")
        wait_for(lambda: driver.stats()["open_errors"] >= 2, "failed reconnect attempts")

        reader = TcpReader(reader.port)
        conn = reader.accept()
        assert reader.read_command() == COMMAND
        conn.sendall(TAG_8A)
        wait_for(lambda: len(sinks.reads) == 2, "read after reconnecting")
        assert [s.connected for s in sinks.statuses] == [True, False, True]
        assert "port failed" in sinks.statuses[1].detail
        assert driver.stats()["reconnects"] == 1
        assert driver.stats()["read_errors"] == 1
    finally:
        driver.stop()
        reader.unplug()


def test_missing_port_reports_offline_and_keeps_trying() -> None:
    sinks = Sinks()
    driver = R2000SerialDriver(
        make_config("/dev/o2o-no-such-tty"), VirtualClock(START_MS), sinks.on_read, sinks.on_status
    )
    driver.start()
    try:
        wait_for(lambda: driver.stats()["open_errors"] >= 3, "repeated open attempts")
        assert [s.connected for s in sinks.statuses] == [False]
        assert "cannot open /dev/o2o-no-such-tty" in sinks.statuses[0].detail
    finally:
        driver.stop()
    assert not driver.connected


def test_backoff_is_exponential_capped_and_jittered() -> None:
    rng = random.Random("dock-1")
    delays = [backoff_delay_s(attempt, 4.0, rng) for attempt in range(1, 9)]
    ceilings = [0.5, 1.0, 2.0, 4.0, 4.0, 4.0, 4.0, 4.0]
    assert all(c / 2 <= d <= c for d, c in zip(delays, ceilings, strict=True))
    assert len(set(delays)) == len(delays)
    again = random.Random("dock-1")
    assert [backoff_delay_s(a, 4.0, again) for a in range(1, 9)] == delays


def test_loop_url_without_file_descriptor_is_polled() -> None:
    # loop:// echoes what the driver writes: its own 0x74 comes back, and parses as a 0x74
    # result, i.e. an error response with code 0x00 (antenna 1's id).
    sinks = Sinks()
    driver = R2000SerialDriver(
        make_config("loop://", inventory_mode="work_antenna"),
        VirtualClock(START_MS),
        sinks.on_read,
        sinks.on_status,
        resend_after_s=0.05,
    )
    driver.start()
    try:
        wait_for(lambda: driver.stats()["error_responses"] >= 2, "echoed commands")
        assert driver.bytes_received >= 2 * len(build_set_work_antenna(1, 1))
        # The connection, then one heartbeat: answers without tags are a sign of life, at
        # most once per HEARTBEAT_MS of (here frozen) clock time.
        assert [(s.connected, s.detail) for s in sinks.statuses][1:] == [
            (True, "answering, no tags in view")
        ]
        assert sinks.statuses[0].connected
    finally:
        driver.stop()
