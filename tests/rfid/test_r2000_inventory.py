"""The driver's command loop (InventoryCommander) as a pure core: time and frames in, command
bytes out."""

from __future__ import annotations

from edge.config.readers import R2000SerialReader
from edge.rfid.r2000 import (
    CommandOk,
    ErrorResponse,
    FastSwitchDone,
    InventoryDone,
    TagFrame,
    build_fast_switch_inventory,
    build_realtime_inventory,
    build_set_work_antenna,
)
from edge.rfid.r2000_inventory import InventoryCommander


def reader(**settings: object) -> R2000SerialReader:
    return R2000SerialReader.model_validate(
        {
            "id": "r",
            "kind": "r2000_serial",
            "port": "loop://",
            "antennas": {1: "a", 2: "a", 5: "b"},
            **settings,
        }
    )


def tag(antenna: int) -> TagFrame:
    return TagFrame(1, antenna, 0x3000, "00" * 12, 0x45, -60)


def test_fast_switch_repeats_on_each_summary_and_tracks_missing_antennas() -> None:
    commander = InventoryCommander(reader(antenna_sequence=[5, 1], dwell_rounds=3))
    command = build_fast_switch_inventory(1, [(5, 3), (1, 3)])
    assert command[1] == 0x15  # antenna 5: the 8-slot form
    assert commander.start(0) == command
    missing = ErrorResponse(1, 0x8A, 0x22, "antenna_missing_error", 5)
    assert commander.on_frames([tag(1), missing], 10) is None
    assert commander.missing_antennas == {5}
    assert commander.on_frames([FastSwitchDone(1, 1, 150)], 160) == command
    assert commander.on_frames([tag(5)], 200) is None
    assert commander.missing_antennas == set()  # it reads again
    assert commander.due(1159) is None and commander.due(1200) == command  # silence: again
    assert commander.commands_sent == 3


def test_work_antenna_walks_the_mapped_antennas_and_skips_a_failing_one() -> None:
    commander = InventoryCommander(reader(inventory_mode="work_antenna", dwell_rounds=2))
    select = {a: build_set_work_antenna(1, a) for a in (1, 2, 5)}
    inventory = build_realtime_inventory(1, 2)
    assert commander.start(0) == select[1]
    assert commander.on_frames([CommandOk(1, 0x74)], 1) == inventory
    assert commander.on_frames([tag(1), InventoryDone(1, 1, 10, 1)], 60) == select[2]
    assert commander.on_frames([CommandOk(1, 0x74)], 61) == inventory
    error = ErrorResponse(1, 0x89, 0x22, "antenna_missing_error")
    assert commander.on_frames([error], 62) == select[5]
    assert commander.missing_antennas == {2}
    assert commander.on_frames([CommandOk(1, 0x74)], 63) == inventory
    assert commander.on_frames([InventoryDone(1, 5, 0, 0)], 120) == select[1]


def test_a_pass_where_every_antenna_failed_waits_for_the_resend_timer() -> None:
    commander = InventoryCommander(reader(inventory_mode="work_antenna"), resend_after_ms=500)
    refused = ErrorResponse(1, 0x74, 0x47, "parameter_invalid_antenna_id_out_of_range")
    commander.start(0)
    assert commander.on_frames([refused], 1) == build_set_work_antenna(1, 2)
    assert commander.on_frames([refused], 2) == build_set_work_antenna(1, 5)
    assert commander.on_frames([refused], 3) is None  # nothing answered in a whole pass
    assert commander.due(502) is None
    assert commander.due(503) == build_set_work_antenna(1, 1)
