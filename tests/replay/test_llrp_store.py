"""A store with an LLRP reader, built by the composition root as ``o2o-edge run`` builds it, in
front of a reader no one here wrote (llrpkit's emulator): tags arrive in the mapped zones, a
dead link raises ``reader_offline`` and its end resolves it; ``o2o-edge record`` keeps the
LLRP messages as received and two replays of that capture give byte-identical events."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge.app.compose import EdgeOptions
from edge.app.record import record_store
from edge.app.replay import ReplaySetup, replay_to_file
from edge.clock import SystemClock
from edge.config.loader import parse_store_config
from edge.config.store import StoreConfig
from edge.events.base import Event, parse_event
from edge.replay.capture import Capture, LlrpRecord
from tests.edge_harness import running_edge
from tests.fusion.live_edge import Collector
from tests.rfid.llrp_peers import EMULATED_EPC_PREFIX, BlackHoleShim, Emulator, emulator

pytestmark = [pytest.mark.network, pytest.mark.slow]
__all__ = ["emulator"]  # the fixture


def store(store_id: str, data_dir: Path, port: int, broker: tuple[str, int]) -> StoreConfig:
    return parse_store_config(
        {
            "store_id": store_id,
            "data_dir": str(data_dir),
            "mqtt": {"host": broker[0], "port": broker[1]},
            "zones": [
                {"id": "shelf-a", "kind": "shelf"},
                {"id": "fitting-1", "kind": "fitting_room"},
            ],
            "readers": [
                {
                    "kind": "llrp",
                    "id": "speedway",
                    "host": "127.0.0.1",
                    "port": port,
                    "antennas": {1: "fitting-1", 2: "shelf-a"},
                    "keepalive_s": 0.5,
                    "missed_keepalives": 4,
                    "offline_after_s": 3.0,
                    "response_timeout_s": 2.0,
                    "reconnect_max_s": 1.0,
                }
            ],
            "tracker": {"arrival_settle_s": 0, "min_reads_for_zone": 1},
        },
        "test",
    )


def wait_for_events(collector: Collector, test: object, what: str, timeout_s: float = 20) -> None:
    import time

    deadline = time.monotonic() + timeout_s
    while not test(collector.snapshot()):  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def alerts(events: list[Event], event_type: str) -> list[Event]:
    return [e for e in events if e.type == event_type and e.payload.kind == "reader_offline"]


@pytest.fixture
def shim(emulator: Emulator) -> Iterator[BlackHoleShim]:
    relay = BlackHoleShim(emulator.port)
    try:
        yield relay
    finally:
        relay.close()


def test_an_llrp_store_reads_goes_offline_and_comes_back(
    shim: BlackHoleShim, tmp_path: Path, store_id: str, mqtt_broker: tuple[str, int]
) -> None:
    clock = SystemClock()
    collector = Collector()
    config = store(store_id, tmp_path / "data", shim.port, mqtt_broker)
    options = EdgeOptions(clock=clock, sinks=[collector], sync=False)
    stop = threading.Event()
    with running_edge(config, options) as edge:

        def ticker() -> None:  # as `o2o-edge run` ticks the live store
            while not stop.wait(0.25):
                edge.owner.submit_tick(clock.now_ms())

        threading.Thread(target=ticker, daemon=True).start()
        try:
            wait_for_events(
                collector,
                lambda events: (
                    {e.payload.zone for e in events if e.type == "tag.arrived"}
                    == {"shelf-a", "fitting-1"}
                ),
                "tags arriving in both mapped zones",
            )
            arrived = [e for e in collector.snapshot() if e.type == "tag.arrived"]
            assert all(e.payload.epc.startswith(EMULATED_EPC_PREFIX) for e in arrived)
            assert {e.payload.reader_id for e in arrived} == {"speedway"}

            shim.frozen.set()  # the reader falls silent with its socket open
            wait_for_events(
                collector, lambda ev: alerts(ev, "alert.raised"), "reader_offline raised"
            )
            shim.frozen.clear()
            wait_for_events(
                collector, lambda ev: alerts(ev, "alert.resolved"), "reader_offline resolved"
            )
        finally:
            stop.set()
    raised = alerts(collector.snapshot(), "alert.raised")
    assert len(raised) == 1 and raised[0].payload.subject == "speedway"


def test_a_recorded_llrp_store_replays_to_identical_events(
    emulator: Emulator, tmp_path: Path, store_id: str, mqtt_broker: tuple[str, int]
) -> None:
    config = store(store_id, tmp_path / "data", emulator.port, mqtt_broker)
    capture_dir = record_store(config, tmp_path / "capture", 3.0)
    capture = Capture.open(capture_dir)
    messages = [r for r in capture.records() if isinstance(r, LlrpRecord)]
    assert len(messages) > 10, "the session was recorded message by message"

    outputs = []
    for run in ("one", "two"):
        out = tmp_path / f"events-{run}.jsonl"
        replay_to_file(capture_dir, config, out, ReplaySetup(publish_events=False))
        outputs.append(out.read_text())
    assert outputs[0] == outputs[1]
    events = [parse_event(line) for line in outputs[0].splitlines()]
    assert {e.payload.zone for e in events if e.type == "tag.arrived"} <= {"shelf-a", "fitting-1"}
    assert any(e.type == "tag.arrived" for e in events)
