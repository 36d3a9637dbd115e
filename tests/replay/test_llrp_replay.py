"""Record and replay of an LLRP reader: a live session with llrpkit's emulator is recorded
through the driver's message tap into a capture, then played back by ``LlrpReplayPeer`` to a
fresh driver on a virtual clock, as the replayer will do; the replayed reads are the live ones.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from edge.clock import SystemClock, VirtualClock
from edge.replay.capture import Capture, CaptureWriter, LlrpRecord
from edge.replay.llrp_peer import LlrpReplayPeer
from edge.rfid.llrp.driver import LlrpReaderDriver
from edge.rfid.llrp.spec import MessageType
from tests.rfid.test_llrp_emulator import Emulator, Recorder, _config, _wait_for

pytestmark = pytest.mark.slow


def _record(tmp_path: Path) -> tuple[Path, Recorder]:
    emulator = Emulator(rate=100)
    emulator.start()
    live = Recorder()
    start_ms = SystemClock().now_ms()
    writer = CaptureWriter(tmp_path / "capture", "s1", start_ms, "llrp session")
    writer.add_llrp_source("llrp-emu", "emu-reader")
    try:
        driver = LlrpReaderDriver(
            _config(emulator.port),
            SystemClock(),
            live.read,
            live.status,
            on_message=lambda t_ms, data: writer.write_llrp("llrp-emu", t_ms, data),
        )
        driver.start()
        _wait_for(lambda: len(live.reads) >= 60, "60 live reads")
        driver.stop()
    finally:
        emulator.kill()
        writer.close()
    return tmp_path / "capture", live


def test_a_recorded_session_replays_to_the_same_reads(tmp_path: Path) -> None:
    directory, live = _record(tmp_path)
    capture = Capture.open(directory)
    records = [r for r in capture.records() if isinstance(r, LlrpRecord)]
    types = [int.from_bytes(r.data[0:2], "big") & 0x3FF for r in records]
    assert types[0] == MessageType.READER_EVENT_NOTIFICATION
    assert types.count(MessageType.RO_ACCESS_REPORT) == len(live.reads)

    peer = LlrpReplayPeer.from_capture(capture, "llrp-emu")
    peer.start()
    clock = VirtualClock(capture.start_ms)
    replayed = Recorder()
    driver = LlrpReaderDriver(
        _config(peer.port), clock, replayed.read, replayed.status, monotonic=time.monotonic
    )
    driver.start()
    try:
        last_report = max(i for i, t in enumerate(types) if t == MessageType.RO_ACCESS_REPORT)
        for index, record in enumerate(records[: last_report + 1]):
            clock.set_ms(record.t_ms)
            peer.release_through(index)
            _wait_for(lambda i=index: driver.messages_received > i, f"record {index}", 10.0)
        peer.release_all()  # the recorded answers to the driver's own shutdown
    finally:
        driver.stop()
        peer.stop()
    assert replayed.reads == live.reads
    assert replayed.connections()[0] is True
    assert peer.unmatched == 0 and peer.connections == 1
    assert driver.stats()["delete_all_refused"] == 1  # the recorded ParameterError, replayed
