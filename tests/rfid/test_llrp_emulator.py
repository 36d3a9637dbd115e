"""The LLRP driver against a reader we did not write: llrpkit's emulator (MIT), run as its CLI
``llrpkit emulate`` on 127.0.0.1, as it is.

It deviates from LLRP 1.0.1 where real readers also do, and the driver copes: it answers
ENABLE_EVENTS_AND_REPORTS (and the 1.1 GET_SUPPORTED_VERSION) with ERROR_MESSAGE, refuses
DELETE_ROSPEC 0 with a ParameterError, and does not start a ROSpec until START_ROSPEC.

The emulator cannot fall silent while keeping its socket open (a reader that hangs, a cable
cut behind a switch), so ``BlackHoleShim``, a TCP relay in this file, does that: while frozen
it swallows everything the reader sends.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from edge.alerts.rules import AlertDraft, AlertResolution, AlertRules, ReaderWatch
from edge.clock import SystemClock
from edge.config.readers import LlrpReader
from edge.config.tracker import TrackerConfig
from edge.config.zones import ZoneKind
from edge.events.alerts import AlertKind
from edge.rfid.llrp.driver import LlrpReaderDriver
from edge.rfid.reads import ReaderStatus, TagRead
from edge.rfid.tracker import ChangeKind, TagTracker
from tests.rfid.llrp_peers import EMULATED_EPC_PREFIX, BlackHoleShim, Emulator, emulator

__all__ = ["emulator"]  # the fixture

pytestmark = pytest.mark.slow


class Recorder:
    """Collects what a driver delivers, in arrival order."""

    def __init__(self) -> None:
        self.reads: list[TagRead] = []
        self.statuses: list[ReaderStatus] = []
        self.lock = threading.Lock()

    def read(self, read: TagRead) -> None:
        with self.lock:
            self.reads.append(read)

    def status(self, status: ReaderStatus) -> None:
        with self.lock:
            self.statuses.append(status)

    def connections(self) -> list[bool]:
        with self.lock:
            return [s.connected for s in self.statuses if s.detail not in ("keepalive",)]


def _config(port: int, **changes: object) -> LlrpReader:
    values: dict[str, object] = {
        "kind": "llrp",
        "id": "emu-reader",
        "host": "127.0.0.1",
        "port": port,
        "antennas": {1: "fitting-1", 2: "shelf-a"},
        "keepalive_s": 0.5,
        # Tolerant of a busy test machine: only the dead-link test wants a short silence.
        "missed_keepalives": 10,
        "offline_after_s": 6.0,
        "response_timeout_s": 2.0,
        "reconnect_max_s": 1.0,
        "tx_power_dbm": 27.0,
        "session": 1,
        "search_mode": 2,
    }
    values.update(changes)
    return LlrpReader.model_validate(values)


def _wait_for(condition: Callable[[], bool], what: str, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


@contextlib.contextmanager
def _running(config: LlrpReader, recorder: Recorder) -> Iterator[LlrpReaderDriver]:
    driver = LlrpReaderDriver(config, SystemClock(), recorder.read, recorder.status)
    driver.start()
    try:
        yield driver
    finally:
        driver.stop()


def test_tags_arrive_as_reads_of_the_mapped_antennas_and_zones(emulator: Emulator) -> None:
    recorder = Recorder()
    config = _config(emulator.port)
    with _running(config, recorder) as driver:
        _wait_for(lambda: len(recorder.reads) >= 150, "150 reads")
        _wait_for(lambda: driver.stats().get("keepalives", 0) >= 1, "a keepalive")
        stats = driver.stats()
    reads = list(recorder.reads)
    # The ROSpec covers the mapped antennas only: the emulator's tags on 3 and 4 are never read.
    assert {r.antenna for r in reads} == {1, 2}
    assert all(r.epc.startswith(EMULATED_EPC_PREFIX) for r in reads)
    # llrpkit puts tag i on antenna 1 + i % 4.
    assert all(int(r.epc[-4:], 16) % 4 + 1 == r.antenna for r in reads)
    now_ms = SystemClock().now_ms()
    assert all(now_ms - 30_000 < r.ts_ms <= now_ms for r in reads)
    # Peak RSSI comes from the Impinj extension in 1/100 dBm, not PeakRSSI's whole dBm.
    assert any(r.rssi_dbm != round(r.rssi_dbm) for r in reads)
    assert all(-80 < r.rssi_dbm < -30 for r in reads)
    # The emulator's deviations were met and survived.
    assert stats["delete_all_refused"] == 1
    assert stats["error_messages"] >= 2  # GET_SUPPORTED_VERSION, ENABLE_EVENTS_AND_REPORTS
    assert stats["protocol_version"] == 1
    assert stats.get("unmapped_antenna", 0) == 0 and stats.get("malformed_truncated", 0) == 0
    assert recorder.connections()[0] is True and recorder.connections()[-1] is False
    # Through the tracker, the reads place the tags in the zones their antennas map to.
    zones = {"fitting-1": ZoneKind.FITTING_ROOM, "shelf-a": ZoneKind.SHELF}
    antennas = {(config.id, port): zone for port, zone in config.antennas.items()}
    tracker = TagTracker(TrackerConfig(arrival_settle_s=0.1), zones, antennas)
    placed = {
        change.epc: change.zone
        for read in reads
        for change in tracker.process(read)
        if change.kind is ChangeKind.ARRIVED
    }
    assert set(placed.values()) == {"fitting-1", "shelf-a"}
    assert all(zone == config.antennas[int(epc[-4:], 16) % 4 + 1] for epc, zone in placed.items())


def test_the_driver_reconnects_when_the_reader_restarts(emulator: Emulator) -> None:
    recorder = Recorder()
    with _running(_config(emulator.port), recorder) as driver:
        _wait_for(lambda: len(recorder.reads) >= 20, "reads before the restart")
        emulator.kill()
        _wait_for(lambda: recorder.connections()[-1] is False, "the disconnection")
        lost = recorder.statuses[-1]
        assert "closed the connection" in lost.detail or "failed" in lost.detail, lost
        before = len(recorder.reads)
        emulator.start()
        _wait_for(lambda: recorder.connections()[-1] is True, "the reconnection")
        _wait_for(lambda: len(recorder.reads) >= before + 20, "reads after the restart")
        assert driver.stats()["reconnects"] >= 1
        # Each connection deleted the ROSpecs it found and added its own again.
        assert driver.stats()["delete_all_refused"] == 2


def test_a_dead_link_raises_reader_offline_then_resolves(emulator: Emulator) -> None:
    shim = BlackHoleShim(emulator.port)
    recorder = Recorder()
    config = _config(
        shim.port,
        keepalive_s=0.2,
        missed_keepalives=3,
        offline_after_s=1.0,
        response_timeout_s=0.5,
        reconnect_max_s=0.5,
    )
    try:
        with _running(config, recorder) as driver:
            _wait_for(lambda: len(recorder.reads) >= 20, "reads before the silence")
            shim.frozen.set()
            frozen_at = time.monotonic()
            _wait_for(lambda: recorder.connections()[-1] is False, "the dead link", 5.0)
            detected_s = time.monotonic() - frozen_at
            assert "dead link" in recorder.statuses[-1].detail
            assert 0.5 < detected_s < 2.5  # 3 x 0.2 s of silence, plus polling
            time.sleep(1.5)  # longer than offline_after_s: the alert is due
            shim.frozen.clear()
            _wait_for(lambda: recorder.connections()[-1] is True, "the reconnection", 10.0)
            count = len(recorder.reads)
            _wait_for(lambda: len(recorder.reads) > count + 10, "reads after the reconnection")
            assert driver.stats()["dead_links"] >= 1
    finally:
        shim.close()
    notices = _alerts(config, recorder)
    kinds = [(type(n).__name__, n.kind) for n in notices]
    assert kinds == [
        ("AlertDraft", AlertKind.READER_OFFLINE),
        ("AlertResolution", AlertKind.READER_OFFLINE),
    ], notices
    raised = notices[0]
    assert isinstance(raised, AlertDraft) and "connection lost" in raised.text
    assert isinstance(notices[1], AlertResolution)


def _alerts(config: LlrpReader, recorder: Recorder) -> list[AlertDraft | AlertResolution]:
    """The driver's reads and statuses through the alert rules, in time order, with a tick
    every 100 ms, as the owner loop feeds them."""
    rules = AlertRules(
        [ReaderWatch(config.id, round(config.offline_after_s * 1000), None)],
        repeat_interval_s=0,
    )
    inputs: list[tuple[int, int, TagRead | ReaderStatus]] = [
        (s.ts_ms, n, s) for n, s in enumerate(recorder.statuses)
    ] + [(r.ts_ms, len(recorder.statuses) + n, r) for n, r in enumerate(recorder.reads)]
    inputs.sort(key=lambda item: (item[0], item[1]))
    notices: list[AlertDraft | AlertResolution] = []
    next_tick = inputs[0][0]
    for ts_ms, _, item in inputs:
        while next_tick <= ts_ms:
            notices += rules.tick(next_tick)
            next_tick += 100
        if isinstance(item, ReaderStatus):
            notices += rules.on_reader_status(item)
        else:
            notices += rules.on_reader_data(item.reader_id, item.ts_ms)
    return notices


def test_a_second_client_is_refused_and_backs_off(emulator: Emulator) -> None:
    first, second = Recorder(), Recorder()
    with _running(_config(emulator.port), first):
        _wait_for(lambda: len(first.reads) >= 10, "the first client's reads")
        with _running(_config(emulator.port, id="intruder"), second) as intruder:
            _wait_for(lambda: intruder.stats().get("connection_refused", 0) >= 1, "a refusal")
            assert second.connections() == [False]
            assert "refused the connection" in second.statuses[0].detail
            assert "Already_Exists" in second.statuses[0].detail
        count = len(first.reads)
        _wait_for(lambda: len(first.reads) > count + 10, "the first client reading on")
    assert first.connections()[0] is True
