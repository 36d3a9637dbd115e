"""The simulated R2000 module answers what it is sent, and only that, with the frames the
protocol gives for those commands; the real driver, through the composition root, reads every
mapped antenna of it over a real pseudo-terminal."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from edge.clock import VirtualClock
from edge.config import load_store_config
from edge.config.readers import R2000SerialReader
from edge.replay.capture import Capture, SerialChunk
from edge.replay.replayer import PseudoTerminal
from edge.replay.scenarios import COMPANY_PREFIX, get_scenario
from edge.replay.sim_r2000 import SimulatedR2000, SimulatedReaderPort
from edge.replay.sim_world import AntennaRadio, RadioModel, SimItem
from edge.replay.simulator import simulate
from edge.rfid.epc import encode_sgtin96
from edge.rfid.r2000 import (
    CommandOk,
    ErrorResponse,
    FastSwitchDone,
    InventoryDone,
    R2000Parser,
    TagFrame,
    build_command,
    build_customized_inventory,
    build_fast_switch_inventory,
    build_realtime_inventory,
    build_set_work_antenna,
)
from edge.rfid.reads import TagRead
from edge.rfid.serial_reader import R2000SerialDriver
from tests.api.harness import demo_config
from tests.conftest import REPO_ROOT
from tests.edge_harness import private_store, running_edge

T0_MS = 1_772_877_600_000
SURE = RadioModel(miss_p=0.0, cross_read_p=0.0, burst_p=0.0, shadow_p_per_s=0.0)
"""Every tag in an antenna's zone answers every round: tests count exact reads."""


def item(label: str, serial: int, zone: str) -> SimItem:
    epc = encode_sgtin96(COMPANY_PREFIX, "011001", serial)
    return SimItem(label, epc, "", ((0, zone),))


def module_for(
    antennas: dict[int, str], items: list[SimItem], ports: int = 4, **kwargs: object
) -> SimulatedR2000:
    air = AntennaRadio(random.Random(0), antennas, frozenset(), items, SURE)
    return SimulatedR2000(1, air, ports, **kwargs)  # type: ignore[arg-type]


def decode(module: SimulatedR2000, command: bytes, t_ms: int = T0_MS) -> list[object]:
    wires = module.receive(command, t_ms)
    assert [w.t_ms for w in wires] == sorted(w.t_ms for w in wires)
    parser = R2000Parser(1)
    frames = parser.feed(b"".join(wire.data for wire in wires))
    assert parser.stats["garbage_bytes"] == 0 and parser.pending_bytes == 0
    return list(frames)


SHELVES = {1: "shelf-a", 2: "shelf-a", 3: "shelf-b", 4: "shelf-b"}
ITEMS = [item("sweater", 1, "shelf-a"), item("chinos", 2, "shelf-b")]


def test_nothing_is_said_until_something_is_asked() -> None:
    module = module_for(SHELVES, ITEMS)
    assert module.receive(b"", T0_MS) == []
    assert module.receive(b"\x13\x37\xa0", T0_MS) == []  # noise, and half a command
    assert module.commands == []


def test_realtime_inventory_reads_the_work_antenna_only() -> None:
    module = module_for(SHELVES, ITEMS)
    frames = decode(module, build_realtime_inventory(1, 2))
    # Power-up work antenna is 1: two rounds over shelf-a, nothing from shelf-b.
    tags = [f for f in frames if isinstance(f, TagFrame)]
    assert [(t.antenna, t.epc_hex) for t in tags] == [(1, ITEMS[0].epc)] * 2
    assert frames[-1] == InventoryDone(1, 1, frames[-1].read_rate, 2)  # type: ignore[union-attr]

    assert decode(module, build_set_work_antenna(1, 3)) == [CommandOk(1, 0x74)]
    frames = decode(module, build_customized_inventory(1, session=1, target=0, repeat=1))
    assert [(f.antenna, f.epc_hex) for f in frames if isinstance(f, TagFrame)] == [
        (3, ITEMS[1].epc)
    ]
    assert isinstance(frames[-1], InventoryDone) and frames[-1].cmd == 0x8B


def test_fast_switch_reads_each_antenna_and_reports_the_one_not_connected() -> None:
    module = module_for(SHELVES, ITEMS, connected=frozenset({1, 2, 4}))
    command = build_fast_switch_inventory(1, [(a, 1) for a in (1, 2, 3, 4)])
    frames = decode(module, command)
    assert [(type(f).__name__, getattr(f, "antenna", None)) for f in frames] == [
        ("TagFrame", 1),
        ("TagFrame", 2),
        ("ErrorResponse", 3),
        ("TagFrame", 4),
        ("FastSwitchDone", None),
    ]
    assert frames[2] == ErrorResponse(1, 0x8A, 0x22, "antenna_missing_error", 3)
    done = frames[-1]
    assert isinstance(done, FastSwitchDone) and done.total_reads == 3
    assert done.duration_ms >= 3 * 50  # three antennas inventoried, one round each


def test_an_8_port_module_numbers_antennas_5_to_8_with_bit_7_of_the_rssi() -> None:
    antennas = {5: "shelf-a", 8: "shelf-b"}
    module = module_for(antennas, ITEMS, ports=8)
    command = build_fast_switch_inventory(1, [(5, 1), (8, 1)])
    assert command[1] == 0x15  # the 8-slot form: Addr, Cmd, 8 pairs, Interval, Repeat, Check
    wires = module.receive(command, T0_MS)
    assert all(wire.data[-2] & 0x80 for wire in wires if wire.kind == "tag")
    frames = R2000Parser(1).feed(b"".join(wire.data for wire in wires))
    assert [(f.antenna, f.epc_hex) for f in frames if isinstance(f, TagFrame)] == [
        (5, ITEMS[0].epc),
        (8, ITEMS[1].epc),
    ]
    # A 4-port module has no antenna 5: 0x74 is refused, 0x8A reports it missing.
    small = module_for(SHELVES, ITEMS)
    [refused] = decode(small, build_set_work_antenna(1, 5))
    assert isinstance(refused, ErrorResponse) and refused.code == 0x47


def test_buffer_commands_and_other_addresses() -> None:
    module = module_for(SHELVES, ITEMS)
    [empty] = decode(module, build_command(1, 0x90))
    assert isinstance(empty, ErrorResponse) and empty.meaning == "buffer_is_empty_error"
    assert module.receive(build_realtime_inventory(2, 1), T0_MS) == []  # not its address


# --- the real driver, through the composition root, over a pseudo-terminal -----------------


def wait_for(predicate: Callable[[], bool], what: str, timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.002)


@pytest.mark.parametrize("mode", ["fast_switch", "work_antenna"])
def test_the_edge_reads_every_mapped_antenna_of_the_simulated_module(
    mode: str, tmp_path: Path, store_id: str, mqtt_broker: tuple[str, int]
) -> None:
    items = [
        item("sweater", 11, "shelf-a"),
        item("chinos", 12, "shelf-b"),
    ]
    # Each item is in view of one antenna only; antenna 2 has no cable.
    antennas = {1: "shelf-a", 3: "shelf-b"}
    air = AntennaRadio(random.Random(1), antennas, frozenset(), items, SURE)
    module = SimulatedR2000(1, air, 4, connected=frozenset({1, 3, 4}))
    port = SimulatedReaderPort(module)
    config = demo_config(store_id, tmp_path / "data")
    try:
        with private_store(config, store_id) as private:
            readers = [
                r.model_copy(update={"port": port.path, "inventory_mode": mode})
                if isinstance(r, R2000SerialReader)
                else r
                for r in private.config.readers
            ]
            with running_edge(private.config.model_copy(update={"readers": readers})) as edge:
                assert edge.config.readers[0].inventory_sequence() == [1, 2, 3, 4]

                def located() -> dict[str, str | None]:
                    return edge.owner.call(
                        lambda core: {i.label: core.tracker.location(i.epc) for i in items}
                    )

                wait_for(lambda: located() == {"sweater": "shelf-a", "chinos": "shelf-b"}, "zones")
                driver = edge.runtime.serial_drivers["shelf-reader"]
                wait_for(lambda: driver.stats()["error_responses"] >= 1, "antenna 2 reported")
                stats = driver.stats()
                with TestClient(edge.http) as client:
                    metrics = client.get("/metrics").text
    finally:
        port.close()
    errors = {
        sample.labels["kind"]: sample.value
        for family in text_string_to_metric_families(metrics)
        for sample in family.samples
        if sample.name == "o2o_reader_errors_total" and sample.labels["reader"] == "shelf-reader"
    }
    assert errors["error_responses"] >= 1  # antenna 2's missing-antenna replies
    assert errors["epc_length_mismatch"] == errors["idle_flushed"] == 0
    commands = port.commands
    if mode == "fast_switch":
        assert set(commands) == {build_fast_switch_inventory(1, [(a, 1) for a in (1, 2, 3, 4)])}
        assert stats["fast_switch_done"] >= 1 and stats["antenna_missing"] >= 1
    else:
        selected = [c[4] + 1 for c in commands if c[3] == 0x74]
        assert selected[:4] == [1, 2, 3, 4]
        assert {c for c in commands if c[3] == 0x89} == {build_realtime_inventory(1, 1)}
        assert stats["inventory_done"] >= 2 and stats["error_responses"] >= 1
    assert stats["missing_antennas"] == 1
    assert stats["garbage_bytes"] == 0 and stats["checksum_errors"] == 0


def test_what_a_driver_records_from_the_module_replays_to_the_same_reads() -> None:
    """``o2o-edge record`` taps the driver's chunks; replaying them into a driver on a port
    that answers nothing (as the replayer does) gives the reads the live driver gave."""
    air = AntennaRadio(random.Random(2), SHELVES, frozenset(), ITEMS, RadioModel())
    port = SimulatedReaderPort(SimulatedR2000(1, air, 4))
    config = R2000SerialReader.model_validate(
        {"id": "shelf", "kind": "r2000_serial", "port": port.path, "antennas": SHELVES}
    )
    live_reads: list[TagRead] = []
    chunks: list[tuple[int, bytes]] = []
    clock = VirtualClock(T0_MS)
    live = R2000SerialDriver(
        config,
        clock,
        live_reads.append,
        lambda status: None,
        on_chunk=lambda ts, data: chunks.append((ts, data)),
    )
    live.start()
    try:
        wait_for(lambda: live.stats()["fast_switch_done"] >= 5, "five commands answered")
    finally:
        live.stop()
        port.close()
    assert {read.antenna for read in live_reads} == {1, 2, 3, 4}

    replay_port = PseudoTerminal()
    replay_clock = VirtualClock(T0_MS)
    replayed: list[TagRead] = []
    driver = R2000SerialDriver(
        config.model_copy(update={"port": replay_port.path}),
        replay_clock,
        replayed.append,
        lambda status: None,
    )
    driver.start()
    try:
        wait_for(lambda: driver.connected, "replay port open")
        sent = 0
        for ts_ms, data in chunks:
            replay_clock.set_ms(ts_ms)
            replay_port.write(data)
            sent += len(data)
            wait_for(lambda n=sent: driver.bytes_received >= n, "chunk read")  # type: ignore[misc]
    finally:
        driver.stop()
        replay_port.close()
    assert replayed == live_reads


@pytest.mark.parametrize(
    ("settings", "ports"),
    [
        ({"antennas": {1: "shelf-a", 6: "shelf-b"}}, {1, 6}),
        ({"inventory_mode": "work_antenna"}, {1, 2, 3, 4}),
    ],
    ids=["8-port", "work-antenna"],
)
def test_a_simulated_capture_holds_only_what_a_module_answers_the_driver(
    settings: dict[str, object], ports: set[int], tmp_path: Path
) -> None:
    """An 8-port mapping gets an 8-port module (antennas 5-8 flagged by RSSI bit 7); in
    work_antenna mode every 0x89 round's tags come from the antenna the round names."""
    demo = load_store_config(REPO_ROOT / "firmware_configs" / "demo_store.yaml")
    readers = [
        r.model_copy(update=settings) if isinstance(r, R2000SerialReader) else r
        for r in demo.readers
    ]
    config = demo.model_copy(update={"readers": readers})
    story = simulate(get_scenario("serial_garbage"), config, tmp_path, seed=2)
    parser = R2000Parser(1)
    seen: set[int] = set()
    round_antennas: set[int] = set()
    for record in Capture.open(tmp_path).records():
        if not isinstance(record, SerialChunk):
            continue
        for frame in parser.feed(record.data):
            if isinstance(frame, TagFrame):
                seen.add(frame.antenna)
                round_antennas.add(frame.antenna)
            elif isinstance(frame, InventoryDone):
                assert round_antennas <= {frame.antenna}, "tags of another antenna in a round"
                round_antennas = set()
    assert seen == ports
    counts = story.serial["shelf-reader"]
    assert parser.stats["tag_frames"] == counts.tag_frames > 100
    if "inventory_mode" in settings:
        assert parser.stats["commands_ok"] == counts.result_frames > 100  # 0x74's results
        assert parser.stats["fast_switch_done"] == 0
    else:
        assert parser.stats["inventory_done"] == 0
